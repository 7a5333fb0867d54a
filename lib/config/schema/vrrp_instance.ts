/**
 * The keywords of `vrrp_instance NAME { … }` (spec/vrrp.md §4.10) and the value types
 * only instances (and the matching global_defs keywords) use. Fields that inherit a
 * global_defs value carry the global default here; lib/config/schema/vrrp_check.ts
 * replaces it with the configured global value when the keyword was not written, and
 * does every check that needs more than one keyword.
 */
import {
  block,
  defineBlock,
  type InferSchema,
  list,
  optional,
  value,
  type ValueType,
} from "../schema.ts";
import {
  flag,
  ifname,
  int,
  ip,
  optBool,
  parseIntArg,
  parseSecondsArg,
  script,
  type ScriptCommand,
  seconds,
  UINT32_MAX,
} from "../types.ts";
import { formatSeconds } from "../types.ts";
import { virtualAddressLine } from "./vrrp_address.ts";
import { virtualRouteLine } from "./vrrp_route.ts";
import { virtualRuleLine } from "./vrrp_rule.ts";
import { trackEntry } from "./vrrp_track.ts";
import { unicastPeer } from "./vrrp_peer.ts";
import { ipvlanSpec, vmacSpec } from "./vrrp_vmac.ts";
import { authentication, authHmac } from "./vrrp_auth.ts";
import { clampedInt } from "./vrrp_values.ts";
import { MAX_TIMER_S } from "./vrrp_trackers.ts";

const INT32_MAX = 2147483647;

// ---- value types ----

/** `state MASTER|BACKUP`; any other word is an error and means BACKUP, as in keepalived. */
export const stateType: ValueType<"MASTER" | "BACKUP"> = {
  toml: "string",
  describe: "MASTER|BACKUP",
  parse(args, ctx) {
    const t = args[0];
    if (t === undefined) {
      ctx.missing("MASTER|BACKUP");
      return undefined;
    }
    if (t.text === "MASTER" || t.text === "BACKUP") return t.text;
    ctx.error(
      `'${ctx.keyword}' value '${t.text}' is unknown; use MASTER or BACKUP (using BACKUP)`,
      0,
    );
    return "BACKUP";
  },
  print: (v) => [v],
};

/** `priority 1-255`; an invalid value is an error and means 100, as in keepalived. */
export const priorityType: ValueType<number> = {
  toml: "int",
  describe: "integer 1 to 255",
  parse(args, ctx) {
    const v = parseIntArg(args[0], 1, 255, ctx, 0, "value");
    if (v === undefined && args[0] !== undefined) {
      ctx.warn(`'${ctx.keyword}' is not valid; using the default 100`, 0);
      return 100;
    }
    return v;
  },
  print: (v) => [String(v)],
};

/** `garp_extra_if [all] SECS`. */
export interface GarpExtraIf {
  all: boolean;
  /** Period in µs. */
  interval: number;
}

/** `[all] SECS` with SECS in whole seconds from `minS` to 86400. */
export function garpExtraIf(minS: number): ValueType<GarpExtraIf> {
  return {
    toml: "words",
    describe: `[all] seconds ${minS} to 86400`,
    parse(args, ctx) {
      const all = args[0]?.text === "all";
      const i = all ? 1 : 0;
      const us = parseSecondsArg(args[i], minS * 1e6, 86400e6, 0, ctx, i);
      return us === undefined ? undefined : { all, interval: us };
    },
    print: (v) => (v.all ? ["all", formatSeconds(v.interval)] : [formatSeconds(v.interval)]),
  };
}

/** `timer_expired_backup [P]`: P = highest priority of the other routers, default 254. */
export const timerExpiredBackup: ValueType<number> = {
  toml: "int",
  describe: "[priority 1 to 254]",
  parse: (args, ctx) => (args[0] === undefined ? 254 : parseIntArg(args[0], 1, 254, ctx)),
  print: (v) => [String(v)],
};

/** `notify_deleted [CMD …]`: `true` when given without a command. */
export const notifyDeleted: ValueType<true | ScriptCommand> = {
  toml: "words",
  describe: "[command [user [group]]]",
  parse: (args, ctx) => (args.length === 0 ? true : script.parse(args, ctx)),
  print: (v) => (v === true ? [] : script.print(v)),
};

