/**
 * One HMAC key, ready to authenticate many short messages (RFC 2104; used by auth_hmac,
 * spec/vrrp.md §2.3.5, with SHA-256 and by legacy IPsec AH, §2.2, with MD5). The key's inner
 * and outer hash states are computed once, so a MAC costs the compression of the message's
 * own blocks and one outer block.
 *
 * SHA-256, on every advert of every auth_hmac instance, runs without allocating: the
 * compression function is @noble/hashes' (its `_SHA256` class), driven here block by block
 * over a padded scratch buffer, with the two key states kept as words. MD5 (AH, one advert a
 * second at most) clones noble's keyed `hmac` state per MAC. bench/auth_hmac.ts measures
 * both against `node:crypto`.
 *
 * Key-derived state lives in private fields only, is zeroed by `wipe()`, and never shows in
 * JSON, `Deno.inspect` or an error. Pure: no clock, no I/O.
 */
import { _HMAC, hmac } from "@noble/hashes/hmac.js";
import { _SHA256 } from "@noble/hashes/sha2.js";
import { md5 } from "@noble/hashes/legacy.js";

/** The hash functions kad authenticates adverts with. */
export type HmacHash = "sha256" | "md5";

const BLOCK = 64;
const SHA256_BYTES = 32;
const IPAD = 0x36;
const OPAD = 0x5c;
/** Room for the message, the 0x80 byte and the 64-bit length, in whole blocks. */
const paddedLength = (n: number) => Math.ceil((n + 9) / BLOCK) * BLOCK;

function putU32(out: Uint8Array, at: number, w: number): void {
  out[at] = w >>> 24;
  out[at + 1] = (w >>> 16) & 0xff;
  out[at + 2] = (w >>> 8) & 0xff;
  out[at + 3] = w & 0xff;
}

/**
 * noble's SHA-256 compression with its state exposed as words: load a saved state, compress
 * one 64-byte block, store the state.
 */
class Sha256Core extends _SHA256 {
  load(s: Uint32Array): void {
    this.loadAt(s, 0);
  }

  /** The state from words `at` to `at + 7` of `s`. */
  loadAt(s: Uint32Array, at: number): void {
    this.set(
      s[at]!,
      s[at + 1]!,
      s[at + 2]!,
      s[at + 3]!,
      s[at + 4]!,
      s[at + 5]!,
      s[at + 6]!,
      s[at + 7]!,
    );
  }

  save(s: Uint32Array): void {
    s[0] = this.A;
    s[1] = this.B;
    s[2] = this.C;
    s[3] = this.D;
    s[4] = this.E;
    s[5] = this.F;
    s[6] = this.G;
    s[7] = this.H;
  }

  /** The state as 32 big-endian bytes at `offset` of `out` (no view to allocate). */
  writeBytes(out: Uint8Array, offset: number): void {
    putU32(out, offset, this.A);
    putU32(out, offset + 4, this.B);
    putU32(out, offset + 8, this.C);
    putU32(out, offset + 12, this.D);
    putU32(out, offset + 16, this.E);
    putU32(out, offset + 20, this.F);
    putU32(out, offset + 24, this.G);
    putU32(out, offset + 28, this.H);
  }

  /** The state as 32 big-endian bytes at `offset` of `view`. */
  write(view: DataView, offset: number): void {
    view.setUint32(offset, this.A);
    view.setUint32(offset + 4, this.B);
    view.setUint32(offset + 8, this.C);
    view.setUint32(offset + 12, this.D);
    view.setUint32(offset + 16, this.E);
    view.setUint32(offset + 20, this.F);
    view.setUint32(offset + 24, this.G);
    view.setUint32(offset + 28, this.H);
  }

  compress(view: DataView, offset: number): void {
    this.process(view, offset);
  }

  /** Zeroes the state and the shared message schedule. */
  clear(): void {
    this.set(0, 0, 0, 0, 0, 0, 0, 0);
    this.roundClean();
  }
}

/** SHA-256's initial state (FIPS 180-4 §5.3.3). */
const SHA256_IV = Uint32Array.from([
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
]);

/**
 * What every HMAC-SHA256 key shares: the compression engine and the padded blocks a MAC is
 * computed in. One set for the process (JavaScript runs one MAC at a time), so that signing
 * the adverts of hundreds of instances keeps touching the same few cache lines. They hold
 * messages and intermediate digests between MACs, never a key (a key state is loaded into
 * the engine only during a MAC, and `wipe()` clears the engine).
 */
const shared = {
  core: new Sha256Core(),
  /** The inner hash's input: message, padding, length. Grown when a message needs more. */
  scratch: new Uint8Array(4 * BLOCK),
  view: new DataView(new ArrayBuffer(0)),
  /** The outer hash's one block: inner digest, padding, length (64 + 32 bytes). */
  final: new Uint8Array(BLOCK),
  finalView: new DataView(new ArrayBuffer(0)),
};
shared.view = new DataView(shared.scratch.buffer);
shared.finalView = new DataView(shared.final.buffer);
shared.final[SHA256_BYTES] = 0x80;
shared.finalView.setUint32(BLOCK - 4, (BLOCK + SHA256_BYTES) * 8);

