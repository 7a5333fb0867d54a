import { assert, assertEquals, assertThrows } from "../_assert.ts";
import {
  classify,
  CONFIG_VALUE_SIZE,
  decodeConfig,
  decodeCounters,
  encodeConfig,
  greHeaderLength,
  keepaliveIPv4,
  keepaliveIPv6,
  selftestCases,
  type TunnelEndpoints,
  type Verdict,
} from "../../lib/net/gre_keepalive.ts";
import { concat, GRE, gre, ipv4, ipv6, ipv6Keepalive, v4, v6 } from "./_gre_packets.ts";

const L4 = v4("192.0.2.2");
const R4 = v4("198.51.100.1");
const L6 = v6("2001:db8::2");
const R6 = v6("2001:db8:1::1");
const EP4: TunnelEndpoints = { local: L4, remote: R4 };
const EP6: TunnelEndpoints = { local: L6, remote: R6 };

Deno.test("keepalive builders produce the bytes of independently assembled packets", () => {
  assertEquals(keepaliveIPv4(L4, R4), ipv4(L4, R4, GRE, gre(0), { id: 0 }));
  assertEquals(
    keepaliveIPv4(L4, R4, { key: 42 }, 9),
    ipv4(L4, R4, GRE, gre(0, undefined, { key: 42 }), { id: 9 }),
  );
  assertEquals(
    keepaliveIPv4(L4, R4, { checksum: true, key: 7, sequence: 3 }),
    ipv4(L4, R4, GRE, gre(0, undefined, { csum: true, key: 7, seq: 3 }), { id: 0 }),
  );
  assertEquals(keepaliveIPv6(L6, R6), ipv6(L6, R6, GRE, gre(0)));
  assertEquals(keepaliveIPv6(L6, R6, { protocol: 0x86dd }), ipv6Keepalive(R6, L6, 0x86dd).inner);
});

Deno.test("a Cisco keepalive's inner packet, as the gre device delivers it, is answered", () => {
  // The bytes a router puts inside the tunnel (RFC 2784): IPv4 (local -> remote), GRE 0.
  const inner = new Uint8Array([
    0x45,
    0x00,
    0x00,
    0x18,
    0x00,
    0x00,
    0x00,
    0x00,
    0xff,
    0x2f,
    0x00,
    0x00,
    ...L4,
    ...R4,
    0x00,
    0x00,
    0x00,
    0x00,
  ]);
  const sum = ipv4(L4, R4, GRE, gre(0), { id: 0 }).subarray(10, 12);
  inner.set(sum, 10);
  assertEquals(classify("gre", inner, EP4), "reply");
});

Deno.test("each keepalive form is answered by its program only", () => {
  const forms = [
    ["gre", keepaliveIPv4(L4, R4), EP4],
    ["gre", keepaliveIPv4(L4, R4, { key: 1, sequence: 2, checksum: true }), EP4],
    ["gre", keepaliveIPv4(L4, R4), { remote: R4 }],
    ["gre6", keepaliveIPv6(L6, R6), EP6],
    ["gre6", keepaliveIPv6(L6, R6, { protocol: 0x86dd }), EP6],
    ["gre6", keepaliveIPv6(L6, R6, { key: 5 }), { remote: R6 }],
  ] as const;
  for (const [program, packet, ep] of forms) {
    assertEquals(classify(program, packet, ep), "reply", `${program} ${packet.length}`);
    const other = program === "gre" ? "gre6" : "gre";
    assertEquals(classify(other, packet, program === "gre" ? EP6 : EP4), "pass");
  }
});

Deno.test("the IPv4 program does not answer protocol 0x86dd: only ip6gre has RouterOS's form", () => {
  assertEquals(classify("gre", keepaliveIPv4(L4, R4, { protocol: 0x86dd }), EP4), "pass");
});

Deno.test("non-keepalives are passed, broken headers are malformed, DF alone is no fragment", () => {
  const ka = keepaliveIPv4(L4, R4);
  const cases: Array<[string, Uint8Array, Verdict]> = [
    ["empty", new Uint8Array(0), "pass"],
    ["not IP", new Uint8Array([0x00, 0x01, 0x02]), "pass"],
    ["IPv6 on gre", keepaliveIPv6(L6, R6), "pass"],
    ["one byte of IPv4", new Uint8Array([0x45]), "malformed"],
    ["IHL 4", concat(new Uint8Array([0x44]), ka.subarray(1)), "malformed"],
    [
      "options",
      ipv4(L4, R4, GRE, gre(0), { id: 0, options: new Uint8Array([1, 1, 1, 0]) }),
      "pass",
    ],
    ["more fragments", ipv4(L4, R4, GRE, gre(0), { id: 0, fragment: 0x2000 }), "pass"],
    [
      "don't fragment alone is not a fragment",
      ipv4(L4, R4, GRE, gre(0), { id: 0, fragment: 0x4000 }),
      "reply",
    ],
    ["ICMP", ipv4(L4, R4, 1, new Uint8Array(8)), "pass"],
    ["inner destination elsewhere", keepaliveIPv4(L4, v4("203.0.113.1")), "pass"],
    ["inner source elsewhere", keepaliveIPv4(v4("203.0.113.1"), R4), "pass"],
    ["addresses swapped", keepaliveIPv4(R4, L4), "pass"],
    ["GRE carrying IPv4", keepaliveIPv4(L4, R4, { protocol: 0x0800 }), "pass"],
    ["GRE version 1", ipv4(L4, R4, GRE, gre(0, undefined, { extraFlags: 1 }), { id: 0 }), "pass"],
    [
      "GRE routing",
      ipv4(L4, R4, GRE, gre(0, undefined, { extraFlags: 0x4000 }), { id: 0 }),
      "pass",
    ],
    [
      "GRE recursion bits",
      ipv4(L4, R4, GRE, gre(0, undefined, { extraFlags: 0x0100 }), { id: 0 }),
      "pass",
    ],
    ["no room for GRE", ipv4(L4, R4, GRE, new Uint8Array(2), { id: 0 }), "malformed"],
    ["total length past the end", ka.subarray(0, 22), "malformed"],
  ];
  for (const [name, packet, want] of cases) {
    assertEquals(classify("gre", packet, EP4), want, name);
  }
});

