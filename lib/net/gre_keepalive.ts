/**
 * GRE keepalives as kad's XDP programs see them (bpf/gre_keepalive.c, docs/gre-attach.md):
 * the layouts of the programs' `config` and `counters` maps, a reference classifier that
 * decides exactly as the programs do, keepalive builders, and the built-in packets of
 * `kad gre-attach --selftest`. Pure: no I/O, no kernel calls (those are lib/net/gre_xdp.ts).
 *
 * A keepalive (RFC 2784 GRE, Cisco style) reaches the tunnel device decapsulated, as
 * "inner IP (tunnel local -> tunnel remote) | GRE protocol 0" (0x86dd is RouterOS's form
 * over ip6gre); the programs answer it with XDP_TX, unchanged, and pass everything else.
 */
import { internetChecksum } from "./inet_checksum.ts";

/** The two programs: inner IPv4 on gre devices, inner IPv6 on ip6gre devices. */
export type GreProgram = "gre" | "gre6";
export const GRE_PROGRAMS: readonly GreProgram[] = ["gre", "gre6"];

/** The embedded object (lib/net/xdp_objects.ts) holding both programs. */
export const GRE_OBJECT = "gre_keepalive";
/** Function (and kernel program) names by program. */
export const GRE_FUNCTIONS: Readonly<Record<GreProgram, string>> = {
  gre: "kad_gre",
  gre6: "kad_gre6",
};
export const CONFIG_MAP = "config";
export const COUNTERS_MAP = "counters";

/** The address length of each program's inner IP header. */
export function addressLength(program: GreProgram): 4 | 16 {
  return program === "gre" ? 4 : 16;
}

// ---- the config map (struct kad_gre_config) ----

/** `config.flags`: written by kad (without it the programs answer nothing). */
export const CFG_READY = 1;
/** `config.flags`: the tunnel has a local address (otherwise the inner source is not checked). */
export const CFG_LOCAL = 2;
export const CONFIG_VALUE_SIZE = 40;

/** The addresses a keepalive must carry: inner source = local, inner destination = remote. */
export interface TunnelEndpoints {
  /** The tunnel's local address; undefined for a tunnel without one (any source accepted). */
  readonly local?: Uint8Array | undefined;
  readonly remote: Uint8Array;
}

/** The value of the programs' `config` map for a tunnel. */
export function encodeConfig(
  program: GreProgram,
  endpoints: TunnelEndpoints,
  ifindex: number,
): Uint8Array {
  const len = addressLength(program);
  checkAddress(endpoints.remote, len, "remote");
  if (endpoints.local !== undefined) checkAddress(endpoints.local, len, "local");
  const out = new Uint8Array(CONFIG_VALUE_SIZE);
  if (endpoints.local !== undefined) out.set(endpoints.local, 0);
  out.set(endpoints.remote, 16);
  const v = new DataView(out.buffer);
  v.setUint32(32, CFG_READY | (endpoints.local !== undefined ? CFG_LOCAL : 0), true);
  v.setUint32(36, ifindex, true);
  return out;
}

/** What a `config` map value says (undefined endpoints when kad never wrote it). */
export interface DecodedConfig {
  readonly endpoints: TunnelEndpoints | undefined;
  readonly ifindex: number;
}

export function decodeConfig(program: GreProgram, value: Uint8Array): DecodedConfig {
  if (value.length < CONFIG_VALUE_SIZE) {
    throw new RangeError(`config value is ${value.length} bytes; expected ${CONFIG_VALUE_SIZE}`);
  }
  const v = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const flags = v.getUint32(32, true);
  const len = addressLength(program);
  const endpoints = (flags & CFG_READY) === 0 ? undefined : {
    local: (flags & CFG_LOCAL) !== 0 ? value.slice(0, len) : undefined,
    remote: value.slice(16, 16 + len),
  };
  return { endpoints, ifindex: v.getUint32(36, true) };
}

