import { assertEquals } from "../_assert.ts";
import {
  GROUP4,
  hex,
  refChecksum,
  v4,
  v6,
  VECTOR_A,
  VECTOR_A_SRC,
  WORKED,
  WORKED_SRC,
} from "./_packets.ts";
import {
  finishChecksum,
  internetChecksum,
  onesComplementSum,
} from "../../lib/net/inet_checksum.ts";
import {
  ipv4AdvertChecksum,
  matchIPv4Checksum,
  vrrpIPv6Checksum,
  vrrpV2Checksum,
  vrrpV3IPv4Checksum,
  writeChecksum,
} from "../../lib/vrrp/checksum.ts";

/** The message with its checksum bytes zeroed, as a plain array. */
function zeroed(msg: Uint8Array): number[] {
  const a = [...msg];
  a[6] = 0;
  a[7] = 0;
  return a;
}

function pseudo4(src: Uint8Array, dst: Uint8Array, len: number): number[] {
  return [...src, ...dst, 0, 112, len >> 8, len & 0xff];
}

function pseudo6(src: Uint8Array, dst: Uint8Array, len: number): number[] {
  return [...src, ...dst, 0, 0, len >> 8, len & 0xff, 0, 0, 0, 112];
}

const VECTOR_B = hex(
  "31 33 c8 01 00 64 a2 e9 fe 80 00 00 00 00 00 00 00 00 00 00 00 00 01 00" +
    "01 01 00 00 68 00 00 00 80 00 00 00 c8 c5 61 46 eb fd 66 ee 10 ec 4d 81 86 46 1b 78",
);

Deno.test("internetChecksum gives the RFC 1071 example checksum and 0 over a checked buffer", () => {
  const data = hex("00 01 f2 03 f4 f5 f6 f7");
  assertEquals(internetChecksum(data), 0x220d);
  assertEquals(refChecksum([...data]), 0x220d);
  const withSum = hex("00 01 f2 03 f4 f5 f6 f7 22 0d");
  assertEquals(internetChecksum(withSum), 0);
});

Deno.test("internetChecksum pads an odd last byte with zero and honours a range", () => {
  assertEquals(internetChecksum(hex("12 34 56")), refChecksum([0x12, 0x34, 0x56, 0x00]));
  const buf = hex("ff ff 12 34 56 78 ff");
  assertEquals(internetChecksum(buf, 2, 6), refChecksum([0x12, 0x34, 0x56, 0x78]));
  assertEquals(internetChecksum(new Uint8Array(0)), 0xffff);
});

