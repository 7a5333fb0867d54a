/**
 * Kernel policy-routing rules: add and remove the rules of `virtual_rules` and
 * `static_rules` (spec/vrrp.md §3.17), list rules, and remove leftovers of a previous run
 * (§3.3 step 3).
 *
 * Messages follow `ip rule` (the configuration grammar is its grammar). As keepalived 2.2.7
 * does (checked on this kernel), rules are added with protocol `keepalived` (18) unless the
 * line names one. A rule without `preference` gets one from the kernel; keepalived's own
 * choice (counting down from 16384) is the daemon's to make before calling `addRule`.
 *
 * Owns RTM_NEWRULE/RTM_DELRULE/RTM_GETRULE. It must not decide when rules change.
 */
import type { Family } from "./ipaddr.ts";
import { parseIp } from "./ipaddr.ts";
import {
  AF_INET,
  AF_INET6,
  attrString,
  attrU32,
  attrU8,
  MessageBuilder,
  type Netlink,
  type NetlinkMessage,
  NLM_F,
  RTM,
} from "./netlink.ts";
import {
  resolveGroup,
  resolveIpProtocol,
  resolveProtocol,
  resolveRealms,
  resolveTable,
} from "./rt_names.ts";
import { RTPROT_KEEPALIVED } from "./routes.ts";
import { describeRule, type RuleEntry } from "../config/schema/vrrp_rule.ts";
import {
  buildRequest,
  type CleanupReport,
  dumpParsed,
  familyByte,
  familyMessage,
  receivedForm,
  removeEach,
} from "./rt_common.ts";

/** Rule attributes (linux/fib_rules.h FRA_*). */
export const FRA = {
  DST: 1,
  SRC: 2,
  IIFNAME: 3,
  GOTO: 4,
  PRIORITY: 6,
  FWMARK: 10,
  FLOW: 11,
  TUN_ID: 12,
  SUPPRESS_IFGROUP: 13,
  SUPPRESS_PREFIXLEN: 14,
  TABLE: 15,
  FWMASK: 16,
  OIFNAME: 17,
  L3MDEV: 19,
  UID_RANGE: 20,
  PROTOCOL: 21,
  IP_PROTO: 22,
  SPORT_RANGE: 23,
  DPORT_RANGE: 24,
} as const;

/** Rule actions (FR_ACT_*). */
export const FR_ACT = {
  TO_TBL: 1,
  GOTO: 2,
  NOP: 3,
  BLACKHOLE: 6,
  UNREACHABLE: 7,
  PROHIBIT: 8,
} as const;

const FIB_RULE_INVERT = 0x2;

/** A rule as the kernel reports it (the fields kad looks at). */
export interface KernelRule {
  readonly family: Family;
  readonly priority: number;
  readonly action: number;
  readonly table: number;
  readonly protocol: number;
  readonly invert: boolean;
  readonly src?: string;
  readonly srcLen: number;
  readonly dst?: string;
  readonly dstLen: number;
  readonly iif?: string;
  readonly oif?: string;
  readonly fwmark?: number;
  readonly fwmask?: number;
  readonly goto?: number;
}

function ipBytes(text: string, family: Family, what: string): Uint8Array {
  const ip = parseIp(text);
  if (ip === undefined || ip.family !== family) {
    throw new RangeError(`${what} '${text}' is not an IPv${family} address`);
  }
  return ip.bytes;
}

function rangeBytes(start: number, end: number, size: 2 | 4): Uint8Array {
  const b = new Uint8Array(size * 2);
  const v = new DataView(b.buffer);
  if (size === 2) {
    v.setUint16(0, start, true);
    v.setUint16(2, end, true);
  } else {
    v.setUint32(0, start, true);
    v.setUint32(4, end, true);
  }
  return b;
}

