/**
 * One VRRP instance at run time (spec/vrrp.md §1.4–1.11, §3): the state machine of
 * lib/vrrp/fsm.ts, fed with received packets (checked by lib/vrrp/receive.ts), timers and
 * the daemon's observations, and the actions it returns performed through `InstanceIo`.
 *
 * It owns what belongs to one instance alone: its FSM state, its counters
 * (lib/vrrp/counters.ts), its timers (one per FSM timer id), the adverts it encodes
 * (IPv4 datagrams with keepalived's header and identification, one copy per unicast peer
 * with its own checksum; IPv6 messages whose checksum the kernel fills in) and the
 * rate limiting of its log lines. Everything that touches the kernel, the clock or other
 * instances — sockets, addresses, GARP frames, scripts — is behind `InstanceIo`, so tests
 * drive it with fakes. It must not open sockets, call netlink or read clocks itself.
 */
import { errorText } from "../runtime/error_text.ts";
import type { KadConfig } from "../config/schema/root.ts";
import type { GlobalDefs } from "../config/schema/global.ts";
import type { IpAddressEntry } from "../config/schema/vrrp_address.ts";
import type { VrrpInstance } from "../config/schema/vrrp_instance.ts";
import type { AuthHmac as AuthHmacBlock } from "../config/schema/vrrp_auth.ts";
import type { RouteEntry } from "../config/schema/vrrp_route.ts";
import type { RuleEntry } from "../config/schema/vrrp_rule.ts";
import type { TrackKind } from "../config/schema/vrrp_track.ts";
import { effectiveGlobals } from "../config/schema/vrrp_check.ts";
import { compareBytes, type Family, formatIp, parseIp } from "../net/ipaddr.ts";
import { AhAuth, AhSequence, encodeAhDatagram, setAhSequence } from "./auth_ah.ts";
import {
  AUTH_HMAC_TRAILER_LENGTH,
  AuthHmac,
  type AuthHmacSettings,
  sendsTrailer,
} from "./auth_hmac.ts";
import { bumpCounters, type CounterName, newCounters, type VrrpCounters } from "./counters.ts";
import { KeyRing } from "./key_ring.ts";
import {
  type FsmAction,
  type FsmEvent,
  type FsmState,
  initialState,
  type InstanceSettings,
  type LogLevel,
  type NotifyState,
  step,
  type StepResult,
  type TimerId,
  type VrrpState,
} from "./fsm.ts";
import {
  advertIntervalToWire,
  advertLength,
  type AdvertSpec,
  AUTH_NONE,
  AUTH_PASS,
  authPassBytes,
  type DecodedAdvert,
  encodeAdvertInto,
  encodeIPv4Datagram,
  maxAdvertAddresses,
  nextIpId,
  type ReceivedPacket,
  setAdvertChecksum,
} from "./packet.ts";
import type { TrackerInput } from "./priority.ts";
import { type InstanceView, type PeerView, type RejectReason, validateAdvert } from "./receive.ts";
import { settingsFromConfig } from "./settings.ts";

// ---- what an instance is made of ----

/** A tracked object of the instance, with its effective weight and `reverse` (§3.9). */
export interface TrackerSpec {
  readonly kind: TrackKind;
  readonly name: string;
  readonly weight: number;
  readonly reverse: boolean;
}

/** A configured unicast peer. */
export interface PeerSpec {
  readonly address: string;
  readonly minTtl: number;
  readonly maxTtl: number;
}

/**
 * Everything the runtime needs to know about one configured instance, taken from the
 * checked configuration model by `instanceSpec` (plain data; two specs that are deeply
 * equal describe the same instance, which is what a reload compares).
 */
export interface InstanceSpec {
  readonly name: string;
  readonly settings: InstanceSettings;
  readonly family: Family;
  readonly version: 2 | 3;
  readonly vrid: number;
  /** The interface VRRP runs on; undefined for an interface-less unicast instance. */
  readonly interface: string | undefined;
  /** The multicast group (multicast instances). */
  readonly mcastGroup: string;
  /** Unicast peers; empty for a multicast instance. */
  readonly peers: readonly PeerSpec[];
  /** `unicast_src_ip` / `mcast_src_ip`, when configured. */
  readonly configuredSource: string | undefined;
  /** `unicast_ttl`: TTL / hop limit of unicast copies. */
  readonly unicastTtl: number | undefined;
  /** Legacy VRRPv2 PASS password, when configured (§2.1). */
  readonly authPass: string | undefined;
  /** Legacy VRRPv2 IPsec AH password (`auth_type AH`), when configured (§2.2). */
  readonly authAh: string | undefined;
  /**
   * auth_hmac, when configured (§2.3.10). Its key bytes are never part of the spec: they
   * are given to the Instance separately (see `InstanceAuth`).
   */
  readonly authHmac: AuthHmacSettings | undefined;
  /** The VIPs carried in adverts (§1.10: as many as fit; the rest are in `excluded`). */
  readonly advertised: readonly IpAddressEntry[];
  /** eVIPs: `virtual_ipaddress_excluded` plus the VIPs that did not fit. */
  readonly excluded: readonly IpAddressEntry[];
  readonly routes: readonly RouteEntry[];
  readonly rules: readonly RuleEntry[];
  readonly trackers: readonly TrackerSpec[];
  readonly checkUnicastSrc: boolean;
  readonly skipCheckAdvAddr: boolean;
  readonly v3ChecksumAsV2: boolean;
  /** `old_unicast_checksum`: "auto" (detect), "never", or undefined (not configured). */
  readonly oldUnicastChecksum: "auto" | "never" | undefined;
  readonly ownerIgnoreAdverts: boolean;
}

