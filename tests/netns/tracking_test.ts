/**
 * Address, route and rule tracking of `kad run` in a network namespace (needs root;
 * spec/vrrp.md §3.7, §3.17): the interface of a VIP, eVIP, virtual route or rule going down
 * faults the instance, and one of those objects deleted by someone else makes the MASTER
 * resign and install it again; `no_track` entries do neither. One router, VRRPv3 at 0.2 s,
 * with extra veth interfaces (this kernel has no dummy devices) for the objects' `dev`.
 */
import { assert, assertEquals } from "../_assert.ts";
import { Lab, type Netns, type SpawnedProcess, waitFor } from "../harness/netns.ts";
import {
  count,
  Files,
  hasAddress,
  lan,
  lastState,
  NETNS_TEST,
  type Router,
  settle,
  startKad,
  TEST_GLOBALS,
  waitForNth,
} from "./_vrrp_lab.ts";

const MASTER = /Entering MASTER STATE/;
const FAULT = /Entering FAULT STATE/;
const LOST = /was deleted by someone else/;

const CONF = TEST_GLOBALS + `vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 150
  version 3
  advert_int 0.2
  virtual_ipaddress {
    192.0.2.100/24
    198.18.0.100/32 dev t1
    198.18.3.100/32 dev t3 no_track
  }
  virtual_ipaddress_excluded {
    2001:db8:1::100/64 dev t1
  }
  virtual_routes {
    198.51.100.0/24 dev t2
    203.0.113.0/24 dev t3 no_track
  }
  virtual_rules {
    from 192.0.2.100 table 100 preference 1000
  }
}
`;

/** Three veth pairs t1..t3 (peers t1p..t3p) inside the router's namespace, all up. */
async function addTrackedLinks(ns: Netns): Promise<void> {
  for (const n of ["t1", "t2", "t3"]) {
    await ns.ip(["link", "add", n, "type", "veth", "peer", "name", `${n}p`]);
    await ns.linkUp(`${n}p`);
    await ns.linkUp(n);
  }
}

async function start(lab: Lab, files: Files): Promise<{ r: Router; kad: SpawnedProcess }> {
  const r = (await lan(lab, { routers: 1 })).routers[0]!;
  await addTrackedLinks(r.ns);
  const kad = await startKad(r, files, CONF);
  await kad.waitForOutput(MASTER, 10_000);
  await settle([[kad, "MASTER"]], 500);
  return { r, kad };
}

async function has(ns: Netns, ifname: string, address: string): Promise<boolean> {
  return (await ns.addresses(ifname)).some((a) => a.address === address);
}

async function routePresent(ns: Netns, prefix: string): Promise<boolean> {
  return (await ns.ip(["route", "show", prefix])).trim() !== "";
}

async function rulePresent(ns: Netns, preference: number): Promise<boolean> {
  return (await ns.ip(["rule", "show", "pref", String(preference)])).trim() !== "";
}

Deno.test(
  "an interface of a VIP, eVIP or route going down faults the instance until it is back; no_track does not",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("vrrp-track-if");
    await using files = await Files.create();
    const { r, kad } = await start(lab, files);
    let masters = count(kad, MASTER);
    for (const [n, link] of [[1, "t1"], [2, "t2"]] as const) {
      await r.ns.linkDown(link);
      await waitForNth(kad, FAULT, n, 5_000);
      assert(
        kad.output.includes(`interface ${link} of a VIP, route or rule down`),
        kad.output.slice(-800),
      );
      await waitFor(async () => !(await hasAddress(r, "192.0.2.100")), 5_000, {
        what: "the VIP to go with FAULT",
      });
      await r.ns.linkUp(link);
      await waitForNth(kad, MASTER, ++masters, 5_000);
      await waitFor(async () => await hasAddress(r, "192.0.2.100"), 5_000, {
        what: "the VIP to come back",
      });
    }
    // t3 carries only no_track objects: its going down changes nothing.
    await r.ns.linkDown("t3");
    await settle([[kad, "MASTER"]], 1_000);
    assertEquals(count(kad, FAULT), 2);
  },
);