function checkAddress(a: Uint8Array, len: number, what: string): void {
  if (a.length !== len) {
    throw new RangeError(`${what} address has ${a.length} bytes; this program needs ${len}`);
  }
}

// ---- the counters map (struct kad_gre_counters, per CPU) ----

export const COUNTERS_VALUE_SIZE = 24;

export interface GreCounters {
  /** Keepalives answered (XDP_TX). */
  readonly replied: number;
  /** Packets that were not keepalives, passed on untouched. */
  readonly passed: number;
  /** Packets whose IP or GRE header was truncated or inconsistent, passed on untouched. */
  readonly malformed: number;
}

/** Sum a per-CPU `counters` value (one 24-byte slot per possible CPU). */
export function decodeCounters(perCpu: Uint8Array, cpus: number): GreCounters {
  const v = new DataView(perCpu.buffer, perCpu.byteOffset, perCpu.byteLength);
  let replied = 0n;
  let passed = 0n;
  let malformed = 0n;
  for (let i = 0; i < cpus; i++) {
    const o = i * COUNTERS_VALUE_SIZE;
    if (o + COUNTERS_VALUE_SIZE > perCpu.length) break;
    replied += v.getBigUint64(o, true);
    passed += v.getBigUint64(o + 8, true);
    malformed += v.getBigUint64(o + 16, true);
  }
  return { replied: Number(replied), passed: Number(passed), malformed: Number(malformed) };
}

// ---- the reference classifier ----

export type Verdict = "reply" | "pass" | "malformed";

const GRE = 47;
const GRE_F_ROUTING = 0x4000;
const GRE_F_OTHER = 0x0ff8;
const GRE_VERSION = 0x0007;

function u16(p: Uint8Array, o: number): number {
  return ((p[o] as number) << 8) | (p[o + 1] as number);
}

function sameBytes(p: Uint8Array, o: number, a: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (p[o + i] !== a[i]) return false;
  return true;
}

/** GRE header length per its C/K/S bits, or 0 if it is not plain GRE version 0. */
export function greHeaderLength(flags: number): number {
  if (flags & (GRE_F_ROUTING | GRE_F_OTHER | GRE_VERSION)) return 0;
  return 4 + (flags & 0x8000 ? 4 : 0) + (flags & 0x2000 ? 4 : 0) + (flags & 0x1000 ? 4 : 0);
}

/** The header checksum for a 20-byte IPv4 header whose checksum field is zero. */
export function ipv4HeaderChecksum(header: Uint8Array): number {
  return internetChecksum(header, 0, 20);
}

/**
 * What the program decides for a packet as the tunnel device delivers it (starting at the
 * inner IP header). `endpoints` undefined means kad never configured the program: nothing
 * is answered. Mirrors bpf/gre_keepalive.c check for check, in the same order.
 */
export function classify(
  program: GreProgram,
  p: Uint8Array,
  endpoints: TunnelEndpoints | undefined,
): Verdict {
  return program === "gre" ? classify4(p, endpoints) : classify6(p, endpoints);
}

function classify4(p: Uint8Array, ep: TunnelEndpoints | undefined): Verdict {
  if (p.length < 1 || (p[0] as number) >> 4 !== 4) return "pass";
  if (p.length < 20) return "malformed";
  const ihl = (p[0] as number) & 0x0f;
  if (ihl < 5) return "malformed";
  if (ihl > 5) return "pass";
  const totLen = u16(p, 2);
  if (totLen < 20 || totLen > p.length) return "malformed";
  if (((p[6] as number) & 0x3f) !== 0 || p[7] !== 0) return "pass";
  if (p[9] !== GRE) return "pass";
  if (ep === undefined || !sameBytes(p, 16, ep.remote)) return "pass";
  if (ep.local !== undefined && !sameBytes(p, 12, ep.local)) return "pass";
  if (totLen < 24 || p.length < 24) return "malformed";
  const glen = greHeaderLength(u16(p, 20));
  if (glen === 0) return "pass";
  if (20 + glen > totLen) return "malformed";
  if (u16(p, 22) !== 0) return "pass";
  return internetChecksum(p, 0, 20) === 0 ? "reply" : "malformed";
}

