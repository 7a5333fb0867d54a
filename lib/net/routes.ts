/**
 * Kernel routes: add and remove the routes of `virtual_routes` and `static_routes`
 * (spec/vrrp.md §3.17), list routes, and remove leftovers of a previous run (§3.3 step 3).
 *
 * Messages follow `ip route` (the configuration grammar is its grammar): the type defaults
 * to unicast and a table above 255 goes in RTA_TABLE. As keepalived 2.2.7 does (checked on
 * this kernel): routes are added with protocol `keepalived` (18) unless the line names one;
 * without `scope` a unicast route keeps scope global even without a gateway (`ip route`
 * would pick link), local/nat routes get host and broadcast/multicast/anycast routes link;
 * routes are prepended (NLM_F_CREATE without NLM_F_EXCL) unless the line says `add` or
 * `append`. The deprecated `via A or B` becomes a two-path route through A and B.
 *
 * Owns RTM_NEWROUTE/RTM_DELROUTE/RTM_GETROUTE. It must not decide when routes change.
 */
import type { Family } from "./ipaddr.ts";
import { parseIp } from "./ipaddr.ts";
import {
  AF_INET,
  AF_INET6,
  attrU32,
  MessageBuilder,
  type Netlink,
  type NetlinkMessage,
  NLM_F,
  RTM,
} from "./netlink.ts";
import { resolveProtocol, resolveRealms, resolveScope, resolveTable } from "./rt_names.ts";
import type {
  Nexthop,
  RouteEntry,
  RouteMetricName,
  RouteType,
} from "../config/schema/vrrp_route.ts";
import {
  buildRequest,
  type CleanupReport,
  dumpParsed,
  familyByte,
  familyMessage,
  receivedForm,
  removeEach,
} from "./rt_common.ts";

/** Route attributes (linux/rtnetlink.h RTA_*). */
export const RTA = {
  DST: 1,
  SRC: 2,
  IIF: 3,
  OIF: 4,
  GATEWAY: 5,
  PRIORITY: 6,
  PREFSRC: 7,
  METRICS: 8,
  MULTIPATH: 9,
  FLOW: 11,
  TABLE: 15,
  PREF: 20,
  EXPIRES: 23,
  TTL_PROPAGATE: 26,
} as const;

/** Route types (RTN_*). */
export const RTN: Readonly<Record<RouteType | "unspec", number>> = {
  unspec: 0,
  unicast: 1,
  local: 2,
  broadcast: 3,
  anycast: 4,
  multicast: 5,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
  throw: 9,
  nat: 10,
  xresolve: 11,
};

const RTAX: Readonly<Record<RouteMetricName, number>> = {
  mtu: 2,
  window: 3,
  rtt: 4,
  rttvar: 5,
  ssthresh: 6,
  cwnd: 7,
  advmss: 8,
  reordering: 9,
  hoplimit: 10,
  initcwnd: 11,
  rto_min: 13,
  initrwnd: 14,
};
const RTAX_LOCK = 1;
const RTAX_FEATURES = 12;
const RTAX_QUICKACK = 15;
const RTAX_CC_ALGO = 16;
const RTAX_FASTOPEN_NO_COOKIE = 17;
const RTAX_FEATURE_ECN = 1;

/** rtm_flags / rtnh_flags bit for `onlink`. */
const RTNH_F_ONLINK = 4;
export const RT_TABLE_MAIN = 254;
/** The protocol keepalived gives the routes and rules it adds (rt_protos "keepalived"). */
export const RTPROT_KEEPALIVED = 18;
const RT_SCOPE = { universe: 0, link: 253, host: 254, nowhere: 255 } as const;
const ICMPV6_ROUTER_PREF = { low: 3, medium: 0, high: 1 } as const;

/** A route as the kernel reports it (the fields kad looks at). */
export interface KernelRoute {
  readonly family: Family;
  readonly type: number;
  /** Destination prefix in canonical text; `0.0.0.0`/`::` with prefix 0 for default. */
  readonly dest: string;
  readonly prefix: number;
  readonly table: number;
  readonly protocol: number;
  readonly scope: number;
  readonly tos: number;
  readonly oif?: number;
  readonly gateway?: string;
  readonly prefsrc?: string;
  readonly metric?: number;
  /** Number of paths of a multipath route (0 for a single-path one). */
  readonly paths: number;
}

