import { assert, assertEquals } from "../_assert.ts";
import {
  compareAddresses,
  type FsmAction,
  type FsmEvent,
  type FsmState,
  initialState,
  type InstanceSettings,
  masterDownUs,
  nextDeadline,
  step,
} from "../../lib/vrrp/fsm.ts";
import type { TrackerInput } from "../../lib/vrrp/priority.ts";
import { defaultSettings, settingsFromConfig } from "../../lib/vrrp/settings.ts";
import { skewUs } from "../../lib/vrrp/timers.ts";
import { loadConfigText } from "../../lib/config/load.ts";
import { effectiveGlobals } from "../../lib/config/schema/vrrp_check.ts";

// ---- fake clock ----

const S = 1_000_000;
const SELF = "10.0.0.2";
const LOWER_ADDR = "10.0.0.1";
const HIGHER_ADDR = "10.0.0.3";

type Over = Partial<Omit<InstanceSettings, "garp">> & {
  garp?: Partial<InstanceSettings["garp"]>;
};

function settings(over: Over = {}): InstanceSettings {
  const d = defaultSettings();
  return { ...d, ...over, garp: { ...d.garp, ...over.garp } };
}

/** One instance driven by a fake monotonic clock; due timers fire before later events. */
class Sim {
  state: FsmState;
  now = 0;

  constructor(s: InstanceSettings) {
    this.state = initialState(s);
  }

  /** Step one event at the current time, without firing timers. */
  deliver(e: FsmEvent): FsmAction[] {
    const r = step(this.state, e, this.now);
    this.state = r.state;
    return r.actions;
  }

  /** Fire every timer due at or before `to`, in deadline order, then set the clock to `to`. */
  advance(to: number): FsmAction[] {
    assert(to >= this.now, `the clock cannot go back from ${this.now} to ${to}`);
    const out: FsmAction[] = [];
    for (;;) {
      const d = nextDeadline(this.state);
      if (d === null || d.atUs > to) break;
      this.now = d.atUs;
      out.push(...this.deliver({ type: "timer", timer: d.timer }));
    }
    this.now = to;
    return out;
  }

  /** Advance to `at` (default now), then deliver `e`; returns only the event's actions. */
  send(e: FsmEvent, at = this.now): FsmAction[] {
    this.advance(at);
    return this.deliver(e);
  }

  start(opts: Partial<Extract<FsmEvent, { type: "start" }>> = {}, at = 0): FsmAction[] {
    return this.send({
      type: "start",
      uptimeUs: 1000 * S,
      interfaceUp: true,
      sourceAddress: SELF,
      ...opts,
    }, at);
  }

  advert(from: string, priority: number, at = this.now, advertIntUs = S): FsmAction[] {
    return this.send({ type: "advert", from, priority, advertIntUs }, at);
  }

  /** Adverts from one sender every second in [from, to]. */
  advertEverySecond(addr: string, priority: number, from: number, to: number): FsmAction[] {
    const out: FsmAction[] = [];
    for (let t = from; t <= to; t += S) out.push(...this.advert(addr, priority, t));
    return out;
  }

  get st(): string {
    return this.state.state;
  }
}

function sim0(over: Over = {}): Sim {
  return new Sim(settings(over));
}

/** Actions as short strings, for readable comparisons. */
function brief(actions: readonly FsmAction[], logs = false): string[] {
  const out: string[] = [];
  for (const a of actions) {
    switch (a.type) {
      case "send_advert":
        out.push(`advert ${a.priority}`);
        break;
      case "add_vips":
        out.push(a.accept ? "add_vips" : "add_vips no_accept");
        break;
      case "remove_vips":
      case "garp_source":
        out.push(a.type);
        break;
      case "garp":
        out.push(`garp ${a.rounds} ${a.reason}`);
        break;
      case "notify":
        out.push(`notify ${a.state} ${a.priority}`);
        break;
      case "schedule":
        out.push(`schedule ${a.timer} ${a.atUs}`);
        break;
      case "cancel":
        out.push(`cancel ${a.timer}`);
        break;
      case "log":
        if (logs) out.push(`${a.level}: ${a.message}`);
        break;
    }
  }
  return out;
}

function logs(actions: readonly FsmAction[]): string[] {
  return actions.flatMap((a) => (a.type === "log" ? [`${a.level}: ${a.message}`] : []));
}

function sent(actions: readonly FsmAction[]): number[] {
  return actions.flatMap((a) => (a.type === "send_advert" ? [a.priority] : []));
}

/** A BACKUP with default settings (priority 100, v2, 1 s) that became MASTER at 3.609375 s. */
function master(over: Over = {}): Sim {
  const sim = sim0(over);
  sim.start();
  sim.advance(masterDownUs(sim.state));
  assertEquals(sim.st, "MASTER");
  return sim;
}

