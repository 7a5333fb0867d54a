/**
 * Script security checks done once after parsing (spec/vrrp.md §5.3): every configured
 * script (notify, vrrp_script, MISC_CHECK, quorum/RS notifications, FIFO scripts) must
 * exist and be executable by the user it runs as; a script run as root must sit on a path
 * only root can change. Without `enable_script_security` configured scripts are a security
 * error (keepalived -t exit 6); with it, insecure scripts are disabled.
 *
 * Pure apart from the `ScriptHost` it is given (file metadata and user lookups), so tests
 * can describe any file system. It never runs a script.
 */
import { DiagClass, type DiagnosticSink, type SourceLoc } from "./diagnostic.ts";
import type { ScriptCommand } from "./types.ts";

/** File metadata as lstat reports it. */
export interface ScriptFileInfo {
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
  uid: number;
  gid: number;
  /** Permission bits including setuid/setgid/sticky. */
  mode: number;
}

/** What the checks need to know about the host. */
export interface ScriptHost {
  lstat(path: string): ScriptFileInfo | undefined;
  /** The path with every symlink resolved, or undefined when it cannot be resolved. */
  realPath(path: string): string | undefined;
  /** uid and gid of a user name, or undefined when there is no such user. */
  user(name: string): { uid: number; gid: number } | undefined;
  /** The search path for bare command names (`$PATH`). */
  path: string;
}

/** A script found in the model, with where it was configured and what it is for. */
export interface FoundScript {
  script: ScriptCommand;
  /** "track script chk", "notify_master script", "MISC_CHECK script", … */
  what: string;
  loc: SourceLoc | undefined;
  /** True for scripts of the checker side (MISC_CHECK, quorum and RS notifications). */
  checker: boolean;
}

/** The libc default search path, used when `$PATH` is unset. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const CHECKER_BLOCKS = new Set(["virtual_server", "real_server", "MISC_CHECK"]);

function isScript(v: unknown): v is ScriptCommand {
  return typeof v === "object" && v !== null && Array.isArray((v as ScriptCommand).argv) &&
    typeof (v as ScriptCommand).command === "string";
}

/**
 * Every script in a configuration model, found by walking it (so new script keywords are
 * covered without being listed here).
 */
export function findScripts(model: unknown): FoundScript[] {
  const out: FoundScript[] = [];
  // Indexed loops and for-in: this walk visits every value of large models once, cold.
  const walk = (obj: unknown, blockKey: string, name: string | undefined, checker: boolean) => {
    if (typeof obj !== "object" || obj === null) return;
    const rec = obj as Record<string, unknown> & { $loc?: Record<string, SourceLoc> };
    for (const key in rec) {
      if (key === "$loc" || key === "$at" || key === "header") continue;
      const v = rec[key];
      if (typeof v !== "object" || v === null) continue;
      if (isScript(v)) {
        const what = blockKey === "vrrp_script" && key === "script"
          ? `track script ${name ?? ""}`.trim()
          : key === "misc_path"
          ? "MISC_CHECK script"
          : `${key} script`;
        out.push({ script: v, what, loc: rec.$loc?.[key], checker });
        continue;
      }
      if (Array.isArray(v)) {
        const inner = checker || CHECKER_BLOCKS.has(key);
        for (let i = 0; i < v.length; i++) {
          const item: unknown = v[i];
          if (isScript(item)) {
            out.push({ script: item, what: `${key} script`, loc: rec.$loc?.[key], checker });
          } else if (typeof item === "object" && item !== null) {
            const h = (item as { header?: unknown }).header;
            walk(item, key, typeof h === "string" ? h : undefined, inner);
          }
        }
      } else {
        walk(v, key, undefined, checker || CHECKER_BLOCKS.has(key));
      }
    }
  };
  walk(model, "", undefined, false);
  return out;
}

/** Resolve a command's program: paths are taken as they are; bare names are searched in PATH. */
export function resolveProgram(program: string, host: ScriptHost): string | undefined {
  if (program.includes("/")) return host.lstat(program) ? program : undefined;
  for (const dir of (host.path || DEFAULT_PATH).split(":")) {
    if (dir === "") continue;
    const p = `${dir.replace(/\/$/, "")}/${program}`;
    const st = host.lstat(p);
    if (st && !st.isDirectory) return p;
  }
  return undefined;
}

