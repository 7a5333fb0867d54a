/**
 * The route line of `virtual_routes` and `static_routes` (spec/vrrp.md §3.17) as a
 * structured value. The grammar is `ip route`'s without abbreviations:
 *
 *   [TYPE] [src ADDR] [from PREFIX] [to] PREFIX|default [via|gw ADDR] [or ADDR] [dev IF]
 *   [table T] [metric|priority|preference N] [protocol P] [scope S] [tos N] [realms R]
 *   [METRIC [lock] N …] [congctl [lock] NAME] [features ecn] [quickack 0|1]
 *   [fastopen_no_cookie 0|1] [pref low|medium|high] [expires N] [ttl-propagate on|off]
 *   [onlink] [add|append|prepend] [no_track] [track_group G] [inet|inet6]
 *   [nexthop [via ADDR] [dev IF] [weight N] [onlink] [realms R] …]
 *
 * Owns parsing and printing of one line. A line with any invalid part is dropped after
 * its diagnostics (keepalived does not install half-understood routes).
 */
import type { Token } from "../ast.ts";
import { DiagClass } from "../diagnostic.ts";
import type { ParseContext, ValueType } from "../schema.ts";
import { quoteIfNeeded, UINT32_MAX } from "../types.ts";
import type { Family } from "../../net/ipaddr.ts";
import { LineParser, type LineUse } from "./vrrp_line.ts";
import {
  addressToken,
  formatPrefix,
  intToken,
  type IpPrefix,
  prefixToken,
  rememberLoc,
  type RtName,
  rtNameToken,
  type Scope,
  scopeToken,
  uintToken,
  wordToken,
} from "./vrrp_values.ts";

export const ROUTE_TYPES = [
  "unicast",
  "local",
  "nat",
  "broadcast",
  "anycast",
  "multicast",
  "prohibit",
  "unreachable",
  "blackhole",
  "xresolve",
  "throw",
] as const;
export type RouteType = typeof ROUTE_TYPES[number];

/** Route types that never go out of an interface, so there is nothing to track. */
export const DEVICELESS_ROUTE_TYPES: ReadonlySet<RouteType> = new Set<RouteType>([
  "prohibit",
  "unreachable",
  "blackhole",
  "throw",
]);

/** The `ip route` metrics that take `[lock] N`. */
export const ROUTE_METRICS = [
  "mtu",
  "advmss",
  "rtt",
  "rttvar",
  "reordering",
  "window",
  "cwnd",
  "ssthresh",
  "initcwnd",
  "initrwnd",
  "rto_min",
  "hoplimit",
] as const;
export type RouteMetricName = typeof ROUTE_METRICS[number];

export interface RouteMetric {
  value: number;
  lock?: true;
}

/** One path of a multipath route. */
export interface Nexthop {
  via?: string;
  dev?: string;
  /** 1 to 256. */
  weight?: number;
  onlink?: true;
  realms?: string;
}

export interface RouteEntry {
  /** Derived from the addresses (or `inet6`); IPv4 when nothing says otherwise. */
  family: Family;
  type?: RouteType;
  dest: IpPrefix;
  src?: string;
  /** Source prefix (IPv6 source-specific routing). */
  from?: IpPrefix;
  via?: string;
  /** Deprecated alternative gateway. */
  or?: string;
  dev?: string;
  table?: RtName;
  metric?: number;
  protocol?: RtName;
  scope?: Scope;
  tos?: number;
  realms?: string;
  metrics?: Partial<Record<RouteMetricName, RouteMetric>>;
  congctl?: { name: string; lock?: true };
  features?: "ecn";
  quickack?: boolean;
  fastopenNoCookie?: boolean;
  /** IPv6 router preference. */
  pref?: "low" | "medium" | "high";
  /** IPv6 expiry in seconds. */
  expires?: number;
  ttlPropagate?: boolean;
  onlink?: true;
  /** How the route is added; keepalived prepends by default. */
  mode?: "add" | "append" | "prepend";
  nexthops?: Nexthop[];
  noTrack?: true;
  trackGroup?: string;
}

/** Where a route line is used; `track_group` is only for static routes. */
export type RouteUse = LineUse;

/** The route as `DEST` text for messages. */
export function describeRoute(r: RouteEntry): string {
  return `${r.dest.address}/${r.dest.prefix}`;
}

