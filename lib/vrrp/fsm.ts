/**
 * The VRRP state machine of one instance, as keepalived runs it (spec/vrrp.md §3.1–3.11,
 * §3.14, §3.15, §3.17–3.19): INIT, BACKUP, MASTER, FAULT and STOP; preemption,
 * priority-0 takeover, the address owner and rogue owners, GARP/NA bursts, start-up delay
 * and `timer_expired_backup`.
 *
 * `step(state, event, nowUs)` is pure: everything the instance learns arrives as an
 * event with the current monotonic time, and everything it wants done comes back as a
 * list of actions (send an advert, add or remove the VIPs, send GARPs, notify, log, arm
 * or cancel a timer at an absolute time). The state is plain JSON data, so a recorded
 * event list replays to the same actions. States are values: `step` never modifies its
 * input and shares what did not change (the settings, untouched arrays and objects) with
 * the state it returns, so neither may be modified afterwards. It must not do I/O, read
 * clocks, arm timers, parse packets (adverts arrive validated, spec §1.11) or know about
 * other instances — sync groups (§3.12) and reloads (§3.8) belong to a layer above that
 * feeds it events.
 */
import { compareBytes, parseIp } from "../net/ipaddr.ts";
import {
  computePriority,
  MAX_NON_OWNER_PRIORITY,
  OWNER_PRIORITY,
  type Priority,
  skewPriority,
  type TrackerInput,
} from "./priority.ts";
import {
  formatUs,
  lateWakeSilenceUs,
  masterDownIntervalUs,
  skewUs,
  startupDelayUs,
  type VrrpVersion,
} from "./timers.ts";

// ---- settings ----

/** GARP / unsolicited NA timing of an instance (§3.11); times in µs. */
export interface GarpSettings {
  /** Delay of the second burst after becoming MASTER; 0 = no second burst. */
  masterDelayUs: number;
  /** Rounds per burst on becoming MASTER (≥ 1). */
  masterRepeat: number;
  /** Period of refresh bursts while MASTER; 0 = off. */
  masterRefreshUs: number;
  /** Rounds per refresh burst. */
  masterRefreshRepeat: number;
  /** Delay of the second burst after a lower-priority advert; 0 = none. */
  lowerPrioDelayUs: number;
  /** Rounds sent when a lower-priority advert arrives at the MASTER; 0 = off. */
  lowerPrioRepeat: number;
}

/**
 * The effective settings of one instance, as the FSM needs them (built from the config
 * model by lib/vrrp/settings.ts, with global_defs and strict mode already applied).
 */
export interface InstanceSettings {
  /** Instance name, used in log lines as `(NAME)`. */
  name: string;
  vrid: number;
  version: VrrpVersion;
  family: 4 | 6;
  /** Base priority 1–255; 255 is the address owner. */
  priority: number;
  /** Configured `state`: the state it wants at start (only the owner acts on MASTER). */
  initialState: "MASTER" | "BACKUP";
  /** Local advertisement interval in µs, already in the version's unit (§1.9). */
  advertIntUs: number;
  /** Adverts missed before the master is down (1–100, §3.2). */
  downTimerAdverts: number;
  nopreempt: boolean;
  /** `preempt_delay` in µs; 0 = off. */
  preemptDelayUs: number;
  /** Accept mode (§3.19): false installs the no-accept firewall rules with the VIPs. */
  accept: boolean;
  lowerPrioNoAdvert: boolean;
  higherPrioSendAdvert: boolean;
  /** The owner ignores every advert while at priority 255 (§1.11 check 16). */
  ownerIgnoreAdverts: boolean;
  /** `dont_track_primary`: the own interface going down does not fault the instance. */
  dontTrackPrimary: boolean;
  garp: GarpSettings;
  /** Whether there is any VIP or eVIP to announce (false with `no_virtual_ipaddress`). */
  hasAddresses: boolean;
  /** Unicast peers are configured. */
  unicast: boolean;
  /** An interface is configured (unicast instances may have none). */
  hasInterface: boolean;
  /** `timer_expired_backup P`: the other routers' highest priority, or null when off. */
  timerExpiredBackup: number | null;
  /** Report effective priority changes as MASTER_PRIORITY / BACKUP_PRIORITY. */
  notifyPriorityChanges: boolean;
  /** global `vrrp_startup_delay` in µs. */
  startupDelayUs: number;
  /** global `vrrp_delay_after_boot` in µs (measured from boot). */
  delayAfterBootUs: number;
}

