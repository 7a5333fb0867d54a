/**
 * The instance runtime (lib/vrrp/instance.ts) driven by fakes: a fake monotonic clock that
 * fires timers in deadline order and a recording InstanceIo. Checks what the runtime adds
 * to the pure FSM: adverts as they go on the wire (IPv4 header, checksums per unicast
 * peer, IPv6 source and hop limit, PASS auth data, auth_hmac trailers, IPsec AH), receive
 * checks with counters and rate-limited logs, transitions counted, I/O failures counted
 * without stopping.
 */
import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { loadConfigText } from "../../lib/config/load.ts";
import {
  Instance,
  type InstanceIo,
  instanceSpec,
  type OutgoingAdvert,
  sameApartFromAuthHmac,
  type TimerHandle,
} from "../../lib/vrrp/instance.ts";
import {
  authPassBytes,
  decodeAdvert,
  encodeIPv4Datagram,
  type ReceivedPacket,
} from "../../lib/vrrp/packet.ts";
import { AuthHmac } from "../../lib/vrrp/auth_hmac.ts";
import { AhAuth, encodeAhDatagram, setAhSequence } from "../../lib/vrrp/auth_ah.ts";
import { KeyRing } from "../../lib/vrrp/key_ring.ts";
import { matchIPv4Checksum } from "../../lib/vrrp/checksum.ts";
import { parseIp } from "../../lib/net/ipaddr.ts";
import type { NotifyState, TimerId } from "../../lib/vrrp/fsm.ts";

const S = 1_000_000;

interface FakeTimer {
  at: number;
  seq: number;
  fire: () => void;
  cancelled: boolean;
}

/** A recording InstanceIo on a fake clock. */
class FakeIo implements InstanceIo {
  now = 0;
  seq = 0;
  timers: FakeTimer[] = [];
  sent: OutgoingAdvert[] = [];
  calls: string[] = [];
  notes: Array<{ state: NotifyState; priority: number }> = [];
  logs: Array<{ level: string; message: string }> = [];
  failSend = false;
  failAddresses = false;

  nowUs(): number {
    return this.now;
  }

  /** CLOCK_REALTIME: a fixed epoch plus the fake monotonic clock. */
  realtime = 1_744_830_464_500_000;

  realtimeUs(): number {
    return this.realtime + this.now;
  }

  setTimer(atUs: number, fire: () => void, _timer: TimerId): TimerHandle {
    const t: FakeTimer = { at: atUs, seq: this.seq++, fire, cancelled: false };
    this.timers.push(t);
    return { cancel: () => (t.cancelled = true) };
  }

  send(advert: OutgoingAdvert): void {
    if (this.failSend) throw new Error("sending failed: Network is unreachable (ENETUNREACH)");
    // The instance reuses its buffers: keep a copy, as a socket would.
    this.sent.push({ ...advert, data: advert.data.slice() });
  }

  addAddresses(accept: boolean): void {
    if (this.failAddresses) throw new Error("adding 192.0.2.100/32 to eth0 failed: EPERM");
    this.calls.push(`add ${accept}`);
  }

  removeAddresses(): void {
    this.calls.push("remove");
  }

  announce(rounds: number): void {
    this.calls.push(`announce ${rounds}`);
  }

  announceSource(): void {
    this.calls.push("announce source");
  }

  notify(state: NotifyState, priority: number): void {
    this.notes.push({ state, priority });
  }

  log(level: "detail" | "info" | "warn" | "error", message: string): void {
    this.logs.push({ level, message });
  }

  /** Fire every live timer due at or before `to`, in deadline order; the clock ends at `to`. */
  advance(to: number): void {
    for (;;) {
      const live = this.timers.filter((t) => !t.cancelled && t.at <= to);
      if (live.length === 0) break;
      live.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const t = live[0] as FakeTimer;
      t.cancelled = true;
      this.now = Math.max(this.now, t.at);
      t.fire();
    }
    this.now = to;
    this.timers = this.timers.filter((t) => !t.cancelled);
  }

  /** The earliest live deadline. */
  next(): number | undefined {
    const live = this.timers.filter((t) => !t.cancelled).map((t) => t.at);
    return live.length === 0 ? undefined : Math.min(...live);
  }
}

