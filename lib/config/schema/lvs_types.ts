/**
 * Value types of the LVS configuration (spec/lvs.md §1.2–§1.5, §2): service and server
 * addresses, virtual_server_group entries, forwarding methods, persistence settings and
 * the checker-specific values (HTTP status codes, MD5 digests, hex payloads, DNS names).
 *
 * Each type parses the arguments of one keyword line into a structured value and prints
 * it back to words that parse to an equal value. This module owns no keywords and no
 * cross-keyword rules (those are lib/config/schema/lvs.ts and lvs_normalise.ts).
 */
import type { Token } from "../ast.ts";
import type { ParseContext, ValueType } from "../schema.ts";
import { optBool, parseIntArg, quoteIfNeeded, UINT32_MAX } from "../types.ts";
import {
  compareBytes,
  type Family,
  formatIp,
  hostBitsZero,
  type IpAddress,
  parseIp,
  parseIPv4,
} from "../../net/ipaddr.ts";

/** IPVS limits (spec/lvs.md §1.1). */
export const INT32_MAX = 2147483647;
export const PERSISTENCE_MAX_S = 2678400;
export const DEFAULT_PERSISTENCE_S = 360;

/** The family of canonical address text. */
export function familyOf(ip: string): Family {
  return ip.includes(":") ? 6 : 4;
}

function parsePortArg(t: Token | undefined, ctx: ParseContext, i: number): number | undefined {
  if (t === undefined) return 0;
  return parseIntArg(t, 0, 65535, ctx, i, "port");
}

function parseAddr(t: Token, ctx: ParseContext, i: number, what: string): string | undefined {
  const a = parseIp(t.text);
  if (!a) {
    ctx.error(
      `'${ctx.keyword}' ${what} '${t.text}' is not a valid IPv4 or IPv6 address`,
      i,
    );
    return undefined;
  }
  // IPv4 text that parses (four decimal parts, no leading zeros) is already canonical:
  // keep it rather than build the same string again for every server.
  return a.family === 4 ? t.text : formatIp(a);
}

// ---- virtual_server header (spec/lvs.md §1.3) ----

/** The three `virtual_server` header forms. Port 0 means "no port" (persistent services). */
export type VsHeader =
  | { kind: "ip"; ip: string; port: number }
  | { kind: "fwmark"; fwmark: number }
  | { kind: "group"; group: string };

export const vsHeader: ValueType<VsHeader> = {
  toml: "words",
  describe: "IP [PORT] | fwmark N | group NAME",
  parse(args, ctx) {
    const first = args[0];
    if (!first) {
      ctx.missing("address, 'fwmark N' or 'group NAME'");
      return undefined;
    }
    if (first.text === "fwmark" && !first.quoted) {
      const n = parseIntArg(args[1], 0, UINT32_MAX, ctx, 1, "fwmark");
      return n === undefined ? undefined : { kind: "fwmark", fwmark: n };
    }
    if (first.text === "group" && !first.quoted) {
      const g = args[1];
      if (!g) {
        ctx.missing("group name");
        return undefined;
      }
      return { kind: "group", group: g.text };
    }
    const ip = parseAddr(first, ctx, 0, "address");
    if (ip === undefined) return undefined;
    const port = parsePortArg(args[1], ctx, 1);
    return port === undefined ? undefined : { kind: "ip", ip, port };
  },
  print(v) {
    switch (v.kind) {
      case "fwmark":
        return ["fwmark", String(v.fwmark)];
      case "group":
        return ["group", quoteIfNeeded(v.group)];
      case "ip":
        return v.port === 0 ? [v.ip] : [v.ip, String(v.port)];
    }
  },
};

/** A virtual server as written in messages: "virtual_server 10.0.0.1 80". */
export function describeVs(h: VsHeader): string {
  return `virtual_server ${vsHeader.print(h).join(" ")}`;
}

// ---- real_server / sorry_server address (spec/lvs.md §1.5) ----

/**
 * A real or sorry server address. `port` is the effective port (0 = none) once the
 * virtual server has been normalised (spec/lvs.md §1.6 step 10); `portWritten` tells
 * whether the configuration gave a port, so that printing reproduces what was written.
 */
