/**
 * The live state of the VRRP engine as a documented, stable JSON object: what `kad dump
 * --json` prints (docs/dump.md; JSON Schema in docs/dump-schema.json). One entry per
 * instance — state and wantstate with keepalived's codes (spec/vrrp.md §3.1), priorities,
 * the master, intervals and armed timers, addresses and whether they are installed and
 * present, trackers, counters (§6.4 names), authentication — plus engine-wide counters.
 *
 * Pure: a function of what the engine reports about each instance (`InstanceSource`) and a
 * clock reading (monotonic µs and the wall clock at the same moment). Timers are given
 * relative to that moment, transitions as wall-clock times. It must not read clocks, touch
 * the engine, or put any secret in its output (passwords and keys never reach it: the
 * `auth` member carries types, key ids and counters only).
 */
import type { TrackKind } from "../config/schema/vrrp_track.ts";
import { virtualAddressLine } from "../config/schema/vrrp_address.ts";
import { virtualRouteLine } from "../config/schema/vrrp_route.ts";
import { virtualRuleLine } from "../config/schema/vrrp_rule.ts";
import {
  AUTH_COUNTERS,
  type CounterName,
  SNMP_ONLY_COUNTERS,
  STATS_COUNTERS,
  type VrrpCounters,
} from "./counters.ts";
import {
  faultReasons,
  type FsmState,
  masterDownUs,
  nextDeadline,
  priorityOf,
  TIMER_IDS,
  type TimerId,
  type VrrpState,
} from "./fsm.ts";
import type { AuthHmac } from "./auth_hmac.ts";
import type { InstanceErrors, InstanceSpec } from "./instance.ts";
import { trackerEffect } from "./priority.ts";

/** The `format` member of every dump document. */
export const DUMP_FORMAT = "kad-dump";
/** The dump format's version: bumped only for changes that can break a reader (docs/dump.md). */
export const DUMP_VERSION = 1;

/** keepalived's numeric state codes (§3.1), as its JSON `state`/`wantstate` carry them. */
export const STATE_CODES: Readonly<Record<VrrpState | "DELETED", number>> = {
  INIT: 0,
  BACKUP: 1,
  MASTER: 2,
  FAULT: 3,
  DELETED: 97,
  STOP: 98,
};

// ---- inputs ----

/** The authentication kinds of an instance (spec/vrrp.md §2). */
export type AuthType = "none" | "pass" | "ah" | "hmac";

/**
 * What an instance's authentication layer reports at run time. `hmac` is filled from the
 * instance's auth_hmac key ring and replay marks (§2.3.11–2.3.12); never key material.
 */
export interface AuthSource {
  readonly type: AuthType;
  readonly hmac?: {
    readonly mode: "enforce" | "permissive" | "receive-only";
    readonly antiReplay: "time" | "monotonic";
    /** `time_window`, seconds (meaningful with `antiReplay` "time"). */
    readonly timeWindowS: number;
    /** The signing key's id; undefined when none signs. */
    readonly activeKey: number | undefined;
    /** Every configured key id, ascending. */
    readonly keyIds: readonly number[];
    /** Each sender seen: the key id of its last accepted advert and when (monotonic µs). */
    readonly peers: ReadonlyArray<{ address: string; keyId: number; lastSeenUs: number }>;
  };
}

/**
 * The authentication of an instance: what its description says, and with auth_hmac what its
 * extension reports (`Instance.authHmac`: the key ring's ids and the senders whose adverts
 * verified, lib/vrrp/auth_hmac.ts `peers()`).
 */
