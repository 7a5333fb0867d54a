/**
 * Where configuration text comes from: a tiny file-system interface so that the
 * preprocessor (spec/vrrp.md §4.4, §4.5) stays pure and can be tested on in-memory trees.
 *
 * Owns `ConfigFs`, the real implementation over Deno's synchronous file API and an
 * in-memory implementation for tests. It must not interpret configuration text.
 */
import { posix } from "node:path";

/** What the preprocessor needs to know about a path. */
export interface FileInfo {
  isFile: boolean;
  isDirectory: boolean;
  /** Permission bits (`st_mode & 0o7777`), or null where the platform has none. */
  mode: number | null;
}

/** The file operations the preprocessor uses. Paths are POSIX paths. */
export interface ConfigFs {
  /** The whole file. Throws `Deno.errors.NotFound`, `PermissionDenied`, `IsADirectory`, … */
  readFile(path: string): Uint8Array;
  /** Information about a path (following symbolic links), or null when it does not exist. */
  stat(path: string): FileInfo | null;
  /** The names of the entries of a directory (not sorted). Throws when it is no directory. */
  readDir(path: string): string[];
}

/** A normalised POSIX path without a trailing slash (except for "/"). */
function norm(path: string): string {
  const p = posix.normalize(path);
  return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
}

/** The real file system, through Deno's synchronous API. */
export const denoFs: ConfigFs = {
  readFile(path: string): Uint8Array {
    return Deno.readFileSync(path);
  },
  stat(path: string): FileInfo | null {
    try {
      const st = Deno.statSync(path);
      return { isFile: st.isFile, isDirectory: st.isDirectory, mode: st.mode };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
        return null;
      }
      throw e;
    }
  },
  readDir(path: string): string[] {
    const names: string[] = [];
    for (const entry of Deno.readDirSync(path)) names.push(entry.name);
    return names;
  },
};

/**
 * An in-memory file system for tests. Keys are file paths (absolute or relative); every
 * ancestor of a file is a directory. `modes` gives permission bits per file (default
 * 0o644): a file without any read bit throws `PermissionDenied` on `readFile`, as it would
 * for an unprivileged user.
 *
 * @example
 * ```ts
 * const fs = memoryFs({ "/etc/keepalived/keepalived.conf": "global_defs {\n}\n" });
 * fs.stat("/etc/keepalived")?.isDirectory; // true
 * ```
 */
export function memoryFs(
  files: Record<string, string | Uint8Array>,
  modes: Record<string, number> = {},
): ConfigFs {
  const enc = new TextEncoder();
  const content = new Map<string, Uint8Array>();
  const mode = new Map<string, number>();
  const dirs = new Map<string, Set<string>>();

  // Register a path in each of its ancestor directories, up to "/" or ".".
  const link = (path: string): void => {
    let child = path;
    let parent = posix.dirname(child);
    for (;;) {
      let entries = dirs.get(parent);
      if (entries === undefined) {
        entries = new Set();
        dirs.set(parent, entries);
      }
      entries.add(posix.basename(child));
      const up = posix.dirname(parent);
      if (up === parent) break;
      child = parent;
      parent = up;
    }
  };

  for (const [rawPath, data] of Object.entries(files)) {
    const p = norm(rawPath);
    content.set(p, typeof data === "string" ? enc.encode(data) : data);
    link(p);
  }
  for (const [rawPath, m] of Object.entries(modes)) mode.set(norm(rawPath), m);

  return {
    readFile(path: string): Uint8Array {
      const p = norm(path);
      const data = content.get(p);
      if (data === undefined) {
        if (dirs.has(p)) throw new Deno.errors.IsADirectory(`Is a directory: '${path}'`);
        throw new Deno.errors.NotFound(`No such file or directory: '${path}'`);
      }
      if (((mode.get(p) ?? 0o644) & 0o444) === 0) {
        throw new Deno.errors.PermissionDenied(`Permission denied: '${path}'`);
      }
      return data;
    },
    stat(path: string): FileInfo | null {
      const p = norm(path);
      if (content.has(p)) return { isFile: true, isDirectory: false, mode: mode.get(p) ?? 0o644 };
      if (dirs.has(p)) return { isFile: false, isDirectory: true, mode: 0o755 };
      return null;
    },
    readDir(path: string): string[] {
      const entries = dirs.get(norm(path));
      if (entries === undefined) {
        throw new Deno.errors.NotFound(`No such directory: '${path}'`);
      }
      return [...entries];
    },
  };
}