function ruleMessage(msgType: number, nlFlags: number, r: RuleEntry, adding: boolean) {
  const fam = r.family;
  const from = r.from === undefined || r.from === "all" ? undefined : r.from;
  const to = r.to === undefined || r.to === "all" ? undefined : r.to;
  let action: number;
  let table = 0;
  switch (r.action.kind) {
    case "table":
      action = FR_ACT.TO_TBL;
      table = resolveTable(r.action.table);
      break;
    case "l3mdev":
      action = FR_ACT.TO_TBL;
      break;
    case "goto":
      action = FR_ACT.GOTO;
      break;
    case "nop":
      action = FR_ACT.NOP;
      break;
    case "blackhole":
      action = FR_ACT.BLACKHOLE;
      break;
    case "unreachable":
      action = FR_ACT.UNREACHABLE;
      break;
    case "prohibit":
      action = FR_ACT.PROHIBIT;
      break;
  }
  const h = new Uint8Array(12);
  h.set([
    fam === 4 ? AF_INET : AF_INET6,
    to?.prefix ?? 0,
    from?.prefix ?? 0,
    r.tos ?? 0,
    table < 256 ? table : 0,
    0,
    0,
    action,
  ]);
  new DataView(h.buffer).setUint32(8, r.not ? FIB_RULE_INVERT : 0, true);
  const b = new MessageBuilder(msgType, nlFlags, h);
  if (from !== undefined && from.prefix > 0) {
    b.bytes(FRA.SRC, ipBytes(from.address, fam, "from"));
  }
  if (to !== undefined && to.prefix > 0) b.bytes(FRA.DST, ipBytes(to.address, fam, "to"));
  if (table >= 256) b.u32(FRA.TABLE, table);
  if (r.action.kind === "goto") b.u32(FRA.GOTO, r.action.target);
  if (r.action.kind === "l3mdev") b.u8(FRA.L3MDEV, 1);
  if (r.preference !== undefined) b.u32(FRA.PRIORITY, r.preference);
  if (r.iif !== undefined) b.string(FRA.IIFNAME, r.iif);
  if (r.oif !== undefined) b.string(FRA.OIFNAME, r.oif);
  if (r.fwmark !== undefined) {
    b.u32(FRA.FWMARK, r.fwmark.mark);
    if (r.fwmark.mask !== undefined) b.u32(FRA.FWMASK, r.fwmark.mask);
  }
  if (r.realms !== undefined) b.u32(FRA.FLOW, resolveRealms(r.realms));
  if (r.tunnelId !== undefined) {
    const t = new Uint8Array(8);
    new DataView(t.buffer).setBigUint64(0, BigInt(r.tunnelId), false);
    b.bytes(FRA.TUN_ID, t);
  }
  if (r.suppressIfgroup !== undefined) {
    b.u32(FRA.SUPPRESS_IFGROUP, resolveGroup(r.suppressIfgroup));
  }
  if (r.suppressPrefixlength !== undefined) {
    b.u32(FRA.SUPPRESS_PREFIXLEN, r.suppressPrefixlength);
  }
  if (r.uidrange !== undefined) {
    b.bytes(FRA.UID_RANGE, rangeBytes(r.uidrange.start, r.uidrange.end, 4));
  }
  const protocol = r.protocol !== undefined
    ? resolveProtocol(r.protocol)
    : adding
    ? RTPROT_KEEPALIVED
    : undefined;
  if (protocol !== undefined) b.u8(FRA.PROTOCOL, protocol);
  if (r.ipproto !== undefined) b.u8(FRA.IP_PROTO, resolveIpProtocol(r.ipproto));
  if (r.sport !== undefined) b.bytes(FRA.SPORT_RANGE, rangeBytes(r.sport.start, r.sport.end, 2));
  if (r.dport !== undefined) b.bytes(FRA.DPORT_RANGE, rangeBytes(r.dport.start, r.dport.end, 2));
  return b;
}

/** The rule for messages: "rule from 192.0.2.100 table 100 preference 1000". */
export function ruleText(r: RuleEntry): string {
  return `rule ${describeRule(r)}`;
}

/**
 * Adds a rule. Throws an `ErrnoError` such as "adding rule from 192.0.2.100 table 100
 * preference 1000 failed: File exists (EEXIST)", or a RangeError for an unknown name.
 */
