/**
 * The receive checks of a VRRP advert (spec/vrrp.md §1.11, with §1.5–1.8, §2.1, §3.18–3.19):
 * `validateAdvert` runs keepalived's checks in keepalived's order against a small view of one
 * instance and says accept (with the advert, the counters to bump and the notes to log) or
 * reject (with a named reason, a log text and the counters to bump). Pure: it reads no clock
 * unless `now` is omitted, logs nothing, and changes no state — rate-limiting the logs,
 * bumping the counters and acting on the advert (lib/vrrp FSM) are the daemon's. Wire layout
 * is lib/vrrp/packet.ts's, checksum arithmetic lib/vrrp/checksum.ts's, counter names
 * lib/vrrp/counters.ts's. Legacy AH and auth_hmac verification plug in through
 * `LegacyAuthView` and `AuthExtensionView`; their cryptography is not here.
 */
import { bytesEqual, formatIPv4, formatIPv6, isMulticast } from "../net/ipaddr.ts";
import { matchIPv4Checksum } from "./checksum.ts";
import { AUTH_EXT_COUNTERS, type CounterName, rejectionCounters } from "./counters.ts";
import {
  advertHasAddress,
  AUTH_AH,
  AUTH_NONE,
  AUTH_PASS,
  decodeAdvert,
  type DecodedAdvert,
  type DecodeOptions,
  type Family,
  IPPROTO_VRRP,
  PRIORITY_OWNER,
  type ReceivedPacket,
  VRRP_TTL,
  VRRP_TYPE_ADVERT,
} from "./packet.ts";

// ---- the instance as the checks see it ----

/** A configured unicast peer (`unicast_peer`, §1.6). */
export interface PeerView {
  /** 4 or 16 bytes. */
  readonly address: Uint8Array;
  /** Lowest accepted TTL / hop limit (`min_ttl`, default 0). */
  readonly minTtl: number;
  /** Highest accepted TTL / hop limit (`max_ttl`, default 255). */
  readonly maxTtl: number;
}

/** Outcome of a legacy IPsec AH verification (§2.2). */
export type AhVerdict = { readonly ok: true } | { readonly ok: false; readonly log?: string };

/** Legacy VRRPv2 authentication of the instance (`authentication { … }`, §2.1–2.2). */
export type LegacyAuthView =
  | { readonly type: typeof AUTH_NONE }
  /** `password` is the 8 wire bytes (lib/vrrp/packet.ts authPassBytes). */
  | { readonly type: typeof AUTH_PASS; readonly password: Uint8Array }
  /**
   * IPsec AH. `verify` checks ICV, SPI and sequence (step 9) once the next header is known to
   * be VRRP; it may keep the sequence state it owns.
   */
  | { readonly type: typeof AUTH_AH; verify(advert: DecodedAdvert): AhVerdict };

/** The per-reason results of an authentication extension (auth_hmac, §2.3.8). */
export const AUTH_EXT_REASONS = [
  ...AUTH_EXT_COUNTERS,
  /** Unicast instance, source is not a configured peer (checked before any HMAC work). */
  "auth_ext_not_peer",
] as const;

/** Why an authentication extension rejected an advert. */
export type AuthExtReason = typeof AUTH_EXT_REASONS[number];

/** Outcome of an authentication extension's check. */
export type AuthExtVerdict =
  | { readonly ok: true; readonly warning?: string }
  | { readonly ok: false; readonly reason: AuthExtReason; readonly log?: string };

/**
 * An authentication extension that appends a trailer (auth_hmac, §2.3). The pipeline frames
 * the trailer and calls `check` at step 5; the extension owns keys, modes and replay state.
 */
export interface AuthExtensionView {
  /** Trailer bytes after the VRRP message (28 for auth_hmac, §2.3.2). */
  readonly trailerLength: number;
  /**
   * Judge the advert; `advert.trailer` is undefined when the packet carries none. `now` is
   * the wall clock in ms since the epoch (auth_hmac freshness uses CLOCK_REALTIME).
   */
  check(advert: DecodedAdvert, now: number): AuthExtVerdict;
}

