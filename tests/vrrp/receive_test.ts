import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import {
  AUTH_EXT_REASONS,
  type AuthExtensionView,
  type AuthExtVerdict,
  type InstanceView,
  REJECT_REASONS,
  type RejectReason,
  validateAdvert,
  type ValidationResult,
} from "../../lib/vrrp/receive.ts";
import { type CounterName, rejectionCounters } from "../../lib/vrrp/counters.ts";
import {
  type AdvertSpec,
  authPassBytes,
  buildIPv4Header,
  type DecodedAdvert,
  encodeAdvert,
  encodeIPv4Datagram,
  type ReceivedIPv4,
  type ReceivedIPv6,
  type ReceivedPacket,
} from "../../lib/vrrp/packet.ts";
import { vrrpV2Checksum, vrrpV3IPv4Checksum, writeChecksum } from "../../lib/vrrp/checksum.ts";
import { parseIPv4, parseIPv6 } from "../../lib/net/ipaddr.ts";

const v4 = (s: string) => parseIPv4(s) as Uint8Array;
const v6 = (s: string) => parseIPv6(s) as Uint8Array;

const GROUP4 = v4("224.0.0.18");
const GROUP6 = v6("ff02::12");
const ME4 = v4("192.0.2.1");
const PEER4 = v4("192.0.2.2");
const STRANGER4 = v4("192.0.2.99");
const VIP4 = v4("192.0.2.100");
const VIP4B = v4("192.0.2.101");
const PEER6 = v6("fe80::2");
const ME6 = v6("fe80::1");
const VIP6 = v6("2001:db8::100");

// ---- builders ----

function view(over: Partial<InstanceView> = {}): InstanceView {
  return {
    version: 3,
    family: 4,
    vrid: 51,
    advertIntervalUs: 1_000_000,
    auth: { type: 0 },
    vips: [VIP4],
    unicastPeers: [],
    checkUnicastSrc: false,
    skipCheckAdvAddr: false,
    v3ChecksumAsV2: false,
    oldUnicastChecksum: false,
    detectOldUnicastChecksum: false,
    mcastGroup: GROUP4,
    ownerIgnoreAdverts: false,
    effectivePriority: 100,
    ...over,
  };
}

function view6(over: Partial<InstanceView> = {}): InstanceView {
  return view({ family: 6, vips: [VIP6], mcastGroup: GROUP6, ...over });
}

const unicastView = (over: Partial<InstanceView> = {}) =>
  view({ unicastPeers: [{ address: PEER4, minTtl: 0, maxTtl: 255 }], ...over });

interface P4 {
  version?: 2 | 3;
  vrid?: number;
  priority?: number;
  interval?: number;
  addresses?: Uint8Array[];
  authType?: 0 | 1 | 2;
  password?: string;
  source?: Uint8Array;
  destination?: Uint8Array;
  ttl?: number;
  asV2?: boolean;
  trailer?: number;
}

function spec4(o: P4): AdvertSpec {
  const version = o.version ?? 3;
  return {
    version,
    family: 4,
    vrid: o.vrid ?? 51,
    priority: o.priority ?? 150,
    advertInterval: o.interval ?? (version === 2 ? 1 : 100),
    addresses: o.addresses ?? [VIP4],
    authType: o.authType ?? 0,
    ...(o.password !== undefined ? { authData: authPassBytes(o.password) } : {}),
  };
}

/** An IPv4 advert as keepalived sends it; `edit` changes bytes afterwards. */
function ipv4(o: P4 = {}, edit?: (d: Uint8Array) => void): ReceivedIPv4 {
  const datagram = encodeIPv4Datagram(spec4(o), {
    source: o.source ?? PEER4,
    destination: o.destination ?? GROUP4,
    id: 1,
    v3ChecksumAsV2: o.asV2 ?? false,
    ...(o.ttl !== undefined ? { ttl: o.ttl } : {}),
    ...(o.trailer !== undefined ? { trailerLength: o.trailer } : {}),
  });
  edit?.(datagram);
  return { family: 4, datagram };
}

