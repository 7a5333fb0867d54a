/**
 * The two authentication blocks of a vrrp_instance: legacy `authentication { auth_type
 * PASS|AH; auth_pass … }` (spec/vrrp.md §2.1–2.2) and `auth_hmac { key …; active_key …;
 * anti_replay …; time_window …; mode … }` (§2.3.10). Owns their keywords and the key
 * value forms (inline, `hex:`, `file:`). Key files are not read here (that is the
 * daemon's job); only the path is checked and resolved. Whether the blocks can be used by
 * an instance (version, strict mode, active key, initial state) is decided in
 * lib/config/schema/vrrp_check.ts.
 */
import {
  defineBlock,
  type InferSchema,
  multi,
  optional,
  SECRET_MASK,
  value,
  type ValueType,
} from "../schema.ts";
import { DiagClass } from "../diagnostic.ts";
import { int, oneOf, parseIntArg, quoteIfNeeded, seconds } from "../types.ts";
import { dirName, normalizePath, pathProblem } from "./vrrp_values.ts";

/** Legacy passwords are 8 bytes on the wire (§2.1). */
export const AUTH_PASS_MAX = 8;

/** `auth_pass`: truncated to 8 characters with a warning, as keepalived does (the wire holds 8). */
const authPass: ValueType<string> = {
  toml: "string",
  describe: `password of at most ${AUTH_PASS_MAX} characters`,
  parse(args, ctx) {
    const t = args[0];
    if (t === undefined) {
      ctx.missing("password");
      return undefined;
    }
    if (t.text === "") {
      ctx.error(
        `'${ctx.keyword}' is empty, which would disable authentication; give a password`,
        0,
      );
      return undefined;
    }
    if (t.text.length > AUTH_PASS_MAX) {
      ctx.warn(
        `'${ctx.keyword}' is longer than ${AUTH_PASS_MAX} characters; only the first ${AUTH_PASS_MAX} are used (truncated)`,
        0,
      );
      return t.text.slice(0, AUTH_PASS_MAX);
    }
    return t.text;
  },
  print: (v) => [quoteIfNeeded(v)],
};

/** spec/vrrp.md §2.1–2.2. */
export const authentication = defineBlock({
  name: "authentication",
  fields: {
    auth_type: optional(oneOf(["PASS", "AH"] as const), {
      doc: "PASS (clear-text password) or AH (IPsec AH with HMAC-MD5); VRRPv2 over IPv4 only",
    }),
    auth_pass: optional(authPass, {
      secret: true,
      doc: "the shared password (up to 8 characters)",
    }),
  },
});
export type Authentication = InferSchema<typeof authentication>;

// ---- auth_hmac ----

export const HMAC_KEY_MIN = 32;
export const HMAC_KEY_MAX = 64;

/** One `key ID VALUE` line. */
export interface HmacKey {
  /** Key id 1–255, carried in every signed advert. */
  id: number;
  /** How the key was given: the literal bytes, hex digits, or a file to read at start. */
  source: "inline" | "hex" | "file";
  /** Inline: the key text. Hex: the decoded bytes as lower-case hex. File: the resolved path. */
  value: string;
}

/**
 * Decode `hex:` digits as keepalived does (§2.3.10): blanks separate groups, digits pair
 * left to right, a lone digit before a blank or the end is one byte. Undefined when any
 * other character appears.
 */
export function decodeHexKey(text: string): Uint8Array | undefined {
  const out: number[] = [];
  for (const group of text.split(/[ \t]+/)) {
    if (group === "") continue;
    if (!/^[0-9a-fA-F]+$/.test(group)) return undefined;
    for (let i = 0; i < group.length; i += 2) out.push(parseInt(group.slice(i, i + 2), 16));
  }
  return out.length === 0 ? undefined : new Uint8Array(out);
}

/** The key bytes of an inline or hex key (file keys are only known to the daemon). */
export function hmacKeyBytes(k: HmacKey): Uint8Array | undefined {
  if (k.source === "inline") return new TextEncoder().encode(k.value);
  if (k.source === "hex") return decodeHexKey(k.value);
  return undefined;
}