// ---- start-up (§3.3) ----

Deno.test("a non-owner starts as BACKUP with the master-down timer at Master_Down_Interval", () => {
  const sim = sim0();
  assertEquals(brief(sim.start(), true), [
    "remove_vips",
    "info: (VI_1) Entering BACKUP STATE",
    "notify BACKUP 100",
    "schedule master_down 3609375",
  ]);
});

Deno.test("a backup that hears no master becomes MASTER when the master-down interval expires", () => {
  const sim = sim0();
  sim.start();
  assertEquals(sim.advance(3_609_374), []);
  assertEquals(sim.st, "BACKUP");
  assertEquals(brief(sim.advance(3_609_375), true), [
    "info: (VI_1) Master-down timer expired; taking over",
    "advert 100",
    "info: (VI_1) Entering MASTER STATE",
    "add_vips",
    "garp 5 master",
    "notify MASTER 100",
    "schedule advert 4609375",
    "schedule garp_delay 8609375",
  ]);
});

Deno.test("owner (255) goes master at start without waiting", () => {
  const sim = sim0({ priority: 255, initialState: "MASTER" });
  assertEquals(brief(sim.start(), true), [
    "advert 255",
    "info: (VI_1) Entering MASTER STATE",
    "add_vips",
    "garp 5 master",
    "notify MASTER 255",
    "schedule advert 1000000",
    "schedule garp_delay 5000000",
  ]);
});

Deno.test("state MASTER below priority 255 waits the full master-down interval", () => {
  const sim = sim0({ priority: 150, initialState: "MASTER" });
  assertEquals(brief(sim.start()), [
    "remove_vips",
    "notify BACKUP 150",
    "schedule master_down 3414062",
  ]);
});

Deno.test("events before start are remembered and start evaluates them once", () => {
  const sim = sim0();
  assertEquals(sim.advert(HIGHER_ADDR, 200), []);
  assertEquals(sim.send({ type: "fault", reason: "VIP interface eth1 down", active: true }), []);
  assertEquals(sim.st, "INIT");
  assertEquals(brief(sim.start(), true), [
    "remove_vips",
    "info: (VI_1) Entering FAULT STATE (VIP interface eth1 down)",
    "notify FAULT 100",
  ]);
});

// ---- MASTER adverts ----

Deno.test("a master sends an advert with its effective priority every advert_int", () => {
  const sim = master({ advertIntUs: 2 * S });
  const t0 = sim.now;
  assertEquals(sim.state.timers.advert, t0 + 2 * S);
  const acts = sim.advance(t0 + 6 * S);
  assertEquals(brief(acts).filter((a) => a.startsWith("advert")), [
    "advert 100",
    "advert 100",
    "advert 100",
  ]);
  assertEquals(sim.state.timers.advert, t0 + 8 * S);
});

// ---- BACKUP and preemption (§3.4, §3.10) ----

Deno.test("a backup hearing a higher-priority master stays BACKUP and re-arms master-down", () => {
  const sim = sim0();
  sim.start();
  assertEquals(brief(sim.advert(HIGHER_ADDR, 200, S)), ["schedule master_down 4609375"]);
  sim.advertEverySecond(HIGHER_ADDR, 200, 2 * S, 20 * S);
  assertEquals(sim.st, "BACKUP");
  assertEquals(sim.state.masterAddress, HIGHER_ADDR);
  assertEquals(sim.state.timers.master_down, 20 * S + 3_609_375);
});

Deno.test("a backup with equal priority accepts the master without comparing addresses", () => {
  const sim = sim0();
  sim.start();
  sim.advertEverySecond(LOWER_ADDR, 100, S, 10 * S);
  assertEquals(sim.st, "BACKUP");
});

Deno.test("a backup preempts a lower-priority master when its master-down timer expires", () => {
  const sim = sim0({ priority: 150 });
  sim.start();
  const acts = sim.advertEverySecond(LOWER_ADDR, 100, S, 3 * S);
  assertEquals(brief(acts), []);
  assertEquals(
    logs(acts)[0],
    "detail: (VI_1) Received lower priority advert from 10.0.0.1 (priority 100, ours 150) - discarding",
  );
  sim.advance(3_414_061);
  assertEquals(sim.st, "BACKUP");
  sim.advance(3_414_062);
  assertEquals(sim.st, "MASTER");
});

Deno.test("backup with nopreempt stays backup when a lower-priority master advertises", () => {
  const sim = sim0({ priority: 150, nopreempt: true });
  sim.start();
  sim.advertEverySecond(LOWER_ADDR, 100, S, 30 * S);
  assertEquals(sim.st, "BACKUP");
  assertEquals(sim.state.timers.master_down, 30 * S + 3_414_062);
  // Once the lower-priority master falls silent, the backup takes over as usual.
  sim.advance(30 * S + 3_414_062);
  assertEquals(sim.st, "MASTER");
});

