/**
 * auth_hmac (lib/vrrp/auth_hmac.ts, lib/vrrp/key_ring.ts, lib/vrrp/serial64.ts) against
 * spec/vrrp.md §2.3: the official vectors A and B of §2.3.13 byte for byte (HMAC input and
 * trailer, signing and verifying), every negative case listed there, the sender's sequence
 * (clock steps back and recovery), replay marks (multicast LRU, forged packets not churning
 * it, unicast per peer, expiry), modes, the key ring's operations and wiping, and the
 * per-peer observations. A fake clock drives everything.
 */
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import {
  AUTH_HMAC_TRAILER_LENGTH,
  type AuthClock,
  AuthHmac,
  type AuthHmacSettings,
  hmacInput,
  MULTICAST_REPLAY_SLOTS,
  OBSERVED_SENDERS,
} from "../../lib/vrrp/auth_hmac.ts";
import { KeyRing, KeyRingError } from "../../lib/vrrp/key_ring.ts";
import { KeyedHmac } from "../../lib/vrrp/keyed_hmac.ts";
import { clockSerial, serialAfter, serialHex, serialNext } from "../../lib/vrrp/serial64.ts";
import {
  buildIPv4Header,
  decodeAdvert,
  type DecodedAdvert,
  type ReceivedPacket,
} from "../../lib/vrrp/packet.ts";
import { type InstanceView, validateAdvert } from "../../lib/vrrp/receive.ts";
import { hex, v4, v6 } from "./_packets.ts";

// ---- the vectors (§2.3.13) ----

const KEY = new Uint8Array(32).map((_, i) => i);
/** sec 0x68000000, subsec 0x8000 (0.5 s): the vectors' sequence, µs since the epoch. */
const VECTOR_TIME_US = 0x68000000 * 1e6 + 500_000;
const VECTOR_TIME_MS = VECTOR_TIME_US / 1000;

const A_MESSAGE = hex("31 33 c8 01 00 64 44 02 c0 00 02 64");
const A_TRAILER = hex(
  "01 01 00 00 68 00 00 00 80 00 00 00 1b 84 bc 4e 8e 43 89 2d c6 d9 84 48 f8 ee 22 65",
);
const A_SOURCE = v4("198.51.100.10");
const A_INPUT = hex(
  "04033300c633640a000000000000000000000000" + "3133c80100640000c0000264" +
    "010100006800000080000000" + "00000000000000000000000000000000",
);

const B_MESSAGE = hex("31 33 c8 01 00 64 a2 e9 fe 80 00 00 00 00 00 00 00 00 00 00 00 00 01 00");
const B_TRAILER = hex(
  "01 01 00 00 68 00 00 00 80 00 00 00 c8 c5 61 46 eb fd 66 ee 10 ec 4d 81 86 46 1b 78",
);
const B_SOURCE = v6("fe80::10");
const B_DESTINATION = v6("fe80::20");
const B_INPUT = hex(
  "06033300fe800000000000000000000000000010" +
    "3133c80100640000fe800000000000000000000000000100" + "010100006800000080000000" +
    "00000000000000000000000000000000",
);

/** A settable clock: realtime and monotonic µs. */
class Clock implements AuthClock {
  real = VECTOR_TIME_US;
  mono = 1_000_000;
  realtimeUs(): number {
    return this.real;
  }
  monotonicUs(): number {
    return this.mono;
  }
}

function settings(over: Partial<AuthHmacSettings> = {}): AuthHmacSettings {
  return {
    mode: "enforce",
    antiReplay: "monotonic",
    timeWindowS: 5,
    activeKey: 1,
    keyIds: [1],
    ...over,
  };
}

function ring(keys: Record<number, Uint8Array> = { 1: KEY }, active = 1): KeyRing {
  return KeyRing.from(new Map(Object.entries(keys).map(([k, v]) => [Number(k), v])), active);
}

function ext6(
  over: Partial<AuthHmacSettings> = {},
  opts: { vrid?: number; peers?: Uint8Array[]; keys?: Record<number, Uint8Array> } = {},
  clock = new Clock(),
): AuthHmac {
  return new AuthHmac(
    settings(over),
    { family: 6, version: 3, vrid: opts.vrid ?? 51, unicastPeers: opts.peers ?? [] },
    ring(opts.keys),
    clock,
  );
}