/** A VRRPv2 IPv4 advert behind a legacy AH header (§2.2). */
function ipv4Ah(nextHeader = 112): ReceivedIPv4 {
  const msg = encodeAdvert(spec4({ version: 2, authType: 2 }));
  const datagram = new Uint8Array(20 + 24 + msg.length);
  buildIPv4Header(
    { source: PEER4, destination: GROUP4, payloadLength: 24 + msg.length, id: 1, protocol: 51 },
    datagram,
  );
  datagram.set([nextHeader, 4, 0, 0, ...PEER4, 0, 0, 0, 1], 20);
  datagram.set(msg, 44);
  return { family: 4, datagram };
}

interface P6 {
  version?: 2 | 3;
  priority?: number;
  addresses?: Uint8Array[];
  destination?: Uint8Array;
  hopLimit?: number | undefined;
}

function ipv6(o: P6 = {}): ReceivedIPv6 {
  const version = o.version ?? 3;
  const payload = encodeAdvert({
    version,
    family: 6,
    vrid: 51,
    priority: o.priority ?? 150,
    advertInterval: version === 2 ? 1 : 100,
    addresses: o.addresses ?? [VIP6],
  });
  return {
    family: 6,
    payload,
    source: PEER6,
    destination: o.destination ?? GROUP6,
    hopLimit: "hopLimit" in o ? o.hopLimit : 255,
  };
}

/** Set a byte of the VRRP message of a plain IPv4 datagram (IHL 5). */
const setVrrp = (at: number, v: number) => (d: Uint8Array) => {
  d[20 + at] = v;
};

function extension(verdict: AuthExtVerdict, seen: { advert?: DecodedAdvert; now?: number } = {}) {
  const ext: AuthExtensionView = {
    trailerLength: 28,
    check(advert, now) {
      seen.advert = advert;
      seen.now = now;
      return verdict;
    },
  };
  return ext;
}

function rejected(r: ValidationResult): Extract<ValidationResult, { ok: false }> {
  if (r.ok) throw new Error("expected a rejection, the advert was accepted");
  return r;
}

function accepted(r: ValidationResult): Extract<ValidationResult, { ok: true }> {
  if (!r.ok) throw new Error(`expected acceptance, got ${r.reason}: ${r.log}`);
  return r;
}

// ---- one case per rejection reason ----

interface Case {
  packet: ReceivedPacket;
  view: InstanceView;
  counters: CounterName[];
  log: string;
}

