import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { ctxFor, hasMsg, toks } from "./_load.ts";
import { DiagClass, DiagnosticSink } from "../../lib/config/diagnostic.ts";
import { loadConfigText, type LoadResult } from "../../lib/config/load.ts";
import type { ValueType } from "../../lib/config/schema.ts";
import {
  cpuList,
  fifoSpec,
  globalDefs,
  includeCheck,
  lvsSyncDaemon,
  lvsTimeouts,
  smtpServer,
  umaskType,
} from "../../lib/config/schema/global.ts";
import { effectiveGlobals } from "../../lib/config/schema/vrrp_check.ts";

function load(body: string, rest = ""): LoadResult {
  return loadConfigText(`global_defs {\n${body}\n}\n${rest}`, "t.conf", { configId: "x" });
}

function g(r: LoadResult) {
  const gd = r.config.global_defs;
  assert(gd !== undefined, "global_defs missing from the model");
  return gd;
}

/** Parse `line`, print it, parse again: the values must be equal. */
function assertRoundTrip<T>(type: ValueType<T>, line: string): T {
  const sink = new DiagnosticSink();
  const v = type.parse(toks(line === "" ? [] : line.split(" ")), ctxFor("k", sink));
  assert(
    v !== undefined,
    `'${line}' did not parse: ${sink.items.map((d) => d.message).join("; ")}`,
  );
  const again = type.parse(toks(type.print(v)), ctxFor("k", sink));
  assertEquals(again, v, `'${line}' printed as '${type.print(v).join(" ")}'`);
  return v;
}

function rejects<T>(type: ValueType<T>, line: string): string {
  const sink = new DiagnosticSink();
  assertEquals(
    type.parse(toks(line.split(" ")), ctxFor("k", sink)),
    undefined,
    `'${line}' should be rejected`,
  );
  return sink.items.map((d) => d.message).join("; ");
}

Deno.test("without global_defs every global keyword has its documented default", () => {
  const r = loadConfigText("", "t.conf", { configId: "x" });
  assertEquals(r.config.global_defs, undefined);
  const d = effectiveGlobals(r.config);
  assertEquals(
    [
      d.vrrp_mcast_group4,
      d.vrrp_mcast_group6,
      d.vrrp_version,
      d.vrrp_garp_master_delay,
      d.vrrp_garp_master_repeat,
      d.vrrp_garp_master_refresh_repeat,
      d.vrrp_down_timer_adverts,
      d.smtp_connect_timeout,
      d.default_interface,
      d.vmac_prefix,
      d.vrrp_rlimit_rttime,
      d.min_auto_priority_delay,
      d.umask,
      d.json_version,
      d.nftables_priority,
      d.startup_script_timeout,
    ],
    [
      "224.0.0.18",
      "ff02::12",
      2,
      5_000_000,
      5,
      1,
      3,
      30_000_000,
      "eth0",
      "vrrp",
      10000,
      1_000_000,
      0o177,
      1,
      -1,
      10_000_000,
    ],
  );
  assertEquals([d.smtp_alert, d.router_id, d.lvs_sync_daemon], [undefined, undefined, undefined]);
});

Deno.test("timers are kept in microseconds", () => {
  const gd = g(
    load("  vrrp_startup_delay 1.5\n  vrrp_garp_interval 0.000250\n  vrrp_garp_master_refresh 60"),
  );
  assertEquals([gd.vrrp_startup_delay, gd.vrrp_garp_interval, gd.vrrp_garp_master_refresh], [
    1_500_000,
    250,
    60_000_000,
  ]);
});