function config(body: string, globals = "") {
  const text = `${globals}vrrp_instance VI_1 {\n${body}\n}\n`;
  const r = loadConfigText(text, "test.conf", { configId: "test" });
  const errors = r.sink.items.filter((d) => d.severity === "error");
  assertEquals(errors.map((d) => d.message), []);
  return r.config;
}

const BASIC = `
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }`;

function make(body = BASIC, globals = "", mtu?: number) {
  const cfg = config(body, globals);
  const spec = instanceSpec(cfg.vrrp_instance[0]!, cfg, mtu);
  const io = new FakeIo();
  const inst = new Instance(spec, io);
  return { spec, io, inst };
}

function bytes(text: string): Uint8Array {
  return parseIp(text)!.bytes;
}

/** An IPv4 advert from `src` as a peer would send it. */
function advert4(
  src: string,
  priority: number,
  over: {
    version?: 2 | 3;
    vrid?: number;
    dst?: string;
    ttl?: number;
    interval?: number;
    vips?: string[];
  } = {},
): ReceivedPacket {
  const version = over.version ?? 2;
  const datagram = encodeIPv4Datagram(
    {
      version,
      family: 4,
      vrid: over.vrid ?? 51,
      priority,
      advertInterval: over.interval ?? (version === 2 ? 1 : 100),
      addresses: (over.vips ?? ["192.0.2.100"]).map(bytes),
    },
    {
      source: bytes(src),
      destination: bytes(over.dst ?? "224.0.0.18"),
      id: 1,
      ...(over.ttl === undefined ? {} : { ttl: over.ttl }),
    },
  );
  return { family: 4, datagram };
}

const START = { uptimeUs: 600 * S, interfaceUp: true, sourceAddress: "192.0.2.1" };

Deno.test("an instance alone becomes MASTER after Master_Down_Interval and sends a well-formed advert", () => {
  const { io, inst } = make();
  inst.start(START);
  assertEquals(inst.state, "BACKUP");
  // Leftovers of a previous run are removed at start (§3.3 step 3).
  assertEquals(io.calls, ["remove"]);
  assertEquals(io.next(), 3 * S + 609_375);
  io.advance(3 * S + 609_374);
  assertEquals(inst.state, "BACKUP");
  io.advance(3 * S + 609_375);
  assertEquals(inst.state, "MASTER");
  assertEquals(io.calls, ["remove", "add true", "announce 5"]);
  assertEquals(io.notes.map((n) => n.state), ["BACKUP", "MASTER"]);
  assertEquals(io.sent.length, 1);
  const first = io.sent[0]!;
  assertEquals(first.destination, "224.0.0.18");
  const d = decodeAdvert({ family: 4, datagram: first.data });
  assert(d.ok);
  assertEquals(d.advert.ip!.ttl, 255);
  assertEquals(d.advert.ip!.tos, 0xc0);
  assertEquals(d.advert.ip!.id, 1);
  assertEquals(d.advert.ip!.flagsFragment, 0);
  assertEquals([...d.advert.source], [192, 0, 2, 1]);
  assertEquals(d.advert.priority, 100);
  assertEquals(d.advert.vrid, 51);
  assertEquals(d.advert.count, 1);
  assert(
    matchIPv4Checksum(d.advert.message, {
      version: 2,
      source: d.advert.source,
      destination: d.advert.destination,
      v3ChecksumAsV2: false,
    }) !== undefined,
  );
  // Then one advert a second, with the IPv4 identification counting up.
  io.advance(5 * S + 609_375);
  assertEquals(io.sent.length, 3);
  const ids = io.sent.map((s) => {
    const r = decodeAdvert({ family: 4, datagram: s.data });
    return r.ok ? r.advert.ip!.id : -1;
  });
  assertEquals(ids, [1, 2, 3]);
  assertEquals(inst.counters.become_master, 1);
  assertEquals(inst.counters.advert_sent, 3);
  assert(io.logs.some((l) => l.message === "(VI_1) Entering MASTER STATE"));
});