const CASES: Record<RejectReason, Case | Case[]> = {
  family_mismatch: {
    packet: ipv6(),
    view: view(),
    counters: [],
    log: "Received an IPv6 packet for an IPv4 instance",
  },
  ip_header_invalid: {
    packet: { family: 4, datagram: ipv4().datagram.subarray(0, 19) },
    view: view(),
    counters: [],
    log: "Invalid IPv4 header in a 19-byte packet",
  },
  vrid_mismatch: {
    packet: ipv4({ vrid: 52 }),
    view: view(),
    counters: [],
    log: "Received VRID 52 from 192.0.2.2, expected 51",
  },
  ipv6_destination_mismatch: [
    {
      packet: ipv6({ destination: ME6 }),
      view: view6(),
      counters: [],
      log: "unicast destination for a multicast instance",
    },
    {
      packet: ipv6(),
      view: view6({ unicastPeers: [{ address: PEER6, minTtl: 0, maxTtl: 255 }] }),
      counters: [],
      log: "Discarding advert from fe80::2 to ff02::12: multicast destination for a unicast",
    },
  ],
  ah_mismatch: [
    {
      packet: ipv4Ah(),
      view: view({ version: 2 }),
      counters: ["authtype_mismatch"],
      log: "Received an IPsec AH advert from 192.0.2.2 but auth_type is not AH",
    },
    {
      packet: ipv4({ version: 2, authType: 2 }),
      view: view({ version: 2, auth: { type: 2, verify: () => ({ ok: true }) } }),
      counters: ["authtype_mismatch"],
      log: "without IPsec AH from 192.0.2.2 but auth_type is AH",
    },
  ],
  too_short: [
    {
      packet: { family: 4, datagram: ipv4().datagram.subarray(0, 30) },
      view: view(),
      counters: ["packet_len_err"],
      log: "VRRP packet from 192.0.2.2 too short: 30 bytes, expected 32",
    },
    {
      packet: { family: 4, datagram: ipv4().datagram.subarray(0, 21) },
      view: view(),
      counters: ["packet_len_err"],
      log: "too short: 21 bytes, expected 28",
    },
  ],
  too_long: [
    {
      packet: { family: 4, datagram: new Uint8Array([...ipv4().datagram, 0, 0, 0, 0]) },
      view: view(),
      counters: ["packet_len_err"],
      log: "VRRP packet from 192.0.2.2 too long: 36 bytes, expected 32",
    },
    {
      // A signed advert at a receiver without auth_hmac (§2.3.8).
      packet: ipv4({ trailer: 28 }),
      view: view(),
      counters: ["packet_len_err"],
      log: "too long: 60 bytes, expected 32",
    },
  ],
  ttl_not_255: [
    {
      packet: ipv4({ ttl: 254 }),
      view: view(),
      counters: ["ip_ttl_err"],
      log: "Invalid TTL/HL from 192.0.2.2: received 254, expected 255",
    },
    {
      packet: ipv6({ hopLimit: 64 }),
      view: view6(),
      counters: ["ip_ttl_err"],
      log: "Invalid TTL/HL from fe80::2: received 64, expected 255",
    },
  ],
  version_mismatch: [
    {
      packet: ipv6({ version: 2 }),
      view: view6(),
      counters: ["vers_err"],
      log: "Wrong VRRP version from fe80::2: received 2, expected 3",
    },
    {
      // The v2 auth-data field is framed by the packet's own version, so a v2/v3 mix is
      // reported as a version mismatch, not as a length error.
      packet: ipv4({ version: 2 }),
      view: view(),
      counters: ["vers_err"],
      log: "received 2, expected 3",
    },
    {
      packet: ipv4({ version: 3 }),
      view: view({ version: 2 }),
      counters: ["vers_err"],
      log: "received 3, expected 2",
    },
  ],
  auth_ext_missing: {
    packet: ipv4(),
    view: view({ authExtension: extension({ ok: false, reason: "auth_ext_missing" }) }),
    counters: ["auth_ext_missing"],
    log: "Missing authentication trailer from 192.0.2.2",
  },
  auth_ext_malformed: {
    packet: ipv4({ trailer: 28 }),
    view: view({ authExtension: extension({ ok: false, reason: "auth_ext_malformed" }) }),
    counters: ["auth_ext_malformed"],
    log: "Malformed authentication trailer from 192.0.2.2",
  },
  auth_ext_unknown_key: {
    packet: ipv4({ trailer: 28 }),
    view: view({
      authExtension: extension({
        ok: false,
        reason: "auth_ext_unknown_key",
        log: "Unknown authentication key id 7 from 192.0.2.2",
      }),
    }),
    counters: ["auth_ext_unknown_key"],
    log: "Unknown authentication key id 7 from 192.0.2.2",
  },
  auth_ext_invalid_hmac: {
    packet: ipv4({ trailer: 28 }),
    view: view({ authExtension: extension({ ok: false, reason: "auth_ext_invalid_hmac" }) }),
    counters: ["auth_ext_invalid_hmac"],
    log: "Invalid authentication HMAC from 192.0.2.2",
  },
  auth_ext_stale: {
    packet: ipv4({ trailer: 28 }),
    view: view({ authExtension: extension({ ok: false, reason: "auth_ext_stale" }) }),
    counters: ["auth_ext_stale"],
    log: "Stale authentication trailer from 192.0.2.2",
  },
  auth_ext_replay: {
    packet: ipv4({ trailer: 28 }),
    view: view({ authExtension: extension({ ok: false, reason: "auth_ext_replay" }) }),
    counters: ["auth_ext_replay"],
    log: "Replayed authentication trailer from 192.0.2.2",
  },
  auth_ext_not_peer: {
    packet: ipv4({ trailer: 28, destination: ME4, source: STRANGER4 }),
    view: unicastView({
      authExtension: extension({ ok: false, reason: "auth_ext_not_peer" }),
    }),
    counters: [],
    log: "not from a unicast peer: 192.0.2.99",
  },
  invalid_auth_type: {
    packet: ipv4({ version: 2 }, setVrrp(4, 3)),
    view: view({ version: 2 }),
    counters: ["invalid_authtype"],
    log: "Invalid authentication type 3 from 192.0.2.2",
  },
  auth_type_mismatch: [
    {
      packet: ipv4({ version: 2, authType: 1, password: "secret" }),
      view: view({ version: 2 }),
      counters: ["authtype_mismatch"],
      log: "Received authentication type 1 from 192.0.2.2, expecting 0",
    },
    {
      packet: ipv4({ version: 2 }),
      view: view({ version: 2, auth: { type: 1, password: authPassBytes("secret") } }),
      counters: ["authtype_mismatch"],
      log: "Received authentication type 0 from 192.0.2.2, expecting 1",
    },
  ],
  auth_pass_mismatch: {
    packet: ipv4({ version: 2, authType: 1, password: "secreT" }),
    view: view({ version: 2, auth: { type: 1, password: authPassBytes("secret") } }),
    counters: ["auth_failure"],
    log: "Received an incorrect authentication password from 192.0.2.2",
  },
  ah_next_header: {
    packet: ipv4Ah(6),
    view: view({ version: 2, auth: { type: 2, verify: () => ({ ok: true }) } }),
    counters: [],
    log: "IPsec AH next header 6 from 192.0.2.2 is not VRRP (112)",
  },
  ah_failure: [
    {
      packet: ipv4Ah(),
      view: view({ version: 2, auth: { type: 2, verify: () => ({ ok: false }) } }),
      counters: ["auth_failure"],
      log: "IPsec AH authentication of the advert from 192.0.2.2 failed",
    },
    {
      packet: ipv4Ah(),
      view: view({
        version: 2,
        auth: { type: 2, verify: () => ({ ok: false, log: "AH sequence 1 already processed" }) },
      }),
      counters: ["auth_failure"],
      log: "AH sequence 1 already processed",
    },
  ],
  v2_interval_mismatch: {
    packet: ipv4({ version: 2, interval: 2 }),
    view: view({ version: 2 }),
    counters: [],
    log: "Advertisement interval mismatch from 192.0.2.2: mine 1 s, received 2 s",
  },
  invalid_type: {
    packet: ipv4({}, setVrrp(0, 0x32)),
    view: view(),
    counters: ["invalid_type_rcvd"],
    log: "Invalid packet type 2 from 192.0.2.2, expected 1",
  },
  ip_length_mismatch: {
    packet: ipv4({}, (d) => {
      d[3] = 40;
    }),
    view: view(),
    counters: ["packet_len_err"],
    log: "IP total length 40 from 192.0.2.2 does not match the 32 bytes received",
  },
  invalid_checksum: [
    {
      packet: ipv4({}, setVrrp(7, 0)),
      view: view(),
      counters: ["chk_err"],
      log: "Invalid VRRPv3 checksum from 192.0.2.2",
    },
    {
      packet: ipv4({ version: 2 }, setVrrp(6, 0)),
      view: view({ version: 2 }),
      counters: ["chk_err"],
      log: "Invalid VRRPv2 checksum from 192.0.2.2",
    },
    {
      // RFC 9568 style at a default receiver (§1.8).
      packet: ipv4({ asV2: true }),
      view: view(),
      counters: ["chk_err"],
      log: "Invalid VRRPv3 checksum",
    },
  ],
  destination_mismatch: [
    {
      packet: ipv4({ destination: ME4 }),
      view: view(),
      counters: ["addr_list_err"],
      log: "Received a unicast advert from 192.0.2.2 for a multicast instance",
    },
    {
      packet: ipv4(),
      view: unicastView(),
      counters: ["addr_list_err"],
      log: "Received a multicast advert from 192.0.2.2 for a unicast instance",
    },
  ],
  owner_ignore_adverts: {
    packet: ipv4(),
    view: view({ ownerIgnoreAdverts: true, effectivePriority: 255 }),
    counters: [],
    log: "Ignoring the advert from 192.0.2.2: address owner with owner_ignore_adverts",
  },
  not_unicast_peer: [
    {
      packet: ipv4({ source: STRANGER4, destination: ME4 }),
      view: unicastView({ checkUnicastSrc: true }),
      counters: ["advert_rcvd"],
      log: "Advert source 192.0.2.99 is not a unicast peer",
    },
    {
      // Step 17 counted the VIP mismatch before step 18 rejected the source.
      packet: ipv4({ source: STRANGER4, destination: ME4, addresses: [VIP4B] }),
      view: unicastView({ checkUnicastSrc: true }),
      counters: ["advert_rcvd", "addr_list_err"],
      log: "is not a unicast peer",
    },
  ],
  peer_ttl_out_of_range: [
    {
      packet: ipv4({ destination: ME4, ttl: 10 }),
      view: unicastView({
        checkUnicastSrc: true,
        unicastPeers: [{ address: PEER4, minTtl: 20, maxTtl: 255 }],
      }),
      counters: ["advert_rcvd", "ip_ttl_err"],
      log: "TTL/HL 10 from unicast peer 192.0.2.2 is outside min_ttl 20 to max_ttl 255",
    },
    {
      packet: ipv4({ destination: ME4, ttl: 255 }),
      view: unicastView({
        checkUnicastSrc: true,
        unicastPeers: [{ address: PEER4, minTtl: 0, maxTtl: 64 }],
      }),
      counters: ["advert_rcvd", "ip_ttl_err"],
      log: "TTL/HL 255 from unicast peer",
    },
  ],
};