export function authSourceOf(spec: InstanceSpec, hmac?: AuthHmac): AuthSource {
  if (hmac !== undefined) {
    const peers: Array<{ address: string; keyId: number; lastSeenUs: number }> = [];
    for (const p of hmac.peers()) {
      if (p.keyId === undefined || p.verifiedAtUs === undefined) continue;
      peers.push({ address: p.address, keyId: p.keyId, lastSeenUs: p.verifiedAtUs });
    }
    const ring = hmac.ring.snapshot();
    return {
      type: "hmac",
      hmac: {
        mode: hmac.settings.mode,
        antiReplay: hmac.settings.antiReplay,
        timeWindowS: hmac.settings.timeWindowS,
        activeKey: ring.activeKey,
        keyIds: ring.keyIds,
        peers,
      },
    };
  }
  if (spec.authHmac !== undefined) return { type: "hmac" };
  if (spec.authAh !== undefined) return { type: "ah" };
  return { type: spec.authPass === undefined ? "none" : "pass" };
}

/** What the engine knows about one instance. */
export interface InstanceSource {
  readonly spec: InstanceSpec;
  readonly fsm: Readonly<FsmState>;
  readonly counters: Readonly<VrrpCounters>;
  readonly errors: Readonly<InstanceErrors>;
  /** The VIPs, eVIPs, routes and rules are installed (MASTER: added, not removed since). */
  readonly installed: boolean;
  /**
   * For each of `spec.advertised` then `spec.excluded`: whether the kernel has the address
   * on its interface now (from the netlink monitor).
   */
  readonly present: readonly boolean[];
  /** When the state last changed (monotonic µs); null before the first change. */
  readonly lastTransitionUs: number | null;
  readonly auth: AuthSource;
}

/** One reading of the clocks: the monotonic clock the instances run on, and the wall clock. */
export interface Clock {
  readonly nowUs: number;
  readonly wallMs: number;
}

/** The process. */
export interface DaemonSource {
  readonly pid: number;
  readonly version: string;
  readonly configFile: string;
  readonly controlSocket: string | null;
  /** Wall-clock start time, ms since the epoch. */
  readonly startedAtMs: number;
}

/** Engine-wide counters (lib/vrrp/engine.ts EngineStats). */
export interface EngineCounters {
  readonly received: number;
  readonly truncated: number;
  readonly unknownVrid: number;
  readonly receiveErrors: number;
  readonly socketErrors: number;
  readonly lateWakeups: number;
}

/** The event loop's counters (lib/runtime/reactor.ts ReactorStats). */
export interface LoopCounters {
  readonly wakeups: number;
  readonly timersFired: number;
  readonly callbackErrors: number;
  readonly maxLatenessMs: number;
}

/** The control server's counters (lib/control/server.ts ControlStats). */
export interface ControlCounters {
  readonly connections: number;
  readonly refused: number;
  readonly requests: number;
  readonly errors: number;
  readonly dropped: number;
}

/** Everything a dump is made from. */
export interface DumpInput {
  readonly clock: Clock;
  readonly daemon: DaemonSource;
  readonly engine: EngineCounters;
  readonly loop: LoopCounters;
  readonly control: ControlCounters | null;
  readonly instances: readonly InstanceSource[];
}

// ---- outputs (docs/dump-schema.json describes the same shapes) ----

export interface DaemonDump {
  pid: number;
  kad_version: string;
  config_file: string;
  control_socket: string | null;
  started_at: string;
  uptime_ms: number;
}

export interface EngineDump {
  instances: number;
  received: number;
  truncated: number;
  unknown_vrid: number;
  receive_errors: number;
  socket_errors: number;
  late_wakeups: number;
  loop: { wakeups: number; timers_fired: number; callback_errors: number; max_lateness_ms: number };
  control: {
    connections: number;
    refused: number;
    requests: number;
    errors: number;
    dropped: number;
  } | null;
}

export interface AddressDump {
  address: string;
  prefix: number;
  dev: string;
  /** The configuration line, as check-config prints it. */
  text: string;
  /** The kernel has this address on `dev` now. */
  present: boolean;
}

export interface TrackerDump {
  kind: TrackKind;
  name: string;
  weight: number;
  reverse: boolean;
  /** Up (interface up, script OK, quorum, BFD up); null for a track file. */
  up: boolean | null;
  /** A track file's value; null for the others. */
  value: number | null;
  /** What it adds to the priority now. */
  effect: number;
  /** It puts the instance in FAULT now. */
  faulting: boolean;
}

