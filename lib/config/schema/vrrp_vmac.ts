/**
 * The arguments of a vrrp_instance's `use_vmac` and `use_ipvlan` keywords (spec/vrrp.md
 * §3.16):
 *
 *   use_vmac [[name] IFNAME] [MAC] [netlink_notify_msg] [group G]
 *   use_ipvlan [[name] IFNAME] [ADDR[/LEN]] [bridge|private|vepa] [group G]
 *
 * Owns parsing and printing; creating the interfaces is the daemon's job.
 */
import type { Token } from "../ast.ts";
import type { ParseContext, ValueType } from "../schema.ts";
import { parseIfnameArg, quoteIfNeeded } from "../types.ts";
import { Cursor, formatPrefix, type IpPrefix, prefixToken, wordToken } from "./vrrp_values.ts";

export interface VmacSpec {
  /** Interface name of the macvlan (default `<vmac_prefix>.<VRID>`). */
  name?: string;
  /** Custom MAC in lower-case colon form (5 octets: the VRID is appended). */
  mac?: string;
  netlinkNotifyMsg?: true;
  /** Interface group number or name. */
  group?: string;
}

export interface IpvlanSpec {
  name?: string;
  address?: IpPrefix;
  mode?: "bridge" | "private" | "vepa";
  group?: string;
}

const MAC = /^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){4,5}$/;

/** Check a custom VMAC MAC (§3.16): not multicast and not in the VRRP range. */
function macProblem(mac: string): string | undefined {
  const octets = mac.split(":").map((o) => parseInt(o, 16));
  if (((octets[0] as number) & 1) === 1) return "is a multicast address";
  if (
    octets[0] === 0 && octets[1] === 0 && octets[2] === 0x5e && octets[3] === 0 &&
    (octets[4] === 1 || octets[4] === 2)
  ) {
    return "is in the VRRP range 00:00:5e:00:01/02:xx, which is used by default";
  }
  return undefined;
}

function normalizeMac(mac: string): string {
  return mac.split(":").map((o) => o.toLowerCase().padStart(2, "0")).join(":");
}

function ifnameOrName(cur: Cursor, ctx: ParseContext, i: number, t: Token): string | undefined {
  if (t.text === "name") {
    const n = cur.next();
    return parseIfnameArg(n, ctx, i + 1);
  }
  return parseIfnameArg(t, ctx, i);
}

/** What both keywords have: an interface name and an interface group. */
interface LinkSpec {
  name?: string;
  group?: string;
}

/**
 * Parses `group G` and the interface name (bare or after `name`) into `v`; `own` takes the
 * keyword's other words (true: taken, false: not one of them, undefined: error reported).
 */
function parseLinkArgs<V extends LinkSpec>(
  args: readonly Token[],
  ctx: ParseContext,
  v: V,
  own: (t: Token, i: number, cur: Cursor) => boolean | undefined,
): V | undefined {
  const cur = new Cursor(args);
  while (!cur.done) {
    const i = cur.index;
    const t = cur.next() as Token;
    if (t.text === "group") {
      const g = wordToken(cur, ctx, "group");
      if (g === undefined) return undefined;
      v.group = g;
      continue;
    }
    const taken = own(t, i, cur);
    if (taken === undefined) return undefined;
    if (taken) continue;
    if (v.name === undefined) {
      const n = ifnameOrName(cur, ctx, i, t);
      if (n === undefined) return undefined;
      v.name = n;
    } else {
      ctx.error(
        `'${ctx.keyword}' argument '${t.text}' is not understood (the name is already '${v.name}')`,
        i,
      );
      return undefined;
    }
  }
  return v;
}

/** `name IFNAME`, then `middle`, then `group G`. */
function printLinkArgs(v: LinkSpec, middle: readonly string[]): string[] {
  const out: string[] = [];
  if (v.name !== undefined) out.push("name", v.name);
  out.push(...middle);
  if (v.group !== undefined) out.push("group", quoteIfNeeded(v.group));
  return out;
}

export const vmacSpec: ValueType<VmacSpec> = {
  toml: "words",
  describe: "[[name] IFNAME] [MAC] [netlink_notify_msg] [group G]",
  parse(args, ctx) {
    const v: VmacSpec = {};
    return parseLinkArgs(args, ctx, v, (t, i) => {
      if (t.text === "netlink_notify_msg") v.netlinkNotifyMsg = true;
      else if (MAC.test(t.text) && t.text !== "name") {
        const problem = macProblem(t.text);
        if (problem !== undefined) {
          ctx.error(`'${ctx.keyword}' MAC '${t.text}' ${problem}; choose another`, i);
          return undefined;
        }
        v.mac = normalizeMac(t.text);
      } else return false;
      return true;
    });
  },
  print(v) {
    const middle: string[] = [];
    if (v.mac !== undefined) middle.push(v.mac);
    if (v.netlinkNotifyMsg) middle.push("netlink_notify_msg");
    return printLinkArgs(v, middle);
  },
};

const IPVLAN_MODES = ["bridge", "private", "vepa"] as const;

export const ipvlanSpec: ValueType<IpvlanSpec> = {
  toml: "words",
  describe: "[[name] IFNAME] [ADDR[/LEN]] [bridge|private|vepa] [group G]",
  parse(args, ctx) {
    const v: IpvlanSpec = {};
    return parseLinkArgs(args, ctx, v, (t, i) => {
      if ((IPVLAN_MODES as readonly string[]).includes(t.text)) {
        v.mode = t.text as typeof IPVLAN_MODES[number];
      } else if (/^[0-9a-fA-F:.]+(\/[0-9]+)?$/.test(t.text) && /[.:]/.test(t.text)) {
        const p = prefixToken(t, ctx, i, "address");
        if (p === undefined) return undefined;
        v.address = { address: p.address, prefix: p.prefix };
      } else return false;
      return true;
    });
  },
  print(v) {
    const middle: string[] = [];
    if (v.address !== undefined) {
      middle.push(formatPrefix(v.address, v.address.address.includes(":") ? 6 : 4));
    }
    if (v.mode !== undefined) middle.push(v.mode);
    return printLinkArgs(v, middle);
  },
};