const hmacKey: ValueType<HmacKey> = {
  toml: "words",
  describe: "ID VALUE (VALUE = text | hex:DIGITS | file:PATH)",
  parse(args, ctx) {
    const id = parseIntArg(args[0], 1, 255, ctx, 0, "key id");
    if (id === undefined) return undefined;
    const t = args[1];
    if (t === undefined) {
      ctx.missing("key value");
      return undefined;
    }
    if (args.length > 2) {
      ctx.error(
        `'${ctx.keyword}' ${id} has extra words after the key; double-quote a key that contains blanks`,
        2,
      );
      return undefined;
    }
    const range = `${HMAC_KEY_MIN} to ${HMAC_KEY_MAX} bytes`;
    if (t.text.startsWith("file:")) {
      const p = t.text.slice(5);
      const problem = pathProblem(p, { file: true });
      if (problem !== undefined) {
        ctx.error(`'${ctx.keyword}' ${id} file path '${p}' ${problem}`, 1);
        return undefined;
      }
      // Relative paths resolve against the directory of the file being parsed (§2.3.10).
      const path = p.startsWith("/")
        ? normalizePath(p)
        : normalizePath(`${dirName(ctx.node.loc.file)}/${p}`);
      return { id, source: "file", value: path };
    }
    if (t.text.startsWith("hex:")) {
      const bytes = decodeHexKey(t.text.slice(4));
      if (bytes === undefined) {
        ctx.error(
          `'${ctx.keyword}' ${id} hex value is not valid; use hex digits, optionally separated by blanks (${range})`,
          1,
        );
        return undefined;
      }
      if (bytes.length < HMAC_KEY_MIN || bytes.length > HMAC_KEY_MAX) {
        ctx.error(`'${ctx.keyword}' ${id} is ${bytes.length} bytes long; keys must be ${range}`, 1);
        return undefined;
      }
      return {
        id,
        source: "hex",
        value: [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(""),
      };
    }
    const len = new TextEncoder().encode(t.text).length;
    if (len < HMAC_KEY_MIN || len > HMAC_KEY_MAX) {
      ctx.error(`'${ctx.keyword}' ${id} is ${len} bytes long; keys must be ${range}`, 1);
      return undefined;
    }
    return { id, source: "inline", value: t.text };
  },
  print(k) {
    const v = k.source === "inline" ? k.value : `${k.source}:${k.value}`;
    return [String(k.id), quoteIfNeeded(v)];
  },
  // The key id is not secret and operators need it to see which keys are configured.
  mask: (k) => [String(k.id), SECRET_MASK],
};

/** Default freshness window (§2.3.2): max(3 × whole seconds of advert_int, 5), at most 300 s. */
export function defaultTimeWindowUs(advertIntUs: number): number {
  return Math.min(Math.max(3 * Math.floor(advertIntUs / 1e6), 5), 300) * 1e6;
}

/** spec/vrrp.md §2.3.10. */
export const authHmac = defineBlock({
  name: "auth_hmac",
  fields: {
    key: multi(hmacKey, {
      secret: true,
      doc: "key ID VALUE: id 1-255; VALUE is text, hex:DIGITS or file:PATH, 32 to 64 bytes",
    }),
    active_key: optional(int(1, 255), { doc: "id of the key that signs adverts (required)" }),
    anti_replay: value(oneOf(["time", "monotonic"] as const), "time", {
      doc: "replay protection: time (freshness window) or monotonic (sequence only)",
    }),
    time_window: value(seconds(1, 300, 0), 5_000_000, {
      doc: "freshness window in seconds (default max(3 x advert_int, 5), at most 300)",
    }),
    mode: value(oneOf(["enforce", "permissive", "receive-only"] as const), "enforce", {
      doc: "enforce (default), permissive (accept unsigned) or receive-only (do not sign)",
    }),
  },
  validate(b, ctx) {
    const seen = new Set<number>();
    b.key = b.key.filter((k) => {
      if (!seen.has(k.id)) {
        seen.add(k.id);
        return true;
      }
      ctx.sink.report(
        DiagClass.GENERAL_ERROR,
        `auth_hmac key id ${k.id} is defined twice; ignoring the second one (give each key its own id)`,
        ctx.at(b, "key"),
        "key",
      );
      return false;
    });
  },
});
export type AuthHmac = InferSchema<typeof authHmac>;
