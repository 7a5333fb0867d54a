import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { GROUP4, hex, refChecksum, v4, v6, VECTOR_A, WORKED, WORKED_SRC } from "./_packets.ts";
import {
  addressLength,
  advertAddress,
  advertAddresses,
  advertHasAddress,
  advertIntervalFromWire,
  advertIntervalToWire,
  advertLength,
  type AdvertSpec,
  AUTH_PASS,
  authPassBytes,
  buildIPv4Header,
  decodeAdvert,
  type DecodedAdvert,
  type DecodeResult,
  encodeAdvert,
  encodeAdvertInto,
  encodeIPv4Datagram,
  IPPROTO_AH,
  IPPROTO_VRRP,
  MAX_ADDRESSES,
  maxAdvertAddresses,
  nextIpId,
  peekAdvert,
  PRIORITY_DEFAULT,
  PRIORITY_OWNER,
  PRIORITY_STOP,
  setAdvertChecksum,
  vmacAddress,
  VRRP_GROUP4,
  VRRP_GROUP6,
  VRRP_TOS,
  VRRP_TTL,
  vrrpGroup,
} from "../../lib/vrrp/packet.ts";
import { vrrpIPv6Checksum } from "../../lib/vrrp/checksum.ts";
import { formatIp } from "../../lib/net/ipaddr.ts";

function decoded(r: DecodeResult): DecodedAdvert {
  if (!r.ok) throw new Error(`decode failed: ${r.error} (${r.received} vs ${r.expected})`);
  return r.advert;
}

function ipv4Addresses(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => new Uint8Array([10, 1, i >> 8, i & 0xff]));
}

function ipv6Addresses(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => {
    const a = v6("2001:db8::");
    a[14] = i >> 8;
    a[15] = i & 0xff;
    return a;
  });
}

const GROUP6 = v6("ff02::12");
const SRC4 = v4("192.0.2.10");
const PEER4 = v4("192.0.2.20");
const SRC6 = v6("fe80::10");
const PEER6 = v6("fe80::20");

// ---- constants ----

Deno.test("protocol constants are keepalived's (spec §1.1)", () => {
  assertEquals(IPPROTO_VRRP, 112);
  assertEquals(IPPROTO_AH, 51);
  assertEquals([VRRP_GROUP4, VRRP_GROUP6], ["224.0.0.18", "ff02::12"]);
  assertEquals(formatIp({ family: 4, bytes: vrrpGroup(4) }), VRRP_GROUP4);
  assertEquals(formatIp({ family: 6, bytes: vrrpGroup(6) }), VRRP_GROUP6);
  assertEquals([VRRP_TTL, VRRP_TOS, MAX_ADDRESSES], [255, 0xc0, 255]);
  assertEquals([PRIORITY_OWNER, PRIORITY_DEFAULT, PRIORITY_STOP], [255, 100, 0]);
  assertEquals([addressLength(4), addressLength(6)], [4, 16]);
});

Deno.test("vmacAddress is 00:00:5e:00:01:VRID for IPv4 and :02: for IPv6", () => {
  assertEquals(vmacAddress(4, 51), hex("00 00 5e 00 01 33"));
  assertEquals(vmacAddress(6, 255), hex("00 00 5e 00 02 ff"));
  assertThrows(() => vmacAddress(4, 0), RangeError, "VRID '0'");
});

Deno.test("advert intervals convert to seconds (v2) and centiseconds (v3) and back", () => {
  assertEquals(advertIntervalToWire(2, 1_000_000), 1);
  assertEquals(advertIntervalToWire(2, 255_000_000), 255);
  assertEquals(advertIntervalToWire(3, 10_000), 1);
  assertEquals(advertIntervalToWire(3, 40_950_000), 4095);
  assertEquals(advertIntervalFromWire(2, 3), 3_000_000);
  assertEquals(advertIntervalFromWire(3, 100), 1_000_000);
  assertThrows(() => advertIntervalToWire(3, 40_960_000), RangeError, "0.01 to 40.95 s");
  assertThrows(() => advertIntervalToWire(2, 256_000_000), RangeError, "1 to 255 s");
});

