/**
 * What the route and rule lines of `virtual_routes`/`static_routes` and
 * `virtual_rules`/`static_rules` (spec/vrrp.md §3.17) parse alike: the token cursor and
 * failure bookkeeping, interface arguments, the options both grammars share (tos, realms,
 * no_track, track_group, inet, inet6) and the one-family-per-line check.
 *
 * Owns no grammar of its own: each line's keywords, defaults and printing stay in
 * vrrp_route.ts and vrrp_rule.ts.
 */
import type { Token } from "../ast.ts";
import type { DiagClass } from "../diagnostic.ts";
import type { ParseContext } from "../schema.ts";
import { parseIfnameArg } from "../types.ts";
import type { Family } from "../../net/ipaddr.ts";
import { Cursor, uintToken, wordToken } from "./vrrp_values.ts";

/** Whether the line is in a `virtual_*` block (tracked with the instance) or `static_*`. */
export type LineUse = "virtual" | "static";

/** The fields the shared options fill in. */
export interface LineCommon {
  tos?: number;
  realms?: string;
  noTrack?: true;
  trackGroup?: string;
}

/** A parser of one route or rule line; `noun` ("route", "rule") goes into messages. */
export abstract class LineParser<E extends LineCommon> {
  readonly cur: Cursor;
  readonly ctx: ParseContext;
  readonly use: LineUse;
  bad = false;
  families = new Set<Family>();
  forced: Family | undefined;
  r: Partial<E> = {};

  constructor(
    tokens: readonly Token[],
    ctx: ParseContext,
    use: LineUse,
    readonly noun: "route" | "rule",
  ) {
    this.cur = new Cursor(tokens);
    this.ctx = ctx;
    this.use = use;
  }

  fail(msg: string, i: number, cls?: DiagClass): void {
    this.ctx.error(msg, i, cls);
    this.bad = true;
  }

  num<T>(v: T | undefined): T | undefined {
    if (v === undefined) this.bad = true;
    return v;
  }

  ifname(): string | undefined {
    const i = this.cur.index;
    const dev = parseIfnameArg(this.cur.next(), this.ctx, i);
    if (dev === undefined) this.bad = true;
    return dev;
  }

  /** Parses option `w` (at token `i`) if both grammars have it; false when it is not one. */
  commonOption(w: string, i: number): boolean {
    const { cur, ctx } = this;
    const r = this.r as Partial<LineCommon>;
    switch (w) {
      case "tos":
      case "dsfield": {
        const v = this.num(uintToken(cur, ctx, 255, w));
        if (v !== undefined) r.tos = v;
        return true;
      }
      case "realms": {
        const v = wordToken(cur, ctx, "realms");
        if (v === undefined) this.bad = true;
        else r.realms = v;
        return true;
      }
      case "no_track":
        r.noTrack = true;
        return true;
      case "track_group": {
        const v = wordToken(cur, ctx, "track_group");
        if (v === undefined) this.bad = true;
        else if (this.use !== "static") {
          this.fail(
            `'${ctx.keyword}' option 'track_group' is only valid for static ${this.noun}s`,
            i,
          );
        } else r.trackGroup = v;
        return true;
      }
      case "inet":
        this.forced = 4;
        return true;
      case "inet6":
        this.forced = 6;
        return true;
      default:
        return false;
    }
  }

  /**
   * The line's family: the one its addresses have (or `inet`/`inet6` forced), IPv4 when it
   * has none; undefined, after an error, when they mix families.
   */
  family(): Family | undefined {
    if (
      this.families.size > 1 ||
      (this.forced !== undefined && this.families.size === 1 && !this.families.has(this.forced))
    ) {
      this.ctx.error(
        `'${this.ctx.keyword}' ${this.noun} mixes IPv4 and IPv6 addresses; use one family per ${this.noun}`,
        0,
      );
      return undefined;
    }
    return this.forced ?? [...this.families][0] ?? 4;
  }
}