for (const reason of REJECT_REASONS) {
  const cases = CASES[reason];
  for (const [i, c] of (Array.isArray(cases) ? cases : [cases]).entries()) {
    Deno.test(`validateAdvert rejects with '${reason}' (case ${i + 1}) and its counters`, () => {
      const r = rejected(validateAdvert(c.packet, c.view));
      assertEquals(r.reason, reason, r.log);
      assertEquals([...r.counters], c.counters);
      assertStringIncludes(r.log, c.log);
    });
  }
}

Deno.test("rejectionCounters gives each reason its keepalived counter (§1.11, §6.4)", () => {
  const expected: Record<string, CounterName[]> = {
    ah_mismatch: ["authtype_mismatch"],
    too_short: ["packet_len_err"],
    too_long: ["packet_len_err"],
    ttl_not_255: ["ip_ttl_err"],
    version_mismatch: ["vers_err"],
    invalid_auth_type: ["invalid_authtype"],
    auth_type_mismatch: ["authtype_mismatch"],
    auth_pass_mismatch: ["auth_failure"],
    ah_failure: ["auth_failure"],
    invalid_type: ["invalid_type_rcvd"],
    ip_length_mismatch: ["packet_len_err"],
    invalid_checksum: ["chk_err"],
    destination_mismatch: ["addr_list_err"],
    not_unicast_peer: ["advert_rcvd"],
    peer_ttl_out_of_range: ["advert_rcvd", "ip_ttl_err"],
  };
  for (const r of AUTH_EXT_REASONS) {
    expected[r] = r === "auth_ext_not_peer" ? [] : [r];
  }
  for (const reason of REJECT_REASONS) {
    assertEquals([...rejectionCounters(reason)], expected[reason] ?? [], reason);
  }
  // v2 interval mismatches are dropped without counting: advert_interval_err stays 0.
  assertEquals([...rejectionCounters("v2_interval_mismatch")], []);
});