Deno.test("preempt_delay defers preemption by the configured time", () => {
  const sim = sim0({ priority: 150, preemptDelayUs: 10 * S });
  sim.start();
  const first = sim.advert(LOWER_ADDR, 100, S);
  assertEquals(logs(first), [
    "info: (VI_1) Lower priority master 10.0.0.1 (priority 100, ours 150); preempting after preempt_delay 10 s",
  ]);
  assertEquals(sim.state.preemptAtUs, 11 * S);
  // Accepted until 11 s; ignored from then on, so the deadline stays at 10 s + down interval.
  sim.advertEverySecond(LOWER_ADDR, 100, 2 * S, 13 * S);
  assertEquals(sim.state.timers.master_down, 10 * S + 3_414_062);
  sim.advance(10 * S + 3_414_061);
  assertEquals(sim.st, "BACKUP");
  sim.advance(10 * S + 3_414_062);
  assertEquals(sim.st, "MASTER");
});

Deno.test("preempt_delay restarts after a higher-priority advert stops the pending delay", () => {
  const sim = sim0({ priority: 150, preemptDelayUs: 10 * S });
  sim.start();
  sim.advert(LOWER_ADDR, 100, S);
  sim.advert(HIGHER_ADDR, 200, 2 * S);
  assertEquals(sim.state.preemptAtUs, null);
  sim.advert(LOWER_ADDR, 100, 3 * S);
  assertEquals(sim.state.preemptAtUs, 13 * S);
});

Deno.test("priority 0 advert makes a backup take over after skew time", () => {
  const sim = sim0();
  sim.start();
  sim.advert(HIGHER_ADDR, 200, S);
  const acts = sim.advert(HIGHER_ADDR, 0, 1_500_000);
  assertEquals(brief(acts, true), [
    "info: (VI_1) Backup received priority 0 advert from 10.0.0.3; taking over in 0.609375 s (skew time)",
    "schedule master_down 2109375",
  ]);
  sim.advance(2_109_374);
  assertEquals(sim.st, "BACKUP");
  sim.advance(2_109_375);
  assertEquals(sim.st, "MASTER");
});

// ---- MASTER receiving adverts (§3.5) ----

Deno.test("a master answers a priority 0 advert with an advert at once", () => {
  const sim = master();
  assertEquals(brief(sim.advert(HIGHER_ADDR, 0, 4 * S)), ["advert 100", "schedule advert 5000000"]);
  assertEquals(sim.st, "MASTER");
});

Deno.test("a master yields to a higher-priority advert without a priority 0 advert", () => {
  const sim = master();
  assertEquals(brief(sim.advert(HIGHER_ADDR, 200, 4 * S), true), [
    "info: (VI_1) Master received advert from 10.0.0.3 with higher priority 200, ours 100",
    "info: (VI_1) Entering BACKUP STATE",
    "remove_vips",
    "notify BACKUP 100",
    "cancel advert",
    "schedule master_down 7609375",
    "cancel garp_delay",
  ]);
  assertEquals(sim.st, "BACKUP");
  assertEquals(sim.state.masterAddress, HIGHER_ADDR);
});

Deno.test("at equal priority the numerically higher source address wins", () => {
  const low = master({});
  low.state.sourceAddress = "10.0.0.9";
  low.advert("10.0.0.10", 100, 4 * S);
  assertEquals(low.st, "BACKUP");

  const high = master({});
  high.state.sourceAddress = "10.0.0.10";
  assertEquals(sent(high.advert("10.0.0.9", 100, 4 * S)), [100]);
  assertEquals(high.st, "MASTER");
});

Deno.test("addresses compare as numbers, not as text", () => {
  assertEquals(compareAddresses("10.0.0.10", "10.0.0.9"), 1);
  assertEquals(compareAddresses("10.0.0.9", "10.0.0.10"), -1);
  assertEquals(compareAddresses("fe80::1:0", "fe80::ffff"), 1);
  assertEquals(compareAddresses("2001:db8::1", "2001:db8:0::1"), 0);
});

Deno.test("a master hearing its own address at its priority warns and stays", () => {
  const sim = master();
  const acts = sim.advert(SELF, 100, 4 * S);
  assertEquals(brief(acts, true), [
    "warn: (VI_1) Received an advert with our own address 10.0.0.2 and our priority 100 - ignoring it",
  ]);
  assertEquals(sim.st, "MASTER");
});

Deno.test("higher_prio_send_advert sends one advert before yielding", () => {
  const sim = master({ higherPrioSendAdvert: true });
  const acts = sim.advert(HIGHER_ADDR, 200, 4 * S);
  assertEquals(brief(acts).slice(0, 3), ["advert 100", "remove_vips", "notify BACKUP 100"]);
  const without = master();
  assertEquals(sent(without.advert(HIGHER_ADDR, 200, 4 * S)), []);
});