Deno.test("authPassBytes NUL-pads to 8 bytes and cuts longer passwords", () => {
  assertEquals(authPassBytes("secret"), hex("73 65 63 72 65 74 00 00"));
  assertEquals(authPassBytes("12345678"), hex("31 32 33 34 35 36 37 38"));
  assertEquals(authPassBytes("123456789"), hex("31 32 33 34 35 36 37 38"));
});

Deno.test("maxAdvertAddresses follows keepalived's MTU formula and the 255 cap (§1.10)", () => {
  assertEquals(maxAdvertAddresses({ mtu: 1500, family: 4, version: 3 }), 255);
  // (1500 − 14 − 40 − 8) / 16 = 89.875
  assertEquals(maxAdvertAddresses({ mtu: 1500, family: 6, version: 3 }), 89);
  assertEquals(maxAdvertAddresses({ mtu: 1500, family: 6, version: 3, trailerLength: 28 }), 88);
  // (576 − 14 − 20 − 8 − 8) / 4 = 131.5; AH takes 24 more bytes.
  assertEquals(maxAdvertAddresses({ mtu: 576, family: 4, version: 2 }), 131);
  assertEquals(maxAdvertAddresses({ mtu: 576, family: 4, version: 2, ah: true }), 125);
  assertEquals(maxAdvertAddresses({ mtu: 576, family: 4, version: 3 }), 133);
  assertEquals(maxAdvertAddresses({ mtu: 40, family: 4, version: 3 }), 0);
});

// ---- known-good bytes ----

Deno.test("encodeAdvert writes a VRRPv2 IPv4 PASS advert laid out as RFC 3768", () => {
  const msg = encodeAdvert({
    version: 2,
    family: 4,
    vrid: 51,
    priority: 100,
    advertInterval: 1,
    addresses: [v4("10.0.0.100")],
    authType: AUTH_PASS,
    authData: authPassBytes("secret"),
  });
  const body = [
    0x21,
    0x33,
    0x64,
    0x01,
    0x01,
    0x01,
    0,
    0,
    10,
    0,
    0,
    100,
    ...authPassBytes("secret"),
  ];
  const sum = refChecksum(body);
  body[6] = sum >> 8;
  body[7] = sum & 0xff;
  assertEquals(msg, new Uint8Array(body));
});

Deno.test("encodeAdvert reproduces the captured VRRPv3 IPv4 advert of spec §1.8", () => {
  const msg = encodeAdvert(
    {
      version: 3,
      family: 4,
      vrid: 51,
      priority: 200,
      advertInterval: 100,
      addresses: [v4("10.77.0.100")],
    },
    { source: WORKED_SRC, destination: GROUP4 },
  );
  assertEquals(msg, WORKED);
});

Deno.test("encodeAdvert with v3ChecksumAsV2 reproduces the message of vector A (§2.3.13)", () => {
  const spec: AdvertSpec = {
    version: 3,
    family: 4,
    vrid: 51,
    priority: 200,
    advertInterval: 100,
    addresses: [v4("192.0.2.100")],
  };
  assertEquals(
    encodeAdvert(spec, { v3ChecksumAsV2: true }),
    VECTOR_A,
  );
});

