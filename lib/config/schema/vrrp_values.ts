/**
 * Small value helpers shared by the VRRP-side schemas (lib/config/schema/vrrp*.ts and
 * global.ts): a token cursor for multi-word lines, address/prefix parsing, clamped
 * numbers, names from iproute2's tables, path checks, and the location registry that
 * lets later checks point at the line of a list entry. Pure; it knows no keywords and
 * never touches files or the host.
 */
import type { Token } from "../ast.ts";
import { DiagClass, type SourceLoc } from "../diagnostic.ts";
import type { ParseContext, ValueType } from "../schema.ts";
import { formatSeconds, parseIntArg, parseSecondsArg, quoteIfNeeded } from "../types.ts";
import { type Family, formatIp, type IpAddress, parseIp } from "../../net/ipaddr.ts";

// ---- entry locations ----

const entryLocs = new WeakMap<object, SourceLoc>();

/**
 * Remember where a list entry (a VIP line, a track_script entry, …) was written. The
 * location is kept outside the value so that models compare equal whatever their origin.
 */
export function rememberLoc<T extends object>(entry: T, loc: SourceLoc): T {
  entryLocs.set(entry, loc);
  return entry;
}

/** Where a list entry was written, if it came from a parsed line. */
export function entryLoc(entry: object): SourceLoc | undefined {
  return entryLocs.get(entry);
}

// ---- token cursor ----

/** Walks the tokens of one line; `index` is the position for diagnostics. */
export class Cursor {
  readonly tokens: readonly Token[];
  index = 0;

  constructor(tokens: readonly Token[], start = 0) {
    this.tokens = tokens;
    this.index = start;
  }

  get done(): boolean {
    return this.index >= this.tokens.length;
  }

  peek(): Token | undefined {
    return this.tokens[this.index];
  }

  next(): Token | undefined {
    const t = this.tokens[this.index];
    if (t !== undefined) this.index++;
    return t;
  }
}

// ---- numbers ----

/**
 * Parse an unsigned number written in decimal or, with `0x`, hexadecimal (as iproute2
 * accepts for tos, fwmark and masks). Undefined when malformed or above `max`.
 */
export function parseUintText(text: string, max: number): number | undefined {
  let v: number;
  if (/^0x[0-9a-fA-F]+$/.test(text)) v = parseInt(text.slice(2), 16);
  else if (/^[0-9]+$/.test(text)) v = Number(text);
  else return undefined;
  return Number.isSafeInteger(v) && v <= max ? v : undefined;
}

/** Report a number outside a range in the house style. */
function rangeError(
  ctx: ParseContext,
  what: string,
  text: string,
  min: number,
  max: number,
  i: number,
) {
  ctx.error(
    `'${ctx.keyword}' ${what} '${text}' is out of range (${min} to ${max})`,
    i,
    DiagClass.INVALID_NUMBER,
  );
}

/**
 * An integer accepted in [acceptMin, acceptMax] but clamped into [min, max] with a
 * warning, for the keywords keepalived corrects rather than rejects (e.g.
 * `vrrp_garp_master_repeat 0` → 1).
 */
export function clampedInt(
  opts: { min: number; max: number; acceptMin: number; acceptMax: number },
): ValueType<number> {
  return {
    toml: "int",
    describe: `integer ${opts.min} to ${opts.max}`,
    parse(args, ctx) {
      const v = parseIntArg(args[0], opts.acceptMin, opts.acceptMax, ctx);
      if (v === undefined) return undefined;
      return clampWarn(v, opts.min, opts.max, ctx, args[0]?.text ?? "", (n) => String(n));
    },
    print: (v) => [String(v)],
  };
}