/** Vector B as a received IPv6 packet (optionally one byte XOR 0x01, optionally another source). */
function packetB(
  flip?: number,
  source = B_SOURCE,
  trailer = true,
): ReceivedPacket {
  const payload = trailer ? new Uint8Array([...B_MESSAGE, ...B_TRAILER]) : B_MESSAGE.slice();
  if (flip !== undefined) payload[flip] = (payload[flip] as number) ^ 0x01;
  return { family: 6, payload, source, destination: B_DESTINATION, hopLimit: 255 };
}

function decoded(p: ReceivedPacket): DecodedAdvert {
  const d = decodeAdvert(p, { trailerLength: AUTH_HMAC_TRAILER_LENGTH });
  assert(d.ok, "the test packet frames");
  return d.advert;
}

function reason(e: AuthHmac, p: ReceivedPacket, nowMs = VECTOR_TIME_MS): string {
  const v = e.check(decoded(p), nowMs);
  return v.ok ? "OK" : v.reason;
}

Deno.test("vector A (IPv4): the HMAC input and the signed trailer are the spec's, byte for byte", () => {
  assertEquals(hmacInput(4, 3, 51, A_SOURCE, A_MESSAGE, A_TRAILER), A_INPUT);
  const mac = new KeyedHmac("sha256", KEY);
  const out = new Uint8Array(32);
  mac.macInto(A_INPUT, out);
  assertEquals(out.subarray(0, 16), A_TRAILER.subarray(12));
  // Signing: the first advert after start takes the clock's sequence (§2.3.6).
  const e = new AuthHmac(
    settings(),
    { family: 4, version: 3, vrid: 51, unicastPeers: [] },
    ring(),
    new Clock(),
  );
  const trailer = new Uint8Array(28);
  e.sign(A_MESSAGE, trailer, A_SOURCE);
  assertEquals(trailer, A_TRAILER);
  assertEquals(serialHex(e.sendSequence), "6800000080000000");
});

Deno.test("vector B (IPv6): the HMAC input and the signed trailer are the spec's, byte for byte", () => {
  assertEquals(hmacInput(6, 3, 51, B_SOURCE, B_MESSAGE, B_TRAILER), B_INPUT);
  const e = ext6();
  const trailer = new Uint8Array(28);
  // The checksum bytes are hashed as zero: signing a message whose checksum is still 0
  // gives the same trailer.
  const zeroSum = B_MESSAGE.slice();
  zeroSum[6] = 0;
  zeroSum[7] = 0;
  e.sign(zeroSum, trailer, B_SOURCE);
  assertEquals(trailer, B_TRAILER);
});

Deno.test("vectors A and B verify (anti_replay monotonic), also through validateAdvert", () => {
  assertEquals(reason(ext6(), packetB()), "OK");
  const e4 = new AuthHmac(
    settings(),
    { family: 4, version: 3, vrid: 51, unicastPeers: [] },
    ring(),
    new Clock(),
  );
  const datagram = new Uint8Array(20 + 40);
  buildIPv4Header(
    { source: A_SOURCE, destination: v4("224.0.0.18"), payloadLength: 40, id: 1 },
    datagram,
  );
  datagram.set(A_MESSAGE, 20);
  datagram.set(A_TRAILER, 32);
  assertEquals(e4.check(decoded({ family: 4, datagram }), VECTOR_TIME_MS), { ok: true });
  const view: InstanceView = {
    version: 3,
    family: 6,
    vrid: 51,
    advertIntervalUs: 1_000_000,
    auth: { type: 0 },
    authExtension: ext6(),
    vips: [v6("fe80::100")],
    unicastPeers: [],
    checkUnicastSrc: false,
    skipCheckAdvAddr: false,
    v3ChecksumAsV2: false,
    oldUnicastChecksum: false,
    detectOldUnicastChecksum: false,
    mcastGroup: v6("ff02::12"),
    ownerIgnoreAdverts: false,
    effectivePriority: 100,
  };
  const mcast = { ...packetB(), destination: v6("ff02::12") } as ReceivedPacket;
  const r = validateAdvert(mcast, view, VECTOR_TIME_MS);
  assert(r.ok, r.ok ? "" : r.log);
  const again = validateAdvert(mcast, view, VECTOR_TIME_MS);
  assert(!again.ok);
  assertEquals(again.reason, "auth_ext_replay");
  assertEquals(again.counters, ["auth_ext_replay"]);
});