// ---- state ----

/** The instance states the FSM can be in (§3.1). DELETED is a reload's business. */
export type VrrpState = "INIT" | "BACKUP" | "MASTER" | "FAULT" | "STOP";

/** The timers an instance can have armed; at most one of each. */
export type TimerId =
  | "advert"
  | "master_down"
  | "garp_delay"
  | "garp_refresh"
  | "garp_lower_prio"
  | "rogue";

/** Every timer, in the order schedule/cancel actions are listed. */
export const TIMER_IDS: readonly TimerId[] = [
  "advert",
  "master_down",
  "garp_delay",
  "garp_refresh",
  "garp_lower_prio",
  "rogue",
];

/** A second address owner seen by a MASTER owner with a higher address (§3.9). */
export interface RogueOwner {
  from: string;
  /** Own adverts still to send before the watch timer starts; 0 = watching. */
  advertsLeft: number;
  /** The rogue's advertised interval, µs. */
  intervalUs: number;
}

/**
 * Everything the FSM remembers about one instance: plain JSON data, treated as immutable
 * (successive states share unchanged parts, `settings` always).
 */
export interface FsmState {
  settings: InstanceSettings;
  state: VrrpState;
  /** The state it would be in ignoring faults (and, later, sync groups). */
  wantState: "MASTER" | "BACKUP";
  interfaceUp: boolean;
  /** Own source address (configured or the interface's primary); null = none. */
  sourceAddress: string | null;
  trackers: TrackerInput[];
  /** Other fault reasons set by `fault` events, sorted. */
  faults: string[];
  /** The owner lowered itself to 254 after a rogue owner (§3.9). */
  ownerDemoted: boolean;
  effectivePriority: number;
  /** Interval used for skew and master-down: learnt from the master in VRRPv3 (§3.2). */
  masterAdverIntUs: number;
  masterAddress: string | null;
  masterPriority: number | null;
  /** When a pending `preempt_delay` lets lower-priority adverts be ignored again. */
  preemptAtUs: number | null;
  /** End of the start-up delay; adverts before it are ignored (§3.15). */
  startupUntilUs: number | null;
  /** When the last non-zero-priority advert was sent. */
  lastAdvertUs: number | null;
  rogue: RogueOwner | null;
  /** Armed timers: absolute deadlines in µs of the caller's monotonic clock. */
  timers: Partial<Record<TimerId, number>>;
}

// ---- events ----

/** The inputs of the FSM. */
export type FsmEvent =
  /**
   * Evaluate the instance for the first time (§3.3) with what the daemon observed:
   * `uptimeUs` for `vrrp_delay_after_boot`, the own interface state, the source
   * address and the trackers.
   */
  | {
    type: "start";
    uptimeUs: number;
    interfaceUp: boolean;
    sourceAddress: string | null;
    trackers?: TrackerInput[];
  }
  /** A received advert that passed every check of §1.11 (priority 0–255). */
  | { type: "advert"; from: string; priority: number; advertIntUs: number }
  /** An armed timer reached its deadline. */
  | { type: "timer"; timer: TimerId }
  /** The own interface (or VMAC base) went up or down (§3.7). */
  | { type: "interface"; up: boolean }
  /** The source address changed; null = the instance has none (FAULT). */
  | { type: "source_address"; address: string | null }
  /** New tracker inputs (the whole list). */
  | { type: "trackers"; trackers: TrackerInput[] }
  /** Any other fault condition set or cleared (VIP interface down, bind failure, …). */
  | { type: "fault"; reason: string; active: boolean }
  /**
   * A VIP, eVIP, virtual route or rule this instance installed was deleted by someone else
   * (§3.17; `what` names it). A MASTER resigns and takes over again, installing it anew.
   */
  | { type: "lost_object"; what: string }
  /** The event loop woke later than the `timer_expired_backup` threshold (§3.14). */
  | { type: "late_wakeup" }
  /** The daemon is stopping; `release` false with `--dont-release-vrrp` (§3.8). */
  | { type: "shutdown"; release: boolean };

// ---- actions ----

/** Notification states (§5.1, §5.2). */
export type NotifyState =
  | "MASTER"
  | "BACKUP"
  | "FAULT"
  | "STOP"
  | "MASTER_RX_LOWER_PRI"
  | "MASTER_PRIORITY"
  | "BACKUP_PRIORITY";

