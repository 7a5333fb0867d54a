/**
 * The checksums of VRRP adverts (spec/vrrp.md §1.8): the VRRPv2 checksum, the VRRPv3 pseudo-header checksums for IPv4 and IPv6, the RFC 9568
 * "`v3_checksum_as_v2`" form, and which forms a receiver accepts. Pure arithmetic over
 * Uint8Array ranges; it must not know where fields sit in a packet beyond the checksum field
 * at offsets 6–7 of the VRRP message (layout belongs to lib/vrrp/packet.ts) nor decide what
 * a failure means for an instance (lib/vrrp/receive.ts).
 */

import { finishChecksum, onesComplementSum } from "../net/inet_checksum.ts";

/** IP protocol number of VRRP, the next-header byte of both pseudo-headers (§1.1). */
const PROTO_VRRP = 112;

/** Offset of the 16-bit checksum in a VRRP message (§1.2, §1.3). */
const CHECKSUM_OFFSET = 6;

/** Sum of a VRRP message with its checksum field taken as zero. */
function messageSum(message: Uint8Array, acc: number): number {
  const s = onesComplementSum(message, 0, Math.min(CHECKSUM_OFFSET, message.length), acc);
  return onesComplementSum(message, CHECKSUM_OFFSET + 2, message.length, s);
}

function ipv4PseudoSum(source: Uint8Array, destination: Uint8Array, length: number): number {
  let s = onesComplementSum(source, 0, 4);
  s = onesComplementSum(destination, 0, 4, s);
  return s + PROTO_VRRP + length;
}

function ipv6PseudoSum(source: Uint8Array, destination: Uint8Array, length: number): number {
  let s = onesComplementSum(source, 0, 16);
  s = onesComplementSum(destination, 0, 16, s);
  // RFC 8200 §8.1: 32-bit upper-layer length, three zero bytes, next header.
  return s + Math.floor(length / 0x10000) + (length & 0xffff) + PROTO_VRRP;
}

/**
 * The VRRPv2 checksum: the message alone (header, addresses and, for IPv4, the 8 auth-data
 * bytes; never an auth_hmac trailer), its checksum field taken as zero. It is also the
 * VRRPv3/IPv4 checksum with `v3_checksum_as_v2` (RFC 9568 wording).
 *
 * @example
 * ```ts
 * import { vrrpV2Checksum } from "./checksum.ts";
 * const msg = new Uint8Array([0x31, 0x33, 0xc8, 0x01, 0x00, 0x64, 0, 0, 192, 0, 2, 100]);
 * vrrpV2Checksum(msg); // 0x4402 (spec/vrrp.md §2.3.13 vector A)
 * ```
 */
export function vrrpV2Checksum(message: Uint8Array): number {
  return finishChecksum(messageSum(message, 0));
}

/**
 * keepalived's default VRRPv3/IPv4 checksum: the message (no trailer) behind the IPv4
 * pseudo-header source, destination, zero, protocol 112 and message length. `destination` is
 * the actual IP destination (the group, or the unicast peer of this copy).
 *
 * @example
 * ```ts
 * import { vrrpV3IPv4Checksum } from "./checksum.ts";
 * const msg = new Uint8Array([0x31, 0x33, 0xc8, 0x01, 0x00, 0x64, 0, 0, 10, 77, 0, 100]);
 * vrrpV3IPv4Checksum(msg, new Uint8Array([10, 77, 0, 1]), new Uint8Array([224, 0, 0, 18]));
 * // 0x10d9 (spec/vrrp.md §1.8 worked example)
 * ```
 */
export function vrrpV3IPv4Checksum(
  message: Uint8Array,
  source: Uint8Array,
  destination: Uint8Array,
): number {
  return finishChecksum(messageSum(message, ipv4PseudoSum(source, destination, message.length)));
}

/**
 * The IPv6 checksum (VRRPv2 or v3): the whole payload, trailer included, behind the RFC 8200
 * pseudo-header. The kernel computes and verifies it (`IPV6_CHECKSUM` offset 6); this is
 * for tests, captures and tools.
 */
export function vrrpIPv6Checksum(
  payload: Uint8Array,
  source: Uint8Array,
  destination: Uint8Array,
): number {
  return finishChecksum(messageSum(payload, ipv6PseudoSum(source, destination, payload.length)));
}

/** The checksum forms a received IPv4 advert can match. */
export type IPv4ChecksumForm =
  /** VRRPv2: message only. */
  | "v2"
  /** VRRPv3 with the IPv4 pseudo-header (keepalived's default). */
  | "v3_pseudo_header"
  /** VRRPv3 over the message only (RFC 9568, `v3_checksum_as_v2`). */
  | "v3_as_v2";

/** How an IPv4 advert's checksum is computed or checked. */
export interface IPv4ChecksumContext {
  readonly version: number;
  readonly source: Uint8Array;
  /** Pseudo-header destination: the IP destination (or the group for pre-1.3.6 unicast). */
  readonly destination: Uint8Array;
  /** `v3_checksum_as_v2`: send the RFC 9568 form, accept both VRRPv3 forms. */
  readonly v3ChecksumAsV2: boolean;
}

/** The checksum a sender puts in an IPv4 advert (§1.8 table). */
export function ipv4AdvertChecksum(message: Uint8Array, ctx: IPv4ChecksumContext): number {
  if (ctx.version !== 3 || ctx.v3ChecksumAsV2) return vrrpV2Checksum(message);
  return vrrpV3IPv4Checksum(message, ctx.source, ctx.destination);
}

/**
 * Which accepted form a received IPv4 advert's checksum matches, or undefined (spec/vrrp.md
 * §1.8): VRRPv2 accepts only "v2"; VRRPv3 accepts only the pseudo-header form, unless
 * `v3_checksum_as_v2` is set, when both VRRPv3 forms are accepted so keepalived senders of
 * either setting interoperate. keepalived with `v3_checksum_as_v2` accepts any checksum at
 * all; kad still rejects a checksum matching neither form (docs/vrrp.md).
 *
 * @example
 * ```ts
 * import { matchIPv4Checksum } from "./checksum.ts";
 * const msg = new Uint8Array([0x31, 0x33, 0xc8, 0x01, 0x00, 0x64, 0x10, 0xd9, 10, 77, 0, 100]);
 * const ctx = {
 *   version: 3,
 *   source: new Uint8Array([10, 77, 0, 1]),
 *   destination: new Uint8Array([224, 0, 0, 18]),
 *   v3ChecksumAsV2: false,
 * };
 * matchIPv4Checksum(msg, ctx); // "v3_pseudo_header"
 * ```
 */
export function matchIPv4Checksum(
  message: Uint8Array,
  ctx: IPv4ChecksumContext,
): IPv4ChecksumForm | undefined {
  // A correct checksum makes the sum over everything, checksum included, fold to 0xffff.
  const plainOk = finishChecksum(onesComplementSum(message, 0, message.length)) === 0;
  if (ctx.version !== 3) return plainOk ? "v2" : undefined;
  if (ctx.v3ChecksumAsV2 && plainOk) return "v3_as_v2";
  const pseudo = ipv4PseudoSum(ctx.source, ctx.destination, message.length);
  if (finishChecksum(onesComplementSum(message, 0, message.length, pseudo)) === 0) {
    return "v3_pseudo_header";
  }
  return undefined;
}

/** Write `value` into the checksum field (offsets 6–7) of a VRRP message. */
export function writeChecksum(message: Uint8Array, value: number): void {
  message[CHECKSUM_OFFSET] = value >> 8;
  message[CHECKSUM_OFFSET + 1] = value & 0xff;
}