Deno.test("a BACKUP hearing a higher-priority master stays BACKUP and re-arms its master-down timer", () => {
  const { io, inst } = make();
  inst.start(START);
  for (let t = 1; t <= 10; t++) {
    io.advance(t * S);
    assertEquals(inst.receive(advert4("192.0.2.2", 200)), { accepted: true });
  }
  assertEquals(inst.state, "BACKUP");
  assertEquals(inst.fsm.masterAddress, "192.0.2.2");
  assertEquals(io.next(), 10 * S + 3 * S + 609_375);
  assertEquals(inst.counters.advert_rcvd, 10);
  assertEquals(io.sent.length, 0);
});

Deno.test("the master-down timer runs from an advert's arrival time, never before the previous event", () => {
  const { io, inst } = make();
  inst.start(START);
  io.advance(10 * S);
  // Read 400 µs after the kernel received it: the deadline counts from the arrival.
  inst.receive(advert4("192.0.2.2", 200), Date.now(), 10 * S - 400);
  assertEquals(io.next(), 10 * S - 400 + 3 * S + 609_375);
  // An arrival time in the future is taken as now.
  io.advance(11 * S);
  inst.receive(advert4("192.0.2.2", 200), Date.now(), 12 * S);
  assertEquals(io.next(), 11 * S + 3 * S + 609_375);
  // An arrival time before the previous event is taken as that event's time.
  io.advance(12 * S);
  inst.receive(advert4("192.0.2.2", 200), Date.now(), 12 * S);
  inst.receive(advert4("192.0.2.2", 200), Date.now(), 11 * S);
  assertEquals(io.next(), 12 * S + 3 * S + 609_375);
});

Deno.test("a MASTER yields to a higher priority: addresses removed, release counted, no priority-0 advert", () => {
  const { io, inst } = make();
  inst.start(START);
  io.advance(4 * S);
  assertEquals(inst.state, "MASTER");
  const sentBefore = io.sent.length;
  inst.receive(advert4("192.0.2.2", 200));
  assertEquals(inst.state, "BACKUP");
  assertEquals(io.calls.at(-1), "remove");
  assertEquals(io.sent.length, sentBefore);
  assertEquals(inst.counters.release_master, 1);
  assertEquals(inst.addressesInstalled, false);
});

Deno.test("a priority-0 advert makes the BACKUP take over after Skew_Time", () => {
  const { io, inst } = make();
  inst.start(START);
  io.advance(1 * S);
  inst.receive(advert4("192.0.2.2", 200));
  io.advance(2 * S);
  inst.receive(advert4("192.0.2.2", 0));
  assertEquals(inst.counters.pri_zero_rcvd, 1);
  assertEquals(io.next(), 2 * S + 609_375);
  io.advance(2 * S + 609_375);
  assertEquals(inst.state, "MASTER");
});

Deno.test("bad packets are counted and ignored, with one log line per reason and the rest at detail", () => {
  const { io, inst } = make();
  inst.start(START);
  io.advance(1 * S);
  inst.receive(advert4("192.0.2.2", 200));
  const deadline = io.next();
  for (let i = 0; i < 3; i++) {
    const r = inst.receive(advert4("192.0.2.3", 250, { ttl: 64 }));
    assertEquals(r, { accepted: false, reason: "ttl_not_255" });
  }
  assertEquals(inst.receive(advert4("192.0.2.3", 250, { interval: 2 })), {
    accepted: false,
    reason: "v2_interval_mismatch",
  });
  assertEquals(inst.receive(advert4("192.0.2.3", 250, { version: 3 })), {
    accepted: false,
    reason: "version_mismatch",
  });
  assertEquals(inst.counters.ip_ttl_err, 3);
  assertEquals(inst.counters.vers_err, 1);
  assertEquals(inst.counters.advert_rcvd, 1);
  assertEquals(inst.state, "BACKUP");
  assertEquals(inst.fsm.masterAddress, "192.0.2.2");
  assertEquals(io.next(), deadline);
  const ttlLogs = io.logs.filter((l) => l.message.includes("Invalid TTL"));
  assertEquals(ttlLogs.map((l) => l.level), ["warn", "detail", "detail"]);
  assertStringIncludes(ttlLogs[0]!.message, "(VI_1) Invalid TTL/HL from 192.0.2.3");
  // A minute later the same reason is logged at its level again.
  io.advance(62 * S);
  inst.receive(advert4("192.0.2.2", 200));
  inst.receive(advert4("192.0.2.3", 250, { ttl: 64 }));
  assertEquals(io.logs.filter((l) => l.message.includes("Invalid TTL")).at(-1)!.level, "warn");
});