/**
 * What the receive checks need from one instance. The daemon builds it from the configured
 * instance (after keepalived's config-time corrections, including the ones strict mode
 * forces, §3.18: `owner_ignore_adverts` on for owners, legacy auth off, auth_hmac
 * `enforce`) plus two pieces of live state: the effective priority and the master address.
 */
export interface InstanceView {
  /** `version`: 2 or 3. */
  readonly version: 2 | 3;
  readonly family: Family;
  /** `virtual_router_id`. */
  readonly vrid: number;
  /** The configured `advert_int`, µs (on the version's grid). */
  readonly advertIntervalUs: number;
  /** Legacy VRRPv2 authentication. */
  readonly auth: LegacyAuthView;
  /** auth_hmac when configured (also in `receive-only` mode: it verifies what it receives). */
  readonly authExtension?: AuthExtensionView | undefined;
  /** The advertised VIPs (not eVIPs), 4 or 16 bytes each. */
  readonly vips: readonly Uint8Array[];
  /** `unicast_peer` entries; one or more makes the instance unicast (§1.5). */
  readonly unicastPeers: readonly PeerView[];
  /**
   * Source checking for unicast (§1.6): global `vrrp_check_unicast_src`, instance
   * `check_unicast_src`, or any peer with `min_ttl`/`max_ttl`.
   */
  readonly checkUnicastSrc: boolean;
  /** `skip_check_adv_addr` (default global `vrrp_skip_check_adv_addr`). */
  readonly skipCheckAdvAddr: boolean;
  /** Source of the current master's adverts as recorded by the FSM; undefined if none. */
  readonly masterAddress?: Uint8Array | undefined;
  /** `v3_checksum_as_v2` (instance or global). */
  readonly v3ChecksumAsV2: boolean;
  /** Unicast VRRPv3/IPv4 peers use the pre-1.3.6 checksum (group address as destination). */
  readonly oldUnicastChecksum: boolean;
  /**
   * On a unicast VRRPv3/IPv4 checksum failure, try the pre-1.3.6 form and, when it matches,
   * accept and report `old_unicast_checksum` (false with `old_unicast_checksum never`).
   */
  readonly detectOldUnicastChecksum: boolean;
  /** The instance's multicast group (`mcast_dst_ip` or the global default). */
  readonly mcastGroup: Uint8Array;
  /** `owner_ignore_adverts` (forced on for owners in strict mode). */
  readonly ownerIgnoreAdverts: boolean;
  /** Current effective priority. */
  readonly effectivePriority: number;
}

// ---- outcomes ----

/**
 * Every reason an advert is not accepted, in pipeline order. The receive loop's own drops
 * come first (family, IP header, VRID demultiplexing, IPv6 destination kind), then
 * `vrrp_check_packet()` steps 1–18 of spec/vrrp.md §1.11.
 */
export const REJECT_REASONS = [
  /** The packet's family is not the instance's (sockets are per family). */
  "family_mismatch",
  /** IPv4 header shorter than 20 bytes, version ≠ 4, or IHL beyond the datagram. */
  "ip_header_invalid",
  /** VRID is not this instance's (demultiplexing picked the wrong instance). */
  "vrid_mismatch",
  /** IPv6 destination is multicast for a unicast instance or vice versa (silent drop). */
  "ipv6_destination_mismatch",
  /** Step 1: AH header present ⇔ instance uses AH. */
  "ah_mismatch",
  /** Step 2: shorter than the count field requires. */
  "too_short",
  /** Step 2: longer than message (+ trailer), not Ethernet padding. */
  "too_long",
  /** Step 3: multicast instance, TTL / hop limit not 255. */
  "ttl_not_255",
  /** Step 4: version nibble is not the instance's version. */
  "version_mismatch",
  /** Step 5: the authentication extension rejected it. */
  ...AUTH_EXT_REASONS,
  /** Step 6: VRRPv2 auth type not 0, 1 or 2. */
  "invalid_auth_type",
  /** Step 7: VRRPv2 auth type not the configured one. */
  "auth_type_mismatch",
  /** Step 8: VRRPv2 PASS password differs. */
  "auth_pass_mismatch",
  /** Step 9: AH next header is not VRRP. */
  "ah_next_header",
  /** Step 9: AH ICV, SPI or sequence check failed. */
  "ah_failure",
  /** Step 10: VRRPv2 interval differs from ours. */
  "v2_interval_mismatch",
  /** Step 11: type nibble not 1 (advertisement). */
  "invalid_type",
  /** Step 12: IPv4 total length does not match the bytes received. */
  "ip_length_mismatch",
  /** Step 14: IPv4 checksum matches no accepted form. */
  "invalid_checksum",
  /** Step 15: multicast destination for a unicast instance or vice versa. */
  "destination_mismatch",
  /** Step 16: we are the owner at priority 255 and ignore adverts. */
  "owner_ignore_adverts",
  /** Step 18: unicast source checking on, source is not a configured peer. */
  "not_unicast_peer",
  /** Step 18: unicast peer's TTL / hop limit outside its `min_ttl`..`max_ttl`. */
  "peer_ttl_out_of_range",
] as const;