Deno.test("a master answers a lower-priority advert, re-sends GARPs and notifies MASTER_RX_LOWER_PRI", () => {
  const sim = master();
  assertEquals(brief(sim.advert(LOWER_ADDR, 50, 4 * S), true), [
    "info: (VI_1) Master received lower priority advert from 10.0.0.1 (priority 50, ours 100); staying MASTER; sending an advert",
    "advert 100",
    "garp 5 lower_prio",
    "notify MASTER_RX_LOWER_PRI 100",
    "schedule advert 5000000",
    "schedule garp_lower_prio 9000000",
  ]);
  assertEquals(brief(sim.advance(9 * S)).filter((a) => a.startsWith("garp")), [
    "garp 5 master_delay",
    "garp 5 lower_prio_delay",
  ]);
});

Deno.test("lower_prio_no_advert keeps a master silent towards lower-priority adverts", () => {
  const sim = master({ lowerPrioNoAdvert: true, garp: { lowerPrioRepeat: 0 } });
  assertEquals(brief(sim.advert(LOWER_ADDR, 50, 4 * S), true), [
    "info: (VI_1) Master received lower priority advert from 10.0.0.1 (priority 50, ours 100); staying MASTER",
    "notify MASTER_RX_LOWER_PRI 100",
  ]);
  // The advert timer keeps its own rhythm.
  assertEquals(sim.state.timers.advert, 4_609_375);
});

// ---- GARP / NA (§3.11) ----

Deno.test("GARP: a second burst after garp_master_delay and refreshes every garp_master_refresh", () => {
  const sim = master({ garp: { masterRefreshUs: 10 * S, masterRefreshRepeat: 2 } });
  assertEquals(sim.state.timers.garp_delay, 3_609_375 + 5 * S);
  assertEquals(sim.state.timers.garp_refresh, 3_609_375 + 15 * S);
  const acts = sim.advance(3_609_375 + 25 * S);
  assertEquals(brief(acts).filter((a) => a.startsWith("garp")), [
    "garp 5 master_delay",
    "garp 2 master_refresh",
    "garp 2 master_refresh",
  ]);
  const yielded = sim.advert(HIGHER_ADDR, 200);
  assert(brief(yielded).includes("cancel garp_refresh"), "refresh timer not cancelled");
});

Deno.test("GARP: garp_master_delay 0 means no second burst", () => {
  const sim = master({ garp: { masterDelayUs: 0, masterRepeat: 1 } });
  assertEquals(sim.state.timers.garp_delay, undefined);
});

Deno.test("no_virtual_ipaddress: becoming master installs nothing to announce and sends no GARP", () => {
  const sim = sim0({ hasAddresses: false });
  sim.start();
  const acts = sim.advance(3_609_375);
  assertEquals(brief(acts), [
    "advert 100",
    "add_vips",
    "notify MASTER 100",
    "schedule advert 4609375",
  ]);
  assertEquals(brief(sim.advert(LOWER_ADDR, 50)), [
    "advert 100",
    "notify MASTER_RX_LOWER_PRI 100",
  ]);
});

// ---- VRRPv3 interval (§1.9, §3.2) ----

Deno.test("a v3 backup uses the master's advert interval for master-down, reset on leaving FAULT", () => {
  const sim = sim0({ version: 3 });
  sim.start();
  const acts = sim.advert(HIGHER_ADDR, 200, S, 2 * S);
  assertEquals(brief(acts, true), [
    "info: (VI_1) Using the master's advert interval 2 s for the master-down timer",
    "schedule master_down 8218750",
  ]);
  sim.send({ type: "interface", up: false }, 2 * S);
  assertEquals(brief(sim.send({ type: "interface", up: true }, 3 * S)), [
    "notify BACKUP 100",
    "schedule master_down 6609375",
  ]);
  assertEquals(sim.state.masterAdverIntUs, S);
});

Deno.test("a v2 backup keeps its own interval whatever the advert carries", () => {
  const sim = sim0();
  sim.start();
  sim.advert(HIGHER_ADDR, 200, S, 2 * S);
  assertEquals(sim.state.masterAdverIntUs, S);
  assertEquals(sim.state.timers.master_down, S + 3_609_375);
});

// ---- FAULT (§3.7) ----

