/**
 * The VRRP advertisement on the wire (spec/vrrp.md §1.1–1.4, §1.9–1.10, §2.1): protocol
 * constants, encoding of the VRRPv2/v3 message for IPv4 and IPv6 (legacy PASS auth data
 * included), the IPv4 header keepalived builds for IP_HDRINCL sockets, and framing of a
 * received IPv4 datagram or IPv6 payload into a DecodedAdvert. Pure: no sockets, clocks or
 * logging. Checksum arithmetic lives in lib/vrrp/checksum.ts; what a received advert must
 * satisfy (and what failing means) lives in lib/vrrp/receive.ts. Authentication schemes
 * (IPsec AH, auth_hmac) only get their bytes located here: the AH header is parsed and a
 * trailer of the length the caller expects is handed over as a view.
 */
import type { Family } from "../net/ipaddr.ts";
import { internetChecksum } from "../net/inet_checksum.ts";
import { ipv4AdvertChecksum, writeChecksum } from "./checksum.ts";
import { US_PER_CS, US_PER_S, V2_MAX_ADVERT_S, V3_MAX_ADVERT_CS } from "./timers.ts";

export type { Family };

// ---- constants (§1.1) ----

/** IP protocol number of VRRP. */
export const IPPROTO_VRRP = 112;
/** IP protocol number of IPsec AH, carried by legacy `auth_type AH` adverts (§2.2). */
export const IPPROTO_AH = 51;
/** Default IPv4 group (global `vrrp_mcast_group4`). */
export const VRRP_GROUP4 = "224.0.0.18";
/** Default IPv6 group (global `vrrp_mcast_group6`). */
export const VRRP_GROUP6 = "ff02::12";
/** TTL / hop limit of multicast adverts, required on multicast receive (§1.7). */
export const VRRP_TTL = 255;
/** The only packet type: advertisement. */
export const VRRP_TYPE_ADVERT = 1;
/** Priority of the address owner. */
export const PRIORITY_OWNER = 255;
/** Priority when none is configured (and the instance is not `state MASTER`). */
export const PRIORITY_DEFAULT = 100;
/** Priority sent when resigning mastership. */
export const PRIORITY_STOP = 0;
/** The count field is 8 bits. */
export const MAX_ADDRESSES = 255;
/** Legacy VRRPv2 auth type: none. */
export const AUTH_NONE = 0;
/** Legacy VRRPv2 auth type: simple password (`auth_type PASS`, §2.1). */
export const AUTH_PASS = 1;
/** Legacy VRRPv2 auth type: IPsec AH (`auth_type AH`, §2.2). */
export const AUTH_AH = 2;
/** Legacy VRRPv2 auth data after the addresses (IPv4 only). */
export const AUTH_DATA_LENGTH = 8;
/** Fixed VRRP header: version/type, VRID, priority, count, auth type/interval, checksum. */
export const VRRP_HEADER_LENGTH = 8;
/** The IPv4 header keepalived sends (IHL 5, no options). */
export const IPV4_HEADER_LENGTH = 20;
/** The IPv6 header (built by the kernel). */
export const IPV6_HEADER_LENGTH = 40;
/** The AH header keepalived sends: 12 fixed bytes and a 96-bit ICV (§2.2). */
export const AH_HEADER_LENGTH = 24;
/** Ethernet header, counted in keepalived's VIP capacity formula (§1.10). */
export const ETHERNET_HEADER_LENGTH = 14;
/** TOS / traffic class of adverts: precedence "internetwork control" (DSCP CS6). */
export const VRRP_TOS = 0xc0;

/** Address length for a family. */
export function addressLength(family: Family): 4 | 16 {
  return family === 4 ? 4 : 16;
}

/**
 * The VRRP multicast group of a family as bytes (a new array each call).
 *
 * @example
 * ```ts
 * import { vrrpGroup } from "./packet.ts";
 * vrrpGroup(4); // Uint8Array [224, 0, 0, 18]
 * ```
 */
export function vrrpGroup(family: Family): Uint8Array {
  if (family === 4) return new Uint8Array([224, 0, 0, 18]);
  const g = new Uint8Array(16);
  g[0] = 0xff;
  g[1] = 0x02;
  g[15] = 0x12;
  return g;
}

