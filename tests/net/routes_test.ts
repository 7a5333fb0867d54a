/**
 * virtual_routes on a real kernel (needs root), inside a lab namespace, checked with
 * `ip route`: routes carry protocol keepalived and the scope keepalived 2.2.7 gives them
 * (spec/vrrp.md §3.17), tables, metrics, types, IPv6 preference and route metrics,
 * multipath; errors name the route; leftovers of a previous run are removed (§3.3).
 */
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { netlinkVethLab, opts, thrown } from "./_in_netns.ts";
import type { Netns } from "../harness/netns.ts";
import { ErrnoError } from "../../ffi/libc.ts";
import {
  addRoute,
  listRoutes,
  removeLeftoverRoutes,
  removeRoute,
  RTPROT_KEEPALIVED,
} from "../../lib/net/routes.ts";
import type { RouteEntry } from "../../lib/config/schema/vrrp_route.ts";

function setup(hint: string) {
  return netlinkVethLab(hint, ["192.0.2.1/24", "2001:db8::1/64"]);
}

async function routeLines(ns: Netns, family: "-4" | "-6"): Promise<string[]> {
  const out = await ns.ip([family, "route", "show", "table", "all"]);
  // Multipath routes continue on indented lines: join them to their route.
  return out.replace(/\s*\n\s+nexthop/g, " nexthop").split("\n").map((l) => l.trim())
    .filter((l) => /proto keepalived/.test(l));
}

Deno.test("routes are added as keepalived adds them and removed again", opts, async () => {
  const { lab, ns, dev, nl } = await setup("route");
  try {
    const routes: RouteEntry[] = [
      { family: 4, dest: { address: "203.0.113.0", prefix: 24 }, via: "192.0.2.254", dev },
      { family: 4, dest: { address: "198.51.100.128", prefix: 25 }, dev, table: 100 },
      {
        family: 4,
        type: "blackhole",
        dest: { address: "198.51.100.0", prefix: 26 },
        table: 1000,
        metric: 5,
      },
      {
        family: 4,
        dest: { address: "198.51.100.64", prefix: 26 },
        nexthops: [{ via: "192.0.2.10", dev, weight: 2 }, { via: "192.0.2.11", dev }],
      },
      {
        family: 4,
        dest: { address: "0.0.0.0", prefix: 0 },
        via: "192.0.2.254",
        table: "main",
        src: "192.0.2.1",
        protocol: "static",
      },
      {
        family: 6,
        dest: { address: "2001:db8:1::", prefix: 48 },
        via: "2001:db8::ff",
        dev,
        metric: 100,
        pref: "high",
        metrics: { mtu: { value: 1400, lock: true } },
      },
    ];
    for (const r of routes) addRoute(nl, r);
    const v4 = await routeLines(ns, "-4");
    assertEquals(v4.sort(), [
      `198.51.100.128/25 dev ${dev} table 100 proto keepalived`,
      `198.51.100.64/26 proto keepalived nexthop via 192.0.2.10 dev ${dev} weight 2 ` +
      `nexthop via 192.0.2.11 dev ${dev} weight 1`,
      `203.0.113.0/24 via 192.0.2.254 dev ${dev} proto keepalived`,
      "blackhole 198.51.100.0/26 table 1000 proto keepalived metric 5",
    ]);
    assertMatch(
      await ns.ip(["-4", "route", "show", "default"]),
      new RegExp(`^default via 192\\.0\\.2\\.254 dev ${dev} proto static src 192\\.0\\.2\\.1`),
    );
    assertEquals(await routeLines(ns, "-6"), [
      `2001:db8:1::/48 via 2001:db8::ff dev ${dev} proto keepalived metric 100 mtu lock 1400 ` +
      "pref high",
    ]);
    const t100 = listRoutes(nl, { family: 4, table: 100 });
    assertEquals(
      t100.map((r) => [r.dest, r.prefix, r.protocol, r.oif]),
      [["198.51.100.128", 25, RTPROT_KEEPALIVED, nl.linkIndex(dev)]],
    );
    const mp = listRoutes(nl, { family: 4 }).find((r) => r.dest === "198.51.100.64");
    assertEquals(mp?.paths, 2);

    for (const r of routes) removeRoute(nl, r);
    assertEquals([...await routeLines(ns, "-4"), ...await routeLines(ns, "-6")], []);
    assertEquals(await ns.ip(["-4", "route", "show", "default"]), "");
  } finally {
    nl.close();
    await lab.close();
  }
});