Deno.test("a master whose interface goes down resigns twice around removing the VIPs", () => {
  const sim = master();
  assertEquals(brief(sim.send({ type: "interface", up: false }, 4 * S), true), [
    "info: (VI_1) Entering FAULT STATE (interface down)",
    "advert 0",
    "remove_vips",
    "advert 0",
    "notify FAULT 100",
    "cancel advert",
    "cancel garp_delay",
  ]);
  assertEquals(sim.st, "FAULT");
  assertEquals(sim.advert(HIGHER_ADDR, 200, 5 * S), []);
  assertEquals(sim.advance(60 * S), []);
  assertEquals(brief(sim.send({ type: "interface", up: true }), true), [
    "info: (VI_1) Entering BACKUP STATE",
    "notify BACKUP 100",
    "schedule master_down 63609375",
  ]);
});

Deno.test("an instance whose interface is down at start enters FAULT and ignores adverts", () => {
  const sim = sim0();
  assertEquals(brief(sim.start({ interfaceUp: false }), true), [
    "remove_vips",
    "info: (VI_1) Entering FAULT STATE (interface down)",
    "notify FAULT 100",
  ]);
  assertEquals(sim.advert(HIGHER_ADDR, 0, S), []);
  assertEquals(sim.st, "FAULT");
});

Deno.test("the owner leaving FAULT becomes MASTER at once", () => {
  const sim = sim0({ priority: 255, initialState: "MASTER" });
  sim.start({ interfaceUp: false });
  const acts = sim.send({ type: "interface", up: true }, 7 * S);
  assertEquals(brief(acts).slice(0, 2), ["advert 255", "add_vips"]);
  assertEquals(sim.st, "MASTER");
});

Deno.test("dont_track_primary: the own interface going down does not fault the instance", () => {
  const sim = master({ dontTrackPrimary: true });
  assertEquals(sim.send({ type: "interface", up: false }), []);
  assertEquals(sim.st, "MASTER");
});

Deno.test("losing the source address faults; a unicast instance coming back GARPs its source", () => {
  const sim = sim0({ unicast: true });
  sim.start();
  assertEquals(brief(sim.send({ type: "source_address", address: null }, S), true), [
    "info: (VI_1) Entering FAULT STATE (no source address)",
    "notify FAULT 100",
    "cancel master_down",
  ]);
  assertEquals(brief(sim.send({ type: "source_address", address: SELF }, 2 * S)), [
    "notify BACKUP 100",
    "garp_source",
    "schedule master_down 5609375",
  ]);
});

Deno.test("FAULT lasts until every fault reason is cleared", () => {
  const sim = sim0();
  sim.start();
  sim.send({ type: "fault", reason: "VIP interface eth1 down", active: true });
  sim.send({ type: "interface", up: false });
  assertEquals(sim.send({ type: "fault", reason: "VIP interface eth1 down", active: false }), []);
  assertEquals(sim.st, "FAULT");
  sim.send({ type: "interface", up: true });
  assertEquals(sim.st, "BACKUP");
});

Deno.test("lost_object: a MASTER resigns with priority 0 and takes over again after Skew_Time", () => {
  const sim = sim0({ priority: 100 });
  sim.start();
  sim.advance(10 * S);
  assertEquals(sim.st, "MASTER");
  const t = sim.now;
  const a = sim.send({ type: "lost_object", what: "virtual address 10.0.0.100/32" });
  assertEquals(sent(a), [0]);
  assert(brief(a).indexOf("advert 0") < brief(a).indexOf("remove_vips"), brief(a).join(", "));
  assert(brief(a).includes("notify BACKUP 100"), brief(a).join(", "));
  assert(
    logs(a).some((l) => l.includes("virtual address 10.0.0.100/32 was deleted by someone else")),
    logs(a).join("\n"),
  );
  assertEquals(sim.st, "BACKUP");
  // v2, priority 100: Skew_Time = (256 − 100) / 256 s, not a whole Master_Down_Interval.
  const skew = skewUs(2, 100, S);
  assertEquals(sim.state.timers.master_down, t + skew);
  assertEquals(sim.advance(t + skew - 1), []);
  const back = sim.advance(t + skew);
  assertEquals(sim.st, "MASTER");
  assert(brief(back).includes("add_vips"), brief(back).join(", "));
});

Deno.test("lost_object: outside MASTER nothing is installed, so nothing happens", () => {
  const sim = sim0();
  sim.start();
  assertEquals(sim.st, "BACKUP");
  const due = sim.state.timers.master_down;
  assertEquals(sim.send({ type: "lost_object", what: "route 198.51.100.0/24" }), []);
  assertEquals(sim.state.timers.master_down, due);
  sim.send({ type: "interface", up: false });
  assertEquals(sim.st, "FAULT");
  assertEquals(sim.send({ type: "lost_object", what: "route 198.51.100.0/24" }), []);
});

// ---- priority and trackers (§3.9) ----

const up = (name: string, weight: number, isUp: boolean): TrackerInput => ({
  kind: "status",
  name,
  weight,
  reverse: false,
  up: isUp,
});