export interface ServerAddress {
  ip: string;
  port: number;
  portWritten: boolean;
}

export const serverAddress: ValueType<ServerAddress> = {
  toml: "words",
  describe: "IP [PORT]",
  parse(args, ctx) {
    const first = args[0];
    if (!first) {
      ctx.missing("address");
      return undefined;
    }
    const ip = parseAddr(first, ctx, 0, "address");
    if (ip === undefined) return undefined;
    const port = parsePortArg(args[1], ctx, 1);
    if (port === undefined) return undefined;
    return { ip, port, portWritten: args[1] !== undefined };
  },
  print: (v) => (v.portWritten ? [v.ip, String(v.port)] : [v.ip]),
};

/** A server as written in messages: "real_server 10.0.0.2 80". */
export function describeServer(keyword: string, a: ServerAddress): string {
  return `${keyword} ${a.port === 0 ? a.ip : `${a.ip} ${a.port}`}`;
}

// ---- virtual_server_group entries (spec/lvs.md §1.2) ----

/**
 * One line of a virtual_server_group. Address entries are stored as an inclusive range
 * (a single address has first === last; prefixes and both range spellings become the
 * same form); port 0 means "no port".
 */
export type VsgEntry =
  | { kind: "range"; first: string; last: string; port: number }
  | { kind: "fwmark"; fwmark: number; family?: Family };

/** True when two IPv6 addresses differ only in their last 16-bit group. */
function sameUpper112(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 14; i++) if (a[i] !== b[i]) return false;
  return true;
}

const V6_RANGE_RULE =
  "kad only accepts IPv6 ranges within one /112 (the last 16-bit group), which is all keepalived iterates";

function parseRangeWord(
  text: string,
  ctx: ParseContext,
): { first: string; last: string } | undefined {
  const bad = (why: string) => {
    ctx.error(`virtual_server_group entry '${text}': ${why}`);
    return undefined;
  };
  const slash = text.indexOf("/");
  if (slash >= 0) {
    const a = parseIp(text.slice(0, slash));
    const lenText = text.slice(slash + 1);
    if (!a) return bad("not a valid address/prefix; write e.g. 10.0.0.0/29");
    const max = a.family === 4 ? 32 : 128;
    if (!/^[0-9]+$/.test(lenText) || Number(lenText) < 1 || Number(lenText) > max) {
      return bad(`prefix length '${lenText}' is out of range (1 to ${max})`);
    }
    const len = Number(lenText);
    if (!hostBitsZero(a, len)) {
      return bad(`the address has bits set after /${len}; use the network address`);
    }
    if (a.family === 6 && len < 112) return bad(`prefix /${len} is too wide: ${V6_RANGE_RULE}`);
    const last = new Uint8Array(a.bytes);
    for (let bit = len; bit < max; bit++) {
      last[bit >> 3] = (last[bit >> 3] as number) | (0x80 >> (bit & 7));
    }
    return { first: formatIp(a), last: formatIp({ family: a.family, bytes: last }) };
  }
  const dash = text.indexOf("-");
  if (dash < 0) {
    const a = parseIp(text);
    if (!a) return bad("not a valid IPv4 or IPv6 address, range, prefix or 'fwmark N'");
    return { first: formatIp(a), last: formatIp(a) };
  }
  const a = parseIp(text.slice(0, dash));
  const endText = text.slice(dash + 1);
  if (!a) return bad("the range start is not a valid address");
  let end: IpAddress | undefined;
  if (a.family === 4 ? endText.includes(".") : endText.includes(":")) {
    end = parseIp(endText);
    if (!end || end.family !== a.family) {
      return bad(`the range end '${endText}' is not an IPv${a.family} address`);
    }
    if (compareBytes(end.bytes, a.bytes) < 0) return bad("the range end is less than its start");
  } else {
    const isV4 = a.family === 4;
    const ok = isV4 ? /^[0-9]{1,3}$/.test(endText) : /^[0-9a-fA-F]{1,4}$/.test(endText);
    const v = ok ? parseInt(endText, isV4 ? 10 : 16) : NaN;
    if (!ok || v > (isV4 ? 255 : 0xffff)) {
      return bad(
        isV4
          ? `the range end '${endText}' must be a last octet (0 to 255) or a full address`
          : `the range end '${endText}' must be a last group (hex 0 to ffff) or a full address`,
      );
    }
    const bytes = new Uint8Array(a.bytes);
    if (isV4) bytes[3] = v;
    else {
      bytes[14] = v >> 8;
      bytes[15] = v & 0xff;
    }
    if (compareBytes(bytes, a.bytes) <= 0) {
      return bad("the range end must be greater than its start");
    }
    end = { family: a.family, bytes };
  }
  if (a.family === 6 && !sameUpper112(a.bytes, end.bytes)) {
    return bad(`the range is too wide: ${V6_RANGE_RULE}`);
  }
  return { first: formatIp(a), last: formatIp(end) };
}

