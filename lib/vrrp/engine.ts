/**
 * The VRRP engine: every configured instance on one reactor (spec/vrrp.md §1.4–1.7, §3).
 * It owns the VRRP sockets (one receive socket per interface, family and multicast group or
 * unicast binding, one send socket per interface and family, shared by the instances that
 * use them), demultiplexes received packets to instances by VRID (and by source among
 * unicast instances sharing a VRID), keeps a table of interfaces and addresses fed by the
 * netlink monitor (own interface up/down, the primary or link-local source address,
 * tracked interfaces, the interfaces of VIPs, routes and rules, and those objects being
 * deleted by someone else), performs the instances' kernel work (VIPs, eVIPs, virtual routes
 * and rules through rtnetlink; GARP and unsolicited NA), drives their timers on the
 * reactor and detects late wake-ups for `timer_expired_backup` (§3.14).
 *
 * What one instance decides is lib/vrrp/instance.ts's (and the FSM's); loading the
 * configuration, signals, the pid file and the process lifecycle are
 * lib/runtime/daemon.ts's. It never exits the process and lets no kernel failure escape:
 * each is logged (prefixed with the instance name) and counted, and the engine goes on.
 */
import { errorText } from "../runtime/error_text.ts";
import type { KadConfig } from "../config/schema/root.ts";
import type { IpAddressEntry } from "../config/schema/vrrp_address.ts";
import { CLOCK_REALTIME, clockGettimeNs, ErrnoError } from "../../ffi/libc.ts";
import {
  addAddress,
  addressDevice,
  IFA_F,
  type KernelAddress,
  listAddresses,
  removeAddress,
  removeLeftoverAddresses,
} from "../net/addresses.ts";
import { ArpSender } from "../net/arp.ts";
import { type Family, formatIp, parseIp } from "../net/ipaddr.ts";
import { type KernelLink, listLinks, type NetEvent, NetMonitor } from "../net/monitor.ts";
import { ipv6Forwarding, NaSender } from "../net/ndisc.ts";
import { isAbsent, Netlink } from "../net/netlink.ts";
import { addRoute, removeLeftoverRoutes, removeRoute } from "../net/routes.ts";
import { addRule, removeLeftoverRules, removeRule } from "../net/rules.ts";
import { type VrrpPacket, VrrpReceiver, VrrpSender } from "../net/vrrp_socket.ts";
import type { Reactor } from "../runtime/reactor.ts";
import type { Logger } from "../runtime/log.ts";
import {
  DEFAULT_MTU,
  Instance,
  type InstanceIo,
  type InstanceSpec,
  instanceSpec,
  type OutgoingAdvert,
  sameApartFromAuthHmac,
  type TimerHandle,
} from "./instance.ts";
import type { AhSequence } from "./auth_ah.ts";
import type { AuthHmacSettings } from "./auth_hmac.ts";
import { IPPROTO_AH, IPPROTO_VRRP, peekAdvert, type ReceivedPacket } from "./packet.ts";
import type { TrackerInput } from "./priority.ts";
import { lateWakeThresholdUs } from "./timers.ts";
import { formatStats } from "./counters.ts";
import {
  type DeletedObject,
  trackedInterfaces,
  trackedObject,
  tracksRoutesOrRules,
} from "./tracking.ts";
import { authSourceOf, type InstanceSource } from "./snapshot.ts";
import type { LogLevel, TimerId } from "./fsm.ts";

/** Engine-wide counters (per-instance ones are on each Instance). */
export interface EngineStats {
  /** Packets read from the receive sockets. */
  received: number;
  /** Packets longer than the receive buffer (dropped). */
  truncated: number;
  /** Packets for a VRID no instance on that socket has (dropped). */
  unknownVrid: number;
  /** Receive socket errors. */
  receiveErrors: number;
  /** Sockets that could not be opened. */
  socketErrors: number;
  /** Times a late wake-up was delivered to the instances (§3.14). */
  lateWakeups: number;
}

/** What the engine needs from the daemon. */
export interface EngineOptions {
  readonly reactor: Reactor;
  readonly log: Logger;
  /** System uptime in µs (for `vrrp_delay_after_boot`); default /proc/uptime. */
  readonly uptimeUs?: () => number;
  /** Called after each link event (the GRE keepalive manager reconciles on it). */
  readonly onLinkEvent?: () => void;
}

/**
 * auth_hmac key bytes per instance name (key id → bytes), resolved by the daemon from the
 * configuration (lib/config/hmac_keys.ts). Instances copy them; the caller wipes them.
 */
export type HmacKeys = ReadonlyMap<string, ReadonlyMap<number, Uint8Array>>;

const NO_KEYS: HmacKeys = new Map();

/** One receive socket and the instances reading from it. */
interface RxSocket {
  readonly key: string;
  readonly ifname: string;
  readonly family: Family;
  /** IP protocol: 112, or 51 for legacy IPsec AH instances (§2.2). */
  readonly protocol: number;
  readonly group: string | undefined;
  readonly bind: string | undefined;
  receiver: VrrpReceiver | undefined;
  failed: string | undefined;
  readonly members: Set<Bound>;
}

/** One send socket. */
interface TxSocket {
  readonly key: string;
  readonly ifname: string;
  readonly family: Family;
  sender: VrrpSender | undefined;
  failed: string | undefined;
  readonly members: Set<Bound>;
}