Deno.test("values keepalived clamps are clamped with a warning", () => {
  const r = load(`  vrrp_garp_master_repeat 0
  vrrp_garp_master_refresh_repeat 0
  smtp_connect_timeout 0
  vrrp_rt_priority 120
  vrrp_rlimit_rttime 1`);
  const gd = g(r);
  assertEquals(
    [
      gd.vrrp_garp_master_repeat,
      gd.vrrp_garp_master_refresh_repeat,
      gd.smtp_connect_timeout,
      gd.vrrp_rt_priority,
      gd.vrrp_rlimit_rttime,
    ],
    [1, 1, 1_000_000, 99, 2],
  );
  const d = hasMsg(
    r,
    "'vrrp_garp_master_repeat' value '0' is out of range (1 to 2147483647); using 1",
    DiagClass.WARNING,
  );
  assertEquals(d.loc?.line, 2);
  hasMsg(
    r,
    "'vrrp_rt_priority' value '120' is out of range (1 to 99); using 99",
    DiagClass.WARNING,
  );
  assertEquals(r.sink.items.filter((x) => x.severity === "error"), []);
});

Deno.test("out-of-range values are errors naming the range, and the default stays", () => {
  const r = load("  vrrp_version 4\n  vrrp_down_timer_adverts 101\n  vrrp_priority -21");
  const gd = g(r);
  assertEquals([gd.vrrp_version, gd.vrrp_down_timer_adverts, gd.vrrp_priority], [2, 3, 0]);
  hasMsg(r, "'vrrp_version' value '4' is out of range (2 to 3)", DiagClass.INVALID_NUMBER);
  hasMsg(r, "(1 to 100)");
  hasMsg(r, "(-20 to 19)");
});

Deno.test("lower-priority GARP settings and vmac_addr_prefix follow their base keywords", () => {
  let gd = g(load("  vrrp_garp_master_delay 9\n  vrrp_garp_master_repeat 3\n  vmac_prefix vm"));
  assertEquals(
    [gd.vrrp_garp_lower_prio_delay, gd.vrrp_garp_lower_prio_repeat, gd.vmac_addr_prefix],
    [9_000_000, 3, "vm"],
  );
  gd = g(load("  vrrp_garp_master_delay 9\n  vrrp_garp_lower_prio_delay 2"));
  assertEquals(gd.vrrp_garp_lower_prio_delay, 2_000_000);
  gd = g(load("  vrrp_min_garp\n  vrrp_garp_master_refresh 30"));
  assertEquals(
    [
      gd.vrrp_garp_master_repeat,
      gd.vrrp_garp_master_delay,
      gd.vrrp_garp_master_refresh,
      gd.vrrp_garp_lower_prio_delay,
    ],
    [1, 0, 30_000_000, 0],
  );
});

Deno.test("deprecated global keywords warn naming their replacement", () => {
  const r = load("  vrrp_vmac_garp_intvl all 10\n  vrrp_rlimit_rtime 500\n  lvs_flush_onstop VS");
  const gd = g(r);
  assertEquals(gd.vrrp_garp_extra_if, { all: true, interval: 10_000_000 });
  assertEquals([gd.vrrp_rlimit_rttime, gd.lvs_flush_on_stop], [500, "vs"]);
  hasMsg(
    r,
    "'vrrp_vmac_garp_intvl' is deprecated; use 'vrrp_garp_extra_if' instead",
    DiagClass.DEPRECATED,
  );
  hasMsg(
    r,
    "'vrrp_rlimit_rtime' is deprecated; use 'vrrp_rlimit_rttime' instead",
    DiagClass.DEPRECATED,
  );
  hasMsg(
    r,
    "'lvs_flush_onstop' is deprecated; use 'lvs_flush_on_stop' instead",
    DiagClass.DEPRECATED,
  );
});

Deno.test("SNMP and DBus keywords are accepted with a warning that they do nothing", () => {
  const r = load(
    "  enable_snmp_vrrp\n  enable_traps\n  enable_dbus\n  snmp_vs_stats_update_interval 3",
  );
  assertEquals(r.sink.items.length, 4);
  assert(
    r.sink.items.every((d) =>
      d.class === DiagClass.WARNING && d.message.includes("has no effect in kad")
    ),
  );
  hasMsg(r, "kad has no SNMP agent");
  hasMsg(r, "kad has no DBus interface");
});

