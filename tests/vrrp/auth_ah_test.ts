/**
 * Legacy IPsec AH (lib/vrrp/auth_ah.ts) against spec/vrrp.md §2.2: the datagram layout, the
 * ICV checked with an independent HMAC-MD5 (`node:crypto`) over the datagram with the mutable
 * fields zeroed, verification through lib/vrrp/receive.ts (ICV, SPI, sequence, with the
 * counters keepalived bumps), and the sequence rules (learn, resync, cycle).
 */
import { createHmac } from "node:crypto";
import { assert, assertEquals } from "../_assert.ts";
import {
  AH_SEQUENCE_LIMIT,
  AH_VRRP_OFFSET,
  AhAuth,
  AhSequence,
  encodeAhDatagram,
  setAhSequence,
} from "../../lib/vrrp/auth_ah.ts";
import { matchIPv4Checksum } from "../../lib/vrrp/checksum.ts";
import {
  type AdvertSpec,
  authPassBytes,
  decodeAdvert,
  IPPROTO_AH,
  type ReceivedPacket,
} from "../../lib/vrrp/packet.ts";
import { type InstanceView, validateAdvert } from "../../lib/vrrp/receive.ts";
import { v4 } from "./_packets.ts";

const SRC = v4("192.0.2.11");
const GROUP = v4("224.0.0.18");
const VIP = v4("192.0.2.100");
const KEY = authPassBytes("secret");

const SPEC: AdvertSpec = {
  version: 2,
  family: 4,
  vrid: 51,
  priority: 150,
  advertInterval: 1,
  addresses: [VIP],
};

/** A signed datagram with `sequence`, as an instance sends it. */
function signed(
  sequence: number,
  opts: { key?: Uint8Array; unicast?: boolean; src?: Uint8Array; ttl?: number } = {},
) {
  const d = encodeAhDatagram(SPEC, {
    source: opts.src ?? SRC,
    destination: GROUP,
    id: 7,
    ...(opts.ttl === undefined ? {} : { ttl: opts.ttl }),
  });
  setAhSequence(d, sequence);
  new AhAuth(opts.key ?? KEY, opts.unicast ?? false).sign(d);
  return d;
}

/** The ICV computed independently: HMAC-MD5 over the datagram with the mutable fields zeroed. */
function referenceIcv(d: Uint8Array, unicast: boolean): Uint8Array {
  const z = d.slice();
  z[1] = 0; // TOS
  z[6] = 0; // flags / fragment offset
  z[7] = 0;
  z[10] = 0; // header checksum
  z[11] = 0;
  if (unicast) z[8] = 0; // TTL
  z.fill(0, 32, 44); // ICV
  return new Uint8Array(createHmac("md5", KEY).update(z).digest()).subarray(0, 12);
}

function view(ah: AhAuth): InstanceView {
  return {
    version: 2,
    family: 4,
    vrid: 51,
    advertIntervalUs: 1_000_000,
    auth: ah,
    vips: [VIP],
    unicastPeers: [],
    checkUnicastSrc: false,
    skipCheckAdvAddr: false,
    v3ChecksumAsV2: false,
    oldUnicastChecksum: false,
    detectOldUnicastChecksum: false,
    mcastGroup: GROUP,
    ownerIgnoreAdverts: false,
    effectivePriority: 100,
  };
}

const pkt = (datagram: Uint8Array): ReceivedPacket => ({ family: 4, datagram });

Deno.test("an AH advert is laid out as keepalived sends it (§2.2)", () => {
  const d = signed(1);
  assertEquals(d.length, 20 + 24 + 20);
  assertEquals(d[9], IPPROTO_AH);
  assertEquals((d[2]! << 8) | d[3]!, 64, "total length includes AH");
  assertEquals([d[20], d[21], d[22], d[23]], [112, 4, 0, 0], "next header, length, reserved");
  assertEquals(d.subarray(24, 28), SRC, "SPI = source address");
  assertEquals(d.subarray(28, 32), new Uint8Array([0, 0, 0, 1]), "sequence");
  assertEquals(d[AH_VRRP_OFFSET + 4], 2, "VRRP auth type 2");
  assertEquals(d.subarray(AH_VRRP_OFFSET + 12, AH_VRRP_OFFSET + 20), new Uint8Array(8));
  const r = decodeAdvert(pkt(d));
  assert(r.ok);
  assert(
    matchIPv4Checksum(r.advert.message, {
      version: 2,
      source: SRC,
      destination: GROUP,
      v3ChecksumAsV2: false,
    }) !== undefined,
  );
  assertEquals(r.advert.ah!.sequence, 1);
});