Deno.test(
  "a VIP, eVIP, route or rule deleted by someone else is installed again by a resign and retake; no_track ones stay deleted",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("vrrp-track-del");
    await using files = await Files.create();
    const { r, kad } = await start(lab, files);
    const ns = r.ns;
    const deletions: ReadonlyArray<
      readonly [string, () => Promise<unknown>, () => Promise<boolean>]
    > = [
      [
        "VIP",
        () => ns.delAddress("eth0", "192.0.2.100/24"),
        () => has(ns, "eth0", "192.0.2.100"),
      ],
      [
        "IPv6 eVIP",
        () => ns.delAddress("t1", "2001:db8:1::100/64"),
        () => has(ns, "t1", "2001:db8:1::100"),
      ],
      [
        "route",
        () => ns.ip(["route", "del", "198.51.100.0/24", "dev", "t2"]),
        () => routePresent(ns, "198.51.100.0/24"),
      ],
      ["rule", () => ns.ip(["rule", "del", "pref", "1000"]), () => rulePresent(ns, 1000)],
    ];
    let n = 0;
    for (const [what, remove, present] of deletions) {
      assert(await present(), `the ${what} is installed before the test removes it`);
      const masters = count(kad, MASTER);
      await remove();
      n++;
      await waitForNth(kad, LOST, n, 5_000);
      await waitForNth(kad, MASTER, masters + 1, 5_000);
      await waitFor(present, 5_000, { what: `the ${what} to be installed again` });
      // kad's own removals while resigning (IPv6 ones carry no port id) are not taken for
      // someone else's: one deletion, one resignation, one retake.
      await settle([[kad, "MASTER"]], 800);
      assertEquals(count(kad, LOST), n, `after the ${what}: ${kad.output.slice(-1200)}`);
      assertEquals(count(kad, MASTER), masters + 1);
    }
    // no_track: the deletion is ignored and the address stays missing while MASTER.
    const masters = count(kad, MASTER);
    // The route first: the kernel flushes an interface's routes with its last IPv4 address.
    await ns.ip(["route", "del", "203.0.113.0/24", "dev", "t3"]);
    await ns.delAddress("t3", "198.18.3.100/32");
    await settle([[kad, "MASTER"]], 1_000);
    assertEquals(count(kad, LOST), n);
    assertEquals(count(kad, MASTER), masters);
    assert(!(await has(ns, "t3", "198.18.3.100")), "a no_track VIP is not re-added");
    assert(!(await routePresent(ns, "203.0.113.0/24")), "a no_track route is not re-added");
    assertEquals(lastState(kad), "MASTER");
  },
);

Deno.test(
  "kad's own removal of an IPv6 address is not taken for someone else's: an owner restarted by a reload stays MASTER",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("vrrp-track-own");
    await using files = await Files.create();
    const r = (await lan(lab, { routers: 1 })).routers[0]!;
    // The address owner goes MASTER at once, so a restart removes the eVIP and installs it
    // again before the kernel's notice of the removal (which carries no port id) is read.
    const owner = (advertInt: number) =>
      TEST_GLOBALS + `vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 255
  version 3
  advert_int ${advertInt}
  virtual_ipaddress {
    192.0.2.100/24
  }
  virtual_ipaddress_excluded {
    2001:db8:1::100/64
  }
}
`;
    const kad = await startKad(r, files, owner(0.2));
    try {
      await kad.waitForOutput(MASTER, 10_000);
      await files.write(`${r.ns.label}-kad.conf`, owner(0.3));
      kad.signal("SIGHUP");
      await kad.waitForOutput(/restarted \[VI_1\]/, 5_000);
      await waitForNth(kad, MASTER, 2, 5_000);
      await settle([[kad, "MASTER"]], 1_000);
      assertEquals(count(kad, LOST), 0);
      assertEquals(count(kad, MASTER), 2);
      assert(await has(r.ns, "eth0", "2001:db8:1::100"), "the eVIP is installed");
    } catch (e) {
      throw new Error(`${e instanceof Error ? e.message : e}\nkad's output:\n${kad.output}`);
    }
  },
);
