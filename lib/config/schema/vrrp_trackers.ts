/**
 * The tracked objects instances and sync groups refer to by name (spec/vrrp.md
 * §4.12–4.14): `vrrp_script NAME { … }`, `track_file NAME { … }` and
 * `vrrp_track_process NAME { … }`. Owns their keywords, defaults and in-block checks;
 * removing objects without their mandatory keyword and resolving references is done by
 * lib/config/schema/vrrp_check.ts, which sees the whole configuration.
 */
import { defineBlock, type InferSchema, optional, value, type ValueType } from "../schema.ts";
import { flag, int, oneOf, quoteIfNeeded, script, seconds } from "../types.ts";
import { pathType, secondsZeroAs, userGroup } from "./vrrp_values.ts";
import { weightSpec } from "./vrrp_track.ts";

/** Largest timer keepalived keeps in an unsigned 32-bit count of µs (≈ 4295 s). */
export const MAX_TIMER_S = 4294.967295;
const INT32_MAX = 2147483647;

/** spec/vrrp.md §4.12. */
export const vrrpScript = defineBlock({
  name: "vrrp_script",
  fields: {
    script: optional(script, { doc: "command to run; exit status 0 means success (required)" }),
    interval: value(secondsZeroAs({ max: MAX_TIMER_S, digits: 3, zeroAsS: 1 }), 1_000_000, {
      doc: "seconds between runs (ms resolution; 0 becomes 1 s)",
    }),
    timeout: value(secondsZeroAs({ max: MAX_TIMER_S, digits: 3, zeroAsS: 1 }), 1_000_000, {
      doc: "seconds before a run counts as failed (default: the interval; 0 becomes 1 s)",
    }),
    weight: value(weightSpec(253), { weight: 0, reverse: false }, {
      doc: "priority change when the script fails (negative) or succeeds (positive); 0 faults",
    }),
    rise: value(int(1, INT32_MAX), 1, { doc: "consecutive successes needed to be OK" }),
    fall: value(int(1, INT32_MAX), 1, { doc: "consecutive failures needed to be failed" }),
    user: optional(userGroup, { doc: "user (and group) to run the script as" }),
    init_fail: value(flag, false, { doc: "start in the failed state" }),
  },
  validate(b) {
    // Dynamic default: the timeout follows the interval unless written (§4.12).
    if (!Object.hasOwn(b.$loc, "timeout")) b.timeout = b.interval;
  },
});
export type VrrpScript = InferSchema<typeof vrrpScript> & { header: string };

/** `init_file [VALUE] [overwrite]`. */
export interface InitFile {
  value: number;
  overwrite: boolean;
}

const initFile: ValueType<InitFile> = {
  toml: "words",
  describe: "[VALUE] [overwrite]",
  parse(args, ctx) {
    const out: InitFile = { value: 0, overwrite: false };
    for (let i = 0; i < args.length; i++) {
      const t = args[i] as { text: string };
      if (t.text === "overwrite") out.overwrite = true;
      else if (/^[+-]?[0-9]+$/.test(t.text) && Math.abs(Number(t.text)) <= INT32_MAX && i === 0) {
        out.value = Number(t.text);
      } else {
        ctx.error(
          `'${ctx.keyword}' argument '${t.text}' is not valid; write init_file [VALUE] [overwrite]`,
          i,
        );
        return undefined;
      }
    }
    return out;
  },
  print: (v) => [String(v.value), ...(v.overwrite ? ["overwrite"] : [])],
};

/** spec/vrrp.md §4.13. */
export const trackFile = defineBlock({
  name: "track_file",
  fields: {
    file: optional(pathType({ file: true, what: "file" }), {
      doc: "file holding the value (required)",
    }),
    weight: value(weightSpec(254), { weight: 1, reverse: false }, {
      doc: "multiplier of the file's value; 0 faults on a non-zero value",
    }),
    init_file: optional(initFile, {
      doc: "write VALUE (default 0) at start if absent, or always with overwrite",
    }),
  },
});
export type TrackFile = InferSchema<typeof trackFile> & { header: string };

/** `process NAME [ARGS…]`. */
export interface ProcessSpec {
  name: string;
  args: string[];
}

const processSpec: ValueType<ProcessSpec> = {
  toml: "words",
  describe: "NAME [ARGS…]",
  parse(args, ctx) {
    const first = args[0];
    if (first === undefined || first.text === "") {
      ctx.missing("process name");
      return undefined;
    }
    return { name: first.text, args: args.slice(1).map((t) => t.text) };
  },
  print: (v) => [quoteIfNeeded(v.name), ...v.args.map(quoteIfNeeded)],
};

/** spec/vrrp.md §4.14. */
export const vrrpTrackProcess = defineBlock({
  name: "vrrp_track_process",
  fields: {
    process: optional(processSpec, {
      doc: "process name and optional arguments to match (required)",
    }),
    param_match: optional(oneOf(["initial", "partial"] as const), {
      doc: "how arguments match: exact (default), initial or partial",
    }),
    weight: value(weightSpec(254), { weight: 0, reverse: false }, {
      doc: "priority change; 0 faults",
    }),
    quorum: value(int(1, 65535), 1, { doc: "minimum number of matching processes" }),
    quorum_max: optional(int(0, 65535), {
      doc: "maximum number of matching processes (default unlimited)",
    }),
    delay: value(seconds(0, 3600), 0, { doc: "delay before acting on a change" }),
    fork_delay: value(seconds(0, 3600), 0, { doc: "delay before acting on a new process" }),
    terminate_delay: value(seconds(0, 3600), 0, {
      doc: "delay before acting on a terminated process",
    }),
    full_command: value(flag, false, {
      doc: "match the whole command line instead of the process name",
    }),
  },
  validate(b, ctx) {
    if (b.quorum_max !== undefined && b.quorum_max < b.quorum) {
      ctx.sink.error(
        `quorum_max ${b.quorum_max} is less than quorum ${b.quorum}; ignoring quorum_max (no process count could be OK)`,
        ctx.at(b, "quorum_max"),
        "quorum_max",
      );
      b.quorum_max = undefined;
      delete b.$loc.quorum_max;
    }
  },
});
export type VrrpTrackProcess = InferSchema<typeof vrrpTrackProcess> & { header: string };