export interface AuthDump {
  type: AuthType;
  /** Every authentication counter of the instance (§6.4). */
  outcomes: Record<AuthCounter, number>;
  mode?: "enforce" | "permissive" | "receive-only";
  anti_replay?: "time" | "monotonic";
  active_key?: number | null;
  keys?: number[];
  peers?: Array<{ address: string; key_id: number; last_seen_ms_ago: number }>;
}

export interface InstanceDump {
  name: string;
  vrid: number;
  version: 2 | 3;
  family: 4 | 6;
  state: VrrpState;
  state_code: number;
  wantstate: "MASTER" | "BACKUP";
  wantstate_code: number;
  faults: string[];
  priority: { base: number; effective: number; total: number };
  master: { address: string | null; priority: number | null; self: boolean };
  advert_interval_ms: number;
  master_advert_interval_ms: number;
  preempt: { enabled: boolean; delay_ms: number };
  timers: {
    master_down_interval_ms: number;
    next: { timer: TimerId; in_ms: number } | null;
    armed: Partial<Record<TimerId, number>>;
  };
  interface: { name: string | null; up: boolean };
  source_address: string | null;
  transport: { mode: "multicast" | "unicast"; group: string | null; peers: string[] };
  addresses: {
    installed: boolean;
    vips: AddressDump[];
    evips: AddressDump[];
    routes: string[];
    rules: string[];
  };
  trackers: TrackerDump[];
  counters: Record<CounterName, number>;
  errors: { send: number; addresses: number; announce: number };
  last_transition: string | null;
  last_transition_age_ms: number | null;
  auth: AuthDump;
}

/** `kad dump --json`: the whole state. */
export interface DumpDocument {
  format: typeof DUMP_FORMAT;
  version: typeof DUMP_VERSION;
  kind: "state";
  generated_at: string;
  daemon: DaemonDump;
  engine: EngineDump;
  instances: Record<string, InstanceDump>;
}

/** `kad dump --stats --json`: counters only. */
export interface StatsDocument {
  format: typeof DUMP_FORMAT;
  version: typeof DUMP_VERSION;
  kind: "stats";
  generated_at: string;
  daemon: DaemonDump;
  engine: EngineDump;
  instances: Record<
    string,
    {
      name: string;
      counters: Record<CounterName, number>;
      errors: { send: number; addresses: number; announce: number };
    }
  >;
}

export type AuthCounter = typeof AUTH_COUNTERS[number];

// ---- shaping ----

/** Microseconds to milliseconds, rounded to 0.001 ms. */
function ms(us: number): number {
  return Math.round(us) / 1000;
}

function iso(wallMs: number): string {
  return new Date(wallMs).toISOString();
}

/** The wall-clock time of a monotonic instant. */
function wallOf(clock: Clock, us: number): number {
  return clock.wallMs - (clock.nowUs - us) / 1000;
}

function daemonDump(d: DaemonSource, clock: Clock): DaemonDump {
  return {
    pid: d.pid,
    kad_version: d.version,
    config_file: d.configFile,
    control_socket: d.controlSocket,
    started_at: iso(d.startedAtMs),
    uptime_ms: Math.max(0, Math.round(clock.wallMs - d.startedAtMs)),
  };
}

function engineDump(input: DumpInput): EngineDump {
  const e = input.engine;
  const l = input.loop;
  const c = input.control;
  return {
    instances: input.instances.length,
    received: e.received,
    truncated: e.truncated,
    unknown_vrid: e.unknownVrid,
    receive_errors: e.receiveErrors,
    socket_errors: e.socketErrors,
    late_wakeups: e.lateWakeups,
    loop: {
      wakeups: l.wakeups,
      timers_fired: l.timersFired,
      callback_errors: l.callbackErrors,
      max_lateness_ms: Math.round(l.maxLatenessMs * 1000) / 1000,
    },
    control: c === null ? null : {
      connections: c.connections,
      refused: c.refused,
      requests: c.requests,
      errors: c.errors,
      dropped: c.dropped,
    },
  };
}