Deno.test("a weighted tracker changes the effective priority and shifts a backup's deadline", () => {
  const sim = sim0({ notifyPriorityChanges: true });
  sim.start();
  // Skew falls from 609 375 µs (100) to 531 250 µs (120): the deadline moves 78 125 µs earlier.
  assertEquals(brief(sim.send({ type: "trackers", trackers: [up("chk", 20, true)] }, S), true), [
    "info: (VI_1) Changing effective priority from 100 to 120",
    "notify BACKUP_PRIORITY 120",
    "schedule master_down 3531250",
  ]);
  const acts = sim.advance(3_531_250);
  assertEquals(sent(acts), [120]);
  assertEquals(brief(sim.send({ type: "trackers", trackers: [up("chk", 20, false)] })), [
    "notify MASTER_PRIORITY 100",
  ]);
  assertEquals(sent(sim.advance(4_531_250)), [100]);
});

Deno.test("a failed zero-weight tracker faults the instance until it recovers", () => {
  const sim = master();
  const acts = sim.send({ type: "trackers", trackers: [up("chk_http", 0, false)] }, 4 * S);
  assertEquals(logs(acts)[0], "info: (VI_1) Entering FAULT STATE (tracker chk_http failed)");
  assertEquals(sent(acts), [0, 0]);
  sim.send({ type: "trackers", trackers: [up("chk_http", 0, true)] }, 5 * S);
  assertEquals(sim.st, "BACKUP");
});

Deno.test("the owner's advertised priority ignores weighted trackers", () => {
  const sim = sim0({ priority: 255, initialState: "MASTER" });
  sim.start({ trackers: [up("eth1", -50, false)] });
  assertEquals(sent(sim.advance(2 * S)), [255, 255]);
});

// ---- the address owner and rogue owners (§3.9) ----

function owner(over: Over = {}): Sim {
  const sim = sim0({ priority: 255, initialState: "MASTER", ...over });
  sim.start();
  assertEquals(sim.st, "MASTER");
  return sim;
}

Deno.test("a rogue owner with a higher address makes the owner step down", () => {
  const sim = owner();
  const acts = sim.advert(HIGHER_ADDR, 255, 500_000);
  assertEquals(
    logs(acts)[0],
    "error: (VI_1) CONFIGURATION ERROR: this router and 10.0.0.3 are both configured as address owner (priority 255); stepping down, its address is higher - give only one router priority 255",
  );
  assertEquals(sim.st, "BACKUP");
  assertEquals(sim.state.timers.master_down, 500_000 + 3_003_906);
});

Deno.test("a rogue owner with a lower address that keeps advertising demotes the owner to 254", () => {
  const sim = owner();
  const first = sim.advert(LOWER_ADDR, 255, 500_000);
  assertEquals(brief(first), []);
  assertEquals(logs(first).length, 1);
  // Two more own adverts, then a watch of 1.2 × 1 s.
  assertEquals(brief(sim.advert(LOWER_ADDR, 255, 1_500_000), true), []);
  sim.advance(2 * S);
  assertEquals(sim.state.timers.rogue, 3_200_000);
  const acts = sim.advert(LOWER_ADDR, 255, 2_500_000);
  assertEquals(brief(acts, true), [
    "warn: (VI_1) The other address owner 10.0.0.1 is still advertising; lowering our priority to 254 and stepping down",
    "info: (VI_1) Changing effective priority from 255 to 254",
    "info: (VI_1) Entering BACKUP STATE",
    "remove_vips",
    "notify BACKUP 254",
    "cancel advert",
    "schedule master_down 5503906",
    "cancel garp_delay",
    "cancel rogue",
  ]);
  // The rogue goes on at 255: the demoted owner stays BACKUP at 254.
  sim.advertEverySecond(LOWER_ADDR, 255, 3_500_000, 10_500_000);
  assertEquals(sim.st, "BACKUP");
  assertEquals(sim.state.effectivePriority, 254);
  // It stops: the owner takes over and is restored to 255.
  const back = sim.advance(20 * S);
  assertEquals(brief(back, true).slice(0, 4), [
    "info: (VI_1) Master-down timer expired; taking over",
    "advert 254",
    "info: (VI_1) Entering MASTER STATE",
    "info: (VI_1) Changing effective priority from 254 to 255",
  ]);
  assertEquals(sim.state.effectivePriority, 255);
});

Deno.test("a rogue owner that falls silent during the watch leaves the owner MASTER", () => {
  const sim = owner();
  sim.advert(LOWER_ADDR, 255, 500_000);
  const acts = sim.advance(3_200_000);
  assertEquals(logs(acts), [
    "info: (VI_1) The other address owner 10.0.0.1 appears to have stopped advertising; staying MASTER",
  ]);
  assertEquals(sim.st, "MASTER");
  assertEquals(sim.state.rogue, null);
});