Deno.test("the reasons are distinct", () => {
  assertEquals(new Set(REJECT_REASONS).size, REJECT_REASONS.length);
});

// ---- acceptance ----

Deno.test("a well-formed advert is accepted and counted as received", () => {
  const r = accepted(validateAdvert(ipv4(), view()));
  assertEquals([...r.counters], ["advert_rcvd"]);
  assertEquals(r.warnings.length, 0);
  assertEquals(r.advert.priority, 150);
  assertEquals(r.advert.source, PEER4);
});

Deno.test("every form is accepted: v2/v3 over IPv4/IPv6, multicast and unicast", () => {
  for (const version of [2, 3] as const) {
    accepted(validateAdvert(ipv4({ version }), view({ version })));
    accepted(
      validateAdvert(ipv4({ version, destination: ME4, ttl: 64 }), unicastView({ version })),
    );
    accepted(validateAdvert(ipv6({ version }), view6({ version })));
    accepted(
      validateAdvert(
        ipv6({ version, destination: ME6, hopLimit: 64 }),
        view6({ version, unicastPeers: [{ address: PEER6, minTtl: 0, maxTtl: 255 }] }),
      ),
    );
  }
});

Deno.test("priority 0 adverts count pri_zero_rcvd as well", () => {
  const r = accepted(validateAdvert(ipv4({ priority: 0 }), view()));
  assertEquals([...r.counters], ["advert_rcvd", "pri_zero_rcvd"]);
});

