/**
 * keepalived's per-instance VRRP counters (spec/vrrp.md §6.4–6.5): their names (the JSON
 * keys of `keepalived.json`), their labels and layout in `keepalived.stats`, and which
 * counters each receive rejection (lib/vrrp/receive.ts) increments. Pure data and
 * formatting; writing the files and deciding when to bump a counter outside the receive
 * checks (sent adverts, transitions) belong to the daemon and the FSM.
 */
import type { RejectReason } from "./receive.ts";

/** The auth_hmac counters (§2.3.8), one per authentication-extension rejection. */
export const AUTH_EXT_COUNTERS = [
  /** No trailer and the mode is `enforce`. */
  "auth_ext_missing",
  /** Scheme id or reserved bytes wrong. */
  "auth_ext_malformed",
  /** No configured key has the trailer's key id. */
  "auth_ext_unknown_key",
  /** HMAC does not verify. */
  "auth_ext_invalid_hmac",
  /** Timestamp outside the freshness window. */
  "auth_ext_stale",
  /** Sequence not after the sender's last accepted one. */
  "auth_ext_replay",
] as const;

/** Every authentication counter, in the order of §6.4: legacy ones, then auth_hmac's. */
export const AUTH_COUNTERS = [
  "invalid_authtype",
  "authtype_mismatch",
  "auth_failure",
  ...AUTH_EXT_COUNTERS,
] as const;

/** The counters keepalived prints, in the order of the JSON `stats` object (§6.5). */
export const STATS_COUNTERS = [
  "advert_rcvd",
  "advert_sent",
  "become_master",
  "release_master",
  "packet_len_err",
  "advert_interval_err",
  "ip_ttl_err",
  "invalid_type_rcvd",
  "addr_list_err",
  ...AUTH_COUNTERS,
  "pri_zero_rcvd",
  "pri_zero_sent",
] as const;

/**
 * Counters keepalived keeps only for SNMP (§1.8 `chk_err`, §1.11 step 4 `vers_err`): never
 * in the stats file or JSON, kept so every checksum and version failure is counted.
 */
export const SNMP_ONLY_COUNTERS = ["chk_err", "vers_err"] as const;

/** A counter printed in the stats file and JSON. */
export type StatsCounterName = typeof STATS_COUNTERS[number];
/** Any per-instance counter. */
export type CounterName = StatsCounterName | typeof SNMP_ONLY_COUNTERS[number];
/** One instance's counters. */
export type VrrpCounters = { [K in CounterName]: number };

/** The auth_hmac counters are 32-bit in keepalived (§2.3.8) and wrap there. */
const WRAP_32: ReadonlySet<CounterName> = new Set(AUTH_EXT_COUNTERS);

/** All counters at zero. Counters survive a reload (§6.4): keep the object across one. */
export function newCounters(): VrrpCounters {
  const c = {} as VrrpCounters;
  for (const k of STATS_COUNTERS) c[k] = 0;
  for (const k of SNMP_ONLY_COUNTERS) c[k] = 0;
  return c;
}

/**
 * Increment each named counter once (the 32-bit auth_hmac counters wrap at 2^32).
 *
 * @example
 * ```ts
 * import { bumpCounters, newCounters } from "./counters.ts";
 * const c = newCounters();
 * bumpCounters(c, ["advert_rcvd", "addr_list_err"]);
 * c.advert_rcvd; // 1
 * ```
 */
export function bumpCounters(counters: VrrpCounters, names: readonly CounterName[]): void {
  for (const n of names) {
    const v = counters[n] + 1;
    counters[n] = WRAP_32.has(n) && v > 0xffffffff ? 0 : v;
  }
}

/** The `stats` object of keepalived.json: the printed counters in keepalived's order. */
export function statsJson(counters: VrrpCounters): Record<StatsCounterName, number> {
  const out = {} as Record<StatsCounterName, number>;
  for (const k of STATS_COUNTERS) out[k] = counters[k];
  return out;
}

/**
 * The layout of one instance in keepalived.stats (§6.4): a heading or a `label: counter`
 * line, with its indentation depth (two spaces a level).
 */