function parseFamilyWord(t: Token, ctx: ParseContext, i: number): Family | undefined {
  if (t.text === "inet") return 4;
  if (t.text === "inet6") return 6;
  ctx.error(`'${ctx.keyword}' family '${t.text}' is not one of inet, inet6`, i);
  return undefined;
}

/** The list field that holds a group's entries (every line of the block). */
export const VSG_ENTRY_KEY = "entry";

export const vsgEntry: ValueType<VsgEntry> = {
  toml: "words",
  describe: "IP|RANGE|PREFIX [PORT] or fwmark N [inet|inet6]",
  parse(args, outer) {
    // Messages name the block: an entry line's own keyword is its first address. The rest
    // is the outer context's (its methods may live on a prototype, so no object spread).
    const ctx: ParseContext = {
      sink: outer.sink,
      node: outer.node,
      keyword: "virtual_server_group",
      loc: (i) => outer.loc(i),
      error: (message, i, cls) => outer.error(message, i, cls),
      warn: (message, i, cls) => outer.warn(message, i, cls),
      missing: (what) => outer.missing(what),
    };
    // A group line has no keyword: its first word is the entry's (schema `rest` list).
    const toks = args;
    const off = 0;
    const first = toks[0];
    if (!first) {
      ctx.missing("address, range or 'fwmark N'");
      return undefined;
    }
    if (first.text === "fwmark" && !first.quoted) {
      const n = parseIntArg(toks[1], 0, UINT32_MAX, ctx, 1 - off, "fwmark");
      if (n === undefined) return undefined;
      const famTok = toks[2];
      if (famTok === undefined) return { kind: "fwmark", fwmark: n };
      const family = parseFamilyWord(famTok, ctx, 2 - off);
      return family === undefined ? undefined : { kind: "fwmark", fwmark: n, family };
    }
    const r = parseRangeWord(first.text, ctx);
    if (r === undefined) return undefined;
    const port = parsePortArg(toks[1], ctx, 1 - off);
    return port === undefined ? undefined : { kind: "range", ...r, port };
  },
  print(v) {
    if (v.kind === "fwmark") {
      const out = ["fwmark", String(v.fwmark)];
      if (v.family !== undefined) out.push(v.family === 4 ? "inet" : "inet6");
      return out;
    }
    const addr = v.first === v.last ? v.first : `${v.first}-${v.last}`;
    return v.port === 0 ? [addr] : [addr, String(v.port)];
  },
};

// ---- forwarding method (spec/lvs.md §1.4) ----

export type TunnelType = "ipip" | "gue" | "gre";
export type TunnelCsum = "nocsum" | "csum" | "remcsum";

/** `lvs_method NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`. */
export type LvsMethod =
  | { method: "NAT" }
  | { method: "DR" }
  | { method: "TUN"; type: TunnelType; port?: number; csum: TunnelCsum };