/** A named reason for not accepting an advert. */
export type RejectReason = typeof REJECT_REASONS[number];

/** Things logged about an accepted advert (or one rejected at step 18). */
export type AdvertWarningKind =
  /** Step 13: VRRPv3 interval differs from ours (backups adopt it). */
  | "interval_mismatch"
  /** Step 17: count field differs from our VIP count. */
  | "address_count_mismatch"
  /** Step 17: one of our VIPs is not in the advert. */
  | "address_missing"
  /** Step 14: peer uses the pre-1.3.6 unicast checksum; switch this instance to it. */
  | "old_unicast_checksum"
  /** Step 5: authentication clock skew approaching the window (from the extension). */
  | "auth_ext_clock_skew";

/** A note to log (rate-limited per kind by the daemon, §1.11). */
export interface AdvertWarning {
  readonly kind: AdvertWarningKind;
  readonly log: string;
}

/** The advert passed; act on it. */
export interface AdvertAccepted {
  readonly ok: true;
  readonly advert: DecodedAdvert;
  /** Counters to increment: `advert_rcvd`, maybe `addr_list_err`, `pri_zero_rcvd`. */
  readonly counters: readonly CounterName[];
  readonly warnings: readonly AdvertWarning[];
}

/** The advert is ignored (keepalived's KO and DROP alike). */
export interface AdvertRejected {
  readonly ok: false;
  readonly reason: RejectReason;
  /** Log text without the `(VI_1) ` prefix, which the daemon adds. */
  readonly log: string;
  /** Counters to increment (see lib/vrrp/counters.ts rejectionCounters). */
  readonly counters: readonly CounterName[];
  /** Notes from checks passed before the rejection (step 17 before step 18). */
  readonly warnings: readonly AdvertWarning[];
}

/** Result of validateAdvert. */
export type ValidationResult = AdvertAccepted | AdvertRejected;

// ---- helpers ----

const NONE: readonly never[] = Object.freeze([]);
const NO_TRAILER: DecodeOptions = Object.freeze({});

function addr(family: Family, bytes: Uint8Array | undefined): string {
  if (bytes === undefined) return "?";
  return family === 4 ? formatIPv4(bytes) : formatIPv6(bytes);
}

/** Compares every byte whatever the first difference (§2.1: constant time). */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

function intervalText(version: number, us: number): string {
  return version === 2 ? `${us / 1_000_000} s` : `${us / 1000} ms`;
}

function reject(
  reason: RejectReason,
  log: string,
  warnings: readonly AdvertWarning[] | undefined = NONE,
  extra?: CounterName,
): AdvertRejected {
  const base = rejectionCounters(reason);
  return {
    ok: false,
    reason,
    log,
    counters: extra === undefined ? base : [base[0] as CounterName, extra, ...base.slice(1)],
    warnings: warnings ?? NONE,
  };
}

const DEFAULT_AUTH_EXT_LOG: Readonly<Record<AuthExtReason, string>> = {
  auth_ext_missing: "Missing authentication trailer from",
  auth_ext_malformed: "Malformed authentication trailer from",
  auth_ext_unknown_key: "Unknown authentication key id from",
  auth_ext_invalid_hmac: "Invalid authentication HMAC from",
  auth_ext_stale: "Stale authentication trailer from",
  auth_ext_replay: "Replayed authentication trailer from",
  auth_ext_not_peer: "Authenticated advert is not from a unicast peer:",
};

