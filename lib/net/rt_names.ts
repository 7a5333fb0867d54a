/**
 * iproute2's name tables, for the names configuration lines may use instead of numbers
 * (spec/vrrp.md §3.17: `table`, `protocol`, `scope`, `realms`, `suppress_ifgroup`,
 * `ipproto`). Files are read as iproute2 reads them: /etc/iproute2/NAME, then
 * /usr/share/iproute2/NAME, plus `NAME.d/*.conf`, each line "NUMBER NAME" with `#` comments;
 * built-in names come first. Tables are read once per process. Owns name → number only.
 */
import type { RtName, Scope } from "../config/schema/vrrp_values.ts";
import { SCOPES } from "../config/schema/vrrp_values.ts";

const DIRS = ["/etc/iproute2", "/usr/share/iproute2"];

const BUILTIN: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  rt_tables: { unspec: 0, default: 253, main: 254, local: 255 },
  rt_protos: {
    unspec: 0,
    redirect: 1,
    kernel: 2,
    boot: 3,
    static: 4,
    gated: 8,
    ra: 9,
    mrt: 10,
    zebra: 11,
    bird: 12,
    dnrouted: 13,
    xorp: 14,
    ntk: 15,
    dhcp: 16,
    keepalived: 18,
    babel: 42,
    openr: 99,
    bgp: 186,
    isis: 187,
    ospf: 188,
    rip: 189,
    eigrp: 192,
  },
  rt_scopes: SCOPES,
  rt_realms: { unknown: 0 },
  group: { default: 0 },
};

/** IP protocol names of /etc/protocols that rules are likely to name. */
const IP_PROTOCOLS: Readonly<Record<string, number>> = {
  ip: 0,
  icmp: 1,
  igmp: 2,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  ah: 51,
  "ipv6-icmp": 58,
  icmpv6: 58,
  vrrp: 112,
  sctp: 132,
  udplite: 136,
};

const cache = new Map<string, Map<string, number>>();

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

function parseTable(text: string, into: Map<string, number>, nameFirst: boolean): void {
  for (const raw of text.split("\n")) {
    const words = raw.replace(/#.*/, "").trim().split(/\s+/);
    const [a, b] = nameFirst ? [words[1], words[0]] : [words[0], words[1]];
    if (a === undefined || b === undefined || b === "") continue;
    const n = /^0x[0-9a-f]+$/i.test(a) ? parseInt(a, 16) : /^[0-9]+$/.test(a) ? Number(a) : NaN;
    if (Number.isSafeInteger(n) && !into.has(b)) into.set(b, n);
  }
}

function table(file: string): Map<string, number> {
  let t = cache.get(file);
  if (t !== undefined) return t;
  t = new Map(Object.entries(BUILTIN[file] ?? {}));
  for (const dir of DIRS) {
    parseTable(readText(`${dir}/${file}`), t, false);
    try {
      const confs = [...Deno.readDirSync(`${dir}/${file}.d`)]
        .filter((e) => e.isFile && e.name.endsWith(".conf"))
        .map((e) => e.name)
        .sort();
      for (const c of confs) parseTable(readText(`${dir}/${file}.d/${c}`), t, false);
    } catch {
      // No drop-in directory.
    }
  }
  cache.set(file, t);
  return t;
}

function resolve(file: string, what: string, value: RtName): number {
  if (typeof value === "number") return value;
  const n = table(file).get(value);
  if (n === undefined) {
    throw new RangeError(
      `${what} '${value}' is not defined in ${DIRS[0]}/${file}; use a number or add the name there`,
    );
  }
  return n;
}

/** A routing table number (`table main` → 254). */
export function resolveTable(t: RtName): number {
  return resolve("rt_tables", "routing table", t);
}

/** A route/rule protocol number (`protocol keepalived` → 18). */
export function resolveProtocol(p: RtName): number {
  return resolve("rt_protos", "route protocol", p);
}

/** A scope number (`scope link` → 253). */
export function resolveScope(s: Scope): number {
  return resolve("rt_scopes", "scope", s);
}

/** An interface group number (`suppress_ifgroup`). */
export function resolveGroup(g: RtName): number {
  return resolve("group", "interface group", g);
}

/** An IP protocol number (`ipproto tcp` → 6), from /etc/protocols or built-in names. */
export function resolveIpProtocol(p: RtName): number {
  if (typeof p === "number") return p;
  let t = cache.get("protocols");
  if (t === undefined) {
    t = new Map(Object.entries(IP_PROTOCOLS));
    parseTable(readText("/etc/protocols"), t, true);
    cache.set("protocols", t);
  }
  const n = t.get(p);
  if (n === undefined) {
    throw new RangeError(`IP protocol '${p}' is not defined in /etc/protocols; use a number`);
  }
  return n;
}

/**
 * A realms value `[FROM/]TO` as the kernel's u32 (FROM in the high 16 bits), names looked
 * up in rt_realms.
 */
export function resolveRealms(text: string): number {
  const one = (w: string) => {
    const n = /^[0-9]+$/.test(w) ? Number(w) : resolve("rt_realms", "realm", w);
    if (n > 0xffff) throw new RangeError(`realm '${w}' is out of range (0 to 65535)`);
    return n;
  };
  const parts = text.split("/");
  if (parts.length > 2 || parts.some((p) => p === "")) {
    throw new RangeError(`realms '${text}' is not valid; write TO or FROM/TO`);
  }
  return parts.length === 2
    ? ((one(parts[0] as string) << 16) | one(parts[1] as string)) >>> 0
    : one(parts[0] as string);
}
