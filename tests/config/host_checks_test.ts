import { assert, assertEquals } from "../_assert.ts";
import { DiagClass, DiagnosticSink } from "../../lib/config/diagnostic.ts";
import { loadConfig, loadConfigText, type LoadResult } from "../../lib/config/load.ts";
import {
  checkHost,
  checkInterface,
  type HostInfo,
  interfaceChecksEnabled,
  missingInterfaceMessage,
} from "../../lib/config/host_checks.ts";

const HOST: HostInfo = { interfaces: new Set(["lo", "eth0"]) };

function check(
  text: string,
  host: HostInfo = HOST,
): { r: LoadResult; found: Array<[number, string]> } {
  const r = loadConfigText(text, "t.conf", { configId: "x" });
  const before = r.sink.items.length;
  checkHost(r.config, host, r.sink);
  const added = r.sink.items.slice(before);
  for (const d of added) assertEquals(d.class, DiagClass.WARNING, d.message);
  return { r, found: added.map((d) => [d.loc?.line ?? 0, d.message]) };
}

const CONFIG = `static_ipaddress {
  192.0.2.1/24 dev eth9
  192.0.2.2/24
}
static_routes {
  192.0.2.0/24 via 10.0.0.1 dev eth8
}
vrrp_instance VI_3 {
  interface eth1
  virtual_router_id 3
  track_interface {
    eth0 weight 2
    eth2 weight -2
  }
  virtual_ipaddress {
    10.0.0.1/24
    10.0.0.2/24 dev eth3
  }
  virtual_ipaddress_excluded {
    10.0.1.2/24 dev eth4
  }
  virtual_routes {
    10.1.0.0/16 nexthop via 10.0.0.1 dev eth5 nexthop via 10.0.0.2 dev eth0
  }
}
`;

Deno.test("interfaces missing on the host are reported as keepalived -t does, at their line", () => {
  const { found } = check(CONFIG);
  assertEquals(found, [
    [2, "WARNING - interface eth9 for ip address 192.0.2.1 doesn't exist"],
    [6, "WARNING - interface eth8 for VROUTE nexthop doesn't exist"],
    [9, "WARNING - interface eth1 for vrrp_instance VI_3 doesn't exist"],
    [13, "(VI_3) tracked interface eth2 doesn't exist"],
    [17, "WARNING - interface eth3 for ip address 10.0.0.2 doesn't exist"],
    [20, "WARNING - interface eth4 for ip address 10.0.1.2 doesn't exist"],
    [23, "WARNING - interface eth5 for VROUTE nexthop doesn't exist"],
  ]);
});

Deno.test("static addresses without dev use default_interface", () => {
  const { found } = check(
    `global_defs {\n  default_interface eth7\n}\nstatic_ipaddress {\n  192.0.2.2/24\n}\n`,
  );
  assertEquals(found, [[5, "WARNING - interface eth7 for ip address 192.0.2.2 doesn't exist"]]);
});

Deno.test("nothing is reported when every interface exists", () => {
  const all = new Set(["eth0", "eth1", "eth2", "eth3", "eth4", "eth5", "eth8", "eth9"]);
  assertEquals(check(CONFIG, { interfaces: all }).found, []);
});

Deno.test("dynamic_interfaces turns the interface checks off", () => {
  const { r, found } = check(`global_defs {\n  dynamic_interfaces\n}\n${CONFIG}`);
  assertEquals(found, []);
  assertEquals(interfaceChecksEnabled(r.config), false);
});

Deno.test("sync group track_interface entries are checked too", () => {
  const { found } = check(`vrrp_sync_group G {
  group {
    VI_1
  }
  track_interface {
    eth6
  }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  virtual_ipaddress {
    10.0.0.1
  }
}
`);
  assertEquals(found, [[6, "(G) tracked interface eth6 doesn't exist"]]);
});

Deno.test("the helpers report only missing interfaces and say whether the interface exists", () => {
  const sink = new DiagnosticSink();
  const loc = { file: "t.conf", line: 4, column: 1 };
  assertEquals(checkInterface(HOST, sink, "eth0", "unused", loc), true);
  assertEquals(
    checkInterface(HOST, sink, "eth9", missingInterfaceMessage("eth9", "real server"), loc, "x"),
    false,
  );
  assertEquals(sink.items.map((d) => [d.class, d.message, d.loc?.line]), [
    [DiagClass.WARNING, "WARNING - interface eth9 for real server doesn't exist", 4],
  ]);
});

Deno.test("the Debian vrrp sample gives keepalived's interface warnings on a host with only eth0", () => {
  const r = loadConfig("/usr/share/doc/keepalived/samples/keepalived.conf.vrrp", { configId: "x" });
  const before = r.sink.items.length;
  checkHost(r.config, HOST, r.sink);
  const got = r.sink.items.slice(before).map((d) => `(Line ${d.loc?.line}) ${d.message}`);
  assert(got.length === 2, got.join("\n"));
  assertEquals(got, [
    "(Line 51) WARNING - interface eth1 for vrrp_instance VI_3 doesn't exist",
    "(Line 68) WARNING - interface eth1 for vrrp_instance VI_4 doesn't exist",
  ]);
});
