/**
 * Kernel addresses: add and remove the addresses of `virtual_ipaddress`,
 * `virtual_ipaddress_excluded` and `static_ipaddress` (spec/vrrp.md §3.17), list what the
 * kernel has, and remove leftovers of a previous run (§3.3 step 3).
 *
 * How keepalived installs them (checked against keepalived 2.2.7 on this kernel): IPv6
 * addresses get IFA_F_NODAD unless `-nodad` was written (the model's `nodad: true`), an
 * IPv6 /128 gets preferred_lft 0 (deprecated) unless told otherwise, IPv4 addresses carry
 * their `label`, `scope` and `brd` only when written, and `peer` becomes IFA_ADDRESS.
 *
 * Owns the RTM_NEWADDR/RTM_DELADDR/RTM_GETADDR messages. It must not decide when addresses
 * are added (the daemon and lib/vrrp/fsm.ts do) and does not track them.
 */
import type { Family } from "./ipaddr.ts";
import { parseIp } from "./ipaddr.ts";
import {
  AF_INET,
  AF_INET6,
  attrString,
  attrU32,
  MessageBuilder,
  type Netlink,
  type NetlinkMessage,
  NLM_F,
  RTM,
} from "./netlink.ts";
import {
  asError,
  type CleanupReport,
  dumpParsed,
  familyByte,
  familyMessage,
  removeEach,
} from "./rt_common.ts";
import { resolveScope } from "./rt_names.ts";
import {
  describeAddress,
  effectivePreferredLft,
  type IpAddressEntry,
} from "../config/schema/vrrp_address.ts";

/** Address attributes (linux/if_addr.h). */
export const IFA = {
  ADDRESS: 1,
  LOCAL: 2,
  LABEL: 3,
  BROADCAST: 4,
  ANYCAST: 5,
  CACHEINFO: 6,
  MULTICAST: 7,
  FLAGS: 8,
} as const;

/** Address flags (linux/if_addr.h IFA_F_*). */
export const IFA_F = {
  SECONDARY: 0x01,
  NODAD: 0x02,
  OPTIMISTIC: 0x04,
  DADFAILED: 0x08,
  HOMEADDRESS: 0x10,
  DEPRECATED: 0x20,
  TENTATIVE: 0x40,
  PERMANENT: 0x80,
  MANAGETEMPADDR: 0x100,
  NOPREFIXROUTE: 0x200,
  MCAUTOJOIN: 0x400,
  STABLE_PRIVACY: 0x800,
} as const;

/** "Forever" in IFA_CACHEINFO lifetimes. */
const INFINITY_LIFE_TIME = 0xffffffff;

/** An address as the kernel reports it. */
export interface KernelAddress {
  readonly family: Family;
  readonly ifindex: number;
  /** The local address (IFA_LOCAL, or IFA_ADDRESS for IPv6 without IFA_LOCAL). */
  readonly address: string;
  readonly prefix: number;
  /** The peer of a point-to-point address (IFA_ADDRESS when it differs from the local one). */
  readonly peer?: string;
  readonly broadcast?: string;
  /** IPv4 label (the interface name unless one was set). */
  readonly label?: string;
  readonly scope: number;
  /** IFA_F_* flags (IFA_FLAGS when present, else the 8-bit header field). */
  readonly flags: number;
  readonly preferredLft: number | "forever";
  readonly validLft: number | "forever";
}

/** What a cleanup did; defined with the other shared rtnetlink helpers. */
export type { CleanupReport } from "./rt_common.ts";

function ifaddrmsg(family: Family, prefix: number, flags: number, scope: number, index: number) {
  const b = new Uint8Array(8);
  b[0] = family === 4 ? AF_INET : AF_INET6;
  b[1] = prefix;
  b[2] = flags & 0xff;
  b[3] = scope;
  new DataView(b.buffer).setUint32(4, index, true);
  return b;
}

function ipBytes(text: string, family: Family, what: string): Uint8Array {
  const ip = parseIp(text);
  if (ip === undefined || ip.family !== family) {
    throw new RangeError(`${what} '${text}' is not an IPv${family} address`);
  }
  return ip.bytes;
}

