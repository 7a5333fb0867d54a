/**
 * lib/vrrp/tracking.ts: which interfaces an instance's VIPs, eVIPs, routes and rules make it
 * track, and which deleted kernel objects are its own (spec/vrrp.md §3.7, §3.17), with
 * objects as the interface monitor reports them.
 */
import { assertEquals } from "../_assert.ts";
import { loadConfigText } from "../../lib/config/load.ts";
import { type InstanceSpec, instanceSpec } from "../../lib/vrrp/instance.ts";
import { trackedInterfaces, trackedObject, tracksRoutesOrRules } from "../../lib/vrrp/tracking.ts";
import type { KernelAddress } from "../../lib/net/addresses.ts";
import { type KernelRoute, RTPROT_KEEPALIVED } from "../../lib/net/routes.ts";
import type { KernelRule } from "../../lib/net/rules.ts";

function spec(body: string): InstanceSpec {
  const text = `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
${body}
}
`;
  const r = loadConfigText(text, "test.conf", { configId: "test" });
  const errors = r.sink.items.filter((d) => d.severity === "error");
  assertEquals(errors.map((d) => d.message), []);
  return instanceSpec(r.config.vrrp_instance[0]!, r.config);
}

const FULL = spec(`
  virtual_ipaddress {
    192.0.2.100/24
    192.0.2.101/32 dev eth1
    192.0.2.102/32 dev eth5 no_track
  }
  virtual_ipaddress_excluded {
    2001:db8::10/64 dev eth2
  }
  virtual_routes {
    198.51.100.0/24 via 192.0.2.1 dev eth3
    203.0.113.0/24 dev eth6 no_track
  }
  virtual_rules {
    from 192.0.2.101 table 100 preference 1000 oif eth4
    from 192.0.2.102 table 101 preference 1001 iif eth7 no_track
  }`);

const INDEX: Record<string, number> = {
  eth0: 2,
  eth1: 3,
  eth2: 4,
  eth3: 5,
  eth4: 6,
  eth5: 7,
  eth6: 8,
  eth7: 9,
};
const ifindexOf = (name: string) => INDEX[name];

function addr(address: string, ifindex: number, family: 4 | 6 = 4): KernelAddress {
  return {
    family,
    ifindex,
    address,
    prefix: family === 4 ? 32 : 64,
    scope: 0,
    flags: 0,
    preferredLft: "forever",
    validLft: "forever",
  };
}

/** The route `198.51.100.0/24 via 192.0.2.1 dev eth3` as the kernel reports kad's. */
const ROUTE: KernelRoute = {
  family: 4,
  type: 1,
  dest: "198.51.100.0",
  prefix: 24,
  table: 254,
  protocol: RTPROT_KEEPALIVED,
  scope: 0,
  tos: 0,
  oif: 5,
  gateway: "192.0.2.1",
  paths: 0,
};

/** The rule `from 192.0.2.101 table 100 preference 1000 oif eth4` as the kernel reports it. */
const RULE: KernelRule = {
  family: 4,
  priority: 1000,
  action: 1,
  table: 100,
  protocol: RTPROT_KEEPALIVED,
  invert: false,
  src: "192.0.2.101",
  srcLen: 32,
  dstLen: 0,
  oif: "eth4",
};

Deno.test("tracked interfaces: those of VIPs, eVIPs, route devs and rule iif/oif, without no_track or the own", () => {
  assertEquals(trackedInterfaces(FULL), ["eth1", "eth2", "eth3", "eth4"]);
  assertEquals(trackedInterfaces(spec("  virtual_ipaddress {\n    192.0.2.100/24\n  }")), []);
});

Deno.test("routes and rules are watched only when one is tracked", () => {
  assertEquals(tracksRoutesOrRules(FULL), true);
  assertEquals(
    tracksRoutesOrRules(spec("  virtual_routes {\n    203.0.113.0/24 dev eth6 no_track\n  }")),
    false,
  );
  assertEquals(tracksRoutesOrRules(spec("  virtual_ipaddress {\n    192.0.2.100/24\n  }")), false);
});

Deno.test("a deleted address is the instance's when address and interface match a tracked VIP or eVIP", () => {
  const of = (a: KernelAddress) => trackedObject(FULL, { kind: "address", address: a }, ifindexOf);
  assertEquals(of(addr("192.0.2.100", 2)), "virtual address 192.0.2.100/24");
  assertEquals(of(addr("192.0.2.101", 3)), "virtual address 192.0.2.101/32");
  assertEquals(of(addr("2001:db8::10", 4, 6)), "virtual address 2001:db8::10/64");
  // On another interface, someone else's; with no_track, not tracked.
  assertEquals(of(addr("192.0.2.101", 2)), undefined);
  assertEquals(of(addr("192.0.2.102", 7)), undefined);
  assertEquals(of(addr("192.0.2.200", 2)), undefined);
  // The VIP's interface is gone from the table: nothing can match.
  assertEquals(
    trackedObject(FULL, { kind: "address", address: addr("192.0.2.101", 3) }, () => undefined),
    undefined,
  );
});

Deno.test("a deleted route is the instance's when the kernel's identity of it matches", () => {
  const of = (r: KernelRoute) => trackedObject(FULL, { kind: "route", route: r }, ifindexOf);
  assertEquals(of(ROUTE), "virtual route 198.51.100.0/24 via 192.0.2.1 dev eth3");
  // Same destination installed by someone else (protocol boot), on another interface, in
  // another table, or with another prefix: not kad's.
  assertEquals(of({ ...ROUTE, protocol: 3 }), undefined);
  assertEquals(of({ ...ROUTE, oif: 3 }), undefined);
  assertEquals(of({ ...ROUTE, table: 100 }), undefined);
  assertEquals(of({ ...ROUTE, prefix: 25 }), undefined);
  // no_track routes are not tracked.
  assertEquals(
    of({
      family: 4,
      type: 1,
      dest: "203.0.113.0",
      prefix: 24,
      table: 254,
      protocol: RTPROT_KEEPALIVED,
      scope: 253,
      tos: 0,
      oif: 8,
      paths: 0,
    }),
    undefined,
  );
});

Deno.test("a deleted rule is the instance's when its selectors, action and preference match", () => {
  const of = (r: KernelRule) => trackedObject(FULL, { kind: "rule", rule: r }, ifindexOf);
  assertEquals(of(RULE), "virtual rule from 192.0.2.101 oif eth4 preference 1000 table 100");
  assertEquals(of({ ...RULE, priority: 1002 }), undefined);
  assertEquals(of({ ...RULE, table: 200 }), undefined);
  assertEquals(of({ ...RULE, src: "192.0.2.99" }), undefined);
  assertEquals(of({ ...RULE, protocol: 0 }), undefined);
  // no_track rule.
  assertEquals(
    of({ ...RULE, priority: 1001, table: 101, src: "192.0.2.102", iif: "eth7", oif: "" }),
    undefined,
  );
});