/** Every interface a route names (its `dev` and its nexthops' `dev`). */
export function routeInterfaces(r: RouteEntry): string[] {
  const out: string[] = [];
  if (r.dev !== undefined) out.push(r.dev);
  for (const nh of r.nexthops ?? []) if (nh.dev !== undefined) out.push(nh.dev);
  return out;
}

const ON_OFF: Readonly<Record<string, boolean>> = { "0": false, "1": true };

class RouteParser extends LineParser<RouteEntry> {
  destDefault = false;

  constructor(tokens: readonly Token[], ctx: ParseContext, use: RouteUse) {
    super(tokens, ctx, use, "route");
  }

  /** An address after an option keyword, remembering its family. */
  addr(what: string): string | undefined {
    const a = addressToken(this.cur, this.ctx, what);
    if (a === undefined) {
      this.bad = true;
      return undefined;
    }
    this.families.add(a.family);
    return a.address;
  }

  prefix(what: string): IpPrefix | undefined {
    const i = this.cur.index;
    const t = this.cur.next();
    if (t === undefined) {
      this.fail(`'${this.ctx.keyword}' option '${what}' needs a prefix`, i - 1);
      return undefined;
    }
    return this.prefixFrom(t, i, what);
  }

  prefixFrom(t: Token, i: number, what: string): IpPrefix | undefined {
    if (t.text === "default") {
      this.destDefault = true;
      return { address: "", prefix: 0 };
    }
    const p = prefixToken(t, this.ctx, i, what);
    if (p === undefined) {
      this.bad = true;
      return undefined;
    }
    this.families.add(p.family);
    return { address: p.address, prefix: p.prefix };
  }

  metric(name: RouteMetricName): void {
    let lock: true | undefined;
    if (this.cur.peek()?.text === "lock") {
      this.cur.next();
      lock = true;
    }
    const v = this.num(uintToken(this.cur, this.ctx, name === "hoplimit" ? 255 : UINT32_MAX, name));
    if (v === undefined) return;
    const metrics = this.r.metrics ?? (this.r.metrics = {});
    metrics[name] = lock ? { value: v, lock } : { value: v };
  }

  nexthop(): Nexthop {
    const nh: Nexthop = {};
    while (!this.cur.done && this.cur.peek()?.text !== "nexthop") {
      const i = this.cur.index;
      const w = (this.cur.next() as Token).text;
      switch (w) {
        case "via": {
          const a = this.addr("via");
          if (a !== undefined) nh.via = a;
          break;
        }
        case "dev": {
          const d = this.ifname();
          if (d !== undefined) nh.dev = d;
          break;
        }
        case "weight": {
          const n = this.num(intToken(this.cur, this.ctx, 1, 256, "nexthop weight"));
          if (n !== undefined) nh.weight = n;
          break;
        }
        case "onlink":
          nh.onlink = true;
          break;
        case "realms": {
          const v = wordToken(this.cur, this.ctx, "realms");
          if (v === undefined) this.bad = true;
          else nh.realms = v;
          break;
        }
        default:
          this.fail(
            `'${this.ctx.keyword}' nexthop option '${w}' is unknown; a nexthop takes via, dev, weight, onlink and realms`,
            i,
          );
      }
    }
    return nh;
  }