Deno.test("encodeAdvert leaves IPv6 checksums to the kernel; vector B is message + trailer", () => {
  const msg = encodeAdvert({
    version: 3,
    family: 6,
    vrid: 51,
    priority: 200,
    advertInterval: 100,
    addresses: [v6("fe80::100")],
  });
  assertEquals(msg, hex("31 33 c8 01 00 64 00 00 fe 80 00 00 00 00 00 00 00 00 00 00 00 00 01 00"));
  const trailer = hex(
    "01 01 00 00 68 00 00 00 80 00 00 00 c8 c5 61 46 eb fd 66 ee 10 ec 4d 81 86 46 1b 78",
  );
  const payload = new Uint8Array([...msg, ...trailer]);
  const sum = vrrpIPv6Checksum(payload, SRC6, PEER6);
  assertEquals(sum, 0xa2e9);
  payload[6] = sum >> 8;
  payload[7] = sum & 0xff;
  const a = decoded(
    decodeAdvert(
      { family: 6, payload, source: SRC6, destination: PEER6, hopLimit: 64 },
      { trailerLength: 28 },
    ),
  );
  assertEquals(a.trailer, trailer);
  assertEquals(a.message, payload.subarray(0, 24));
  assertEquals(a.checksum, 0xa2e9);
  assertEquals(a.ttl, 64);
});

Deno.test("encodeAdvert of VRRPv2 over IPv6 has no auth-data field (§1.2)", () => {
  const msg = encodeAdvert({
    version: 2,
    family: 6,
    vrid: 9,
    priority: 100,
    advertInterval: 2,
    addresses: [v6("2001:db8::1")],
  });
  assertEquals(msg.length, 8 + 16);
  assertEquals([...msg.subarray(0, 8)], [0x21, 9, 100, 1, 0, 2, 0, 0]);
});

Deno.test("buildIPv4Header matches keepalived's header: TOS c0, no DF, TTL 255, proto 112", () => {
  const h = buildIPv4Header({ source: SRC4, destination: GROUP4, payloadLength: 12, id: 1 });
  assertEquals(
    h,
    new Uint8Array([0x45, 0xc0, 0, 32, 0, 1, 0, 0, 255, 112, 0, 0, ...SRC4, ...GROUP4]),
  );
});

Deno.test("buildIPv4Header computes the header checksum only when asked", () => {
  const spec = {
    source: SRC4,
    destination: PEER4,
    payloadLength: 20 + 28,
    id: 0x1234,
    ttl: 10,
    protocol: IPPROTO_AH,
    checksum: true,
  };
  const h = buildIPv4Header(spec);
  const raw = [0x45, 0xc0, 0, 68, 0x12, 0x34, 0, 0, 10, 51, 0, 0, ...SRC4, ...PEER4];
  const sum = refChecksum(raw);
  raw[10] = sum >> 8;
  raw[11] = sum & 0xff;
  assertEquals(h, new Uint8Array(raw));
  const out = new Uint8Array(30);
  buildIPv4Header({ ...spec, checksum: false }, out, 5);
  assertEquals(out.subarray(5, 15), new Uint8Array(raw.slice(0, 10)));
  assertEquals([out[15], out[16]], [0, 0]);
});

Deno.test("nextIpId counts 1, 2, … 65535 and wraps to 1, never 0 (§1.4)", () => {
  assertEquals(nextIpId(0), 1);
  assertEquals(nextIpId(1), 2);
  assertEquals(nextIpId(65534), 65535);
  assertEquals(nextIpId(65535), 1);
});

Deno.test("encodeIPv4Datagram is header + message and reserves trailer bytes", () => {
  const spec: AdvertSpec = {
    version: 3,
    family: 4,
    vrid: 1,
    priority: 255,
    advertInterval: 100,
    addresses: [v4("192.0.2.1")],
  };
  const d = encodeIPv4Datagram(spec, {
    source: SRC4,
    destination: GROUP4,
    id: 7,
    trailerLength: 28,
  });
  assertEquals(d.length, 20 + 12 + 28);
  assertEquals([d[2], d[3]], [0, 60]);
  assertEquals(d.subarray(20, 32), encodeAdvert(spec, { source: SRC4, destination: GROUP4 }));
  assertEquals(d.subarray(32), new Uint8Array(28));
  const unicast = encodeIPv4Datagram(spec, { source: SRC4, destination: PEER4, id: 7, ttl: 5 });
  assertEquals(unicast[8], 5);
});