function classify6(p: Uint8Array, ep: TunnelEndpoints | undefined): Verdict {
  if (p.length < 1 || (p[0] as number) >> 4 !== 6) return "pass";
  if (p.length < 40) return "malformed";
  const payloadLen = u16(p, 4);
  if (40 + payloadLen > p.length) return "malformed";
  if (p[6] !== GRE) return "pass";
  if (ep === undefined || !sameBytes(p, 24, ep.remote)) return "pass";
  if (ep.local !== undefined && !sameBytes(p, 8, ep.local)) return "pass";
  if (payloadLen < 4 || p.length < 44) return "malformed";
  const glen = greHeaderLength(u16(p, 40));
  if (glen === 0) return "pass";
  if (glen > payloadLen) return "malformed";
  const proto = u16(p, 42);
  return proto === 0 || proto === 0x86dd ? "reply" : "pass";
}

// ---- keepalive builders ----

/** Optional GRE fields (RFC 2890) of a keepalive's inner GRE header. */
export interface GreFields {
  /** GRE protocol type; 0 for a keepalive (0x86dd in RouterOS's ip6gre form). */
  readonly protocol?: number;
  readonly key?: number;
  readonly sequence?: number;
  /** Include the checksum field (C bit) with a correct checksum. */
  readonly checksum?: boolean;
}

/** A GRE header (and no payload) with the given fields. */
export function greHeader(f: GreFields = {}): Uint8Array {
  const len = 4 + (f.checksum ? 4 : 0) + (f.key !== undefined ? 4 : 0) +
    (f.sequence !== undefined ? 4 : 0);
  const out = new Uint8Array(len);
  const v = new DataView(out.buffer);
  const flags = (f.checksum ? 0x8000 : 0) | (f.key !== undefined ? 0x2000 : 0) |
    (f.sequence !== undefined ? 0x1000 : 0);
  v.setUint16(0, flags);
  v.setUint16(2, f.protocol ?? 0);
  let o = 4;
  if (f.checksum) o += 4;
  if (f.key !== undefined) {
    v.setUint32(o, f.key >>> 0);
    o += 4;
  }
  if (f.sequence !== undefined) v.setUint32(o, f.sequence >>> 0);
  if (f.checksum) v.setUint16(4, internetChecksum(out));
  return out;
}

/**
 * The keepalive a peer sends inside the tunnel, as the local tunnel device delivers it: an
 * IPv4 header from `local` to `remote` (TTL 255, protocol 47) and a GRE header.
 */
export function keepaliveIPv4(
  local: Uint8Array,
  remote: Uint8Array,
  gre: GreFields = {},
  id = 0,
): Uint8Array {
  checkAddress(local, 4, "local");
  checkAddress(remote, 4, "remote");
  const g = greHeader(gre);
  const out = new Uint8Array(20 + g.length);
  const v = new DataView(out.buffer);
  out[0] = 0x45;
  v.setUint16(2, out.length);
  v.setUint16(4, id);
  out[8] = 255;
  out[9] = GRE;
  out.set(local, 12);
  out.set(remote, 16);
  v.setUint16(10, ipv4HeaderChecksum(out));
  out.set(g, 20);
  return out;
}

/** As `keepaliveIPv4` for ip6gre: an IPv6 header (hop limit 255, next header 47) and GRE. */
export function keepaliveIPv6(
  local: Uint8Array,
  remote: Uint8Array,
  gre: GreFields = {},
): Uint8Array {
  checkAddress(local, 16, "local");
  checkAddress(remote, 16, "remote");
  const g = greHeader(gre);
  const out = new Uint8Array(40 + g.length);
  const v = new DataView(out.buffer);
  out[0] = 0x60;
  v.setUint16(4, g.length);
  out[6] = GRE;
  out[7] = 255;
  out.set(local, 8);
  out.set(remote, 24);
  out.set(g, 40);
  return out;
}

// ---- the built-in packets of --selftest ----