Deno.test("a VIP list that differs is counted in addr_list_err and noted once per master", () => {
  const { io, inst } = make();
  inst.start(START);
  for (let t = 1; t <= 3; t++) {
    io.advance(t * S);
    inst.receive(advert4("192.0.2.2", 200, { vips: ["192.0.2.99"] }));
  }
  assertEquals(inst.counters.addr_list_err, 3);
  assertEquals(inst.counters.advert_rcvd, 3);
  const notes = io.logs.filter((l) => l.message.includes("is not in the advert"));
  assertEquals(notes.map((l) => l.level), ["warn", "detail", "detail"]);
});

Deno.test("VRRPv3 unicast sends one copy per peer, each checksummed to its own destination and TTL", () => {
  const { io, inst } = make(`
  interface eth0
  virtual_router_id 7
  version 3
  advert_int 0.5
  unicast_src_ip 192.0.2.1
  unicast_ttl 10
  unicast_peer {
    192.0.2.2
    192.0.2.3
  }
  virtual_ipaddress {
    192.0.2.100/24
  }`);
  inst.start({ ...START, sourceAddress: "192.0.2.1" });
  io.advance(2 * S);
  assertEquals(inst.state, "MASTER");
  const first = io.sent.slice(0, 2);
  assertEquals(first.map((s) => s.destination), ["192.0.2.2", "192.0.2.3"]);
  for (const s of first) {
    const d = decodeAdvert({ family: 4, datagram: s.data });
    assert(d.ok);
    assertEquals(d.advert.ip!.ttl, 10);
    assertEquals(d.advert.ip!.id, 1);
    assertEquals(d.advert.advertInterval, 50);
    assertEquals([...d.advert.destination], [...bytes(s.destination)]);
    assertEquals(
      matchIPv4Checksum(d.advert.message, {
        version: 3,
        source: bytes("192.0.2.1"),
        destination: bytes(s.destination),
        v3ChecksumAsV2: false,
      }),
      "v3_pseudo_header",
    );
  }
  // A multicast advert is not for a unicast instance (§1.11 step 15).
  assertEquals(inst.receive(advert4("192.0.2.2", 200, { version: 3, vrid: 7, interval: 50 })), {
    accepted: false,
    reason: "destination_mismatch",
  });
});

Deno.test("a peer with the pre-1.3.6 unicast checksum is detected and then answered in its form", () => {
  const { io, inst } = make(`
  interface eth0
  virtual_router_id 7
  version 3
  unicast_src_ip 192.0.2.1
  old_unicast_checksum
  unicast_peer {
    192.0.2.2
  }
  virtual_ipaddress {
    192.0.2.100/24
  }`);
  inst.start(START);
  io.advance(4 * S);
  // The old form: checksummed to the group, sent to us.
  const old = encodeIPv4Datagram(
    {
      version: 3,
      family: 4,
      vrid: 7,
      priority: 50,
      advertInterval: 100,
      addresses: [bytes("192.0.2.100")],
    },
    { source: bytes("192.0.2.2"), destination: bytes("224.0.0.18"), id: 1 },
  );
  old.set(bytes("192.0.2.1"), 16);
  assertEquals(inst.receive({ family: 4, datagram: old }), { accepted: true });
  assert(io.logs.some((l) => l.message.includes("Setting unicast VRRPv3 checksum to old version")));
  io.advance(5 * S);
  const d = decodeAdvert({ family: 4, datagram: io.sent.at(-1)!.data });
  assert(d.ok);
  assertEquals(
    matchIPv4Checksum(d.advert.message, {
      version: 3,
      source: bytes("192.0.2.1"),
      destination: bytes("224.0.0.18"),
      v3ChecksumAsV2: false,
    }),
    "v3_pseudo_header",
  );
});