/** HMAC-SHA256 with precomputed key states, allocation-free per MAC. */
class Sha256Hmac {
  /** The inner state (words 0–7) and the outer state (8–15) after the key's block. */
  readonly #states = new Uint32Array(16);

  constructor(key: Uint8Array) {
    if (key.length > BLOCK) throw new RangeError(`HMAC keys above ${BLOCK} bytes are not used`);
    const pad = new Uint8Array(BLOCK);
    const view = new DataView(pad.buffer);
    const core = shared.core;
    for (const [xor, at] of [[IPAD, 0], [OPAD, 8]] as const) {
      pad.fill(0);
      pad.set(key);
      for (let i = 0; i < BLOCK; i++) pad[i] = (pad[i] as number) ^ xor;
      core.clear();
      core.load(SHA256_IV);
      core.compress(view, 0);
      core.save(this.#states.subarray(at, at + 8));
    }
    pad.fill(0);
    core.clear();
  }

  macInto(data: Uint8Array, out: Uint8Array): void {
    const n = data.length;
    const total = paddedLength(n);
    if (shared.scratch.length < total) {
      shared.scratch = new Uint8Array(total);
      shared.view = new DataView(shared.scratch.buffer);
    }
    const s = shared.scratch;
    // Byte loops: the messages are a few dozen bytes, shorter than a builtin call's cost.
    for (let i = 0; i < n; i++) s[i] = data[i] as number;
    s[n] = 0x80;
    for (let i = n + 1; i < total - 8; i++) s[i] = 0;
    // The inner hash has already consumed the key's block: its length counts it.
    const bits = (BLOCK + n) * 8;
    const view = shared.view;
    view.setUint32(total - 8, Math.floor(bits / 0x100000000));
    view.setUint32(total - 4, bits >>> 0);
    const core = shared.core;
    const st = this.#states;
    core.loadAt(st, 0);
    for (let at = 0; at < total; at += BLOCK) core.compress(view, at);
    core.write(shared.finalView, 0);
    core.loadAt(st, 8);
    core.compress(shared.finalView, 0);
    core.writeBytes(out, 0);
  }

  wipe(): void {
    this.#states.fill(0);
    shared.core.clear();
  }
}

/** HMAC-MD5 through noble's generic keyed `hmac` state, cloned per MAC. */
class Md5Hmac {
  // deno-lint-ignore no-explicit-any
  #base: _HMAC<any>;
  // deno-lint-ignore no-explicit-any
  #work: _HMAC<any>;

  constructor(key: Uint8Array) {
    this.#base = hmac.create(md5, key);
    this.#work = this.#base.clone();
  }

  macInto(data: Uint8Array, out: Uint8Array): void {
    const w = this.#base._cloneInto(this.#work);
    this.#work = w;
    w.update(data);
    w.digestInto(out);
  }

  wipe(): void {
    this.#base.destroy();
    this.#work.destroy();
  }
}

const OUTPUT_LENGTH: Readonly<Record<HmacHash, number>> = { sha256: 32, md5: 16 };

/**
 * A keyed HMAC. The key bytes are not kept (only the derived hash states are); the caller
 * wipes its own copy. Keys longer than the 64-byte block are refused (kad's are 8 to 64
 * bytes, §2.2, §2.3.2).
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
  #impl: Sha256Hmac | Md5Hmac | undefined;

  constructor(hash: HmacHash, key: Uint8Array) {
    this.hash = hash;
    this.outputLength = OUTPUT_LENGTH[hash];
    this.#impl = hash === "sha256" ? new Sha256Hmac(key) : new Md5Hmac(key);
  }

  /** Whether `wipe()` was called. */
  get wiped(): boolean {
    return this.#impl === undefined;
  }

  /**
   * The MAC of `data` into the first `outputLength` bytes of `out` (which must be at least
   * that long). Throws an Error after `wipe()`.
   */
  macInto(data: Uint8Array, out: Uint8Array): void {
    const impl = this.#impl;
    if (impl === undefined) throw new Error("This HMAC key was wiped");
    if (out.length < this.outputLength) {
      throw new RangeError(
        `The MAC needs ${this.outputLength} bytes, the buffer has ${out.length}`,
      );
    }
    impl.macInto(data, out);
  }

  /** Zeroes the key-derived hash states; the object cannot be used afterwards. */
  wipe(): void {
    this.#impl?.wipe();
    this.#impl = undefined;
  }

  toJSON(): { hash: HmacHash } {
    return { hash: this.hash };
  }

  [Symbol.for("Deno.customInspect")](): string {
    return `KeyedHmac(${this.hash}${this.wiped ? ", wiped" : ""})`;
  }
}