function executableBy(st: ScriptFileInfo, uid: number, gid: number): boolean {
  if (uid === 0) return (st.mode & 0o111) !== 0;
  if (st.uid === uid) return (st.mode & 0o100) !== 0;
  if (st.gid === gid) return (st.mode & 0o010) !== 0;
  return (st.mode & 0o001) !== 0;
}

/**
 * Why a path is insecure for a script run as root (spec/vrrp.md §5.3 rule 4), or
 * undefined when it is secure: every component must exist and be owned by root, and no
 * component may be writable by anyone but root (directories with the sticky bit excepted).
 */
export function insecurity(path: string, host: ScriptHost): string | undefined {
  const parts = path.split("/").filter((p) => p !== "");
  let cur = "";
  for (let i = 0; i <= parts.length; i++) {
    const p = i === 0 ? "/" : (cur = `${cur}/${parts[i - 1]}`);
    const st = host.lstat(p);
    const last = i === parts.length;
    if (!st) return `'${p}' does not exist`;
    if (!last && !st.isDirectory && !st.isSymlink) return `'${p}' is not a directory`;
    if (last && !st.isFile && !st.isSymlink) return `'${p}' is not a regular file`;
    if (st.uid !== 0) return `'${p}' is not owned by root`;
    if (st.isSymlink) continue;
    const sticky = st.isDirectory && (st.mode & 0o1000) !== 0;
    if (!sticky && (st.mode & 0o002) !== 0) return `'${p}' is writable by everyone`;
    if (!sticky && (st.mode & 0o020) !== 0 && st.gid !== 0) {
      return `'${p}' is writable by group ${st.gid}`;
    }
  }
  return undefined;
}

export interface ScriptCheckOptions {
  enableScriptSecurity: boolean;
  /** Global `script_user` as `USER [GROUP]` words, if configured. */
  scriptUser?: string;
  /** Whether any VRRP instance / virtual server exists (the checks only run then). */
  hasVrrp: boolean;
  hasChecker: boolean;
}

/** The result: scripts that keepalived would disable, by index in `findScripts` order. */
export interface ScriptCheckResult {
  disabled: Set<FoundScript>;
}

/** What the checks decided about one program run as one user. */
type ProgramVerdict = { kind: "missing" } | { kind: "ok"; insecure: string | undefined };

function judgeProgram(
  program: string,
  ids: { uid: number; gid: number },
  host: ScriptHost,
): ProgramVerdict {
  const found = resolveProgram(program, host);
  const real = found !== undefined ? host.realPath(found) : undefined;
  const st = real !== undefined ? host.lstat(real) : undefined;
  if (
    found === undefined || real === undefined || !st || !st.isFile ||
    !executableBy(st, ids.uid, ids.gid)
  ) {
    return { kind: "missing" };
  }
  const runsAsRoot = ids.uid === 0 || ids.gid === 0 ||
    (st.uid === 0 && (st.mode & 0o6000) !== 0);
  return {
    kind: "ok",
    insecure: runsAsRoot ? (insecurity(found, host) ?? insecurity(real, host)) : undefined,
  };
}