Deno.test("v3_checksum_as_v2 is enabled whatever its argument, as keepalived does", () => {
  assertEquals(g(load("  v3_checksum_as_v2")).v3_checksum_as_v2, true);
  const r = load("  v3_checksum_as_v2 false");
  assertEquals(g(r).v3_checksum_as_v2, true);
  hasMsg(r, "still enables the option", DiagClass.WARNING);
});

Deno.test("the multicast groups must be multicast, and the IPv6 one link-local scope", () => {
  let r = load("  vrrp_mcast_group4 10.0.0.1");
  hasMsg(r, "must be a multicast address");
  assertEquals(g(r).vrrp_mcast_group4, "224.0.0.18");
  r = load("  vrrp_mcast_group6 ff05::12");
  hasMsg(r, "not a link-local scope group", DiagClass.WARNING);
  r = load("  vrrp_mcast_group6 FF02::0012");
  assertEquals(g(r).vrrp_mcast_group6, "ff02::12");
  assertEquals(r.sink.items, []);
});

Deno.test("a notify FIFO shared by notify_fifo and vrrp_notify_fifo is used once", () => {
  const r = load("  notify_fifo /run/k.fifo\n  vrrp_notify_fifo /run/k.fifo root");
  assertEquals(g(r).vrrp_notify_fifo, undefined);
  assertEquals(g(r).notify_fifo, { path: "/run/k.fifo" });
  hasMsg(r, "ignoring vrrp_notify_fifo");
});

Deno.test("misspelt global keywords suggest the right one", () => {
  const d = hasMsg(
    load("  vrrp_garp_master_dealy 4"),
    "Unknown keyword 'vrrp_garp_master_dealy'",
    DiagClass.UNKNOWN_KEYWORD,
  );
  assertStringIncludes(d.message, "did you mean 'vrrp_garp_master_delay'");
});

Deno.test("the man page names of the dump files are accepted for the parser's names", () => {
  const gd = g(
    load("  state_file_location /tmp/s\n  stats_dump_file /tmp/t\n  json_file_location /tmp/j"),
  );
  assertEquals([gd.state_dump_file, gd.stats_dump_file, gd.json_dump_file], [
    "/tmp/s",
    "/tmp/t",
    "/tmp/j",
  ]);
});

Deno.test("a dump file may be an absolute directory ending in '/' (spec §6.3), not a relative one", () => {
  const ok = load("  state_dump_file /var/tmp/dumps/\n  json_dump_file rel/k.json");
  assertEquals(ok.sink.items.filter((d) => d.severity === "error"), []);
  assertEquals([g(ok).state_dump_file, g(ok).json_dump_file], ["/var/tmp/dumps/", "rel/k.json"]);
  const bad = load("  stats_dump_file dumps/");
  assert(hasMsg(bad, "names a directory, not a file"), "a relative directory must be refused");
  assertStringIncludes(
    bad.sink.items.map((d) => d.message).join("\n"),
    "absolute directory ending in '/'",
  );
});