/** The MTU used for the VIP capacity when the interface's is unknown. */
export const DEFAULT_MTU = 1500;

/**
 * The auth_hmac settings of a checked `auth_hmac` block (§2.3.10, after the post-parse
 * rules); undefined without one. The one place the block becomes settings: the spec, and
 * `kad rotate-key` recording what it changed in place (docs/rotate-key.md).
 */
export function authHmacSettings(h: AuthHmacBlock | undefined): AuthHmacSettings | undefined {
  if (h === undefined || h.active_key === undefined) return undefined;
  return {
    mode: h.mode,
    antiReplay: h.anti_replay,
    timeWindowS: Math.round(h.time_window / 1_000_000),
    activeKey: h.active_key,
    keyIds: h.key.map((k) => k.id),
  };
}

/**
 * The runtime description of a checked `vrrp_instance` (spec/vrrp.md §4.10). `mtu` is the
 * interface's, for the number of VIPs an advert can carry (§1.10). Throws a RangeError
 * for an instance without `virtual_router_id` (check-config reports it first).
 */
export function instanceSpec(
  inst: VrrpInstance,
  config: Pick<
    KadConfig,
    "global_defs" | "$at" | "vrrp_script" | "track_file" | "vrrp_track_process" | "bfd_instance"
  >,
  mtu: number = DEFAULT_MTU,
): InstanceSpec {
  const g: GlobalDefs = effectiveGlobals(config);
  const settings = settingsFromConfig(inst, g);
  const family = settings.family;
  const auth = inst.authentication;
  const authHmac = authHmacSettings(inst.auth_hmac);
  const authAh = auth?.auth_type === "AH" ? auth.auth_pass ?? "" : undefined;
  const ownFamily = inst.virtual_ipaddress.filter((a) => a.family === family);
  // §1.10: AH and a sent auth_hmac trailer take room from the VIPs.
  const room = maxAdvertAddresses({
    mtu,
    family,
    version: settings.version,
    ah: authAh !== undefined,
    trailerLength: authHmac !== undefined && sendsTrailer(authHmac.mode)
      ? AUTH_HMAC_TRAILER_LENGTH
      : 0,
  });
  const weights = (kind: TrackKind, name: string): { weight: number; reverse: boolean } => {
    const find = (
      list: ReadonlyArray<{ header: string; weight: { weight: number; reverse: boolean } }>,
    ) => list.find((o) => o.header === name)?.weight;
    const own = kind === "script"
      ? find(config.vrrp_script)
      : kind === "file"
      ? find(config.track_file)
      : kind === "process"
      ? find(config.vrrp_track_process)
      : kind === "bfd"
      ? find(config.bfd_instance)
      : undefined;
    return own ?? { weight: 0, reverse: false };
  };
  const trackers: TrackerSpec[] = [];
  const lists: ReadonlyArray<readonly [TrackKind, VrrpInstance["track_interface"]]> = [
    ["interface", inst.track_interface],
    ["script", inst.track_script],
    ["file", inst.track_file],
    ["process", inst.track_process],
    ["bfd", inst.track_bfd],
  ];
  for (const [kind, entries] of lists) {
    for (const e of entries) {
      const own = weights(kind, e.name);
      trackers.push({
        kind,
        name: e.name,
        weight: e.weight ?? own.weight,
        reverse: e.reverse ?? own.reverse,
      });
    }
  }
  return {
    name: inst.header,
    settings,
    family,
    version: settings.version,
    vrid: settings.vrid,
    interface: inst.interface,
    mcastGroup: inst.mcast_dst_ip ??
      (family === 6 ? g.vrrp_mcast_group6 : g.vrrp_mcast_group4),
    peers: inst.unicast_peer.map((p) => ({
      address: p.address,
      minTtl: p.minTtl ?? 0,
      maxTtl: p.maxTtl ?? 255,
    })),
    configuredSource: inst.unicast_src_ip ?? inst.mcast_src_ip,
    unicastTtl: inst.unicast_ttl,
    authPass: auth?.auth_type === "PASS" ? auth.auth_pass ?? "" : undefined,
    authAh,
    authHmac,
    advertised: ownFamily.slice(0, room),
    excluded: [...ownFamily.slice(room), ...inst.virtual_ipaddress_excluded],
    routes: inst.virtual_routes,
    rules: inst.virtual_rules,
    trackers,
    checkUnicastSrc: inst.check_unicast_src,
    skipCheckAdvAddr: inst.skip_check_adv_addr,
    v3ChecksumAsV2: inst.v3_checksum_as_v2,
    oldUnicastChecksum: inst.old_unicast_checksum,
    ownerIgnoreAdverts: inst.owner_ignore_adverts,
  };
}

