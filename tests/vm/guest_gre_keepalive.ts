/**
 * End to end in the guest (run by tests/vm/gre_keepalive_vm_test.ts inside Debian's kernel;
 * not a host test: its name does not end in _test): two namespaces joined by a veth
 * underlay and by three tunnels (gre, gre with key 42, ip6gre). Namespace A plays the
 * router: it sends real keepalives on the underlay (Cisco style over IPv4, with and without
 * key; over IPv6 with inner protocol 0 and RouterOS's 0x86dd) and captures what comes back.
 * Namespace B runs `kad gre-attach` on its tunnel devices. Replies must come only while
 * kad's program is attached, and its counters must match what A sent.
 *
 * Expected reply (docs/gre-attach.md): B's tunnel sends the keepalive's inner packet back
 * through the tunnel, so A receives "outer IP (B -> A) | GRE | inner packet", with the inner
 * packet byte for byte as A built it.
 */
import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { Capture, inNetns, RawIpv4, RawIpv6Gre } from "./_raw_socket.ts";
import {
  ciscoKeepalive,
  equalBytes,
  ETH_P_IP,
  ETH_P_IPV6,
  GRE,
  gre,
  hex,
  ipv4,
  ipv6Keepalive,
  parseGreFrame,
  v4,
  v6,
} from "../net/_gre_packets.ts";

if (Deno.env.get("KAD_IN_VM") !== "1") {
  throw new Error("tests/vm/guest_gre_keepalive.ts runs inside the test guest only");
}

const ROOT = new URL("../..", import.meta.url).pathname;
const NS_A = "kgA";
const NS_B = "kgB";
const A4 = v4("192.0.2.1");
const B4 = v4("192.0.2.2");
const A6 = v6("2001:db8::1");
const B6 = v6("2001:db8::2");
const KEY = 42;

/** B's tunnels: name, family, and the inner address A pings through it. */
const TUNNELS = [
  { name: "gre1", family: 4, pingB: "10.1.0.2" },
  { name: "grek", family: 4, pingB: "10.3.0.2" },
  { name: "g6", family: 6, pingB: "10.2.0.2" },
] as const;
type TunnelName = typeof TUNNELS[number]["name"];

const decoder = new TextDecoder();