Deno.test("the negative cases of §2.3.13 (one byte XOR 0x01 of vector B)", () => {
  const trailerAt = B_MESSAGE.length;
  const cases: Array<[string, number, string]> = [
    ["priority", 2, "auth_ext_invalid_hmac"],
    ["interval", 5, "auth_ext_invalid_hmac"],
    ["VIP", 23, "auth_ext_invalid_hmac"],
    ["seconds", trailerAt + 4, "auth_ext_invalid_hmac"],
    ["counter", trailerAt + 11, "auth_ext_invalid_hmac"],
    ["HMAC", trailerAt + 12, "auth_ext_invalid_hmac"],
    ["checksum", 6, "OK"],
    ["ext_type", trailerAt, "auth_ext_malformed"],
    ["reserved", trailerAt + 2, "auth_ext_malformed"],
    ["key_id", trailerAt + 1, "auth_ext_unknown_key"],
  ];
  for (const [what, at, expected] of cases) {
    assertEquals(reason(ext6(), packetB(at)), expected, `${what} byte flipped`);
  }
  assertEquals(reason(ext6(), packetB(undefined, v6("fe80::20"))), "auth_ext_invalid_hmac");
  assertEquals(reason(ext6({}, { vrid: 52 }), packetB()), "auth_ext_invalid_hmac");
  // A second identical packet from the same sender is a replay; the same packet at a second
  // receiver (separate replay state) is fine.
  const e = ext6();
  assertEquals(reason(e, packetB()), "OK");
  assertEquals(reason(e, packetB()), "auth_ext_replay");
  assertEquals(reason(ext6(), packetB()), "OK");
  // ±100 s with a 5 s window is stale (anti_replay time).
  for (const d of [-100_000, 100_000]) {
    assertEquals(
      reason(ext6({ antiReplay: "time", timeWindowS: 5 }), packetB(), VECTOR_TIME_MS + d),
      "auth_ext_stale",
    );
  }
  assertEquals(
    reason(ext6({ antiReplay: "time", timeWindowS: 5 }), packetB(), VECTOR_TIME_MS + 5_000),
    "OK",
  );
});

Deno.test("log texts and the clock-skew warning are keepalived's (§2.3.8)", () => {
  const logOf = (e: AuthHmac, p: ReceivedPacket, now = VECTOR_TIME_MS) => {
    const v = e.check(decoded(p), now);
    return v.ok ? v.warning ?? "" : v.log ?? "";
  };
  assertEquals(
    logOf(ext6(), packetB(undefined, B_SOURCE, false)),
    "missing authentication trailer from fe80::10",
  );
  assertEquals(
    logOf(ext6(), packetB(B_MESSAGE.length)),
    "malformed authentication trailer from fe80::10",
  );
  assertEquals(
    logOf(ext6(), packetB(B_MESSAGE.length + 1)),
    "unknown authentication key id 0 from fe80::10",
  );
  assertEquals(logOf(ext6(), packetB(2)), "invalid authentication HMAC from fe80::10");
  assertEquals(
    logOf(ext6({ antiReplay: "time", timeWindowS: 5 }), packetB(), VECTOR_TIME_MS + 100_000),
    "stale authentication trailer from fe80::10: clock skew 100 sec exceeds window 5 sec",
  );
  const e = ext6();
  logOf(e, packetB());
  assertEquals(logOf(e, packetB()), "replayed authentication trailer from fe80::10");
  // Accepted, but the skew (3 s) is over half the window (5 / 2 = 2 s).
  assertEquals(
    logOf(ext6({ antiReplay: "time", timeWindowS: 5 }), packetB(), VECTOR_TIME_MS - 3_000),
    "authentication clock skew -3 sec from fe80::10 approaching window 5 sec",
  );
  assertEquals(
    logOf(ext6({ antiReplay: "time", timeWindowS: 5 }), packetB(), VECTOR_TIME_MS + 2_000),
    "",
  );
});