/** Run the checks of spec/vrrp.md §5.3 over the scripts found in a model. */
export function checkScripts(
  scripts: readonly FoundScript[],
  opts: ScriptCheckOptions,
  host: ScriptHost,
  sink: DiagnosticSink,
): ScriptCheckResult {
  const disabled = new Set<FoundScript>();
  const verdicts = new Map<string, ProgramVerdict>();
  const defaultUser = opts.scriptUser ??
    (host.user("keepalived_script") ? "keepalived_script" : undefined);
  let anyInsecure = { vrrp: false, checker: false };
  let anyUsable = { vrrp: false, checker: false };
  for (const f of scripts) {
    const side = f.checker ? "checker" : "vrrp";
    if (f.checker ? !opts.hasChecker : !opts.hasVrrp) continue;
    const userName = f.script.user ?? defaultUser;
    if (userName === undefined && opts.enableScriptSecurity) {
      sink.report(
        DiagClass.SECURITY_ERROR,
        `Unable to set default user keepalived_script for ${f.what}; set 'script_user' in global_defs or create the user`,
        f.loc,
      );
      disabled.add(f);
      continue;
    }
    const ids = userName === undefined ? { uid: 0, gid: 0 } : host.user(userName);
    if (!ids) {
      sink.report(
        DiagClass.GENERAL_ERROR,
        `Disabling ${f.what}: user '${userName}' does not exist; create it or change the script's user`,
        f.loc,
      );
      disabled.add(f);
      continue;
    }
    // `</path` (a shell redirection testing that a file is readable) always runs through
    // the shell (spec/vrrp.md §5.3), so the program to check is /bin/sh.
    const first = f.script.argv[0] ?? "";
    const program = first.startsWith("</") ? "/bin/sh" : first;
    // Large configurations run the same few programs thousands of times: decide once.
    const cacheKey = `${program}\0${ids.uid}\0${ids.gid}`;
    let verdict = verdicts.get(cacheKey);
    if (verdict === undefined) {
      verdict = judgeProgram(program, ids, host);
      verdicts.set(cacheKey, verdict);
    }
    if (verdict.kind === "missing") {
      // keepalived -t reports missing track scripts but is silent about notify and
      // MISC_CHECK scripts; kad still tells, as a notice that does not change the verdict.
      sink.report(
        f.what.startsWith("track script") ? DiagClass.WARNING : DiagClass.NOTICE,
        `Disabling ${f.what} since not found/accessible; check that '${program}' exists and is executable`,
        f.loc,
      );
      disabled.add(f);
      continue;
    }
    const why = verdict.insecure;
    if (why !== undefined) {
      anyInsecure = { ...anyInsecure, [side]: true };
      if (opts.enableScriptSecurity) {
        sink.warn(
          `Disabling ${f.what} due to insecure path (${why}); only root may be able to change it`,
          f.loc,
        );
        disabled.add(f);
        continue;
      }
    }
    anyUsable = { ...anyUsable, [side]: true };
  }
  if (!opts.enableScriptSecurity) {
    for (const side of ["vrrp", "checker"] as const) {
      if (!anyUsable[side]) continue;
      const kind = side === "checker" ? "check scripts" : "scripts";
      sink.report(
        DiagClass.SECURITY_ERROR,
        `SECURITY VIOLATION - ${kind} are being executed but script_security not enabled.` +
          (anyInsecure[side] ? " There are insecure scripts." : "") +
          " Add 'enable_script_security' to global_defs",
      );
    }
  }
  return { disabled };
}

/** The real host: lstat, realpath, /etc/passwd. */
export function denoScriptHost(): ScriptHost {
  let passwd: Map<string, { uid: number; gid: number }> | undefined;
  const users = () => {
    if (passwd) return passwd;
    passwd = new Map();
    try {
      for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
        const f = line.split(":");
        if (f.length >= 4 && f[0]) passwd.set(f[0], { uid: Number(f[2]), gid: Number(f[3]) });
      }
    } catch {
      // No passwd file: only numeric ids below.
    }
    return passwd;
  };
  return {
    lstat(path) {
      try {
        const s = Deno.lstatSync(path);
        return {
          isFile: s.isFile,
          isDirectory: s.isDirectory,
          isSymlink: s.isSymlink,
          uid: s.uid ?? -1,
          gid: s.gid ?? -1,
          mode: s.mode ?? 0,
        };
      } catch {
        return undefined;
      }
    },
    realPath(path) {
      try {
        return Deno.realPathSync(path);
      } catch {
        return undefined;
      }
    },
    user(name) {
      const u = users().get(name);
      if (u) return u;
      return /^[0-9]+$/.test(name) ? { uid: Number(name), gid: Number(name) } : undefined;
    },
    path: (() => {
      try {
        return Deno.env.get("PATH") ?? DEFAULT_PATH;
      } catch {
        return DEFAULT_PATH;
      }
    })(),
  };
}