async function run(
  args: string[],
  stdin?: string,
): Promise<{ code: number; out: string; err: string }> {
  const child = new Deno.Command(args[0] as string, {
    args: args.slice(1),
    cwd: ROOT,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const r = await child.output();
  return { code: r.code, out: decoder.decode(r.stdout), err: decoder.decode(r.stderr) };
}

async function must(args: string[], stdin?: string): Promise<string> {
  const r = await run(args, stdin);
  if (r.code !== 0) throw new Error(`'${args.join(" ")}' failed (${r.code}): ${r.err}`);
  return r.out;
}

/** `kad gre-attach ARGS` inside namespace B. */
function kad(...args: string[]) {
  return run([
    "ip",
    "netns",
    "exec",
    NS_B,
    Deno.execPath(),
    "run",
    "-A",
    "--no-check",
    "tests/net/_gre_cli.ts",
    "gre-attach",
    ...args,
  ]);
}

function tunnelBatch(side: "A" | "B"): string {
  const [me4, peer4, me6, peer6, last] = side === "A"
    ? ["192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2", "1"]
    : ["192.0.2.2", "192.0.2.1", "2001:db8::2", "2001:db8::1", "2"];
  const dev = side === "A" ? "va" : "vb";
  return [
    `addr add ${me4}/24 dev ${dev}`,
    `addr add ${me6}/64 dev ${dev} nodad`,
    `link set ${dev} up`,
    `link add gre1 type gre local ${me4} remote ${peer4} ttl 255`,
    `link add grek type gre local ${me4} remote ${peer4} ttl 255 key ${KEY}`,
    `link add g6 type ip6gre local ${me6} remote ${peer6} hoplimit 255`,
    `addr add 10.1.0.${last}/30 dev gre1`,
    `addr add 10.3.0.${last}/30 dev grek`,
    `addr add 10.2.0.${last}/30 dev g6`,
    "link set gre1 up",
    "link set grek up",
    "link set g6 up",
    "",
  ].join("\n");
}

let ready: Promise<void> | undefined;

/** Build the two namespaces once (the guest is thrown away afterwards). */
function topology(): Promise<void> {
  ready ??= (async () => {
    await must(["modprobe", "-a", "ip_gre", "ip6_gre", "veth"]);
    await must(["ip", "netns", "add", NS_A]);
    await must(["ip", "netns", "add", NS_B]);
    await must([
      "ip",
      "link",
      "add",
      "va",
      "netns",
      NS_A,
      "type",
      "veth",
      "peer",
      "vb",
      "netns",
      NS_B,
    ]);
    for (const [ns, side] of [[NS_A, "A"], [NS_B, "B"]] as const) {
      // No IPv6 on the tunnel devices themselves: no router solicitations to count.
      await must([
        "ip",
        "netns",
        "exec",
        ns,
        "sysctl",
        "-q",
        "-w",
        "net.ipv6.conf.default.disable_ipv6=1",
      ]);
      await must(["ip", "-n", ns, "link", "set", "lo", "up"]);
      await must(["ip", "-n", ns, "-batch", "-"], tunnelBatch(side));
    }
    // Resolve the underlay neighbours, so the first keepalive is not queued behind ARP/ND.
    await must(["ip", "netns", "exec", NS_A, "ping", "-c1", "-W2", "192.0.2.2"]);
    await must(["ip", "netns", "exec", NS_A, "ping", "-c1", "-W2", "2001:db8::2"]);
  })();
  return ready;
}

interface Keepalive {
  readonly kind: string;
  readonly tunnel: TunnelName;
  send(): void;
  /** The inner packet, which the reply must carry unchanged. */
  readonly inner: Uint8Array;
  readonly family: 4 | 6;
  readonly greProtocol: number;
}

/** A's sockets, made in namespace A. */
const sockets = inNetnsLazy();

function inNetnsLazy() {
  let s: { cap: Capture; raw4: RawIpv4; raw6: RawIpv6Gre } | undefined;
  return () =>
    s ??= inNetns(
      NS_A,
      () => ({ cap: new Capture("va"), raw4: new RawIpv4(), raw6: new RawIpv6Gre() }),
    );
}

function keepalives(id: number): Keepalive[] {
  const { raw4, raw6 } = sockets();
  const cisco = ciscoKeepalive(A4, B4, { id });
  const keyed = ciscoKeepalive(A4, B4, { id, key: KEY });
  // The flow label makes each IPv6 keepalive distinguishable, as the IPv4 id does.
  const v6plain = ipv6Keepalive(A6, B6, 0, id);
  const routeros = ipv6Keepalive(A6, B6, 0x86dd, id);
  return [
    {
      kind: "Cisco (gre)",
      tunnel: "gre1",
      inner: cisco.inner,
      family: 4,
      greProtocol: ETH_P_IP,
      send: () => raw4.send(cisco.wire),
    },
    {
      kind: "Cisco with key 42 (gre)",
      tunnel: "grek",
      inner: keyed.inner,
      family: 4,
      greProtocol: ETH_P_IP,
      send: () => raw4.send(keyed.wire),
    },
    {
      kind: "ip6gre, inner protocol 0",
      tunnel: "g6",
      inner: v6plain.inner,
      family: 6,
      greProtocol: ETH_P_IPV6,
      send: () => raw6.send(B6, v6plain.grePart),
    },
    {
      kind: "RouterOS ip6gre, inner protocol 0x86dd",
      tunnel: "g6",
      inner: routeros.inner,
      family: 6,
      greProtocol: ETH_P_IPV6,
      send: () => raw6.send(B6, routeros.grePart),
    },
  ];
}

/** Frames from B to A whose GRE payload is `inner` (through grek: with key 42 outside). */
function repliesTo(frames: Uint8Array[], k: Keepalive): number {
  let n = 0;
  for (const f of frames) {
    const g = parseGreFrame(f);
    if (g === undefined || g.family !== k.family) continue;
    const [src, dst] = k.family === 4 ? [B4, A4] : [B6, A6];
    if (!equalBytes(g.src, src) || !equalBytes(g.dst, dst)) continue;
    const key = k.tunnel === "grek" ? KEY : undefined;
    if (g.greProtocol === k.greProtocol && g.key === key && equalBytes(g.payload, k.inner)) n++;
  }
  return n;
}

async function collect(ms: number): Promise<Uint8Array[]> {
  const { cap } = sockets();
  const frames: Uint8Array[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    frames.push(...cap.drain());
    await new Promise((r) => setTimeout(r, 25));
  }
  frames.push(...cap.drain());
  return frames;
}

/** What A sent while kad's program was attached, per tunnel (for the counters test). */
const sent: Record<TunnelName, { keepalives: number; passed: number; malformed: number }> = {
  gre1: { keepalives: 0, passed: 0, malformed: 0 },
  grek: { keepalives: 0, passed: 0, malformed: 0 },
  g6: { keepalives: 0, passed: 0, malformed: 0 },
};

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("without kad's program the kernel drops keepalives: no reply", opts, async () => {
  await topology();
  sockets().cap.drain();
  const ks = keepalives(1);
  for (const k of ks) k.send();
  const frames = await collect(1500);
  for (const k of ks) assertEquals(repliesTo(frames, k), 0, `a reply to ${k.kind} came back`);
});

Deno.test(
  "native mode is refused on a gre device: its driver has no native XDP",
  opts,
  async () => {
    await topology();
    const r = await kad("gre1", "--mode", "native");
    assertEquals(r.code, 1, r.out + r.err);
    assertStringIncludes(r.err, "no native XDP");
  },
);

Deno.test(
  "kad gre-attach attaches to gre, keyed gre and ip6gre devices in generic mode",
  opts,
  async () => {
    await topology();
    for (const t of TUNNELS) {
      const r = await kad(t.name);
      assertEquals(r.code, 0, r.err);
      assertStringIncludes(
        r.out,
        `${t.name}: attached the ${t.family === 4 ? "gre" : "gre6"} keepalive program`,
      );
      assertStringIncludes(r.out, "generic mode");
    }
  },
);

Deno.test("keepalives are answered with the inner packet, through the tunnel", opts, async () => {
  await topology();
  sockets().cap.drain();
  const rounds = 3;
  const all: Keepalive[] = [];
  for (let i = 0; i < rounds; i++) {
    const ks = keepalives(100 + i);
    for (const k of ks) {
      k.send();
      sent[k.tunnel].keepalives++;
    }
    all.push(...ks);
  }
  const frames = await collect(2000);
  for (const k of all) {
    const n = repliesTo(frames, k);
    assertEquals(n, 1, `${k.kind}: ${n} replies carrying ${hex(k.inner)}`);
  }
});

Deno.test("other traffic through the tunnels is passed: pings work", opts, async () => {
  await topology();
  for (const t of TUNNELS) {
    const r = await run(["ip", "netns", "exec", NS_A, "ping", "-c2", "-i0.2", "-W2", t.pingB]);
    assertEquals(r.code, 0, `ping through ${t.name}: ${r.out}${r.err}`);
    sent[t.name].passed += 2;
  }
});

Deno.test("mismatched inner addresses and a bad inner checksum get no reply", opts, async () => {
  await topology();
  const { raw4, cap } = sockets();
  cap.drain();
  // Inner destination is not A: not a keepalive for this tunnel.
  const stray = ipv4(B4, v4("198.51.100.7"), GRE, gre(0));
  raw4.send(ipv4(A4, B4, GRE, gre(ETH_P_IP, stray)));
  sent.gre1.passed++;
  // A keepalive whose inner IPv4 header checksum is wrong: malformed.
  const bad = ciscoKeepalive(A4, B4, { id: 7 }).inner;
  bad[10] = (bad[10] as number) ^ 0xff;
  raw4.send(ipv4(A4, B4, GRE, gre(ETH_P_IP, bad)));
  sent.gre1.malformed++;
  const frames = await collect(1500);
  for (const inner of [stray, bad]) {
    const back = frames.map(parseGreFrame).filter((g) =>
      g !== undefined && equalBytes(g.payload, inner)
    );
    assertEquals(back.length, 0, `a reply carrying ${hex(inner)} came back`);
  }
});

Deno.test("--status counts exactly what was sent", opts, async () => {
  await topology();
  const r = await kad("--status", "--json");
  assertEquals(r.code, 0, r.err);
  const report = JSON.parse(r.out) as {
    interfaces: Array<{ interface: string; mode: string; counters: Record<string, number> }>;
  };
  for (const t of TUNNELS) {
    const e = report.interfaces.find((i) => i.interface === t.name);
    assert(e !== undefined, `${t.name} missing from ${r.out}`);
    assertEquals(e.mode, "generic");
    assertEquals(e.counters, {
      replied: sent[t.name].keepalives,
      passed: sent[t.name].passed,
      malformed: sent[t.name].malformed,
    }, `${t.name}`);
  }
});

Deno.test("attaching twice keeps the same program", opts, async () => {
  await topology();
  const before = await kad("--status", "gre1", "--json");
  const r = await kad("gre1");
  assertEquals(r.code, 0, r.err);
  assertStringIncludes(r.out, "was already attached");
  const after = await kad("--status", "gre1", "--json");
  const id = (s: string) =>
    (JSON.parse(s) as { interfaces: Array<{ programId: number }> }).interfaces[0]?.programId;
  assertEquals(id(after.out), id(before.out));
});

Deno.test("after --detach keepalives get no reply again", opts, async () => {
  await topology();
  for (const t of TUNNELS) {
    const r = await kad("--detach", t.name);
    assertEquals(r.code, 0, r.err);
    assertStringIncludes(r.out, "detached");
  }
  sockets().cap.drain();
  const ks = keepalives(200);
  for (const k of ks) k.send();
  const frames = await collect(1500);
  for (const k of ks) assertEquals(repliesTo(frames, k), 0, `a reply to ${k.kind} came back`);
});

/** Lines a child process prints, readable while it runs. */
class Lines {
  text = "";
  readonly done: Promise<void>;
  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) this.text += chunk;
    })();
  }

  async waitFor(needle: string, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (!this.text.includes(needle)) {
      if (Date.now() > end) throw new Error(`no '${needle}' within ${ms} ms in:\n${this.text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function answered(k: Keepalive): Promise<number> {
  sockets().cap.drain();
  k.send();
  return repliesTo(await collect(1500), k);
}

Deno.test(
  "the daemon's manager attaches, attaches again when gre1 is recreated, detaches on exit",
  opts,
  async () => {
    await topology();
    const child = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        NS_B,
        Deno.execPath(),
        "run",
        "-A",
        "--no-check",
        "tests/vm/_gre_manager_run.ts",
        "gre1",
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const out = new Lines(child.stdout);
    try {
      await out.waitFor("info gre_keepalive gre1: attached (gre program id", 60_000);
      const cisco = () => keepalives(300 + Math.floor(Math.random() * 1000))[0] as Keepalive;
      assertEquals(await answered(cisco()), 1, "no reply while the manager runs");

      await must(["ip", "-n", NS_B, "link", "del", "gre1"]);
      await out.waitFor("info gre_keepalive gre1: the device is gone", 10_000);
      await must(
        ["ip", "-n", NS_B, "-batch", "-"],
        [
          "link add gre1 type gre local 192.0.2.2 remote 192.0.2.1 ttl 255",
          "addr add 10.1.0.2/30 dev gre1",
          "link set gre1 up",
          "",
        ].join("\n"),
      );
      await out.waitFor("info gre_keepalive gre1: attached again to the new device", 10_000);
      assertEquals(await answered(cisco()), 1, "no reply after the device came back");
    } finally {
      child.kill("SIGTERM");
    }
    const status = await child.status;
    await out.done;
    assertEquals(status.code, 0, out.text);
    assertStringIncludes(out.text, "info gre_keepalive gre1: detached (program id");
    assertEquals(
      await answered(keepalives(2000)[0] as Keepalive),
      0,
      "a reply after the manager stopped",
    );
  },
);
