/**
 * The common value types of the configuration language (spec/vrrp.md §4.2): booleans,
 * ranged integers, timers, words, addresses, interface names and script commands. Block
 * specific types live next to their block schemas in lib/config/schema/.
 */
import type { Token } from "./ast.ts";
import { DiagClass } from "./diagnostic.ts";
import type { ParseContext, ValueType } from "./schema.ts";
import { shellWords } from "./shell_words.ts";
import { type Family, formatIp, isMulticast, parseIp } from "../net/ipaddr.ts";

const BOOL_WORDS: Readonly<Record<string, boolean>> = {
  on: true,
  true: true,
  yes: true,
  off: false,
  false: false,
  no: false,
};

/** Parse a keepalived BOOL word (lowercase only); undefined if it is not one. */
export function boolWord(text: string): boolean | undefined {
  return Object.hasOwn(BOOL_WORDS, text) ? BOOL_WORDS[text] : undefined;
}

/** A keyword without arguments: present means true. Extra words are ignored, as keepalived does. */
export const flag: ValueType<boolean> = {
  toml: "flag",
  describe: "no argument",
  parse: () => true,
  print: () => [],
};

/** `[BOOL]`: no argument means true; otherwise on/off/true/false/yes/no. */
export const optBool: ValueType<boolean> = {
  toml: "bool",
  describe: "optional on|off|true|false|yes|no",
  parse(args, ctx) {
    const t = args[0];
    if (!t) return true;
    const b = boolWord(t.text);
    if (b === undefined) {
      ctx.error(
        `invalid boolean '${t.text}' for '${ctx.keyword}'; use on|off|true|false|yes|no (lowercase)`,
        0,
      );
    }
    return b;
  },
  print: (v) => [v ? "true" : "false"],
};

/** A required BOOL argument. */
export const bool: ValueType<boolean> = {
  ...optBool,
  describe: "on|off|true|false|yes|no",
  parse(args, ctx) {
    if (!args[0]) {
      ctx.missing("on|off value");
      return undefined;
    }
    return optBool.parse(args, ctx);
  },
};

/**
 * The value of decimal integer text (`[+-]?[0-9]+`), or NaN for any other text. A
 * character loop rather than a regular expression and Number(): it runs for every number
 * of a configuration, and on short new strings those are several times slower.
 */
export function decimalValue(text: string): number {
  const n = text.length;
  const c0 = text.charCodeAt(0);
  const start = c0 === 0x2b || c0 === 0x2d ? 1 : 0;
  if (start >= n) return NaN;
  let v = 0;
  for (let i = start; i < n; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
  }
  // Up to 15 digits the sum is exact; beyond, let Number() round as it always has.
  if (n - start > 15) return Number(text);
  return c0 === 0x2d ? -v : v;
}

/** Parse a base-10 integer and check its range, reporting in the house style. */
export function parseIntArg(
  t: Token | undefined,
  min: number,
  max: number,
  ctx: ParseContext,
  i = 0,
  what = "value",
): number | undefined {
  if (!t) {
    ctx.missing(what);
    return undefined;
  }
  const v = decimalValue(t.text);
  if (Number.isNaN(v)) {
    ctx.error(
      `'${ctx.keyword}' ${what} '${t.text}' is not a whole number (${min} to ${max})`,
      i,
      DiagClass.INVALID_NUMBER,
    );
    return undefined;
  }
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    ctx.error(
      `'${ctx.keyword}' ${what} '${t.text}' is out of range (${min} to ${max})`,
      i,
      DiagClass.INVALID_NUMBER,
    );
    return undefined;
  }
  return v;
}

/** An integer in [min, max]. */
export function int(min: number, max: number): ValueType<number> {
  return {
    toml: "int",
    describe: `integer ${min} to ${max}`,
    parse: (args, ctx) => parseIntArg(args[0], min, max, ctx),
    print: (v) => [String(v)],
  };
}

export const UINT32_MAX = 4294967295;

/**
 * Parse a non-negative decimal number of seconds with up to `digits` fractional digits
 * into microseconds (keepalived keeps timers in µs; spec/vrrp.md §4.2). More digits are
 * rounded with a warning.
 */