// ---- what it needs from the daemon ----

/** One copy of an advert to send; its bytes are reused, so send (or copy) them at once. */
export interface OutgoingAdvert {
  /** IPv4: the whole datagram with its header (IP_HDRINCL); IPv6: the VRRP message. */
  readonly data: Uint8Array;
  /** The group or one unicast peer. */
  readonly destination: string;
  /** IPv6: the source address (IPV6_PKTINFO). */
  readonly source?: string;
  /** IPv6 unicast: the hop limit (`unicast_ttl`). */
  readonly hopLimit?: number;
}

/** A timer armed through `InstanceIo.setTimer`. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * The daemon's side of one instance. Failures are thrown; the instance logs and counts
 * them and carries on (a failed send or netlink request never stops it).
 */
export interface InstanceIo {
  /** The monotonic clock, µs. */
  nowUs(): number;
  /** CLOCK_REALTIME, µs since the epoch (auth_hmac sequence numbers, §2.3.6). */
  realtimeUs(): number;
  /**
   * Calls `fire` at the absolute time `atUs`. `timer` says which FSM timer it is. A call
   * up to a few milliseconds early is taken as on time (the daemon's loop has millisecond
   * timeouts, aims early and may gather nearby advert timers into one wake-up).
   */
  setTimer(atUs: number, fire: () => void, timer: TimerId): TimerHandle;
  /** Sends one copy of an advert. */
  send(advert: OutgoingAdvert): void;
  /** Installs the VIPs, eVIPs, virtual routes and virtual rules (§3.6, §3.17). */
  addAddresses(accept: boolean): void;
  /** Removes virtual rules, routes, VIPs and eVIPs (§3.5, §3.17). */
  removeAddresses(): void;
  /** `rounds` rounds of GARP / unsolicited NA for every VIP and eVIP (§3.11). */
  announce(rounds: number): void;
  /** One GARP / NA for the instance's own source address (§3.7). */
  announceSource(): void;
  /** A notification (§5): scripts and FIFOs are the daemon's business. */
  notify(state: NotifyState, priority: number): void;
  /** A log line, already prefixed with `(NAME) `. */
  log(level: LogLevel, message: string): void;
}

/**
 * The authentication material of an instance that is not in its spec: the auth_hmac key
 * bytes (id → bytes; the instance copies them into its key ring, the caller wipes its own)
 * and the IPsec AH sequence counter carried over a reload (§2.2).
 */
export interface InstanceAuth {
  readonly hmacKeys?: ReadonlyMap<number, Uint8Array> | undefined;
  readonly ahSequence?: AhSequence | undefined;
}

/**
 * Whether two specs describe the same instance apart from its auth_hmac settings (a reload
 * that changes only those keeps the instance running and resets its replay state, §2.3.7).
 */
export function sameApartFromAuthHmac(a: InstanceSpec, b: InstanceSpec): boolean {
  return JSON.stringify({ ...a, authHmac: undefined }) ===
    JSON.stringify({ ...b, authHmac: undefined });
}

/** What became of a received packet. */
export type ReceiveOutcome =
  | { readonly accepted: true }
  | { readonly accepted: false; readonly reason: RejectReason };

/** Failures the instance counted beyond keepalived's counters. */
export interface InstanceErrors {
  /** Adverts (copies) that could not be sent. */
  send: number;
  /** Address, route or rule changes that failed. */
  addresses: number;
  /** GARP / NA bursts that failed. */
  announce: number;
}

// ---- the runtime ----

/** One encoded copy of the instance's advert. */
interface Copy {
  readonly advert: OutgoingAdvert;
  /** The VRRP message inside `advert.data` (after 20 bytes for IPv4, 44 with AH, 0 for IPv6). */
  readonly message: Uint8Array;
  /** The auth_hmac trailer after it when the instance signs, else undefined. */
  readonly trailer: Uint8Array | undefined;
  /** IPv4: the source and the destination the checksum is computed for; IPv6: undefined. */
  readonly v4: { readonly source: Uint8Array; readonly sumTo: Uint8Array } | undefined;
  /** The advert's source address as bytes (auth_hmac's pseudo-header). */
  readonly source: Uint8Array;
}