Deno.test("setAdvertChecksum patches the VRRPv3 IPv4 checksum per unicast peer", () => {
  const spec: AdvertSpec = {
    version: 3,
    family: 4,
    vrid: 1,
    priority: 100,
    advertInterval: 100,
    addresses: [v4("192.0.2.1")],
  };
  const msg = encodeAdvert(spec, { source: SRC4, destination: PEER4 });
  const other = v4("192.0.2.30");
  setAdvertChecksum(msg, 4, { source: SRC4, destination: other });
  assertEquals(msg, encodeAdvert(spec, { source: SRC4, destination: other }));
  assertThrows(() => setAdvertChecksum(msg, 4), TypeError, "source and destination");
});

// ---- encode errors ----

Deno.test("encodeAdvert refuses values the wire cannot carry", () => {
  const base: AdvertSpec = {
    version: 3,
    family: 4,
    vrid: 1,
    priority: 100,
    advertInterval: 100,
    addresses: [],
  };
  const o = { v3ChecksumAsV2: true };
  assertThrows(() => encodeAdvert({ ...base, vrid: 0 }, o), RangeError, "VRID '0'");
  assertThrows(() => encodeAdvert({ ...base, priority: 256 }, o), RangeError, "Priority '256'");
  assertThrows(() => encodeAdvert({ ...base, advertInterval: 4096 }, o), RangeError, "4095");
  assertThrows(() => encodeAdvert({ ...base, advertInterval: 0 }, o), RangeError, "(1 to 4095)");
  assertThrows(
    () => encodeAdvert({ ...base, version: 2, advertInterval: 256 }),
    RangeError,
    "(1 to 255)",
  );
  assertThrows(
    () => encodeAdvert({ ...base, addresses: ipv4Addresses(256) }, o),
    RangeError,
    "'256' is too large",
  );
  assertThrows(
    () => encodeAdvert({ ...base, addresses: [v6("::1")] }, o),
    RangeError,
    "4-byte addresses",
  );
  assertThrows(() => encodeAdvert({ ...base, authType: AUTH_PASS }, o), RangeError, "VRRPv2");
  assertThrows(
    () => encodeAdvert({ ...base, version: 2, family: 6, authType: AUTH_PASS }),
    RangeError,
    "IPv6",
  );
  assertThrows(() => encodeAdvert(base), TypeError, "v3ChecksumAsV2");
  assertThrows(
    () => encodeAdvertInto({ ...base, addresses: [v4("1.2.3.4")] }, new Uint8Array(11), 0, o),
    RangeError,
    "cannot hold",
  );
});

// ---- round trips ----

interface Form {
  version: 2 | 3;
  family: 4 | 6;
  unicast: boolean;
}

const FORMS: Form[] = [];
for (const version of [2, 3] as const) {
  for (const family of [4, 6] as const) {
    for (const unicast of [false, true]) FORMS.push({ version, family, unicast });
  }
}

function roundTrip(form: Form, addresses: Uint8Array[], priority = 150): DecodedAdvert {
  const spec: AdvertSpec = {
    version: form.version,
    family: form.family,
    vrid: 42,
    priority,
    advertInterval: form.version === 2 ? 3 : 250,
    addresses,
  };
  if (form.family === 4) {
    const destination = form.unicast ? PEER4 : GROUP4;
    const datagram = encodeIPv4Datagram(spec, {
      source: SRC4,
      destination,
      id: 300,
      ...(form.unicast ? { ttl: 64 } : {}),
    });
    const a = decoded(decodeAdvert({ family: 4, datagram }));
    assertEquals(a.destination, destination);
    assertEquals(a.source, SRC4);
    assertEquals(a.ttl, form.unicast ? 64 : 255);
    assertEquals(a.ip?.totalLength, datagram.length);
    assertEquals(a.ip?.id, 300);
    assertEquals(a.ip?.tos, 0xc0);
    assertEquals(a.ip?.protocol, 112);
    assertEquals(a.ip?.flagsFragment, 0);
    assertEquals(a.message, datagram.subarray(20));
    return a;
  }
  const payload = encodeAdvert(spec);
  const destination = form.unicast ? PEER6 : GROUP6;
  const a = decoded(
    decodeAdvert({ family: 6, payload, source: SRC6, destination, hopLimit: 255 }),
  );
  assertEquals(a.ip, undefined);
  assertEquals(a.message, payload);
  return a;
}