/** The virtual MAC of a VRID (RFC 5798 §7.3): 00:00:5e:00:01:VRID, or 00:00:5e:00:02:VRID. */
export function vmacAddress(family: Family, vrid: number): Uint8Array {
  checkByte("VRID", vrid, 1, 255);
  return new Uint8Array([0x00, 0x00, 0x5e, 0x00, family === 4 ? 0x01 : 0x02, vrid]);
}

// ---- advert interval (§1.9) ----

/**
 * An interval in µs as the wire carries it: whole seconds for VRRPv2, centiseconds for
 * VRRPv3 (rounded to the nearest unit). The configuration has already put the value on the
 * version's grid and in range; an out-of-range result is a RangeError.
 *
 * @example
 * ```ts
 * import { advertIntervalToWire } from "./packet.ts";
 * advertIntervalToWire(3, 1_000_000); // 100
 * ```
 */
export function advertIntervalToWire(version: 2 | 3, us: number): number {
  const v = version === 2 ? Math.round(us / US_PER_S) : Math.round(us / US_PER_CS);
  const max = version === 2 ? V2_MAX_ADVERT_S : V3_MAX_ADVERT_CS;
  if (!(v >= 1 && v <= max)) {
    const range = version === 2 ? "1 to 255 s" : "0.01 to 40.95 s";
    throw new RangeError(
      `Advert interval '${us / 1_000_000}' s is out of range for VRRPv${version} (${range})`,
    );
  }
  return v;
}

/** A wire interval (seconds for VRRPv2, centiseconds otherwise) in µs. */
export function advertIntervalFromWire(version: number, value: number): number {
  return version === 2 ? value * US_PER_S : value * US_PER_CS;
}

// ---- legacy authentication data (§2.1) ----

/**
 * The 8 auth-data bytes of `auth_type PASS`: the password's UTF-8 bytes, cut to 8, NUL padded.
 *
 * @example
 * ```ts
 * import { authPassBytes } from "./packet.ts";
 * authPassBytes("secret"); // 73 65 63 72 65 74 00 00
 * ```
 */
export function authPassBytes(password: string): Uint8Array {
  const out = new Uint8Array(AUTH_DATA_LENGTH);
  const { written } = new TextEncoder().encodeInto(password, out);
  out.fill(0, written);
  return out;
}

// ---- sizes (§1.2, §1.3, §1.10) ----

/** What goes into an advertisement. */
export interface AdvertSpec {
  /** 2 or 3. */
  readonly version: 2 | 3;
  /** Family of the addresses and of the transport. */
  readonly family: Family;
  /** Virtual router id, 1–255. */
  readonly vrid: number;
  /** Effective priority, 0 (resigning) to 255 (owner). */
  readonly priority: number;
  /** Wire units: whole seconds (1–255) for VRRPv2, centiseconds (1–4095) for VRRPv3. */
  readonly advertInterval: number;
  /** The VIPs, 4 or 16 bytes each, in configuration order (never the eVIPs). */
  readonly addresses: readonly Uint8Array[];
  /** Legacy auth type (VRRPv2 over IPv4 only); default AUTH_NONE. */
  readonly authType?: 0 | 1 | 2;
  /** PASS: the password bytes (at most 8, NUL padded on the wire); see authPassBytes. */
  readonly authData?: Uint8Array;
}

/** True when the message carries the 8 auth-data bytes: VRRPv2 over IPv4 (§1.2). */
export function hasAuthData(version: number, family: Family): boolean {
  return version === 2 && family === 4;
}

/**
 * Bytes of the VRRP message for `count` addresses: header, addresses and (VRRPv2/IPv4) the
 * auth data. An auth_hmac trailer comes on top.
 */
export function advertLength(version: number, family: Family, count: number): number {
  return VRRP_HEADER_LENGTH + count * addressLength(family) +
    (hasAuthData(version, family) ? AUTH_DATA_LENGTH : 0);
}

/** What limits the number of VIPs an advert can carry (§1.10). */
export interface CapacitySpec {
  /** Interface MTU (or the daemon's default when there is no interface). */
  readonly mtu: number;
  readonly family: Family;
  readonly version: 2 | 3;
  /** Legacy IPsec AH in use. */
  readonly ah?: boolean;
  /** Bytes of a trailer the instance sends (28 when auth_hmac signs). */
  readonly trailerLength?: number;
}