export const lvsMethod: ValueType<LvsMethod> = {
  toml: "words",
  describe: "NAT | DR | TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]",
  parse(args, ctx) {
    const m = args[0];
    if (!m) {
      ctx.missing("NAT|DR|TUN");
      return undefined;
    }
    if (m.text === "NAT" || m.text === "DR") return { method: m.text };
    if (m.text !== "TUN") {
      ctx.error(
        `'${ctx.keyword}' value '${m.text}' is not one of NAT, DR, TUN (upper case)`,
        0,
      );
      return undefined;
    }
    let type: TunnelType = "ipip";
    let port: number | undefined;
    let csum: TunnelCsum = "nocsum";
    for (let i = 1; i < args.length; i++) {
      const t = args[i] as Token;
      if (t.text === "type") {
        const v = args[++i];
        if (v?.text !== "ipip" && v?.text !== "gue" && v?.text !== "gre") {
          ctx.error(
            `'${ctx.keyword}' tunnel type '${v?.text ?? ""}' is not one of ipip, gue, gre`,
            i,
          );
          return undefined;
        }
        type = v.text;
      } else if (t.text === "port") {
        const p = parseIntArg(args[++i], 1, 65535, ctx, i, "tunnel port");
        if (p === undefined) return undefined;
        port = p;
      } else if (t.text === "nocsum" || t.text === "csum" || t.text === "remcsum") {
        csum = t.text;
      } else {
        ctx.error(
          `'${ctx.keyword}' tunnel option '${t.text}' is not valid; use type ipip|gue|gre, port N, nocsum, csum or remcsum`,
          i,
        );
        return undefined;
      }
    }
    if ((type === "gue") !== (port !== undefined)) {
      ctx.error(
        type === "gue"
          ? `'${ctx.keyword}' TUN type gue needs a port: write 'TUN type gue port N'`
          : `'${ctx.keyword}' TUN type ${type} cannot have a port; only gue tunnels use one`,
      );
      return undefined;
    }
    if (type === "ipip" && csum !== "nocsum") {
      ctx.error(
        `'${ctx.keyword}' ipip tunnels do not support checksum option '${csum}'; use gue or gre`,
      );
      return undefined;
    }
    if (type === "gre" && csum === "remcsum") {
      ctx.error(`'${ctx.keyword}' gre tunnels do not support 'remcsum'; use nocsum or csum`);
      return undefined;
    }
    return port === undefined ? { method: "TUN", type, csum } : { method: "TUN", type, port, csum };
  },
  print(v) {
    if (v.method !== "TUN") return [v.method];
    const out = ["TUN"];
    if (v.type !== "ipip") out.push("type", v.type);
    if (v.port !== undefined) out.push("port", String(v.port));
    if (v.csum !== "nocsum") out.push(v.csum);
    return out;
  },
};

// ---- persistence (spec/lvs.md §1.4) ----

/** `persistence_timeout [SECS]`: no value means 360 s. Stored in whole seconds. */
export const persistenceTimeout: ValueType<number> = {
  toml: "int",
  describe: `seconds 1 to ${PERSISTENCE_MAX_S} (no value: ${DEFAULT_PERSISTENCE_S})`,
  parse(args, ctx) {
    if (!args[0]) return DEFAULT_PERSISTENCE_S;
    return parseIntArg(args[0], 1, PERSISTENCE_MAX_S, ctx, 0, "timeout");
  },
  print: (v) => [String(v)],
};

/** IPv4: a dotted netmask (need not be contiguous); IPv6: a prefix length. */
export type Granularity = { family: 4; mask: string } | { family: 6; prefix: number };

export const persistenceGranularity: ValueType<Granularity> = {
  toml: "string",
  describe: "IPv4 netmask (a.b.c.d) or IPv6 prefix length 1 to 128",
  parse(args, ctx) {
    const t = args[0];
    if (!t) {
      ctx.missing("netmask or prefix length");
      return undefined;
    }
    if (t.text.includes(".")) {
      const b = parseIPv4(t.text);
      if (!b) {
        ctx.error(
          `'${ctx.keyword}' netmask '${t.text}' is not a dotted IPv4 netmask such as 255.255.255.0`,
          0,
        );
        return undefined;
      }
      return { family: 4, mask: formatIp({ family: 4, bytes: b }) };
    }
    const p = parseIntArg(t, 1, 128, ctx, 0, "IPv6 prefix length");
    return p === undefined ? undefined : { family: 6, prefix: p };
  },
  print: (v) => [v.family === 4 ? v.mask : String(v.prefix)],
};

// ---- flags ----

/**
 * A virtual_server-level option that keepalived treats as a bare flag (`alpha`, `omega`,
 * `inhibit_on_failure`, `ha_suspend`): keepalived ignores any argument and turns the
 * option on (spec/lvs.md §8 item 22). kad honours an explicit false and says so.
 */