/** Seconds (stored in µs) accepted in a wider range and clamped into [min, max]. */
export function clampedSeconds(
  opts: { min: number; max: number; acceptMin: number; acceptMax: number; digits?: number },
): ValueType<number> {
  const us = (s: number) => Math.round(s * 1e6);
  return {
    toml: "number",
    describe: `seconds ${opts.min} to ${opts.max}`,
    parse(args, ctx) {
      const v = parseSecondsArg(
        args[0],
        us(opts.acceptMin),
        us(opts.acceptMax),
        opts.digits ?? 6,
        ctx,
      );
      if (v === undefined) return undefined;
      return clampWarn(v, us(opts.min), us(opts.max), ctx, args[0]?.text ?? "", formatSeconds);
    },
    print: (v) => [formatSeconds(v)],
  };
}

function clampWarn(
  v: number,
  min: number,
  max: number,
  ctx: ParseContext,
  text: string,
  fmt: (n: number) => string,
): number {
  if (v < min || v > max) {
    const to = v < min ? min : max;
    ctx.warn(
      `'${ctx.keyword}' value '${text}' is out of range (${fmt(min)} to ${fmt(max)}); using ${
        fmt(to)
      }`,
      0,
    );
    return to;
  }
  return v;
}

/** Parse an integer token, reporting in the house style; `what` names the option. */
export function intToken(
  cur: Cursor,
  ctx: ParseContext,
  min: number,
  max: number,
  what: string,
): number | undefined {
  const i = cur.index;
  const t = cur.next();
  if (t === undefined) {
    ctx.error(`'${ctx.keyword}' option '${what}' needs a value (${min} to ${max})`, i - 1);
    return undefined;
  }
  if (!/^[+-]?[0-9]+$/.test(t.text)) {
    ctx.error(
      `'${ctx.keyword}' ${what} '${t.text}' is not a whole number (${min} to ${max})`,
      i,
      DiagClass.INVALID_NUMBER,
    );
    return undefined;
  }
  const v = Number(t.text);
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    rangeError(ctx, what, t.text, min, max, i);
    return undefined;
  }
  return v;
}

/** Like {@link intToken} but also accepting `0x` hexadecimal. */
export function uintToken(
  cur: Cursor,
  ctx: ParseContext,
  max: number,
  what: string,
): number | undefined {
  const i = cur.index;
  const t = cur.next();
  if (t === undefined) {
    ctx.error(`'${ctx.keyword}' option '${what}' needs a value (0 to ${max})`, i - 1);
    return undefined;
  }
  const v = parseUintText(t.text, max);
  if (v === undefined) {
    ctx.error(
      `'${ctx.keyword}' ${what} '${t.text}' is not a number from 0 to ${max} (decimal or 0x hex)`,
      i,
      DiagClass.INVALID_NUMBER,
    );
  }
  return v;
}

/** The next word after an option keyword, or an error naming the option. */
export function wordToken(cur: Cursor, ctx: ParseContext, what: string): string | undefined {
  const t = cur.next();
  if (t === undefined) {
    ctx.error(`'${ctx.keyword}' option '${what}' needs a value`, cur.index - 1);
    return undefined;
  }
  return t.text;
}

// ---- addresses and prefixes ----

/** An address with a prefix length, in canonical text. */
export interface IpPrefix {
  address: string;
  prefix: number;
}

export const maxPrefix = (f: Family): number => (f === 4 ? 32 : 128);

/** Split `ADDR[/LEN]`; `len` is undefined when no `/` was written. */
export function splitPrefix(text: string): { ip: IpAddress | undefined; len: string | undefined } {
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  return { ip: parseIp(addr), len: slash < 0 ? undefined : text.slice(slash + 1) };
}

/**
 * Parse `ADDR[/LEN]` strictly: a malformed address or length is an error (undefined).
 * Without `/LEN` the prefix is the full host length.
 */
