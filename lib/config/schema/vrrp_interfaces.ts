/**
 * Interface-level VRRP settings outside instances (spec/vrrp.md §3.11, §3.13, §4.15):
 * `garp_group { … }` (GARP/NA spacing per group of interfaces),
 * `interface_up_down_delays { IF DOWN [UP] }` and `linkbeat_interfaces { IF [method] }`.
 * Owns their keywords and entry types; the check that one interface is in only one
 * garp_group is in lib/config/schema/vrrp_check.ts.
 */
import type { Token } from "../ast.ts";
import { defineBlock, type InferSchema, list, optional, type ValueType } from "../schema.ts";
import { formatSeconds, ifname, parseIfnameArg, parseSecondsArg } from "../types.ts";
import { MAX_TIMER_S } from "./vrrp_trackers.ts";
import { seconds } from "../types.ts";
import { rememberLoc } from "./vrrp_values.ts";

/** spec/vrrp.md §3.11: minimum spacing of GARPs / NAs on the listed interfaces. */
export const garpGroup = defineBlock({
  name: "garp_group",
  fields: {
    garp_interval: optional(seconds(0.000001, MAX_TIMER_S), {
      doc: "seconds between GARPs on an interface",
    }),
    gna_interval: optional(seconds(0.000001, MAX_TIMER_S), {
      doc: "seconds between unsolicited NAs",
    }),
    interface: optional(ifname, { doc: "one interface of the group" }),
    interfaces: list(ifname, { perToken: true, doc: "interfaces of the group" }),
  },
});
export type GarpGroup = InferSchema<typeof garpGroup> & { header: null };

/** One `IF DOWN [UP]` line of interface_up_down_delays (µs). */
export interface UpDownDelay {
  interface: string;
  down: number;
  /** 0 when not written, as keepalived does (its man page says it equals `down`). */
  up: number;
}

export const upDownDelay: ValueType<UpDownDelay> = {
  toml: "words",
  describe: "IFNAME DOWN_SECS [UP_SECS] (0 to 255 s)",
  parse(tokens: readonly Token[], ctx) {
    const name = parseIfnameArg(tokens[0], ctx, 0);
    if (name === undefined) return undefined;
    const down = parseSecondsArg(tokens[1], 0, 255e6, 6, ctx, 1);
    if (down === undefined) return undefined;
    let up = 0;
    if (tokens[2] !== undefined) {
      const u = parseSecondsArg(tokens[2], 0, 255e6, 6, ctx, 2);
      if (u === undefined) return undefined;
      up = u;
    }
    if (tokens.length > 3) {
      ctx.error(`'${ctx.keyword}' entry for ${name} has extra words; write IFNAME DOWN [UP]`, 3);
      return undefined;
    }
    return rememberLoc({ interface: name, down, up }, ctx.node.loc);
  },
  print: (v) => [v.interface, formatSeconds(v.down), formatSeconds(v.up)],
};

export const LINKBEAT_METHODS = ["MII", "ETHTOOL", "IOCTL"] as const;

/** One `IF [MII|ETHTOOL|IOCTL]` line of linkbeat_interfaces. */
export interface LinkbeatInterface {
  interface: string;
  method?: typeof LINKBEAT_METHODS[number];
}

export const linkbeatInterface: ValueType<LinkbeatInterface> = {
  toml: "words",
  describe: "IFNAME [MII|ETHTOOL|IOCTL]",
  parse(tokens: readonly Token[], ctx) {
    const name = parseIfnameArg(tokens[0], ctx, 0);
    if (name === undefined) return undefined;
    const m = tokens[1]?.text;
    if (m === undefined) return rememberLoc({ interface: name }, ctx.node.loc);
    const method = LINKBEAT_METHODS.find((x) => x === m.toUpperCase());
    if (method === undefined || tokens.length > 2) {
      ctx.error(
        `'${ctx.keyword}' entry for ${name} has extra characters '${
          tokens.slice(1).map((t) => t.text).join(" ")
        }'; the method is MII, ETHTOOL or IOCTL`,
        1,
      );
      return rememberLoc({ interface: name }, ctx.node.loc);
    }
    return rememberLoc({ interface: name, method }, ctx.node.loc);
  },
  print: (v) => (v.method === undefined ? [v.interface] : [v.interface, v.method]),
};