export const vsFlag: ValueType<boolean> = {
  ...optBool,
  describe: "optional on|off|true|false|yes|no (no value: on)",
  parse(args, ctx) {
    const v = optBool.parse(args, ctx);
    if (v === false) {
      ctx.warn(
        `'${ctx.keyword}' with a false value turns the option off in kad; keepalived ignores the value here and turns it on`,
        0,
      );
    }
    return v;
  },
};

/**
 * An optional word where the bare keyword has a meaning of its own (`sni_name`,
 * `require_reply`): no argument gives "".
 */
export function optionalWord(what: string): ValueType<string> {
  return {
    toml: "string",
    describe: `[${what}]`,
    parse: (args) => args[0]?.text ?? "",
    print: (v) => (v === "" ? [] : [quoteIfNeeded(v)]),
  };
}

/** `N [reverse|noreverse]` — FILE_CHECK and bfd_instance weights. */
export interface ReversibleWeight {
  weight: number;
  reverse: boolean;
}

export function reversibleWeight(min: number, max: number): ValueType<ReversibleWeight> {
  return {
    toml: "words",
    describe: `integer ${min} to ${max} [reverse|noreverse]`,
    parse(args, ctx) {
      const w = parseIntArg(args[0], min, max, ctx, 0);
      if (w === undefined) return undefined;
      const r = args[1];
      if (r === undefined || r.text === "noreverse") return { weight: w, reverse: false };
      if (r.text === "reverse") return { weight: w, reverse: true };
      ctx.error(`'${ctx.keyword}' option '${r.text}' is not one of reverse, noreverse`, 1);
      return undefined;
    },
    print: (v) => (v.reverse ? [String(v.weight), "reverse"] : [String(v.weight)]),
  };
}

// ---- HTTP_GET / SSL_GET (spec/lvs.md §2.5) ----

/** An inclusive range of HTTP status codes. */
export interface StatusRange {
  from: number;
  to: number;
}

/** `status_code N|N-M …` (100 to 599). Invalid words are reported and skipped. */
export const statusCodes: ValueType<StatusRange[]> = {
  toml: "words",
  describe: "HTTP status codes or ranges N-M, 100 to 599",
  parse(args, ctx) {
    if (args.length === 0) {
      ctx.missing("status code");
      return undefined;
    }
    const out: StatusRange[] = [];
    args.forEach((t, i) => {
      const m = /^([0-9]{3})(?:-([0-9]{3}))?$/.exec(t.text);
      const from = m ? Number(m[1]) : NaN;
      const to = m ? Number(m[2] ?? m[1]) : NaN;
      if (!m || from < 100 || to > 599 || from > to) {
        ctx.error(
          `'${ctx.keyword}' value '${t.text}' is not a status code or range N-M within 100 to 599; it is ignored`,
          i,
        );
        return;
      }
      out.push({ from, to });
    });
    return out.length > 0 ? out : undefined;
  },
  print: (v) => v.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)),
};

/** `digest HEX32`: an MD5 digest, stored in lower case (spec/lvs.md §2.5.3). */
export const md5Digest: ValueType<string> = {
  toml: "string",
  describe: "32 hexadecimal digits (MD5)",
  parse(args, ctx) {
    const t = args[0];
    if (!t) {
      ctx.missing("MD5 digest");
      return undefined;
    }
    if (!/^[0-9a-fA-F]{32}$/.test(t.text)) {
      ctx.error(
        `'${ctx.keyword}' value '${t.text}' is not an MD5 digest (exactly 32 hexadecimal digits); compute it with genhash`,
        0,
      );
      return undefined;
    }
    return t.text.toLowerCase();
  },
  print: (v) => [v],
};