Deno.test("modes: enforce needs a trailer, permissive and receive-only accept none, every mode rejects a bad one", () => {
  const bare = packetB(undefined, B_SOURCE, false);
  assertEquals(reason(ext6({ mode: "enforce" }), bare), "auth_ext_missing");
  assertEquals(reason(ext6({ mode: "permissive" }), bare), "OK");
  assertEquals(reason(ext6({ mode: "receive-only" }), bare), "OK");
  for (const mode of ["enforce", "permissive", "receive-only"] as const) {
    assertEquals(reason(ext6({ mode }), packetB(2)), "auth_ext_invalid_hmac", mode);
    assertEquals(reason(ext6({ mode }), packetB(B_MESSAGE.length + 1)), "auth_ext_unknown_key");
    const e = ext6({ mode });
    assertEquals(reason(e, packetB()), "OK");
    assertEquals(reason(e, packetB()), "auth_ext_replay", mode);
  }
  assert(ext6({ mode: "enforce" }).sends);
  assert(ext6({ mode: "permissive" }).sends);
  assert(!ext6({ mode: "receive-only" }).sends);
});

// ---- sequences (§2.3.6, RFC 1982) ----

Deno.test("RFC 1982 on 64 bits: after, wrap-around, successor with carry", () => {
  assert(serialAfter({ hi: 0, lo: 1 }, { hi: 0, lo: 0 }));
  assert(!serialAfter({ hi: 0, lo: 0 }, { hi: 0, lo: 0 }));
  assert(!serialAfter({ hi: 0, lo: 0 }, { hi: 0, lo: 1 }));
  assert(serialAfter({ hi: 1, lo: 0 }, { hi: 0, lo: 0xffffffff }));
  assert(serialAfter({ hi: 0, lo: 0 }, { hi: 0xffffffff, lo: 0xffffffff }), "wraps");
  assert(serialAfter({ hi: 0x7fffffff, lo: 0xffffffff }, { hi: 0, lo: 0 }));
  assert(!serialAfter({ hi: 0x80000000, lo: 0 }, { hi: 0, lo: 0 }), "half-way is not after");
  assertEquals(serialNext({ hi: 5, lo: 0xffffffff }), { hi: 6, lo: 0 });
  assertEquals(serialNext({ hi: 0xffffffff, lo: 0xffffffff }), { hi: 0, lo: 0 });
  assertEquals(clockSerial(VECTOR_TIME_US), { hi: 0x68000000, lo: 0x80000000 });
  assertEquals(clockSerial(0x68000000 * 1e6 + 999_999).lo >>> 16, 0xffff);
});

Deno.test("sender sequence: the clock, +1 within a tick, recovery after a clock step back (time), none (monotonic)", () => {
  const clock = new Clock();
  const e = ext6({ antiReplay: "time", timeWindowS: 5 }, {}, clock);
  assertEquals(serialHex(e.nextSequence()), "6800000080000000");
  // Same clock reading: counter + 1.
  assertEquals(serialHex(e.nextSequence()), "6800000080000001");
  clock.real += 100_000;
  const t1 = e.nextSequence();
  assertEquals(t1.hi, 0x68000000);
  assert(t1.lo >>> 16 > 0x8000);
  assertEquals(t1.lo & 0xffff, 0);
  // A step back within the window: continue from the last sequence.
  clock.real -= 3_000_000;
  assertEquals(e.nextSequence(), serialNext(t1));
  // A step back of 10 s (window 5): restart from the clock.
  clock.real -= 7_000_000;
  assertEquals(e.nextSequence(), clockSerial(clock.real));
  // anti_replay monotonic never goes back.
  const m = ext6({ antiReplay: "monotonic" }, {}, clock);
  const first = m.nextSequence();
  clock.real -= 100_000_000;
  assertEquals(m.nextSequence(), serialNext(first));
  // One sequence per signed advert.
  const s = ext6({}, {}, clock);
  const t = new Uint8Array(28);
  s.sign(B_MESSAGE, t, B_SOURCE);
  s.sign(B_MESSAGE, t, B_SOURCE);
  assertEquals(serialHex(s.sendSequence), serialHex(serialNext(clockSerial(clock.real))));
});

// ---- replay state (§2.3.7) ----

