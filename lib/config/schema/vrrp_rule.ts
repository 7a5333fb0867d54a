/**
 * The rule line of `virtual_rules` and `static_rules` (spec/vrrp.md §3.17) as a
 * structured value. The grammar is `ip rule`'s:
 *
 *   [not] [from P|all] [to P|all] [iif|dev IF] [oif IF] [tos N] [fwmark M[/MASK]]
 *   [preference|priority|order|pref N] [uidrange A-B] [sport N[-M]] [dport N[-M]]
 *   [ipproto P] [protocol P] [tunnel-id N] [realms R] [suppress_prefixlength N]
 *   [suppress_ifgroup G] [no_track] [track_group G] [inet|inet6]
 *   ACTION = table|lookup T | goto N | nop | blackhole | prohibit | unreachable | l3mdev
 *            | type blackhole|prohibit|unreachable|nop
 *
 * Owns parsing and printing of one line. A line with an invalid part, no action or two
 * actions is dropped after its diagnostics, as keepalived does.
 */
import type { Token } from "../ast.ts";
import type { ParseContext, ValueType } from "../schema.ts";
import { quoteIfNeeded, UINT32_MAX } from "../types.ts";
import type { Family } from "../../net/ipaddr.ts";
import { LineParser, type LineUse } from "./vrrp_line.ts";
import {
  formatPrefix,
  intToken,
  type IpPrefix,
  maxPrefix,
  parseUintText,
  rememberLoc,
  type RtName,
  rtNameToken,
  splitPrefix,
  uintToken,
  wordToken,
} from "./vrrp_values.ts";
import { formatIp } from "../../net/ipaddr.ts";

export type RuleAction =
  | { kind: "table"; table: RtName }
  | { kind: "goto"; target: number }
  | { kind: "nop" | "blackhole" | "prohibit" | "unreachable" | "l3mdev" };

export interface NumRange {
  start: number;
  end: number;
}

/** A rule selector address: a prefix, or `all`. */
export type RuleAddress = IpPrefix | "all";

export interface RuleEntry {
  /** From the addresses (or `inet6`); IPv4 when nothing says otherwise. */
  family: Family;
  not?: true;
  from?: RuleAddress;
  to?: RuleAddress;
  iif?: string;
  oif?: string;
  tos?: number;
  fwmark?: { mark: number; mask?: number };
  /** Rule priority; keepalived picks one (counting down from 16384) when absent. */
  preference?: number;
  uidrange?: NumRange;
  sport?: NumRange;
  dport?: NumRange;
  ipproto?: RtName;
  protocol?: RtName;
  /** 64-bit tunnel id as decimal text. */
  tunnelId?: string;
  action: RuleAction;
  realms?: string;
  suppressPrefixlength?: number;
  suppressIfgroup?: RtName;
  noTrack?: true;
  trackGroup?: string;
}

/** Where a rule line is used; `track_group` is only for static rules. */
export type RuleUse = LineUse;

const SIMPLE_ACTIONS = ["nop", "blackhole", "prohibit", "unreachable", "l3mdev"] as const;
const TYPE_ACTIONS = ["nop", "blackhole", "prohibit", "unreachable"] as const;

/** The rule as text for messages. */
export function describeRule(r: RuleEntry): string {
  return printRule(r).join(" ");
}

class RuleParser extends LineParser<RuleEntry> {
  actions: RuleAction[] = [];

  constructor(tokens: readonly Token[], ctx: ParseContext, use: RuleUse) {
    super(tokens, ctx, use, "rule");
  }

  address(what: string): RuleAddress | undefined {
    const i = this.cur.index;
    const t = this.cur.next();
    if (t === undefined) {
      this.fail(`'${this.ctx.keyword}' option '${what}' needs a prefix or 'all'`, i - 1);
      return undefined;
    }
    if (t.text === "all") return "all";
    const { ip, len } = splitPrefix(t.text);
    if (ip === undefined) {
      this.fail(
        `'${this.ctx.keyword}' ${what} address '${t.text}' is not a valid IPv4 or IPv6 prefix`,
        i,
      );
      return undefined;
    }
    const max = maxPrefix(ip.family);
    let prefix = max;
    if (len !== undefined) {
      if (!/^[0-9]{1,3}$/.test(len)) {
        this.fail(
          `'${this.ctx.keyword}' ${what} '${t.text}' has an invalid prefix length (0 to ${max})`,
          i,
        );
        return undefined;
      }
      if (Number(len) > max) {
        this.ctx.warn(
          `'${this.ctx.keyword}' prefix length ${len} of '${t.text}' is out of range (0 to ${max}); using ${max}`,
          i,
        );
      } else prefix = Number(len);
    }
    this.families.add(ip.family);
    return { address: formatIp(ip), prefix };
  }