/** Every counter, printed ones first (§6.5 order), then the SNMP-only ones. */
export function countersDump(c: Readonly<VrrpCounters>): Record<CounterName, number> {
  const out = {} as Record<CounterName, number>;
  for (const k of STATS_COUNTERS) out[k] = c[k];
  for (const k of SNMP_ONLY_COUNTERS) out[k] = c[k];
  return out;
}

function authDump(src: InstanceSource, clock: Clock): AuthDump {
  const outcomes = {} as Record<AuthCounter, number>;
  for (const k of AUTH_COUNTERS) outcomes[k] = src.counters[k];
  const out: AuthDump = { type: src.auth.type, outcomes };
  const h = src.auth.hmac;
  if (h !== undefined) {
    out.mode = h.mode;
    out.anti_replay = h.antiReplay;
    out.active_key = h.activeKey ?? null;
    out.keys = [...h.keyIds];
    out.peers = h.peers.map((p) => ({
      address: p.address,
      key_id: p.keyId,
      last_seen_ms_ago: Math.max(0, ms(clock.nowUs - p.lastSeenUs)),
    }));
  }
  return out;
}

function addressesDump(src: InstanceSource): InstanceDump["addresses"] {
  const spec = src.spec;
  const dev = spec.interface ?? "";
  let i = 0;
  const one = (e: InstanceSpec["advertised"][number]): AddressDump => ({
    address: e.address,
    prefix: e.prefix,
    dev: e.dev ?? dev,
    text: virtualAddressLine.print(e).join(" "),
    present: src.present[i++] ?? false,
  });
  const vips = spec.advertised.map(one);
  const evips = spec.excluded.map(one);
  return {
    installed: src.installed,
    vips,
    evips,
    routes: spec.routes.map((r) => virtualRouteLine.print(r).join(" ")),
    rules: spec.rules.map((r) => virtualRuleLine.print(r).join(" ")),
  };
}

function trackersDump(src: InstanceSource): TrackerDump[] {
  return src.spec.trackers.map((t, i) => {
    const input = src.fsm.trackers[i];
    const effect = input === undefined ? { delta: 0, fault: false } : trackerEffect(input);
    return {
      kind: t.kind,
      name: t.name,
      weight: t.weight,
      reverse: t.reverse,
      up: input?.kind === "status" ? input.up : null,
      value: input?.kind === "value" ? input.value : null,
      effect: effect.delta,
      faulting: effect.fault,
    };
  });
}

/**
 * One instance's dump.
 *
 * @example
 * ```ts ignore
 * const d = instanceDump(source, { nowUs: 5_000_000, wallMs: Date.now() });
 * d.state; // "MASTER"
 * ```
 */
export function instanceDump(src: InstanceSource, clock: Clock): InstanceDump {
  const f = src.fsm;
  const spec = src.spec;
  const s = f.settings;
  const prio = priorityOf(f as FsmState);
  const self = f.state === "MASTER";
  const armed: Partial<Record<TimerId, number>> = {};
  for (const id of TIMER_IDS) {
    const at = f.timers[id];
    if (at !== undefined) armed[id] = ms(at - clock.nowUs);
  }
  const next = nextDeadline(f as FsmState);
  const unicast = spec.peers.length > 0;
  return {
    name: spec.name,
    vrid: spec.vrid,
    version: spec.version,
    family: spec.family,
    state: f.state,
    state_code: STATE_CODES[f.state],
    wantstate: f.wantState,
    wantstate_code: STATE_CODES[f.wantState],
    faults: f.state === "INIT" || f.state === "STOP" ? [] : faultReasons(f as FsmState),
    priority: { base: s.priority, effective: f.effectivePriority, total: prio.total },
    master: self
      ? { address: f.sourceAddress, priority: f.effectivePriority, self: true }
      : { address: f.masterAddress, priority: f.masterPriority, self: false },
    advert_interval_ms: ms(s.advertIntUs),
    master_advert_interval_ms: ms(f.masterAdverIntUs),
    preempt: { enabled: !s.nopreempt, delay_ms: ms(s.preemptDelayUs) },
    timers: {
      master_down_interval_ms: ms(masterDownUs(f as FsmState)),
      next: next === null ? null : { timer: next.timer, in_ms: ms(next.atUs - clock.nowUs) },
      armed,
    },
    interface: { name: spec.interface ?? null, up: f.interfaceUp },
    source_address: f.sourceAddress,
    transport: unicast
      ? { mode: "unicast", group: null, peers: spec.peers.map((p) => p.address) }
      : { mode: "multicast", group: spec.mcastGroup, peers: [] },
    addresses: addressesDump(src),
    trackers: trackersDump(src),
    counters: countersDump(src.counters),
    errors: {
      send: src.errors.send,
      addresses: src.errors.addresses,
      announce: src.errors.announce,
    },
    last_transition: src.lastTransitionUs === null
      ? null
      : iso(wallOf(clock, src.lastTransitionUs)),
    last_transition_age_ms: src.lastTransitionUs === null
      ? null
      : ms(clock.nowUs - src.lastTransitionUs),
    auth: authDump(src, clock),
  };
}