/** A signer of vector-B-like adverts from `source` at the clock's time. */
function signer(
  source: Uint8Array,
  clock: Clock,
  keys?: Record<number, Uint8Array>,
  over: Partial<AuthHmacSettings> = {},
) {
  const e = new AuthHmac(
    settings({ keyIds: Object.keys(keys ?? { 1: 0 }).map(Number), ...over }),
    { family: 6, version: 3, vrid: 51, unicastPeers: [] },
    ring(keys, over.activeKey ?? 1),
    clock,
  );
  return (): ReceivedPacket => {
    const payload = new Uint8Array(B_MESSAGE.length + 28);
    payload.set(B_MESSAGE);
    e.sign(payload.subarray(0, B_MESSAGE.length), payload.subarray(B_MESSAGE.length), source);
    return { family: 6, payload, source, destination: v6("ff02::12"), hopLimit: 255 };
  };
}

function src(i: number): Uint8Array {
  return v6(`fe80::${(i + 1).toString(16)}`);
}

Deno.test("multicast replay slots: 4, least recently used evicted, a new sender starts without a mark", () => {
  const clock = new Clock();
  const rx = ext6({}, {}, clock);
  const senders = [0, 1, 2, 3, 4].map((i) => signer(src(i), clock));
  const first = senders.map((s) => s());
  assertEquals(MULTICAST_REPLAY_SLOTS, 4);
  for (let i = 0; i < 4; i++) assertEquals(reason(rx, first[i]!), "OK");
  assertEquals(reason(rx, first[0]!), "auth_ext_replay");
  // Sender 0 was used last (the replay touched its slot): sender 4 evicts sender 1.
  assertEquals(reason(rx, first[4]!), "OK");
  assertEquals(reason(rx, first[0]!), "auth_ext_replay", "sender 0 kept its mark");
  assertEquals(reason(rx, first[1]!), "OK", "sender 1 was evicted and starts afresh");
});

Deno.test("forged packets (bad HMAC) from many sources never take a replay slot", () => {
  const clock = new Clock();
  const rx = ext6({}, {}, clock);
  const real = [0, 1, 2, 3].map((i) => signer(src(i), clock)());
  for (const p of real) assertEquals(reason(rx, p), "OK");
  const forger = signer(src(100), clock, { 1: new Uint8Array(32).fill(0xee) });
  for (let i = 0; i < 200; i++) {
    const p = forger();
    const forged = { ...p, source: v6(`fe80::1:${i.toString(16)}`) } as ReceivedPacket;
    assertEquals(reason(rx, forged), "auth_ext_invalid_hmac");
  }
  for (const p of real) assertEquals(reason(rx, p), "auth_ext_replay", "marks survived");
});

Deno.test("unicast: unknown senders are rejected before any HMAC work, each peer has its own mark", () => {
  const clock = new Clock();
  const peerA = v6("fe80::10");
  const peerB = v6("fe80::11");
  const rx = ext6({}, { peers: [peerA, peerB] }, clock);
  // Unknown key id from an unknown source: the peer check comes first.
  assertEquals(reason(rx, packetB(B_MESSAGE.length + 1, v6("fe80::99"))), "auth_ext_not_peer");
  const a = signer(peerA, clock)();
  const b = signer(peerB, clock)();
  assertEquals(reason(rx, a), "OK");
  assertEquals(reason(rx, b), "OK");
  assertEquals(reason(rx, a), "auth_ext_replay");
  assertEquals(reason(rx, b), "auth_ext_replay");
  // The not-peer verdict has no counter (§2.3.8).
  const view = {
    version: 3,
    family: 6,
    vrid: 51,
    advertIntervalUs: 1_000_000,
    auth: { type: 0 },
    authExtension: rx,
    vips: [v6("fe80::100")],
    unicastPeers: [{ address: peerA, minTtl: 0, maxTtl: 255 }],
    checkUnicastSrc: false,
    skipCheckAdvAddr: false,
    v3ChecksumAsV2: false,
    oldUnicastChecksum: false,
    detectOldUnicastChecksum: false,
    mcastGroup: v6("ff02::12"),
    ownerIgnoreAdverts: false,
    effectivePriority: 100,
  } as const satisfies InstanceView;
  const r = validateAdvert(packetB(undefined, v6("fe80::99")), view, VECTOR_TIME_MS);
  assert(!r.ok);
  assertEquals([r.reason, r.counters, r.log], [
    "auth_ext_not_peer",
    [],
    "authenticated advert from fe80::99: not a unicast peer",
  ]);
});