Deno.test("onesComplementSum accumulates and finishChecksum folds large sums", () => {
  const s = onesComplementSum(hex("ff ff ff ff"), 0, 4, 0xffff);
  assertEquals(s, 0x2fffd);
  assertEquals(finishChecksum(s), refChecksum([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  assertEquals(finishChecksum(0x1_0000_0000 + 5), (~6) & 0xffff);
});

Deno.test("VRRPv3 IPv4 checksum with pseudo-header reproduces the captured 0x10d9", () => {
  assertEquals(vrrpV3IPv4Checksum(WORKED, WORKED_SRC, GROUP4), 0x10d9);
  assertEquals(refChecksum([...pseudo4(WORKED_SRC, GROUP4, 12), ...zeroed(WORKED)]), 0x10d9);
});

Deno.test("VRRPv3 IPv4 checksum without pseudo-header (v3_checksum_as_v2) is 0xfbb5 there", () => {
  assertEquals(vrrpV2Checksum(WORKED), 0xfbb5);
  assertEquals(refChecksum(zeroed(WORKED)), 0xfbb5);
});

Deno.test("vector A carries the RFC 9568 checksum 0x4402; keepalived's default would be 0x3935", () => {
  assertEquals(vrrpV2Checksum(VECTOR_A), 0x4402);
  assertEquals(vrrpV3IPv4Checksum(VECTOR_A, VECTOR_A_SRC, GROUP4), 0x3935);
  assertEquals(refChecksum([...pseudo4(VECTOR_A_SRC, GROUP4, 12), ...zeroed(VECTOR_A)]), 0x3935);
});

Deno.test("IPv6 checksum covers the trailer: vector B's kernel checksum 0xa2e9", () => {
  const src = v6("fe80::10");
  const dst = v6("fe80::20");
  assertEquals(VECTOR_B.length, 52);
  assertEquals(vrrpIPv6Checksum(VECTOR_B, src, dst), 0xa2e9);
  assertEquals(refChecksum([...pseudo6(src, dst, 52), ...zeroed(VECTOR_B)]), 0xa2e9);
  // Without the trailer the checksum is different: it really covers the 28 bytes.
  const noTrailer = VECTOR_B.subarray(0, 24);
  assertEquals(
    vrrpIPv6Checksum(noTrailer, src, dst),
    refChecksum([...pseudo6(src, dst, 24), ...zeroed(noTrailer)]),
  );
  assertEquals(vrrpIPv6Checksum(noTrailer, src, dst) === 0xa2e9, false);
});

Deno.test("VRRPv2 checksum ignores whatever the checksum field holds", () => {
  const msg = hex("21 33 64 01 01 01 ab cd 0a 00 00 64 73 65 63 72 65 74 00 00");
  const expect = refChecksum(zeroed(msg));
  assertEquals(vrrpV2Checksum(msg), expect);
  writeChecksum(msg, expect);
  assertEquals([msg[6], msg[7]], [expect >> 8, expect & 0xff]);
  assertEquals(vrrpV2Checksum(msg), expect);
  assertEquals(internetChecksum(msg), 0);
});

Deno.test("ipv4AdvertChecksum picks the form by version and v3_checksum_as_v2", () => {
  const ctx = { version: 3, source: WORKED_SRC, destination: GROUP4, v3ChecksumAsV2: false };
  assertEquals(ipv4AdvertChecksum(WORKED, ctx), 0x10d9);
  assertEquals(ipv4AdvertChecksum(WORKED, { ...ctx, v3ChecksumAsV2: true }), 0xfbb5);
  assertEquals(ipv4AdvertChecksum(WORKED, { ...ctx, version: 2 }), 0xfbb5);
  // The destination is part of the VRRPv3 pseudo-header: each unicast copy differs.
  const peer = v4("10.77.0.2");
  assertEquals(
    ipv4AdvertChecksum(WORKED, { ...ctx, destination: peer }),
    refChecksum([...pseudo4(WORKED_SRC, peer, 12), ...zeroed(WORKED)]),
  );
});

Deno.test("a default VRRPv3 receiver accepts the pseudo-header form and rejects RFC 9568's", () => {
  const ctx = { version: 3, source: WORKED_SRC, destination: GROUP4, v3ChecksumAsV2: false };
  assertEquals(matchIPv4Checksum(WORKED, ctx), "v3_pseudo_header");
  const rfc9568 = WORKED.slice();
  writeChecksum(rfc9568, 0xfbb5);
  assertEquals(matchIPv4Checksum(rfc9568, ctx), undefined);
  assertEquals(matchIPv4Checksum(VECTOR_A, { ...ctx, source: VECTOR_A_SRC }), undefined);
});

Deno.test("a v3_checksum_as_v2 receiver accepts both VRRPv3 forms but not a wrong checksum", () => {
  const ctx = { version: 3, source: WORKED_SRC, destination: GROUP4, v3ChecksumAsV2: true };
  assertEquals(matchIPv4Checksum(WORKED, ctx), "v3_pseudo_header");
  assertEquals(matchIPv4Checksum(VECTOR_A, { ...ctx, source: VECTOR_A_SRC }), "v3_as_v2");
  const bad = WORKED.slice();
  writeChecksum(bad, 0x10d8);
  assertEquals(matchIPv4Checksum(bad, ctx), undefined);
});

Deno.test("a VRRPv2 receiver accepts only the message-only form", () => {
  const msg = hex("21 33 64 01 01 01 00 00 0a 00 00 64 00 00 00 00 00 00 00 00");
  writeChecksum(msg, refChecksum(zeroed(msg)));
  const ctx = { version: 2, source: v4("10.0.0.1"), destination: GROUP4, v3ChecksumAsV2: false };
  assertEquals(matchIPv4Checksum(msg, ctx), "v2");
  assertEquals(matchIPv4Checksum(msg, { ...ctx, v3ChecksumAsV2: true }), "v2");
  msg[9] = (msg[9] as number) ^ 1;
  assertEquals(matchIPv4Checksum(msg, ctx), undefined);
});

Deno.test("the pre-1.3.6 unicast checksum is the pseudo-header checksum to the group", () => {
  // A unicast copy to 10.77.0.2 checksummed as if sent to the group: it matches only when the
  // receiver substitutes the group for the destination.
  const msg = WORKED.slice();
  const peer = v4("10.77.0.2");
  const ctx = { version: 3, source: WORKED_SRC, destination: peer, v3ChecksumAsV2: false };
  assertEquals(matchIPv4Checksum(msg, ctx), undefined);
  assertEquals(matchIPv4Checksum(msg, { ...ctx, destination: GROUP4 }), "v3_pseudo_header");
});
