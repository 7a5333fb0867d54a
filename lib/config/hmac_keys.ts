/**
 * The key bytes of every `auth_hmac` block (spec/vrrp.md §2.3.10): inline and `hex:` keys
 * from the model, `file:PATH` keys read through a `ConfigFs` — the file's content is taken
 * like an inline value (`hex:…` or literal bytes) once trailing CR/LF are stripped, must be
 * shorter than 139 bytes and decode to 32–64 bytes; a file readable, writable or executable
 * by group or others is a security warning (the key is still used, as keepalived does).
 * `${_ENV CREDENTIALS_DIRECTORY}` in a path (systemd credentials) is expanded earlier, by the
 * preprocessor.
 *
 * `kad run` calls this at start and at every reload. Pure apart from the `ConfigFs`. Key
 * bytes only ever go into the returned map (the caller wipes them once its key rings hold
 * copies); problems name the instance, the key id and the file, never the key.
 */
import { errorText } from "../runtime/error_text.ts";
import type { SourceLoc } from "./diagnostic.ts";
import type { KadConfig } from "./schema/root.ts";
import { decodeHexKey, HMAC_KEY_MAX, HMAC_KEY_MIN } from "./schema/vrrp_auth.ts";
import type { ConfigFs } from "./source.ts";

/** A key file's content must be shorter than this many bytes (§2.3.10). */
export const KEY_FILE_LIMIT = 139;

/** Keys of one instance: key id → bytes. */
export type InstanceKeys = Map<number, Uint8Array>;

/** A problem with a key: an error makes the key unusable, a warning does not. */
export interface KeyProblem {
  readonly severity: "error" | "warning";
  /** Names the instance, the key id and (for files) the path, and says how to fix it. */
  readonly message: string;
  readonly loc: SourceLoc | undefined;
  /** The instance and key id the problem is about. */
  readonly instance: string;
  readonly keyId: number;
}

/** Every instance's keys and what went wrong. */
export interface HmacKeyResolution {
  /** Per instance name; only instances with an `auth_hmac` block, only usable keys. */
  readonly keys: Map<string, InstanceKeys>;
  readonly problems: readonly KeyProblem[];
}

const RANGE = `${HMAC_KEY_MIN} to ${HMAC_KEY_MAX} bytes`;
const HEX = new TextEncoder().encode("hex:");

/**
 * Decode a key file's content (§2.3.10): trailing CR/LF stripped, then `hex:DIGITS` or the
 * literal bytes. Returns the key bytes or why they are unusable.
 *
 * @example
 * ```ts
 * import { decodeKeyFile } from "./hmac_keys.ts";
 * const r = decodeKeyFile(new TextEncoder().encode("hex:" + "ab".repeat(32) + "\n"));
 * "bytes" in r && r.bytes.length; // 32
 * ```
 */
export function decodeKeyFile(content: Uint8Array): { bytes: Uint8Array } | { problem: string } {
  if (content.length >= KEY_FILE_LIMIT) {
    return {
      problem: `is too large (${content.length} bytes; a key file holds at most ${
        KEY_FILE_LIMIT - 1
      }: a ${RANGE} key as text or as hex:DIGITS)`,
    };
  }
  let end = content.length;
  while (end > 0 && (content[end - 1] === 0x0a || content[end - 1] === 0x0d)) end--;
  const text = content.subarray(0, end);
  let bytes: Uint8Array | undefined;
  if (text.length >= HEX.length && HEX.every((b, i) => text[i] === b)) {
    bytes = decodeHexKey(new TextDecoder().decode(text.subarray(HEX.length)));
    if (bytes === undefined) {
      return {
        problem:
          "holds a hex: key that is not valid; use hex digits, optionally separated by blanks",
      };
    }
  } else bytes = text.slice();
  if (bytes.length < HMAC_KEY_MIN || bytes.length > HMAC_KEY_MAX) {
    const n = bytes.length;
    bytes.fill(0);
    return { problem: `gives a ${n}-byte key; keys must be ${RANGE}` };
  }
  return { bytes };
}

