import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { loadConfigText } from "../../lib/config/load.ts";
import { effectiveGlobals } from "../../lib/config/schema/vrrp_check.ts";
import type { InstanceSettings } from "../../lib/vrrp/fsm.ts";
import { defaultSettings, settingsFromConfig } from "../../lib/vrrp/settings.ts";

function settings(text: string, name = "VI_1"): InstanceSettings {
  const r = loadConfigText(text, "t.conf", { configId: "x" });
  const inst = r.config.vrrp_instance.find((i) => i.header === name);
  assert(inst !== undefined, `no instance ${name}`);
  return settingsFromConfig(inst, effectiveGlobals(r.config));
}

/** One instance with an interface, VRID 51 and a VIP, plus `body`; `globals` in global_defs. */
function conf(body: string, globals = "", vips = "10.0.0.100/24"): string {
  const vipBlock = vips === "" ? "" : `virtual_ipaddress {\n${vips}\n}`;
  return `global_defs {\n${globals}\n}\nvrrp_instance VI_1 {\ninterface eth0\nvirtual_router_id 51\n${vipBlock}\n${body}\n}\n`;
}

Deno.test("a minimal instance maps to the default settings", () => {
  assertEquals(settings(conf("")), defaultSettings("VI_1", 51));
});

Deno.test("global_defs values apply where the instance does not set them", () => {
  const g = [
    "vrrp_garp_master_delay 10",
    "vrrp_garp_master_repeat 2",
    "vrrp_garp_master_refresh 60",
    "vrrp_down_timer_adverts 5",
    "vrrp_lower_prio_no_advert",
    "vrrp_higher_prio_send_advert",
    "vrrp_notify_priority_changes",
    "vrrp_startup_delay 5",
    "vrrp_delay_after_boot 30",
  ].join("\n");
  const s = settings(conf("garp_master_repeat 3", g));
  assertEquals(s.garp, {
    masterDelayUs: 10_000_000,
    masterRepeat: 3,
    masterRefreshUs: 60_000_000,
    masterRefreshRepeat: 1,
    lowerPrioDelayUs: 10_000_000,
    lowerPrioRepeat: 2,
  });
  assertEquals(s.downTimerAdverts, 5);
  assertEquals(s.lowerPrioNoAdvert, true);
  assertEquals(s.higherPrioSendAdvert, true);
  assertEquals(s.notifyPriorityChanges, true);
  assertEquals(s.startupDelayUs, 5_000_000);
  assertEquals(s.delayAfterBootUs, 30_000_000);
});

Deno.test("vrrp_min_garp gives one GARP round, no second burst and no refresh", () => {
  const s = settings(conf("", "vrrp_min_garp"));
  assertEquals(s.garp.masterRepeat, 1);
  assertEquals(s.garp.masterDelayUs, 0);
  assertEquals(s.garp.masterRefreshUs, 0);
  assertEquals(s.garp.lowerPrioRepeat, 1);
  assertEquals(s.garp.lowerPrioDelayUs, 0);
});

Deno.test("state MASTER without a priority makes the instance the address owner", () => {
  const s = settings(conf("state MASTER"));
  assertEquals(s.priority, 255);
  assertEquals(s.initialState, "MASTER");
  const b = settings(conf("state MASTER\npriority 150"));
  assertEquals([b.priority, b.initialState], [150, "MASTER"]);
});

Deno.test("IPv6 instances use VRRPv3 with the interval on the centisecond grid", () => {
  const s = settings(conf("advert_int 0.015", "", "fe80::1\n2001:db8::1"));
  assertEquals(s.family, 6);
  assertEquals(s.version, 3);
  assertEquals(s.advertIntUs, 20_000);
});

Deno.test("VRRPv2 intervals are whole seconds", () => {
  assertEquals(settings(conf("advert_int 2.4")).advertIntUs, 2_000_000);
  assertEquals(settings(conf("version 3\nadvert_int 2.4")).advertIntUs, 2_400_000);
});

Deno.test("strict mode settings: no lower-priority answer or GARP, no_accept, no preempt_delay", () => {
  const s = settings(
    conf(
      "priority 200\npreempt_delay 10\nhigher_prio_send_advert\ndown_timer_adverts 7\ngarp_lower_prio_repeat 3",
      "vrrp_strict",
    ),
  );
  assertEquals(s.lowerPrioNoAdvert, true);
  assertEquals(s.higherPrioSendAdvert, false);
  assertEquals(s.accept, false);
  assertEquals(s.preemptDelayUs, 0);
  assertEquals(s.downTimerAdverts, 3);
  assertEquals([s.garp.lowerPrioRepeat, s.garp.lowerPrioDelayUs], [0, 0]);
  const o = settings(conf("priority 255", "vrrp_strict"));
  assertEquals([o.ownerIgnoreAdverts, o.accept, o.initialState], [true, true, "MASTER"]);
});

Deno.test("accept mode: on by default, off with no_accept", () => {
  assertEquals(settings(conf("")).accept, true);
  assertEquals(settings(conf("no_accept")).accept, false);
});

Deno.test("no_virtual_ipaddress leaves nothing to announce; an eVIP alone is something", () => {
  assertEquals(settings(conf("no_virtual_ipaddress", "", "")).hasAddresses, false);
  const e = settings(conf("virtual_ipaddress_excluded {\n10.1.0.1\n}", "", ""));
  assertEquals(e.hasAddresses, true);
});

Deno.test("a unicast instance without an interface", () => {
  const text = `vrrp_instance U {
  virtual_router_id 7
  unicast_src_ip 192.0.2.1
  unicast_peer {
    192.0.2.2
  }
  virtual_ipaddress {
    192.0.2.100
  }
}
`;
  const s = settings(text, "U");
  assertEquals([s.unicast, s.hasInterface, s.vrid, s.name], [true, false, 7, "U"]);
});

Deno.test("preemption settings: nopreempt, preempt_delay and timer_expired_backup", () => {
  const n = settings(conf("nopreempt\ntimer_expired_backup"));
  assertEquals([n.nopreempt, n.timerExpiredBackup], [true, 254]);
  assertEquals(settings(conf("timer_expired_backup 200")).timerExpiredBackup, null);
  assertEquals(settings(conf("preempt_delay 2.5")).preemptDelayUs, 2_500_000);
  const owner = settings(conf("priority 255\nnopreempt"));
  assertEquals(owner.nopreempt, false);
});

Deno.test("dont_track_primary and owner_ignore_adverts pass through", () => {
  const s = settings(conf("priority 255\ndont_track_primary\nowner_ignore_adverts"));
  assertEquals([s.dontTrackPrimary, s.ownerIgnoreAdverts], [true, true]);
});

Deno.test("an instance without virtual_router_id cannot be mapped", () => {
  const text = "vrrp_instance X {\ninterface eth0\nvirtual_ipaddress {\n10.0.0.1\n}\n}\n";
  const r = loadConfigText(text, "t.conf", { configId: "x" });
  const inst = r.config.vrrp_instance[0];
  assert(inst !== undefined);
  assertThrows(
    () => settingsFromConfig(inst, effectiveGlobals(r.config)),
    RangeError,
    "has no virtual_router_id",
  );
});