Deno.test("a demoted owner in BACKUP gets 255 back when another master advertises", () => {
  const sim = owner();
  sim.advert(LOWER_ADDR, 255, 500_000);
  sim.advance(2 * S);
  sim.advert(LOWER_ADDR, 255, 2_500_000);
  assertEquals(sim.state.effectivePriority, 254);
  const acts = sim.advert(HIGHER_ADDR, 100, 3 * S);
  assertEquals(logs(acts)[0], "info: (VI_1) Changing effective priority from 254 to 255");
  assertEquals(sim.state.effectivePriority, 255);
});

Deno.test("owner_ignore_adverts makes the owner at 255 ignore every advert", () => {
  const sim = owner({ ownerIgnoreAdverts: true });
  assertEquals(sim.advert(HIGHER_ADDR, 255, 500_000), []);
  assertEquals(sim.advert(HIGHER_ADDR, 0, 600_000), []);
  assertEquals(sim.st, "MASTER");
});

// ---- timer_expired_backup (§3.14) ----

Deno.test("timer_expired_backup: a master silent for over 3 × advert_int + skew(P) steps down", () => {
  const sim = master({ nopreempt: true, timerExpiredBackup: 254 });
  // The process was frozen: the daemon reports the late wake-up before the overdue timers.
  sim.now = 10 * S;
  assertEquals(brief(sim.deliver({ type: "late_wakeup" }), true), [
    "warn: (VI_1) Our last advert was sent 6.390625 s ago (limit 3.007812 s); another router has probably taken over - stepping down (timer_expired_backup)",
    "info: (VI_1) Entering BACKUP STATE",
    "remove_vips",
    "notify BACKUP 100",
    "cancel advert",
    "schedule master_down 13609375",
    "cancel garp_delay",
  ]);
});

Deno.test("timer_expired_backup: a master that advertised recently stays MASTER", () => {
  const sim = master({ nopreempt: true, timerExpiredBackup: 254 });
  sim.advance(5 * S);
  sim.now = 7 * S;
  assertEquals(sim.deliver({ type: "late_wakeup" }), []);
  assertEquals(sim.st, "MASTER");
});

Deno.test("timer_expired_backup unset: a late wake-up changes nothing", () => {
  const sim = master();
  sim.now = 60 * S;
  assertEquals(sim.deliver({ type: "late_wakeup" }), []);
  assertEquals(sim.st, "MASTER");
});

// ---- start-up delay (§3.15) ----

Deno.test("startup delay ignores adverts and counts the master-down interval from its end", () => {
  const sim = sim0({ startupDelayUs: 5 * S });
  assertEquals(brief(sim.start(), true), [
    "info: (VI_1) Delaying start-up by 5 s: adverts are ignored and none are sent until then",
    "remove_vips",
    "info: (VI_1) Entering BACKUP STATE",
    "notify BACKUP 100",
    "schedule master_down 8609375",
  ]);
  assertEquals(sim.advertEverySecond(HIGHER_ADDR, 200, S, 4 * S), []);
  assertEquals(sim.advert(HIGHER_ADDR, 0, 4_500_000), []);
  assertEquals(sim.state.timers.master_down, 8_609_375);
  // After the delay, adverts count again.
  assertEquals(brief(sim.advert(HIGHER_ADDR, 200, 5_500_000)), ["schedule master_down 9109375"]);
  assertEquals(sim.state.masterAddress, HIGHER_ADDR);
});

Deno.test("startup delay: vrrp_delay_after_boot counts from boot, and the owner waits for the end", () => {
  const sim = sim0({ priority: 255, initialState: "MASTER", delayAfterBootUs: 60 * S });
  const acts = sim.start({ uptimeUs: 50 * S });
  assertEquals(brief(acts), ["remove_vips", "notify BACKUP 255", "schedule master_down 10000000"]);
  sim.advance(10 * S - 1);
  assertEquals(sim.st, "BACKUP");
  assertEquals(sent(sim.advance(10 * S)), [255]);
  assertEquals(sim.st, "MASTER");
});

Deno.test("startup delay: vrrp_delay_after_boot already passed means no delay", () => {
  const sim = sim0({ delayAfterBootUs: 60 * S });
  sim.start({ uptimeUs: 600 * S });
  assertEquals(sim.state.startupUntilUs, null);
  assertEquals(sim.state.timers.master_down, 3_609_375);
});

// ---- strict mode and accept mode (§3.18, §3.19) ----

function fromConfig(text: string, name = "VI_1"): InstanceSettings {
  const r = loadConfigText(text, "t.conf", { configId: "x" });
  const inst = r.config.vrrp_instance.find((i) => i.header === name);
  assert(inst !== undefined, `no instance ${name}`);
  return settingsFromConfig(inst, effectiveGlobals(r.config));
}