export interface SelftestCase {
  readonly name: string;
  readonly program: GreProgram;
  readonly packet: Uint8Array;
  readonly endpoints: TunnelEndpoints;
  readonly expect: Verdict;
}

/** Documentation addresses (RFC 5737, RFC 3849) used by the built-in packets. */
export const SELFTEST_V4 = {
  local: new Uint8Array([192, 0, 2, 2]),
  remote: new Uint8Array([198, 51, 100, 1]),
};
export const SELFTEST_V6 = {
  local: new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]),
  remote: new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
};

function edit(p: Uint8Array, f: (p: Uint8Array, v: DataView) => void): Uint8Array {
  const out = new Uint8Array(p);
  f(out, new DataView(out.buffer));
  return out;
}

/** Recompute the IPv4 header checksum after an edit. */
function refresh4(p: Uint8Array): Uint8Array {
  const v = new DataView(p.buffer, p.byteOffset);
  v.setUint16(10, 0);
  v.setUint16(10, ipv4HeaderChecksum(p));
  return p;
}

/** Every built-in case: each keepalive form, and packets that must pass untouched. */
export function selftestCases(): SelftestCase[] {
  const { local: l4, remote: r4 } = SELFTEST_V4;
  const { local: l6, remote: r6 } = SELFTEST_V6;
  const ep4: TunnelEndpoints = { local: l4, remote: r4 };
  const ep6: TunnelEndpoints = { local: l6, remote: r6 };
  const ka4 = keepaliveIPv4(l4, r4);
  const ka6 = keepaliveIPv6(l6, r6);
  const other4 = new Uint8Array([203, 0, 113, 9]);
  const icmp4 = refresh4(edit(ka4, (p, v) => {
    p[9] = 1;
    v.setUint32(20, 0x08000000);
  }));
  const cases: SelftestCase[] = [
    { name: "gre keepalive (Cisco)", program: "gre", packet: ka4, endpoints: ep4, expect: "reply" },
    {
      name: "gre keepalive with key",
      program: "gre",
      packet: keepaliveIPv4(l4, r4, { key: 42 }),
      endpoints: ep4,
      expect: "reply",
    },
    {
      name: "gre keepalive with checksum, key and sequence number",
      program: "gre",
      packet: keepaliveIPv4(l4, r4, { checksum: true, key: 7, sequence: 1 }),
      endpoints: ep4,
      expect: "reply",
    },
    {
      name: "gre keepalive on a tunnel without a local address",
      program: "gre",
      packet: ka4,
      endpoints: { remote: r4 },
      expect: "reply",
    },
    {
      name: "ip6gre keepalive",
      program: "gre6",
      packet: ka6,
      endpoints: ep6,
      expect: "reply",
    },
    {
      name: "ip6gre keepalive (RouterOS, protocol 0x86dd)",
      program: "gre6",
      packet: keepaliveIPv6(l6, r6, { protocol: 0x86dd }),
      endpoints: ep6,
      expect: "reply",
    },
    {
      name: "ip6gre keepalive with key",
      program: "gre6",
      packet: keepaliveIPv6(l6, r6, { key: 42 }),
      endpoints: ep6,
      expect: "reply",
    },
    { name: "ICMP over gre", program: "gre", packet: icmp4, endpoints: ep4, expect: "pass" },
    {
      name: "GRE carrying IPv4 (not a keepalive)",
      program: "gre",
      packet: keepaliveIPv4(l4, r4, { protocol: 0x0800 }),
      endpoints: ep4,
      expect: "pass",
    },
    {
      name: "inner destination is not the tunnel remote",
      program: "gre",
      packet: keepaliveIPv4(l4, other4),
      endpoints: ep4,
      expect: "pass",
    },
    {
      name: "inner source is not the tunnel local",
      program: "gre",
      packet: keepaliveIPv4(other4, r4),
      endpoints: ep4,
      expect: "pass",
    },
    {
      name: "IPv4 options",
      program: "gre",
      packet: (() => {
        const p = new Uint8Array(ka4.length + 4);
        p.set(ka4.subarray(0, 20));
        p.set(ka4.subarray(20), 24);
        p[0] = 0x46;
        new DataView(p.buffer).setUint16(2, p.length);
        return refresh4(p);
      })(),
      endpoints: ep4,
      expect: "pass",
    },
    {
      name: "IPv4 fragment",
      program: "gre",
      packet: refresh4(edit(ka4, (p) => (p[6] = 0x20))),
      endpoints: ep4,
      expect: "pass",
    },
    {
      name: "GRE version 1",
      program: "gre",
      packet: edit(ka4, (p) => (p[21] = 1)),
      endpoints: ep4,
      expect: "pass",
    },
    {
      name: "GRE routing present",
      program: "gre",
      packet: edit(ka4, (p) => (p[20] = 0x40)),
      endpoints: ep4,
      expect: "pass",
    },
    {
      name: "IPv4 header checksum wrong",
      program: "gre",
      packet: edit(ka4, (p) => (p[11] = (p[11] as number) ^ 1)),
      endpoints: ep4,
      expect: "malformed",
    },
    {
      name: "IPv4 total length shorter than the GRE header",
      program: "gre",
      packet: refresh4(edit(ka4, (_p, v) => v.setUint16(2, 22))),
      endpoints: ep4,
      expect: "malformed",
    },
    {
      name: "IPv4 total length beyond the packet",
      program: "gre",
      packet: refresh4(edit(ka4, (_p, v) => v.setUint16(2, 40))),
      endpoints: ep4,
      expect: "malformed",
    },
    {
      name: "GRE key flag without room for the key",
      program: "gre",
      packet: edit(ka4, (p) => (p[20] = 0x20)),
      endpoints: ep4,
      expect: "malformed",
    },
    {
      name: "truncated IPv4 header",
      program: "gre",
      packet: ka4.slice(0, 16),
      endpoints: ep4,
      expect: "malformed",
    },
    { name: "IPv6 payload on gre", program: "gre", packet: ka6, endpoints: ep4, expect: "pass" },
    {
      name: "non-IP payload on gre",
      program: "gre",
      packet: new Uint8Array([0x00, 0x01, 0x41, 0xff, ...new Uint8Array(20)]),
      endpoints: ep4,
      expect: "pass",
    },
    {
      name: "ip6gre: inner destination is not the tunnel remote",
      program: "gre6",
      packet: keepaliveIPv6(l6, l6),
      endpoints: ep6,
      expect: "pass",
    },
    {
      name: "ip6gre: inner source is not the tunnel local",
      program: "gre6",
      packet: keepaliveIPv6(r6, r6),
      endpoints: ep6,
      expect: "pass",
    },
    {
      name: "ip6gre: GRE carrying IPv4",
      program: "gre6",
      packet: keepaliveIPv6(l6, r6, { protocol: 0x0800 }),
      endpoints: ep6,
      expect: "pass",
    },
    {
      name: "ip6gre: extension header before GRE",
      program: "gre6",
      packet: edit(ka6, (p) => (p[6] = 0)),
      endpoints: ep6,
      expect: "pass",
    },
    {
      name: "ip6gre: payload length beyond the packet",
      program: "gre6",
      packet: edit(ka6, (_p, v) => v.setUint16(4, 8)),
      endpoints: ep6,
      expect: "malformed",
    },
    {
      name: "ip6gre: payload shorter than a GRE header",
      program: "gre6",
      packet: edit(ka6, (_p, v) => v.setUint16(4, 2)),
      endpoints: ep6,
      expect: "malformed",
    },
    {
      name: "ip6gre: truncated IPv6 header",
      program: "gre6",
      packet: ka6.slice(0, 30),
      endpoints: ep6,
      expect: "malformed",
    },
    {
      name: "IPv4 payload on ip6gre",
      program: "gre6",
      packet: ka4,
      endpoints: ep6,
      expect: "pass",
    },
  ];
  return cases;
}