/** What the engine keeps for one instance besides the instance itself. */
interface Slot {
  /** Replaced when a reload changes only the auth_hmac settings (the instance keeps running). */
  spec: InstanceSpec;
  rx: RxSocket | undefined;
  tx: TxSocket | undefined;
  /** Whether this run has installed its addresses yet (before that, removal is a cleanup). */
  installedOnce: boolean;
  /** The interfaces of its tracked VIPs, eVIPs, routes and rules (lib/vrrp/tracking.ts). */
  readonly tracked: readonly string[];
}

/** What a restarted instance takes over from its predecessor of the same name. */
interface Carried {
  readonly counters: Instance["counters"];
  readonly ahSequence: AhSequence | undefined;
}

/** A running instance and the sockets it uses. */
interface Bound extends Slot {
  readonly instance: Instance;
}

const SOCKET_FAULT = "VRRP socket unavailable";
/** Packets read per wake-up and socket before other descriptors get their turn. */
const RECEIVE_BATCH = 256;
/**
 * Advert timers are gathered into slots (see `#setTimer`) of 1/`ADVERT_GRID_PARTS` of the
 * advert interval, at most `ADVERT_GRID_MAX_MS`: 5 ms at 0.1 s, 0.5 ms at 0.01 s.
 */
const ADVERT_GRID_PARTS = 20;
const ADVERT_GRID_MAX_MS = 10;

/** The advert slot length for an advert interval (µs), in ms. */
function advertGridMs(advertIntUs: number): number {
  return Math.min(ADVERT_GRID_MAX_MS, advertIntUs / 1000 / ADVERT_GRID_PARTS);
}
/** How early a master-down timer wakes before spinning to its deadline. */
const SPIN_MS = 2;
/**
 * A packet older than this when read is taken as read on arrival: a larger age means the
 * wall clock was stepped between the two readings, and a timer anchored on it would run
 * early.
 */
const MAX_ARRIVAL_AGE_US = 20_000;
/** How long an IPv6 forwarding reading is reused for the NA Router flag (§3.11). */
const FORWARDING_CACHE_US = 5_000_000;

function readUptimeUs(): number {
  try {
    const first = Deno.readTextFileSync("/proc/uptime").split(" ")[0] ?? "0";
    return Math.round(parseFloat(first) * 1_000_000);
  } catch {
    return Number.MAX_SAFE_INTEGER;
  }
}

/**
 * Runs a copy of each kind of instance through BACKUP → MASTER → STOP with an I/O that
 * does nothing, so that the code of a takeover is compiled before the first real one (a
 * cold takeover spends about 2 ms compiling it). Nothing reaches the kernel or the log.
 */
function warmUp(specs: readonly InstanceSpec[]): void {
  const seen = new Set<string>();
  for (const spec of specs) {
    const kind = `${spec.family} ${spec.version} ${spec.peers.length > 0} ${
      spec.authHmac?.mode ?? ""
    } ${spec.authAh !== undefined}`;
    if (seen.has(kind)) continue;
    seen.add(kind);
    let now = 0;
    const due: Array<() => void> = [];
    const io: InstanceIo = {
      nowUs: () => now,
      realtimeUs: () => Date.now() * 1000,
      setTimer: (_at, fire) => {
        due.push(fire);
        return { cancel: () => {} };
      },
      send: () => {},
      addAddresses: () => {},
      removeAddresses: () => {},
      announce: () => {},
      announceSource: () => {},
      notify: () => {},
      log: () => {},
    };
    const source = spec.configuredSource ?? (spec.family === 4 ? "192.0.2.1" : "fe80::1");
    // Throwaway keys, so that signing is compiled too; wiped by shutdown.
    const hmacKeys = new Map(
      (spec.authHmac?.keyIds ?? []).map((id) => [id, crypto.getRandomValues(new Uint8Array(32))]),
    );
    try {
      const inst = new Instance(spec, io, { hmacKeys });
      inst.start({ uptimeUs: Number.MAX_SAFE_INTEGER, interfaceUp: true, sourceAddress: source });
      for (let i = 0; i < 8 && due.length > 0; i++) {
        now += 100_000_000;
        due.shift()?.();
      }
      inst.shutdown(true);
    } catch {
      // Only a warm-up: the real instance reports its own problems.
    }
    for (const k of hmacKeys.values()) k.fill(0);
  }
}

/** Engine counters at zero (a new engine's, and the dump's before the engine runs). */
export function zeroEngineStats(): EngineStats {
  return {
    received: 0,
    truncated: 0,
    unknownVrid: 0,
    receiveErrors: 0,
    socketErrors: 0,
    lateWakeups: 0,
  };
}

/** The VRRP side of `kad run`. */
export class VrrpEngine {
  readonly stats: EngineStats = zeroEngineStats();
  readonly #reactor: Reactor;
  readonly #log: Logger;
  readonly #uptimeUs: () => number;
  readonly #onLinkEvent: (() => void) | undefined;
  readonly #nl: Netlink;
  readonly #monitor: NetMonitor;
  #arp: ArpSender | undefined;
  #na: NaSender | undefined;
  readonly #links = new Map<string, KernelLink>();
  readonly #addresses = new Map<number, KernelAddress[]>();
  readonly #rx = new Map<string, RxSocket>();
  readonly #tx = new Map<string, TxSocket>();
  #bound: Bound[] = [];
  /**
   * `ifindex address` of the IPv6 VIPs and eVIPs kad removed whose deletion notice has not
   * been read yet: that notice, which carries no port id, is kad's own doing (`#deleted`).
   * A successful removal is always followed by its notice (after an overrun the set is
   * emptied), so nothing stays here to hide someone else's deletion later.
   */
  readonly #removedByKad = new Set<string>();
  /** Every VIP and eVIP of every instance: never taken as a source address. */
  #virtual = new Set<string>();
  #lateThresholdUs = Infinity;
  #lateTurn = -1;
  readonly #forwarding = new Map<string, { at: number; value: boolean }>();
  #stopped = false;