Deno.test("the ICV is HMAC-MD5 of the datagram with TOS, fragment, checksum (and unicast TTL) zeroed", () => {
  for (const unicast of [false, true]) {
    const d = signed(5, { unicast });
    assertEquals(d.subarray(32, 44), referenceIcv(d, unicast), `unicast ${unicast}`);
  }
});

Deno.test("receive: a signed advert passes, a tampered one fails the ICV, mutable fields do not matter", () => {
  const ah = new AhAuth(KEY, false);
  const ok = validateAdvert(pkt(signed(1)), view(ah));
  assert(ok.ok, ok.ok ? "" : ok.log);
  assertEquals(ah.sequence.value, 1, "the sender's sequence is learnt");
  // TOS, fragment field and header checksum are zeroed in the ICV: changing them is fine.
  const mutable = signed(2);
  mutable[1] = 0x10;
  mutable[10] = 0x12;
  mutable[11] = 0x34;
  assert(validateAdvert(pkt(mutable), view(ah)).ok);
  // Anything else invalidates the ICV, e.g. the priority.
  const tampered = signed(3);
  tampered[AH_VRRP_OFFSET + 2] = 254;
  const r = validateAdvert(pkt(tampered), view(ah));
  assert(!r.ok);
  assertEquals([r.reason, r.counters], ["ah_failure", ["auth_failure"]]);
  assertEquals(ah.sequence.value, 2, "a forged advert does not move the counter");
  // A wrong password.
  const other = validateAdvert(pkt(signed(9, { key: authPassBytes("other") })), view(ah));
  assert(!other.ok);
  assert(other.log.includes("invalid IPSEC HMAC-MD5"), other.log);
  // The TTL is covered for multicast and zeroed for unicast.
  const ttl = signed(10, { ttl: 64 });
  ttl[8] = 255;
  assert(!validateAdvert(pkt(ttl), view(ah)).ok);
  const uni = new AhAuth(KEY, true);
  const uttl = signed(10, { unicast: true, ttl: 64 });
  uttl[8] = 70;
  assert(uni.verify(decodeAdvertOk(uttl)).ok);
});

function decodeAdvertOk(d: Uint8Array) {
  const r = decodeAdvert(pkt(d));
  assert(r.ok);
  return r.advert;
}

Deno.test("receive: SPI must be the source, sequences must increase", () => {
  const ah = new AhAuth(KEY, false);
  // An SPI that is not the source (re-signed so the ICV is right).
  const d = signed(1);
  d.set(v4("192.0.2.99"), 24);
  new AhAuth(KEY, false).sign(d);
  const spi = validateAdvert(pkt(d), view(ah));
  assert(!spi.ok);
  assert(spi.log.includes("invalid IPSEC SPI value 192.0.2.99"), spi.log);
  assert(validateAdvert(pkt(signed(5)), view(ah)).ok);
  for (const seq of [5, 4]) {
    const r = validateAdvert(pkt(signed(seq)), view(ah));
    assert(!r.ok);
    assertEquals(r.counters, ["auth_failure"]);
    assert(r.log.includes(`sequence number ${seq}`) && r.log.includes("already processed"), r.log);
  }
  assert(validateAdvert(pkt(signed(6)), view(ah)).ok);
});

Deno.test("sequence: incremented before each advert, resync, cycle near 2^32 and restart as MASTER", () => {
  const s = new AhSequence();
  assertEquals([s.next(), s.next()], [1, 2]);
  assert(s.accept(10));
  assert(!s.accept(10));
  assertEquals(s.next(), 11, "a BACKUP that takes over continues above the MASTER's sequence");
  s.resync(100);
  assertEquals(s.next(), 102);
  s.value = AH_SEQUENCE_LIMIT;
  assertEquals(s.next(), AH_SEQUENCE_LIMIT + 1);
  assertEquals(s.next(), AH_SEQUENCE_LIMIT + 1, "held once it would pass 0xFFFFFFFD");
  assert(s.cycle);
  s.becomeMaster();
  assertEquals([s.cycle, s.next()], [false, 1]);
  s.becomeMaster();
  assertEquals(s.next(), 2, "no restart without a cycle");
});
