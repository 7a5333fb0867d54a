/**
 * 64-bit sequence numbers of the auth_hmac trailer (spec/vrrp.md §2.3.3, §2.3.6, §2.3.7):
 * `sec << 32 | subsec << 16 | ctr`, kept as two unsigned 32-bit halves (plain numbers; they
 * are cheaper than BigInt on the per-advert path, bench/auth_hmac.ts measures both), with
 * RFC 1982 serial comparison on 64 bits (`(int64)(a − b) > 0`), the successor with carry,
 * and the sequence a realtime clock gives. Pure arithmetic.
 */

/** A 64-bit sequence: `hi` = seconds (mod 2^32), `lo` = subsec << 16 | ctr. Both uint32. */
export interface Serial64 {
  readonly hi: number;
  readonly lo: number;
}

/**
 * RFC 1982 on 64 bits: true when `a` is after `b`, i.e. `(int64)(a − b) > 0`.
 *
 * @example
 * ```ts
 * import { serialAfter } from "./serial64.ts";
 * serialAfter({ hi: 0, lo: 0 }, { hi: 0xffffffff, lo: 0xffffffff }); // true (wrapped)
 * ```
 */
export function serialAfter(a: Serial64, b: Serial64): boolean {
  return serialAfterParts(a.hi, a.lo, b.hi, b.lo);
}

/** `serialAfter` on the halves, for the per-advert paths that keep no objects. */
export function serialAfterParts(aHi: number, aLo: number, bHi: number, bLo: number): boolean {
  const borrow = aLo < bLo ? 1 : 0;
  const hi = (aHi - bHi - borrow) | 0;
  return hi > 0 || (hi === 0 && aLo !== bLo);
}

/** `s + 1` on 64 bits (the counter carries into subsec and sec). */
export function serialNext(s: Serial64): Serial64 {
  return s.lo === 0xffffffff ? { hi: (s.hi + 1) >>> 0, lo: 0 } : { hi: s.hi, lo: s.lo + 1 };
}

/**
 * The sequence of a realtime instant (§2.3.6): seconds since the epoch mod 2^32, the
 * fraction of the second in 1/65536 s units, counter 0. `realtimeUs` is µs since the epoch.
 *
 * @example
 * ```ts
 * import { clockSerial } from "./serial64.ts";
 * clockSerial(1_744_830_464_500_000); // { hi: 0x68000000, lo: 0x80000000 }
 * ```
 */
export function clockSerial(realtimeUs: number): Serial64 {
  return { hi: clockHi(realtimeUs), lo: clockLo(realtimeUs) };
}

/** The high half of `clockSerial`: seconds since the epoch mod 2^32. */
export function clockHi(realtimeUs: number): number {
  return Math.floor(realtimeUs / 1e6) >>> 0;
}

/** The low half of `clockSerial`: 1/65536 s units of the second, counter 0. */
export function clockLo(realtimeUs: number): number {
  const frac = realtimeUs - Math.floor(realtimeUs / 1e6) * 1e6;
  return (Math.min(Math.floor((frac * 65536) / 1e6), 0xffff) << 16) >>> 0;
}

/** Signed 32-bit difference `a − b` of two second counts taken mod 2^32 (§2.3.7). */
export function secondsSkew(a: number, b: number): number {
  return (a - b) | 0;
}

/** A big-endian uint32 at `offset` (one half of a sequence). */
export function writeU32(out: Uint8Array, offset: number, v: number): void {
  out[offset] = v >>> 24;
  out[offset + 1] = (v >>> 16) & 0xff;
  out[offset + 2] = (v >>> 8) & 0xff;
  out[offset + 3] = v & 0xff;
}

/** The big-endian uint32 at `offset` (one half of a sequence). */
export function readU32(b: Uint8Array, offset: number): number {
  return (((b[offset] as number) << 24) | ((b[offset + 1] as number) << 16) |
    ((b[offset + 2] as number) << 8) | (b[offset + 3] as number)) >>> 0;
}

/** A sequence as 16 hex digits (for logs). */
export function serialHex(s: Serial64): string {
  return s.hi.toString(16).padStart(8, "0") + s.lo.toString(16).padStart(8, "0");
}