Deno.test("IPv6 adverts leave as bare messages with the source for IPV6_PKTINFO and unicast_ttl as hop limit", () => {
  const { io, inst } = make(`
  interface eth0
  virtual_router_id 9
  unicast_ttl 5
  unicast_peer {
    2001:db8::2
  }
  virtual_ipaddress {
    2001:db8::100/64
  }`);
  assertEquals(inst.spec.version, 3);
  inst.start({ ...START, sourceAddress: "fe80::1" });
  io.advance(4 * S);
  assertEquals(inst.state, "MASTER");
  const s = io.sent[0]!;
  assertEquals(s.destination, "2001:db8::2");
  assertEquals(s.source, "fe80::1");
  assertEquals(s.hopLimit, 5);
  assertEquals(s.data.length, 8 + 16);
  assertEquals(s.data[0], 0x31);
  assertEquals([s.data[6], s.data[7]], [0, 0]);
});

Deno.test("PASS authentication goes into every advert and a wrong password is an auth failure", () => {
  const { io, inst } = make(`${BASIC}
  authentication {
    auth_type PASS
    auth_pass s3cret
  }`);
  inst.start(START);
  io.advance(4 * S);
  const d = decodeAdvert({ family: 4, datagram: io.sent[0]!.data });
  assert(d.ok);
  assertEquals(d.advert.authType, 1);
  assertEquals(new TextDecoder().decode(d.advert.authData!.subarray(0, 6)), "s3cret");
  const r = inst.receive(advert4("192.0.2.2", 200));
  assertEquals(r, { accepted: false, reason: "auth_type_mismatch" });
  assertEquals(inst.counters.authtype_mismatch, 1);
  assertEquals(inst.state, "MASTER");
});

Deno.test("shutdown as MASTER resigns with priority 0 and removes the addresses unless told not to", () => {
  for (const release of [true, false]) {
    const { io, inst } = make();
    inst.start(START);
    io.advance(4 * S);
    const sent = io.sent.length;
    io.calls = [];
    inst.shutdown(release);
    assertEquals(inst.state, "STOP");
    assertEquals(io.notes.at(-1)!.state, "STOP");
    if (release) {
      assertEquals(io.sent.length, sent + 1);
      const d = decodeAdvert({ family: 4, datagram: io.sent.at(-1)!.data });
      assert(d.ok);
      assertEquals(d.advert.priority, 0);
      assertEquals(io.calls, ["remove"]);
      assertEquals(inst.counters.pri_zero_sent, 1);
    } else {
      assertEquals(io.sent.length, sent);
      assertEquals(io.calls, []);
    }
    // No timer survives the shutdown.
    assertEquals(io.next(), undefined);
  }
});

Deno.test("failed sends and address changes are counted and logged; the instance carries on", () => {
  const { io, inst } = make();
  io.failSend = true;
  io.failAddresses = true;
  inst.start(START);
  io.advance(6 * S);
  assertEquals(inst.state, "MASTER");
  assertEquals(inst.errors.addresses, 1);
  assert(inst.errors.send >= 3);
  const errs = io.logs.filter((l) => l.message.includes("Network is unreachable"));
  assertEquals(errs[0]!.level, "error");
  assert(errs.slice(1).every((l) => l.level === "detail"));
  io.failSend = false;
  io.advance(7 * S);
  assertEquals(io.sent.length, 1);
});

Deno.test("interface down faults the instance and up brings it back as BACKUP", () => {
  const { io, inst } = make();
  inst.start(START);
  io.advance(4 * S);
  assertEquals(inst.state, "MASTER");
  inst.setInterfaceUp(false);
  assertEquals(inst.state, "FAULT");
  const zeros = io.sent.filter((s) => {
    const d = decodeAdvert({ family: 4, datagram: s.data });
    return d.ok && d.advert.priority === 0;
  });
  assertEquals(zeros.length, 2);
  // keepalived counts the resignation once (§6.4), not the second packet.
  assertEquals(inst.counters.pri_zero_sent, 1);
  inst.setInterfaceUp(true);
  assertEquals(inst.state, "BACKUP");
  inst.setSourceAddress(null);
  assertEquals(inst.state, "FAULT");
  inst.setSourceAddress("192.0.2.1");
  assertEquals(inst.state, "BACKUP");
});