function checkFields(form: Form, a: DecodedAdvert, addresses: Uint8Array[], priority = 150) {
  assertEquals(a.family, form.family);
  assertEquals(a.version, form.version);
  assertEquals(a.type, 1);
  assertEquals(a.vrid, 42);
  assertEquals(a.priority, priority);
  assertEquals(a.count, addresses.length);
  assertEquals(a.advertIntervalUs, 3_000_000 - (form.version === 3 ? 500_000 : 0));
  assertEquals(advertAddresses(a), addresses);
  assertEquals(a.authType, 0);
  assertEquals(a.trailer, undefined);
  assertEquals(a.padding, 0);
  assertEquals(
    a.authData,
    form.version === 2 && form.family === 4 ? new Uint8Array(8) : undefined,
  );
  assertEquals(a.message.length, advertLength(form.version, form.family, addresses.length));
}

for (const form of FORMS) {
  const name = `v${form.version} IPv${form.family} ${form.unicast ? "unicast" : "multicast"}`;
  const make = form.family === 4 ? ipv4Addresses : ipv6Addresses;
  Deno.test(`${name} adverts with 0, 1 and 7 VIPs decode to what was encoded`, () => {
    for (const n of [0, 1, 7]) {
      const addrs = make(n);
      checkFields(form, roundTrip(form, addrs), addrs);
    }
  });
  Deno.test(`${name} adverts at the VIP limit for MTU 1500 round-trip; priority 0 too`, () => {
    const max = maxAdvertAddresses({ mtu: 1500, family: form.family, version: form.version });
    assertEquals(max, form.family === 4 ? 255 : 89);
    const addrs = make(max);
    checkFields(form, roundTrip(form, addrs, 0), addrs, 0);
  });
}

// ---- decoding details ----

function v3Datagram(addresses = [v4("192.0.2.1")]): Uint8Array {
  return encodeIPv4Datagram(
    { version: 3, family: 4, vrid: 7, priority: 100, advertInterval: 100, addresses },
    { source: SRC4, destination: GROUP4, id: 1 },
  );
}

Deno.test("decodeAdvert masks the VRRPv3 reserved bits and reports them", () => {
  const d = v3Datagram();
  d[24] = (d[24] as number) | 0xf0;
  const a = decoded(decodeAdvert({ family: 4, datagram: d }));
  assertEquals(a.reserved, 0xf);
  assertEquals(a.advertInterval, 100);
  assertEquals(a.advertIntervalUs, 1_000_000);
});

Deno.test("decodeAdvert follows the IHL past IPv4 options", () => {
  const plain = v3Datagram();
  const d = new Uint8Array(plain.length + 4);
  d.set(plain.subarray(0, 20));
  d[0] = 0x46;
  d.set([1, 1, 1, 0], 20); // NOP NOP NOP EOL
  d.set(plain.subarray(20), 24);
  d[3] = d.length;
  const a = decoded(decodeAdvert({ family: 4, datagram: d }));
  assertEquals(a.ip?.headerLength, 24);
  assertEquals(a.message, plain.subarray(20));
});