function fileErrorText(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "it does not exist";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "it is a directory";
  return errorText(e);
}

/** A key file read and decoded, or why it cannot be used. */
export type KeyFileRead =
  | {
    readonly bytes: Uint8Array;
    /** The file's permission bits, null where unknown. */
    readonly mode: number | null;
  }
  | { readonly problem: string };

/**
 * Reads and decodes the key file `path` (§2.3.10; also `kad rotate-key add --key-file`).
 * A problem reads as the continuation of "key file 'PATH' ", and says how to fix it.
 */
export function readKeyFile(path: string, fs: ConfigFs): KeyFileRead {
  let content: Uint8Array;
  let mode: number | null = null;
  try {
    const st = fs.stat(path);
    if (st !== null && st.isDirectory) throw new Deno.errors.IsADirectory(path);
    if (st !== null && !st.isFile) {
      return { problem: `is not a regular file; give a file holding a ${RANGE} key` };
    }
    mode = st?.mode ?? null;
    content = fs.readFile(path);
  } catch (e) {
    return {
      problem: `cannot be read (${
        fileErrorText(e)
      }); create it (mode 0600) with a ${RANGE} key as text or hex:DIGITS, or fix the path`,
    };
  }
  const r = decodeKeyFile(content);
  content.fill(0);
  if ("problem" in r) return r;
  return { bytes: r.bytes, mode };
}

/** The warning for a key file group or others can use (§2.3.10), or undefined. */
export function keyFileModeWarning(path: string, mode: number | null): string | undefined {
  if (mode === null || (mode & 0o077) === 0) return undefined;
  return `is accessible by group or others (mode ${
    (mode & 0o777).toString(8).padStart(4, "0")
  }); make it private with 'chmod 600 ${path}'`;
}

/**
 * Resolve the keys of every instance's `auth_hmac` block. Inline and `hex:` keys were
 * checked by the parser; file keys are read here.
 *
 * @example
 * ```ts ignore
 * const { keys, problems } = resolveHmacKeys(config, denoFs);
 * ```
 */
export function resolveHmacKeys(
  config: Pick<KadConfig, "vrrp_instance">,
  fs: ConfigFs,
): HmacKeyResolution {
  const keys = new Map<string, InstanceKeys>();
  const problems: KeyProblem[] = [];
  for (const inst of config.vrrp_instance) {
    const h = inst.auth_hmac;
    if (h === undefined) continue;
    const own: InstanceKeys = new Map();
    const loc = h.$loc.key ?? h.$at;
    const p = `vrrp_instance ${inst.header} auth_hmac key `;
    for (const k of h.key) {
      const what = `${p}${k.id}`;
      if (k.source === "inline") {
        own.set(k.id, new TextEncoder().encode(k.value));
        continue;
      }
      if (k.source === "hex") {
        const b = decodeHexKey(k.value);
        if (b !== undefined) own.set(k.id, b);
        continue;
      }
      const path = k.value;
      const at = { instance: inst.header, keyId: k.id, loc };
      const r = readKeyFile(path, fs);
      if ("problem" in r) {
        problems.push({
          severity: "error",
          message: `${what}: key file '${path}' ${r.problem}`,
          ...at,
        });
        continue;
      }
      const warning = keyFileModeWarning(path, r.mode);
      if (warning !== undefined) {
        problems.push({
          severity: "warning",
          message: `${what}: key file '${path}' ${warning}`,
          ...at,
        });
      }
      own.set(k.id, r.bytes);
    }
    keys.set(inst.header, own);
  }
  return { keys, problems };
}

/** Zeroes every key of a resolution (once the key rings hold their own copies). */
export function wipeKeys(keys: ReadonlyMap<string, InstanceKeys>): void {
  for (const own of keys.values()) for (const b of own.values()) b.fill(0);
}