export function parseSecondsArg(
  t: Token | undefined,
  minUs: number,
  maxUs: number,
  digits: number,
  ctx: ParseContext,
  i = 0,
): number | undefined {
  if (!t) {
    ctx.missing("time in seconds");
    return undefined;
  }
  // Whole seconds, the usual case, need none of the fraction handling below.
  const c0 = t.text.charCodeAt(0);
  const wholeSeconds = c0 >= 0x30 && c0 <= 0x39 ? decimalValue(t.text) : NaN;
  if (!Number.isNaN(wholeSeconds)) {
    const us = wholeSeconds * 1e6;
    if (!Number.isSafeInteger(us) || us < minUs || us > maxUs) {
      ctx.error(
        `'${ctx.keyword}' value '${t.text}' is out of range (${secondsRange(minUs, maxUs)})`,
        i,
        DiagClass.INVALID_NUMBER,
      );
      return undefined;
    }
    return us;
  }
  const m = /^([0-9]+)(?:\.([0-9]*))?$/.exec(t.text);
  if (!m) {
    ctx.error(
      `'${ctx.keyword}' value '${t.text}' is not a number of seconds (${
        secondsRange(minUs, maxUs)
      })`,
      i,
      DiagClass.INVALID_NUMBER,
    );
    return undefined;
  }
  const whole = m[1] as string;
  let frac = m[2] ?? "";
  if (frac.length > digits) {
    ctx.warn(
      `'${ctx.keyword}' value '${t.text}' has more than ${digits} decimal places; rounded`,
      i,
    );
  }
  const scaled = Number(whole) * 1e6;
  frac = (frac + "000000").slice(0, 7);
  let fracUs = Number(frac.slice(0, 6));
  if (Number(frac[6] ?? "0") >= 5) fracUs++;
  // Round to the allowed precision (digits ≤ 6).
  const unit = 10 ** (6 - Math.min(digits, 6));
  fracUs = Math.round(fracUs / unit) * unit;
  const us = scaled + fracUs;
  if (!Number.isSafeInteger(us) || us < minUs || us > maxUs) {
    ctx.error(
      `'${ctx.keyword}' value '${t.text}' is out of range (${secondsRange(minUs, maxUs)})`,
      i,
      DiagClass.INVALID_NUMBER,
    );
    return undefined;
  }
  return us;
}

/** A range of seconds for messages: "0.01 to 255 s". */
function secondsRange(minUs: number, maxUs: number): string {
  return `${formatSeconds(minUs)} to ${formatSeconds(maxUs)} s`;
}

/** Seconds in µs as the shortest decimal text ("1", "0.01", "2.5"). */
export function formatSeconds(us: number): string {
  const s = Math.floor(us / 1e6);
  const f = us % 1e6;
  if (f === 0) return String(s);
  return `${s}.${String(f).padStart(6, "0").replace(/0+$/, "")}`;
}

/** A time in seconds (decimals allowed), stored in microseconds. */
export function seconds(minS: number, maxS: number, digits = 6): ValueType<number> {
  const minUs = Math.round(minS * 1e6);
  const maxUs = Math.round(maxS * 1e6);
  return {
    toml: "number",
    describe: `seconds ${formatSeconds(minUs)} to ${formatSeconds(maxUs)}`,
    parse: (args, ctx) => parseSecondsArg(args[0], minUs, maxUs, digits, ctx),
    print: (v) => [formatSeconds(v)],
  };
}

/** One word (the first argument), optionally length-limited. */
export function word(opts: { maxLen?: number; what?: string } = {}): ValueType<string> {
  const what = opts.what ?? "value";
  return {
    toml: "string",
    describe: opts.maxLen ? `${what} of at most ${opts.maxLen} characters` : what,
    parse(args, ctx) {
      const t = args[0];
      if (!t) {
        ctx.missing(what);
        return undefined;
      }
      if (opts.maxLen !== undefined && t.text.length > opts.maxLen) {
        ctx.error(
          `'${ctx.keyword}' ${what} '${t.text}' is too long (at most ${opts.maxLen} characters)`,
          0,
        );
        return undefined;
      }
      return t.text;
    },
    print: (v) => [quoteIfNeeded(v)],
  };
}

/** The name of a named block (`vrrp_instance NAME`). */
export const blockName: ValueType<string> = word({ what: "name" });

/**
 * The header of repeated blocks that take no name (`TCP_CHECK {`, `url {`, `garp_group {`):
 * words after the keyword are ignored with a warning.
 */
export const unnamed: ValueType<null> = {
  toml: "words",
  describe: "no name",
  parse(args, ctx) {
    if (args.length > 0) {
      ctx.warn(
        `'${ctx.keyword}' takes no name; '${args.map((t) => t.text).join(" ")}' is ignored`,
        0,
      );
    }
    return null;
  },
  print: () => [],
};

/** All arguments joined with single spaces (free text such as `router_id`'s). */
export function text(what = "text"): ValueType<string> {
  return {
    toml: "string",
    describe: what,
    parse(args, ctx) {
      if (args.length === 0) {
        ctx.missing(what);
        return undefined;
      }
      return args.map((t) => t.text).join(" ");
    },
    print: (v) => [quoteIfNeeded(v)],
  };
}

/** Every argument, as a list of words. */
export function wordList(what = "words", minCount = 1): ValueType<string[]> {
  return {
    toml: "words",
    describe: what,
    parse(args, ctx) {
      if (args.length < minCount) {
        ctx.missing(what);
        return undefined;
      }
      return args.map((t) => t.text);
    },
    print: (v) => v.map(quoteIfNeeded),
  };
}