  parse(): RouteEntry | undefined {
    const { cur, ctx, r } = this;
    while (!cur.done) {
      const i = cur.index;
      const t = cur.next() as Token;
      const w = t.text;
      if ((ROUTE_TYPES as readonly string[]).includes(w) || w === "brd") {
        if (r.type !== undefined) {
          this.fail(`'${ctx.keyword}' route has two types ('${r.type}' and '${w}')`, i);
        }
        r.type = w === "brd" ? "broadcast" : w as RouteType;
        continue;
      }
      if ((ROUTE_METRICS as readonly string[]).includes(w)) {
        this.metric(w as RouteMetricName);
        continue;
      }
      switch (w) {
        case "src": {
          const a = this.addr("src");
          if (a !== undefined) r.src = a;
          break;
        }
        case "from": {
          const p = this.prefix("from");
          if (p !== undefined) r.from = p;
          break;
        }
        case "to": {
          const p = this.prefix("to");
          if (p !== undefined) this.setDest(p, i);
          break;
        }
        case "gw":
        case "via": {
          if (w === "gw") {
            ctx.warn(
              `'${ctx.keyword}' option 'gw' is deprecated; use 'via'`,
              i,
              DiagClass.DEPRECATED,
            );
          }
          const fam = cur.peek()?.text;
          if (fam === "inet" || fam === "inet6") {
            this.fail(
              `'${ctx.keyword}' 'via ${fam}' gateways of another family are not supported; give a gateway of the route's family`,
              i + 1,
            );
            cur.next();
          }
          const a = this.addr(w);
          if (a !== undefined) r.via = a;
          break;
        }
        case "or": {
          ctx.warn(
            `'${ctx.keyword}' option 'or' is deprecated; use 'nexthop'`,
            i,
            DiagClass.DEPRECATED,
          );
          const a = this.addr("or");
          if (a !== undefined) r.or = a;
          break;
        }
        case "dev":
        case "oif": {
          const d = this.ifname();
          if (d !== undefined) r.dev = d;
          break;
        }
        case "table": {
          const v = this.num(rtNameToken(cur, ctx, UINT32_MAX, "table"));
          if (v !== undefined) r.table = v;
          break;
        }
        case "metric":
        case "priority":
        case "preference": {
          const v = this.num(uintToken(cur, ctx, UINT32_MAX, w));
          if (v !== undefined) r.metric = v;
          break;
        }
        case "protocol": {
          const v = this.num(rtNameToken(cur, ctx, 255, "protocol"));
          if (v !== undefined) r.protocol = v;
          break;
        }
        case "scope": {
          const v = this.num(scopeToken(cur, ctx));
          if (v !== undefined) r.scope = v;
          break;
        }
        case "congctl": {
          let lock: true | undefined;
          if (cur.peek()?.text === "lock") {
            cur.next();
            lock = true;
          }
          const v = wordToken(cur, ctx, "congctl");
          if (v === undefined) this.bad = true;
          else r.congctl = lock ? { name: v, lock } : { name: v };
          break;
        }
        case "features": {
          const v = wordToken(cur, ctx, "features");
          if (v === "ecn") r.features = "ecn";
          else {this.fail(
              `'${ctx.keyword}' features '${v ?? ""}' is not supported; only 'ecn' is`,
              i + 1,
            );}
          break;
        }
        case "quickack":
        case "fastopen_no_cookie": {
          const v = wordToken(cur, ctx, w);
          const b = v === undefined ? undefined : ON_OFF[v];
          if (b === undefined) {
            this.fail(`'${ctx.keyword}' ${w} '${v ?? ""}' must be 0 or 1`, i + 1);
          } else if (w === "quickack") r.quickack = b;
          else r.fastopenNoCookie = b;
          break;
        }
        case "pref": {
          const v = wordToken(cur, ctx, "pref");
          if (v === "low" || v === "medium" || v === "high") r.pref = v;
          else this.fail(`'${ctx.keyword}' pref '${v ?? ""}' must be low, medium or high`, i + 1);
          break;
        }
        case "expires": {
          const v = this.num(uintToken(cur, ctx, UINT32_MAX, "expires"));
          if (v !== undefined) r.expires = v;
          break;
        }
        case "ttl-propagate": {
          const v = wordToken(cur, ctx, "ttl-propagate");
          if (v === "enabled") r.ttlPropagate = true;
          else if (v === "disabled") r.ttlPropagate = false;
          else {this.fail(
              `'${ctx.keyword}' ttl-propagate '${v ?? ""}' must be enabled or disabled`,
              i + 1,
            );}
          break;
        }
        case "onlink":
          r.onlink = true;
          break;
        case "add":
        case "append":
        case "prepend":
          r.mode = w;
          break;
        case "nexthop":
          (r.nexthops ?? (r.nexthops = [])).push(this.nexthop());
          break;
        case "encap":
          this.fail(
            `'${ctx.keyword}' lightweight tunnel routes ('encap') are not supported by kad`,
            i,
          );
          cur.index = cur.tokens.length;
          break;
        case "proto":
          this.fail(`'${ctx.keyword}' route keyword 'proto' is unknown; write 'protocol'`, i);
          cur.next();
          break;
        default: {
          if (this.commonOption(w, i)) break;
          if (r.dest === undefined && (w === "default" || /^[0-9a-fA-F:.]+(\/[0-9]+)?$/.test(w))) {
            const p = this.prefixFrom(t, i, "destination");
            if (p !== undefined) this.setDest(p, i);
          } else {
            this.fail(`'${ctx.keyword}' route keyword '${w}' is unknown`, i);
          }
        }
      }
    }
    return this.finish();
  }

  setDest(p: IpPrefix, i: number): void {
    if (this.r.dest !== undefined) {
      this.fail(`'${this.ctx.keyword}' route has two destinations`, i);
      return;
    }
    this.r.dest = p;
  }

