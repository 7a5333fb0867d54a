/**
 * The `bfd_instance NAME { … }` blocks (spec/lvs.md §6.1): BFD sessions whose state the
 * VRRP side (`track_bfd`) and the checker side (`BFD_CHECK`) follow.
 *
 * Owns the keywords, their ranges and defaults, and the per-instance rules (a neighbour is
 * required, source and neighbour share a family, ttl defaults by family, max_hops never
 * exceeds ttl, no two sessions share neighbour, source and mode). It must not know about
 * the trackers that reference an instance: those check their own references.
 */
import {
  type AnyField,
  type BlockMeta,
  blocks,
  defineBlock,
  type InferSchema,
  optional,
  type ValidateContext,
  value,
  type ValueType,
} from "../schema.ts";
import { flag, int, ip, optBool, parseIntArg, word } from "../types.ts";
import { DiagClass } from "../diagnostic.ts";
import { familyOf, reversibleWeight } from "./lvs_types.ts";

/** Names are shorter than 32 characters (keepalived's BFD_INAME_MAX). */
export const BFD_NAME_MAX = 31;
/** Interval bounds in milliseconds (spec/lvs.md §6.1). */
export const BFD_INTERVAL_MAX_MS = 4294967;
/** min_rx above this many milliseconds is allowed but reported as unusual. */
export const BFD_MIN_RX_SENSIBLE_MS = 10000;
/** The default ttl (IPv4) and hop limit (IPv6) of transmitted packets. */
export const BFD_TTL_V4 = 255;
export const BFD_HOPLIMIT_V6 = 64;
/** max_hops value meaning "no incoming TTL check". */
export const BFD_MAX_HOPS_OFF = 255;

/**
 * A time in milliseconds with up to three decimals, stored in microseconds. More
 * decimals are rounded to the microsecond with a warning.
 */
export function milliseconds(minMs: number, maxMs: number): ValueType<number> {
  const range = `${minMs} to ${maxMs} ms`;
  return {
    toml: "number",
    describe: `milliseconds ${minMs} to ${maxMs}`,
    parse(args, ctx) {
      const t = args[0];
      if (!t) {
        ctx.missing("milliseconds");
        return undefined;
      }
      const m = /^([0-9]+)(?:\.([0-9]*))?$/.exec(t.text);
      if (!m) {
        ctx.error(
          `'${ctx.keyword}' value '${t.text}' is not a number of milliseconds (${range})`,
          0,
          DiagClass.INVALID_NUMBER,
        );
        return undefined;
      }
      const frac = m[2] ?? "";
      if (frac.length > 3) {
        ctx.warn(
          `'${ctx.keyword}' value '${t.text}' has more than 3 decimal places; rounded to the microsecond`,
          0,
        );
      }
      const us = Math.round(Number(`${m[1]}.${frac || "0"}`) * 1000);
      if (!Number.isSafeInteger(us) || us < minMs * 1000 || us > maxMs * 1000) {
        ctx.error(
          `'${ctx.keyword}' value '${t.text}' is out of range (${range})`,
          0,
          DiagClass.INVALID_NUMBER,
        );
        return undefined;
      }
      return us;
    },
    print: (v) => [formatMs(v)],
  };
}

/** Microseconds as the shortest millisecond text ("10", "3.312"). */
export function formatMs(us: number): string {
  const whole = Math.floor(us / 1000);
  const frac = us % 1000;
  return frac === 0
    ? String(whole)
    : `${whole}.${String(frac).padStart(3, "0").replace(/0+$/, "")}`;
}

/** `max_hops -1..255`: -1 is stored as 255 (no incoming TTL check). */
export const maxHops: ValueType<number> = {
  toml: "int",
  describe: "integer -1 to 255 (-1 or 255: no check)",
  parse(args, ctx) {
    const v = parseIntArg(args[0], -1, 255, ctx, 0);
    return v === -1 ? BFD_MAX_HOPS_OFF : v;
  },
  print: (v) => [String(v)],
};

const intervalMs = milliseconds(1, BFD_INTERVAL_MAX_MS);