function ipBytes(text: string, family: Family, what: string): Uint8Array {
  const ip = parseIp(text);
  if (ip === undefined || ip.family !== family) {
    throw new RangeError(`${what} '${text}' is not an IPv${family} address`);
  }
  return ip.bytes;
}

/** The route for messages: "203.0.113.0/24 via 192.0.2.254 dev eth0 table 100". */
export function routeText(r: RouteEntry): string {
  const parts = [r.type === undefined || r.type === "unicast" ? "" : `${r.type} `];
  parts.push(`${r.dest.address}/${r.dest.prefix}`);
  if (r.via !== undefined) parts.push(` via ${r.via}`);
  if (r.dev !== undefined) parts.push(` dev ${r.dev}`);
  if (r.table !== undefined) parts.push(` table ${r.table}`);
  if (r.metric !== undefined) parts.push(` metric ${r.metric}`);
  return parts.join("");
}

/** The paths of a route: its `nexthop`s, or `via A or B` as two paths, else none. */
function pathsOf(r: RouteEntry): Nexthop[] {
  if (r.nexthops !== undefined && r.nexthops.length > 0) return r.nexthops;
  if (r.or === undefined) return [];
  const dev = r.dev === undefined ? {} : { dev: r.dev };
  return [{ ...(r.via === undefined ? {} : { via: r.via }), ...dev }, { via: r.or, ...dev }];
}

function defaultScope(r: RouteEntry): number {
  switch (r.type) {
    case "local":
    case "nat":
      return RT_SCOPE.host;
    case "broadcast":
    case "multicast":
    case "anycast":
      return RT_SCOPE.link;
    default:
      return RT_SCOPE.universe;
  }
}

function rtmsg(
  family: Family,
  dstLen: number,
  srcLen: number,
  tos: number,
  table: number,
  protocol: number,
  scope: number,
  type: number,
  flags: number,
): Uint8Array {
  const b = new Uint8Array(12);
  b.set([
    family === 4 ? AF_INET : AF_INET6,
    dstLen,
    srcLen,
    tos,
    table < 256 ? table : 0,
    protocol,
    scope,
    type,
  ]);
  new DataView(b.buffer).setUint32(8, flags, true);
  return b;
}

/** The ifindex of an interface by name, or a throw naming `operation` when there is none. */
export type IndexOf = (ifname: string, operation: string) => number;

function routeMessage(
  indexOf: IndexOf,
  msgType: number,
  nlFlags: number,
  r: RouteEntry,
  adding: boolean,
  operation: string,
): MessageBuilder {
  const fam = r.family;
  const paths = pathsOf(r);
  const table = r.table === undefined ? RT_TABLE_MAIN : resolveTable(r.table);
  const protocol = r.protocol !== undefined
    ? resolveProtocol(r.protocol)
    : adding
    ? RTPROT_KEEPALIVED
    : 0;
  const scope = r.scope !== undefined
    ? resolveScope(r.scope)
    : adding
    ? defaultScope(r)
    : RT_SCOPE.nowhere;
  const type = r.type !== undefined ? RTN[r.type] : adding ? RTN.unicast : RTN.unspec;
  const b = new MessageBuilder(
    msgType,
    nlFlags,
    rtmsg(
      fam,
      r.dest.prefix,
      r.from?.prefix ?? 0,
      r.tos ?? 0,
      table,
      protocol,
      scope,
      type,
      r.onlink ? RTNH_F_ONLINK : 0,
    ),
  );
  if (r.dest.prefix > 0) b.bytes(RTA.DST, ipBytes(r.dest.address, fam, "destination"));
  if (r.from !== undefined && r.from.prefix > 0) {
    b.bytes(RTA.SRC, ipBytes(r.from.address, fam, "source prefix"));
  }
  if (table >= 256) b.u32(RTA.TABLE, table);
  if (r.src !== undefined) b.bytes(RTA.PREFSRC, ipBytes(r.src, fam, "src"));
  if (r.metric !== undefined) b.u32(RTA.PRIORITY, r.metric);
  if (paths.length === 0) {
    if (r.via !== undefined) b.bytes(RTA.GATEWAY, ipBytes(r.via, fam, "gateway"));
    if (r.dev !== undefined) b.u32(RTA.OIF, indexOf(r.dev, operation));
  } else {
    b.bytes(RTA.MULTIPATH, multipath(indexOf, fam, paths, operation));
  }
  if (r.realms !== undefined) b.u32(RTA.FLOW, resolveRealms(r.realms));
  if (!adding) return b;
  putMetrics(b, r);
  if (r.pref !== undefined) b.u8(RTA.PREF, ICMPV6_ROUTER_PREF[r.pref]);
  if (r.expires !== undefined) b.u32(RTA.EXPIRES, r.expires);
  if (r.ttlPropagate !== undefined) b.u8(RTA.TTL_PROPAGATE, r.ttlPropagate ? 1 : 0);
  return b;
}

