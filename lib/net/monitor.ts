/**
 * The interface and address monitor: an rtnetlink socket subscribed to link, IPv4-address
 * and IPv6-address events (and, on request, route and rule deletions), turned into typed
 * events for the daemon (interface up/down and vanished interfaces for FAULT, spec/vrrp.md
 * §3.7 and §3.13; the addresses of each interface, for the source address and `kad dump`;
 * deleted VIPs, routes and rules, §3.17). Also the link queries the daemon needs
 * at start-up (a snapshot to compare events against).
 *
 * Owns parsing RTM_NEWLINK/RTM_DELLINK and reading the event socket until it is empty.
 * It keeps no interface table and takes no decision: the daemon does. When the kernel had
 * to drop events (ENOBUFS) it reports an `overrun` event, after which the daemon should
 * take a fresh snapshot (`listLinks`, `listAddresses`).
 */
import { ErrnoError } from "../../ffi/libc.ts";
import {
  attrString,
  attrU32,
  attrU8,
  ifinfomsg,
  IFLA_IFNAME,
  MessageBuilder,
  type Netlink,
  NetlinkEvents,
  type NetlinkMessage,
  NLM_F,
  parseAttributes,
  RTM,
  RTMGRP,
  RTNLGRP,
} from "./netlink.ts";
import { type KernelAddress, parseAddressMessage } from "./addresses.ts";
import { type KernelRoute, parseRouteMessage } from "./routes.ts";
import { type KernelRule, parseRuleMessage } from "./rules.ts";
import type { Reactor } from "../runtime/reactor.ts";

/** Interface flags (linux/if.h IFF_*). */
export const IFF = {
  UP: 0x1,
  BROADCAST: 0x2,
  LOOPBACK: 0x8,
  POINTOPOINT: 0x10,
  RUNNING: 0x40,
  NOARP: 0x80,
  MULTICAST: 0x1000,
  LOWER_UP: 0x10000,
} as const;

const IFLA = {
  ADDRESS: 1,
  MTU: 4,
  LINK: 5,
  MASTER: 10,
  OPERSTATE: 16,
  LINKINFO: 18,
} as const;
const IFLA_INFO_KIND = 1;
const OPER_STATES = [
  "UNKNOWN",
  "NOTPRESENT",
  "DOWN",
  "LOWERLAYERDOWN",
  "TESTING",
  "DORMANT",
  "UP",
] as const;

/** An interface as the kernel reports it. */
export interface KernelLink {
  readonly ifindex: number;
  readonly name: string;
  /** IFF_* flags. */
  readonly flags: number;
  /** Administratively up (IFF_UP). */
  readonly up: boolean;
  /** Operationally running (IFF_RUNNING); keepalived's "up" is `up && running` (§3.13). */
  readonly running: boolean;
  readonly noarp: boolean;
  readonly mtu?: number;
  /** Hardware address (6 bytes on Ethernet), when the link has one. */
  readonly mac?: Uint8Array;
  readonly operState: string;
  /** The ifindex of the bridge or bond it is enslaved to. */
  readonly master?: number;
  /** The ifindex of the parent of a VLAN, macvlan or veth. */
  readonly parent?: number;
  /** The link type (`veth`, `macvlan`, `bridge`, ...), when it has one. */
  readonly kind?: string;
}

/**
 * What the monitor reports. `pid` is the netlink port id of the socket whose request made
 * the change (0 for the kernel's own changes): see `Netlink.portid`. Routes and rules are
 * reported only once watched (`watchRoutesAndRules`), and only their deletion.
 */
export type NetEvent =
  | { readonly kind: "link"; readonly action: "new" | "del"; readonly link: KernelLink }
  | {
    readonly kind: "address";
    readonly action: "new" | "del";
    readonly address: KernelAddress;
    readonly pid: number;
  }
  | {
    readonly kind: "route";
    readonly action: "del";
    readonly route: KernelRoute;
    readonly pid: number;
  }
  | {
    readonly kind: "rule";
    readonly action: "del";
    readonly rule: KernelRule;
    readonly pid: number;
  }
  | { readonly kind: "overrun" };

/** Parses an RTM_NEWLINK/RTM_DELLINK message. */
export function parseLinkMessage(m: NetlinkMessage): KernelLink | undefined {
  if (m.body.length < 16) return undefined;
  const v = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
  const a = parseAttributes(m.body, 16);
  const name = attrString(a, IFLA_IFNAME);
  if (name === undefined) return undefined;
  const flags = v.getUint32(8, true);
  const mtu = attrU32(a, IFLA.MTU);
  const address = a.get(IFLA.ADDRESS);
  const master = attrU32(a, IFLA.MASTER);
  const parent = attrU32(a, IFLA.LINK);
  const info = a.get(IFLA.LINKINFO);
  const kind = info === undefined ? undefined : attrString(parseAttributes(info), IFLA_INFO_KIND);
  const ifindex = v.getInt32(4, true);
  return {
    ifindex,
    name,
    flags,
    up: (flags & IFF.UP) !== 0,
    running: (flags & IFF.RUNNING) !== 0,
    noarp: (flags & IFF.NOARP) !== 0,
    ...(mtu === undefined ? {} : { mtu }),
    ...(address === undefined || address.length === 0 ? {} : { mac: address.slice() }),
    operState: OPER_STATES[attrU8(a, IFLA.OPERSTATE) ?? 0] ?? "UNKNOWN",
    ...(master === undefined || master === 0 ? {} : { master }),
    ...(parent === undefined || parent === ifindex ? {} : { parent }),
    ...(kind === undefined ? {} : { kind }),
  };
}

