/**
 * The Internet checksum (RFC 1071): the one's-complement sum of big-endian 16-bit words,
 * folded and complemented. Used for VRRP adverts (lib/vrrp/checksum.ts), IPv4 headers and
 * GRE (lib/net/gre_keepalive.ts). Pure arithmetic over Uint8Array ranges.
 */

/**
 * Add `bytes[start, end)` to a running one's-complement sum as big-endian 16-bit words, an odd
 * last byte padded with zero (RFC 1071). The sum is left unfolded; `start` must be even
 * relative to the start of the checksummed data.
 *
 * @example
 * ```ts
 * import { onesComplementSum } from "./inet_checksum.ts";
 * onesComplementSum(new Uint8Array([0x12, 0x34, 0x56]), 0, 3); // 0x1234 + 0x5600
 * ```
 */
export function onesComplementSum(bytes: Uint8Array, start: number, end: number, acc = 0): number {
  let sum = acc;
  let i = start;
  for (; i + 1 < end; i += 2) sum += ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
  if (i < end) sum += (bytes[i] as number) << 8;
  return sum;
}

/** Fold a running sum to 16 bits and complement it: the value that goes on the wire. */
export function finishChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/**
 * The Internet checksum of `bytes[start, end)`. Over data that already holds a correct
 * checksum the result is 0, which is how receivers verify.
 *
 * @example
 * ```ts
 * import { internetChecksum } from "./inet_checksum.ts";
 * internetChecksum(new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])); // 0x220d
 * ```
 */
export function internetChecksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return finishChecksum(onesComplementSum(bytes, start, end));
}
