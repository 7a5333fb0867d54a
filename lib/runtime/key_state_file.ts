/**
 * The key state on disk (docs/rotate-key.md): reading it (no file is the empty state; a
 * file that is not a usable key state is a KeyStateError naming it and the fix), writing
 * it atomically — a temporary file in the same directory, mode 0600, fsync, rename over
 * the old one, fsync of the directory — so that a crash leaves either the old or the new
 * document, never half of one; and the key files kad keeps itself for keys given on
 * standard input (`<state file without .json>.d/`, mode 0700, files 0600).
 *
 * The model is lib/config/key_state.ts's; this file only moves bytes.
 */
import { errorText } from "./error_text.ts";
import { dirOf, writePrivateFile } from "./private_file.ts";
import {
  EMPTY_KEY_STATE,
  KEY_STATE_MAX_BYTES,
  keyFilePathProblem,
  type KeyState,
  KeyStateError,
  keyStateFix,
  parseKeyState,
  serializeKeyState,
} from "../config/key_state.ts";

function why(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "it does not exist";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "it is a directory";
  return errorText(e);
}

/**
 * The key state in `path`: the empty state when there is no such file. Throws a
 * KeyStateError (naming the file, the problem and the fix) when it cannot be read or is
 * not a usable key state.
 */
export function readKeyState(path: string): KeyState {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return EMPTY_KEY_STATE;
    throw new KeyStateError(
      `key state file '${path}' cannot be read (${why(e)}); ${keyStateFix(path)}`,
    );
  }
  if (!st.isFile) {
    throw new KeyStateError(`key state file '${path}' is not a regular file; ${keyStateFix(path)}`);
  }
  if (st.size > KEY_STATE_MAX_BYTES) {
    throw new KeyStateError(
      `key state file '${path}' is too large (${st.size} bytes; at most ${KEY_STATE_MAX_BYTES}); ${
        keyStateFix(path)
      }`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (e) {
    throw new KeyStateError(
      `key state file '${path}' cannot be read (${why(e)}); ${keyStateFix(path)}`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new KeyStateError(`key state file '${path}' is not UTF-8 text; ${keyStateFix(path)}`);
  }
  return parseKeyState(text, path);
}

/** Creates `dir` (and its parents) with mode 0700 when it does not exist. */
function ensureDir(dir: string): void {
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** Writes `data` to `path` atomically and durably, mode 0600, creating its directory (0700). */
export function writeFileAtomic(path: string, data: Uint8Array): void {
  ensureDir(dirOf(path));
  writePrivateFile(path, data, { durable: true });
}

/**
 * Writes the key state to `path` (see the module comment). Throws an Error saying what
 * failed and how to fix it; the old file is then left as it was.
 */
export function writeKeyState(path: string, state: KeyState): void {
  const text = serializeKeyState(state);
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > KEY_STATE_MAX_BYTES) {
    throw new Error(
      `the key state would be ${bytes.length} bytes, more than ${KEY_STATE_MAX_BYTES}; retire keys or edit the configuration to match it (docs/rotate-key.md)`,
    );
  }
  try {
    writeFileAtomic(path, bytes);
  } catch (e) {
    throw new Error(
      `key state file '${path}' cannot be written (${
        why(e)
      }); make its directory writable by root, or give kad run another --key-state path`,
    );
  }
}

/** The directory of the key files kad keeps itself, next to the key state file. */
export function ownKeyDir(statePath: string): string {
  return `${statePath.replace(/\.json$/, "")}.d`;
}

/** The path of kad's own key file for key `id` of `instance`. */
export function ownKeyPath(statePath: string, instance: string, id: number): string {
  return `${ownKeyDir(statePath)}/${encodeURIComponent(instance)}.${id}.key`;
}

/** Whether `path` is one of kad's own key files (the only ones kad ever deletes). */
export function isOwnKeyPath(statePath: string, path: string): boolean {
  const dir = `${ownKeyDir(statePath)}/`;
  return path.startsWith(dir) && !path.slice(dir.length).includes("/") &&
    path.endsWith(".key");
}

/**
 * Stores a key given on standard input as kad's own key file (content `hex:DIGITS`, as a
 * configuration key file) and returns its path. The hex text is wiped after writing.
 */
export function storeOwnKey(
  statePath: string,
  instance: string,
  id: number,
  key: Uint8Array,
): string {
  const path = ownKeyPath(statePath, instance, id);
  const problem = keyFilePathProblem(path);
  if (problem !== undefined) throw new Error(`kad's key file path '${path}' ${problem}`);
  const hex = new Uint8Array(4 + key.length * 2 + 1);
  hex.set([0x68, 0x65, 0x78, 0x3a]); // "hex:"
  const digits = [
    0x30,
    0x31,
    0x32,
    0x33,
    0x34,
    0x35,
    0x36,
    0x37,
    0x38,
    0x39,
    0x61,
    0x62,
    0x63,
    0x64,
    0x65,
    0x66,
  ];
  for (let i = 0; i < key.length; i++) {
    const b = key[i] as number;
    hex[4 + 2 * i] = digits[b >> 4] as number;
    hex[5 + 2 * i] = digits[b & 15] as number;
  }
  hex[hex.length - 1] = 0x0a;
  try {
    writeFileAtomic(path, hex);
  } catch (e) {
    throw new Error(
      `the key cannot be stored in '${path}' (${why(e)}); make '${
        ownKeyDir(statePath)
      }' writable by root, or give the key as a file with --key-file PATH`,
    );
  } finally {
    hex.fill(0);
  }
  return path;
}

/** Deletes one of kad's own key files (a missing one is fine); other paths are left alone. */
export function removeOwnKey(statePath: string, path: string): void {
  if (!isOwnKeyPath(statePath, path)) return;
  try {
    Deno.removeSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