/** `brd +` / `brd -`: the address with its host bits set / cleared (IPv4). */
function broadcastOf(address: Uint8Array, prefix: number, mode: "+" | "-"): Uint8Array {
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    const mask = (0xff << (8 - bits)) & 0xff;
    out[i] = mode === "+"
      ? ((address[i] as number) | (~mask & 0xff))
      : ((address[i] as number) & mask);
  }
  return out;
}

/** The interface an entry goes on: its own `dev`, else the instance's (`defaultDev`). */
export function addressDevice(entry: IpAddressEntry, defaultDev: string): string {
  return entry.dev ?? defaultDev;
}

/** The IFA_F_* flags keepalived gives an entry (spec/vrrp.md §3.17). */
export function addressFlags(entry: IpAddressEntry): number {
  let flags = 0;
  if (entry.family === 6 && !entry.nodad) flags |= IFA_F.NODAD;
  if (entry.home) flags |= IFA_F.HOMEADDRESS;
  if (entry.mngtmpaddr) flags |= IFA_F.MANAGETEMPADDR;
  if (entry.noprefixroute) flags |= IFA_F.NOPREFIXROUTE;
  if (entry.autojoin) flags |= IFA_F.MCAUTOJOIN;
  return flags;
}

function describeOn(entry: IpAddressEntry): string {
  return entry.peer === undefined
    ? describeAddress(entry)
    : `${entry.address} peer ${entry.peer}/${entry.prefix}`;
}

function addressMessage(
  type: number,
  flags: number,
  entry: IpAddressEntry,
  ifindex: number,
  withOptions: boolean,
): MessageBuilder {
  const fam = entry.family;
  const local = ipBytes(entry.address, fam, "address");
  const aflags = withOptions ? addressFlags(entry) : 0;
  const scope = withOptions && entry.scope !== undefined ? resolveScope(entry.scope) : 0;

  const b = new MessageBuilder(type, flags, ifaddrmsg(fam, entry.prefix, aflags, scope, ifindex));
  b.bytes(IFA.LOCAL, local);
  b.bytes(IFA.ADDRESS, entry.peer === undefined ? local : ipBytes(entry.peer, fam, "peer"));
  if (!withOptions) return b;
  if (entry.broadcast !== undefined && fam === 4) {
    b.bytes(
      IFA.BROADCAST,
      entry.broadcast === "+" || entry.broadcast === "-"
        ? broadcastOf(local, entry.prefix, entry.broadcast)
        : ipBytes(entry.broadcast, 4, "broadcast"),
    );
  }
  if (entry.label !== undefined && fam === 4) b.string(IFA.LABEL, entry.label);
  if (aflags > 0xff) b.u32(IFA.FLAGS, aflags);
  const preferred = effectivePreferredLft(entry);
  if (preferred !== "forever") {
    const ci = new Uint8Array(16);
    const v = new DataView(ci.buffer);
    v.setUint32(0, preferred, true);
    v.setUint32(4, INFINITY_LIFE_TIME, true);
    b.bytes(IFA.CACHEINFO, ci);
  }
  return b;
}

/**
 * Adds `entry` to its interface (its `dev`, else `defaultDev`). Fails with EEXIST when the
 * address is there already, unless `replace` (then its options are updated). Throws an
 * `ErrnoError`: "adding 192.0.2.1/24 to eth0 failed: File exists (EEXIST)".
 */
export function addAddress(
  nl: Netlink,
  entry: IpAddressEntry,
  defaultDev: string,
  options: { readonly replace?: boolean } = {},
): void {
  const dev = addressDevice(entry, defaultDev);
  const operation = `adding ${describeOn(entry)} to ${dev}`;
  const ifindex = nl.linkIndexFor(dev, operation);
  const flags = NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE |
    (options.replace ? NLM_F.REPLACE : NLM_F.EXCL);
  nl.request(addressMessage(RTM.NEWADDR, flags, entry, ifindex, true), operation);
}

/**
 * Removes `entry` from its interface. Throws an `ErrnoError` ("removing 192.0.2.1/24 from
 * eth0 failed: Cannot assign requested address (EADDRNOTAVAIL)" when it is not there).
 */