const ACCEPTED_COUNTERS: Readonly<Record<number, readonly CounterName[]>> = {
  0: Object.freeze(["advert_rcvd"] as const),
  1: Object.freeze(["advert_rcvd", "addr_list_err"] as const),
  2: Object.freeze(["advert_rcvd", "pri_zero_rcvd"] as const),
  3: Object.freeze(["advert_rcvd", "addr_list_err", "pri_zero_rcvd"] as const),
};

// ---- the pipeline ----

/**
 * Run keepalived's receive checks (spec/vrrp.md §1.11) on `packet` for the instance `view`,
 * first failure wins. The order, the counters and which mismatches only log are
 * keepalived's; see docs/vrrp.md "Packets and receive checks" for the few places kad is
 * deliberately stricter. `now` (ms since the epoch, default `Date.now()`) is only passed to
 * the authentication extension.
 *
 * @example
 * ```ts
 * import { encodeIPv4Datagram } from "./packet.ts";
 * import { validateAdvert } from "./receive.ts";
 * const vip = new Uint8Array([192, 0, 2, 1]);
 * const datagram = encodeIPv4Datagram(
 *   { version: 3, family: 4, vrid: 51, priority: 150, advertInterval: 100, addresses: [vip] },
 *   { source: new Uint8Array([192, 0, 2, 10]), destination: new Uint8Array([224, 0, 0, 18]), id: 1 },
 * );
 * const r = validateAdvert({ family: 4, datagram }, {
 *   version: 3, family: 4, vrid: 51, advertIntervalUs: 1_000_000, auth: { type: 0 },
 *   vips: [vip], unicastPeers: [], checkUnicastSrc: false, skipCheckAdvAddr: false,
 *   v3ChecksumAsV2: false, oldUnicastChecksum: false, detectOldUnicastChecksum: false,
 *   mcastGroup: new Uint8Array([224, 0, 0, 18]), ownerIgnoreAdverts: false,
 *   effectivePriority: 100,
 * });
 * r.ok; // true
 * ```
 */
