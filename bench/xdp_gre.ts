/**
 * Benchmark: nanoseconds per packet of kad's GRE keepalive programs under
 * BPF_PROG_TEST_RUN (the kernel's own per-run average over `repeat` runs), for the reply
 * path (a keepalive: XDP_TX) and the pass path (ordinary tunnel traffic: XDP_PASS), next to
 * a trivial XDP_PASS program measured in the same rounds. Rounds alternate the programs so
 * drift affects all equally; the median of the rounds is reported. Needs root.
 *
 * Usage: deno run -A bench/xdp_gre.ts [REPEAT [ROUNDS]]   (default 1000000 and 7)
 * Prints a Markdown table for bench/README.md ("XDP GRE keepalive").
 */
import { BpfObject, progTestRun, XDP_ACTION } from "../ffi/libbpf.ts";
import { type GreProgram, keepaliveIPv4, keepaliveIPv6 } from "../lib/net/gre_keepalive.ts";
import { type LoadedProgram, loadProgram, writeConfig } from "../lib/net/gre_xdp.ts";
import { xdpObject } from "../lib/net/xdp_objects.ts";

const repeat = Number(Deno.args[0] ?? "1000000");
const rounds = Number(Deno.args[1] ?? "7");
if (!(repeat >= 1) || !(rounds >= 1)) {
  console.error("usage: deno run -A bench/xdp_gre.ts [REPEAT [ROUNDS]]");
  Deno.exit(2);
}
/** The reply-path target of the issue (ns per packet). */
const TARGET_NS = 30;

const L4 = new Uint8Array([192, 0, 2, 2]);
const R4 = new Uint8Array([198, 51, 100, 1]);
const L6 = new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
const R6 = new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

/** A 60-byte IPv4 TCP segment and a 72-byte IPv6 one: tunnel traffic that is not a keepalive. */
function tcp4(): Uint8Array {
  const p = keepaliveIPv4(L4, R4);
  const out = new Uint8Array(60);
  out.set(p.subarray(0, 20));
  out[3] = 60;
  out[9] = 6;
  out[10] = 0;
  out[11] = 0;
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += ((out[i] as number) << 8) | (out[i + 1] as number);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  out[10] = c >> 8;
  out[11] = c & 0xff;
  return out;
}

function tcp6(): Uint8Array {
  const out = new Uint8Array(72);
  out.set(keepaliveIPv6(L6, R6).subarray(0, 40));
  out[5] = 32;
  out[6] = 6;
  return out;
}

interface Case {
  readonly name: string;
  readonly path: "baseline" | "reply" | "pass";
  readonly fd: number;
  readonly packet: Uint8Array;
  readonly want: number;
  readonly ns: number[];
}

const pass = BpfObject.openMem(xdpObject("xdp_pass"));
pass.load();
const loaded = new Map<GreProgram, LoadedProgram>();
for (const p of ["gre", "gre6"] as const) loaded.set(p, loadProgram(p));
const gre = loaded.get("gre") as LoadedProgram;
const gre6 = loaded.get("gre6") as LoadedProgram;
writeConfig(gre.configFd, "gre", { local: L4, remote: R4 }, 1);
writeConfig(gre6.configFd, "gre6", { local: L6, remote: R6 }, 1);

const passFd = pass.programFd("kad_xdp_pass");
const ka4 = keepaliveIPv4(L4, R4);
const specs: Array<Omit<Case, "ns">> = [
  {
    name: "trivial XDP_PASS program",
    path: "baseline",
    fd: passFd,
    packet: ka4,
    want: XDP_ACTION.PASS,
  },
  { name: "gre: Cisco keepalive", path: "reply", fd: gre.progFd, packet: ka4, want: XDP_ACTION.TX },
  {
    name: "gre: keepalive with key",
    path: "reply",
    fd: gre.progFd,
    packet: keepaliveIPv4(L4, R4, { key: 42 }),
    want: XDP_ACTION.TX,
  },
  {
    name: "gre: IPv4 TCP (not a keepalive)",
    path: "pass",
    fd: gre.progFd,
    packet: tcp4(),
    want: XDP_ACTION.PASS,
  },
  {
    name: "gre6: ip6gre keepalive",
    path: "reply",
    fd: gre6.progFd,
    packet: keepaliveIPv6(L6, R6),
    want: XDP_ACTION.TX,
  },
  {
    name: "gre6: RouterOS keepalive (0x86dd)",
    path: "reply",
    fd: gre6.progFd,
    packet: keepaliveIPv6(L6, R6, { protocol: 0x86dd }),
    want: XDP_ACTION.TX,
  },
  {
    name: "gre6: IPv6 TCP (not a keepalive)",
    path: "pass",
    fd: gre6.progFd,
    packet: tcp6(),
    want: XDP_ACTION.PASS,
  },
];
const cases: Case[] = specs.map((c) => ({ ...c, ns: [] }));

for (let r = 0; r < rounds; r++) {
  // Rotate the order each round.
  for (let i = 0; i < cases.length; i++) {
    const c = cases[(i + r) % cases.length] as Case;
    const res = progTestRun(c.fd, c.packet, { repeat });
    if (res.retval !== c.want) {
      console.error(`${c.name}: returned ${res.retval}, expected ${c.want}`);
      Deno.exit(1);
    }
    c.ns.push(res.durationNs);
  }
}
pass.close();
for (const l of loaded.values()) l.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const base = median((cases[0] as Case).ns);
const kernel = Deno.osRelease();
console.log(`kernel ${kernel}; repeat ${repeat}; ${rounds} rounds; median of rounds`);
console.log("| case | path | ns/packet | min–max | minus trivial |");
console.log("|---|---|---|---|---|");
for (const c of cases) {
  const m = median(c.ns);
  const delta = c.path === "baseline" ? "—" : `${m - base >= 0 ? "+" : ""}${m - base}`;
  console.log(
    `| ${c.name} | ${c.path} | ${m} | ${Math.min(...c.ns)}–${Math.max(...c.ns)} | ${delta} |`,
  );
}
const worstReply = Math.max(...cases.filter((c) => c.path === "reply").map((c) => median(c.ns)));
console.log(
  `reply path: ${worstReply} ns per packet at worst (target ≤ ${TARGET_NS} ns: ${
    worstReply <= TARGET_NS ? "met" : "not met"
  }); the trivial program alone costs ${base} ns here`,
);