Deno.test("a multicast hop limit is not checked when the kernel gave none (§1.7)", () => {
  accepted(validateAdvert(ipv6({ hopLimit: undefined }), view6()));
});

Deno.test("unicast adverts need no TTL 255 and any source passes without source checking", () => {
  const r = accepted(
    validateAdvert(ipv4({ destination: ME4, ttl: 1, source: STRANGER4 }), unicastView()),
  );
  assertEquals([...r.counters], ["advert_rcvd"]);
});

Deno.test("a configured unicast peer inside its TTL range passes source checking", () => {
  accepted(
    validateAdvert(
      ipv4({ destination: ME4, ttl: 64 }),
      unicastView({
        checkUnicastSrc: true,
        unicastPeers: [
          { address: v4("192.0.2.3"), minTtl: 0, maxTtl: 255 },
          { address: PEER4, minTtl: 64, maxTtl: 64 },
        ],
      }),
    ),
  );
});

Deno.test("a VRRPv3 interval mismatch is accepted with a note (backups adopt it, §1.9)", () => {
  const r = accepted(validateAdvert(ipv4({ interval: 200 }), view()));
  assertEquals(r.warnings.map((w) => w.kind), ["interval_mismatch"]);
  assertStringIncludes(
    r.warnings[0]?.log ?? "",
    "Advertisement interval mismatch from 192.0.2.2: mine 1000 ms, received 2000 ms",
  );
  assertEquals(r.advert.advertIntervalUs, 2_000_000);
  assertEquals([...r.counters], ["advert_rcvd"]);
});

Deno.test("an address count mismatch is counted in addr_list_err but accepted (§7 #6)", () => {
  const r = accepted(validateAdvert(ipv4({ addresses: [VIP4, VIP4B] }), view()));
  assertEquals([...r.counters], ["advert_rcvd", "addr_list_err"]);
  assertEquals(r.warnings.map((w) => w.kind), ["address_count_mismatch"]);
  assertStringIncludes(r.warnings[0]?.log ?? "", "invalid ip number count 2 from 192.0.2.2");
});

Deno.test("a missing VIP is counted and logged but accepted; order does not matter", () => {
  const r = accepted(validateAdvert(ipv4({ addresses: [VIP4B] }), view()));
  assertEquals([...r.counters], ["advert_rcvd", "addr_list_err"]);
  assertEquals(r.warnings.map((w) => w.kind), ["address_missing"]);
  assertStringIncludes(r.warnings[0]?.log ?? "", "Address 192.0.2.100 of VRID 51 is not in");
  const both = accepted(
    validateAdvert(ipv4({ addresses: [VIP4B, VIP4] }), view({ vips: [VIP4, VIP4B] })),
  );
  assertEquals(both.warnings.length, 0);
  const pri0 = accepted(validateAdvert(ipv4({ addresses: [VIP4B], priority: 0 }), view()));
  assertEquals([...pri0.counters], ["advert_rcvd", "addr_list_err", "pri_zero_rcvd"]);
});