/** An instance name that is not running, with the names that are (for the error message). */
export class UnknownInstanceError extends Error {
  override name = "UnknownInstanceError";
  constructor(readonly instance: string, readonly names: readonly string[]) {
    super(
      names.length === 0
        ? `no VRRP instance '${instance}': no instance is running`
        : `no VRRP instance '${instance}'; the instances are: ${names.join(", ")}`,
    );
  }
}

function pick(input: DumpInput, only: string | undefined): readonly InstanceSource[] {
  if (only === undefined) return input.instances;
  const found = input.instances.filter((i) => i.spec.name === only);
  if (found.length === 0) {
    throw new UnknownInstanceError(only, input.instances.map((i) => i.spec.name));
  }
  return found;
}

/**
 * The whole state (`kad dump --json`), or one instance's with `only` (an
 * UnknownInstanceError names the running instances when there is no such one).
 */
export function dumpDocument(input: DumpInput, only?: string): DumpDocument {
  const instances: Record<string, InstanceDump> = {};
  for (const src of pick(input, only)) instances[src.spec.name] = instanceDump(src, input.clock);
  return {
    format: DUMP_FORMAT,
    version: DUMP_VERSION,
    kind: "state",
    generated_at: iso(input.clock.wallMs),
    daemon: daemonDump(input.daemon, input.clock),
    engine: engineDump(input),
    instances,
  };
}

/** The counters (`kad dump --stats --json`), of every instance or of `only`. */
export function statsDocument(input: DumpInput, only?: string): StatsDocument {
  const instances: StatsDocument["instances"] = {};
  for (const src of pick(input, only)) {
    instances[src.spec.name] = {
      name: src.spec.name,
      counters: countersDump(src.counters),
      errors: {
        send: src.errors.send,
        addresses: src.errors.addresses,
        announce: src.errors.announce,
      },
    };
  }
  return {
    format: DUMP_FORMAT,
    version: DUMP_VERSION,
    kind: "stats",
    generated_at: iso(input.clock.wallMs),
    daemon: daemonDump(input.daemon, input.clock),
    engine: engineDump(input),
    instances,
  };
}

/**
 * What `kad dump --watch` compares to decide that something changed: the document without
 * what moves on its own (the time of the dump, uptime, timers, ages, loop and control
 * counters). For a state document the VRRP counters are left out too (they move with every
 * advert); for a stats document they are what counts.
 */
export function changeKey(doc: DumpDocument | StatsDocument): string {
  if (doc.kind === "stats") {
    return JSON.stringify(
      Object.values(doc.instances).map((i) => [i.name, i.counters, i.errors]),
    );
  }
  return JSON.stringify(
    Object.values(doc.instances).map((i) => {
      const { timers: _t, counters: _c, last_transition_age_ms: _a, auth, ...rest } = i;
      return { ...rest, auth: { ...auth, outcomes: undefined, peers: undefined } };
    }),
  );
}