export function removeAddress(nl: Netlink, entry: IpAddressEntry, defaultDev: string): void {
  const dev = addressDevice(entry, defaultDev);
  const operation = `removing ${describeOn(entry)} from ${dev}`;
  const ifindex = nl.linkIndexFor(dev, operation);
  nl.request(
    addressMessage(RTM.DELADDR, NLM_F.REQUEST | NLM_F.ACK, entry, ifindex, false),
    operation,
  );
}

/** Parses an RTM_NEWADDR/RTM_DELADDR message; undefined for families other than IPv4/IPv6. */
export function parseAddressMessage(m: NetlinkMessage): KernelAddress | undefined {
  const fm = familyMessage(m, 8);
  if (fm === undefined) return undefined;
  const { family, attrs: a, ip } = fm;
  const v = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
  const addressAttr = ip(IFA.ADDRESS);
  const local = ip(IFA.LOCAL) ?? addressAttr;
  if (local === undefined) return undefined;
  const ci = a.get(IFA.CACHEINFO);
  const life = (off: number): number | "forever" => {
    if (ci === undefined || ci.length < 8) return "forever";
    const n = new DataView(ci.buffer, ci.byteOffset, 8).getUint32(off, true);
    return n === INFINITY_LIFE_TIME ? "forever" : n;
  };
  const broadcast = ip(IFA.BROADCAST);
  const label = attrString(a, IFA.LABEL);
  const peer = addressAttr !== undefined && addressAttr !== local ? addressAttr : undefined;
  return {
    family,
    ifindex: v.getUint32(4, true),
    address: local,
    prefix: m.body[1] as number,
    ...(peer === undefined ? {} : { peer }),
    ...(broadcast === undefined ? {} : { broadcast }),
    ...(label === undefined ? {} : { label }),
    scope: m.body[3] as number,
    flags: attrU32(a, IFA.FLAGS) ?? (m.body[2] as number),
    preferredLft: life(0),
    validLft: life(4),
  };
}

/** Every address the kernel has, optionally of one family and/or one interface. */
export function listAddresses(
  nl: Netlink,
  filter: { readonly family?: Family; readonly ifindex?: number } = {},
): KernelAddress[] {
  return dumpParsed(
    nl,
    () => {
      const h = ifaddrmsg(4, 0, 0, 0, filter.ifindex ?? 0);
      h[0] = familyByte(filter.family);
      return new MessageBuilder(RTM.GETADDR, NLM_F.REQUEST | NLM_F.DUMP, h);
    },
    "listing addresses",
    RTM.NEWADDR,
    parseAddressMessage,
    (a) => filter.ifindex === undefined || a.ifindex === filter.ifindex,
  );
}

/**
 * Removes the configured addresses that are present from a previous run (spec/vrrp.md
 * §3.3 step 3: instances not starting as MASTER begin from a clean slate). An address
 * counts as present when the kernel has the same address on the entry's interface; a
 * missing interface means there is nothing to clean. Failures are collected, not thrown.
 */
export function removeLeftoverAddresses(
  nl: Netlink,
  entries: readonly IpAddressEntry[],
  defaultDev: string,
): CleanupReport {
  const report: CleanupReport = { removed: [], failed: [] };
  if (entries.length === 0) return report;
  let present: KernelAddress[];
  try {
    present = listAddresses(nl);
  } catch (e) {
    report.failed.push(asError(e));
    return report;
  }
  return removeEach(entries, (entry) => {
    const dev = addressDevice(entry, defaultDev);
    const ifindex = nl.linkIndex(dev);
    const found = present.find((k) => k.ifindex === ifindex && k.address === entry.address);
    if (found === undefined) return undefined;
    // Removed as the kernel has it: a leftover may differ in prefix or peer.
    const { peer: _peer, ...rest } = entry;
    const actual: IpAddressEntry = found.peer === undefined
      ? { ...rest, prefix: found.prefix }
      : { ...rest, prefix: found.prefix, peer: found.peer };
    removeAddress(nl, actual, defaultDev);
    return `${describeOn(actual)} dev ${dev}`;
  }, report);
}