/** Log levels, as lib/runtime/log.ts has them. */
export type LogLevel = "detail" | "info" | "warn" | "error";

/** Why a GARP/NA burst is sent (§3.11). */
export type GarpReason =
  | "master"
  | "master_delay"
  | "master_refresh"
  | "lower_prio"
  | "lower_prio_delay";

/** What the daemon must do, in order. */
export type FsmAction =
  /** Send one advert now; priority 0 means "resigning" (`pri_zero_sent`). */
  | { type: "send_advert"; priority: number }
  /**
   * Install, in order, the no-accept firewall rules (when `accept` is false), VIPs,
   * eVIPs, virtual routes and virtual rules (§3.6, §3.17, §3.19).
   */
  | { type: "add_vips"; accept: boolean }
  /** Remove virtual rules, routes, queued GARPs, VIPs, eVIPs and firewall rules. */
  | { type: "remove_vips" }
  /** Send `rounds` rounds of GARP (IPv4) / unsolicited NA (IPv6) for every VIP and eVIP. */
  | { type: "garp"; rounds: number; reason: GarpReason }
  /** Send one GARP/NA for the own source address (unicast instance leaving FAULT). */
  | { type: "garp_source" }
  /**
   * Notify: MASTER/BACKUP/FAULT/STOP run the state's script, the generic `notify`
   * (`INSTANCE NAME STATE PRIORITY`) and write the FIFOs; MASTER_RX_LOWER_PRI runs
   * `notify_master_rx_lower_pri` and writes the FIFOs; *_PRIORITY only the FIFOs.
   */
  | { type: "notify"; state: NotifyState; priority: number }
  /** Arm (or re-arm) a timer at an absolute time; then send a `timer` event. */
  | { type: "schedule"; timer: TimerId; atUs: number }
  /** Disarm a timer. */
  | { type: "cancel"; timer: TimerId }
  /** A log line, already prefixed with `(NAME) `. */
  | { type: "log"; level: LogLevel; message: string };

/** The outcome of one step. */
export interface StepResult {
  state: FsmState;
  actions: FsmAction[];
}

// ---- public helpers ----

/** The state of an instance before `start`: INIT, nothing armed. */
export function initialState(settings: InstanceSettings): FsmState {
  return {
    settings: structuredClone(settings),
    state: "INIT",
    wantState: settings.initialState,
    interfaceUp: false,
    sourceAddress: null,
    trackers: [],
    faults: [],
    ownerDemoted: false,
    effectivePriority: computePriority(settings.priority, []).effective,
    masterAdverIntUs: settings.advertIntUs,
    masterAddress: null,
    masterPriority: null,
    preemptAtUs: null,
    startupUntilUs: null,
    lastAdvertUs: null,
    rogue: null,
    timers: {},
  };
}

/** The instance's priorities from its settings, trackers and owner demotion (§3.9). */
export function priorityOf(state: FsmState): Priority {
  return computePriority(state.settings.priority, state.trackers, state.ownerDemoted);
}

/** Why the instance is (or would be) in FAULT; empty when it may run (§3.7). */
export function faultReasons(state: FsmState): string[] {
  const r: string[] = [];
  if (!state.interfaceUp && !state.settings.dontTrackPrimary) r.push("interface down");
  if (state.sourceAddress === null) r.push("no source address");
  for (const name of priorityOf(state).faultedBy) r.push(`tracker ${name} failed`);
  r.push(...state.faults);
  return r;
}

/** The current Master_Down_Interval in µs (§3.2). */
export function masterDownUs(state: FsmState): number {
  return downUsAt(state, state.effectivePriority);
}

/** The earliest armed timer, for daemons that poll instead of arming one per id. */
export function nextDeadline(state: FsmState): { timer: TimerId; atUs: number } | null {
  let best: { timer: TimerId; atUs: number } | null = null;
  for (const id of TIMER_IDS) {
    const at = state.timers[id];
    if (at !== undefined && (best === null || at < best.atUs)) best = { timer: id, atUs: at };
  }
  return best;
}

/**
 * Numeric comparison of two addresses of one family (IPv4 as a 32-bit, IPv6 as a 128-bit
 * big-endian number), as the MASTER tie-break uses it (§3.5): −1, 0 or 1. Text that does
 * not parse compares as text, so the result stays deterministic.
 */