Deno.test("the checker-side and e-mail keywords of global_defs are modelled", () => {
  const r = load(
    `  router_id lb1
  notification_email {
    ops@example.org "Alice <alice@example.org>"
  }
  notification_email_from kad@example.org
  smtp_server mail.example.org 587
  smtp_alert_checker
  smtp_alert_vrrp false
  lvs_flush
  lvs_timeouts tcp 900 udp 60
  lvs_sync_daemon eth0 inst VI_1 id 7 group 224.0.0.81
  lvs_notify_fifo /run/lvs.fifo kad kad
  checker_log_all_failures
  rs_init_notifies on
  nftables_ipvs
  checker_priority 5
  bfd_rt_priority 10
  process_names
  script_user keepalived_script :wheel
  dynamic_interfaces allow_if_changes`,
    "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
  );
  const gd = g(r);
  assertEquals(r.sink.items, []);
  assertEquals(gd.notification_email, ["ops@example.org", "Alice <alice@example.org>"]);
  assertEquals(gd.smtp_server, { host: "mail.example.org", port: 587 });
  assertEquals([gd.smtp_alert_checker, gd.smtp_alert_vrrp, gd.lvs_flush], [true, false, true]);
  assertEquals(gd.lvs_timeouts, { tcp: 900_000_000, udp: 60_000_000 });
  assertEquals(gd.lvs_sync_daemon, {
    interface: "eth0",
    instance: "VI_1",
    id: 7,
    group: "224.0.0.81",
  });
  assertEquals(gd.lvs_notify_fifo, { path: "/run/lvs.fifo", user: "kad", group: "kad" });
  assertEquals([gd.checker_log_all_failures, gd.rs_init_notifies, gd.nftables_ipvs], [
    true,
    true,
    "keepalived_ipvs",
  ]);
  assertEquals([gd.checker_priority, gd.bfd_rt_priority, gd.process_names], [5, 10, true]);
  assertEquals(gd.script_user, { user: "keepalived_script", group: ":wheel" });
  assertEquals(gd.dynamic_interfaces, "allow_if_changes");
});

Deno.test("structured global values print back to equal values", () => {
  assertEquals(assertRoundTrip(smtpServer, "192.0.2.25"), { host: "192.0.2.25", port: 25 });
  assertRoundTrip(smtpServer, "mail.example.org 2525");
  assertRoundTrip(fifoSpec, "/run/kad.fifo root adm");
  assertEquals(assertRoundTrip(lvsSyncDaemon, "eth1 VI_2 5"), {
    interface: "eth1",
    instance: "VI_2",
    id: 5,
  });
  assertRoundTrip(lvsSyncDaemon, "eth1 id 3 maxlen 1400 port 8848 ttl 2 group ff02::81");
  assertRoundTrip(lvsSyncDaemon, "eth1");
  assertRoundTrip(lvsTimeouts, "tcpfin 30");
  assertEquals(assertRoundTrip(umaskType, "IWGRP|IRWXO"), 0o27);
  assertEquals(assertRoundTrip(umaskType, "0177"), 0o177);
  assertEquals(assertRoundTrip(cpuList, "0 2 3"), [0, 2, 3]);
  assertEquals(assertRoundTrip(includeCheck, "readable -match"), ["readable", "-match"]);
  assertEquals(assertRoundTrip(includeCheck, ""), []);
});

Deno.test("malformed global values are rejected with a message that names the problem", () => {
  assertStringIncludes(
    rejects(smtpServer, "bad_host! 25"),
    "neither an IP address nor a host name",
  );
  assertStringIncludes(rejects(smtpServer, "192.0.2.1 70000"), "port '70000' is out of range");
  assertStringIncludes(rejects(lvsTimeouts, "tcp 9999999"), "out of range");
  assertStringIncludes(rejects(lvsTimeouts, "sctp 5"), "use tcp, tcpfin or udp");
  assertStringIncludes(
    rejects(lvsSyncDaemon, "eth0 group 10.0.0.1"),
    "must be a multicast address",
  );
  assertStringIncludes(rejects(umaskType, "IWGRP|0999"), "'0999' is not valid");
  assertStringIncludes(rejects(cpuList, "0-1"), "not a whole number");
  assertStringIncludes(rejects(includeCheck, "sometimes"), "is unknown");
  assertStringIncludes(rejects(fifoSpec, "/run/"), "names a directory");
});

Deno.test("every global_defs keyword is documented", () => {
  const undocumented = Object.entries(globalDefs.fields).filter(([, f]) => !f.doc).map(([k]) => k);
  assertEquals(undocumented, []);
});