Deno.test("instanceSpec moves VIPs that do not fit the MTU to the eVIPs and resolves tracker weights", () => {
  const vips = Array.from({ length: 10 }, (_, i) => `    192.0.2.${i + 10}`).join("\n");
  const cfg = config(
    `
  interface eth0
  virtual_router_id 51
  track_interface {
    eth1 weight -10
  }
  track_script {
    chk
  }
  virtual_ipaddress {
${vips}
  }
  virtual_ipaddress_excluded {
    198.51.100.1
  }`,
    `vrrp_script chk {\n  script "/bin/true"\n  weight -20 reverse\n}\n`,
  );
  // 80-byte MTU: 80 - 14 - 20 - 16 = 30 bytes, 7 IPv4 addresses.
  const spec = instanceSpec(cfg.vrrp_instance[0]!, cfg, 80);
  assertEquals(spec.advertised.length, 7);
  assertEquals(spec.excluded.map((e) => e.address), [
    "192.0.2.17",
    "192.0.2.18",
    "192.0.2.19",
    "198.51.100.1",
  ]);
  assertEquals(spec.trackers, [
    { kind: "interface", name: "eth1", weight: -10, reverse: false },
    { kind: "script", name: "chk", weight: -20, reverse: true },
  ]);
});

// ---- authentication: auth_hmac (§2.3) and IPsec AH (§2.2) ----

const HMAC_KEY = "k".repeat(32);

function hmacBody(extra: string, mode = "enforce", version = 3): string {
  return `
  interface eth0
  virtual_router_id 51
  priority 100
  version ${version}
  advert_int 1
${extra}
  auth_hmac {
    key 1 ${HMAC_KEY}
    active_key 1
    mode ${mode}
    anti_replay monotonic
  }
  virtual_ipaddress {
    192.0.2.100/24
  }`;
}

function makeHmac(body: string, mtu?: number) {
  const cfg = config(body);
  const spec = instanceSpec(cfg.vrrp_instance[0]!, cfg, mtu);
  const io = new FakeIo();
  const keys = new Map([[1, new TextEncoder().encode(HMAC_KEY)]]);
  const inst = new Instance(spec, io, { hmacKeys: keys });
  return { spec, io, inst };
}

/** A receiver-side extension with the same key, to verify what an instance sent. */
function verifier(family: 4 | 6, peers: Uint8Array[] = []) {
  const io = new FakeIo();
  return new AuthHmac(
    {
      mode: "enforce",
      antiReplay: "monotonic",
      timeWindowS: 5,
      activeKey: 1,
      keyIds: [1],
    },
    { family, version: 3, vrid: 51, unicastPeers: peers },
    KeyRing.from(new Map([[1, new TextEncoder().encode(HMAC_KEY)]]), 1),
    { realtimeUs: () => io.realtimeUs(), monotonicUs: () => io.nowUs() },
  );
}

Deno.test("auth_hmac: unicast copies share one signature; IPv4 total length has the trailer, the checksum not", () => {
  const peers = "  unicast_src_ip 192.0.2.1\n  unicast_peer {\n    192.0.2.2\n    192.0.2.3\n  }";
  const { io, inst } = makeHmac(hmacBody(peers));
  inst.start(START);
  io.advance(4 * S);
  assertEquals(inst.state, "MASTER");
  assertEquals(io.sent.map((s) => s.destination), ["192.0.2.2", "192.0.2.3"]);
  const framed = io.sent.map((s) => {
    const d = decodeAdvert({ family: 4, datagram: s.data }, { trailerLength: 28 });
    assert(d.ok);
    return d.advert;
  });
  for (const a of framed) {
    assertEquals(a.ip!.totalLength, 20 + 12 + 28);
    assertEquals(a.trailer!.length, 28);
    assert(
      matchIPv4Checksum(a.message, {
        version: 3,
        source: a.source,
        destination: a.destination,
        v3ChecksumAsV2: false,
      }) !== undefined,
      "the VRRP checksum covers the message only, with this copy's destination",
    );
  }
  assertEquals(framed[0]!.trailer, framed[1]!.trailer, "one signature per advert");
  assert(framed[0]!.checksum !== framed[1]!.checksum);
  const rx = verifier(4, [bytes("192.0.2.1")]);
  assertEquals(rx.check(framed[0]!, io.realtimeUs() / 1000), { ok: true });
  assertEquals(rx.check(framed[1]!, io.realtimeUs() / 1000).ok, false, "a copy is a replay");
  // The next advert has a new sequence.
  io.advance(5 * S);
  const next = decodeAdvert({ family: 4, datagram: io.sent.at(-1)!.data }, { trailerLength: 28 });
  assert(next.ok);
  assertEquals(rx.check(next.advert, io.realtimeUs() / 1000), { ok: true });
});

