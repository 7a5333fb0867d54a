/**
 * Tracking weights and the entries of `track_interface`, `track_script`, `track_file`,
 * `track_process` and `track_bfd` lists (spec/vrrp.md §3.9, §4.10):
 *
 *   NAME [weight W [reverse|noreverse]]
 *
 * and the `weight W [reverse]` keyword of the tracked objects themselves. Owns parsing,
 * printing and the weight ranges; whether a named object exists is checked by the
 * cross-block validation in lib/config/schema/vrrp_check.ts.
 */
import type { Token } from "../ast.ts";
import type { ParseContext, ValueType } from "../schema.ts";
import { DiagClass } from "../diagnostic.ts";
import { parseIfnameArg, parseIntArg, quoteIfNeeded } from "../types.ts";
import { rememberLoc } from "./vrrp_values.ts";

/** A tracked object's own `weight W [reverse]`. */
export interface WeightSpec {
  weight: number;
  reverse: boolean;
}

/** `weight W [reverse]` with W in [-max, max]. */
export function weightSpec(max: number): ValueType<WeightSpec> {
  return {
    toml: "words",
    describe: `weight -${max} to ${max} [reverse]`,
    parse(args, ctx) {
      const w = parseIntArg(args[0], -max, max, ctx, 0, "weight");
      if (w === undefined) return undefined;
      const extra = args[1]?.text;
      if (extra !== undefined && extra !== "reverse") {
        ctx.error(
          `'${ctx.keyword}' option '${extra}' is unknown; only 'reverse' may follow the weight`,
          1,
        );
        return undefined;
      }
      return { weight: w, reverse: extra === "reverse" };
    },
    print: (v) => (v.reverse ? [String(v.weight), "reverse"] : [String(v.weight)]),
  };
}

/** What a track list refers to. */
export type TrackKind = "interface" | "script" | "file" | "process" | "bfd";

/** One entry of a track list. Absent weight/reverse mean "the tracked object's own". */
export interface TrackEntry {
  name: string;
  weight?: number;
  /** `reverse` (true) or `noreverse` (false); absent: the object's own setting. */
  reverse?: boolean;
}

/**
 * Weight limits per kind (§3.9): `accept` is what the parser takes, `max` what is used;
 * keepalived turns ±254 into ±253 for interfaces and scripts.
 */
export const TRACK_WEIGHT: Readonly<Record<TrackKind, { accept: number; max: number }>> = {
  interface: { accept: 254, max: 253 },
  script: { accept: 254, max: 253 },
  bfd: { accept: 253, max: 253 },
  file: { accept: 254, max: 254 },
  process: { accept: 254, max: 254 },
};

function parseTrackEntry(
  kind: TrackKind,
  tokens: readonly Token[],
  ctx: ParseContext,
): TrackEntry | undefined {
  const first = tokens[0];
  if (first === undefined) {
    ctx.missing("name");
    return undefined;
  }
  let name: string | undefined = first.text;
  if (kind === "interface") name = parseIfnameArg(first, ctx, 0);
  if (name === undefined) return undefined;
  const e: TrackEntry = { name };
  const { accept, max } = TRACK_WEIGHT[kind];
  for (let i = 1; i < tokens.length; i++) {
    const w = (tokens[i] as { text: string }).text;
    if (w === "weight") {
      const t = tokens[i + 1];
      if (t === undefined) {
        ctx.error(
          `'${ctx.keyword}' entry '${name}': 'weight' needs a value (-${max} to ${max})`,
          i,
        );
        return undefined;
      }
      i++;
      if (!/^[+-]?[0-9]+$/.test(t.text) || Math.abs(Number(t.text)) > accept) {
        ctx.error(
          `'${ctx.keyword}' weight '${t.text}' for ${name} must be between -${max} and ${max}; ignoring the entry`,
          i,
          DiagClass.INVALID_NUMBER,
        );
        return undefined;
      }
      let v = Number(t.text);
      if (Math.abs(v) > max) {
        ctx.warn(
          `'${ctx.keyword}' weight '${t.text}' for ${name} cannot be ±${accept}; using ${
            v > 0 ? max : -max
          }`,
          i,
        );
        v = v > 0 ? max : -max;
      }
      e.weight = v;
    } else if (w === "reverse") {
      e.reverse = true;
    } else if (w === "noreverse" && kind !== "interface") {
      e.reverse = false;
    } else {
      ctx.error(
        `'${ctx.keyword}' entry '${name}': option '${w}' is unknown; write NAME [weight W [reverse${
          kind === "interface" ? "" : "|noreverse"
        }]]; ignoring the entry`,
        i,
      );
      return undefined;
    }
  }
  return rememberLoc(e, ctx.node.loc);
}

function printTrackEntry(e: TrackEntry): string[] {
  const out = [quoteIfNeeded(e.name)];
  if (e.weight !== undefined) out.push("weight", String(e.weight));
  if (e.reverse === true) out.push("reverse");
  if (e.reverse === false) out.push("noreverse");
  return out;
}

/** The value type of an entry of a `track_<kind>` list. */
export function trackEntry(kind: TrackKind): ValueType<TrackEntry> {
  const { max } = TRACK_WEIGHT[kind];
  return {
    toml: "words",
    describe: `${kind === "interface" ? "IFNAME" : "NAME"} [weight -${max} to ${max} [reverse${
      kind === "interface" ? "" : "|noreverse"
    }]]`,
    parse: (tokens, ctx) => parseTrackEntry(kind, tokens, ctx),
    print: printTrackEntry,
  };
}

/** The keyword of the list that holds entries of a kind. */
export const TRACK_KEYWORD = {
  interface: "track_interface",
  script: "track_script",
  file: "track_file",
  process: "track_process",
  bfd: "track_bfd",
} as const satisfies Record<TrackKind, string>;