export const bfdInstance = defineBlock({
  name: "bfd_instance",
  fields: {
    neighbor_ip: optional(ip(), { doc: "address of the BFD peer (required)" }),
    source_ip: optional(ip(), { doc: "local address (binds a source port in the RFC range)" }),
    min_rx: value(intervalMs, 10_000, {
      doc: "required minimum receive interval, ms (default 10)",
    }),
    min_tx: value(intervalMs, 10_000, {
      doc: "desired minimum transmit interval, ms (default 10)",
    }),
    idle_tx: value(milliseconds(1000, BFD_INTERVAL_MAX_MS), 1_000_000, {
      doc: "transmit interval while the session is not up, ms (default 1000)",
    }),
    multiplier: value(int(1, 255), 5, { doc: "missed packets before the session is down" }),
    passive: value(flag, false, { doc: "do not transmit until the peer is heard" }),
    ttl: value(int(1, 255), BFD_TTL_V4, {
      doc: "ttl / hop limit of sent packets (default 255 for IPv4, 64 for IPv6)",
    }),
    max_hops: value(maxHops, 0, { doc: "largest ttl reduction accepted (-1 or 255: no check)" }),
    multihop: value(optBool, false, { doc: "multihop session (port 4784)" }),
    weight: value(reversibleWeight(-253, 253), { weight: 0, reverse: false }, {
      doc: "default track_bfd weight of VRRP instances",
    }),
    vrrp: value(flag, false, { doc: "send events to VRRP (default: VRRP and checkers)" }),
    checker: value(flag, false, {
      doc: "send events to the checkers (default: VRRP and checkers)",
    }),
  },
  aliases: { neighbour_ip: "neighbor_ip", hoplimit: "ttl" },
});

export type BfdInstance = InferSchema<typeof bfdInstance> & { header: string };

export const bfdRootFields = {
  bfd_instance: blocks(bfdInstance, word({ what: "name", maxLen: BFD_NAME_MAX }), {
    unique: true,
    doc: "a BFD session",
  }),
} satisfies Record<string, AnyField>;

function where(b: BlockMeta, key: string | undefined, ctx: ValidateContext) {
  return ctx.at(b, key);
}

/**
 * Per-instance rules and effective values: instances without a usable neighbour, or
 * duplicating another session, are removed after an error.
 */
export function validateBfd(cfg: { bfd_instance: BfdInstance[] }, ctx: ValidateContext): void {
  const sessions = new Map<string, BfdInstance>();
  cfg.bfd_instance = cfg.bfd_instance.filter((b) => {
    const name = `bfd_instance ${b.header}`;
    if (b.neighbor_ip === undefined) {
      ctx.sink.error(
        `${name} has no neighbor_ip and is disabled; add 'neighbor_ip ADDRESS'`,
        b.$at,
        "bfd_instance",
      );
      return false;
    }
    const family = familyOf(b.neighbor_ip);
    if (b.source_ip !== undefined && familyOf(b.source_ip) !== family) {
      ctx.sink.error(
        `${name}: source_ip ${b.source_ip} and neighbor_ip ${b.neighbor_ip} are different address families; the instance is disabled`,
        where(b, "source_ip", ctx),
        "source_ip",
      );
      return false;
    }
    const key = `${b.neighbor_ip}|${b.source_ip ?? ""}|${b.multihop}`;
    const first = sessions.get(key);
    if (first !== undefined) {
      ctx.sink.error(
        `${name} has the same neighbor, source and mode as bfd_instance ${first.header} (${first.$at.file}: Line ${first.$at.line}); it is ignored`,
        b.$at,
        "bfd_instance",
      );
      return false;
    }
    sessions.set(key, b);
    if (!Object.hasOwn(b.$loc, "ttl")) b.ttl = family === 4 ? BFD_TTL_V4 : BFD_HOPLIMIT_V6;
    if (b.max_hops !== BFD_MAX_HOPS_OFF && b.max_hops > b.ttl) {
      ctx.sink.warn(
        `${name}: max_hops ${b.max_hops} exceeds ttl ${b.ttl}; using ${b.ttl}`,
        where(b, "max_hops", ctx),
        "max_hops",
      );
      b.max_hops = b.ttl;
    }
    if (b.min_rx > BFD_MIN_RX_SENSIBLE_MS * 1000) {
      ctx.sink.warn(
        `${name}: min_rx ${
          formatMs(b.min_rx)
        } ms is larger than a sensible ${BFD_MIN_RX_SENSIBLE_MS} ms`,
        where(b, "min_rx", ctx),
        "min_rx",
      );
    }
    if (!b.vrrp && !b.checker) {
      b.vrrp = true;
      b.checker = true;
    }
    return true;
  });
}