Deno.test("anti_replay time: a mark outside the window expires (a corrected clock is accepted again)", () => {
  const clock = new Clock();
  const send = signer(B_SOURCE, clock, undefined, { antiReplay: "time", timeWindowS: 5 });
  const rx = ext6({ antiReplay: "time", timeWindowS: 5 });
  // The sender's clock runs 4 s ahead.
  clock.real = VECTOR_TIME_US + 4_000_000;
  assertEquals(reason(rx, send(), VECTOR_TIME_MS), "OK");
  // Its clock is corrected and the receiver's moves back 10 s: the mark (14 s away) expires.
  clock.real = VECTOR_TIME_US - 9_000_000;
  const older = send();
  assertEquals(reason(rx, older, VECTOR_TIME_MS - 10_000), "OK");
  // With anti_replay monotonic the same older sequence is a replay.
  clock.real = VECTOR_TIME_US + 4_000_000;
  const mono = ext6({ antiReplay: "monotonic" });
  const send2 = signer(B_SOURCE, clock);
  assertEquals(reason(mono, send2(), VECTOR_TIME_MS), "OK");
  const send3 = signer(B_SOURCE, Object.assign(new Clock(), { real: VECTOR_TIME_US - 9e6 }));
  assertEquals(reason(mono, send3(), VECTOR_TIME_MS - 10_000), "auth_ext_replay");
});

// ---- keys ----

Deno.test("key ring: add, activate, retire, replace, with errors that name ids only", () => {
  const r = new KeyRing();
  const k1 = new Uint8Array(32).fill(1);
  r.add(1, k1);
  assertEquals(r.activeKey, undefined);
  r.activate(1);
  assertThrows(() => r.add(1, k1), KeyRingError, "already in use");
  assertThrows(() => r.add(0, k1), KeyRingError, "out of range");
  assertThrows(() => r.add(2, new Uint8Array(31)), KeyRingError, "31 bytes long");
  assertThrows(() => r.add(2, new Uint8Array(65)), KeyRingError, "65 bytes long");
  assertThrows(() => r.activate(9), KeyRingError, "add it before activating it");
  r.add(2, new Uint8Array(64).fill(2));
  assertThrows(() => r.retire(1), KeyRingError, "activate another key before retiring it");
  r.activate(2);
  const old = r.mac(1)!;
  r.retire(1);
  assert(old.wiped, "a retired key is wiped");
  assertEquals(r.snapshot(), { activeKey: 2, keyIds: [2] });
  const before = r.mac(2)!;
  r.replace(2, new Uint8Array(40).fill(3));
  assert(before.wiped, "a replaced key is wiped");
  assertThrows(() => r.retire(7), KeyRingError, "not in the ring");
  const macs = [r.mac(2)!];
  r.close();
  assert(macs.every((m) => m.wiped), "close wipes every key");
  assertEquals(r.snapshot(), { activeKey: undefined, keyIds: [] });
  assertThrows(() => r.add(3, k1), KeyRingError, "closed");
});

Deno.test("key ring: the caller's bytes are not kept, and no output shows key material", () => {
  const bytes = new Uint8Array(32).fill(0xab);
  const r = KeyRing.from(new Map([[1, bytes]]), 1);
  const sig = () => {
    const out = new Uint8Array(32);
    r.activeMac()!.macInto(new Uint8Array([1, 2, 3]), out);
    return out;
  };
  const before = sig();
  bytes.fill(0);
  assertEquals(sig(), before, "wiping the caller's copy does not change the ring's key");
  const shown = [
    JSON.stringify(r),
    Deno.inspect(r),
    Deno.inspect(r.mac(1)),
    JSON.stringify(r.mac(1)),
  ]
    .join(" ");
  assert(!/ab,? ?ab|171/.test(shown), `key material shown: ${shown}`);
  assertEquals(JSON.parse(JSON.stringify(r)), { activeKey: 1, keyIds: [1] });
  assert(r.sameKeys(new Map([[1, new Uint8Array(32).fill(0xab)]]), 1));
  assert(!r.sameKeys(new Map([[1, new Uint8Array(32).fill(0xac)]]), 1));
  assert(!r.sameKeys(new Map([[1, new Uint8Array(32).fill(0xab)]]), 2));
  const e = ext6();
  assert(!JSON.stringify(e.ring).includes("0,1,2,3"));
});