export function compareAddresses(a: string, b: string): -1 | 0 | 1 {
  const x = parseIp(a);
  const y = parseIp(b);
  if (x === undefined || y === undefined || x.family !== y.family) {
    return a < b ? -1 : a > b ? 1 : 0;
  }
  return Math.sign(compareBytes(x.bytes, y.bytes)) as -1 | 0 | 1;
}

/**
 * Advance the instance by one event at `nowUs` (monotonic µs). Returns the new state and
 * the actions to perform in order; schedule/cancel actions come last, one per timer whose
 * deadline changed. A `timer` event for a timer that is not armed, or before its
 * deadline, is stale and ignored (the input state comes back as is). The input state is
 * not modified; the result shares every part that did not change with it (copy on write:
 * adverts and timers arrive many times a second per instance, so a step copies only the
 * top-level fields and whatever it changes).
 *
 * @example
 * ```ts
 * import { defaultSettings } from "./settings.ts";
 * const s0 = initialState(defaultSettings("VI_1", 51));
 * const start = { type: "start", uptimeUs: 600e6, interfaceUp: true, sourceAddress: "10.0.0.2" };
 * const r = step(s0, start as FsmEvent, 0);
 * // r.state.state === "BACKUP"; the last action arms master_down at 3_609_375 µs
 * const r2 = step(r.state, { type: "timer", timer: "master_down" }, 3_609_375);
 * // r2.state.state === "MASTER"; r2.actions begins with a log line, then send_advert 100
 * ```
 */
export function step(state: FsmState, event: FsmEvent, nowUs: number): StepResult {
  let fired: TimerId | null = null;
  if (event.type === "timer") {
    const at = state.timers[event.timer];
    if (at === undefined || nowUs < at) return { state, actions: [] };
    fired = event.timer;
  }
  const run = new Step({ ...state }, nowUs);
  if (fired !== null) run.disarm(fired);
  run.handle(event);
  const after = run.s.timers;
  if (after !== state.timers) {
    // The fired timer counts as already gone: re-arming it is a schedule, not a no-op.
    for (const id of TIMER_IDS) {
      const was = id === fired ? undefined : state.timers[id];
      const is = after[id];
      if (is === undefined && was !== undefined) run.out.push({ type: "cancel", timer: id });
      if (is !== undefined && is !== was) run.out.push({ type: "schedule", timer: id, atUs: is });
    }
  }
  return { state: run.s, actions: run.out };
}

// ---- internals ----

function downUsAt(state: FsmState, effective: number): number {
  const c = state.settings;
  return masterDownIntervalUs(
    c.version,
    skewPriority(c.priority, effective),
    state.masterAdverIntUs,
    c.downTimerAdverts,
  );
}

/**
 * One step in progress: the draft state, the clock and the actions so far. The draft is a
 * shallow copy of the input; nested data (`timers`, `faults`, `trackers`, `rogue`) is
 * replaced, never modified, so the input stays intact.
 */
class Step {
  readonly out: FsmAction[] = [];
  /** Whether `s.timers` is already this step's own copy. */
  #timersOwned = false;

  constructor(readonly s: FsmState, readonly now: number) {}

  get c(): InstanceSettings {
    return this.s.settings;
  }

  handle(e: FsmEvent): void {
    switch (e.type) {
      case "start":
        return this.start(e);
      case "advert":
        return this.advert(e);
      case "timer":
        return this.timer(e.timer);
      case "interface":
        this.s.interfaceUp = e.up;
        return this.reconcileFaults();
      case "source_address":
        this.s.sourceAddress = e.address;
        return this.reconcileFaults();
      case "trackers":
        this.s.trackers = structuredClone(e.trackers);
        this.refreshPriority();
        return this.reconcileFaults();
      case "fault":
        this.setFault(e.reason, e.active);
        return this.reconcileFaults();
      case "lost_object":
        return this.lostObject(e.what);
      case "late_wakeup":
        return this.lateWakeup();
      case "shutdown":
        return this.shutdown(e.release);
    }
  }

  // -- helpers --

  log(level: LogLevel, message: string): void {
    this.out.push({ type: "log", level, message: `(${this.c.name}) ${message}` });
  }

  notify(state: NotifyState): void {
    this.out.push({ type: "notify", state, priority: this.s.effectivePriority });
  }

  sendAdvert(priority: number): void {
    this.out.push({ type: "send_advert", priority });
    if (priority > 0) this.s.lastAdvertUs = this.now;
  }