function putMetrics(b: MessageBuilder, r: RouteEntry): void {
  const m = r.metrics ?? {};
  const names = Object.keys(m) as RouteMetricName[];
  if (
    names.length === 0 && r.congctl === undefined && r.features === undefined &&
    r.quickack === undefined && r.fastopenNoCookie === undefined
  ) return;
  let lock = 0;
  for (const n of names) if (m[n]?.lock) lock |= 1 << RTAX[n];
  if (r.congctl?.lock) lock |= 1 << RTAX_CC_ALGO;
  b.nest(RTA.METRICS);
  if (lock !== 0) b.u32(RTAX_LOCK, lock);
  for (const n of names) {
    const v = m[n];
    if (v !== undefined) b.u32(RTAX[n], v.value);
  }
  if (r.features === "ecn") b.u32(RTAX_FEATURES, RTAX_FEATURE_ECN);
  if (r.quickack !== undefined) b.u32(RTAX_QUICKACK, r.quickack ? 1 : 0);
  if (r.fastopenNoCookie !== undefined) {
    b.u32(RTAX_FASTOPEN_NO_COOKIE, r.fastopenNoCookie ? 1 : 0);
  }
  if (r.congctl !== undefined) b.string(RTAX_CC_ALGO, r.congctl.name);
  b.end();
}

