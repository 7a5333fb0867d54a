/**
 * Where keepalived's dump files go and how they are written (spec/vrrp.md §6.3): the data
 * dump (SIGUSR1), the statistics (SIGUSR2, STATS_CLEAR) and the JSON dump (the JSON
 * signal), in `<tmpdir>` unless `state_dump_file`, `stats_dump_file` or `json_dump_file`
 * says otherwise, with `data_use_instance` naming for the data dump. Files are written to a
 * temporary file in the same directory and renamed over the old one, mode 0600, so a
 * reader never sees half a file.
 *
 * The naming is pure (tested against the §6.3 rules); `dumpDirectory` reads $TMPDIR and the
 * file system, `writeDumpFile` writes.
 */
import { writePrivateFile } from "./private_file.ts";

/** The default names (§6.3). */
export const DATA_FILE = "keepalived.data";
export const STATS_FILE = "keepalived.stats";
export const JSON_FILE = "keepalived.json";

/** What the names depend on. */
export interface DumpNaming {
  /** `<tmpdir>` (see `dumpDirectory`). */
  readonly tmpdir: string;
  /** global_defs `state_dump_file`, `stats_dump_file`, `json_dump_file`. */
  readonly stateDumpFile?: string | undefined;
  readonly statsDumpFile?: string | undefined;
  readonly jsonDumpFile?: string | undefined;
  /** global_defs `data_use_instance`. */
  readonly dataUseInstance: boolean;
  /** The configured `net_namespace` and `instance` names (top-level keywords). */
  readonly netns?: string | undefined;
  readonly instance?: string | undefined;
}

/**
 * `<tmpdir>` (§6.3): $TMPDIR when it is an absolute path to an existing directory, else
 * /tmp.
 */
export function dumpDirectory(env: string | undefined = Deno.env.get("TMPDIR")): string {
  if (env !== undefined && env.startsWith("/")) {
    try {
      if (Deno.statSync(env).isDirectory) return env.replace(/\/+$/, "") || "/";
    } catch {
      // Not there: the default.
    }
  }
  return "/tmp";
}

/**
 * Where a dump goes (§6.3): unset → `<tmpdir>/NAME`; an absolute path ending in `/` → that
 * directory with the default name; any other absolute path → itself; a relative path →
 * its last component, inside `<tmpdir>`.
 */
export function placeDumpFile(
  configured: string | undefined,
  tmpdir: string,
  defaultName: string,
): string {
  const dir = tmpdir.endsWith("/") ? tmpdir : `${tmpdir}/`;
  if (configured === undefined || configured === "") return `${dir}${defaultName}`;
  if (configured.startsWith("/")) {
    return configured.endsWith("/") ? `${configured}${defaultName}` : configured;
  }
  const last = configured.split("/").filter((s) => s !== "").at(-1) ?? defaultName;
  return `${dir}${last}`;
}

/**
 * `data_use_instance` (§6.3): `.<netns>_<instance>` (or just the one that is set) inserted
 * before the extension of the file name, or appended when it has none
 * (`/tmp/keepalived.data` → `/tmp/keepalived.ns1_inst.data`).
 */
export function withInstanceSuffix(
  path: string,
  netns: string | undefined,
  instance: string | undefined,
): string {
  const parts = [netns, instance].filter((p): p is string => p !== undefined && p !== "");
  if (parts.length === 0) return path;
  const suffix = parts.join("_");
  const slash = path.lastIndexOf("/");
  const dot = path.lastIndexOf(".");
  // A dot that starts the file name (".hidden") is not an extension.
  if (dot <= slash + 1) return `${path}.${suffix}`;
  return `${path.slice(0, dot)}.${suffix}${path.slice(dot)}`;
}

/** The SIGUSR1 data dump's path. */
export function dataDumpPath(n: DumpNaming): string {
  const path = placeDumpFile(n.stateDumpFile, n.tmpdir, DATA_FILE);
  return n.dataUseInstance ? withInstanceSuffix(path, n.netns, n.instance) : path;
}

/** The statistics file's path ([quirk] §6.3: `data_use_instance` does not apply). */
export function statsDumpPath(n: DumpNaming): string {
  return placeDumpFile(n.statsDumpFile, n.tmpdir, STATS_FILE);
}

/** The JSON dump's path ([quirk] §6.3: `data_use_instance` does not apply). */
export function jsonDumpPath(n: DumpNaming): string {
  return placeDumpFile(n.jsonDumpFile, n.tmpdir, JSON_FILE);
}

/**
 * Writes `text` to `path` through a temporary file in the same directory and a rename,
 * mode 0600, never following a link planted at the temporary name (§6.3; keepalived's
 * fopen_safe). Throws the file system's error (the caller logs it).
 */
export function writeDumpFile(path: string, text: string): void {
  writePrivateFile(path, new TextEncoder().encode(text));
}