  garp(rounds: number, reason: GarpReason): void {
    if (this.c.hasAddresses && rounds > 0) this.out.push({ type: "garp", rounds, reason });
  }

  /** The draft's timers, copied from the input's on first write. */
  ownTimers(): Partial<Record<TimerId, number>> {
    if (!this.#timersOwned) {
      this.s.timers = { ...this.s.timers };
      this.#timersOwned = true;
    }
    return this.s.timers;
  }

  arm(id: TimerId, atUs: number): void {
    if (this.s.timers[id] !== atUs) this.ownTimers()[id] = atUs;
  }

  disarm(...ids: TimerId[]): void {
    const was = this.s.timers;
    if (!ids.some((id) => was[id] !== undefined)) return;
    // Rebuilt rather than `delete`d from: objects with deleted keys turn slow to copy.
    const kept: Partial<Record<TimerId, number>> = {};
    for (const id of TIMER_IDS) {
      const at = was[id];
      if (at !== undefined && !ids.includes(id)) kept[id] = at;
    }
    this.s.timers = kept;
    this.#timersOwned = true;
  }

  get isOwner(): boolean {
    return this.c.priority === OWNER_PRIORITY;
  }

  /** An owner configured to start as MASTER goes MASTER without waiting (§3.3, §3.7). */
  get ownerWantsMaster(): boolean {
    return this.isOwner && this.c.initialState === "MASTER";
  }

  get inStartupDelay(): boolean {
    return this.s.startupUntilUs !== null && this.now < this.s.startupUntilUs;
  }

  /** Deadlines are counted from the end of the start-up delay while it runs (§3.15). */
  get base(): number {
    return this.inStartupDelay ? this.s.startupUntilUs as number : this.now;
  }

  get downUs(): number {
    return masterDownUs(this.s);
  }

  get skewUs(): number {
    const c = this.c;
    return skewUs(
      c.version,
      skewPriority(c.priority, this.s.effectivePriority),
      this.s.masterAdverIntUs,
    );
  }

  setFault(reason: string, active: boolean): void {
    const set = new Set(this.s.faults);
    if (active) set.add(reason);
    else set.delete(reason);
    this.s.faults = [...set].sort();
  }

  /** Recompute the effective priority; log, notify and shift a BACKUP's deadline (§3.9). */
  refreshPriority(): void {
    const s = this.s;
    const old = s.effectivePriority;
    const next = priorityOf(s).effective;
    if (next === old) return;
    s.effectivePriority = next;
    if (s.state === "INIT" || s.state === "STOP") return;
    const due = s.timers.master_down;
    if (s.state === "BACKUP" && due !== undefined) {
      const shifted = due + downUsAt(s, next) - downUsAt(s, old);
      this.arm("master_down", Math.max(this.now, shifted));
    }
    this.log("info", `Changing effective priority from ${old} to ${next}`);
    if (this.c.notifyPriorityChanges) {
      this.notify(s.state === "MASTER" ? "MASTER_PRIORITY" : "BACKUP_PRIORITY");
    }
  }

  /** Enter or leave FAULT when the set of fault reasons becomes non-empty or empty. */
  reconcileFaults(): void {
    const st = this.s.state;
    if (st === "INIT" || st === "STOP") return;
    const reasons = faultReasons(this.s);
    if (reasons.length > 0 && st !== "FAULT") this.enterFault(reasons);
    else if (reasons.length === 0 && st === "FAULT") this.leaveFault();
  }

  // -- transitions --

  /** §3.4/§3.5: BACKUP with the master-down timer at `deadline`. */
  enterBackup(deadline: number): void {
    const from = this.s.state;
    this.s.state = "BACKUP";
    this.s.rogue = null;
    this.s.preemptAtUs = null;
    this.disarm("advert", "garp_delay", "garp_refresh", "garp_lower_prio", "rogue");
    this.arm("master_down", deadline);
    this.log("info", "Entering BACKUP STATE");
    if (from === "MASTER") this.out.push({ type: "remove_vips" });
    this.notify("BACKUP");
  }