Deno.test("auth_hmac over IPv6: the trailer follows the message, the kernel checksums both", () => {
  const { io, inst } = makeHmac(
    hmacBody("").replace("192.0.2.100/24", "fe80::100/64"),
  );
  inst.start({ ...START, sourceAddress: "fe80::1" });
  io.advance(4 * S);
  const sent = io.sent[0]!;
  assertEquals(sent.data.length, 8 + 16 + 28);
  assertEquals([sent.data[6], sent.data[7]], [0, 0], "checksum left for IPV6_CHECKSUM");
  const d = decodeAdvert(
    {
      family: 6,
      payload: sent.data,
      source: bytes("fe80::1"),
      destination: bytes("ff02::12"),
      hopLimit: 255,
    },
    { trailerLength: 28 },
  );
  assert(d.ok);
  assertEquals(verifier(6).check(d.advert, io.realtimeUs() / 1000), { ok: true });
});

Deno.test("auth_hmac receive-only sends plain adverts; VIP capacity counts the trailer only when sent", () => {
  const { io, inst } = makeHmac(hmacBody("", "receive-only", 2));
  inst.start(START);
  io.advance(4 * S);
  const ref = make();
  ref.inst.start(START);
  ref.io.advance(4 * S);
  assertEquals(io.sent[0]!.data, ref.io.sent[0]!.data, "identical to an advert without auth_hmac");
  const vips = Array.from({ length: 20 }, (_, i) => `    192.0.2.${i + 10}`).join("\n");
  const withVips = (mode: string) => {
    const cfg = config(hmacBody("", mode).replace("    192.0.2.100/24", vips));
    return instanceSpec(cfg.vrrp_instance[0]!, cfg, 120).advertised.length;
  };
  // 120 − 14 − 20 − 8 = 78 bytes: 19 addresses; with the 28-byte trailer 50 bytes: 12.
  assertEquals(withVips("receive-only"), 19);
  assertEquals(withVips("enforce"), 12);
  assertEquals(withVips("permissive"), 12);
});

Deno.test("auth_hmac: a signed peer advert is accepted, a forged one counted and logged at most once a minute", () => {
  const peer = makeHmac(hmacBody("  priority 200"));
  peer.inst.start({ ...START, sourceAddress: "192.0.2.2" });
  peer.io.advance(4 * S);
  const good = peer.io.sent[0]!.data;
  const { io, inst } = makeHmac(hmacBody(""));
  inst.start(START);
  io.advance(1 * S);
  assertEquals(inst.receive({ family: 4, datagram: good }, io.realtimeUs() / 1000), {
    accepted: true,
  });
  assertEquals(inst.authHmac!.peers()[0]!.keyId, 1);
  for (let i = 0; i < 3; i++) {
    const forged = good.slice();
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 0x01;
    assertEquals(inst.receive({ family: 4, datagram: forged }, io.realtimeUs() / 1000), {
      accepted: false,
      reason: "auth_ext_invalid_hmac",
    });
  }
  assertEquals(inst.counters.auth_ext_invalid_hmac, 3);
  assertEquals(
    io.logs.filter((l) => l.level === "warn" && l.message.includes("invalid authentication HMAC"))
      .length,
    1,
  );
  // Unsigned: missing in enforce.
  assertEquals(inst.receive(advert4("192.0.2.2", 200, { version: 3 })), {
    accepted: false,
    reason: "auth_ext_missing",
  });
  assertEquals(inst.counters.auth_ext_missing, 1);
});