Deno.test("a wrong inner IPv4 header checksum is malformed", () => {
  const p = keepaliveIPv4(L4, R4);
  p[11] = (p[11] as number) ^ 0x01;
  assertEquals(classify("gre", p, EP4), "malformed");
});

Deno.test("ip6gre: extension headers, other protocols and short payloads are not answered", () => {
  const ka = keepaliveIPv6(L6, R6);
  const ext = ipv6(L6, R6, 60, concat(new Uint8Array([GRE, 0, 1, 4, 0, 0, 0, 0]), gre(0)));
  assertEquals(classify("gre6", ext, EP6), "pass");
  assertEquals(classify("gre6", ipv6(L6, R6, 17, new Uint8Array(8)), EP6), "pass");
  assertEquals(classify("gre6", ipv6(R6, L6, GRE, gre(0)), EP6), "pass");
  assertEquals(classify("gre6", keepaliveIPv6(L6, R6, { protocol: 0x0800 }), EP6), "pass");
  assertEquals(classify("gre6", ka.subarray(0, 39), EP6), "malformed");
  assertEquals(classify("gre6", ipv6(L6, R6, GRE, new Uint8Array(2)), EP6), "malformed");
  assertEquals(
    classify("gre6", ipv6(L6, R6, GRE, gre(0, undefined, { key: 1 })).subarray(0, 46), EP6),
    "malformed",
  );
});

Deno.test("no truncation of a keepalive is ever answered", () => {
  for (
    const [program, p, ep] of [
      ["gre", keepaliveIPv4(L4, R4, { key: 9, sequence: 1 }), EP4],
      ["gre6", keepaliveIPv6(L6, R6, { checksum: true, key: 9 }), EP6],
    ] as const
  ) {
    for (let n = 0; n < p.length; n++) {
      assert(classify(program, p.subarray(0, n), ep) !== "reply", `${program} cut at ${n}`);
    }
    assertEquals(classify(program, p, ep), "reply");
  }
});

Deno.test("an unconfigured program (no endpoints) answers nothing", () => {
  assertEquals(classify("gre", keepaliveIPv4(L4, R4), undefined), "pass");
  assertEquals(classify("gre6", keepaliveIPv6(L6, R6), undefined), "pass");
});

Deno.test("GRE header length follows the C, K and S bits (RFC 2784, RFC 2890)", () => {
  assertEquals(greHeaderLength(0x0000), 4);
  assertEquals(greHeaderLength(0x8000), 8);
  assertEquals(greHeaderLength(0x2000), 8);
  assertEquals(greHeaderLength(0x1000), 8);
  assertEquals(greHeaderLength(0xb000), 16);
  assertEquals(greHeaderLength(0x4000), 0);
  assertEquals(greHeaderLength(0x0001), 0);
  assertEquals(greHeaderLength(0x0008), 0);
});

Deno.test("config values hold the endpoints at fixed offsets, flags and ifindex little-endian", () => {
  const v = encodeConfig("gre", EP4, 7);
  assertEquals(v.length, CONFIG_VALUE_SIZE);
  assertEquals([...v.subarray(0, 4)], [...L4]);
  assertEquals([...v.subarray(16, 20)], [...R4]);
  assertEquals([...v.subarray(32, 40)], [3, 0, 0, 0, 7, 0, 0, 0]);
  assertEquals(decodeConfig("gre", v), { endpoints: { local: L4, remote: R4 }, ifindex: 7 });
  const w = encodeConfig("gre6", { remote: R6 }, 1);
  assertEquals(w[32], 1);
  assertEquals(decodeConfig("gre6", w), {
    endpoints: { local: undefined, remote: R6 },
    ifindex: 1,
  });
  assertEquals(decodeConfig("gre", new Uint8Array(40)).endpoints, undefined);
  assertThrows(() => encodeConfig("gre", EP6, 1), RangeError, "needs 4");
});

Deno.test("per-CPU counters are summed over every CPU slot", () => {
  const cpus = 3;
  const buf = new Uint8Array(24 * cpus);
  const v = new DataView(buf.buffer);
  for (let i = 0; i < cpus; i++) {
    v.setBigUint64(i * 24, BigInt(i + 1), true);
    v.setBigUint64(i * 24 + 8, 10n * BigInt(i + 1), true);
    v.setBigUint64(i * 24 + 16, 100n, true);
  }
  assertEquals(decodeCounters(buf, cpus), { replied: 6, passed: 60, malformed: 300 });
});

Deno.test("the built-in self-test cases are what the reference classifier decides", () => {
  const cases = selftestCases();
  assert(cases.filter((c) => c.expect === "reply").length >= 7, "too few keepalive forms");
  for (const c of cases) {
    assertEquals(classify(c.program, c.packet, c.endpoints), c.expect, c.name);
    // BPF_PROG_TEST_RUN needs at least 14 bytes of packet.
    assert(c.packet.length >= 14, `${c.name} is shorter than 14 bytes`);
  }
});