/**
 * How many VIPs fit in one advert, keepalived's formula (§1.10):
 * `(MTU − 14 − IP header − 8 [− 8 v2/IPv4 auth] [− 24 AH] [− trailer]) / address size`,
 * at most 255. Extra VIPs become eVIPs. The Ethernet 14 is subtracted from the MTU as
 * keepalived does, so the same VIPs are advertised.
 *
 * @example
 * ```ts
 * import { maxAdvertAddresses } from "./packet.ts";
 * maxAdvertAddresses({ mtu: 1500, family: 6, version: 3 }); // 89
 * ```
 */
export function maxAdvertAddresses(spec: CapacitySpec): number {
  const ip = spec.family === 4 ? IPV4_HEADER_LENGTH : IPV6_HEADER_LENGTH;
  const room = spec.mtu - ETHERNET_HEADER_LENGTH - ip - advertLength(spec.version, spec.family, 0) -
    (spec.ah ? AH_HEADER_LENGTH : 0) - (spec.trailerLength ?? 0);
  if (room <= 0) return 0;
  return Math.min(MAX_ADDRESSES, Math.floor(room / addressLength(spec.family)));
}

// ---- encoding ----

/** Addresses that make up the VRRPv3/IPv4 pseudo-header, and the checksum style. */
export interface ChecksumOptions {
  /** The advert's source address. */
  readonly source?: Uint8Array;
  /** This copy's IP destination: the group, or one unicast peer. */
  readonly destination?: Uint8Array;
  /** `v3_checksum_as_v2`: VRRPv3/IPv4 checksum over the message only (RFC 9568). */
  readonly v3ChecksumAsV2?: boolean;
}