  /** §3.6. */
  becomeMaster(): void {
    const s = this.s;
    const c = this.c;
    s.state = "MASTER";
    s.wantState = "MASTER";
    s.rogue = null;
    s.preemptAtUs = null;
    s.masterAddress = null;
    s.masterPriority = null;
    this.disarm("master_down");
    // The advert goes first so that the old master can release the addresses.
    this.sendAdvert(s.effectivePriority);
    this.log("info", "Entering MASTER STATE");
    if (s.ownerDemoted) {
      s.ownerDemoted = false;
      this.refreshPriority();
    }
    this.out.push({ type: "add_vips", accept: c.accept });
    if (c.hasAddresses) {
      this.garp(c.garp.masterRepeat, "master");
      if (c.garp.masterDelayUs > 0) this.arm("garp_delay", this.now + c.garp.masterDelayUs);
      if (c.garp.masterRefreshUs > 0) {
        this.arm("garp_refresh", this.now + c.garp.masterDelayUs + c.garp.masterRefreshUs);
      }
    }
    this.notify("MASTER");
    this.arm("advert", this.now + c.advertIntUs);
  }

  /** §3.5 last row: a better master exists; follow it. */
  yieldTo(from: string, priority: number, advertIntUs: number): void {
    if (this.c.version === 3) this.s.masterAdverIntUs = advertIntUs;
    this.s.masterAddress = from;
    this.s.masterPriority = priority;
    this.s.wantState = "BACKUP";
    this.enterBackup(this.now + this.downUs);
  }

  /** §3.7. */
  enterFault(reasons: readonly string[]): void {
    const from = this.s.state;
    this.log("info", `Entering FAULT STATE (${reasons.join(", ")})`);
    if (from === "MASTER") {
      // [quirk] kept: keepalived resigns twice, before and after removing the addresses.
      this.sendAdvert(0);
      this.out.push({ type: "remove_vips" });
      this.sendAdvert(0);
    }
    this.s.state = "FAULT";
    this.s.rogue = null;
    this.s.preemptAtUs = null;
    this.disarm(...TIMER_IDS);
    this.notify("FAULT");
  }

  /** §3.7 "try_up_instance". */
  leaveFault(): void {
    const s = this.s;
    s.masterAdverIntUs = this.c.advertIntUs;
    s.masterAddress = null;
    s.masterPriority = null;
    if (this.ownerWantsMaster && !this.inStartupDelay) this.becomeMaster();
    else this.enterBackup(this.ownerWantsMaster ? this.base : this.base + this.downUs);
    if (this.c.unicast && this.c.hasInterface && !this.inStartupDelay) {
      this.out.push({ type: "garp_source" });
    }
  }

  // -- events --

  start(e: Extract<FsmEvent, { type: "start" }>): void {
    const s = this.s;
    const c = this.c;
    if (s.state !== "INIT") return;
    s.interfaceUp = e.interfaceUp;
    s.sourceAddress = e.sourceAddress;
    if (e.trackers !== undefined) s.trackers = structuredClone(e.trackers);
    s.effectivePriority = priorityOf(s).effective;
    s.masterAdverIntUs = c.advertIntUs;
    s.wantState = c.initialState;
    const delay = startupDelayUs(c.startupDelayUs, c.delayAfterBootUs, e.uptimeUs);
    if (delay > 0) {
      s.startupUntilUs = this.now + delay;
      this.log(
        "info",
        `Delaying start-up by ${
          formatUs(delay)
        } s: adverts are ignored and none are sent until then`,
      );
    }
    const reasons = faultReasons(s);
    const direct = reasons.length === 0 && this.ownerWantsMaster && !this.inStartupDelay;
    // §3.3 step 3: a clean slate for every instance not starting directly as MASTER.
    if (!direct) this.out.push({ type: "remove_vips" });
    if (reasons.length > 0) this.enterFault(reasons);
    else if (direct) this.becomeMaster();
    else this.enterBackup(this.ownerWantsMaster ? this.base : this.base + this.downUs);
  }