export function addRule(nl: Netlink, r: RuleEntry): void {
  const operation = `adding ${ruleText(r)}`;
  const flags = NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL;
  nl.request(buildRequest(operation, () => ruleMessage(RTM.NEWRULE, flags, r, true)), operation);
}

/** Removes a rule (the first one matching everything the entry names). */
export function removeRule(nl: Netlink, r: RuleEntry): void {
  const operation = `removing ${ruleText(r)}`;
  const flags = NLM_F.REQUEST | NLM_F.ACK;
  nl.request(buildRequest(operation, () => ruleMessage(RTM.DELRULE, flags, r, false)), operation);
}

/**
 * Whether `k`, a rule the kernel reported, is the one `addRule(r)` installs: its family,
 * action, table or goto target, inversion, selectors (from, to, tos, iif, oif, fwmark) and
 * protocol, and its preference when the entry has one (spec/vrrp.md §3.17: keepalived
 * identifies its rules mainly by preference). An entry the encoder rejects matches nothing.
 */
export function isInstalledRule(r: RuleEntry, k: KernelRule): boolean {
  let want: KernelRule | undefined;
  try {
    want = parseRuleMessage(receivedForm(ruleMessage(RTM.NEWRULE, 0, r, true)));
  } catch {
    return false;
  }
  return want !== undefined && want.family === k.family && want.action === k.action &&
    want.table === k.table && want.invert === k.invert && want.protocol === k.protocol &&
    want.src === k.src && want.srcLen === k.srcLen && want.dst === k.dst &&
    want.dstLen === k.dstLen && want.iif === k.iif && want.oif === k.oif &&
    want.fwmark === k.fwmark && want.goto === k.goto &&
    (want.fwmask === undefined || want.fwmask === k.fwmask) &&
    (r.preference === undefined || want.priority === k.priority);
}

/** Parses an RTM_NEWRULE message; undefined for families other than IPv4/IPv6. */
export function parseRuleMessage(m: NetlinkMessage): KernelRule | undefined {
  const fm = familyMessage(m, 12);
  if (fm === undefined) return undefined;
  const { family, attrs: a, ip } = fm;
  const v = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
  const opt = <K extends string, V>(k: K, value: V | undefined) =>
    value === undefined ? {} : { [k]: value } as Record<K, V>;
  return {
    family,
    priority: attrU32(a, FRA.PRIORITY) ?? 0,
    action: m.body[7] as number,
    table: attrU32(a, FRA.TABLE) ?? (m.body[4] as number),
    protocol: attrU8(a, FRA.PROTOCOL) ?? 0,
    invert: (v.getUint32(8, true) & FIB_RULE_INVERT) !== 0,
    srcLen: m.body[2] as number,
    dstLen: m.body[1] as number,
    ...opt("src", ip(FRA.SRC)),
    ...opt("dst", ip(FRA.DST)),
    ...opt("iif", attrString(a, FRA.IIFNAME)),
    ...opt("oif", attrString(a, FRA.OIFNAME)),
    ...opt("fwmark", attrU32(a, FRA.FWMARK)),
    ...opt("fwmask", attrU32(a, FRA.FWMASK)),
    ...opt("goto", attrU32(a, FRA.GOTO)),
  };
}

/** The rules of one family (or both). */
export function listRules(nl: Netlink, filter: { readonly family?: Family } = {}): KernelRule[] {
  return dumpParsed(
    nl,
    () => {
      const h = new Uint8Array(12);
      h[0] = familyByte(filter.family);
      return new MessageBuilder(RTM.GETRULE, NLM_F.REQUEST | NLM_F.DUMP, h);
    },
    "listing rules",
    RTM.NEWRULE,
    parseRuleMessage,
  );
}

/**
 * Removes configured rules left by a previous run (spec/vrrp.md §3.3 step 3). A rule that
 * is not there is fine; other failures are collected.
 */
export function removeLeftoverRules(nl: Netlink, entries: readonly RuleEntry[]): CleanupReport {
  return removeEach(entries, (r) => {
    removeRule(nl, r);
    return ruleText(r);
  });
}