/** The message and trailer views of a copy whose message starts at `at`. */
function views(
  data: Uint8Array,
  at: number,
  length: number,
  trailer: number,
): { message: Uint8Array; trailer: Uint8Array | undefined } {
  return {
    message: data.subarray(at, at + length),
    trailer: trailer === 0 ? undefined : data.subarray(at + length, at + length + trailer),
  };
}

/** How long (µs) a log line of one kind stays at detail level after it was written. */
const LOG_REPEAT_US = 60_000_000;

/**
 * One running instance.
 *
 * @example
 * ```ts ignore
 * const inst = new Instance(instanceSpec(cfg.vrrp_instance[0], cfg), io);
 * inst.start({ uptimeUs, interfaceUp: true, sourceAddress: "192.0.2.1", trackers: [] });
 * inst.receive({ family: 4, datagram });
 * inst.shutdown(true);
 * ```
 */
export class Instance {
  #spec: InstanceSpec;
  /** keepalived's counters (§6.4); kept across a reload by the engine. */
  counters: VrrpCounters = newCounters();
  readonly errors: InstanceErrors = { send: 0, addresses: 0, announce: 0 };
  readonly #io: InstanceIo;
  #fsm: FsmState;
  readonly #timers = new Map<TimerId, TimerHandle>();
  readonly #view: { -readonly [K in keyof InstanceView]: InstanceView[K] };
  readonly #vipBytes: Uint8Array[];
  readonly #groupBytes: Uint8Array;
  #ipId = 0;
  /** The encoded copies for one source address (see `#copies`). */
  #built: { source: string; old: boolean; copies: Copy[] } | undefined;
  /** When each rate-limited log kind was last written (µs). */
  readonly #logged = new Map<string, number>();
  /** The VIPs are installed (add_vips done, remove_vips not yet). */
  #installed = false;
  /** The last master address parsed for the receive checks (see `#masterBytes`). */
  #master: { text: string; bytes: Uint8Array | undefined } | undefined;
  /** The time of the latest step (µs): no event is stepped before it. */
  #lastUs = 0;
  /** When the state last changed (the io clock, µs); null before the first change. */
  #lastTransitionUs: number | null = null;
  /** auth_hmac, when configured. */
  #hmac: AuthHmac | undefined;
  /** Legacy IPsec AH, when configured. */
  readonly #ah: AhAuth | undefined;