export function validateAdvert(
  packet: ReceivedPacket,
  view: InstanceView,
  now: number = Date.now(),
): ValidationResult {
  const family = view.family;
  if (packet.family !== family) {
    return reject(
      "family_mismatch",
      `Received an IPv${packet.family} packet for an IPv${family} instance`,
    );
  }
  const ext = view.authExtension;
  const d = decodeAdvert(packet, ext === undefined ? NO_TRAILER : ext);
  const unicast = view.unicastPeers.length > 0;

  // The receive loop: framing, demultiplexing by VRID, IPv6 destination kind.
  if (!d.ok && d.error === "ip_header") {
    return reject("ip_header_invalid", `Invalid IPv4 header in a ${d.received}-byte packet`);
  }
  const vrid = d.ok ? d.advert.vrid : d.vrid;
  const source = d.ok ? d.advert.source : d.source;
  // The sender as text, for log lines only: accepted adverts never need it.
  let fromText: string | undefined;
  const from = () => (fromText ??= addr(family, source));
  if (vrid === undefined) {
    return reject(
      "too_short",
      `VRRP packet from ${from()} too short: ${d.ok ? 0 : d.received} bytes, expected ${
        d.ok ? 0 : d.expected
      }`,
    );
  }
  if (vrid !== view.vrid) {
    return reject("vrid_mismatch", `Received VRID ${vrid} from ${from()}, expected ${view.vrid}`);
  }
  if (packet.family === 6 && isMulticast({ family: 6, bytes: packet.destination }) === unicast) {
    return reject(
      "ipv6_destination_mismatch",
      `Discarding advert from ${from()} to ${addr(6, packet.destination)}: ${
        unicast ? "multicast destination for a unicast" : "unicast destination for a multicast"
      } instance`,
    );
  }

  // Step 1: AH header present ⇔ instance uses AH.
  if (family === 4) {
    const ahPresent = d.ok ? d.advert.ah !== undefined : d.ahPresent;
    if (ahPresent !== (view.auth.type === AUTH_AH)) {
      return reject(
        "ah_mismatch",
        ahPresent
          ? `Received an IPsec AH advert from ${from()} but auth_type is not AH`
          : `Received an advert without IPsec AH from ${from()} but auth_type is AH`,
      );
    }
  }

  // Step 2: length.
  if (!d.ok) {
    const which = d.error === "too_long" ? "too_long" : "too_short";
    return reject(
      which,
      `VRRP packet from ${from()} ${
        which === "too_long" ? "too long" : "too short"
      }: ${d.received} bytes, expected ${d.expected}`,
    );
  }
  const a = d.advert;

  // Step 3: multicast TTL / hop limit (skipped when the kernel gave none, §1.7).
  if (!unicast && a.ttl !== undefined && a.ttl !== VRRP_TTL) {
    return reject(
      "ttl_not_255",
      `Invalid TTL/HL from ${from()}: received ${a.ttl}, expected ${VRRP_TTL}`,
    );
  }

  // Step 4: version.
  if (a.version !== view.version) {
    return reject(
      "version_mismatch",
      `Wrong VRRP version from ${from()}: received ${a.version}, expected ${view.version}`,
    );
  }

  // Step 5: authentication extension (auth_hmac).
  let warnings: AdvertWarning[] | undefined;
  if (ext !== undefined) {
    const v = ext.check(a, now);
    if (!v.ok) {
      return reject(v.reason, v.log ?? `${DEFAULT_AUTH_EXT_LOG[v.reason]} ${from()}`);
    }
    if (v.warning !== undefined) {
      (warnings ??= []).push({ kind: "auth_ext_clock_skew", log: v.warning });
    }
  }

  // Steps 6–10: VRRPv2 legacy authentication and interval.
  if (view.version === 2) {
    if (a.authType > AUTH_AH) {
      return reject(
        "invalid_auth_type",
        `Invalid authentication type ${a.authType} from ${from()}`,
        warnings,
      );
    }
    const auth = view.auth;
    if (a.authType !== auth.type) {
      return reject(
        "auth_type_mismatch",
        `Received authentication type ${a.authType} from ${from()}, expecting ${auth.type}`,
        warnings,
      );
    }
    if (auth.type === AUTH_PASS) {
      if (a.authData === undefined || !constantTimeEqual(a.authData, auth.password)) {
        return reject(
          "auth_pass_mismatch",
          `Received an incorrect authentication password from ${from()}`,
          warnings,
        );
      }
    } else if (auth.type === AUTH_AH && a.ah !== undefined) {
      if (a.ah.nextHeader !== IPPROTO_VRRP) {
        return reject(
          "ah_next_header",
          `IPsec AH next header ${a.ah.nextHeader} from ${from()} is not VRRP (${IPPROTO_VRRP})`,
          warnings,
        );
      }
      const v = auth.verify(a);
      if (!v.ok) {
        return reject(
          "ah_failure",
          v.log ?? `IPsec AH authentication of the advert from ${from()} failed`,
          warnings,
        );
      }
    }
    if (a.advertIntervalUs !== view.advertIntervalUs) {
      return reject(
        "v2_interval_mismatch",
        `Advertisement interval mismatch from ${from()}: mine ${
          intervalText(2, view.advertIntervalUs)
        }, received ${intervalText(2, a.advertIntervalUs)}`,
        warnings,
      );
    }
  }

  // Step 11: type.
  if (a.type !== VRRP_TYPE_ADVERT) {
    return reject(
      "invalid_type",
      `Invalid packet type ${a.type} from ${from()}, expected ${VRRP_TYPE_ADVERT}`,
      warnings,
    );
  }

  // Step 12: IPv4 total length against what was received (Ethernet padding tolerated).
  if (a.ip !== undefined) {
    const got = a.received.length;
    if (a.ip.totalLength !== got && a.ip.totalLength !== got - a.padding) {
      return reject(
        "ip_length_mismatch",
        `IP total length ${a.ip.totalLength} from ${from()} does not match the ${got} bytes received`,
        warnings,
      );
    }
  }

  // Step 13: VRRPv3 interval mismatch only logs; backups adopt the master's interval.
  if (view.version === 3 && a.advertIntervalUs !== view.advertIntervalUs) {
    (warnings ??= []).push({
      kind: "interval_mismatch",
      log: `Advertisement interval mismatch from ${from()}: mine ${
        intervalText(3, view.advertIntervalUs)
      }, received ${intervalText(3, a.advertIntervalUs)}`,
    });
  }

  // Step 14: IPv4 checksum (IPv6 checksums are verified by the kernel).
  if (family === 4) {
    const v3unicast = unicast && a.version === 3;
    const ok = matchIPv4Checksum(a.message, {
      version: a.version,
      source: a.source,
      destination: v3unicast && view.oldUnicastChecksum ? view.mcastGroup : a.destination,
      v3ChecksumAsV2: view.v3ChecksumAsV2,
    });
    if (ok === undefined) {
      const old = v3unicast && !view.oldUnicastChecksum && view.detectOldUnicastChecksum &&
        matchIPv4Checksum(a.message, {
            version: 3,
            source: a.source,
            destination: view.mcastGroup,
            v3ChecksumAsV2: false,
          }) !== undefined;
      if (!old) {
        return reject(
          "invalid_checksum",
          `Invalid VRRPv${a.version} checksum from ${from()}`,
          warnings,
        );
      }
      (warnings ??= []).push({
        kind: "old_unicast_checksum",
        log: `Setting unicast VRRPv3 checksum to old version (peer ${from()})`,
      });
    }
  }

  // Step 15: destination kind matches the mode.
  if (family === 4 && isMulticast({ family: 4, bytes: a.destination }) === unicast) {
    return reject(
      "destination_mismatch",
      unicast
        ? `Received a multicast advert from ${from()} for a unicast instance`
        : `Received a unicast advert from ${from()} for a multicast instance`,
      warnings,
    );
  }

  // Step 16: an owner that ignores adverts.
  if (view.ownerIgnoreAdverts && view.effectivePriority === PRIORITY_OWNER) {
    return reject(
      "owner_ignore_adverts",
      `Ignoring the advert from ${from()}: address owner with owner_ignore_adverts`,
      warnings,
    );
  }

  // advert_rcvd++ from here on. Step 17: VIP list, counted and logged, never rejected.
  let addrErr = false;
  if (a.count !== view.vips.length) {
    addrErr = true;
    (warnings ??= []).push({
      kind: "address_count_mismatch",
      log:
        `Received an invalid ip number count ${a.count} from ${from()}, expected ${view.vips.length}`,
    });
  } else if (
    !(view.skipCheckAdvAddr && view.masterAddress !== undefined &&
      bytesEqual(view.masterAddress, a.source))
  ) {
    for (const vip of view.vips) {
      if (!advertHasAddress(a, vip)) {
        addrErr = true;
        (warnings ??= []).push({
          kind: "address_missing",
          log: `Address ${
            addr(family, vip)
          } of VRID ${view.vrid} is not in the advert from ${from()}`,
        });
        break;
      }
    }
  }

  // Step 18: unicast source and TTL range (§1.6).
  if (unicast && view.checkUnicastSrc) {
    let peer: PeerView | undefined;
    for (const p of view.unicastPeers) {
      if (bytesEqual(p.address, a.source)) {
        peer = p;
        break;
      }
    }
    const extra = addrErr ? "addr_list_err" : undefined;
    if (peer === undefined) {
      return reject(
        "not_unicast_peer",
        `Advert source ${from()} is not a unicast peer`,
        warnings,
        extra,
      );
    }
    if (a.ttl !== undefined && (a.ttl < peer.minTtl || a.ttl > peer.maxTtl)) {
      return reject(
        "peer_ttl_out_of_range",
        `TTL/HL ${a.ttl} from unicast peer ${from()} is outside min_ttl ${peer.minTtl} to max_ttl ${peer.maxTtl}`,
        warnings,
        extra,
      );
    }
  }

  return {
    ok: true,
    advert: a,
    counters: ACCEPTED_COUNTERS[(addrErr ? 1 : 0) + (a.priority === 0 ? 2 : 0)] as CounterName[],
    warnings: warnings ?? NONE,
  };
}