  timer(id: TimerId): void {
    const s = this.s;
    const c = this.c;
    switch (id) {
      case "master_down":
        if (s.state !== "BACKUP") return;
        this.log("info", "Master-down timer expired; taking over");
        return this.becomeMaster();
      case "advert":
        if (s.state !== "MASTER") return;
        this.sendAdvert(s.effectivePriority);
        this.arm("advert", this.now + c.advertIntUs);
        if (s.rogue !== null && s.rogue.advertsLeft > 0) {
          s.rogue = { ...s.rogue, advertsLeft: s.rogue.advertsLeft - 1 };
          if (s.rogue.advertsLeft === 0) {
            // §3.9: watch for 1.2 × the longer interval.
            const watch = Math.floor((Math.max(s.rogue.intervalUs, c.advertIntUs) * 6) / 5);
            this.arm("rogue", this.now + watch);
          }
        }
        return;
      case "garp_delay":
        if (s.state === "MASTER") this.garp(c.garp.masterRepeat, "master_delay");
        return;
      case "garp_refresh":
        if (s.state !== "MASTER") return;
        this.garp(c.garp.masterRefreshRepeat, "master_refresh");
        this.arm("garp_refresh", this.now + c.garp.masterRefreshUs);
        return;
      case "garp_lower_prio":
        if (s.state === "MASTER") this.garp(c.garp.lowerPrioRepeat, "lower_prio_delay");
        return;
      case "rogue":
        if (s.state !== "MASTER" || s.rogue === null) return;
        this.log(
          "info",
          `The other address owner ${s.rogue.from} appears to have stopped advertising; staying MASTER`,
        );
        s.rogue = null;
        return;
    }
  }

  /**
   * §3.17, as keepalived does it: a MASTER whose VIP, eVIP, route or rule was deleted
   * resigns (a priority-0 advert, then its addresses go), enters BACKUP and arms the
   * master-down timer at Skew_Time only, so that unless a better router answers it takes
   * over again at once and installs everything anew. Other states have nothing installed.
   */
  lostObject(what: string): void {
    if (this.s.state !== "MASTER") return;
    this.log("info", `${what} was deleted by someone else; resigning to install it again`);
    this.sendAdvert(0);
    this.s.wantState = "BACKUP";
    this.enterBackup(this.now + this.skewUs);
  }

  advert(e: Extract<FsmEvent, { type: "advert" }>): void {
    const s = this.s;
    // §1.11: INIT and FAULT ignore adverts; nothing is heard during the start-up delay.
    if (s.state !== "BACKUP" && s.state !== "MASTER") return;
    if (this.inStartupDelay) return;
    // §1.11 check 16, which needs the effective priority.
    if (this.c.ownerIgnoreAdverts && s.effectivePriority === OWNER_PRIORITY) return;
    if (s.state === "BACKUP") this.backupAdvert(e);
    else this.masterAdvert(e);
  }

  /** §3.4. */
  backupAdvert(e: Extract<FsmEvent, { type: "advert" }>): void {
    const s = this.s;
    const c = this.c;
    const change = e.from !== s.masterAddress;
    if (s.ownerDemoted && (change || e.priority !== OWNER_PRIORITY)) {
      s.ownerDemoted = false;
      this.refreshPriority();
    }
    if (e.priority === 0) {
      this.arm("master_down", this.now + this.skewUs);
      this.log(
        "info",
        `Backup received priority 0 advert from ${e.from}; taking over in ${
          formatUs(this.skewUs)
        } s (skew time)`,
      );
      return;
    }
    const own = s.effectivePriority;
    const delayPending = c.preemptDelayUs > 0 &&
      (s.preemptAtUs === null || this.now < s.preemptAtUs);
    s.masterAddress = e.from;
    s.masterPriority = e.priority;
    if (!c.nopreempt && e.priority < own && !delayPending) {
      this.log(
        "detail",
        `Received lower priority advert from ${e.from} (priority ${e.priority}, ours ${own}) - discarding`,
      );
      return;
    }
    if (c.version === 3 && e.advertIntUs !== s.masterAdverIntUs) {
      this.log(
        "info",
        `Using the master's advert interval ${formatUs(e.advertIntUs)} s for the master-down timer`,
      );
      s.masterAdverIntUs = e.advertIntUs;
    }
    if (e.priority >= own) s.preemptAtUs = null;
    else if (c.preemptDelayUs > 0 && s.preemptAtUs === null) {
      s.preemptAtUs = this.now + c.preemptDelayUs;
      this.log(
        "info",
        `Lower priority master ${e.from} (priority ${e.priority}, ours ${own}); preempting after preempt_delay ${
          formatUs(c.preemptDelayUs)
        } s`,
      );
    }
    s.wantState = "BACKUP";
    this.arm("master_down", this.now + this.downUs);
  }