/** `old_unicast_checksum [never]`. */
export const oldUnicastChecksum: ValueType<"auto" | "never"> = {
  toml: "string",
  describe: "[never]",
  parse(args, ctx) {
    const t = args[0];
    if (t === undefined) return "auto";
    if (t.text === "never") return "never";
    ctx.error(`'${ctx.keyword}' argument '${t.text}' is unknown; the only option is 'never'`, 0);
    return undefined;
  },
  print: (v) => (v === "never" ? ["never"] : []),
};

// ---- timers shared with global_defs (§3.11) ----

export const garpDelay: ValueType<number> = seconds(0, MAX_TIMER_S, 0);
export const garpRepeat: ValueType<number> = clampedInt({
  min: 1,
  max: INT32_MAX,
  acceptMin: 0,
  acceptMax: INT32_MAX,
});
export const garpLowerPrioRepeat: ValueType<number> = int(0, INT32_MAX);

/** Every notify script keyword of an instance or sync group (§5.1). */
export const notifyFields = {
  notify_master: optional(script, { doc: "run on entering MASTER" }),
  notify_backup: optional(script, { doc: "run on entering BACKUP" }),
  notify_fault: optional(script, { doc: "run on entering FAULT" }),
  notify_stop: optional(script, { doc: "run when the daemon stops" }),
  notify: optional(script, { doc: "run on every change with TYPE NAME STATE PRIORITY appended" }),
};

/** The track_* lists shared by instances and sync groups. */
export const trackFields = {
  track_interface: list(trackEntry("interface"), {
    doc: "interfaces whose state changes priority or faults",
  }),
  track_script: list(trackEntry("script"), { doc: "vrrp_script names" }),
  track_file: list(trackEntry("file"), { doc: "track_file names" }),
  track_process: list(trackEntry("process"), { doc: "vrrp_track_process names" }),
  track_bfd: list(trackEntry("bfd"), { doc: "bfd_instance names" }),
};

