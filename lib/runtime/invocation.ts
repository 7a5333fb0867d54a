/**
 * The name kad was started under, so that a `genhash` symlink to kad behaves as
 * keepalived's genhash does (docs/genhash.md). Tiny on purpose: main.ts reads it before
 * loading any subcommand.
 */
import process from "node:process";

/**
 * The path this process was started under (argv[0]; docs/genhash.md). A compiled kad
 * started through a `genhash` symlink sees the symlink's path in `process.argv0` (the
 * original argv[0]; `Deno.execPath()` resolves symlinks). Run from source, argv[0] is
 * deno's, and the `kad` launcher passes its own $0 in KAD_ARGV0.
 */
export function invokedPath(): string {
  const argv0 = process.argv0;
  if (argv0.slice(argv0.lastIndexOf("/") + 1) !== "deno") return argv0;
  try {
    return Deno.env.get("KAD_ARGV0") ?? argv0;
  } catch {
    return argv0;
  }
}

export function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** True when started as `genhash` (a symlink to kad), like keepalived's genhash link. */
export function invokedAsGenhash(): boolean {
  return basename(invokedPath()) === "genhash";
}
