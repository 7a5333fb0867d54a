/**
 * The address line of `virtual_ipaddress`, `virtual_ipaddress_excluded` and
 * `static_ipaddress` (spec/vrrp.md §3.17) as a structured value:
 *
 *   ADDR[/PREFIX] [brd ADDR|+|-] [dev IF] [scope SCOPE] [label LABEL] [peer ADDR] [home]
 *   [-nodad] [mngtmpaddr] [noprefixroute] [autojoin] [no_track] [preferred_lft N|forever]
 *   [use_vmac] [track_group G]
 *
 * Owns parsing and printing of one line; which instance or interface an address belongs
 * to, and cross-entry checks (family, duplicates), are the instance checks' business.
 */
import type { Token } from "../ast.ts";
import type { ParseContext, ValueType } from "../schema.ts";
import { parseIfnameArg, quoteIfNeeded, UINT32_MAX } from "../types.ts";
import { type Family, formatIp, parseIp } from "../../net/ipaddr.ts";
import {
  Cursor,
  maxPrefix,
  parseUintText,
  rememberLoc,
  type Scope,
  scopeToken,
  splitPrefix,
  wordToken,
} from "./vrrp_values.ts";

/** One configured address. Option flags are present only when written. */
export interface IpAddressEntry {
  address: string;
  family: Family;
  /** Prefix length; the full host length when none was written. */
  prefix: number;
  /** Broadcast address, or `+`/`-` to set/clear the host bits (IPv4 only). */
  broadcast?: string;
  dev?: string;
  scope?: Scope;
  label?: string;
  peer?: string;
  home?: true;
  nodad?: true;
  mngtmpaddr?: true;
  noprefixroute?: true;
  autojoin?: true;
  /** Deleting the address does not fault the instance (§3.17). */
  noTrack?: true;
  /** Seconds, or "forever"; unset means the family default ({@link effectivePreferredLft}). */
  preferredLft?: number | "forever";
  /** Put this address on a VMAC of its interface (virtual addresses only). */
  useVmac?: true;
  /** Track group whose instances fault if this static address cannot be restored. */
  trackGroup?: string;
}

/** Where an address line is used; decides which options are allowed. */
export type AddressUse = "virtual" | "static";

/** keepalived's default preferred lifetime: 0 (deprecated) for IPv6 /128, else forever. */
export function effectivePreferredLft(e: IpAddressEntry): number | "forever" {
  return e.preferredLft ?? (e.family === 6 && e.prefix === 128 ? 0 : "forever");
}

/** The address as `ADDR/LEN` for messages. */
export function describeAddress(e: IpAddressEntry): string {
  return `${e.address}/${e.prefix}`;
}

const FLAG_OPTIONS = {
  home: "home",
  "-nodad": "nodad",
  mngtmpaddr: "mngtmpaddr",
  noprefixroute: "noprefixroute",
  autojoin: "autojoin",
  no_track: "noTrack",
} as const satisfies Record<string, keyof IpAddressEntry>;