export function prefixToken(
  t: Token,
  ctx: ParseContext,
  i: number,
  what: string,
): (IpPrefix & { family: Family; written: boolean }) | undefined {
  const { ip, len } = splitPrefix(t.text);
  if (ip === undefined) {
    ctx.error(
      `'${ctx.keyword}' ${what} '${t.text}' is not a valid IPv4 or IPv6 address or prefix`,
      i,
    );
    return undefined;
  }
  const max = maxPrefix(ip.family);
  if (len === undefined) {
    return { address: formatIp(ip), prefix: max, family: ip.family, written: false };
  }
  if (!/^[0-9]{1,3}$/.test(len) || Number(len) > max) {
    ctx.error(
      `'${ctx.keyword}' ${what} '${t.text}' has an invalid prefix length (0 to ${max})`,
      i,
      DiagClass.INVALID_NUMBER,
    );
    return undefined;
  }
  return { address: formatIp(ip), prefix: Number(len), family: ip.family, written: true };
}

/** An address token (no prefix allowed); undefined after an error. */
export function addressToken(
  cur: Cursor,
  ctx: ParseContext,
  what: string,
): { address: string; family: Family } | undefined {
  const i = cur.index;
  const t = cur.next();
  if (t === undefined) {
    ctx.error(`'${ctx.keyword}' option '${what}' needs an address`, i - 1);
    return undefined;
  }
  const ip = parseIp(t.text);
  if (ip === undefined) {
    ctx.error(`'${ctx.keyword}' ${what} '${t.text}' is not a valid IPv4 or IPv6 address`, i);
    return undefined;
  }
  return { address: formatIp(ip), family: ip.family };
}

/** The text of an address with its prefix, omitting a full-length prefix. */
export function formatPrefix(p: IpPrefix, family: Family): string {
  return p.prefix === maxPrefix(family) ? p.address : `${p.address}/${p.prefix}`;
}

// ---- iproute2 names ----

/** Route/address scopes by name (iproute2's rt_scopes). */
export const SCOPES: Readonly<Record<string, number>> = {
  global: 0,
  universe: 0,
  site: 200,
  link: 253,
  host: 254,
  nowhere: 255,
};

/** A scope: a name from {@link SCOPES} or a number 0–255. */
export type Scope = string | number;

/** Parse a scope word; undefined (after an error) when it is neither a name nor 0–255. */
export function scopeToken(cur: Cursor, ctx: ParseContext): Scope | undefined {
  const i = cur.index;
  const w = wordToken(cur, ctx, "scope");
  if (w === undefined) return undefined;
  if (Object.hasOwn(SCOPES, w)) return w;
  const n = parseUintText(w, 255);
  if (n !== undefined) return n;
  ctx.error(
    `'${ctx.keyword}' scope '${w}' is not valid; use ${Object.keys(SCOPES).join(", ")} or 0 to 255`,
    i,
  );
  return undefined;
}

/**
 * A routing table or protocol: a number, or a name to be looked up in iproute2's
 * rt_tables / rt_protos by the daemon (the schema does not read files).
 */
export type RtName = string | number;

const RT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Parse a table/protocol word: a number 0..max or a name. */
export function rtNameToken(
  cur: Cursor,
  ctx: ParseContext,
  max: number,
  what: string,
): RtName | undefined {
  const i = cur.index;
  const w = wordToken(cur, ctx, what);
  if (w === undefined) return undefined;
  const n = parseUintText(w, max);
  if (n !== undefined) return n;
  if (RT_NAME.test(w)) return w;
  ctx.error(`'${ctx.keyword}' ${what} '${w}' is neither a number (0 to ${max}) nor a name`, i);
  return undefined;
}

// ---- paths ----

/** Linux PATH_MAX − 1. */
export const PATH_MAX = 4095;

/**
 * Why a path is unusable (undefined when it is fine): empty, too long, containing NUL or
 * a line break, or (with `absolute`) not starting with `/`.
 */
export function pathProblem(
  p: string,
  opts: { absolute?: boolean; file?: boolean } = {},
): string | undefined {
  if (p.length === 0) return "is empty";
  if (p.length > PATH_MAX) return `is longer than ${PATH_MAX} characters`;
  if (/[\0\r\n]/.test(p)) return "contains a NUL or line-break character";
  if (opts.absolute && !p.startsWith("/")) {
    return "is not an absolute path (it must start with '/')";
  }
  if (
    opts.file &&
    (p.endsWith("/") || p.endsWith("/.") || p.endsWith("/..") || p === "." || p === "..")
  ) {
    return "names a directory, not a file";
  }
  return undefined;
}