Deno.test("rotation (make-before-break): add, activate, retire while adverts keep verifying", () => {
  const clock = new Clock();
  const k2 = new Uint8Array(48).fill(0x42);
  const keys = { 1: KEY, 2: k2 };
  const tx = new AuthHmac(
    settings({ keyIds: [1] }),
    { family: 6, version: 3, vrid: 51, unicastPeers: [] },
    ring({ 1: KEY }),
    clock,
  );
  const rx = ext6({ keyIds: [1, 2] }, { keys });
  const send = (): ReceivedPacket => {
    const payload = new Uint8Array(B_MESSAGE.length + 28);
    payload.set(B_MESSAGE);
    tx.sign(payload.subarray(0, B_MESSAGE.length), payload.subarray(B_MESSAGE.length), B_SOURCE);
    clock.real += 100_000;
    return { family: 6, payload, source: B_SOURCE, destination: v6("ff02::12") };
  };
  assertEquals(reason(rx, send()), "OK");
  tx.ring.add(2, k2);
  assertEquals(reason(rx, send()), "OK", "still signing with key 1");
  tx.ring.activate(2);
  const p2 = send();
  assertEquals(decoded(p2).trailer![1], 2);
  assertEquals(reason(rx, p2), "OK");
  assertEquals(rx.peers()[0]!.keyId, 2, "the observation shows the new key");
  rx.ring.activate(2);
  tx.ring.retire(1);
  rx.ring.retire(1);
  assertEquals(reason(rx, send()), "OK");
  // A receiver that never got key 2 rejects it as unknown.
  assertEquals(reason(ext6(), send()), "auth_ext_unknown_key");
});

Deno.test("peer observations: key id and time of the last verified advert, outcome of the last one", () => {
  const clock = new Clock();
  const rx = ext6({}, {}, clock);
  assertEquals(rx.peers(), []);
  clock.mono = 5_000_000;
  assertEquals(reason(rx, packetB()), "OK");
  clock.mono = 6_000_000;
  assertEquals(reason(rx, packetB(2)), "auth_ext_invalid_hmac");
  assertEquals(rx.peers(), [{
    address: "fe80::10",
    keyId: 1,
    verifiedAtUs: 5_000_000,
    lastOutcome: "auth_ext_invalid_hmac",
    lastKeyId: 1,
    lastAtUs: 6_000_000,
  }]);
  const permissive = ext6({ mode: "permissive" }, {}, clock);
  assertEquals(reason(permissive, packetB(undefined, B_SOURCE, false)), "OK");
  assertEquals(permissive.peers()[0]!.lastOutcome, "unsigned");
  assertEquals(permissive.peers()[0]!.keyId, undefined);
  // Multicast: a bounded list; forged senders go before verified ones.
  const many = ext6({}, {}, clock);
  assertEquals(reason(many, packetB()), "OK");
  for (let i = 0; i < 3 * OBSERVED_SENDERS; i++) {
    clock.mono++;
    reason(many, packetB(2, v6(`fe80::2:${i.toString(16)}`)));
  }
  const seen = many.peers();
  assertEquals(seen.length, OBSERVED_SENDERS);
  assert(seen.some((o) => o.address === "fe80::10" && o.keyId === 1), "the real peer is kept");
  // A replacement extension (reload) keeps what was observed.
  const next = ext6({}, {}, clock);
  next.adoptObservations(rx);
  assertEquals(next.peers()[0]!.keyId, 1);
});

Deno.test("close wipes the keys: nothing verifies or signs afterwards", () => {
  const e = ext6();
  const mac = e.ring.mac(1)!;
  e.close();
  assert(mac.wiped);
  assertEquals(reason(e, packetB()), "auth_ext_unknown_key");
  assertThrows(() => e.sign(B_MESSAGE, new Uint8Array(28), B_SOURCE), Error, "no active key");
});
