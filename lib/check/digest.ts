/**
 * The page digest of HTTP_GET/SSL_GET and genhash: MD5, fed incrementally, printed as 32
 * lowercase hex digits (spec/lvs.md §2.5.3). It owns only the hash and its text form; what
 * bytes are hashed is decided by http_response.ts.
 */
import { createHash, type Hash } from "node:crypto";

/** An incremental MD5 over the body bytes. */
export class BodyDigest {
  #hash: Hash = createHash("md5");
  #result: Uint8Array | undefined;

  /** Add bytes; ignored once the digest has been taken. */
  update(bytes: Uint8Array): void {
    if (this.#result === undefined && bytes.length > 0) this.#hash.update(bytes);
  }

  /** The 16 digest bytes; later calls return the same value. */
  digest(): Uint8Array {
    this.#result ??= new Uint8Array(this.#hash.digest());
    return this.#result;
  }
}

/** Digest bytes as keepalived prints and configures them: 32 lowercase hex digits. */
export function digestHex(digest: Uint8Array): string {
  let s = "";
  for (const b of digest) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * Parse a configured `digest` (exactly 32 hex digits, either case; comparison is binary,
 * spec/lvs.md §2.5). Undefined when malformed.
 */
export function parseDigestHex(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F]{32}$/.test(text)) return undefined;
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}
