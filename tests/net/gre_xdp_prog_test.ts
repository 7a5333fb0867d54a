/**
 * kad's XDP programs on this kernel, through BPF_PROG_TEST_RUN (needs root): each keepalive
 * form gives XDP_TX and exactly the expected reply bytes (the packet itself: the tunnel
 * re-encapsulates it, docs/gre-attach.md); everything else gives XDP_PASS with the packet
 * unchanged; the counters move once per packet; and on many mutated packets the programs
 * decide exactly as the reference classifier in lib/net/gre_keepalive.ts.
 */
import { assert, assertEquals } from "../_assert.ts";
import { progTestRun, XDP_ACTION } from "../../ffi/libbpf.ts";
import {
  classify,
  type GreCounters,
  type GreProgram,
  keepaliveIPv4,
  keepaliveIPv6,
  selftestCases,
  type TunnelEndpoints,
  type Verdict,
} from "../../lib/net/gre_keepalive.ts";
import {
  type LoadedProgram,
  loadProgram,
  readCounters,
  selftest,
  writeConfig,
} from "../../lib/net/gre_xdp.ts";
import {
  ciscoKeepalive,
  concat,
  GRE,
  gre,
  inetChecksum,
  ipv4,
  ipv6,
  ipv6Keepalive,
  v4,
  v6,
} from "./_gre_packets.ts";

const L4 = v4("192.0.2.2");
const R4 = v4("198.51.100.1");
const L6 = v6("2001:db8::2");
const R6 = v6("2001:db8:1::1");
const EP4: TunnelEndpoints = { local: L4, remote: R4 };
const EP6: TunnelEndpoints = { local: L6, remote: R6 };

function withProgram(program: GreProgram, fn: (p: LoadedProgram) => void): void {
  const p = loadProgram(program);
  try {
    fn(p);
  } finally {
    p.close();
  }
}

interface Outcome {
  readonly action: number;
  readonly out: Uint8Array;
  readonly counted: Verdict | "none" | "several";
}

function runOnce(p: LoadedProgram, packet: Uint8Array): Outcome {
  const a = readCounters(p.countersFd);
  const r = progTestRun(p.progFd, packet);
  const b = readCounters(p.countersFd);
  const d: Array<[Verdict, number]> = [
    ["reply", b.replied - a.replied],
    ["pass", b.passed - a.passed],
    ["malformed", b.malformed - a.malformed],
  ];
  const moved = d.filter(([, n]) => n !== 0);
  const counted = moved.length === 0
    ? "none"
    : moved.length === 1 && moved[0]?.[1] === 1
    ? moved[0][0]
    : "several";
  return { action: r.retval, out: r.dataOut, counted };
}

Deno.test("each keepalive form gives XDP_TX and the packet back byte for byte", () => {
  const forms: Array<[GreProgram, string, Uint8Array, TunnelEndpoints]> = [
    ["gre", "Cisco", ciscoKeepalive(R4, L4).inner, EP4],
    ["gre", "Cisco with key", ciscoKeepalive(R4, L4, { key: 1234 }).inner, EP4],
    [
      "gre",
      "checksum, key, sequence",
      ipv4(L4, R4, GRE, gre(0, undefined, { csum: true, key: 1, seq: 2 })),
      EP4,
    ],
    ["gre", "tunnel without local address", ciscoKeepalive(R4, L4).inner, { remote: R4 }],
    ["gre6", "ip6gre", ipv6Keepalive(R6, L6, 0).inner, EP6],
    ["gre6", "RouterOS ip6gre", ipv6Keepalive(R6, L6, 0x86dd).inner, EP6],
    ["gre6", "ip6gre with key", ipv6(L6, R6, GRE, gre(0, undefined, { key: 77 })), EP6],
  ];
  for (const program of ["gre", "gre6"] as const) {
    withProgram(program, (p) => {
      for (const [prog, name, packet, ep] of forms.filter((f) => f[0] === program)) {
        writeConfig(p.configFd, prog, ep, 1);
        const o = runOnce(p, packet);
        assertEquals(o.action, XDP_ACTION.TX, `${name}: action`);
        assertEquals(o.out, packet, `${name}: reply bytes`);
        assertEquals(o.counted, "reply", `${name}: counter`);
      }
    });
  }
});

