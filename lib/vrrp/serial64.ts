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

/** The zero sequence: `send_seq` before the first advert (§2.3.6). */
export const SERIAL_ZERO: Serial64 = Object.freeze({ hi: 0, lo: 0 });

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
  const borrow = a.lo < b.lo ? 1 : 0;
  const hi = (a.hi - b.hi - borrow) | 0;
  return hi > 0 || (hi === 0 && a.lo !== b.lo);
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
  const sec = Math.floor(realtimeUs / 1e6);
  const frac = realtimeUs - sec * 1e6;
  const subsec = Math.min(Math.floor((frac * 65536) / 1e6), 0xffff);
  return { hi: sec >>> 0, lo: (subsec << 16) >>> 0 };
}

/** Signed 32-bit difference `a − b` of two second counts taken mod 2^32 (§2.3.7). */
export function secondsSkew(a: number, b: number): number {
  return (a - b) | 0;
}

/** The 8 bytes of a sequence, big-endian, written at `offset`. */
export function writeSerial(out: Uint8Array, offset: number, s: Serial64): void {
  out[offset] = s.hi >>> 24;
  out[offset + 1] = (s.hi >>> 16) & 0xff;
  out[offset + 2] = (s.hi >>> 8) & 0xff;
  out[offset + 3] = s.hi & 0xff;
  out[offset + 4] = s.lo >>> 24;
  out[offset + 5] = (s.lo >>> 16) & 0xff;
  out[offset + 6] = (s.lo >>> 8) & 0xff;
  out[offset + 7] = s.lo & 0xff;
}

/** The big-endian sequence at `offset`. */
export function readSerial(b: Uint8Array, offset: number): Serial64 {
  const u32 = (i: number) =>
    (((b[i] as number) << 24) | ((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) |
      (b[i + 3] as number)) >>> 0;
  return { hi: u32(offset), lo: u32(offset + 4) };
}

/** A sequence as 16 hex digits (for logs). */
export function serialHex(s: Serial64): string {
  return s.hi.toString(16).padStart(8, "0") + s.lo.toString(16).padStart(8, "0");
}