/** spec/vrrp.md §4.10. */
export const vrrpInstance = defineBlock({
  name: "vrrp_instance",
  fields: {
    state: value(stateType, "BACKUP", {
      doc: "initial state (default: MASTER if priority 255, else BACKUP)",
    }),
    interface: optional(ifname, { doc: "interface VRRP runs on" }),
    vrf: optional(ifname, { doc: "VRF device for an interface-less unicast instance" }),
    virtual_router_id: optional(int(1, 255), { doc: "VRID 1-255 (required)" }),
    priority: value(priorityType, 100, {
      doc: "1-255; 255 is the address owner (default 100, 255 with state MASTER)",
    }),
    advert_int: value(seconds(0.01, 255), 1_000_000, {
      doc: "advertisement interval: VRRPv2 1-255 whole seconds, VRRPv3 0.01-40.95 s",
    }),
    version: value(int(2, 3), 2, {
      doc: "VRRP version 2 or 3 (default global vrrp_version; IPv6 uses 3)",
    }),
    native_ipv6: value(flag, false, {
      doc: "deprecated: force IPv6 (write IPv6 addresses instead)",
    }),
    virtual_ipaddress: list(virtualAddressLine, { doc: "the virtual addresses (VIPs) advertised" }),
    virtual_ipaddress_excluded: list(virtualAddressLine, {
      doc: "addresses moved with the VIPs but not advertised",
    }),
    no_virtual_ipaddress: value(flag, false, { doc: "allow an instance without VIPs" }),
    virtual_routes: list(virtualRouteLine, { doc: "routes added on MASTER" }),
    virtual_rules: list(virtualRuleLine, { doc: "policy rules added on MASTER" }),
    promote_secondaries: value(flag, false, { doc: "set promote_secondaries on the interface" }),
    mcast_src_ip: optional(ip(), { doc: "source address of adverts (default: interface address)" }),
    unicast_src_ip: optional(ip(), { doc: "source address of unicast adverts" }),
    mcast_dst_ip: optional(ip({ multicast: true }), {
      doc: "multicast group (default global vrrp_mcast_group4/6)",
    }),
    track_src_ip: value(flag, false, {
      doc: "FAULT when the configured source address disappears",
    }),
    unicast_peer: list(unicastPeer, { doc: "peers to send unicast adverts to" }),
    unicast_ttl: optional(int(0, 255), { doc: "TTL/hop limit of unicast adverts" }),
    unicast_fault_no_peer: value(flag, false, {
      doc: "FAULT (instead of multicast) when unicast has no peers",
    }),
    check_unicast_src: value(flag, false, {
      doc: "accept unicast adverts only from configured peers",
    }),
    old_unicast_checksum: optional(oldUnicastChecksum, {
      doc: "accept the pre-1.3.6 unicast VRRPv3 checksum",
    }),
    v3_checksum_as_v2: value(optBool, false, {
      doc: "IPv4 VRRPv3 checksum without pseudo-header (RFC 9568)",
    }),
    dont_track_primary: value(flag, false, {
      doc: "do not FAULT when the own interface goes down",
    }),
    ...trackFields,
    nopreempt: value(flag, false, { doc: "do not take over from a lower-priority master" }),
    preempt: value(flag, false, { doc: "preempt (the default; no effect)" }),
    preempt_delay: value(seconds(0, 1000), 0, { doc: "seconds to wait before preempting" }),
    accept: value(flag, false, {
      doc: "accept packets to the VIPs when not owner (default, unless strict)",
    }),
    no_accept: value(flag, false, { doc: "drop packets to the VIPs when not owner" }),
    skip_check_adv_addr: value(optBool, false, { doc: "skip comparing the VIP list of adverts" }),
    strict_mode: value(optBool, false, {
      doc: "RFC-strict behaviour (default global vrrp_strict)",
    }),
    lower_prio_no_advert: value(optBool, false, { doc: "do not answer a lower-priority advert" }),
    higher_prio_send_advert: value(optBool, false, { doc: "send an advert before yielding" }),
    owner_ignore_adverts: value(optBool, false, { doc: "address owner ignores all adverts" }),
    garp_master_delay: value(garpDelay, 5_000_000, {
      doc: "seconds before the second GARP burst; 0 none",
    }),
    garp_master_repeat: value(garpRepeat, 5, { doc: "GARP rounds per burst (0 becomes 1)" }),
    garp_master_refresh: value(garpDelay, 0, {
      doc: "seconds between GARP refreshes as MASTER; 0 off",
    }),
    garp_master_refresh_repeat: value(garpRepeat, 1, {
      doc: "GARP rounds per refresh (0 becomes 1)",
    }),
    garp_lower_prio_delay: value(garpDelay, 5_000_000, {
      doc: "seconds before re-GARPing after a lower-priority advert",
    }),
    garp_lower_prio_repeat: value(garpLowerPrioRepeat, 5, {
      doc: "GARP rounds after a lower-priority advert; 0 off",
    }),
    garp_extra_if: optional(garpExtraIf(0), {
      doc: "[all] SECS: periodic GARP on other VMAC interfaces",
    }),
    down_timer_adverts: value(int(1, 100), 3, { doc: "adverts missed before the master is down" }),
    timer_expired_backup: optional(timerExpiredBackup, {
      doc: "[P]: step down after a late wake-up (needs nopreempt)",
    }),
    use_vmac: optional(vmacSpec, {
      doc: "[[name] IF] [MAC] [netlink_notify_msg] [group G]: use a macvlan",
    }),
    use_vmac_addr: value(flag, false, { doc: "create VMACs on other interfaces of VIPs" }),
    vmac_xmit_base: value(flag, false, { doc: "send adverts on the VMAC's parent interface" }),
    use_ipvlan: optional(ipvlanSpec, {
      doc: "[[name] IF] [ADDR] [bridge|private|vepa] [group G]: use an ipvlan",
    }),
    ...notifyFields,
    notify_deleted: optional(notifyDeleted, {
      doc: "[CMD]: notify DELETED (not FAULT) when removed by a reload",
    }),
    notify_master_rx_lower_pri: optional(script, {
      doc: "run when MASTER receives a lower-priority advert",
    }),
    notify_priority_changes: value(optBool, false, {
      doc: "write priority changes to the notify FIFOs",
    }),
    smtp_alert: value(optBool, false, { doc: "send e-mail on state changes" }),
    kernel_rx_buf_size: optional(int(0, UINT32_MAX), { doc: "receive buffer size in bytes" }),
    debug: value(int(0, 4), 0, { doc: "debug level (unused)" }),
    linkbeat_use_polling: value(flag, false, {
      doc: "deprecated: use the linkbeat_interfaces block",
    }),
    lvs_sync_daemon_interface: optional(ifname, { doc: "deprecated: use global lvs_sync_daemon" }),
    authentication: block(authentication, { doc: "legacy VRRPv2 PASS/AH authentication" }),
    auth_hmac: block(authHmac, { doc: "HMAC-SHA256 advert authentication" }),
  },
  aliases: {
    vmac_garp_intvl: "deprecated:garp_extra_if",
    thread_timer_expired: "deprecated:timer_expired_backup",
  },
});
export type VrrpInstance = InferSchema<typeof vrrpInstance> & { header: string };