function parseAddressLine(
  tokens: readonly Token[],
  ctx: ParseContext,
  use: AddressUse,
): IpAddressEntry | undefined {
  const first = tokens[0];
  if (first === undefined) {
    ctx.missing("address");
    return undefined;
  }
  const { ip, len } = splitPrefix(first.text);
  if (ip === undefined) {
    ctx.error(
      `'${ctx.keyword}' address '${first.text}' is not a valid IPv4 or IPv6 address; skipping it`,
      0,
    );
    return undefined;
  }
  const max = maxPrefix(ip.family);
  const e: IpAddressEntry = { address: formatIp(ip), family: ip.family, prefix: max };
  let prefixWritten = false;
  if (len !== undefined) {
    if (!/^[0-9]{1,3}$/.test(len)) {
      ctx.error(
        `'${ctx.keyword}' address '${first.text}' has an invalid prefix length; write ADDR/0 to ADDR/${max}`,
        0,
      );
      return undefined;
    }
    const n = Number(len);
    if (n > max) {
      ctx.warn(
        `'${ctx.keyword}' prefix length ${n} of '${first.text}' is out of range (0 to ${max}); using ${max}`,
        0,
      );
    } else {
      e.prefix = n;
      prefixWritten = true;
    }
  }
  const cur = new Cursor(tokens, 1);
  while (!cur.done) {
    const i = cur.index;
    const opt = (cur.next() as { text: string }).text;
    if (Object.hasOwn(FLAG_OPTIONS, opt)) {
      e[FLAG_OPTIONS[opt as keyof typeof FLAG_OPTIONS]] = true;
      continue;
    }
    switch (opt) {
      case "brd":
      case "broadcast": {
        const w = wordToken(cur, ctx, opt);
        if (w === undefined) break;
        if (e.family === 6) {
          ctx.error(
            `'${ctx.keyword}' option '${opt}' is only valid for IPv4 addresses; ignoring it`,
            i,
          );
        } else if (w === "+" || w === "-") {
          if (e.prefix > 30) {
            ctx.error(
              `'${ctx.keyword}' '${opt} ${w}' needs a prefix of /30 or shorter, not /${e.prefix}; ignoring it`,
              i,
            );
          } else e.broadcast = w;
        } else {
          const b = parseIp(w);
          if (b === undefined || b.family !== 4) {
            ctx.error(
              `'${ctx.keyword}' broadcast '${w}' is not an IPv4 address, '+' or '-'`,
              i + 1,
            );
          } else e.broadcast = formatIp(b);
        }
        break;
      }
      case "dev": {
        const t = cur.next();
        const dev = parseIfnameArg(t, ctx, i + 1);
        if (dev !== undefined) e.dev = dev;
        break;
      }
      case "scope": {
        const s = scopeToken(cur, ctx);
        if (s === undefined) break;
        if (e.family === 6) {
          ctx.error(
            `'${ctx.keyword}' cannot set a scope for IPv6 address ${e.address}; ignoring the scope`,
            i,
          );
        } else e.scope = s;
        break;
      }
      case "label": {
        const w = wordToken(cur, ctx, "label");
        if (w === undefined) break;
        if (e.family === 6) {
          ctx.error(
            `'${ctx.keyword}' cannot set a label for IPv6 address ${e.address}; ignoring the label`,
            i,
          );
        } else if (w.length > 15) {
          ctx.error(
            `'${ctx.keyword}' label '${w}' is longer than 15 characters; ignoring it`,
            i + 1,
          );
        } else e.label = w;
        break;
      }
      case "peer": {
        const w = wordToken(cur, ctx, "peer");
        if (w === undefined) break;
        const p = parseIp(w);
        if (p === undefined || p.family !== e.family) {
          ctx.error(
            `'${ctx.keyword}' peer '${w}' is not an IPv${e.family} address like ${e.address}; ignoring it`,
            i + 1,
          );
          break;
        }
        if (prefixWritten) {
          ctx.error(
            `'${ctx.keyword}' cannot combine a prefix on ${first.text} with 'peer'; ignoring the prefix`,
            0,
          );
          e.prefix = max;
          prefixWritten = false;
        }
        e.peer = formatIp(p);
        break;
      }
      case "preferred_lft": {
        const w = wordToken(cur, ctx, "preferred_lft");
        if (w === undefined) break;
        if (w === "forever") {
          e.preferredLft = "forever";
          break;
        }
        const n = parseUintText(w, UINT32_MAX);
        if (n === undefined) {
          ctx.error(
            `'${ctx.keyword}' preferred_lft '${w}' is not valid; use seconds (0 to ${UINT32_MAX}) or 'forever'`,
            i + 1,
          );
        } else e.preferredLft = n;
        break;
      }
      case "use_vmac":
        if (use === "static") {
          ctx.error(
            `'${ctx.keyword}' option 'use_vmac' is only valid for virtual addresses; ignoring it`,
            i,
          );
        } else e.useVmac = true;
        break;
      case "track_group": {
        const w = wordToken(cur, ctx, "track_group");
        if (w === undefined) break;
        if (use !== "static") {
          ctx.error(
            `'${ctx.keyword}' option 'track_group' is only valid for static addresses; ignoring it`,
            i,
          );
        } else e.trackGroup = w;
        break;
      }
      default:
        ctx.error(
          `'${ctx.keyword}' option '${opt}' for address ${e.address} is unknown; ignoring it`,
          i,
        );
    }
  }
  if (e.peer !== undefined && e.prefix !== max) e.prefix = max;
  return rememberLoc(e, ctx.node.loc);
}

function printAddressLine(e: IpAddressEntry): string[] {
  const out = [e.prefix === maxPrefix(e.family) ? e.address : `${e.address}/${e.prefix}`];
  if (e.broadcast !== undefined) out.push("brd", e.broadcast);
  if (e.dev !== undefined) out.push("dev", e.dev);
  if (e.scope !== undefined) out.push("scope", String(e.scope));
  if (e.label !== undefined) out.push("label", quoteIfNeeded(e.label));
  if (e.peer !== undefined) out.push("peer", e.peer);
  for (const [word, key] of Object.entries(FLAG_OPTIONS)) if (e[key]) out.push(word);
  if (e.preferredLft !== undefined) out.push("preferred_lft", String(e.preferredLft));
  if (e.useVmac) out.push("use_vmac");
  if (e.trackGroup !== undefined) out.push("track_group", quoteIfNeeded(e.trackGroup));
  return out;
}

/** The value type of one address line, for virtual or static addresses. */
export function addressLine(use: AddressUse): ValueType<IpAddressEntry> {
  return {
    toml: "words",
    describe: "ADDR[/PREFIX] [brd ADDR] [dev IF] [scope S] [label L] [peer ADDR] [flags…]",
    parse: (tokens, ctx) => parseAddressLine(tokens, ctx, use),
    print: printAddressLine,
  };
}

export const virtualAddressLine: ValueType<IpAddressEntry> = addressLine("virtual");
export const staticAddressLine: ValueType<IpAddressEntry> = addressLine("static");