/** One of a fixed set of words. */
export function oneOf<const W extends string>(
  words: readonly W[],
  opts: { caseInsensitive?: boolean } = {},
): ValueType<W> {
  return {
    toml: "string",
    describe: words.join("|"),
    parse(args, ctx) {
      const t = args[0];
      if (!t) {
        ctx.missing(words.join("|"));
        return undefined;
      }
      const found = words.find((w) =>
        opts.caseInsensitive ? w.toLowerCase() === t.text.toLowerCase() : w === t.text
      );
      if (found === undefined) {
        ctx.error(`'${ctx.keyword}' value '${t.text}' is not one of ${words.join(", ")}`, 0);
      }
      return found;
    },
    print: (v) => [v],
  };
}

/** Parse an address token with family/multicast checks, returning canonical text. */
export function parseIpArg(
  t: Token | undefined,
  ctx: ParseContext,
  opts: { family?: Family; multicast?: boolean } = {},
  i = 0,
): string | undefined {
  if (!t) {
    ctx.missing("address");
    return undefined;
  }
  const a = parseIp(t.text);
  if (!a) {
    ctx.error(`'${ctx.keyword}' address '${t.text}' is not a valid IPv4 or IPv6 address`, i);
    return undefined;
  }
  if (opts.family !== undefined && a.family !== opts.family) {
    ctx.error(`'${ctx.keyword}' address '${t.text}' must be an IPv${opts.family} address`, i);
    return undefined;
  }
  if (opts.multicast !== undefined && isMulticast(a) !== opts.multicast) {
    ctx.error(
      `'${ctx.keyword}' address '${t.text}' must ${
        opts.multicast ? "" : "not "
      }be a multicast address`,
      i,
    );
    return undefined;
  }
  return formatIp(a);
}

/** An IPv4 or IPv6 address (canonical text in the model). */
export function ip(opts: { family?: Family; multicast?: boolean } = {}): ValueType<string> {
  const fam = opts.family ? `IPv${opts.family}` : "IPv4 or IPv6";
  return {
    toml: "string",
    describe: `${fam}${opts.multicast ? " multicast" : ""} address`,
    parse: (args, ctx) => parseIpArg(args[0], ctx, opts),
    print: (v) => [v],
  };
}

/** Linux interface names are at most 15 bytes (IFNAMSIZ − 1). */
export const IFNAMSIZ_MAX = 15;

/** Check an interface name token. */
export function parseIfnameArg(t: Token | undefined, ctx: ParseContext, i = 0): string | undefined {
  if (!t) {
    ctx.missing("interface name");
    return undefined;
  }
  if (
    t.text.length === 0 || t.text.length > IFNAMSIZ_MAX || /[\s/]/.test(t.text) || t.text === "." ||
    t.text === ".."
  ) {
    ctx.error(
      `'${ctx.keyword}' interface name '${t.text}' is not valid (1 to ${IFNAMSIZ_MAX} characters, no '/' or blanks)`,
      i,
      DiagClass.BAD_IF,
    );
    return undefined;
  }
  return t.text;
}

/** A network interface name. */
export const ifname: ValueType<string> = {
  toml: "string",
  describe: `interface name (at most ${IFNAMSIZ_MAX} characters)`,
  parse: (args, ctx) => parseIfnameArg(args[0], ctx),
  print: (v) => [v],
};

/** A script to run: its argument vector and the user/group to run it as. */
export interface ScriptCommand {
  /** The command as written (one string, quoted in the file when it has blanks). */
  command: string;
  /** The command split with shell-like rules (spec/vrrp.md §4.1). */
  argv: string[];
  user?: string;
  group?: string;
}

/** `CMD [USER [[:]GROUP]]` — notify scripts, vrrp_script `script`, MISC_CHECK `misc_path`. */
export const script: ValueType<ScriptCommand> = {
  toml: "words",
  describe: "command [user [group]]",
  parse(args, ctx) {
    const t = args[0];
    if (!t) {
      ctx.missing("command");
      return undefined;
    }
    let argv: string[];
    try {
      argv = shellWords(t.text);
    } catch (e) {
      ctx.error(`'${ctx.keyword}' command '${t.text}': ${(e as Error).message}`, 0);
      return undefined;
    }
    if (argv.length === 0) {
      ctx.error(`'${ctx.keyword}' command is empty; give the path of a script`, 0);
      return undefined;
    }
    const out: ScriptCommand = { command: t.text, argv };
    if (args[1]) out.user = args[1].text;
    if (args[2]) out.group = args[2].text;
    return out;
  },
  print(v) {
    const out = [quoteAlways(v.command)];
    if (v.user !== undefined) out.push(v.user);
    if (v.group !== undefined) out.push(v.group);
    return out;
  },
};

/** Quote a word for the keepalived printer when it would not survive re-tokenising. */
export function quoteIfNeeded(w: string): string {
  return w === "" || /[\s"#!{}]/.test(w) ? quoteAlways(w) : w;
}

/** Double-quote a word. keepalived has no escape inside double quotes, so a `"` cannot be kept. */
export function quoteAlways(w: string): string {
  return `"${w}"`;
}
