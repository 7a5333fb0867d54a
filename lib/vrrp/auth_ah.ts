/**
 * Legacy VRRPv2 IPsec AH authentication (`auth_type AH`, spec/vrrp.md §2.2), as keepalived
 * does it: IPv4 only, `IPv4 header (protocol 51) | AH (24 bytes) | VRRPv2 message`, the SPI
 * set to the source address, a 96-bit ICV (HMAC-MD5 keyed with the 8 auth_pass bytes,
 * truncated) over the datagram with the mutable IP fields zeroed, and one sequence counter
 * per instance that both sending and receiving move (a BACKUP learns the MASTER's sequence,
 * so that it continues above it when it takes over; a MASTER re-synchronises to a
 * lower-priority sender; the counter "cycles" near 2^32).
 *
 * Pure: encoding and verifying datagrams and the sequence rules; which advert is sent, and
 * when the FSM's transitions touch the counter, are lib/vrrp/instance.ts's. The ICV is
 * computed by lib/vrrp/keyed_hmac.ts (MD5, noble).
 */
import { formatIPv4 } from "../net/ipaddr.ts";
import { KeyedHmac } from "./keyed_hmac.ts";
import {
  advertLength,
  type AdvertSpec,
  AH_HEADER_LENGTH,
  AUTH_AH,
  buildIPv4Header,
  type DecodedAdvert,
  encodeAdvertInto,
  IPPROTO_AH,
  IPPROTO_VRRP,
  IPV4_HEADER_LENGTH,
} from "./packet.ts";
import type { AhVerdict } from "./receive.ts";

/** AH payload length field: header length in 32-bit words minus 2 (96-bit ICV). */
export const AH_PAYLOAD_LENGTH = 4;
/** Bytes of the ICV on the wire (HMAC-MD5 truncated to 96 bits). */
export const AH_ICV_LENGTH = 12;
/** Offset of the ICV inside the AH header. */
const ICV_AT = 12;
/** Above this the counter "cycles" instead of incrementing (§2.2). */
export const AH_SEQUENCE_LIMIT = 0xfffffffd;

/** Where an AH datagram goes and what its IP header carries. */
export interface AhDatagramOptions {
  readonly source: Uint8Array;
  readonly destination: Uint8Array;
  /** IPv4 identification (shared by the unicast copies of one advert). */
  readonly id: number;
  /** Default 255; `unicast_ttl` for unicast copies. */
  readonly ttl?: number;
}

/** Offset of the VRRP message in a datagram built by `encodeAhDatagram`. */
export const AH_VRRP_OFFSET = IPV4_HEADER_LENGTH + AH_HEADER_LENGTH;

/**
 * An AH advert as keepalived sends it (§1.4, §2.2): IPv4 header with protocol 51 and the
 * total length including AH, the AH header (next header 112, length 4, SPI = source,
 * sequence and ICV 0 until `AhAuth.sign`), then the VRRPv2 message (auth type 2, zero auth
 * data, its checksum). Throws a RangeError for an advert that is not VRRPv2/IPv4.
 */
export function encodeAhDatagram(spec: AdvertSpec, opts: AhDatagramOptions): Uint8Array {
  if (spec.version !== 2 || spec.family !== 4) {
    throw new RangeError(
      `IPsec AH authenticates VRRPv2 over IPv4 only, not VRRPv${spec.version}/IPv${spec.family}`,
    );
  }
  const len = advertLength(2, 4, spec.addresses.length);
  const out = new Uint8Array(AH_VRRP_OFFSET + len);
  buildIPv4Header(
    {
      source: opts.source,
      destination: opts.destination,
      payloadLength: AH_HEADER_LENGTH + len,
      id: opts.id,
      protocol: IPPROTO_AH,
      ...(opts.ttl === undefined ? {} : { ttl: opts.ttl }),
    },
    out,
    0,
  );
  const ah = IPV4_HEADER_LENGTH;
  out[ah] = IPPROTO_VRRP;
  out[ah + 1] = AH_PAYLOAD_LENGTH;
  out.set(opts.source.subarray(0, 4), ah + 4);
  encodeAdvertInto({ ...spec, authType: AUTH_AH }, out, AH_VRRP_OFFSET);
  return out;
}

/** Write the AH sequence number of a datagram built by `encodeAhDatagram`. */
export function setAhSequence(datagram: Uint8Array, sequence: number): void {
  const at = IPV4_HEADER_LENGTH + 8;
  datagram[at] = sequence >>> 24;
  datagram[at + 1] = (sequence >>> 16) & 0xff;
  datagram[at + 2] = (sequence >>> 8) & 0xff;
  datagram[at + 3] = sequence & 0xff;
}

/**
 * The bytes the ICV is computed over (§2.2), written into `out` (at least `datagram.length`
 * bytes): the datagram with TOS, flags/fragment offset, header checksum and ICV zeroed, and
 * the TTL too for a unicast instance. Returns the length.
 */
export function writeIcvInput(out: Uint8Array, datagram: Uint8Array, unicast: boolean): number {
  out.set(datagram, 0);
  const ihl = ((datagram[0] as number) & 0x0f) * 4;
  out[1] = 0;
  out[6] = 0;
  out[7] = 0;
  out[10] = 0;
  out[11] = 0;
  if (unicast) out[8] = 0;
  out.fill(0, ihl + ICV_AT, ihl + ICV_AT + AH_ICV_LENGTH);
  return datagram.length;
}

