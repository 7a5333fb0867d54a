/**
 * keepalived.json (lib/vrrp/keepalived_json.ts) and keepalived.data
 * (lib/vrrp/data_dump.ts) against what Debian's keepalived 2.2.7 wrote for the same
 * configuration (tests/fixtures/keepalived-2.2.7/): the same members in the same order with
 * the same types and values, `/` escaped, json_version 1 and 2, the data dump's sections
 * and line labels — and the deliberate differences (passwords masked, routes as kad's text,
 * script paths not resolved) exactly where docs/dump.md says.
 */
import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { keepalivedJson } from "../../lib/vrrp/keepalived_json.ts";
import { dataDump } from "../../lib/vrrp/data_dump.ts";
import { STATS_COUNTERS } from "../../lib/vrrp/counters.ts";
import { effectiveGlobals } from "../../lib/config/schema/vrrp_check.ts";
import { Lab, S } from "./_sources.ts";

const FIXTURES = new URL("../fixtures/keepalived-2.2.7/", import.meta.url);
const fixture = (name: string) => Deno.readTextFileSync(new URL(name, FIXTURES));

/** The fixture's configuration running as MASTER on 192.0.2.11, as keepalived did. */
function master(): Lab {
  const lab = new Lab(fixture("keepalived.conf"));
  lab.start("VI_1", "192.0.2.11");
  lab.advance(10 * S);
  assertEquals(lab.instances[0]!.state, "MASTER");
  return lab;
}

type Obj = Record<string, unknown>;

/** Members whose values differ from keepalived's on purpose (or are times). */
const DIFFERENT = new Set(["last_transition", "script_master", "vroutes", "vrules", "auth_data"]);

Deno.test("keepalived.json v1: keepalived 2.2.7's members, order, types and values", () => {
  const lab = master();
  const input = lab.input();
  const text = keepalivedJson(input.instances, lab.config, input.clock, 1);
  const ours = JSON.parse(text) as Array<{ data: Obj; stats: Obj }>;
  const theirs = JSON.parse(fixture("keepalived.json")) as Array<{ data: Obj; stats: Obj }>;
  assertEquals(ours.length, 1);
  assertEquals(Object.keys(ours[0]!), ["data", "stats"]);
  const d = ours[0]!.data;
  const k = theirs[0]!.data;
  assertEquals(Object.keys(d), Object.keys(k));
  for (const key of Object.keys(k)) {
    assertEquals(typeof d[key], typeof k[key], `type of ${key}`);
    if (!DIFFERENT.has(key)) assertEquals(d[key], k[key], `value of ${key}`);
  }
  // The deliberate differences.
  assertEquals(k["auth_data"], "secret1");
  assertEquals(d["auth_data"], "********");
  assertEquals(k["script_master"], "'/usr/bin/true' 'master'");
  assertEquals(d["script_master"], "'/bin/true' 'master'");
  assertEquals((d["vroutes"] as string[]).length, (k["vroutes"] as string[]).length);
  const t = lab.instances[0]!.lastTransitionUs!;
  assertEquals(
    d["last_transition"],
    Number(((input.clock.wallMs * 1000 - (lab.now - t)) / 1e6).toFixed(6)),
  );
});

Deno.test("keepalived.json stats: the counters of spec §6.5 in order, 2.2.7's in the same order", () => {
  const lab = master();
  const input = lab.input();
  const ours = JSON.parse(keepalivedJson(input.instances, lab.config, input.clock, 1))[0].stats;
  const theirs = JSON.parse(fixture("keepalived.json"))[0].stats as Obj;
  assertEquals(Object.keys(ours), [...STATS_COUNTERS]);
  // keepalived 2.2.7 predates auth_hmac: its counters are ours without the auth_ext ones.
  assertEquals(Object.keys(theirs), [...STATS_COUNTERS].filter((c) => !c.startsWith("auth_ext")));
  assertEquals(ours.advert_sent, lab.instances[0]!.counters.advert_sent);
  assertEquals(ours.become_master, 1);
});