/** Every interface of the netlink socket's namespace. */
export function listLinks(nl: Netlink): KernelLink[] {
  const msgs = nl.dump(
    () => new MessageBuilder(RTM.GETLINK, NLM_F.REQUEST | NLM_F.DUMP, ifinfomsg()),
    "listing interfaces",
  );
  const out: KernelLink[] = [];
  for (const m of msgs) {
    const l = m.type === RTM.NEWLINK ? parseLinkMessage(m) : undefined;
    if (l !== undefined) out.push(l);
  }
  return out;
}

/** One interface by name; throws "looking up interface 'eth9' failed: No such device (ENODEV)". */
export function getLink(nl: Netlink, ifname: string): KernelLink {
  const operation = `looking up interface '${ifname}'`;
  const m = nl.get(
    new MessageBuilder(RTM.GETLINK, NLM_F.REQUEST, ifinfomsg()).string(IFLA_IFNAME, ifname),
    operation,
  );
  const l = parseLinkMessage(m);
  if (l === undefined) throw new Error(`${operation} failed: the kernel's answer was malformed`);
  return l;
}

/** Counters of a monitor. */
export interface MonitorStats {
  events: number;
  overruns: number;
  /** Messages of a subscribed type that could not be parsed. */
  malformed: number;
}

/**
 * The event socket. Use `attach()` to have the reactor deliver events, or `drain()` to read
 * what is queued.
 */
export class NetMonitor {
  readonly stats: MonitorStats = { events: 0, overruns: 0, malformed: 0 };
  readonly #events: NetlinkEvents;
  #reactor: Reactor | undefined;
  #watchingRoutes = false;

  private constructor(events: NetlinkEvents) {
    this.#events = events;
  }

  /**
   * Subscribes to link, IPv4-address and IPv6-address events. `receiveBuffer` is the
   * kernel-side queue in bytes (default 1 MiB, enough for an interface with thousands of
   * addresses going down at once).
   */
  static open(options: { readonly receiveBuffer?: number } = {}): NetMonitor {
    return new NetMonitor(
      NetlinkEvents.open(
        RTMGRP.LINK | RTMGRP.IPV4_IFADDR | RTMGRP.IPV6_IFADDR,
        options.receiveBuffer,
      ),
    );
  }

  get fd(): number {
    return this.#events.fd;
  }

  /**
   * Also report deleted routes and rules (IPv4 and IPv6), for the daemon to notice its
   * virtual routes and rules being removed by someone else (spec/vrrp.md §3.17). Only
   * joined when a configuration has such objects to track: on a router with a full table,
   * route events are many. Idempotent.
   */
  watchRoutesAndRules(): void {
    if (this.#watchingRoutes) return;
    for (const g of Object.values(RTNLGRP)) this.#events.join(g);
    this.#watchingRoutes = true;
  }

  /** Everything queued now, in the kernel's order (non-blocking). */
  drain(): NetEvent[] {
    const out: NetEvent[] = [];
    for (;;) {
      let msgs: NetlinkMessage[] | null;
      try {
        msgs = this.#events.receive();
      } catch (e) {
        if (e instanceof ErrnoError && e.code === "ENOBUFS") {
          this.stats.overruns++;
          out.push({ kind: "overrun" });
          continue;
        }
        throw e;
      }
      if (msgs === null) return out;
      for (const m of msgs) {
        const e = toEvent(m);
        if (e === null) continue;
        if (e === undefined) {
          this.stats.malformed++;
          continue;
        }
        this.stats.events++;
        out.push(e);
      }
    }
  }

  /**
   * Registers the socket with `reactor`; `onEvent` gets each event as it arrives. A failing
   * `onEvent` is logged and counted by the reactor and does not stop later events of the
   * same batch from being delivered.
   */
  attach(reactor: Reactor, onEvent: (e: NetEvent) => void): void {
    if (this.#reactor !== undefined) throw new Error("The monitor is already attached");
    this.#reactor = reactor;
    reactor.add(this.fd, () => {
      const errors: unknown[] = [];
      for (const e of this.drain()) {
        try {
          onEvent(e);
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length > 0) throw errors[0];
    }, "the interface monitor");
  }

  /** Unregisters from the reactor (if attached) and closes the socket. */
  close(): void {
    this.#reactor?.remove(this.fd);
    this.#reactor = undefined;
    this.#events.close();
  }
}

/** The event of a message: null for types the monitor ignores, undefined when malformed. */
function toEvent(m: NetlinkMessage): NetEvent | null | undefined {
  switch (m.type) {
    case RTM.NEWLINK:
    case RTM.DELLINK: {
      const link = parseLinkMessage(m);
      return link && { kind: "link", action: m.type === RTM.NEWLINK ? "new" : "del", link };
    }
    case RTM.NEWADDR:
    case RTM.DELADDR: {
      const address = parseAddressMessage(m);
      return address &&
        { kind: "address", action: m.type === RTM.NEWADDR ? "new" : "del", address, pid: m.pid };
    }
    case RTM.DELROUTE: {
      const route = parseRouteMessage(m);
      return route && { kind: "route", action: "del", route, pid: m.pid };
    }
    case RTM.DELRULE: {
      const rule = parseRuleMessage(m);
      return rule && { kind: "rule", action: "del", rule, pid: m.pid };
    }
    default:
      return null;
  }
}