const STRICT = `
global_defs {
  vrrp_strict
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 200
  garp_lower_prio_repeat 3
  higher_prio_send_advert
  virtual_ipaddress {
    10.0.0.100/24
  }
}
`;

Deno.test("strict mode: a master neither answers nor re-GARPs lower-priority adverts, and drops VIP traffic", () => {
  const sim = new Sim(fromConfig(STRICT));
  sim.start();
  const up = sim.advance(3_218_750);
  assertEquals(brief(up).slice(0, 2), ["advert 200", "add_vips no_accept"]);
  assertEquals(brief(sim.advert(LOWER_ADDR, 100, 4 * S)), ["notify MASTER_RX_LOWER_PRI 200"]);
  // higher_prio_send_advert is not allowed in strict mode.
  assertEquals(sent(sim.advert(HIGHER_ADDR, 250, 5 * S)), []);
  assertEquals(sim.st, "BACKUP");
});

Deno.test("strict mode: the owner ignores every advert", () => {
  const sim = new Sim(fromConfig(STRICT.replace("priority 200", "priority 255")));
  sim.start();
  assertEquals(sim.st, "MASTER");
  assertEquals(sim.advert(HIGHER_ADDR, 255, 500_000), []);
});

Deno.test("accept mode: VIPs go in accepting traffic by default and blocked with no_accept", () => {
  const acc = sim0();
  acc.start();
  assert(brief(acc.advance(3_609_375)).includes("add_vips"), "add_vips with accept expected");
  const noAcc = sim0({ accept: false });
  noAcc.start();
  assert(brief(noAcc.advance(3_609_375)).includes("add_vips no_accept"), "no_accept expected");
});

// ---- shutdown (§3.8) ----

Deno.test("shutdown: a master resigns with priority 0, removes its VIPs and notifies STOP", () => {
  const sim = master();
  assertEquals(brief(sim.send({ type: "shutdown", release: true }, 4 * S), true), [
    "advert 0",
    "remove_vips",
    "info: (VI_1) Entering STOP STATE",
    "notify STOP 100",
    "cancel advert",
    "cancel garp_delay",
  ]);
  assertEquals(sim.advert(HIGHER_ADDR, 200, 5 * S), []);
  assertEquals(sim.send({ type: "shutdown", release: true }), []);
});

Deno.test("shutdown with --dont-release-vrrp keeps the VIPs and sends no priority 0", () => {
  const sim = master();
  assertEquals(brief(sim.send({ type: "shutdown", release: false }, 4 * S)), [
    "notify STOP 100",
    "cancel advert",
    "cancel garp_delay",
  ]);
});

Deno.test("shutdown: a backup just stops", () => {
  const sim = sim0();
  sim.start();
  assertEquals(brief(sim.send({ type: "shutdown", release: true }, S)), [
    "notify STOP 100",
    "cancel master_down",
  ]);
  assertEquals(sim.st, "STOP");
});

// ---- determinism and replay safety ----

Deno.test("a timer event that is not armed or not yet due is ignored", () => {
  const sim = sim0();
  sim.start();
  sim.advert(HIGHER_ADDR, 200, S);
  sim.now = 3_609_375; // the first deadline, since moved to 4.609375 s
  const before = JSON.stringify(sim.state);
  assertEquals(sim.deliver({ type: "timer", timer: "master_down" }), []);
  assertEquals(sim.deliver({ type: "timer", timer: "advert" }), []);
  assertEquals(JSON.stringify(sim.state), before);
});

Deno.test("step does not modify its input and the state survives a JSON round trip", () => {
  const a = master({ garp: { masterRefreshUs: 3 * S } });
  const frozen = JSON.stringify(a.state);
  const events: Array<[FsmEvent, number]> = [
    [{ type: "advert", from: LOWER_ADDR, priority: 50, advertIntUs: S }, 4 * S],
    [{ type: "trackers", trackers: [up("x", -10, false)] }, 5 * S],
    [{ type: "timer", timer: "advert" }, 5 * S],
    [{ type: "advert", from: HIGHER_ADDR, priority: 200, advertIntUs: S }, 6 * S],
  ];
  let direct = a.state;
  let viaJson = JSON.parse(JSON.stringify(a.state)) as FsmState;
  for (const [e, t] of events) {
    const r1 = step(direct, e, t);
    const r2 = step(viaJson, e, t);
    assertEquals(r2.actions, r1.actions);
    direct = r1.state;
    viaJson = JSON.parse(JSON.stringify(r2.state)) as FsmState;
  }
  assertEquals(JSON.stringify(a.state), frozen);
  assertEquals(viaJson, JSON.parse(JSON.stringify(direct)));
});