Deno.test("skip_check_adv_addr skips the VIP check only for the current master", () => {
  const p = ipv4({ addresses: [VIP4B] });
  const same = accepted(
    validateAdvert(p, view({ skipCheckAdvAddr: true, masterAddress: PEER4.slice() })),
  );
  assertEquals(same.warnings.length, 0);
  assertEquals([...same.counters], ["advert_rcvd"]);
  const other = accepted(
    validateAdvert(p, view({ skipCheckAdvAddr: true, masterAddress: STRANGER4 })),
  );
  assertEquals(other.warnings.map((w) => w.kind), ["address_missing"]);
  const none = accepted(validateAdvert(p, view({ skipCheckAdvAddr: true })));
  assertEquals(none.warnings.map((w) => w.kind), ["address_missing"]);
  // The count is always compared.
  const count = accepted(
    validateAdvert(
      ipv4({ addresses: [VIP4, VIP4B] }),
      view({ skipCheckAdvAddr: true, masterAddress: PEER4 }),
    ),
  );
  assertEquals(count.warnings.map((w) => w.kind), ["address_count_mismatch"]);
});

Deno.test("a v3_checksum_as_v2 receiver accepts both VRRPv3 IPv4 checksum forms (§1.8)", () => {
  accepted(validateAdvert(ipv4({ asV2: true }), view({ v3ChecksumAsV2: true })));
  accepted(validateAdvert(ipv4({ asV2: false }), view({ v3ChecksumAsV2: true })));
  const bad = rejected(
    validateAdvert(ipv4({ asV2: true }, setVrrp(7, 0)), view({ v3ChecksumAsV2: true })),
  );
  assertEquals(bad.reason, "invalid_checksum");
});

/** A unicast VRRPv3 advert checksummed as pre-1.3.6 keepalived did (group as destination). */
function oldUnicast(): ReceivedIPv4 {
  return ipv4({ destination: ME4 }, (d) => {
    const msg = d.subarray(20);
    writeChecksum(msg, 0);
    writeChecksum(msg, vrrpV3IPv4Checksum(msg, PEER4, GROUP4));
  });
}

Deno.test("the pre-1.3.6 unicast checksum is detected and reported when detection is on", () => {
  const r = accepted(validateAdvert(oldUnicast(), unicastView({ detectOldUnicastChecksum: true })));
  assertEquals(r.warnings.map((w) => w.kind), ["old_unicast_checksum"]);
  assertStringIncludes(r.warnings[0]?.log ?? "", "Setting unicast VRRPv3 checksum to old version");
  const never = rejected(validateAdvert(oldUnicast(), unicastView()));
  assertEquals(never.reason, "invalid_checksum");
  const switched = accepted(
    validateAdvert(oldUnicast(), unicastView({ oldUnicastChecksum: true })),
  );
  assertEquals(switched.warnings.length, 0);
  // Once switched, the current form is no longer what the instance expects.
  const current = rejected(
    validateAdvert(ipv4({ destination: ME4 }), unicastView({ oldUnicastChecksum: true })),
  );
  assertEquals(current.reason, "invalid_checksum");
});

Deno.test("Ethernet padding after a short IPv4 advert is accepted (§1.11 steps 2 and 12)", () => {
  const d = ipv4().datagram;
  const padded = new Uint8Array(46);
  padded.set(d);
  const r = accepted(validateAdvert({ family: 4, datagram: padded }, view()));
  assertEquals(r.advert.padding, 14);
  // With the IP total length covering the padding as well.
  padded[3] = 46;
  accepted(validateAdvert({ family: 4, datagram: padded }, view()));
});

Deno.test("PASS authentication accepts the right password and compares all 8 bytes", () => {
  const v = view({ version: 2, auth: { type: 1, password: authPassBytes("secret") } });
  accepted(validateAdvert(ipv4({ version: 2, authType: 1, password: "secret" }), v));
  const trailingByte = ipv4({ version: 2, authType: 1, password: "secret" }, (d) => {
    d[39] = 1;
    const msg = d.subarray(20);
    writeChecksum(msg, vrrpV2Checksum(msg));
  });
  assertEquals(rejected(validateAdvert(trailingByte, v)).reason, "auth_pass_mismatch");
});