Deno.test("failed route changes name the route and the kernel's reason", opts, async () => {
  const { lab, dev, nl } = await setup("routeerr");
  try {
    const far: RouteEntry = {
      family: 4,
      dest: { address: "203.0.113.0", prefix: 24 },
      via: "10.9.9.9",
      dev,
      mode: "add",
    };
    const e1 = thrown(() => addRoute(nl, far));
    assert(e1 instanceof ErrnoError, String(e1));
    assertEquals(
      e1.message,
      `adding route 203.0.113.0/24 via 10.9.9.9 dev ${dev} failed: Network is unreachable ` +
        "(ENETUNREACH): Nexthop has invalid gateway",
    );
    const e2 = thrown(() =>
      addRoute(nl, {
        family: 4,
        dest: { address: "203.0.113.0", prefix: 24 },
        dev,
        table: "nosuch",
      })
    );
    assert(e2 instanceof RangeError, String(e2));
    assertMatch(e2.message, /^adding route .* failed: routing table 'nosuch' is not defined/);
    const e3 = thrown(() =>
      removeRoute(nl, {
        family: 4,
        dest: { address: "203.0.113.0", prefix: 24 },
        dev: "kadnosuch0",
      })
    );
    assert(e3 instanceof ErrnoError && e3.code === "ENODEV", String(e3));
    const ok: RouteEntry = { family: 4, dest: { address: "203.0.113.0", prefix: 24 }, dev };
    addRoute(nl, ok);
    const e4 = thrown(() => addRoute(nl, { ...ok, mode: "add" }));
    assert(e4 instanceof ErrnoError && e4.code === "EEXIST", String(e4));
    removeRoute(nl, ok);
    const e5 = thrown(() => removeRoute(nl, ok));
    assert(e5 instanceof ErrnoError && e5.code === "ESRCH", String(e5));
  } finally {
    nl.close();
    await lab.close();
  }
});

Deno.test("leftover routes of a previous run are removed, absent ones ignored", opts, async () => {
  const { lab, ns, dev, nl } = await setup("routeleft");
  try {
    await ns.ip(["route", "add", "203.0.113.0/24", "via", "192.0.2.254", "proto", "18"]);
    await ns.ip(["route", "add", "198.51.100.0/24", "dev", dev, "table", "100", "proto", "18"]);
    await ns.ip(["-6", "route", "add", "2001:db8:5::/48", "dev", dev, "proto", "18"]);
    const entries: RouteEntry[] = [
      { family: 4, dest: { address: "203.0.113.0", prefix: 24 }, via: "192.0.2.254", dev },
      { family: 4, dest: { address: "198.51.100.0", prefix: 24 }, dev, table: 100 },
      { family: 6, dest: { address: "2001:db8:5::", prefix: 48 }, dev },
      { family: 6, dest: { address: "2001:db8:6::", prefix: 48 }, dev },
      { family: 4, dest: { address: "192.0.2.128", prefix: 25 }, dev: "kadnosuch0" },
    ];
    const report = removeLeftoverRoutes(nl, entries);
    assertEquals(report.failed, []);
    assertEquals(report.removed, [
      `203.0.113.0/24 via 192.0.2.254 dev ${dev}`,
      `198.51.100.0/24 dev ${dev} table 100`,
      `2001:db8:5::/48 dev ${dev}`,
    ]);
    assertEquals([...await routeLines(ns, "-4"), ...await routeLines(ns, "-6")], []);
  } finally {
    nl.close();
    await lab.close();
  }
});