Deno.test("keepalived.json escapes '/' as keepalived's writer does, on one line", () => {
  const lab = master();
  const input = lab.input();
  const text = keepalivedJson(input.instances, lab.config, input.clock, 1);
  assertStringIncludes(text, '"192.0.2.100\\/24 dev eth0 scope global set"');
  assertStringIncludes(fixture("keepalived.json"), '"192.0.2.100\\/24 dev eth0 scope global set"');
  assert(!text.includes("\n"));
  assert(!/[^\\]\//.test(text), "every '/' is escaped");
});

Deno.test('json_version 2 is the same array under "vrrp"', () => {
  const lab = master();
  const input = lab.input();
  const v1 = JSON.parse(keepalivedJson(input.instances, lab.config, input.clock, 1));
  const v2 = JSON.parse(keepalivedJson(input.instances, lab.config, input.clock, 2));
  assertEquals(Object.keys(v2), ["vrrp"]);
  assertEquals(v2.vrrp, v1);
});

Deno.test("a BACKUP's JSON has keepalived's BACKUP codes and the master's priority", () => {
  const lab = new Lab(
    fixture("keepalived.conf").replace("state MASTER", "state BACKUP") +
      fixture("keepalived.conf")
        .replace("VI_1", "VI_2")
        .replace("priority 150", "priority 250")
        .replace("eth0\n  virtual_router_id", "eth1\n  virtual_router_id")
        .replace(/global_defs \{[^}]*\}/, ""),
  );
  lab.start("VI_1", "192.0.2.11");
  lab.start("VI_2", "192.0.2.12");
  lab.advance(10 * S);
  const input = lab.input();
  const [backup] = JSON.parse(keepalivedJson(input.instances, lab.config, input.clock, 1));
  assertEquals(
    [backup.data.iname, backup.data.state, backup.data.wantstate, backup.data.master_priority],
    ["VI_1", 1, 1, 250],
  );
  assertEquals(backup.data.vipset, false);
  assert(!(backup.data.vips as string[]).some((v) => v.endsWith(" set")));
});

Deno.test("keepalived.data: keepalived's sections, labels and values for the same instance", () => {
  const lab = master();
  const input = lab.input();
  const ours = dataDump(
    input.instances,
    lab.config,
    effectiveGlobals(lab.config),
    input.clock,
    "router1",
  );
  const theirs = fixture("keepalived.data");
  assert(ours.startsWith("------< Global definitions >------\n"));
  assertStringIncludes(ours, "\n------< VRRP Topology >------\n VRRP Instance = VI_1\n");
  const topology = (t: string) => t.slice(t.indexOf("------< VRRP Topology >------"));
  const mine = topology(ours).split("\n").filter((l) => l.startsWith("   "));
  const kept = topology(theirs).split("\n");
  for (const line of mine) {
    const label = /^ {3}([^=:]+?)( = |:$| :$|$)/.exec(line)?.[1] ?? line;
    if (/^ {5}/.test(line)) continue; // an address or route line (compared below)
    if (label.startsWith("Multicast address")) continue;
    assert(kept.some((k) => k.startsWith(`   ${label}`)), `keepalived has no line '${label}'`);
  }
  for (
    const same of [
      "   State = MASTER",
      "   Wantstate = MASTER",
      "   Master down timer = 3414062 usecs",
      "   Interface = eth0",
      "   Using src_ip = 192.0.2.11",
      "   Multicast address 224.0.0.18",
      "   Virtual Router ID = 51",
      "   Priority = 150",
      "   Effective priority = 150",
      "   Advert interval = 1 sec",
      "   Preempt = enabled",
      "   Authentication type = SIMPLE_PASSWORD",
      "   Virtual IP (3):",
      "     192.0.2.100/24 dev eth0 scope global set",
      "     192.0.2.101 dev eth0 scope global set",
      "     192.0.2.102/24 dev eth0 scope global label eth0:1 set",
      "     198.51.100.1 dev eth0 scope global set",
    ]
  ) {
    assertStringIncludes(theirs, `${same}\n`);
    assertStringIncludes(ours, `${same}\n`);
  }
  assertStringIncludes(theirs, "   Password = secret1\n");
  assertStringIncludes(ours, "   Password = ********\n");
  assert(!ours.includes("secret1"));
});