Deno.test("decodeAdvert rejects a malformed IPv4 header", () => {
  const d = v3Datagram();
  for (
    const bad of [
      d.subarray(0, 19),
      new Uint8Array([0x65, ...d.subarray(1)]),
      (() => {
        const x = d.slice();
        x[0] = 0x4f; // IHL 60 bytes, longer than the datagram
        return x;
      })(),
      (() => {
        const x = d.slice();
        x[0] = 0x44;
        return x;
      })(),
    ]
  ) {
    const r = decodeAdvert({ family: 4, datagram: bad });
    assertEquals(r.ok ? "ok" : r.error, "ip_header");
  }
});

Deno.test("decodeAdvert reports too short and too long against the count field", () => {
  const d = v3Datagram([v4("192.0.2.1"), v4("192.0.2.2")]);
  const short = decodeAdvert({ family: 4, datagram: d.subarray(0, d.length - 4) });
  assert(!short.ok);
  assertEquals([short.error, short.received, short.expected, short.vrid], ["too_short", 32, 36, 7]);
  const header = decodeAdvert({ family: 4, datagram: d.subarray(0, 25) });
  assert(!header.ok);
  assertEquals([header.error, header.expected, header.vrid], ["too_short", 28, 7]);
  const long = new Uint8Array(d.length + 4);
  long.set(d);
  const l = decodeAdvert({ family: 4, datagram: long });
  assert(!l.ok);
  assertEquals([l.error, l.received, l.expected], ["too_long", 40, 36]);
  assertEquals(l.source, SRC4);
});

Deno.test("decodeAdvert tolerates Ethernet minimum-frame padding on short IPv4 adverts", () => {
  const d = v3Datagram(); // 32 bytes, padded to the 46-byte minimum Ethernet payload
  for (const total of [34, 38, 42, 46, 50]) {
    const padded = new Uint8Array(total);
    padded.set(d);
    const a = decoded(decodeAdvert({ family: 4, datagram: padded }));
    assertEquals(a.padding, total - 32);
    assertEquals(a.message.length, 12);
  }
  for (const total of [33, 36, 44, 54]) {
    const padded = new Uint8Array(total);
    padded.set(d);
    const r = decodeAdvert({ family: 4, datagram: padded });
    assertEquals(r.ok ? "ok" : r.error, "too_long", `total ${total}`);
  }
  // Padding only explains a surplus after a message shorter than 46 bytes.
  const big = v3Datagram(ipv4Addresses(4)); // 44 bytes, padded to 46
  const padded = new Uint8Array(46);
  padded.set(big);
  const r = decodeAdvert({ family: 4, datagram: padded });
  assertEquals(r.ok ? "ok" : r.error, "ok");
  const bigger = v3Datagram(ipv4Addresses(5)); // 48 bytes: never padded
  const p2 = new Uint8Array(50);
  p2.set(bigger);
  const r2 = decodeAdvert({ family: 4, datagram: p2 });
  assertEquals(r2.ok ? "ok" : r2.error, "too_long");
});

Deno.test("decodeAdvert never takes IPv6 surplus for padding", () => {
  const payload = encodeAdvert({
    version: 3,
    family: 6,
    vrid: 1,
    priority: 100,
    advertInterval: 100,
    addresses: [v6("fe80::1")],
  });
  const longer = new Uint8Array(payload.length + 2);
  longer.set(payload);
  const r = decodeAdvert({ family: 6, payload: longer, source: SRC6, destination: GROUP6 });
  assertEquals(r.ok ? "ok" : r.error, "too_long");
});

Deno.test("decodeAdvert frames a trailer only when its length is expected", () => {
  const d = encodeIPv4Datagram(
    { version: 2, family: 4, vrid: 7, priority: 100, advertInterval: 1, addresses: [] },
    { source: SRC4, destination: GROUP4, id: 1, trailerLength: 28 },
  );
  d.fill(0xaa, 36);
  const withExt = decoded(decodeAdvert({ family: 4, datagram: d }, { trailerLength: 28 }));
  assertEquals(withExt.trailer, new Uint8Array(28).fill(0xaa));
  assertEquals(withExt.message.length, 16);
  assertEquals(withExt.authData, new Uint8Array(8));
  const without = decodeAdvert({ family: 4, datagram: d });
  assertEquals(without.ok ? "ok" : without.error, "too_long");
  const plain = d.slice(0, 36);
  plain[3] = 36;
  const noTrailer = decoded(decodeAdvert({ family: 4, datagram: plain }, { trailerLength: 28 }));
  assertEquals(noTrailer.trailer, undefined);
});