  range(what: string, max: number): NumRange | undefined {
    const i = this.cur.index;
    const w = wordToken(this.cur, this.ctx, what);
    if (w === undefined) {
      this.bad = true;
      return undefined;
    }
    const m = /^([^-]+)(?:-([^-]+))?$/.exec(w);
    const a = m ? parseUintText(m[1] as string, max) : undefined;
    const b = m ? (m[2] === undefined ? a : parseUintText(m[2], max)) : undefined;
    if (a === undefined || b === undefined || b < a) {
      this.fail(`'${this.ctx.keyword}' ${what} '${w}' is not N or N-M with N ≤ M ≤ ${max}`, i);
      return undefined;
    }
    return { start: a, end: b };
  }

  parse(): RuleEntry | undefined {
    const { cur, ctx, r } = this;
    while (!cur.done) {
      const i = cur.index;
      const w = (cur.next() as Token).text;
      switch (w) {
        case "not":
          r.not = true;
          break;
        case "from":
        case "to": {
          const a = this.address(w);
          if (a !== undefined) r[w] = a;
          break;
        }
        case "iif":
        case "dev": {
          const d = this.ifname();
          if (d !== undefined) r.iif = d;
          break;
        }
        case "oif": {
          const d = this.ifname();
          if (d !== undefined) r.oif = d;
          break;
        }
        case "fwmark": {
          const v = wordToken(cur, ctx, "fwmark");
          const [m, mask, extra] = (v ?? "").split("/");
          const mark = m === undefined ? undefined : parseUintText(m, UINT32_MAX);
          const mk = mask === undefined ? undefined : parseUintText(mask, UINT32_MAX);
          if (
            v === undefined || mark === undefined || (mask !== undefined && mk === undefined) ||
            extra !== undefined
          ) {
            this.fail(
              `'${ctx.keyword}' fwmark '${v ?? ""}' is not MARK or MARK/MASK (decimal or 0x hex)`,
              i + 1,
            );
          } else r.fwmark = mk === undefined ? { mark } : { mark, mask: mk };
          break;
        }
        case "preference":
        case "priority":
        case "order":
        case "pref": {
          const v = this.num(uintToken(cur, ctx, UINT32_MAX, w));
          if (v !== undefined) r.preference = v;
          break;
        }
        case "uidrange": {
          const v = this.range("uidrange", UINT32_MAX);
          if (v !== undefined) r.uidrange = v;
          break;
        }
        case "sport":
        case "dport": {
          const v = this.range(w, 65535);
          if (v !== undefined) r[w] = v;
          break;
        }
        case "ipproto":
        case "protocol": {
          const v = this.num(rtNameToken(cur, ctx, 255, w));
          if (v !== undefined) r[w] = v;
          break;
        }
        case "tunnel-id": {
          const v = wordToken(cur, ctx, "tunnel-id");
          if (v === undefined || !/^[0-9]{1,20}$/.test(v) || BigInt(v) > 0xffffffffffffffffn) {
            this.fail(
              `'${ctx.keyword}' tunnel-id '${v ?? ""}' is not a number from 0 to 2^64-1`,
              i + 1,
            );
          } else r.tunnelId = BigInt(v).toString();
          break;
        }
        case "table":
        case "lookup": {
          const v = this.num(rtNameToken(cur, ctx, UINT32_MAX, w));
          if (v !== undefined) this.actions.push({ kind: "table", table: v });
          break;
        }
        case "goto": {
          const v = this.num(uintToken(cur, ctx, UINT32_MAX, "goto"));
          if (v !== undefined) this.actions.push({ kind: "goto", target: v });
          break;
        }
        case "type": {
          const v = wordToken(cur, ctx, "type");
          if (v !== undefined && (TYPE_ACTIONS as readonly string[]).includes(v)) {
            this.actions.push({ kind: v as typeof TYPE_ACTIONS[number] });
          } else {
            this.fail(
              `'${ctx.keyword}' rule type '${v ?? ""}' must be one of ${TYPE_ACTIONS.join(", ")}`,
              i + 1,
            );
          }
          break;
        }
        case "suppress_prefixlength": {
          const v = this.num(intToken(cur, ctx, 0, 128, w));
          if (v !== undefined) r.suppressPrefixlength = v;
          break;
        }
        case "suppress_ifgroup": {
          const v = this.num(rtNameToken(cur, ctx, UINT32_MAX, w));
          if (v !== undefined) r.suppressIfgroup = v;
          break;
        }
        default:
          if (this.commonOption(w, i)) break;
          if ((SIMPLE_ACTIONS as readonly string[]).includes(w)) {
            this.actions.push({ kind: w as typeof SIMPLE_ACTIONS[number] });
          } else {
            this.fail(`'${ctx.keyword}' rule option '${w}' is unknown`, i);
          }
      }
    }
    return this.finish();
  }