Deno.test("non-keepalives, mismatched addresses, options, truncation and non-IP give XDP_PASS untouched", () => {
  const ka4 = keepaliveIPv4(L4, R4);
  const cases: Array<[GreProgram, string, Uint8Array, Verdict]> = [
    ["gre", "GRE carrying IPv4", ipv4(L4, R4, GRE, gre(0x0800, ka4)), "pass"],
    ["gre", "UDP", ipv4(L4, R4, 17, new Uint8Array(12)), "pass"],
    ["gre", "inner destination mismatch", keepaliveIPv4(L4, v4("203.0.113.5")), "pass"],
    ["gre", "inner source mismatch", keepaliveIPv4(v4("203.0.113.5"), R4), "pass"],
    [
      "gre",
      "IPv4 options",
      ipv4(L4, R4, GRE, gre(0), { id: 0, options: new Uint8Array([0x94, 4, 0, 0]) }),
      "pass",
    ],
    ["gre", "fragment", ipv4(L4, R4, GRE, gre(0), { id: 0, fragment: 0x0001 }), "pass"],
    ["gre", "truncated IPv4 header", ka4.subarray(0, 15), "malformed"],
    ["gre", "truncated GRE header", concat(ka4.subarray(0, 22)), "malformed"],
    [
      "gre",
      "GRE key flag, no key",
      ipv4(L4, R4, GRE, gre(0, undefined, { extraFlags: 0x2000 })),
      "malformed",
    ],
    ["gre", "non-IP (MPLS-like) payload", new Uint8Array([0x00, 0x06, 0x41, 0x40, ...ka4]), "pass"],
    ["gre", "IPv6 payload", keepaliveIPv6(L6, R6), "pass"],
    ["gre6", "IPv4 payload", ka4, "pass"],
    ["gre6", "UDP", ipv6(L6, R6, 17, new Uint8Array(8)), "pass"],
    ["gre6", "inner destination mismatch", keepaliveIPv6(L6, L6), "pass"],
    [
      "gre6",
      "extension header",
      ipv6(L6, R6, 0, concat(new Uint8Array([GRE, 0, 1, 4, 0, 0, 0, 0]), gre(0))),
      "pass",
    ],
    ["gre6", "truncated IPv6 header", keepaliveIPv6(L6, R6).subarray(0, 20), "malformed"],
    ["gre6", "payload length past the end", ipv6(L6, R6, GRE, gre(0)).subarray(0, 42), "malformed"],
  ];
  for (const program of ["gre", "gre6"] as const) {
    withProgram(program, (p) => {
      writeConfig(p.configFd, program, program === "gre" ? EP4 : EP6, 1);
      for (const [prog, name, packet, want] of cases.filter((c) => c[0] === program)) {
        assertEquals(classify(prog, packet, prog === "gre" ? EP4 : EP6), want, `${name}: model`);
        const o = runOnce(p, packet);
        assertEquals(o.action, XDP_ACTION.PASS, `${name}: action`);
        assertEquals(o.out, packet, `${name}: packet changed`);
        assertEquals(o.counted, want, `${name}: counter`);
      }
    });
  }
});

Deno.test("a program whose config kad never wrote answers nothing", () => {
  withProgram("gre", (p) => {
    const o = runOnce(p, keepaliveIPv4(L4, R4));
    assertEquals([o.action, o.counted], [XDP_ACTION.PASS, "pass"]);
  });
});

