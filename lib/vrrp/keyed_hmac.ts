/**
 * One HMAC key, ready to authenticate many short messages (RFC 2104; used by auth_hmac,
 * spec/vrrp.md §2.3.5, with SHA-256 and by legacy IPsec AH, §2.2, with MD5). The key's inner
 * and outer hash states are computed once; each MAC then clones them into a reused state,
 * so an advert costs the compression of its own bytes only (bench/auth_hmac.ts measures it
 * against `node:crypto`). Holds key-derived state only in private fields, wipes it on
 * `wipe()`, and never shows it in JSON, `Deno.inspect` or an error. Pure: no clock, no I/O.
 */
import { _HMAC, hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { md5 } from "@noble/hashes/legacy.js";

/** The hash functions kad authenticates adverts with. */
export type HmacHash = "sha256" | "md5";

const HASHES = { sha256, md5 } as const;
const OUTPUT_LENGTH: Readonly<Record<HmacHash, number>> = { sha256: 32, md5: 16 };

/**
 * A keyed HMAC. The key bytes are not kept (only the derived hash states are); the caller
 * wipes its own copy.
 *
 * @example
 * ```ts
 * import { KeyedHmac } from "./keyed_hmac.ts";
 * const mac = new KeyedHmac("sha256", new Uint8Array(32));
 * const out = new Uint8Array(mac.outputLength);
 * mac.macInto(new Uint8Array([1, 2, 3]), out);
 * mac.wipe();
 * ```
 */
export class KeyedHmac {
  readonly hash: HmacHash;
  /** Bytes of a full MAC (32 for SHA-256, 16 for MD5). */
  readonly outputLength: number;
  // deno-lint-ignore no-explicit-any
  #base: _HMAC<any> | undefined;
  // deno-lint-ignore no-explicit-any
  #work: _HMAC<any> | undefined;

  constructor(hash: HmacHash, key: Uint8Array) {
    this.hash = hash;
    this.outputLength = OUTPUT_LENGTH[hash];
    this.#base = hmac.create(HASHES[hash], key);
    this.#work = this.#base.clone();
  }

  /** Whether `wipe()` was called. */
  get wiped(): boolean {
    return this.#base === undefined;
  }

  /**
   * The MAC of `data` into the first `outputLength` bytes of `out` (which must be at least
   * that long). Throws an Error after `wipe()`.
   */
  macInto(data: Uint8Array, out: Uint8Array): void {
    const base = this.#base;
    if (base === undefined) throw new Error("This HMAC key was wiped");
    const w = base._cloneInto(this.#work);
    this.#work = w;
    w.update(data);
    w.digestInto(out);
  }

  /** Zeroes the key-derived hash states; the object cannot be used afterwards. */
  wipe(): void {
    this.#base?.destroy();
    this.#work?.destroy();
    this.#base = undefined;
    this.#work = undefined;
  }

  toJSON(): { hash: HmacHash } {
    return { hash: this.hash };
  }

  [Symbol.for("Deno.customInspect")](): string {
    return `KeyedHmac(${this.hash}${this.wiped ? ", wiped" : ""})`;
  }
}