Deno.test("a legacy AH advert goes to the AH verifier after the next-header check", () => {
  const seen: DecodedAdvert[] = [];
  const v = view({
    version: 2,
    auth: {
      type: 2,
      verify(a) {
        seen.push(a);
        return { ok: true };
      },
    },
  });
  accepted(validateAdvert(ipv4Ah(), v));
  assertEquals(seen.length, 1);
  assertEquals(seen[0]?.ah?.spi, 0xc0000202);
});

Deno.test("the authentication extension sees the trailer, the clock and can add a note", () => {
  const seen: { advert?: DecodedAdvert; now?: number } = {};
  const v = view({ authExtension: extension({ ok: true, warning: "clock skew 3 s" }, seen) });
  const p = ipv4({ trailer: 28 }, (d) => d.fill(0x77, 32));
  const r = accepted(validateAdvert(p, v, 1_700_000_000_000));
  assertEquals(seen.now, 1_700_000_000_000);
  assertEquals(seen.advert?.trailer, new Uint8Array(28).fill(0x77));
  assertEquals(r.warnings, [{ kind: "auth_ext_clock_skew", log: "clock skew 3 s" }]);
  // Without a trailer the extension is asked too (permissive modes accept that).
  const plain: { advert?: DecodedAdvert } = {};
  accepted(validateAdvert(ipv4(), view({ authExtension: extension({ ok: true }, plain) })));
  assertEquals(plain.advert?.trailer, undefined);
});

Deno.test("checks run in keepalived's order: the first failure wins", () => {
  // Wrong TTL (step 3) and wrong type (step 11) and bad checksum (step 14): TTL wins.
  const p = ipv4({ ttl: 1 }, setVrrp(0, 0x32));
  assertEquals(rejected(validateAdvert(p, view())).reason, "ttl_not_255");
  // VRRPv2 bad password (step 8) before interval (step 10) before type (step 11).
  const v2 = view({ version: 2, auth: { type: 1, password: authPassBytes("a") } });
  const q = ipv4({ version: 2, authType: 1, password: "b", interval: 5 }, setVrrp(0, 0x22));
  assertEquals(rejected(validateAdvert(q, v2)).reason, "auth_pass_mismatch");
  // The extension (step 5) runs before legacy auth checks (step 6) and after the version.
  const ext = view({
    version: 2,
    authExtension: extension({ ok: false, reason: "auth_ext_invalid_hmac" }),
  });
  assertEquals(
    rejected(validateAdvert(ipv4({ version: 2 }, setVrrp(4, 9)), ext)).reason,
    "auth_ext_invalid_hmac",
  );
  // Destination (step 15) before owner_ignore_adverts (step 16).
  const owner = view({ ownerIgnoreAdverts: true, effectivePriority: 255 });
  assertEquals(
    rejected(validateAdvert(ipv4({ destination: ME4 }), owner)).reason,
    "destination_mismatch",
  );
  // owner_ignore_adverts only applies at priority 255.
  accepted(validateAdvert(ipv4(), view({ ownerIgnoreAdverts: true, effectivePriority: 254 })));
});

Deno.test("notes gathered before a later rejection are kept with it", () => {
  const r = rejected(
    validateAdvert(
      ipv4({ interval: 300 }, setVrrp(7, 0)),
      view(),
    ),
  );
  assertEquals(r.reason, "invalid_checksum");
  assertEquals(r.warnings.map((w) => w.kind), ["interval_mismatch"]);
});

Deno.test("validateAdvert takes a few microseconds", () => {
  const p = ipv4({ addresses: [VIP4, VIP4B] });
  const v = view({ vips: [VIP4, VIP4B] });
  for (let i = 0; i < 2000; i++) validateAdvert(p, v, 0);
  const n = 20000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) assert(validateAdvert(p, v, 0).ok);
  const perCallUs = ((performance.now() - t0) * 1000) / n;
  // Generous bound so a loaded CI machine passes; typical is well under 2 µs.
  assert(perCallUs < 50, `validateAdvert took ${perCallUs.toFixed(2)} µs per call`);
});