  /**
   * Throws a RangeError when the spec's auth_hmac keys are not all in `auth.hmacKeys` or a
   * key is unusable (the daemon resolves and checks them before).
   */
  constructor(spec: InstanceSpec, io: InstanceIo, auth: InstanceAuth = {}) {
    this.#spec = spec;
    this.#io = io;
    this.#fsm = initialState(spec.settings);
    this.#vipBytes = spec.advertised.map((a) => bytesOf(a.address, spec.family));
    this.#groupBytes = bytesOf(spec.mcastGroup, spec.family);
    const peers: PeerView[] = spec.peers.map((p) => ({
      address: bytesOf(p.address, spec.family),
      minTtl: p.minTtl,
      maxTtl: p.maxTtl,
    }));
    this.#hmac = this.#makeHmac(spec, auth.hmacKeys, peers);
    this.#ah = spec.authAh === undefined
      ? undefined
      : new AhAuth(authPassBytes(spec.authAh), peers.length > 0, auth.ahSequence);
    this.#view = {
      version: spec.version,
      family: spec.family,
      vrid: spec.vrid,
      advertIntervalUs: spec.settings.advertIntUs,
      auth: this.#ah !== undefined
        ? this.#ah
        : spec.authPass === undefined
        ? { type: AUTH_NONE }
        : { type: AUTH_PASS, password: authPassBytes(spec.authPass) },
      authExtension: this.#hmac,
      vips: this.#vipBytes,
      unicastPeers: peers,
      checkUnicastSrc: spec.checkUnicastSrc,
      skipCheckAdvAddr: spec.skipCheckAdvAddr,
      masterAddress: undefined,
      v3ChecksumAsV2: spec.v3ChecksumAsV2,
      oldUnicastChecksum: false,
      detectOldUnicastChecksum: spec.oldUnicastChecksum === "auto",
      mcastGroup: this.#groupBytes,
      ownerIgnoreAdverts: spec.ownerIgnoreAdverts,
      effectivePriority: this.#fsm.effectivePriority,
    };
  }

  /** What the instance runs (replaced by `updateAuthHmac`). */
  get spec(): InstanceSpec {
    return this.#spec;
  }

  get name(): string {
    return this.#spec.name;
  }

  /**
   * The instance's auth_hmac (its key ring, `peers()` observations), undefined when it has
   * none. `kad rotate-key` and `kad dump` use it; do not keep it across a reload.
   */
  get authHmac(): AuthHmac | undefined {
    return this.#hmac;
  }

  /** The IPsec AH sequence counter (the engine carries it over a reload, §2.2). */
  get ahSequence(): AhSequence | undefined {
    return this.#ah?.sequence;
  }

  /**
   * Whether `spec`'s auth_hmac settings and `keys` are exactly what the instance runs with
   * (then a reload keeps the instance as it is, replay state included).
   */
  authHmacUnchanged(
    spec: InstanceSpec,
    keys: ReadonlyMap<number, Uint8Array> | undefined,
  ): boolean {
    const next = spec.authHmac;
    const cur = this.#spec.authHmac;
    if (JSON.stringify(next) !== JSON.stringify(cur)) return false;
    if (next === undefined || this.#hmac === undefined) return true;
    return keys !== undefined && this.#hmac.ring.sameKeys(ownKeys(next, keys), next.activeKey);
  }

  /**
   * `kad rotate-key` changed the key ring in place (add, activate, retire:
   * docs/rotate-key.md): record the key ids and the active key the ring now has, as
   * `settings` (what the configuration and the key state now give), in the instance's
   * description — so that a reload that gives the same keys keeps the instance as it is.
   * Nothing else changes: no FSM event, the replay marks and `send_seq` stay. Throws an
   * Error when `settings` does not describe the ring (its keys or active key differ) or
   * changes anything but the keys.
   */
  keysRotated(settings: AuthHmacSettings): void {
    const cur = this.#spec.authHmac;
    const ring = this.#hmac?.ring;
    if (cur === undefined || ring === undefined) {
      throw new Error(`(${this.name}) has no auth_hmac whose keys could have changed`);
    }
    const ids = [...settings.keyIds].sort((a, b) => a - b);
    if (
      settings.activeKey !== ring.activeKey || JSON.stringify(ids) !== JSON.stringify(ring.keyIds())
    ) {
      throw new Error(
        `(${this.name}) key ring [${
          ring.keyIds().join(", ")
        }] active ${ring.activeKey} does not match [${
          ids.join(", ")
        }] active ${settings.activeKey}`,
      );
    }
    if (
      settings.mode !== cur.mode || settings.antiReplay !== cur.antiReplay ||
      settings.timeWindowS !== cur.timeWindowS
    ) {
      throw new Error(`(${this.name}) a key rotation cannot change the auth_hmac settings`);
    }
    this.#spec = { ...this.#spec, authHmac: settings };
  }

  /**
   * A reload changed only the auth_hmac settings or keys (see `sameApartFromAuthHmac`): the
   * instance keeps its state and starts a new extension — new keys, replay marks and
   * `send_seq` reset (§2.3.7); the old keys are wiped. Throws a RangeError (and keeps the
   * old extension) when the new keys are unusable.
   */
  updateAuthHmac(spec: InstanceSpec, keys: ReadonlyMap<number, Uint8Array> | undefined): void {
    const next = this.#makeHmac(spec, keys, this.#view.unicastPeers);
    const old = this.#hmac;
    if (old !== undefined && next !== undefined) next.adoptObservations(old);
    old?.close();
    this.#hmac = next;
    this.#view.authExtension = next;
    this.#spec = spec;
    this.#built = undefined;
  }

  /** The FSM state (a copy is not made: do not modify it). */
  get fsm(): Readonly<FsmState> {
    return this.#fsm;
  }

  get state(): VrrpState {
    return this.#fsm.state;
  }

  /** Whether the VIPs are currently installed by this instance. */
  get addressesInstalled(): boolean {
    return this.#installed;
  }

  /** When the state last changed (`InstanceIo.nowUs` µs); null before the first change. */
  get lastTransitionUs(): number | null {
    return this.#lastTransitionUs;
  }

  /** The own source address the FSM knows (null = none). */
  get sourceAddress(): string | null {
    return this.#fsm.sourceAddress;
  }

  /** First evaluation (§3.3) with what the daemon observed. */
  start(input: {
    uptimeUs: number;
    interfaceUp: boolean;
    sourceAddress: string | null;
    trackers?: TrackerInput[];
  }): void {
    // Encoding the adverts now keeps that work out of the first takeover.
    if (input.sourceAddress !== null) this.#copies(input.sourceAddress);
    this.#event({
      type: "start",
      uptimeUs: input.uptimeUs,
      interfaceUp: input.interfaceUp,
      sourceAddress: input.sourceAddress,
      ...(input.trackers === undefined ? {} : { trackers: input.trackers }),
    });
  }

  /**
   * A packet received for this instance's VRID: run the receive checks (§1.11), count,
   * log (rate-limited) and feed an accepted advert to the FSM.
   */
  receive(
    packet: ReceivedPacket,
    wallClockMs: number = Date.now(),
    arrivedUs?: number,
  ): ReceiveOutcome {
    const view = this.#view;
    view.effectivePriority = this.#fsm.effectivePriority;
    view.masterAddress = this.#masterBytes(this.#fsm.masterAddress);
    const r = validateAdvert(packet, view, wallClockMs);
    bumpCounters(this.counters, r.counters);
    const from = r.ok ? formatIp({ family: r.advert.family, bytes: r.advert.source }) : undefined;
    // A new master: its notes are worth logging again (keepalived clears its flags, §3.4).
    if (from !== undefined && from !== this.#fsm.masterAddress) this.#forgetNotes();
    for (const w of r.warnings) {
      if (w.kind === "old_unicast_checksum") {
        view.oldUnicastChecksum = true;
        this.#io.log("warn", `(${this.name}) ${w.log}`);
      } else this.#limitedLog("warn", `note:${w.kind}`, w.log);
    }
    if (!r.ok) {
      this.#limitedLog("warn", `reject:${r.reason}`, r.log);
      return { accepted: false, reason: r.reason };
    }
    if (this.#ah !== undefined && r.advert.ah !== undefined) this.#ahReceived(r.advert);
    this.#event({
      type: "advert",
      from: from ?? "",
      priority: r.advert.priority,
      advertIntUs: r.advert.advertIntervalUs,
    }, arrivedUs);
    return { accepted: true };
  }

  /** The master's address as bytes, parsed once per master rather than per advert. */
  #masterBytes(master: string | null): Uint8Array | undefined {
    if (master === null) return undefined;
    const m = this.#master;
    if (m !== undefined && m.text === master) return m.bytes;
    const bytes = parseIp(master)?.bytes;
    this.#master = { text: master, bytes };
    return bytes;
  }

  /** The own interface went up or down (§3.7). */
  setInterfaceUp(up: boolean): void {
    if (this.#fsm.interfaceUp !== up || this.#fsm.state === "INIT") {
      this.#event({ type: "interface", up });
    }
  }

  /** The own source address changed; null = none (FAULT). */
  setSourceAddress(address: string | null): void {
    if (this.#fsm.sourceAddress !== address) this.#event({ type: "source_address", address });
  }

  /** New tracker inputs (the whole list), when any changed. */
  setTrackers(trackers: TrackerInput[]): void {
    if (JSON.stringify(trackers) !== JSON.stringify(this.#fsm.trackers)) {
      this.#event({ type: "trackers", trackers });
    }
  }

  /** Sets or clears a named fault condition (§3.7). */
  setFault(reason: string, active: boolean): void {
    if (this.#fsm.faults.includes(reason) !== active) {
      this.#event({ type: "fault", reason, active });
    }
  }

  /** Someone else deleted a tracked VIP, eVIP, route or rule of this instance (§3.17). */
  lostObject(what: string): void {
    this.#event({ type: "lost_object", what });
  }

  /** The daemon's loop woke late (§3.14). */
  lateWakeup(): void {
    this.#event({ type: "late_wakeup" });
  }

  /** The daemon stops (§3.8); `release` false with `--dont-release-vrrp`. */
  shutdown(release: boolean): void {
    this.#event({ type: "shutdown", release });
    for (const t of this.#timers.values()) t.cancel();
    this.#timers.clear();
    // The last advert (priority 0) is out: the keys are no longer needed.
    this.#hmac?.close();
    this.#ah?.close();
  }

  // ---- internals ----

  /**
   * Steps the FSM with `e` at the current time, or at `atUs` when the event happened
   * earlier (an advert's kernel arrival time: the master-down timer runs from there, RFC
   * 5798 §6.4.2), never before the previous step.
   */
  #event(e: FsmEvent, atUs?: number): void {
    const now = Math.floor(this.#io.nowUs());
    const at = atUs === undefined ? now : Math.max(Math.min(Math.floor(atUs), now), this.#lastUs);
    this.#lastUs = at;
    this.#apply(step(this.#fsm, e, at));
  }

  /** Take the step's state, count transitions, then perform its actions in order. */
  #apply(r: StepResult): void {
    const from = this.#fsm.state;
    this.#fsm = r.state;
    const to = r.state.state;
    if (to !== from) {
      // The step's time: #event and #fire set it before stepping.
      this.#lastTransitionUs = this.#lastUs;
      if (to === "MASTER") {
        bumpCounters(this.counters, ["become_master"]);
        // §2.2: a cycled AH counter starts again at 0 with the first advert as MASTER.
        this.#ah?.sequence.becomeMaster();
      }
      if (from === "MASTER") bumpCounters(this.counters, ["release_master"]);
      this.#forgetNotes();
    }
    let previous: FsmAction["type"] | undefined;
    for (const a of r.actions) {
      // §6.4: the second priority-0 advert of MASTER → FAULT (after the addresses went)
      // is not counted in pri_zero_sent.
      this.#perform(a, previous === "remove_vips");
      previous = a.type;
    }
  }

  #perform(a: FsmAction, afterRemoval: boolean): void {
    const io = this.#io;
    switch (a.type) {
      case "send_advert":
        return this.#sendAdvert(a.priority, afterRemoval);
      case "add_vips":
        this.#installed = true;
        return this.#guard("addresses", () => io.addAddresses(a.accept));
      case "remove_vips":
        this.#installed = false;
        return this.#guard("addresses", () => io.removeAddresses());
      case "garp":
        if (!this.#installed) return;
        return this.#guard("announce", () => io.announce(a.rounds));
      case "garp_source":
        return this.#guard("announce", () => io.announceSource());
      case "notify":
        return io.notify(a.state, a.priority);
      case "log":
        return io.log(a.level, a.message);
      case "schedule": {
        this.#timers.get(a.timer)?.cancel();
        const id = a.timer;
        const at = a.atUs;
        this.#timers.set(
          id,
          io.setTimer(at, () => {
            this.#timers.delete(id);
            this.#fire(id, at);
          }, id),
        );
        return;
      }
      case "cancel":
        this.#timers.get(a.timer)?.cancel();
        this.#timers.delete(a.timer);
        return;
    }
  }

  /**
   * A timer is due: deliver it at no earlier than its deadline (the FSM drops early ones,
   * and `InstanceIo.setTimer` may fire slightly early).
   */
  #fire(timer: TimerId, atUs: number): void {
    const now = Math.max(Math.floor(this.#io.nowUs()), atUs);
    this.#lastUs = now;
    this.#apply(step(this.#fsm, { type: "timer", timer }, now));
  }

  #guard(what: keyof InstanceErrors, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.errors[what]++;
      this.#limitedLog("error", `error:${what}`, errorText(e));
    }
  }

  /**
   * The copies an advert goes out as (§1.4, §1.5): one to the group, or one per unicast
   * peer, each fully encoded once for the current source address; sending then only
   * patches the priority, the IPv4 identification and the checksum.
   */
  #copies(source: string): Copy[] {
    const old = this.#view.oldUnicastChecksum;
    const built = this.#built;
    if (built !== undefined && built.source === source && built.old === old) return built.copies;
    const spec = this.#spec;
    const advert: AdvertSpec = {
      version: spec.version,
      family: spec.family,
      vrid: spec.vrid,
      priority: 0,
      advertInterval: advertIntervalToWire(spec.version, spec.settings.advertIntUs),
      addresses: this.#vipBytes,
      ...(spec.authPass === undefined
        ? {}
        : { authType: AUTH_PASS, authData: authPassBytes(spec.authPass) }),
    };
    const length = advertLength(spec.version, spec.family, this.#vipBytes.length);
    // §2.3.3: room for the auth_hmac trailer after the message (IPv4 total length includes it).
    const trailer = this.#hmac?.sends ? AUTH_HMAC_TRAILER_LENGTH : 0;
    const unicast = spec.peers.length > 0;
    const destinations = unicast ? spec.peers.map((p) => p.address) : [spec.mcastGroup];
    const ttl = unicast ? spec.unicastTtl : undefined;
    const copies: Copy[] = [];
    for (const dst of destinations) {
      if (spec.family === 6) {
        // The kernel checksums the whole payload, trailer included (IPV6_CHECKSUM, §1.8).
        const data = new Uint8Array(length + trailer);
        encodeAdvertInto(advert, data, 0);
        copies.push({
          advert: {
            data,
            destination: dst,
            source,
            ...(ttl === undefined ? {} : { hopLimit: ttl }),
          },
          ...views(data, 0, length, trailer),
          v4: undefined,
          source: bytesOf(source, 6),
        });
        continue;
      }
      const src = bytesOf(source, 4);
      const dstBytes = bytesOf(dst, 4);
      // Pre-1.3.6 peers checksum unicast VRRPv3 to the group address (§1.8).
      const sumTo = unicast && old ? this.#groupBytes : dstBytes;
      const header = {
        source: src,
        destination: dstBytes,
        id: 1,
        ...(ttl === undefined ? {} : { ttl }),
      };
      const data = this.#ah !== undefined
        ? encodeAhDatagram(advert, header)
        : encodeIPv4Datagram(advert, { ...header, trailerLength: trailer });
      copies.push({
        advert: { data, destination: dst },
        ...views(data, data.length - length - trailer, length, trailer),
        v4: { source: src, sumTo },
        source: src,
      });
    }
    this.#built = { source, old, copies };
    return copies;
  }

  /**
   * One advert at `priority`: every copy, IPv4 ones with the next identification. The
   * priority and checksums are patched first; then AH copies get the advert's sequence and
   * their own ICV, or the first copy is signed with auth_hmac and its trailer copied to the
   * others (one signature per advert, §2.3.6); then every copy is sent.
   */
  #sendAdvert(priority: number, afterRemoval: boolean): void {
    const source = this.#fsm.sourceAddress;
    if (source === null) return;
    const counters: CounterName[] = ["advert_sent"];
    if (priority === 0 && !afterRemoval) counters.push("pri_zero_sent");
    bumpCounters(this.counters, counters);
    let copies: Copy[];
    try {
      copies = this.#copies(source);
    } catch (e) {
      this.errors.send++;
      this.#limitedLog("error", "error:send", errorText(e));
      return;
    }
    const spec = this.#spec;
    if (spec.family === 4) this.#ipId = nextIpId(this.#ipId);
    const ah = this.#ah;
    const ahSequence = ah === undefined ? 0 : ah.sequence.next();
    for (const c of copies) {
      const d = c.advert.data;
      const message = c.message;
      message[2] = priority;
      if (c.v4 !== undefined) {
        d[4] = this.#ipId >> 8;
        d[5] = this.#ipId & 0xff;
        setAdvertChecksum(message, 4, {
          source: c.v4.source,
          destination: c.v4.sumTo,
          v3ChecksumAsV2: spec.v3ChecksumAsV2,
        });
        if (ah !== undefined) {
          setAhSequence(d, ahSequence);
          ah.sign(d);
        }
      }
    }
    const hmac = this.#hmac;
    const first = copies[0];
    if (hmac !== undefined && first?.trailer !== undefined) {
      try {
        hmac.sign(first.message, first.trailer, first.source);
      } catch (e) {
        this.errors.send++;
        this.#limitedLog("error", "error:send", errorText(e));
        return;
      }
      for (let i = 1; i < copies.length; i++) (copies[i] as Copy).trailer?.set(first.trailer);
    }
    for (const c of copies) this.#guard("send", () => this.#io.send(c.advert));
  }

  /**
   * An accepted AH advert (§2.2): any clears a cycled counter; a MASTER that hears a lower
   * priority (or an equal one from a lower address) continues above the sender's sequence.
   */
  #ahReceived(advert: DecodedAdvert): void {
    const seq = this.#ah?.sequence;
    const ah = advert.ah;
    if (seq === undefined || ah === undefined) return;
    seq.cycle = false;
    if (this.#fsm.state !== "MASTER") return;
    const ours = this.#fsm.effectivePriority;
    const own = this.#fsm.sourceAddress === null ? undefined : parseIp(this.#fsm.sourceAddress);
    if (
      advert.priority < ours ||
      (advert.priority === ours && own !== undefined && compareBytes(advert.source, own.bytes) < 0)
    ) {
      seq.resync(ah.sequence);
      this.#io.log("info", `(${this.name}) IPSEC-AH : Syncing seq_num - Increment seq`);
    }
  }

  /**
   * The auth_hmac extension for `spec` with `keys` (undefined without auth_hmac). Only the
   * configured key ids are taken.
   */
  #makeHmac(
    spec: InstanceSpec,
    keys: ReadonlyMap<number, Uint8Array> | undefined,
    peers: readonly PeerView[],
  ): AuthHmac | undefined {
    const settings = spec.authHmac;
    if (settings === undefined) return undefined;
    const missing = settings.keyIds.filter((id) => keys?.get(id) === undefined);
    if (missing.length > 0) {
      throw new RangeError(
        `auth_hmac key(s) ${missing.join(", ")} have no key bytes; check the key lines and files`,
      );
    }
    let ring: KeyRing;
    try {
      ring = KeyRing.from(
        ownKeys(settings, keys as ReadonlyMap<number, Uint8Array>),
        settings.activeKey,
      );
    } catch (e) {
      throw new RangeError(`auth_hmac: ${errorText(e)}`);
    }
    const io = this.#io;
    return new AuthHmac(
      settings,
      {
        family: spec.family,
        version: spec.version,
        vrid: spec.vrid,
        unicastPeers: peers.map((p) => p.address),
      },
      ring,
      { realtimeUs: () => io.realtimeUs(), monotonicUs: () => io.nowUs() },
    );
  }

  /**
   * A log line of `kind` at most once a minute at its level, and at detail level in
   * between, so that a stream of bad packets cannot flood the log (the counters still
   * count every one).
   */
  #limitedLog(level: LogLevel, kind: string, message: string): void {
    const now = this.#io.nowUs();
    const last = this.#logged.get(kind);
    const quiet = last !== undefined && now - last < LOG_REPEAT_US;
    if (!quiet) this.#logged.set(kind, now);
    this.#io.log(quiet ? "detail" : level, `(${this.name}) ${message}`);
  }

  #forgetNotes(): void {
    for (const k of [...this.#logged.keys()]) if (k.startsWith("note:")) this.#logged.delete(k);
  }
}

/** The keys of `keys` that `settings` configures. */
function ownKeys(
  settings: AuthHmacSettings,
  keys: ReadonlyMap<number, Uint8Array>,
): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  for (const id of settings.keyIds) {
    const k = keys.get(id);
    if (k !== undefined) out.set(id, k);
  }
  return out;
}

function bytesOf(text: string, family: Family): Uint8Array {
  const ip = parseIp(text);
  if (ip === undefined || ip.family !== family) {
    throw new RangeError(`Address '${text}' is not an IPv${family} address`);
  }
  return ip.bytes;
}