function checkByte(what: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${what} '${v}' is out of range (${min} to ${max})`);
  }
}

/** Stands in for addresses the message-only checksum forms do not read. */
const NO_ADDRESS = new Uint8Array(4);

/**
 * Fill in the checksum of an encoded message (§1.8). VRRPv2/IPv4 and VRRPv3/IPv4 with
 * `v3ChecksumAsV2` need no addresses; VRRPv3/IPv4 needs source and destination, so the
 * daemon calls this again per unicast peer. IPv6 checksums are left 0 for the kernel
 * (`IPV6_CHECKSUM` offset 6), which covers any trailer appended later.
 */
export function setAdvertChecksum(
  message: Uint8Array,
  family: Family,
  opts: ChecksumOptions = {},
): void {
  writeChecksum(message, 0);
  if (family === 6) return;
  const version = (message[0] as number) >> 4;
  const asV2 = opts.v3ChecksumAsV2 ?? false;
  if (version === 3 && !asV2 && (opts.source === undefined || opts.destination === undefined)) {
    throw new TypeError(
      "A VRRPv3 IPv4 checksum needs the source and destination addresses; pass both or set v3ChecksumAsV2",
    );
  }
  writeChecksum(
    message,
    ipv4AdvertChecksum(message, {
      version,
      source: opts.source ?? NO_ADDRESS,
      destination: opts.destination ?? NO_ADDRESS,
      v3ChecksumAsV2: asV2,
    }),
  );
}

/**
 * Encode the VRRP message into `out` at `offset` and return its length. No allocation
 * besides the checksum's temporary view; the daemon reuses one buffer per instance.
 * Throws RangeError for a value the wire cannot carry.
 */
export function encodeAdvertInto(
  spec: AdvertSpec,
  out: Uint8Array,
  offset: number,
  opts: ChecksumOptions = {},
): number {
  checkByte("VRID", spec.vrid, 1, 255);
  checkByte("Priority", spec.priority, 0, 255);
  const n = spec.addresses.length;
  if (n > MAX_ADDRESSES) {
    throw new RangeError(
      `Address count '${n}' is too large for one advert (at most ${MAX_ADDRESSES}); move the rest to virtual_ipaddress_excluded`,
    );
  }
  const alen = addressLength(spec.family);
  const len = advertLength(spec.version, spec.family, n);
  if (offset < 0 || offset + len > out.length) {
    throw new RangeError(
      `Buffer of ${out.length} bytes cannot hold a ${len}-byte advert at offset ${offset}`,
    );
  }
  const authType = spec.authType ?? AUTH_NONE;
  if (authType !== AUTH_NONE && !hasAuthData(spec.version, spec.family)) {
    throw new RangeError(
      `Auth type '${authType}' needs VRRPv2 over IPv4; VRRPv${spec.version}/IPv${spec.family} has no authentication field`,
    );
  }
  out[offset] = (spec.version << 4) | VRRP_TYPE_ADVERT;
  out[offset + 1] = spec.vrid;
  out[offset + 2] = spec.priority;
  out[offset + 3] = n;
  if (spec.version === 2) {
    checkByte("VRRPv2 advert interval", spec.advertInterval, 1, V2_MAX_ADVERT_S);
    out[offset + 4] = authType;
    out[offset + 5] = spec.advertInterval;
  } else {
    checkByte("VRRPv3 advert interval (centiseconds)", spec.advertInterval, 1, V3_MAX_ADVERT_CS);
    // 4 reserved bits sent as zero, then 12 bits of centiseconds.
    out[offset + 4] = spec.advertInterval >> 8;
    out[offset + 5] = spec.advertInterval & 0xff;
  }
  let p = offset + VRRP_HEADER_LENGTH;
  for (let i = 0; i < n; i++) {
    const a = spec.addresses[i] as Uint8Array;
    if (a.length !== alen) {
      throw new RangeError(
        `Address ${
          i + 1
        } has ${a.length} bytes; IPv${spec.family} adverts carry ${alen}-byte addresses`,
      );
    }
    out.set(a, p);
    p += alen;
  }
  if (hasAuthData(spec.version, spec.family)) {
    out.fill(0, p, p + AUTH_DATA_LENGTH);
    if (authType === AUTH_PASS && spec.authData !== undefined) {
      if (spec.authData.length > AUTH_DATA_LENGTH) {
        throw new RangeError(
          `Auth data of ${spec.authData.length} bytes is too long (at most ${AUTH_DATA_LENGTH})`,
        );
      }
      out.set(spec.authData, p);
    }
  }
  setAdvertChecksum(out.subarray(offset, offset + len), spec.family, opts);
  return len;
}

/**
 * Encode a VRRP message (no IP header). For VRRPv3/IPv4 give `source` and `destination`
 * (or `v3ChecksumAsV2`); IPv6 checksums are left for the kernel.
 *
 * @example
 * ```ts
 * import { encodeAdvert } from "./packet.ts";
 * const msg = encodeAdvert(
 *   { version: 2, family: 4, vrid: 51, priority: 100, advertInterval: 1,
 *     addresses: [new Uint8Array([192, 0, 2, 1])] },
 * );
 * msg.length; // 20: header 8, one address 4, auth data 8
 * ```
 */
export function encodeAdvert(spec: AdvertSpec, opts: ChecksumOptions = {}): Uint8Array {
  const out = new Uint8Array(advertLength(spec.version, spec.family, spec.addresses.length));
  encodeAdvertInto(spec, out, 0, opts);
  return out;
}

/** The next IPv4 identification: incremented before each advert, skipping 0 (§1.4). */
export function nextIpId(previous: number): number {
  return (previous % 0xffff) + 1;
}

/** The IPv4 header of an advert. */
export interface IPv4HeaderSpec {
  readonly source: Uint8Array;
  readonly destination: Uint8Array;
  /** Bytes after the IP header: AH (if any), VRRP message, trailer (if any). */
  readonly payloadLength: number;
  /** Identification (see nextIpId); shared by all unicast copies of one advert. */
  readonly id: number;
  /** Default 255; `unicast_ttl` for unicast copies when configured. */
  readonly ttl?: number;
  /** Default IPPROTO_VRRP; IPPROTO_AH with legacy AH. */
  readonly protocol?: number;
  /** Compute the header checksum. keepalived leaves it 0 for the kernel to fill (IP_HDRINCL). */
  readonly checksum?: boolean;
}

/**
 * The 20-byte IPv4 header keepalived sends on its IP_HDRINCL socket (§1.4): version 4, IHL 5,
 * TOS 0xC0, total length, identification, no flags (DF clear), TTL, protocol, checksum 0
 * (the kernel fills it), source and destination. Written into `out` at `offset` when given.
 *
 * @example
 * ```ts
 * import { buildIPv4Header } from "./packet.ts";
 * const h = buildIPv4Header({
 *   source: new Uint8Array([10, 0, 0, 1]),
 *   destination: new Uint8Array([224, 0, 0, 18]),
 *   payloadLength: 12,
 *   id: 1,
 * });
 * h[8]; // 255 (TTL)
 * ```
 */
export function buildIPv4Header(
  spec: IPv4HeaderSpec,
  out: Uint8Array = new Uint8Array(IPV4_HEADER_LENGTH),
  offset = 0,
): Uint8Array {
  const total = IPV4_HEADER_LENGTH + spec.payloadLength;
  checkByte("IPv4 total length", total, IPV4_HEADER_LENGTH, 0xffff);
  checkByte("IPv4 identification", spec.id, 0, 0xffff);
  const ttl = spec.ttl ?? VRRP_TTL;
  checkByte("TTL", ttl, 0, 255);
  const h = out.subarray(offset, offset + IPV4_HEADER_LENGTH);
  if (h.length !== IPV4_HEADER_LENGTH) {
    throw new RangeError(`Buffer of ${out.length} bytes cannot hold an IPv4 header at ${offset}`);
  }
  h[0] = 0x45;
  h[1] = VRRP_TOS;
  h[2] = total >> 8;
  h[3] = total & 0xff;
  h[4] = spec.id >> 8;
  h[5] = spec.id & 0xff;
  h[6] = 0;
  h[7] = 0;
  h[8] = ttl;
  h[9] = spec.protocol ?? IPPROTO_VRRP;
  h[10] = 0;
  h[11] = 0;
  h.set(spec.source.subarray(0, 4), 12);
  h.set(spec.destination.subarray(0, 4), 16);
  if (spec.checksum) {
    const c = internetChecksum(h);
    h[10] = c >> 8;
    h[11] = c & 0xff;
  }
  return h;
}

/** Addresses and options of a whole IPv4 datagram (see encodeIPv4Datagram). */
export interface IPv4DatagramOptions {
  readonly source: Uint8Array;
  readonly destination: Uint8Array;
  readonly id: number;
  readonly ttl?: number;
  readonly v3ChecksumAsV2?: boolean;
  /** Zero bytes reserved after the message for a trailer filled in later (auth_hmac). */
  readonly trailerLength?: number;
  /** Compute the IPv4 header checksum (the kernel does it on a real socket). */
  readonly ipChecksum?: boolean;
}

/**
 * A complete IPv4 datagram, IP header + VRRP message (+ reserved trailer bytes), as written
 * to the IP_HDRINCL socket. Legacy AH datagrams are composed by the AH module from
 * buildIPv4Header and encodeAdvertInto.
 */
export function encodeIPv4Datagram(spec: AdvertSpec, opts: IPv4DatagramOptions): Uint8Array {
  if (spec.family !== 4) {
    throw new RangeError(`An IPv4 datagram cannot carry an IPv${spec.family} advert`);
  }
  const len = advertLength(spec.version, 4, spec.addresses.length);
  const trailer = opts.trailerLength ?? 0;
  const out = new Uint8Array(IPV4_HEADER_LENGTH + len + trailer);
  const hdr: IPv4HeaderSpec = {
    source: opts.source,
    destination: opts.destination,
    payloadLength: len + trailer,
    id: opts.id,
    checksum: opts.ipChecksum ?? false,
    ...(opts.ttl !== undefined ? { ttl: opts.ttl } : {}),
  };
  buildIPv4Header(hdr, out, 0);
  encodeAdvertInto(spec, out, IPV4_HEADER_LENGTH, {
    source: opts.source,
    destination: opts.destination,
    v3ChecksumAsV2: opts.v3ChecksumAsV2 ?? false,
  });
  return out;
}

// ---- decoding ----

/** An IPv4 datagram as read from a raw socket: IP header, [AH,] VRRP message [, trailer]. */
export interface ReceivedIPv4 {
  readonly family: 4;
  readonly datagram: Uint8Array;
}

/** An IPv6 payload as a raw IPv6 socket delivers it, with its ancillary data. */
export interface ReceivedIPv6 {
  readonly family: 6;
  /** The VRRP message and any trailer (the kernel strips the IPv6 header). */
  readonly payload: Uint8Array;
  readonly source: Uint8Array;
  /** From IPV6_PKTINFO. */
  readonly destination: Uint8Array;
  /** From IPV6_HOPLIMIT; undefined when the kernel gave none (checks then skip it, §1.7). */
  readonly hopLimit?: number | undefined;
}

/** A received packet of either family. */
export type ReceivedPacket = ReceivedIPv4 | ReceivedIPv6;

/** Fields of a received IPv4 header. */
export interface IPv4Info {
  /** IHL × 4. */
  readonly headerLength: number;
  readonly tos: number;
  readonly totalLength: number;
  readonly id: number;
  /** Flags and fragment offset, as one 16-bit field. */
  readonly flagsFragment: number;
  readonly ttl: number;
  readonly protocol: number;
  readonly headerChecksum: number;
}

/** The legacy AH header in front of a VRRPv2 message (§2.2). */
export interface AhHeader {
  /** Next header; 112 for VRRP. */
  readonly nextHeader: number;
  /** Length field (4 for keepalived's 96-bit ICV). */
  readonly payloadLength: number;
  /** SPI; keepalived puts the IPv4 source address there. */
  readonly spi: number;
  readonly sequence: number;
  /** The 12-byte ICV (a view into the datagram). */
  readonly icv: Uint8Array;
}

/**
 * A framed advert. Byte fields are views into the received buffer: copy them if the buffer
 * is reused. Header fields are laid out by the packet's own version nibble (2 → VRRPv2,
 * anything else → VRRPv3 layout); nothing is validated beyond the lengths.
 */
export interface DecodedAdvert {
  readonly family: Family;
  /** Version nibble (2 or 3 when valid). */
  readonly version: number;
  /** Type nibble (1 when valid). */
  readonly type: number;
  readonly vrid: number;
  readonly priority: number;
  /** Count field: number of addresses. */
  readonly count: number;
  /** VRRPv2 auth type byte; 0 for VRRPv3 layouts. */
  readonly authType: number;
  /** VRRPv3 reserved nibble (ignored on receive); 0 for VRRPv2. */
  readonly reserved: number;
  /** Interval in wire units: seconds (VRRPv2) or centiseconds (VRRPv3, reserved bits masked). */
  readonly advertInterval: number;
  /** The same interval in µs. */
  readonly advertIntervalUs: number;
  /** Checksum field as received. */
  readonly checksum: number;
  /** Packet source address (4 or 16 bytes). */
  readonly source: Uint8Array;
  /** Packet destination address (4 or 16 bytes). */
  readonly destination: Uint8Array;
  /** TTL or hop limit, undefined when unknown (IPv6 without IPV6_HOPLIMIT). */
  readonly ttl: number | undefined;
  /** IPv4 header fields; undefined for IPv6. */
  readonly ip: IPv4Info | undefined;
  /** Legacy AH header when the datagram carries one. */
  readonly ah: AhHeader | undefined;
  /** The VRRP message: header, addresses and (VRRPv2/IPv4) auth data, never the trailer. */
  readonly message: Uint8Array;
  /** The 8 auth-data bytes of a VRRPv2/IPv4 advert, else undefined. */
  readonly authData: Uint8Array | undefined;
  /** The trailer after the message when the caller asked for one and it is there. */
  readonly trailer: Uint8Array | undefined;
  /** Bytes after the message taken as Ethernet minimum-frame padding (IPv4 only). */
  readonly padding: number;
  /** What was received: the whole IPv4 datagram or the IPv6 payload. */
  readonly received: Uint8Array;
}

/** How a received packet is framed. */
export interface DecodeOptions {
  /**
   * Length of the trailer an authentication extension appends (28 for auth_hmac). When the
   * packet is exactly that much longer than the message, the surplus is the trailer (§1.11
   * step 2); without it a trailer makes the packet too long.
   */
  readonly trailerLength?: number;
}

/** Why framing failed. */
export type DecodeError =
  /** IPv4 header shorter than 20 bytes, version not 4, or IHL beyond the datagram. */
  | "ip_header"
  /** Shorter than the VRRP header or than the count field requires. */
  | "too_short"
  /** Longer than the message (+ trailer), and not Ethernet padding. */
  | "too_long";

/** A framing failure, with what is known of the packet for the caller's checks and log. */
export interface DecodeFailure {
  readonly ok: false;
  readonly error: DecodeError;
  /** VRID when the header is readable. */
  readonly vrid: number | undefined;
  /** The datagram carries an AH header (IP protocol 51). */
  readonly ahPresent: boolean;
  /** Source address when the IP header is readable. */
  readonly source: Uint8Array | undefined;
  /** Bytes received (IPv4 datagram or IPv6 payload). */
  readonly received: number;
  /** Bytes expected from the header fields (0 when unknown). */
  readonly expected: number;
}

/** Result of decodeAdvert. */
export type DecodeResult = { readonly ok: true; readonly advert: DecodedAdvert } | DecodeFailure;

/**
 * Largest IPv4 datagram that Ethernet padding can explain: the 46-byte minimum payload plus
 * a 4-byte VLAN tag removed after padding (§1.11 step 2).
 */
const MAX_PADDED_DATAGRAM = 50;
const ETH_MIN_PAYLOAD = 46;

function u16(b: Uint8Array, i: number): number {
  return ((b[i] as number) << 8) | (b[i + 1] as number);
}

function u32(b: Uint8Array, i: number): number {
  return (((b[i] as number) << 24) | ((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) |
    (b[i + 3] as number)) >>> 0;
}

/** `vrrpAt` is the VRRP message's offset, -1 when unknown. */
function fail(
  error: DecodeError,
  buf: Uint8Array,
  vrrpAt: number,
  ahPresent: boolean,
  source: Uint8Array | undefined,
  expected: number,
): DecodeFailure {
  return {
    ok: false,
    error,
    vrid: vrrpAt >= 0 && buf.length >= vrrpAt + 2 ? buf[vrrpAt + 1] as number : undefined,
    ahPresent,
    source,
    received: buf.length,
    expected,
  };
}

/**
 * Frame a received packet (spec/vrrp.md §1.11 step 2): locate the IP header (IPv4), any AH
 * header, the VRRP message and an optional trailer, and check that the length is exactly
 * what the count field implies. The expected length is IP header [+ AH] + 8 + count ×
 * address size [+ 8 auth data for VRRPv2/IPv4], with the version taken from the packet; a
 * surplus of exactly `trailerLength` is the trailer; an IPv4 surplus that looks like
 * Ethernet minimum-frame padding (expected < 46 bytes, surplus ≡ 2 mod 4, datagram ≤ 50
 * bytes) is tolerated. No allocation beyond the result and its byte views.
 *
 * @example
 * ```ts
 * import { decodeAdvert, encodeIPv4Datagram } from "./packet.ts";
 * const d = encodeIPv4Datagram(
 *   { version: 2, family: 4, vrid: 7, priority: 100, advertInterval: 1, addresses: [] },
 *   { source: new Uint8Array([10, 0, 0, 1]), destination: new Uint8Array([224, 0, 0, 18]), id: 1 },
 * );
 * const r = decodeAdvert({ family: 4, datagram: d });
 * r.ok && r.advert.vrid; // 7
 * ```
 */
export function decodeAdvert(packet: ReceivedPacket, opts: DecodeOptions = {}): DecodeResult {
  const trailerLength = opts.trailerLength ?? 0;
  let buf: Uint8Array;
  let at: number;
  let source: Uint8Array;
  let destination: Uint8Array;
  let ttl: number | undefined;
  let ip: IPv4Info | undefined;
  let ah: AhHeader | undefined;
  let ahPresent = false;
  const family = packet.family;
  if (packet.family === 4) {
    buf = packet.datagram;
    if (buf.length < IPV4_HEADER_LENGTH || (buf[0] as number) >> 4 !== 4) {
      return fail("ip_header", buf, -1, false, undefined, 0);
    }
    const ihl = ((buf[0] as number) & 0x0f) * 4;
    if (ihl < IPV4_HEADER_LENGTH || ihl > buf.length) {
      return fail("ip_header", buf, -1, false, undefined, 0);
    }
    source = buf.subarray(12, 16);
    destination = buf.subarray(16, 20);
    ttl = buf[8] as number;
    ip = {
      headerLength: ihl,
      tos: buf[1] as number,
      totalLength: u16(buf, 2),
      id: u16(buf, 4),
      flagsFragment: u16(buf, 6),
      ttl,
      protocol: buf[9] as number,
      headerChecksum: u16(buf, 10),
    };
    at = ihl;
    if (ip.protocol === IPPROTO_AH) {
      ahPresent = true;
      if (buf.length < at + AH_HEADER_LENGTH) {
        return fail("too_short", buf, -1, true, source, at + AH_HEADER_LENGTH);
      }
      ah = {
        nextHeader: buf[at] as number,
        payloadLength: buf[at + 1] as number,
        spi: u32(buf, at + 4),
        sequence: u32(buf, at + 8),
        icv: buf.subarray(at + 12, at + AH_HEADER_LENGTH),
      };
      at += AH_HEADER_LENGTH;
    }
  } else {
    buf = packet.payload;
    at = 0;
    source = packet.source;
    destination = packet.destination;
    ttl = packet.hopLimit;
  }
  if (buf.length < at + VRRP_HEADER_LENGTH) {
    return fail("too_short", buf, at, ahPresent, source, at + VRRP_HEADER_LENGTH);
  }
  const version = (buf[at] as number) >> 4;
  const count = buf[at + 3] as number;
  const msgLen = advertLength(version, family, count);
  const expected = at + msgLen;
  const surplus = buf.length - expected;
  let trailer: Uint8Array | undefined;
  let padding = 0;
  if (surplus < 0) return fail("too_short", buf, at, ahPresent, source, expected);
  if (surplus > 0) {
    if (trailerLength > 0 && surplus === trailerLength) {
      trailer = buf.subarray(expected);
    } else if (
      family === 4 && expected < ETH_MIN_PAYLOAD && surplus % 4 === 2 &&
      buf.length <= MAX_PADDED_DATAGRAM
    ) {
      padding = surplus;
    } else {
      return fail("too_long", buf, at, ahPresent, source, expected);
    }
  }
  const v2 = version === 2;
  const b4 = buf[at + 4] as number;
  const b5 = buf[at + 5] as number;
  const advertInterval = v2 ? b5 : ((b4 & 0x0f) << 8) | b5;
  const message = buf.subarray(at, expected);
  return {
    ok: true,
    advert: {
      family,
      version,
      type: (buf[at] as number) & 0x0f,
      vrid: buf[at + 1] as number,
      priority: buf[at + 2] as number,
      count,
      authType: v2 ? b4 : 0,
      reserved: v2 ? 0 : b4 >> 4,
      advertInterval,
      advertIntervalUs: advertIntervalFromWire(version, advertInterval),
      checksum: u16(buf, at + 6),
      source,
      destination,
      ttl,
      ip,
      ah,
      message,
      authData: hasAuthData(version, family)
        ? message.subarray(msgLen - AUTH_DATA_LENGTH, msgLen)
        : undefined,
      trailer,
      padding,
      received: buf,
    },
  };
}

/**
 * VRID and source of a received packet without framing it, for demultiplexing to an
 * instance (§1.11: the VRID selects the instance, the source among unicast duplicates).
 * Undefined when the packet is too short to tell.
 */
export function peekAdvert(
  packet: ReceivedPacket,
): { readonly vrid: number; readonly source: Uint8Array } | undefined {
  if (packet.family === 6) {
    const vrid = packet.payload[1];
    return vrid === undefined ? undefined : { vrid, source: packet.source };
  }
  const d = packet.datagram;
  if (d.length < IPV4_HEADER_LENGTH || (d[0] as number) >> 4 !== 4) return undefined;
  let at = ((d[0] as number) & 0x0f) * 4;
  if (at < IPV4_HEADER_LENGTH) return undefined;
  if (d[9] === IPPROTO_AH) at += AH_HEADER_LENGTH;
  const vrid = d[at + 1];
  return vrid === undefined ? undefined : { vrid, source: d.subarray(12, 16) };
}

/** Address `i` of a decoded advert (a view). */
export function advertAddress(advert: DecodedAdvert, i: number): Uint8Array {
  if (!Number.isInteger(i) || i < 0 || i >= advert.count) {
    throw new RangeError(`Address index '${i}' is out of range (0 to ${advert.count - 1})`);
  }
  const alen = addressLength(advert.family);
  const at = VRRP_HEADER_LENGTH + i * alen;
  return advert.message.subarray(at, at + alen);
}

/** All addresses of a decoded advert, in packet order (views). */
export function advertAddresses(advert: DecodedAdvert): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < advert.count; i++) out.push(advertAddress(advert, i));
  return out;
}

/** True when the advert lists `address`; compares in place, no allocation. */
export function advertHasAddress(advert: DecodedAdvert, address: Uint8Array): boolean {
  const alen = addressLength(advert.family);
  if (address.length !== alen) return false;
  const m = advert.message;
  for (let i = 0, at = VRRP_HEADER_LENGTH; i < advert.count; i++, at += alen) {
    let j = 0;
    while (j < alen && m[at + j] === address[j]) j++;
    if (j === alen) return true;
  }
  return false;
}