/** A file system path (one word), checked with {@link pathProblem}. */
export function pathType(
  opts: { absolute?: boolean; file?: boolean; what?: string } = {},
): ValueType<string> {
  const what = opts.what ?? "path";
  return {
    toml: "string",
    describe: opts.absolute ? `absolute ${what}` : what,
    parse(args, ctx) {
      const t = args[0];
      if (t === undefined) {
        ctx.missing(what);
        return undefined;
      }
      const problem = pathProblem(t.text, opts);
      if (problem !== undefined) {
        ctx.error(`'${ctx.keyword}' ${what} '${t.text}' ${problem}`, 0);
        return undefined;
      }
      return t.text;
    },
    print: (v) => [quoteIfNeeded(v)],
  };
}

/** Normalise a POSIX path: collapse `//`, `.` and `..` segments (never touching the disk). */
export function normalizePath(p: string): string {
  const abs = p.startsWith("/");
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!abs) out.push("..");
      continue;
    }
    out.push(seg);
  }
  const joined = out.join("/");
  return abs ? `/${joined}` : joined === "" ? "." : joined;
}

/** The directory part of a path ("." when there is none). */
export function dirName(p: string): string {
  const i = p.lastIndexOf("/");
  if (i < 0) return ".";
  if (i === 0) return "/";
  return p.slice(0, i);
}

/**
 * Seconds (stored in µs) where 0 means "use `zeroAsS`" with a warning, as keepalived does
 * for vrrp_script `interval`/`timeout` (0 → 1 s).
 */
export function secondsZeroAs(
  opts: { max: number; digits: number; zeroAsS: number },
): ValueType<number> {
  const maxUs = Math.round(opts.max * 1e6);
  const zeroUs = Math.round(opts.zeroAsS * 1e6);
  return {
    toml: "number",
    describe: `seconds greater than 0, at most ${formatSeconds(maxUs)}`,
    parse(args, ctx) {
      const v = parseSecondsArg(args[0], 0, maxUs, opts.digits, ctx);
      if (v === 0) {
        ctx.warn(`'${ctx.keyword}' must be greater than 0; using ${formatSeconds(zeroUs)} s`, 0);
        return zeroUs;
      }
      return v;
    },
    print: (v) => [formatSeconds(v)],
  };
}

/** A user to run scripts as, with an optional group (`:GROUP` also sets supplementary groups). */
export interface UserGroup {
  user: string;
  /** As written, including a leading `:` when given. */
  group?: string;
}

/** `USER [[:]GROUP]`. */
export const userGroup: ValueType<UserGroup> = {
  toml: "words",
  describe: "USER [[:]GROUP]",
  parse(args, ctx) {
    const u = args[0];
    if (u === undefined) {
      ctx.missing("user");
      return undefined;
    }
    const out: UserGroup = { user: u.text };
    const g = args[1];
    if (g !== undefined) {
      if (g.text === ":" || g.text === "") {
        ctx.error(`'${ctx.keyword}' group '${g.text}' is empty; write GROUP or :GROUP`, 1);
        return undefined;
      }
      out.group = g.text;
    }
    return out;
  },
  print: (
    v,
  ) => (v.group === undefined
    ? [quoteIfNeeded(v.user)]
    : [quoteIfNeeded(v.user), quoteIfNeeded(v.group)]),
};

/** A word that may be omitted, in which case it takes `dflt`. */
export function optionalWord(dflt: string, what: string): ValueType<string> {
  return {
    toml: "string",
    describe: `[${what}] (default ${dflt === "" ? "none" : dflt})`,
    parse: (args) => args[0]?.text ?? dflt,
    print: (v) => (v === dflt ? [] : [quoteIfNeeded(v)]),
  };
}
