/**
 * The entries of a vrrp_instance's `unicast_peer { … }` list (spec/vrrp.md §1.5–1.6):
 *
 *   ADDRESS [min_ttl 0..255] [max_ttl 0..255]
 *
 * Owns parsing and printing of one entry. Family agreement with the instance and the
 * strict-mode rules are checked in lib/config/schema/vrrp_check.ts.
 */
import type { Token } from "../ast.ts";
import type { ValueType } from "../schema.ts";
import { type Family, formatIp, parseIp } from "../../net/ipaddr.ts";
import { Cursor, intToken, rememberLoc } from "./vrrp_values.ts";

/** One unicast peer. A TTL bound, when written, turns on source checking (§1.6). */
export interface UnicastPeer {
  address: string;
  family: Family;
  /** Lowest TTL/hop limit accepted from this peer (default 0). */
  minTtl?: number;
  /** Highest TTL/hop limit accepted from this peer (default 255). */
  maxTtl?: number;
}

export const unicastPeer: ValueType<UnicastPeer> = {
  toml: "words",
  describe: "ADDRESS [min_ttl 0-255] [max_ttl 0-255]",
  parse(tokens: readonly Token[], ctx) {
    const first = tokens[0];
    if (first === undefined) {
      ctx.missing("address");
      return undefined;
    }
    const ip = parseIp(first.text);
    if (ip === undefined) {
      ctx.error(
        `'${ctx.keyword}' address '${first.text}' is not a valid IPv4 or IPv6 address; skipping it`,
        0,
      );
      return undefined;
    }
    const p: UnicastPeer = { address: formatIp(ip), family: ip.family };
    const cur = new Cursor(tokens, 1);
    while (!cur.done) {
      const i = cur.index;
      const w = (cur.next() as Token).text;
      if (w === "min_ttl" || w === "max_ttl") {
        const v = intToken(cur, ctx, 0, 255, w);
        if (v === undefined) return undefined;
        if (w === "min_ttl") p.minTtl = v;
        else p.maxTtl = v;
      } else {
        ctx.error(
          `'${ctx.keyword}' option '${w}' for peer ${p.address} is unknown; only min_ttl and max_ttl are allowed`,
          i,
        );
        return undefined;
      }
    }
    if ((p.minTtl ?? 0) > (p.maxTtl ?? 255)) {
      ctx.warn(
        `'${ctx.keyword}' peer ${p.address} has min_ttl ${p.minTtl ?? 0} > max_ttl ${
          p.maxTtl ?? 255
        }; all its packets will be discarded`,
        0,
      );
    }
    return rememberLoc(p, ctx.node.loc);
  },
  print(p) {
    const out = [p.address];
    if (p.minTtl !== undefined) out.push("min_ttl", String(p.minTtl));
    if (p.maxTtl !== undefined) out.push("max_ttl", String(p.maxTtl));
    return out;
  },
};