/** RTA_MULTIPATH payload: `struct rtnexthop` (8 bytes) + RTA_GATEWAY/RTA_FLOW per path. */
function multipath(
  indexOf: IndexOf,
  fam: Family,
  paths: readonly Nexthop[],
  operation: string,
): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const nh of paths) {
    const attrs: Uint8Array[] = [];
    const attr = (type: number, payload: Uint8Array) => {
      const a = new Uint8Array((4 + payload.length + 3) & ~3);
      new DataView(a.buffer).setUint16(0, 4 + payload.length, true);
      new DataView(a.buffer).setUint16(2, type, true);
      a.set(payload, 4);
      attrs.push(a);
    };
    if (nh.via !== undefined) attr(RTA.GATEWAY, ipBytes(nh.via, fam, "nexthop gateway"));
    if (nh.realms !== undefined) {
      const f = new Uint8Array(4);
      new DataView(f.buffer).setUint32(0, resolveRealms(nh.realms), true);
      attr(RTA.FLOW, f);
    }
    const len = 8 + attrs.reduce((s, a) => s + a.length, 0);
    const p = new Uint8Array(len);
    const v = new DataView(p.buffer);
    v.setUint16(0, len, true);
    p[2] = nh.onlink ? RTNH_F_ONLINK : 0;
    p[3] = (nh.weight ?? 1) - 1;
    v.setInt32(4, nh.dev === undefined ? 0 : indexOf(nh.dev, operation), true);
    let off = 8;
    for (const a of attrs) {
      p.set(a, off);
      off += a.length;
    }
    parts.push(p);
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function mode(r: RouteEntry): number {
  switch (r.mode) {
    case "add":
      return NLM_F.CREATE | NLM_F.EXCL;
    case "append":
      return NLM_F.CREATE | NLM_F.APPEND;
    default:
      return NLM_F.CREATE;
  }
}

/**
 * Adds a route (prepended unless the entry says `add`/`append`). Throws an `ErrnoError`
 * such as "adding route 203.0.113.0/24 via 192.0.2.254 dev eth0 failed: Network is
 * unreachable (ENETUNREACH)", or a RangeError for an unknown table/protocol/realm name.
 */
export function addRoute(nl: Netlink, r: RouteEntry): void {
  const operation = `adding route ${routeText(r)}`;
  const b = buildRequest(
    operation,
    () =>
      routeMessage(
        indexOfOn(nl),
        RTM.NEWROUTE,
        NLM_F.REQUEST | NLM_F.ACK | mode(r),
        r,
        true,
        operation,
      ),
  );
  nl.request(b, operation);
}

/** Removes a route (matching its destination, table, gateway, interface and metric). */
export function removeRoute(nl: Netlink, r: RouteEntry): void {
  const operation = `removing route ${routeText(r)}`;
  const b = buildRequest(
    operation,
    () => routeMessage(indexOfOn(nl), RTM.DELROUTE, NLM_F.REQUEST | NLM_F.ACK, r, false, operation),
  );
  nl.request(b, operation);
}

function indexOfOn(nl: Netlink): IndexOf {
  return (ifname, operation) => nl.linkIndexFor(ifname, operation);
}

/**
 * Whether `k`, a route the kernel reported, is the one `addRoute(r)` installs. Compared are
 * what keepalived identifies its routes by (family, table, destination and prefix, tos,
 * metric, output interface; spec/vrrp.md §3.17) and the type and protocol kad gives it;
 * a metric or an interface the entry leaves to the kernel is not compared. `indexOf`
 * resolves interface names; an entry naming an interface that does not exist matches
 * nothing.
 */
export function isInstalledRoute(r: RouteEntry, k: KernelRoute, indexOf: IndexOf): boolean {
  let want: KernelRoute | undefined;
  try {
    want = parseRouteMessage(receivedForm(routeMessage(indexOf, RTM.NEWROUTE, 0, r, true, "")));
  } catch {
    return false;
  }
  return want !== undefined && want.family === k.family && want.dest === k.dest &&
    want.prefix === k.prefix && want.table === k.table && want.tos === k.tos &&
    want.type === k.type && want.protocol === k.protocol &&
    (want.metric === undefined || want.metric === k.metric) &&
    (want.oif === undefined || want.oif === k.oif);
}

/** Parses an RTM_NEWROUTE message; undefined for families other than IPv4/IPv6. */
export function parseRouteMessage(m: NetlinkMessage): KernelRoute | undefined {
  const fm = familyMessage(m, 12);
  if (fm === undefined) return undefined;
  const { family, attrs: a, ip } = fm;
  const oif = attrU32(a, RTA.OIF);
  const gateway = ip(RTA.GATEWAY);
  const prefsrc = ip(RTA.PREFSRC);
  const metric = attrU32(a, RTA.PRIORITY);
  let paths = 0;
  const mp = a.get(RTA.MULTIPATH);
  if (mp !== undefined) {
    const v = new DataView(mp.buffer, mp.byteOffset, mp.byteLength);
    for (let off = 0; off + 8 <= mp.length;) {
      const len = v.getUint16(off, true);
      if (len < 8) break;
      paths++;
      off += (len + 3) & ~3;
    }
  }
  return {
    family,
    type: m.body[7] as number,
    dest: ip(RTA.DST) ?? (family === 4 ? "0.0.0.0" : "::"),
    prefix: m.body[1] as number,
    table: attrU32(a, RTA.TABLE) ?? (m.body[4] as number),
    protocol: m.body[5] as number,
    scope: m.body[6] as number,
    tos: m.body[3] as number,
    ...(oif === undefined ? {} : { oif }),
    ...(gateway === undefined ? {} : { gateway }),
    ...(prefsrc === undefined ? {} : { prefsrc }),
    ...(metric === undefined ? {} : { metric }),
    paths,
  };
}

/**
 * The routes of one family (or both), optionally of one table (the kernel filters; its
 * answer for table 0 is every table).
 */
export function listRoutes(
  nl: Netlink,
  filter: { readonly family?: Family; readonly table?: number } = {},
): KernelRoute[] {
  return dumpParsed(
    nl,
    () => {
      const h = new Uint8Array(12);
      h[0] = familyByte(filter.family);
      const b = new MessageBuilder(RTM.GETROUTE, NLM_F.REQUEST | NLM_F.DUMP, h);
      if (filter.table !== undefined) b.u32(RTA.TABLE, filter.table);
      return b;
    },
    "listing routes",
    RTM.NEWROUTE,
    parseRouteMessage,
    (r) => filter.table === undefined || r.table === filter.table,
  );
}

/**
 * Removes configured routes left by a previous run (spec/vrrp.md §3.3 step 3). A route
 * that is not there, or whose interface is gone, is fine; other failures are collected.
 */
export function removeLeftoverRoutes(nl: Netlink, entries: readonly RouteEntry[]): CleanupReport {
  return removeEach(entries, (r) => {
    removeRoute(nl, r);
    return routeText(r);
  });
}