Deno.test("decodeAdvert parses a legacy AH header in front of the VRRPv2 message", () => {
  const spec: AdvertSpec = {
    version: 2,
    family: 4,
    vrid: 5,
    priority: 100,
    advertInterval: 1,
    addresses: [v4("192.0.2.1")],
    authType: 2,
  };
  const msg = encodeAdvert(spec);
  const d = new Uint8Array(20 + 24 + msg.length);
  buildIPv4Header(
    { source: SRC4, destination: GROUP4, payloadLength: 24 + msg.length, id: 1, protocol: 51 },
    d,
  );
  d.set([112, 4, 0, 0, ...SRC4, 0, 0, 0, 9], 20);
  d.fill(0x5a, 32, 44);
  d.set(msg, 44);
  const a = decoded(decodeAdvert({ family: 4, datagram: d }));
  assertEquals(a.ah?.nextHeader, 112);
  assertEquals(a.ah?.payloadLength, 4);
  assertEquals(a.ah?.spi, 0xc000020a);
  assertEquals(a.ah?.sequence, 9);
  assertEquals(a.ah?.icv, new Uint8Array(12).fill(0x5a));
  assertEquals(a.authType, 2);
  assertEquals(a.message, msg);
  assertEquals(peekAdvert({ family: 4, datagram: d })?.vrid, 5);
  const cut = decodeAdvert({ family: 4, datagram: d.subarray(0, 40) });
  assert(!cut.ok);
  assertEquals([cut.error, cut.ahPresent, cut.vrid], ["too_short", true, undefined]);
});

Deno.test("peekAdvert reads VRID and source without framing", () => {
  const d = v3Datagram();
  const p = peekAdvert({ family: 4, datagram: d });
  assertEquals(p?.vrid, 7);
  assertEquals(p?.source, SRC4);
  assertEquals(peekAdvert({ family: 4, datagram: d.subarray(0, 21) }), undefined);
  assertEquals(peekAdvert({ family: 4, datagram: d.subarray(0, 10) }), undefined);
  const payload = new Uint8Array([0x31, 99]);
  assertEquals(
    peekAdvert({ family: 6, payload, source: SRC6, destination: GROUP6 })?.vrid,
    99,
  );
  assertEquals(
    peekAdvert({ family: 6, payload: payload.subarray(0, 1), source: SRC6, destination: GROUP6 }),
    undefined,
  );
});

Deno.test("advertHasAddress and advertAddress look up VIPs in place", () => {
  const addrs = ipv4Addresses(3);
  const a = decoded(decodeAdvert({ family: 4, datagram: v3Datagram(addrs) }));
  assert(advertHasAddress(a, addrs[2] as Uint8Array));
  assert(!advertHasAddress(a, v4("10.1.0.3")));
  assert(!advertHasAddress(a, v6("::1")));
  assertEquals(advertAddress(a, 1), addrs[1]);
  assertThrows(() => advertAddress(a, 3), RangeError, "'3' is out of range");
});

Deno.test("decodeAdvert lays out unknown versions as VRRPv3 and VRRPv2 by the version nibble", () => {
  const d = v3Datagram();
  d[20] = 0x41;
  const a = decoded(decodeAdvert({ family: 4, datagram: d }));
  assertEquals([a.version, a.authType, a.advertInterval, a.authData], [4, 0, 100, undefined]);
  d[20] = 0x21; // now 8 auth-data bytes are expected: too short
  const r = decodeAdvert({ family: 4, datagram: d });
  assertEquals(r.ok ? "ok" : r.error, "too_short");
});