/**
 * The sequence counter of one instance (§2.2), shared by sending and receiving as in
 * keepalived. It survives a reload (the engine hands it to the restarted instance).
 */
export class AhSequence {
  /** The last sequence sent or accepted. */
  value = 0;
  /** Set when the counter would pass 0xFFFFFFFD; it restarts at 0 on becoming MASTER. */
  cycle = false;

  /** The sequence of the next advert: incremented before each, held once it has cycled. */
  next(): number {
    if (this.value > AH_SEQUENCE_LIMIT) this.cycle = true;
    else this.value++;
    return this.value;
  }

  /** Whether a verified advert's `sequence` is new (strictly greater); if so, learn it. */
  accept(sequence: number): boolean {
    if (sequence <= this.value) return false;
    this.value = sequence;
    return true;
  }

  /** A MASTER heard a lower-priority advert: continue above its sequence. */
  resync(sequence: number): void {
    this.value = (sequence + 1) >>> 0;
    this.cycle = false;
  }

  /** On becoming MASTER: a cycled counter starts again from 0. */
  becomeMaster(): void {
    if (this.cycle) {
      this.cycle = false;
      this.value = 0;
    }
  }
}

/**
 * The AH authentication of one instance: signs its datagrams and is the `LegacyAuthView` of
 * lib/vrrp/receive.ts (`verify`, called at step 9 once the next header is VRRP).
 *
 * @example
 * ```ts ignore
 * const ah = new AhAuth(authPassBytes("secret"), false);
 * const d = encodeAhDatagram(advertSpec, { source, destination, id: 1 });
 * setAhSequence(d, ah.sequence.next());
 * ah.sign(d);
 * ```
 */
export class AhAuth {
  readonly type = AUTH_AH;
  readonly unicast: boolean;
  sequence: AhSequence;
  readonly #mac: KeyedHmac;
  #scratch = new Uint8Array(128);
  readonly #digest = new Uint8Array(16);

  /**
   * `key` is the 8 auth-data bytes (lib/vrrp/packet.ts authPassBytes); it is not kept.
   * `unicast`: the instance has unicast peers (the TTL is then zeroed in the ICV).
   */
  constructor(key: Uint8Array, unicast: boolean, sequence: AhSequence = new AhSequence()) {
    this.#mac = new KeyedHmac("md5", key);
    this.unicast = unicast;
    this.sequence = sequence;
  }

  /** Write the ICV of a complete datagram (sequence set, VRRP checksum final). */
  sign(datagram: Uint8Array): void {
    const ihl = ((datagram[0] as number) & 0x0f) * 4;
    this.#icv(datagram);
    datagram.set(this.#digest.subarray(0, AH_ICV_LENGTH), ihl + ICV_AT);
  }

  /**
   * Verify a received AH advert, in keepalived's order: ICV, SPI = source, sequence newer
   * than the counter (learnt when it is). Only a datagram whose ICV verified moves the
   * counter (see docs/vrrp.md: keepalived before 2.0 moved it first).
   */
  verify(advert: DecodedAdvert): AhVerdict {
    const ah = advert.ah;
    const d = advert.received;
    if (ah === undefined || advert.ip === undefined) {
      return { ok: false, log: "IPSEC-AH : no AH header" };
    }
    this.#icv(d);
    let diff = 0;
    for (let i = 0; i < AH_ICV_LENGTH; i++) {
      diff |= (this.#digest[i] as number) ^ (ah.icv[i] as number);
    }
    if (diff !== 0) {
      return {
        ok: false,
        log: `IPSEC-AH : invalid IPSEC HMAC-MD5 value from ${
          formatIPv4(advert.source)
        }. Due to fields mutation or bad password !`,
      };
    }
    const src = advert.source;
    const spiBytes = [ah.spi >>> 24, (ah.spi >>> 16) & 0xff, (ah.spi >>> 8) & 0xff, ah.spi & 0xff];
    if (spiBytes.some((b, i) => b !== src[i])) {
      return {
        ok: false,
        log: `IPSEC AH : invalid IPSEC SPI value ${spiBytes.join(".")} from ${
          formatIPv4(src)
        }, expected the source address`,
      };
    }
    const before = this.sequence.value;
    if (!this.sequence.accept(ah.sequence)) {
      return {
        ok: false,
        log: `IPSEC-AH : sequence number ${ah.sequence} from ${
          formatIPv4(src)
        } already processed. Packet dropped. Local(${before})`,
      };
    }
    return { ok: true };
  }

  /** Wipes the key. */
  close(): void {
    this.#mac.wipe();
    this.#scratch.fill(0);
    this.#digest.fill(0);
  }

  #icv(datagram: Uint8Array): void {
    if (this.#scratch.length < datagram.length) this.#scratch = new Uint8Array(datagram.length);
    const n = writeIcvInput(this.#scratch, datagram, this.unicast);
    this.#mac.macInto(this.#scratch.subarray(0, n), this.#digest);
  }
}