Deno.test("auth_hmac: changing only its settings keeps the state and restarts the sequence", () => {
  const { io, inst, spec } = makeHmac(hmacBody(""));
  inst.start(START);
  io.advance(4 * S);
  assertEquals(inst.state, "MASTER");
  const seqBefore = inst.authHmac!.sendSequence;
  const keys = new Map([[1, new TextEncoder().encode(HMAC_KEY)]]);
  assert(inst.authHmacUnchanged(spec, keys));
  assert(!inst.authHmacUnchanged(spec, new Map([[1, new TextEncoder().encode("j".repeat(32))]])));
  const cfg = config(hmacBody("", "permissive"));
  const next = instanceSpec(cfg.vrrp_instance[0]!, cfg);
  assert(sameApartFromAuthHmac(next, spec));
  assert(!inst.authHmacUnchanged(next, keys));
  const oldRing = inst.authHmac!.ring;
  inst.updateAuthHmac(next, keys);
  assert(oldRing.closed, "the old keys are wiped");
  assertEquals(inst.state, "MASTER");
  assertEquals(inst.authHmac!.settings.mode, "permissive");
  assertEquals(inst.authHmac!.sendSequence, { hi: 0, lo: 0 }, "send_seq reset");
  io.advance(5 * S);
  assert(inst.authHmac!.sendSequence.hi >= seqBefore.hi);
  // Other changes are not auth-only.
  const other = config(hmacBody("  priority 150"));
  assert(!sameApartFromAuthHmac(instanceSpec(other.vrrp_instance[0]!, other), spec));
  // Missing key bytes are an error, not an unauthenticated instance.
  let threw = false;
  try {
    new Instance(spec, new FakeIo(), {});
  } catch (e) {
    threw = e instanceof RangeError && e.message.includes("key(s) 1 have no key bytes");
  }
  assert(threw);
  inst.shutdown(true);
  assert(inst.authHmac!.ring.closed, "shutdown wipes the keys");
});

const AH_BODY = `
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  authentication {
    auth_type AH
    auth_pass secret
  }
  virtual_ipaddress {
    192.0.2.100/24
  }`;

function ahAdvert(src: string, priority: number, sequence: number): ReceivedPacket {
  const d = encodeAhDatagram(
    {
      version: 2,
      family: 4,
      vrid: 51,
      priority,
      advertInterval: 1,
      addresses: [bytes("192.0.2.100")],
    },
    { source: bytes(src), destination: bytes("224.0.0.18"), id: 3 },
  );
  setAhSequence(d, sequence);
  new AhAuth(authPassBytes("secret"), false).sign(d);
  return { family: 4, datagram: d };
}

Deno.test("auth_type AH: protocol 51 adverts with a valid ICV, the sequence learnt, resync as MASTER", () => {
  const { io, inst } = make(AH_BODY);
  inst.start(START);
  // A BACKUP learns the MASTER's sequence…
  io.advance(1 * S);
  assertEquals(inst.receive(ahAdvert("192.0.2.2", 200, 41)), { accepted: true });
  assertEquals(inst.receive(ahAdvert("192.0.2.2", 200, 41)), {
    accepted: false,
    reason: "ah_failure",
  });
  assertEquals(inst.counters.auth_failure, 1);
  // …and continues above it when it takes over.
  io.advance(6 * S);
  assertEquals(inst.state, "MASTER");
  const d = decodeAdvert({ family: 4, datagram: io.sent[0]!.data });
  assert(d.ok);
  assertEquals(d.advert.ip!.protocol, 51);
  assertEquals(d.advert.ah!.sequence, 42);
  assert(new AhAuth(authPassBytes("secret"), false).verify(d.advert).ok, "ICV verifies");
  // A lower-priority advert: the MASTER re-synchronises to its sequence + 1.
  assertEquals(inst.receive(ahAdvert("192.0.2.3", 50, 500)), { accepted: true });
  const last = decodeAdvert({ family: 4, datagram: io.sent.at(-1)!.data });
  assert(last.ok);
  assertEquals(last.advert.ah!.sequence, 502);
  assert(io.logs.some((l) => l.message.includes("IPSEC-AH : Syncing seq_num")));
  // The counter survives in the object the engine carries over a reload.
  assertEquals(inst.ahSequence!.value, 502);
});