  finish(): RouteEntry | undefined {
    const { ctx, r } = this;
    if (this.bad) return undefined;
    const family = this.family();
    if (family === undefined) return undefined;
    if (r.dest === undefined) {
      ctx.error(`'${ctx.keyword}' route has no destination; write the prefix (or 'default')`, 0);
      return undefined;
    }
    if (this.destDefault) r.dest = { address: family === 4 ? "0.0.0.0" : "::", prefix: 0 };
    if (family === 4) {
      for (const k of ["pref", "expires", "from"] as const) {
        if (r[k] !== undefined) {
          ctx.error(`'${ctx.keyword}' option '${k}' is only valid for IPv6 routes`, 0);
          return undefined;
        }
      }
    }
    const out = { family, ...r } as RouteEntry;
    if (
      this.use === "virtual" && !out.noTrack && routeInterfaces(out).length === 0 &&
      !(out.type !== undefined && DEVICELESS_ROUTE_TYPES.has(out.type))
    ) {
      ctx.warn(
        `Cannot track route ${
          describeRoute(out)
        } with no interface specified, not tracking; add 'dev IF' or 'no_track'`,
        0,
      );
    }
    return rememberLoc(out, ctx.node.loc);
  }
}

function printRoute(r: RouteEntry): string[] {
  const out: string[] = [];
  if (r.type !== undefined) out.push(r.type);
  if (r.src !== undefined) out.push("src", r.src);
  if (r.from !== undefined) out.push("from", formatPrefix(r.from, r.family));
  out.push(`${r.dest.address}/${r.dest.prefix}`);
  if (r.via !== undefined) out.push("via", r.via);
  if (r.or !== undefined) out.push("or", r.or);
  if (r.dev !== undefined) out.push("dev", r.dev);
  if (r.table !== undefined) out.push("table", String(r.table));
  if (r.metric !== undefined) out.push("metric", String(r.metric));
  if (r.protocol !== undefined) out.push("protocol", String(r.protocol));
  if (r.scope !== undefined) out.push("scope", String(r.scope));
  if (r.tos !== undefined) out.push("tos", String(r.tos));
  if (r.realms !== undefined) out.push("realms", quoteIfNeeded(r.realms));
  for (const m of ROUTE_METRICS) {
    const v = r.metrics?.[m];
    if (v !== undefined) out.push(m, ...(v.lock ? ["lock"] : []), String(v.value));
  }
  if (r.congctl !== undefined) {
    out.push("congctl", ...(r.congctl.lock ? ["lock"] : []), quoteIfNeeded(r.congctl.name));
  }
  if (r.features !== undefined) out.push("features", r.features);
  if (r.quickack !== undefined) out.push("quickack", r.quickack ? "1" : "0");
  if (r.fastopenNoCookie !== undefined) {
    out.push("fastopen_no_cookie", r.fastopenNoCookie ? "1" : "0");
  }
  if (r.pref !== undefined) out.push("pref", r.pref);
  if (r.expires !== undefined) out.push("expires", String(r.expires));
  if (r.ttlPropagate !== undefined) {
    out.push("ttl-propagate", r.ttlPropagate ? "enabled" : "disabled");
  }
  if (r.onlink) out.push("onlink");
  if (r.mode !== undefined) out.push(r.mode);
  if (r.noTrack) out.push("no_track");
  if (r.trackGroup !== undefined) out.push("track_group", quoteIfNeeded(r.trackGroup));
  for (const nh of r.nexthops ?? []) {
    out.push("nexthop");
    if (nh.via !== undefined) out.push("via", nh.via);
    if (nh.dev !== undefined) out.push("dev", nh.dev);
    if (nh.weight !== undefined) out.push("weight", String(nh.weight));
    if (nh.onlink) out.push("onlink");
    if (nh.realms !== undefined) out.push("realms", quoteIfNeeded(nh.realms));
  }
  return out;
}

/** The value type of one route line. */
export function routeLine(use: RouteUse): ValueType<RouteEntry> {
  return {
    toml: "words",
    describe: "an 'ip route' specification",
    parse: (tokens, ctx) => new RouteParser(tokens, ctx, use).parse(),
    print: printRoute,
  };
}

export const virtualRouteLine: ValueType<RouteEntry> = routeLine("virtual");
export const staticRouteLine: ValueType<RouteEntry> = routeLine("static");