export const STATS_FILE_LAYOUT: readonly (readonly [number, string, StatsCounterName?])[] = [
  [1, "Advertisements:"],
  [2, "Received", "advert_rcvd"],
  [2, "Sent", "advert_sent"],
  [1, "Became master", "become_master"],
  [1, "Released master", "release_master"],
  [1, "Packet Errors:"],
  [2, "Length", "packet_len_err"],
  [2, "TTL", "ip_ttl_err"],
  [2, "Invalid Type", "invalid_type_rcvd"],
  [2, "Advertisement Interval", "advert_interval_err"],
  [2, "Address List", "addr_list_err"],
  [1, "Authentication Errors:"],
  [2, "Invalid Type", "invalid_authtype"],
  [2, "Type Mismatch", "authtype_mismatch"],
  [2, "Failure", "auth_failure"],
  [1, "Authentication Extension Errors:"],
  [2, "Missing", "auth_ext_missing"],
  [2, "Malformed", "auth_ext_malformed"],
  [2, "Unknown Key", "auth_ext_unknown_key"],
  [2, "Invalid HMAC", "auth_ext_invalid_hmac"],
  [2, "Stale", "auth_ext_stale"],
  [2, "Replay", "auth_ext_replay"],
  [1, "Priority Zero:"],
  [2, "Received", "pri_zero_rcvd"],
  [2, "Sent", "pri_zero_sent"],
];

/**
 * One instance's block of keepalived.stats (§6.4), each line ending in a newline.
 *
 * @example
 * ```ts
 * import { formatStats, newCounters } from "./counters.ts";
 * formatStats("VI_1", newCounters()).split("\n")[2]; // "    Received: 0"
 * ```
 */
export function formatStats(instanceName: string, counters: VrrpCounters): string {
  let out = `VRRP Instance: ${instanceName}\n`;
  for (const [depth, label, key] of STATS_FILE_LAYOUT) {
    const pad = "  ".repeat(depth);
    out += key === undefined ? `${pad}${label}\n` : `${pad}${label}: ${counters[key]}\n`;
  }
  return out;
}

const LEN: readonly CounterName[] = Object.freeze(["packet_len_err"]);
const TTL: readonly CounterName[] = Object.freeze(["ip_ttl_err"]);
const AUTH_MISMATCH: readonly CounterName[] = Object.freeze(["authtype_mismatch"]);
const AUTH_FAIL: readonly CounterName[] = Object.freeze(["auth_failure"]);
const NONE: readonly CounterName[] = Object.freeze([]);
const RECEIVED: readonly CounterName[] = Object.freeze(["advert_rcvd"]);

const BY_REASON: Readonly<Record<RejectReason, readonly CounterName[]>> = {
  family_mismatch: NONE,
  ip_header_invalid: NONE,
  vrid_mismatch: NONE,
  ipv6_destination_mismatch: NONE,
  ah_mismatch: AUTH_MISMATCH,
  too_short: LEN,
  too_long: LEN,
  ttl_not_255: TTL,
  version_mismatch: Object.freeze(["vers_err"]),
  auth_ext_missing: Object.freeze(["auth_ext_missing"]),
  auth_ext_malformed: Object.freeze(["auth_ext_malformed"]),
  auth_ext_unknown_key: Object.freeze(["auth_ext_unknown_key"]),
  auth_ext_invalid_hmac: Object.freeze(["auth_ext_invalid_hmac"]),
  auth_ext_stale: Object.freeze(["auth_ext_stale"]),
  auth_ext_replay: Object.freeze(["auth_ext_replay"]),
  auth_ext_not_peer: NONE,
  invalid_auth_type: Object.freeze(["invalid_authtype"]),
  auth_type_mismatch: AUTH_MISMATCH,
  auth_pass_mismatch: AUTH_FAIL,
  ah_next_header: NONE,
  ah_failure: AUTH_FAIL,
  // §6.4: advert_interval_err is never incremented; v2 interval mismatches drop silently.
  v2_interval_mismatch: NONE,
  invalid_type: Object.freeze(["invalid_type_rcvd"]),
  ip_length_mismatch: LEN,
  invalid_checksum: Object.freeze(["chk_err"]),
  destination_mismatch: Object.freeze(["addr_list_err"]),
  owner_ignore_adverts: NONE,
  // Step 18 runs after the advert was counted as received (steps 1–16 passed).
  not_unicast_peer: RECEIVED,
  peer_ttl_out_of_range: Object.freeze(["advert_rcvd", "ip_ttl_err"]),
};

/**
 * The counters a rejection for `reason` always increments (spec/vrrp.md §1.11). A step-18
 * rejection also counts `advert_rcvd`, and `addr_list_err` when step 17 found a VIP
 * mismatch; validateAdvert's result lists exactly what to bump.
 *
 * @example
 * ```ts
 * import { rejectionCounters } from "./counters.ts";
 * rejectionCounters("ttl_not_255"); // ["ip_ttl_err"]
 * ```
 */
export function rejectionCounters(reason: RejectReason): readonly CounterName[] {
  return BY_REASON[reason];
}
