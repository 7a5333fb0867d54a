/**
 * `kad run` next to Debian's keepalived 2.2.7 in network namespaces (needs root and the
 * keepalived and tcpdump packages): for VRRPv2 and v3, IPv4 multicast (v2 with PASS
 * authentication), IPv4 unicast, IPv6 multicast and VRRPv2 with IPsec AH (multicast and
 * unicast; each side learns the other's AH sequence, spec/vrrp.md §2.2), kad is MASTER with
 * keepalived as BACKUP, hands over when stopped, comes back as BACKUP under keepalived's
 * MASTER and takes over again when keepalived stops. Both sides must agree on the master
 * throughout, and tcpdump on keepalived's interface must decode the adverts of both without a
 * checksum complaint (spec/vrrp.md §1.2–1.8).
 */
import { assert, assertEquals } from "../_assert.ts";
import { Lab, type SpawnedProcess } from "../harness/netns.ts";
import {
  count,
  Files,
  hasAddress,
  instanceConf,
  lan,
  NETNS_TEST,
  type Router,
  startKad,
  startKeepalived,
  TEST_GLOBALS,
  waitAddress,
  waitForNth,
} from "./_vrrp_lab.ts";

const MASTER = /\(VI_1\) Entering MASTER STATE/;
const BACKUP = /\(VI_1\) Entering BACKUP STATE/;

interface Variant {
  readonly name: string;
  readonly version: 2 | 3;
  readonly family: 4 | 6;
  readonly unicast: boolean;
  readonly advertInt: number;
  readonly extra?: string;
  /** Legacy IPsec AH: the adverts are IP protocol 51 (spec/vrrp.md §2.2). */
  readonly ah?: boolean;
}

const AH = "  authentication {\n    auth_type AH\n    auth_pass s3cret\n  }";

const VARIANTS: readonly Variant[] = [
  {
    name: "VRRPv2 IPv4 multicast with PASS authentication",
    version: 2,
    family: 4,
    unicast: false,
    advertInt: 1,
    extra: "  authentication {\n    auth_type PASS\n    auth_pass s3cret\n  }",
  },
  { name: "VRRPv3 IPv4 multicast", version: 3, family: 4, unicast: false, advertInt: 0.5 },
  { name: "VRRPv2 IPv4 unicast", version: 2, family: 4, unicast: true, advertInt: 1 },
  { name: "VRRPv3 IPv4 unicast", version: 3, family: 4, unicast: true, advertInt: 0.5 },
  { name: "VRRPv3 IPv6 multicast", version: 3, family: 6, unicast: false, advertInt: 0.5 },
  {
    name: "VRRPv2 IPv4 multicast with IPsec AH authentication",
    version: 2,
    family: 4,
    unicast: false,
    advertInt: 1,
    extra: AH,
    ah: true,
  },
  {
    name: "VRRPv2 IPv4 unicast with IPsec AH authentication",
    version: 2,
    family: 4,
    unicast: true,
    advertInt: 1,
    extra: AH,
    ah: true,
  },
];

function conf(v: Variant, self: Router, peer: Router, priority: number): string {
  const vips = v.family === 4 ? ["192.0.2.100/24"] : ["fe80::100/64", "2001:db8::100/64"];
  const src = v.family === 4 ? self.ip4 : self.ip6;
  const dst = v.family === 4 ? peer.ip4 : peer.ip6;
  const unicast = v.unicast ? `  unicast_src_ip ${src}\n  unicast_peer {\n    ${dst}\n  }` : "";
  return TEST_GLOBALS + instanceConf({
    priority,
    version: v.version,
    advertInt: v.advertInt,
    vips,
    extra: [unicast, v.extra ?? ""].join("\n"),
  });
}

/** Waits `ms` and checks that neither side changed state meanwhile. */
async function steady(ms: number, ...procs: SpawnedProcess[]): Promise<void> {
  const before = procs.map((p) => [count(p, MASTER), count(p, BACKUP)]);
  await new Promise((r) => setTimeout(r, ms));
  const after = procs.map((p) => [count(p, MASTER), count(p, BACKUP)]);
  assertEquals(after, before, "a state changed while the pair should have been steady");
}

async function interop(v: Variant): Promise<void> {
  await using lab = await Lab.create(`interop-v${v.version}-${v.family}`);
  await using files = await Files.create();
  const [k, o] = (await lan(lab)).routers as [Router, Router];
  const vip = v.family === 4 ? "192.0.2.100" : "2001:db8::100";
  const downMs = (3 * v.advertInt + 1) * 1000;
  const filter = v.ah ? "ip proto 51" : v.family === 4 ? "ip proto 112" : "ip6 proto 112";
  const dump = o.ns.spawn(["tcpdump", "-i", o.ifname, "-n", "-vv", "-l", filter]);
  await dump.waitForOutput(/listening on/, 5_000);

  // kad MASTER, keepalived BACKUP.
  let kad = await startKad(k, files, conf(v, k, o, 200));
  await kad.waitForOutput(MASTER, 15_000);
  await waitAddress(k, vip, 5_000);
  const ka = await startKeepalived(o, files, conf(v, o, k, 100));
  await ka.waitForOutput(BACKUP, 15_000);
  await steady(downMs, kad, ka);
  assertEquals(count(ka, MASTER), 0, "keepalived became MASTER next to kad's MASTER");
  assert(!(await hasAddress(o, vip)), "keepalived holds the VIP as BACKUP");

  // kad stops: keepalived takes over; kad leaves nothing behind.
  kad.signal("SIGTERM");
  assertEquals((await kad.status).code, 0);
  await ka.waitForOutput(MASTER, downMs + 3_000);
  await waitAddress(o, vip, 5_000);
  assert(!(await hasAddress(k, vip)), "kad left the VIP behind");

  // kad comes back lower: BACKUP under keepalived's MASTER.
  kad = await startKad(k, files, conf(v, k, o, 50));
  await kad.waitForOutput(BACKUP, 10_000);
  await steady(downMs, kad, ka);
  assertEquals(count(kad, MASTER), 0, "kad became MASTER next to keepalived's MASTER");
  assert(!(await hasAddress(k, vip)), "kad holds the VIP as BACKUP");

  // keepalived stops: kad takes over.
  ka.signal("SIGTERM");
  await ka.status;
  await kad.waitForOutput(MASTER, downMs + 3_000);
  await waitAddress(k, vip, 5_000);
  await waitAddress(o, vip, 5_000, false);
  await waitForNth(dump, /prio 50,/, 2, 5_000);
  kad.signal("SIGTERM");
  await kad.status;
  await dump.kill();

  // tcpdump decoded adverts of both (kad at 200 and 50, keepalived at 100), none with a
  // bad checksum.
  for (const prio of [200, 100, 50]) {
    assert(dump.stdout.includes(`prio ${prio},`), `tcpdump decoded no advert at priority ${prio}`);
  }
  assert(!/bad|incorrect|wrong/i.test(dump.stdout), `tcpdump complained:\n${dump.stdout}`);
}

for (const v of VARIANTS) {
  Deno.test(
    `interop with keepalived 2.2.7, ${v.name}: both agree on the master and fail over both ways`,
    NETNS_TEST,
    () => interop(v),
  );
}