  /** §3.5 table. */
  masterAdvert(e: Extract<FsmEvent, { type: "advert" }>): void {
    const s = this.s;
    const c = this.c;
    const own = s.effectivePriority;
    if (e.priority === 0) {
      this.log("info", `Master received priority 0 advert from ${e.from}; sending an advert`);
      this.sendAdvert(own);
      this.arm("advert", this.now + c.advertIntUs);
      return;
    }
    // The address tie-break (§3.5) only matters between equal priorities.
    const cmp = e.priority !== own
      ? 0
      : s.sourceAddress === null
      ? 1
      : compareAddresses(e.from, s.sourceAddress);
    const higher = e.priority > own || (e.priority === own && cmp > 0);
    if (higher && c.higherPrioSendAdvert) this.sendAdvert(own);
    if (e.priority === own && cmp === 0) {
      this.log(
        "warn",
        `Received an advert with our own address ${e.from} and our priority ${own} - ignoring it`,
      );
      return;
    }
    if (e.priority === own && own === OWNER_PRIORITY) return this.rogueOwner(e, cmp);
    if (higher) {
      this.log(
        "info",
        `Master received advert from ${e.from} with higher priority ${e.priority}, ours ${own}`,
      );
      return this.yieldTo(e.from, e.priority, e.advertIntUs);
    }
    const answer = c.lowerPrioNoAdvert ? "" : "; sending an advert";
    this.log(
      "info",
      `Master received lower priority advert from ${e.from} (priority ${e.priority}, ours ${own}); staying MASTER${answer}`,
    );
    if (!c.lowerPrioNoAdvert) {
      this.sendAdvert(own);
      this.arm("advert", this.now + c.advertIntUs);
    }
    if (c.garp.lowerPrioRepeat > 0 && c.hasAddresses) {
      this.garp(c.garp.lowerPrioRepeat, "lower_prio");
      if (c.garp.lowerPrioDelayUs > 0) {
        this.arm("garp_lower_prio", this.now + c.garp.lowerPrioDelayUs);
      }
    }
    this.notify("MASTER_RX_LOWER_PRI");
  }

  /** §3.9 rogue owner: a MASTER at 255 hears another 255. */
  rogueOwner(e: Extract<FsmEvent, { type: "advert" }>, cmp: -1 | 0 | 1): void {
    const s = this.s;
    const error =
      `CONFIGURATION ERROR: this router and ${e.from} are both configured as address owner (priority 255)`;
    if (cmp > 0) {
      this.log(
        "error",
        `${error}; stepping down, its address is higher - give only one router priority 255`,
      );
      return this.yieldTo(e.from, e.priority, e.advertIntUs);
    }
    if (s.rogue === null) {
      this.log(
        "error",
        `${error}; staying MASTER, our address is higher - give only one router priority 255`,
      );
      s.rogue = { from: e.from, advertsLeft: 2, intervalUs: e.advertIntUs };
      return;
    }
    if (s.rogue.advertsLeft > 0) {
      s.rogue = { ...s.rogue, intervalUs: Math.max(s.rogue.intervalUs, e.advertIntUs) };
      return;
    }
    this.log(
      "warn",
      `The other address owner ${e.from} is still advertising; lowering our priority to ${MAX_NON_OWNER_PRIORITY} and stepping down`,
    );
    s.ownerDemoted = true;
    this.refreshPriority();
    this.yieldTo(e.from, e.priority, e.advertIntUs);
  }

  /** §3.14. */
  lateWakeup(): void {
    const s = this.s;
    const c = this.c;
    if (s.state !== "MASTER" || c.timerExpiredBackup === null || s.lastAdvertUs === null) return;
    const silent = this.now - s.lastAdvertUs;
    const limit = lateWakeSilenceUs(c.version, c.advertIntUs, c.timerExpiredBackup);
    if (silent <= limit) return;
    this.log(
      "warn",
      `Our last advert was sent ${formatUs(silent)} s ago (limit ${
        formatUs(limit)
      } s); another router has probably taken over - stepping down (timer_expired_backup)`,
    );
    s.wantState = "BACKUP";
    this.enterBackup(this.now + this.downUs);
  }

  /** §3.8. */
  shutdown(release: boolean): void {
    const s = this.s;
    if (s.state === "STOP") return;
    if (s.state === "MASTER" && release) {
      this.sendAdvert(0);
      this.out.push({ type: "remove_vips" });
    }
    this.log("info", "Entering STOP STATE");
    s.state = "STOP";
    s.rogue = null;
    this.disarm(...TIMER_IDS);
    this.notify("STOP");
  }
}