/** `http_protocol 1.0|1.0C|1.1` (1.0c accepted). */
export const httpProtocol: ValueType<"1.0" | "1.0C" | "1.1"> = {
  toml: "string",
  describe: "1.0 | 1.0C | 1.1",
  parse(args, ctx) {
    const t = args[0];
    if (!t) {
      ctx.missing("1.0|1.0C|1.1");
      return undefined;
    }
    if (t.text === "1.0" || t.text === "1.1") return t.text;
    if (t.text === "1.0C" || t.text === "1.0c") return "1.0C";
    ctx.error(`'${ctx.keyword}' value '${t.text}' is not one of 1.0, 1.0C, 1.1`, 0);
    return undefined;
  },
  print: (v) => [v],
};

// ---- UDP_CHECK hex strings (spec/lvs.md §2.9) ----

/**
 * keepalived's free-form hex: whitespace-separated words, each pair of characters one
 * byte, a lone last character of a word a low nibble (`Ab12f 3` → ab 12 0f 03). The
 * result is lower-case hex pairs; with `wildcard`, `x` marks an ignored nibble.
 */
export function parseHexWords(words: readonly string[], wildcard: boolean): string | undefined {
  const digit = wildcard ? /^[0-9a-fA-FxX]+$/ : /^[0-9a-fA-F]+$/;
  let out = "";
  for (const w of words) {
    if (!digit.test(w)) return undefined;
    const lower = w.toLowerCase();
    for (let i = 0; i < lower.length; i += 2) {
      out += i + 1 < lower.length ? lower.slice(i, i + 2) : `0${lower[i]}`;
    }
  }
  return out;
}

/** `payload HEX…` / `require_reply [HEX…]`: stored as lower-case hex pairs. */
export function hexString(wildcard: boolean, optionalValue: boolean): ValueType<string> {
  return {
    toml: "string",
    describe: wildcard ? "hex string (x = any nibble)" : "hex string",
    parse(args, ctx) {
      if (args.length === 0) {
        if (optionalValue) return "";
        ctx.missing("hex string");
        return undefined;
      }
      const hex = parseHexWords(args.map((t) => t.text), wildcard);
      if (hex === undefined) {
        ctx.error(
          `'${ctx.keyword}' value '${args.map((t) => t.text).join(" ")}' is not a hex string${
            wildcard ? " (digits 0-9, a-f and x for any nibble)" : " (digits 0-9 and a-f)"
          }`,
          0,
        );
        return undefined;
      }
      return hex;
    },
    print: (v) => (v === "" ? [] : [v]),
  };
}

// ---- DNS_CHECK (spec/lvs.md §2.8) ----

export const DNS_TYPES = [
  "A",
  "NS",
  "CNAME",
  "SOA",
  "MX",
  "TXT",
  "AAAA",
  "RRSIG",
  "DNSKEY",
] as const;

/** `name DOMAIN`: no empty labels, labels of at most 63 bytes; `.` is the root. */
export const dnsName: ValueType<string> = {
  toml: "string",
  describe: "domain name ('.' for the root)",
  parse(args, ctx) {
    const t = args[0];
    if (!t) {
      ctx.missing("domain name");
      return undefined;
    }
    if (t.text === ".") return ".";
    const labels = (t.text.endsWith(".") ? t.text.slice(0, -1) : t.text).split(".");
    if (labels.some((l) => l.length === 0)) {
      ctx.error(`'${ctx.keyword}' value '${t.text}' has an empty label; write e.g. example.com`, 0);
      return undefined;
    }
    const long = labels.find((l) => new TextEncoder().encode(l).length > 63);
    if (long !== undefined) {
      ctx.error(
        `'${ctx.keyword}' label '${long}' is longer than 63 bytes, which DNS cannot encode`,
        0,
      );
      return undefined;
    }
    return t.text;
  },
  print: (v) => [quoteIfNeeded(v)],
};

// ---- MISC_CHECK user (spec/lvs.md §2.6) ----

export interface RunAs {
  user: string;
  group?: string;
}

export const runAs: ValueType<RunAs> = {
  toml: "words",
  describe: "USER [GROUP]",
  parse(args, ctx) {
    const u = args[0];
    if (!u) {
      ctx.missing("user name");
      return undefined;
    }
    return args[1] ? { user: u.text, group: args[1].text } : { user: u.text };
  },
  print: (
    v,
  ) => (v.group === undefined
    ? [quoteIfNeeded(v.user)]
    : [quoteIfNeeded(v.user), quoteIfNeeded(v.group)]),
};