  private constructor(opts: EngineOptions, nl: Netlink, monitor: NetMonitor) {
    this.#reactor = opts.reactor;
    this.#log = opts.log;
    this.#uptimeUs = opts.uptimeUs ?? readUptimeUs;
    this.#onLinkEvent = opts.onLinkEvent;
    this.#nl = nl;
    this.#monitor = monitor;
    nl.setIndexSource((name) => this.#links.get(name)?.ifindex);
  }

  /**
   * Opens the netlink request and event sockets. Throws an ErrnoError naming what failed
   * (typically missing privileges: kad run needs CAP_NET_ADMIN and CAP_NET_RAW).
   */
  static open(opts: EngineOptions): VrrpEngine {
    const nl = Netlink.open();
    let monitor: NetMonitor;
    try {
      monitor = NetMonitor.open();
    } catch (e) {
      nl.close();
      throw e;
    }
    return new VrrpEngine(opts, nl, monitor);
  }

  /** The running instances, in configuration order. */
  get instances(): readonly Instance[] {
    return this.#bound.map((b) => b.instance);
  }

  /** keepalived.stats (spec/vrrp.md §6.4): every instance's counters. */
  statsText(): string {
    return this.#bound.map((b) => formatStats(b.spec.name, b.instance.counters)).join("");
  }

  /**
   * What `kad dump` and the dump files show of each running instance (lib/vrrp/snapshot.ts):
   * its description, FSM state and counters, and whether the kernel has its addresses now.
   */
  instanceSources(): InstanceSource[] {
    return this.#bound.map((b) => ({
      spec: b.spec,
      fsm: b.instance.fsm,
      counters: b.instance.counters,
      errors: b.instance.errors,
      installed: b.instance.addressesInstalled,
      present: this.#entries(b).map((e) =>
        this.#hasAddress(addressDevice(e, b.spec.interface ?? ""), e.address)
      ),
      lastTransitionUs: b.instance.lastTransitionUs,
      auth: authSourceOf(b.spec, b.instance.authHmac),
    }));
  }

  /**
   * The running instance called `name`, undefined when there is none (for `kad
   * rotate-key`, which changes its key ring in place: docs/rotate-key.md).
   */
  instance(name: string): Instance | undefined {
    return this.#bound.find((b) => b.instance.name === name)?.instance;
  }

  /**
   * After `kad rotate-key` changed the key ring of instance `name` in place: record
   * `settings` (its keys now) in its description (`Instance.keysRotated`).
   */
  keysRotated(name: string, settings: AuthHmacSettings): void {
    const b = this.#bound.find((x) => x.instance.name === name);
    if (b === undefined) throw new Error(`no running instance '${name}'`);
    b.instance.keysRotated(settings);
    b.spec = b.instance.spec;
  }

  /** STATS_CLEAR (§6.2): every instance's counters back to zero. */
  clearCounters(): void {
    for (const b of this.#bound) {
      const c = b.instance.counters;
      for (const k of Object.keys(c) as (keyof typeof c)[]) c[k] = 0;
    }
  }

  /** The monotonic clock the instances run on, µs. */
  nowUs(): number {
    return Math.floor(this.#reactor.now() * 1000);
  }

  /**
   * Starts every instance of `config`: takes a snapshot of interfaces and addresses,
   * subscribes to their changes, opens the sockets and sends each instance its `start`.
   * `keys` are the auth_hmac keys of the instances that have that block.
   */
  start(config: KadConfig, keys: HmacKeys = NO_KEYS): void {
    this.#snapshot();
    this.#monitor.attach(this.#reactor, (e) => this.#onNetEvent(e));
    const specs = this.#buildSpecs(config);
    warmUp(specs);
    this.#launch(specs, new Map(), keys);
  }

  /**
   * Applies a new, checked configuration (SIGHUP, spec/vrrp.md §3.8 in its simple form):
   * instances whose description and keys are unchanged keep running untouched; those whose
   * only change is auth_hmac (settings or keys) keep running with a fresh extension — replay
   * state and `send_seq` reset (§2.3.7); other changed and removed ones stop (a MASTER
   * resigns with priority 0 and removes its addresses); changed and new ones start afresh,
   * keeping the counters (and the IPsec AH sequence, §2.2) of an instance of the same name.
   */
  apply(
    config: KadConfig,
    keys: HmacKeys = NO_KEYS,
  ): {
    kept: string[];
    rekeyed: string[];
    restarted: string[];
    added: string[];
    removed: string[];
  } {
    const specs = this.#buildSpecs(config);
    const byName = new Map(specs.map((s) => [s.name, s]));
    const kept: Bound[] = [];
    const carried = new Map<string, Carried>();
    const report = {
      kept: [] as string[],
      rekeyed: [] as string[],
      restarted: [] as string[],
      added: [] as string[],
      removed: [] as string[],
    };
    for (const b of this.#bound) {
      const name = b.spec.name;
      const next = byName.get(name);
      if (next !== undefined && sameApartFromAuthHmac(next, b.spec)) {
        const own = keys.get(name);
        let same = b.instance.authHmacUnchanged(next, own);
        if (!same) {
          try {
            b.instance.updateAuthHmac(next, own);
            b.spec = next;
            same = true;
            report.rekeyed.push(name);
          } catch (e) {
            this.#log.error(`(${name}) new auth_hmac keys unusable, restarting: ${errorText(e)}`);
          }
        } else report.kept.push(name);
        if (same) {
          kept.push(b);
          byName.delete(name);
          continue;
        }
      }
      b.instance.shutdown(true);
      this.#unbind(b);
      if (next !== undefined) {
        carried.set(name, { counters: b.instance.counters, ahSequence: b.instance.ahSequence });
        report.restarted.push(name);
      } else report.removed.push(name);
    }
    this.#bound = kept;
    const fresh = specs.filter((s) => byName.has(s.name));
    for (const s of fresh) if (!carried.has(s.name)) report.added.push(s.name);
    this.#launch(fresh, carried, keys);
    this.#closeUnused();
    return report;
  }

  /**
   * Stops every instance (§3.8): MASTERs send a priority-0 advert and remove their
   * addresses unless `release` is false (`--dont-release-vrrp`). Sockets stay open until
   * `close()`.
   */
  shutdown(release: boolean): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const b of this.#bound) b.instance.shutdown(release);
  }

  /** Closes every socket (after `shutdown`). */
  close(): void {
    for (const b of this.#bound) this.#unbind(b);
    this.#bound = [];
    this.#closeUnused();
    this.#monitor.close();
    this.#nl.close();
    this.#arp?.close();
    this.#na?.close();
  }

  // ---- instances ----

  #buildSpecs(config: KadConfig): InstanceSpec[] {
    const out: InstanceSpec[] = [];
    for (const inst of config.vrrp_instance) {
      const mtu = inst.interface === undefined
        ? DEFAULT_MTU
        : this.#links.get(inst.interface)?.mtu ?? DEFAULT_MTU;
      try {
        out.push(instanceSpec(inst, config, mtu));
      } catch (e) {
        this.#log.error(`(${inst.header}) cannot run: ${errorText(e)}`);
      }
    }
    return out;
  }

  #launch(
    specs: readonly InstanceSpec[],
    carried: ReadonlyMap<string, Carried>,
    keys: HmacKeys,
  ): void {
    const added: Bound[] = [];
    if (specs.some(tracksRoutesOrRules)) {
      try {
        this.#monitor.watchRoutesAndRules();
      } catch (e) {
        this.#log.error(
          `Cannot watch routes and rules (${
            errorText(e)
          }): a virtual route or rule deleted by someone else goes unnoticed`,
        );
      }
    }
    for (const spec of specs) {
      const slot: Slot = {
        spec,
        rx: undefined,
        tx: undefined,
        installedOnce: false,
        tracked: trackedInterfaces(spec),
      };
      const old = carried.get(spec.name);
      let instance: Instance;
      try {
        instance = new Instance(spec, this.#io(slot, () => instance), {
          hmacKeys: keys.get(spec.name),
          ahSequence: spec.authAh === undefined ? undefined : old?.ahSequence,
        });
      } catch (e) {
        this.#log.error(`(${spec.name}) cannot run: ${errorText(e)}`);
        continue;
      }
      const b: Bound = Object.assign(slot, { instance });
      if (old !== undefined) b.instance.counters = old.counters;
      this.#bind(b);
      added.push(b);
      this.#bound.push(b);
    }
    this.#refreshVirtual();
    this.#refreshLateThreshold();
    const uptimeUs = this.#uptimeUs();
    for (const b of added) {
      this.#trackedInterfaceFaults(b);
      b.instance.start({
        uptimeUs,
        interfaceUp: this.#interfaceUp(b),
        sourceAddress: this.#sourceOf(b),
        trackers: this.#trackers(b),
      });
      this.#socketFault(b);
    }
  }

  #refreshVirtual(): void {
    this.#virtual = new Set(
      this.#bound.flatMap((b) => [...b.spec.advertised, ...b.spec.excluded].map((a) => a.address)),
    );
  }

  #refreshLateThreshold(): void {
    let t = Infinity;
    for (const b of this.#bound) {
      const s = b.spec.settings;
      if (s.timerExpiredBackup === null) continue;
      t = Math.min(t, lateWakeThresholdUs(s.version, s.advertIntUs, s.timerExpiredBackup));
    }
    this.#lateThresholdUs = t;
  }

  /** The InstanceIo of one instance (`instance` is read only when it acts). */
  #io(b: Slot, instance: () => Instance): InstanceIo {
    const log = (level: LogLevel, text: string) => this.#write(level, text);
    return {
      nowUs: () => this.nowUs(),
      // §2.3.6: auth_hmac sequences come from CLOCK_REALTIME: Date.now() (ms), because
      // clock_gettime through FFI measured about one point of CPU more with 255 instances
      // signing at 0.1 s; adverts within one millisecond differ in the counter.
      realtimeUs: () => Date.now() * 1000,
      setTimer: (atUs, fire, timer) => this.#setTimer(atUs, fire, timer, b.spec),
      send: (a) => this.#send(b, a),
      addAddresses: () => this.#addAddresses(b),
      removeAddresses: () => this.#removeAddresses(b),
      announce: (rounds) => this.#announce(b, rounds),
      announceSource: () => this.#announceSource(b, instance()),
      // Notify scripts and FIFOs are not run yet (the daemon says so at start).
      notify: (state, priority) =>
        log("detail", `(${b.spec.name}) notify ${state} priority ${priority}`),
      log,
    };
  }

  #write(level: LogLevel, text: string): void {
    this.#log[level](text);
  }

  /**
   * Arms an instance timer on the reactor (whose timerfd fires about 0.15 ms after a
   * deadline).
   *
   * - Advert timers are aimed at the start of their slot (`advertGridMs`), so that the
   *   adverts of many instances due within it go out in one wake-up of the loop (255
   *   instances at 0.1 s are 2,550 timers a second; each wake-up costs a thread hop). An
   *   advert leaves at most that much early, which no receiver can tell from jitter
   *   (they allow three intervals).
   * - The master-down timer, whose expiry is a takeover, wakes `SPIN_MS` early and spins to
   *   its deadline, which saves the thread hop back from `epoll_wait` (measured: without
   *   the spin failover is about 1 ms later). It costs at most `SPIN_MS` of CPU once per
   *   takeover: armed master-down timers are re-armed by every advert and only reach their
   *   deadline when the master is gone.
   * - Other timers fire at their deadline.
   *
   * The instance takes a timer that fires early as on time.
   */
  #setTimer(atUs: number, fire: () => void, timer: TimerId, spec: InstanceSpec): TimerHandle {
    const reactor = this.#reactor;
    if (timer === "advert") {
      const grid = advertGridMs(spec.settings.advertIntUs);
      const slot = Math.floor(atUs / 1000 / grid) * grid;
      return reactor.at(slot, (latenessMs) => {
        this.#checkLate(latenessMs);
        fire();
      });
    }
    const atMs = atUs / 1000;
    if (timer !== "master_down") {
      return reactor.at(atMs, (latenessMs) => {
        this.#checkLate(latenessMs);
        fire();
      });
    }
    return reactor.at(atMs - SPIN_MS, (latenessMs) => {
      this.#rehearse(spec);
      while (reactor.now() < atMs) {
        // Spinning: at most SPIN_MS, once per takeover.
      }
      this.#checkLate(latenessMs - SPIN_MS);
      fire();
    });
  }

  /**
   * Runs the takeover's code just before a takeover, with nothing reaching the kernel
   * (see `#setTimer`): a dry takeover of the instance (warmUp) and a harmless netlink
   * round trip (the interface's GETLINK), so that the real one runs on warm code and
   * caches.
   */
  #rehearse(spec: InstanceSpec): void {
    warmUp([spec]);
    if (spec.interface === undefined) return;
    try {
      this.#nl.linkIndex(spec.interface);
    } catch {
      // Only a rehearsal: the takeover reports its own problems.
    }
  }

  /** §3.14: a timer that ran this late means the loop slept; tell the instances first. */
  #checkLate(latenessMs: number): void {
    if (latenessMs * 1000 < this.#lateThresholdUs) return;
    const turn = this.#reactor.stats.wakeups;
    if (turn === this.#lateTurn) return;
    this.#lateTurn = turn;
    this.stats.lateWakeups++;
    this.#log.warn(
      `The event loop woke ${
        latenessMs.toFixed(1)
      } ms late; checking instances with timer_expired_backup`,
    );
    for (const b of this.#bound) {
      if (b.spec.settings.timerExpiredBackup !== null) b.instance.lateWakeup();
    }
  }

  // ---- sockets ----

  #bind(b: Bound): void {
    const spec = b.spec;
    const ifname = spec.interface;
    if (ifname === undefined) return;
    const unicast = spec.peers.length > 0;
    const group = unicast ? undefined : spec.mcastGroup;
    // Unicast: bound to the configured source, else to any address of the interface.
    const bind = unicast
      ? spec.configuredSource ?? (spec.family === 4 ? "0.0.0.0" : "::")
      : undefined;
    // Legacy IPsec AH adverts are IP protocol 51 (§2.2): a socket of their own.
    const protocol = spec.authAh === undefined ? IPPROTO_VRRP : IPPROTO_AH;
    const rxKey = `${ifname}|${spec.family}|${protocol}|${group ?? `unicast ${bind}`}`;
    let rx = this.#rx.get(rxKey);
    if (rx === undefined) {
      rx = {
        key: rxKey,
        ifname,
        family: spec.family,
        protocol,
        group,
        bind,
        receiver: undefined,
        failed: undefined,
        members: new Set(),
      };
      this.#rx.set(rxKey, rx);
    }
    rx.members.add(b);
    b.rx = rx;
    const txKey = `${ifname}|${spec.family}`;
    let tx = this.#tx.get(txKey);
    if (tx === undefined) {
      tx = {
        key: txKey,
        ifname,
        family: spec.family,
        sender: undefined,
        failed: undefined,
        members: new Set(),
      };
      this.#tx.set(txKey, tx);
    }
    tx.members.add(b);
    b.tx = tx;
    this.#openSockets(ifname);
  }

  #unbind(b: Bound): void {
    b.rx?.members.delete(b);
    b.tx?.members.delete(b);
    b.rx = undefined;
    b.tx = undefined;
  }

  /** Opens the missing sockets of an interface that exists. */
  #openSockets(ifname: string): void {
    if (!this.#links.has(ifname)) return;
    for (const rx of this.#rx.values()) {
      if (rx.ifname !== ifname || rx.receiver !== undefined || rx.members.size === 0) continue;
      try {
        const r = VrrpReceiver.open({
          family: rx.family,
          ifname,
          protocol: rx.protocol,
          ...(rx.group === undefined ? {} : { group: rx.group }),
          ...(rx.bind === undefined ? {} : { unicastSource: rx.bind }),
        });
        this.#reactor.add(r.fd, () => this.#drain(rx), `VRRP receive ${rx.key}`);
        rx.receiver = r;
        rx.failed = undefined;
      } catch (e) {
        this.#socketFailed(rx, e);
      }
    }
    for (const tx of this.#tx.values()) {
      if (tx.ifname !== ifname || tx.sender !== undefined || tx.members.size === 0) continue;
      try {
        tx.sender = VrrpSender.open({ family: tx.family, ifname });
        tx.failed = undefined;
      } catch (e) {
        this.#socketFailed(tx, e);
      }
    }
  }

  #socketFailed(s: RxSocket | TxSocket, e: unknown): void {
    const text = errorText(e);
    this.stats.socketErrors++;
    if (s.failed !== text) this.#log.error(`${text}; retrying when ${s.ifname} changes`);
    s.failed = text;
  }

  /** Closes the sockets of an interface that went away (they are bound to its old index). */
  #closeSockets(ifname: string): void {
    for (const rx of this.#rx.values()) {
      if (rx.ifname !== ifname || rx.receiver === undefined) continue;
      this.#reactor.remove(rx.receiver.fd);
      rx.receiver.close();
      rx.receiver = undefined;
    }
    for (const tx of this.#tx.values()) {
      if (tx.ifname !== ifname || tx.sender === undefined) continue;
      tx.sender.close();
      tx.sender = undefined;
    }
  }

  #closeUnused(): void {
    for (const [key, rx] of this.#rx) {
      if (rx.members.size > 0) continue;
      if (rx.receiver !== undefined) {
        this.#reactor.remove(rx.receiver.fd);
        rx.receiver.close();
      }
      this.#rx.delete(key);
    }
    for (const [key, tx] of this.#tx) {
      if (tx.members.size > 0) continue;
      tx.sender?.close();
      this.#tx.delete(key);
    }
  }

  /** An instance whose interface exists but whose sockets failed is in FAULT (§3.7). */
  #socketFault(b: Bound): void {
    if (b.spec.interface === undefined) {
      b.instance.setFault(
        "no interface (interface-less unicast instances are not supported)",
        true,
      );
      return;
    }
    const exists = this.#links.has(b.spec.interface);
    const broken = exists && (b.rx?.receiver === undefined || b.tx?.sender === undefined);
    b.instance.setFault(SOCKET_FAULT, broken);
  }

  #drain(rx: RxSocket): void {
    const r = rx.receiver;
    if (r === undefined) return;
    for (let i = 0; i < RECEIVE_BATCH; i++) {
      let p: VrrpPacket | null;
      try {
        p = r.receive();
      } catch (e) {
        this.stats.receiveErrors++;
        this.#log.error(errorText(e));
        return;
      }
      if (p === null) return;
      this.stats.received++;
      this.#dispatch(rx, p);
    }
  }

  #dispatch(rx: RxSocket, p: VrrpPacket): void {
    if (p.truncated) {
      this.stats.truncated++;
      return;
    }
    const packet: ReceivedPacket = p.family === 4 ? { family: 4, datagram: p.datagram } : {
      family: 6,
      payload: p.payload,
      source: p.source.bytes,
      destination: p.destination?.bytes ?? this.#fallbackDestination(rx),
      hopLimit: p.ttl,
    };
    const peek = peekAdvert(packet);
    if (peek === undefined) {
      this.stats.truncated++;
      return;
    }
    let target: Bound | undefined;
    let sameVrid = 0;
    // The sender as text, needed only to tell unicast instances sharing a VRID apart.
    let fromText: string | undefined;
    const from = () => (fromText ??= formatIp({ family: rx.family, bytes: peek.source }));
    for (const b of rx.members) {
      if (b.spec.vrid !== peek.vrid) continue;
      sameVrid++;
      // Unicast instances sharing a VRID are told apart by their peers (§1.5).
      if (target === undefined || b.spec.peers.some((q) => q.address === from())) target = b;
    }
    if (target === undefined) {
      this.stats.unknownVrid++;
      this.#log.detail(
        `VRRP packet for VRID ${peek.vrid} from ${from()} on ${rx.ifname}: no such instance`,
      );
      return;
    }
    if (sameVrid > 1 && !target.spec.peers.some((q) => q.address === from())) {
      this.stats.unknownVrid++;
      return;
    }
    target.instance.receive(packet, Date.now(), this.#arrivalUs(p.arrivalNs));
  }

  /**
   * When a packet arrived on the engine's clock (µs), from its kernel timestamp
   * (CLOCK_REALTIME): now minus its age. Without a timestamp, or when the age is negative or
   * over `MAX_ARRIVAL_AGE_US` (the wall clock was stepped), now.
   */
  #arrivalUs(arrivalNs: bigint | undefined): number {
    const now = this.nowUs();
    if (arrivalNs === undefined) return now;
    const ageUs = Number(clockGettimeNs(CLOCK_REALTIME) - arrivalNs) / 1000;
    return ageUs >= 0 && ageUs <= MAX_ARRIVAL_AGE_US ? now - ageUs : now;
  }

  /** Where an IPv6 packet without IPV6_PKTINFO was going: the socket's group or binding. */
  #fallbackDestination(rx: RxSocket): Uint8Array {
    return parseIp(rx.group ?? rx.bind ?? "::")?.bytes ?? new Uint8Array(16);
  }

  #send(b: Slot, a: OutgoingAdvert): void {
    const s = b.tx?.sender;
    if (s === undefined) {
      throw new Error(
        `no VRRP send socket on ${
          b.spec.interface ?? "(no interface)"
        }; the advert to ${a.destination} is dropped`,
      );
    }
    s.send({
      data: a.data,
      destination: a.destination,
      ...(a.source === undefined ? {} : { source: a.source }),
      ...(a.hopLimit === undefined ? {} : { hopLimit: a.hopLimit }),
    });
  }

  // ---- kernel state ----

  #entries(b: Slot): IpAddressEntry[] {
    return [...b.spec.advertised, ...b.spec.excluded];
  }

  /** §3.6, §3.17: VIPs, eVIPs, virtual routes, virtual rules, in that order. */
  #addAddresses(b: Slot): void {
    b.installedOnce = true;
    const dev = b.spec.interface ?? "";
    const failed: string[] = [];
    for (const e of this.#entries(b)) {
      try {
        addAddress(this.#nl, e, dev);
      } catch (err) {
        if (!(err instanceof ErrnoError && err.code === "EEXIST")) failed.push(errorText(err));
      }
    }
    for (const r of b.spec.routes) {
      try {
        addRoute(this.#nl, r);
      } catch (err) {
        if (!(err instanceof ErrnoError && err.code === "EEXIST")) failed.push(errorText(err));
      }
    }
    for (const r of b.spec.rules) {
      try {
        addRule(this.#nl, r);
      } catch (err) {
        if (!(err instanceof ErrnoError && err.code === "EEXIST")) failed.push(errorText(err));
      }
    }
    if (failed.length > 0) throw new Error(failed.join("; "));
    this.#log.detail(
      `(${b.spec.name}) installed ${
        this.#entries(b).length
      } address(es), ${b.spec.routes.length} route(s), ${b.spec.rules.length} rule(s)`,
    );
  }

  /**
   * §3.5, §3.17: rules, routes, eVIPs and VIPs, in that order; what is already gone is
   * fine. Before this run installed anything it is the clean slate of §3.3 step 3: what a
   * previous run left is removed as the kernel has it.
   */
  #removeAddresses(b: Slot): void {
    const dev = b.spec.interface ?? "";
    const failed: string[] = [];
    if (!b.installedOnce) {
      const reports = [
        removeLeftoverRules(this.#nl, b.spec.rules),
        removeLeftoverRoutes(this.#nl, b.spec.routes),
        removeLeftoverAddresses(this.#nl, this.#entries(b), dev),
      ];
      for (const r of reports) {
        for (const what of r.removed) {
          this.#log.info(`(${b.spec.name}) removed ${what} left over from a previous run`);
        }
        for (const e of r.failed) failed.push(e.message);
      }
      if (failed.length > 0) throw new Error(failed.join("; "));
      return;
    }
    const attempt = (fn: () => void) => {
      try {
        fn();
      } catch (err) {
        if (!isAbsent(err)) failed.push(errorText(err));
      }
    };
    for (const r of [...b.spec.rules].reverse()) attempt(() => removeRule(this.#nl, r));
    for (const r of [...b.spec.routes].reverse()) attempt(() => removeRoute(this.#nl, r));
    for (const e of this.#entries(b).reverse()) {
      attempt(() => {
        removeAddress(this.#nl, e, dev);
        if (e.family === 6) this.#removedByKad.add(this.#addressKey(e, dev));
      });
    }
    if (failed.length > 0) throw new Error(failed.join("; "));
  }

  /** §3.11: one GARP (IPv4) or unsolicited NA (IPv6) per VIP and eVIP, `rounds` times. */
  #announce(b: Slot, rounds: number): void {
    const failed: string[] = [];
    for (let i = 0; i < rounds; i++) {
      for (const e of this.#entries(b)) {
        const ifname = addressDevice(e, b.spec.interface ?? "");
        try {
          this.#announceOne(ifname, e.family, e.address);
        } catch (err) {
          failed.push(errorText(err));
        }
      }
    }
    if (failed.length > 0) throw new Error([...new Set(failed)].join("; "));
  }

  #announceSource(b: Slot, instance: Instance): void {
    const src = instance.sourceAddress;
    if (src === null || b.spec.interface === undefined) return;
    this.#announceOne(b.spec.interface, b.spec.family, src);
  }

  #announceOne(ifname: string, family: Family, address: string): void {
    const link = this.#links.get(ifname);
    if (link === undefined) throw new Error(`interface ${ifname} of ${address} is missing`);
    // Not on NOARP interfaces (§3.11).
    if (link.noarp || link.mac === undefined) return;
    if (family === 4) {
      this.#arp ??= ArpSender.open();
      this.#arp.send(link, address);
    } else {
      this.#na ??= NaSender.open();
      this.#na.send(link, address, this.#routerFlag(ifname));
    }
  }

  #routerFlag(ifname: string): boolean {
    const now = this.nowUs();
    const c = this.#forwarding.get(ifname);
    if (c !== undefined && now - c.at < FORWARDING_CACHE_US) return c.value;
    const value = ipv6Forwarding(ifname);
    this.#forwarding.set(ifname, { at: now, value });
    return value;
  }

  // ---- interfaces and addresses ----

  #snapshot(): void {
    this.#links.clear();
    this.#addresses.clear();
    for (const l of listLinks(this.#nl)) this.#links.set(l.name, l);
    for (const a of listAddresses(this.#nl)) {
      const list = this.#addresses.get(a.ifindex) ?? [];
      list.push(a);
      this.#addresses.set(a.ifindex, list);
    }
  }

  #onNetEvent(e: NetEvent): void {
    switch (e.kind) {
      case "overrun":
        this.#log.warn(
          "Interface events were lost (netlink overrun); reading the interfaces again",
        );
        this.#snapshot();
        this.#removedByKad.clear();
        for (const name of this.#links.keys()) this.#openSockets(name);
        break;
      case "link": {
        const l = e.link;
        const old = this.#links.get(l.name);
        if (e.action === "del") {
          if (old !== undefined && old.ifindex !== l.ifindex) return;
          this.#links.delete(l.name);
          this.#addresses.delete(l.ifindex);
          this.#closeSockets(l.name);
        } else {
          if (old !== undefined && old.ifindex !== l.ifindex) {
            this.#closeSockets(l.name);
            this.#addresses.delete(old.ifindex);
          }
          this.#links.set(l.name, l);
          this.#openSockets(l.name);
        }
        this.#onLinkEvent?.();
        break;
      }
      case "address": {
        const a = e.address;
        const list = (this.#addresses.get(a.ifindex) ?? []).filter(
          (k) => !(k.address === a.address && k.prefix === a.prefix),
        );
        if (e.action === "new") list.push(a);
        this.#addresses.set(a.ifindex, list);
        if (e.action === "del") this.#deleted(e.pid, { kind: "address", address: a });
        break;
      }
      case "route":
        this.#deleted(e.pid, { kind: "route", route: e.route });
        return;
      case "rule":
        this.#deleted(e.pid, { kind: "rule", rule: e.rule });
        return;
    }
    this.#refreshAll();
  }

  /** Tells every instance what changed about its interface, source and trackers. */
  #refreshAll(): void {
    for (const b of this.#bound) {
      if (b.instance.state === "STOP") continue;
      b.instance.setInterfaceUp(this.#interfaceUp(b));
      b.instance.setSourceAddress(this.#sourceOf(b));
      b.instance.setTrackers(this.#trackers(b));
      this.#trackedInterfaceFaults(b);
      this.#socketFault(b);
    }
  }

  /**
   * §3.7: an interface of a tracked VIP, eVIP, route or rule that is down or missing is a
   * fault of the instance, one reason per interface.
   */
  #trackedInterfaceFaults(b: Bound): void {
    for (const name of b.tracked) {
      b.instance.setFault(`interface ${name} of a VIP, route or rule down`, !this.#linkUp(name));
    }
  }

  /** The `#removedByKad` key of an address entry kad has just removed. */
  #addressKey(e: IpAddressEntry, defaultDev: string): string {
    const ifindex = this.#links.get(addressDevice(e, defaultDev))?.ifindex ?? 0;
    const ip = parseIp(e.address);
    return `${ifindex} ${ip === undefined ? e.address : formatIp(ip)}`;
  }

  /**
   * §3.17: someone else deleted a kernel object; each MASTER instance that installed it and
   * tracks it resigns to install it again. Changes kad's own requests made are not
   * someone else's.
   */
  #deleted(pid: number, deleted: DeletedObject): void {
    if (pid === this.#nl.portid) return;
    if (deleted.kind === "address" && deleted.address.family === 6) {
      // IPv6 address deletions carry no port id (measured): kad's own are remembered.
      const a = deleted.address;
      if (this.#removedByKad.delete(`${a.ifindex} ${a.address}`)) return;
    }
    const ifindexOf = (name: string) => this.#links.get(name)?.ifindex;
    for (const b of this.#bound) {
      if (b.instance.state !== "MASTER") continue;
      const what = trackedObject(b.spec, deleted, ifindexOf);
      if (what !== undefined) b.instance.lostObject(what);
    }
  }

  /** Whether the address table (fed by the netlink monitor) has `address` on `ifname`. */
  #hasAddress(ifname: string, address: string): boolean {
    const link = this.#links.get(ifname);
    if (link === undefined) return false;
    return (this.#addresses.get(link.ifindex) ?? []).some((a) => a.address === address);
  }

  #linkUp(name: string): boolean {
    const l = this.#links.get(name);
    return l !== undefined && l.up && l.running;
  }

  #interfaceUp(b: Bound): boolean {
    return b.spec.interface === undefined ? true : this.#linkUp(b.spec.interface);
  }

  /**
   * The instance's source address (§1.4): the configured one, else the interface's first
   * primary IPv4 address that is not a VIP, or its IPv6 link-local address.
   */
  #sourceOf(b: Bound): string | null {
    if (b.spec.configuredSource !== undefined) return b.spec.configuredSource;
    const ifname = b.spec.interface;
    if (ifname === undefined) return null;
    const link = this.#links.get(ifname);
    if (link === undefined) return null;
    for (const a of this.#addresses.get(link.ifindex) ?? []) {
      if (a.family !== b.spec.family || this.#virtual.has(a.address)) continue;
      if ((a.flags & (IFA_F.SECONDARY | IFA_F.TENTATIVE | IFA_F.DADFAILED)) !== 0) continue;
      if (a.family === 6 && !a.address.startsWith("fe80:")) continue;
      return a.address;
    }
    return null;
  }

  /**
   * Tracker inputs (§3.9): tracked interfaces from the interface table. Scripts, processes
   * and BFD sessions are not run by kad yet and count as down; track files read 0
   * (docs/vrrp.md; the daemon says so at start).
   */
  #trackers(b: Bound): TrackerInput[] {
    return b.spec.trackers.map((t): TrackerInput =>
      t.kind === "file"
        ? { kind: "value", name: t.name, weight: t.weight, reverse: t.reverse, value: 0 }
        : {
          kind: "status",
          name: t.name,
          weight: t.weight,
          reverse: t.reverse,
          up: t.kind === "interface" ? this.#linkUp(t.name) : false,
        }
    );
  }
}