  finish(): RuleEntry | undefined {
    const { ctx, r } = this;
    if (this.bad) return undefined;
    const family = this.family();
    if (family === undefined) return undefined;
    if (this.actions.length === 0) {
      ctx.error(
        `'${ctx.keyword}' rule has no action; add 'table N' (or goto, nop, blackhole, prohibit, unreachable, l3mdev)`,
        0,
      );
      return undefined;
    }
    if (this.actions.length > 1) {
      ctx.error(
        `'${ctx.keyword}' rule has more than one action (${
          this.actions.map((a) => a.kind).join(", ")
        }); keep only one of table/goto/nop/blackhole/prohibit/unreachable/l3mdev`,
        0,
      );
      return undefined;
    }
    const action = this.actions[0] as RuleAction;
    if (
      action.kind !== "table" &&
      (r.realms !== undefined || r.suppressPrefixlength !== undefined ||
        r.suppressIfgroup !== undefined)
    ) {
      ctx.error(
        `'${ctx.keyword}' realms/suppress_prefixlength/suppress_ifgroup need a 'table' action, not '${action.kind}'`,
        0,
      );
      return undefined;
    }
    const out = { family, ...r, action } as RuleEntry;
    if (out.preference === undefined) {
      ctx.warn(
        `Rule has no preference specified; keepalived would pick one counting down from 16384, which is probably not what you want; add 'preference N'`,
        0,
      );
    }
    return rememberLoc(out, ctx.node.loc);
  }
}

function printAddr(a: RuleAddress, family: Family): string {
  return a === "all" ? "all" : formatPrefix(a, family);
}

function printRange(r: NumRange): string {
  return r.start === r.end ? String(r.start) : `${r.start}-${r.end}`;
}

function printRule(r: RuleEntry): string[] {
  const out: string[] = [];
  if (r.not) out.push("not");
  if (r.from !== undefined) out.push("from", printAddr(r.from, r.family));
  if (r.to !== undefined) out.push("to", printAddr(r.to, r.family));
  if (r.iif !== undefined) out.push("iif", r.iif);
  if (r.oif !== undefined) out.push("oif", r.oif);
  if (r.tos !== undefined) out.push("tos", String(r.tos));
  if (r.fwmark !== undefined) {
    out.push(
      "fwmark",
      r.fwmark.mask === undefined
        ? `0x${r.fwmark.mark.toString(16)}`
        : `0x${r.fwmark.mark.toString(16)}/0x${r.fwmark.mask.toString(16)}`,
    );
  }
  if (r.preference !== undefined) out.push("preference", String(r.preference));
  if (r.uidrange !== undefined) out.push("uidrange", `${r.uidrange.start}-${r.uidrange.end}`);
  if (r.sport !== undefined) out.push("sport", printRange(r.sport));
  if (r.dport !== undefined) out.push("dport", printRange(r.dport));
  if (r.ipproto !== undefined) out.push("ipproto", String(r.ipproto));
  if (r.protocol !== undefined) out.push("protocol", String(r.protocol));
  if (r.tunnelId !== undefined) out.push("tunnel-id", r.tunnelId);
  switch (r.action.kind) {
    case "table":
      out.push("table", String(r.action.table));
      break;
    case "goto":
      out.push("goto", String(r.action.target));
      break;
    default:
      out.push(r.action.kind);
  }
  if (r.realms !== undefined) out.push("realms", quoteIfNeeded(r.realms));
  if (r.suppressPrefixlength !== undefined) {
    out.push("suppress_prefixlength", String(r.suppressPrefixlength));
  }
  if (r.suppressIfgroup !== undefined) out.push("suppress_ifgroup", String(r.suppressIfgroup));
  if (r.noTrack) out.push("no_track");
  if (r.trackGroup !== undefined) out.push("track_group", quoteIfNeeded(r.trackGroup));
  const shows6 = [r.from, r.to].some((a) =>
    a !== undefined && a !== "all" && a.address.includes(":")
  );
  if (r.family === 6 && !shows6) out.push("inet6");
  return out;
}

/** The value type of one rule line. */
export function ruleLine(use: RuleUse): ValueType<RuleEntry> {
  return {
    toml: "words",
    describe: "an 'ip rule' specification",
    parse: (tokens, ctx) => new RuleParser(tokens, ctx, use).parse(),
    print: printRule,
  };
}

export const virtualRuleLine: ValueType<RuleEntry> = ruleLine("virtual");
export const staticRuleLine: ValueType<RuleEntry> = ruleLine("static");
