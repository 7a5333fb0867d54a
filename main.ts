/**
 * kad's command line: global options in keepalived's spelling and one subcommand per
 * file in commands/. Only subcommands that work are registered. Wiring only — no logic.
 *
 * A subcommand's module (and everything it imports) is loaded only when that subcommand
 * runs, or when help lists them all: start-up time is part of what `check-config` and
 * `genhash` are measured on.
 */
import type { Command } from "@commander-js/extra-typings";
import denoJson from "./deno.json" with { type: "json" };
import { invokedAsGenhash } from "./lib/runtime/invocation.ts";

export const VERSION: string = denoJson.version;
export const DEFAULT_CONFIG = "/etc/keepalived/keepalived.conf";

type Exit = (code: number) => void;
type Register = (program: Command, exit: Exit) => void;

/** The subcommands, in the order help lists them. */
const SUBCOMMANDS: ReadonlyArray<readonly [string, () => Promise<Register>]> = [
  ["check-config", async () => (await import("./commands/check_config.ts")).registerCheckConfig],
  ["genhash", async () => (await import("./commands/genhash.ts")).registerGenhash],
  ["run", async () => (await import("./commands/run.ts")).registerRun],
  ["dump", async () => (await import("./commands/dump.ts")).registerDump as Register],
  [
    "rotate-key",
    async () => (await import("./commands/rotate_key.ts")).registerRotateKey as Register,
  ],
  [
    "gre-attach",
    async () => (await import("./commands/gre_attach.ts")).registerGreAttach as Register,
  ],
];

/** Global options that take a value (so the word after them is not a subcommand). */
const VALUE_OPTIONS = new Set(["-f", "--use-file", "-i", "--config-id"]);

/** The subcommand named on the command line, if any (the first word that is not an option). */
export function subcommandOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--") return args[i + 1];
    if (VALUE_OPTIONS.has(a)) {
      i++;
      continue;
    }
    if (!a.startsWith("-")) return a;
  }
  return undefined;
}

/** The program with the subcommands `args` needs (all of them for help or a typo). */
export async function buildProgram(args: readonly string[], exit: Exit): Promise<Command> {
  // Loaded here, not at the top: the `genhash` symlink path never needs it (about 30 ms).
  const { Command } = await import("@commander-js/extra-typings");
  const program = new Command()
    .name("kad")
    .description(
      "keepalived-compatible high availability toolkit: VRRP failover and IPVS load balancing",
    )
    .version(VERSION, "-v, --version", "print the version and exit")
    .option(
      "-f, --use-file <FILE>",
      "configuration file (keepalived.conf syntax, or .toml)",
      DEFAULT_CONFIG,
    )
    .option(
      "-i, --config-id <ID>",
      "config-id for @ID conditional lines (default: host name up to the first dot)",
    )
    .option(
      "-l, --log-console",
      "log to the console (kad always logs to stderr; accepted for keepalived compatibility)",
    )
    .option("-D, --log-detail", "detailed logging")
    .showHelpAfterError("(run 'kad --help' for usage)")
    .helpCommand("help [command]", "show help for a command");
  const wanted = subcommandOf(args);
  const known = SUBCOMMANDS.some(([name]) => name === wanted);
  const versionOnly = wanted === undefined && (args.includes("-v") || args.includes("--version"));
  if (versionOnly) return program as unknown as Command;
  for (const [name, load] of SUBCOMMANDS) {
    if (!known || name === wanted) (await load())(program as unknown as Command, exit);
  }
  return program as unknown as Command;
}

async function main(): Promise<void> {
  let code = 0;
  try {
    // Started as `genhash` (a symlink to kad): keepalived's genhash command line.
    if (invokedAsGenhash()) {
      const { runGenhashArgv } = await import("./commands/genhash.ts");
      Deno.exit(await runGenhashArgv(Deno.args));
    }
    const program = await buildProgram(Deno.args, (c) => (code = c));
    await program.parseAsync(Deno.args, { from: "user" });
  } catch (e) {
    // Nothing the user typed should end in a stack trace; show one only with -D.
    const detail = Deno.args.includes("-D") || Deno.args.includes("--log-detail");
    console.error(`kad: internal error: ${e instanceof Error ? e.message : String(e)}`);
    if (detail && e instanceof Error && e.stack) console.error(e.stack);
    else console.error("kad: run again with -D for details, and please report it");
    code = 70;
  }
  Deno.exit(code);
}

if (import.meta.main) await main();
