/**
 * Writing a root-owned file that others must neither read nor redirect: the key state
 * (lib/runtime/key_state_file.ts) and keepalived's dump files (lib/runtime/dump_files.ts,
 * spec/vrrp.md §6.3). The bytes go to a temporary file next to the target, created with
 * O_EXCL and mode 0600 — a symlink or file planted at the temporary name by another user is
 * removed first and never followed — and then renamed over the target, so a reader sees the
 * old file or the new one, never half of one.
 */

/** The directory part of `path` ("/" for a file at the root, "." when it has no slash). */
export function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // Already gone, or the directory went away: nothing left to clean.
  }
}

/** Options of `writePrivateFile`. */
export interface PrivateFileOptions {
  /** Flush the file and its directory to disk before returning (default false). */
  readonly durable?: boolean;
}

/**
 * Writes `data` to `path` through a temporary file and a rename, mode 0600 (see the module
 * comment). Throws the file system's error; the temporary file is then removed and the old
 * file left as it was.
 */
export function writePrivateFile(
  path: string,
  data: Uint8Array,
  options: PrivateFileOptions = {},
): void {
  const tmp = `${path}.${Deno.pid}.tmp`;
  // A leftover (a crash) or a planted link is replaced, not reused or followed.
  removeQuietly(tmp);
  const f = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o600 });
  try {
    let off = 0;
    while (off < data.length) off += f.writeSync(data.subarray(off));
    // The mode given to open() is masked by the umask; the file is meant to be 0600 exactly.
    Deno.chmodSync(tmp, 0o600);
    if (options.durable === true) f.syncSync();
  } catch (e) {
    f.close();
    removeQuietly(tmp);
    throw e;
  }
  f.close();
  try {
    Deno.renameSync(tmp, path);
  } catch (e) {
    removeQuietly(tmp);
    throw e;
  }
  if (options.durable !== true) return;
  const d = Deno.openSync(dirOf(path), { read: true });
  try {
    d.syncSync();
  } finally {
    d.close();
  }
}