Deno.test("counters add up per packet across many runs", () => {
  withProgram("gre", (p) => {
    writeConfig(p.configFd, "gre", EP4, 1);
    const before: GreCounters = readCounters(p.countersFd);
    const ka = keepaliveIPv4(L4, R4);
    progTestRun(p.progFd, ka, { repeat: 1000 });
    progTestRun(p.progFd, ipv4(L4, R4, 1, new Uint8Array(8)), { repeat: 250 });
    progTestRun(p.progFd, ka.subarray(0, 16), { repeat: 10 });
    const after = readCounters(p.countersFd);
    assertEquals(
      [
        after.replied - before.replied,
        after.passed - before.passed,
        after.malformed - before.malformed,
      ],
      [1000, 250, 10],
    );
  });
});

/** A small deterministic generator (xorshift32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function mutate(base: Uint8Array, r: () => number): Uint8Array {
  let p = new Uint8Array(base);
  const edits = 1 + (r() % 3);
  for (let e = 0; e < edits; e++) {
    const kind = r() % 6;
    const i = r() % Math.min(p.length, 64);
    if (kind === 0) p[i] = (p[i] as number) ^ (1 << (r() % 8));
    else if (kind === 1) p[i] = r() & 0xff;
    else if (kind === 2) p = p.slice(0, Math.max(14, r() % (p.length + 1)));
    else if (kind === 3) p = concat(p, new Uint8Array(r() % 24).map(() => r() & 0xff));
    else if (kind === 4 && (p[0] as number) >> 4 === 4 && p.length >= 4) {
      p[2] = 0;
      p[3] = r() % (p.length + 8);
    } else if (kind === 5 && p.length >= 20) {
      p[20] = [0x80, 0x20, 0x10, 0xb0, 0x40, 0x01][r() % 6] as number;
    }
  }
  // Keep most IPv4 header checksums right, so mutations reach the later checks.
  if ((p[0] as number) === 0x45 && p.length >= 20 && r() % 4 !== 0) {
    p[10] = 0;
    p[11] = 0;
    const c = inetChecksum(p.subarray(0, 20));
    p[10] = c >> 8;
    p[11] = c & 0xff;
  }
  return p;
}

Deno.test("on 20,000 mutated packets the programs decide exactly as the reference classifier", () => {
  const seed = 0x6b616467;
  const r = rng(seed);
  const bases: Array<[GreProgram, Uint8Array, TunnelEndpoints]> = [
    ["gre", keepaliveIPv4(L4, R4), EP4],
    ["gre", keepaliveIPv4(L4, R4, { key: 3, sequence: 4, checksum: true }), EP4],
    ["gre", keepaliveIPv4(L4, R4), { remote: R4 }],
    ["gre6", keepaliveIPv6(L6, R6), EP6],
    ["gre6", keepaliveIPv6(L6, R6, { protocol: 0x86dd, key: 1 }), EP6],
    ["gre6", keepaliveIPv6(L6, R6), { remote: R6 }],
  ];
  let replies = 0;
  for (const program of ["gre", "gre6"] as const) {
    withProgram(program, (p) => {
      for (const [, base, ep] of bases.filter((b) => b[0] === program)) {
        writeConfig(p.configFd, program, ep, 1);
        for (let n = 0; n < 3334; n++) {
          const packet = mutate(base, r);
          const want = classify(program, packet, ep);
          const o = runOnce(p, packet);
          const where = `seed ${seed}, ${program}, packet ${[...packet].join(",")}`;
          assertEquals(o.action, want === "reply" ? XDP_ACTION.TX : XDP_ACTION.PASS, where);
          assertEquals(o.counted, want, where);
          assertEquals(o.out, packet, `${where}: packet changed`);
          if (want === "reply") replies++;
        }
      }
    });
  }
  assert(
    replies > 100,
    `only ${replies} mutated packets were keepalives: the mutations are too rough`,
  );
});

Deno.test("--selftest's built-in packets all behave as expected", () => {
  const results = selftest();
  assertEquals(results.length, selftestCases().length);
  for (const res of results) assert(res.ok, `${res.name}: ${JSON.stringify(res)}`);
});
