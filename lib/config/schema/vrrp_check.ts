/**
 * Cross-keyword and cross-block checks of the VRRP side, and the dynamic defaults that
 * need more than one block (spec/vrrp.md §3, §4.10–4.15): instance completion (global
 * inheritance, address family, version, advert_int, state and priority, unicast,
 * authentication, strict mode), tracker references, sync and track groups, garp groups,
 * duplicate VRIDs and the global lvs_sync_daemon's instance.
 *
 * It corrects the model the way keepalived does (values it clamps or clears, entries it
 * drops) after reporting each problem, and writes effective values into fields that were
 * not written; what was written is still told by each block's `$loc`. It never reads
 * files or looks at the host (lib/config/host_checks.ts does).
 */
import { DiagClass, type SourceLoc } from "../diagnostic.ts";
import { type BlockMeta, emptyBlock, type ValidateContext } from "../schema.ts";
import { formatSeconds } from "../types.ts";
import { type Family, isLinkLocal6, parseIp } from "../../net/ipaddr.ts";
import { type GlobalDefs, globalDefs } from "./global.ts";
import type { VrrpInstance } from "./vrrp_instance.ts";
import type { TrackGroup, VrrpSyncGroup } from "./vrrp_sync.ts";
import type { TrackFile, VrrpScript, VrrpTrackProcess } from "./vrrp_trackers.ts";
import type { GarpGroup, UpDownDelay } from "./vrrp_interfaces.ts";
import type { IpAddressEntry } from "./vrrp_address.ts";
import type { RouteEntry } from "./vrrp_route.ts";
import type { RuleEntry } from "./vrrp_rule.ts";
import { TRACK_KEYWORD, type TrackEntry, type TrackKind } from "./vrrp_track.ts";
import { defaultTimeWindowUs } from "./vrrp_auth.ts";
import { entryLoc } from "./vrrp_values.ts";

/** The parts of the configuration the VRRP checks read and correct. */
export interface VrrpCheckConfig extends BlockMeta {
  global_defs: GlobalDefs | undefined;
  vrrp_instance: VrrpInstance[];
  vrrp_sync_group: VrrpSyncGroup[];
  vrrp_script: VrrpScript[];
  track_file: TrackFile[];
  vrrp_track_process: VrrpTrackProcess[];
  garp_group: GarpGroup[];
  track_group: TrackGroup[];
  interface_up_down_delays: UpDownDelay[];
  static_ipaddress: IpAddressEntry[];
  static_routes: RouteEntry[];
  static_rules: RuleEntry[];
  /** From the BFD schema: names and default weights for track_bfd. */
  bfd_instance?: ReadonlyArray<{ header: string; weight: { weight: number } }>;
}

/** A config's global_defs, or one with every default when the block is absent. */
export function effectiveGlobals(
  cfg: { global_defs: GlobalDefs | undefined; $at: SourceLoc },
): GlobalDefs {
  return cfg.global_defs ?? emptyBlock(globalDefs, cfg.$at);
}

/** Names of the objects track_* entries can refer to, with their own weights. */
interface Tracked {
  readonly weights: Readonly<Record<Exclude<TrackKind, "interface">, ReadonlyMap<string, number>>>;
}

/** Run every VRRP-side cross-block check (the entry point used by validateVrrp). */
export function checkVrrp(cfg: VrrpCheckConfig, ctx: ValidateContext): void {
  const g = effectiveGlobals(cfg);
  const tracked = checkTrackedObjects(cfg, ctx);
  const groupOf = checkSyncGroups(cfg, tracked, g, ctx);
  for (const inst of cfg.vrrp_instance) {
    new InstanceCheck(inst, g, tracked, groupOf.get(inst.header), ctx).run();
  }
  checkDuplicateVrids(cfg.vrrp_instance, ctx);
  checkGarpGroups(cfg.garp_group, ctx);
  checkUpDownDelays(cfg.interface_up_down_delays, ctx);
  checkTrackGroups(cfg, ctx);
  checkLvsSyncDaemon(cfg, ctx);
}

// ---- helpers ----

function written(b: BlockMeta, key: string): boolean {
  return Object.hasOwn(b.$loc, key);
}

/** Clear a written keyword so that neither the model nor the printers keep it. */
function unset<B extends BlockMeta>(b: B, key: keyof B & string, dflt: unknown): void {
  (b as Record<string, unknown>)[key] = dflt;
  delete b.$loc[key];
}

/** Is location `a` before `b` (same file, earlier line)? Unknown order counts as not before. */
function before(a: SourceLoc | undefined, b: SourceLoc | undefined): boolean {
  if (a === undefined || b === undefined || a.file !== b.file) return false;
  return a.line < b.line || (a.line === b.line && a.column < b.column);
}

// ---- tracked objects ----

function checkTrackedObjects(cfg: VrrpCheckConfig, ctx: ValidateContext): Tracked {
  cfg.vrrp_script = cfg.vrrp_script.filter((s) => {
    if (s.script !== undefined) return true;
    ctx.sink.error(
      `No script set for vrrp_script ${s.header} - removing; add 'script "/path/to/check"'`,
      s.$at,
      "vrrp_script",
    );
    return false;
  });
  cfg.track_file = cfg.track_file.filter((f) => {
    if (f.file !== undefined) return true;
    ctx.sink.error(
      `No file set for track_file ${f.header} - removing; add 'file PATH'`,
      f.$at,
      "track_file",
    );
    return false;
  });
  cfg.vrrp_track_process = cfg.vrrp_track_process.filter((p) => {
    if (p.process !== undefined) return true;
    ctx.sink.error(
      `track process '${p.header}' process name not specified - removing; add 'process NAME'`,
      p.$at,
      "vrrp_track_process",
    );
    return false;
  });
  const bfd = new Map((cfg.bfd_instance ?? []).map((b) => [b.header, b.weight.weight]));
  return {
    weights: {
      script: new Map(cfg.vrrp_script.map((s) => [s.header, s.weight.weight])),
      file: new Map(cfg.track_file.map((f) => [f.header, f.weight.weight])),
      process: new Map(cfg.vrrp_track_process.map((p) => [p.header, p.weight.weight])),
      bfd,
    },
  };
}

/** The weight a track entry contributes with (its own, else its object's). */
function effectiveWeight(kind: TrackKind, e: TrackEntry, tracked: Tracked): number {
  if (e.weight !== undefined) return e.weight;
  return kind === "interface" ? 0 : tracked.weights[kind].get(e.name) ?? 0;
}

const TRACK_KINDS: readonly TrackKind[] = ["interface", "script", "file", "process", "bfd"];
const TRACK_WORD: Readonly<Record<TrackKind, string>> = {
  interface: "interface",
  script: "script",
  file: "file",
  process: "process",
  bfd: "bfd",
};

/** Drop entries naming objects that do not exist (§4.10). */
function checkTrackRefs(
  b: BlockMeta & Record<string, unknown>,
  prefix: string,
  tracked: Tracked,
  ctx: ValidateContext,
): void {
  for (const kind of TRACK_KINDS) {
    if (kind === "interface") continue;
    const key = TRACK_KEYWORD[kind];
    const names = tracked.weights[kind];
    b[key] = (b[key] as TrackEntry[]).filter((e) => {
      if (names.has(e.name)) return true;
      ctx.sink.error(
        `${prefix}track ${
          TRACK_WORD[kind]
        } ${e.name} not found, ignoring...; define it or remove it from ${key}`,
        entryLoc(e) ?? ctx.at(b, key),
        key,
      );
      return false;
    });
  }
}

// ---- sync groups ----

function checkSyncGroups(
  cfg: VrrpCheckConfig,
  tracked: Tracked,
  g: GlobalDefs,
  ctx: ValidateContext,
): Map<string, VrrpSyncGroup> {
  const instances = new Set(cfg.vrrp_instance.map((i) => i.header));
  const groupOf = new Map<string, VrrpSyncGroup>();
  cfg.vrrp_sync_group = cfg.vrrp_sync_group.filter((sg) => {
    const members: string[] = [];
    for (const name of sg.group) {
      if (!instances.has(name)) {
        ctx.sink.error(
          `Virtual router ${name} specified in sync group ${sg.header} doesn't exist - ignoring`,
          ctx.at(sg, "group"),
          "group",
        );
      } else if (groupOf.has(name) || members.includes(name)) {
        const other = groupOf.get(name)?.header ?? sg.header;
        ctx.sink.error(
          `Virtual router ${name} cannot exist in more than one sync group (already in ${other}); ignoring it in ${sg.header}`,
          ctx.at(sg, "group"),
          "group",
        );
      } else members.push(name);
    }
    sg.group = members;
    if (members.length === 0) {
      ctx.sink.warn(
        `Sync group ${sg.header} has no existing virtual router in its group declaration - removing; list instances in 'group { … }'`,
        sg.$at,
        "vrrp_sync_group",
      );
      return false;
    }
    if (members.length === 1) {
      ctx.sink.warn(
        `Sync group ${sg.header} has only 1 virtual router(s) - this probably isn't what you want`,
        sg.$at,
        "vrrp_sync_group",
      );
    }
    for (const m of members) groupOf.set(m, sg);
    checkTrackRefs(
      sg as unknown as BlockMeta & Record<string, unknown>,
      `(${sg.header}) `,
      tracked,
      ctx,
    );
    if (!written(sg, "smtp_alert")) sg.smtp_alert = g.smtp_alert_vrrp ?? g.smtp_alert ?? false;
    if (!written(sg, "notify_priority_changes")) {
      sg.notify_priority_changes = g.vrrp_notify_priority_changes;
    }
    return true;
  });
  return groupOf;
}

// ---- one instance ----

/** Instance keywords whose default is a global_defs keyword (§4.10). */
const INHERITED = [
  ["strict_mode", "vrrp_strict"],
  ["check_unicast_src", "vrrp_check_unicast_src"],
  ["skip_check_adv_addr", "vrrp_skip_check_adv_addr"],
  ["v3_checksum_as_v2", "v3_checksum_as_v2"],
  ["lower_prio_no_advert", "vrrp_lower_prio_no_advert"],
  ["higher_prio_send_advert", "vrrp_higher_prio_send_advert"],
  ["owner_ignore_adverts", "vrrp_owner_ignore_adverts"],
  ["garp_master_delay", "vrrp_garp_master_delay"],
  ["garp_master_repeat", "vrrp_garp_master_repeat"],
  ["garp_master_refresh", "vrrp_garp_master_refresh"],
  ["garp_master_refresh_repeat", "vrrp_garp_master_refresh_repeat"],
  ["garp_lower_prio_delay", "vrrp_garp_lower_prio_delay"],
  ["garp_lower_prio_repeat", "vrrp_garp_lower_prio_repeat"],
  ["garp_extra_if", "vrrp_garp_extra_if"],
  ["down_timer_adverts", "vrrp_down_timer_adverts"],
] as const satisfies ReadonlyArray<readonly [keyof VrrpInstance, keyof GlobalDefs]>;

const V3_MAX_ADVERT_US = 40_950_000;

class InstanceCheck {
  readonly p: string;
  family: Family = 4;
  /** Where the first IPv6-deciding keyword was written. */
  firstV6: SourceLoc | undefined;

  constructor(
    readonly inst: VrrpInstance,
    readonly g: GlobalDefs,
    readonly tracked: Tracked,
    readonly group: VrrpSyncGroup | undefined,
    readonly ctx: ValidateContext,
  ) {
    this.p = `(${inst.header}) `;
  }

  w(key: keyof VrrpInstance & string): boolean {
    return written(this.inst, key);
  }

  at(key?: keyof VrrpInstance & string): SourceLoc {
    return this.ctx.at(this.inst, key);
  }

  warn(msg: string, key?: keyof VrrpInstance & string, cls: DiagClass = DiagClass.WARNING): void {
    this.ctx.sink.report(cls, this.p + msg, this.at(key), key);
  }

  error(
    msg: string,
    key?: keyof VrrpInstance & string,
    cls: DiagClass = DiagClass.GENERAL_ERROR,
  ): void {
    this.ctx.sink.report(cls, this.p + msg, this.at(key), key);
  }

  run(): void {
    this.inherit();
    this.deprecations();
    if (this.inst.virtual_router_id === undefined) {
      this.error(
        "the virtual router id must be set; add 'virtual_router_id N' (1 to 255) to the instance",
        undefined,
      );
    }
    this.addressFamily();
    this.version();
    this.strictState();
    this.advertInt();
    this.unicastAndInterface();
    this.vips();
    this.authentication();
    this.authHmac();
    this.preemption();
    this.acceptMode();
    this.ownerAndStrict();
    this.trackers();
  }

  inherit(): void {
    const { inst, g } = this;
    const rec = inst as unknown as Record<string, unknown>;
    for (const [ik, gk] of INHERITED) if (!this.w(ik)) rec[ik] = g[gk];
    if (!this.w("version")) inst.version = g.vrrp_version;
    if (!this.w("smtp_alert")) inst.smtp_alert = g.smtp_alert_vrrp ?? g.smtp_alert ?? false;
    if (!this.w("notify_priority_changes")) {
      inst.notify_priority_changes = this.group?.notify_priority_changes ??
        g.vrrp_notify_priority_changes;
    }
  }

  deprecations(): void {
    if (this.w("native_ipv6")) {
      this.warn(
        "'native_ipv6' is deprecated; write IPv6 addresses instead (it only forces IPv6)",
        "native_ipv6",
        DiagClass.DEPRECATED,
      );
    }
    if (this.w("linkbeat_use_polling")) {
      this.warn(
        "'linkbeat_use_polling' in vrrp instance is deprecated; use the linkbeat_interfaces block",
        "linkbeat_use_polling",
        DiagClass.DEPRECATED,
      );
    }
    if (this.w("lvs_sync_daemon_interface")) {
      this.warn(
        "'lvs_sync_daemon_interface' in a vrrp instance is deprecated; use global_defs 'lvs_sync_daemon IFNAME inst " +
          `${this.inst.header}'`,
        "lvs_sync_daemon_interface",
        DiagClass.DEPRECATED,
      );
    }
  }

  /** §4.10 last paragraph: the first address-bearing keyword decides; default IPv4. */
  addressFamily(): void {
    const { inst } = this;
    const cands: Array<{ family: Family; loc: SourceLoc | undefined }> = [];
    const first = inst.virtual_ipaddress[0];
    if (first) {
      cands.push({ family: first.family, loc: entryLoc(first) ?? inst.$loc.virtual_ipaddress });
    }
    for (const k of ["mcast_src_ip", "unicast_src_ip", "mcast_dst_ip"] as const) {
      const a = inst[k];
      if (a !== undefined) cands.push({ family: a.includes(":") ? 6 : 4, loc: inst.$loc[k] });
    }
    const peer = inst.unicast_peer[0];
    if (peer) cands.push({ family: peer.family, loc: entryLoc(peer) ?? inst.$loc.unicast_peer });
    let decided = cands[0];
    for (const c of cands) if (before(c.loc, decided?.loc)) decided = c;
    this.family = inst.native_ipv6 ? 6 : decided?.family ?? 4;
    this.firstV6 = inst.native_ipv6 ? inst.$loc.native_ipv6 : cands
      .filter((c) => c.family === 6)
      .reduce<SourceLoc | undefined>(
        (acc, c) => (acc === undefined || before(c.loc, acc) ? c.loc : acc),
        undefined,
      );
    const fam = this.family;
    inst.virtual_ipaddress = inst.virtual_ipaddress.filter((v) => {
      if (v.family === fam) return true;
      this.ctx.sink.error(
        `${this.p}virtual_ipaddress ${v.address} is IPv${v.family} but the instance is IPv${fam} - ignoring it; all VIPs must have the instance's address family (put it in virtual_ipaddress_excluded)`,
        entryLoc(v) ?? this.at("virtual_ipaddress"),
        "virtual_ipaddress",
      );
      return false;
    });
    for (const k of ["mcast_src_ip", "unicast_src_ip", "mcast_dst_ip"] as const) {
      const a = inst[k];
      if (a !== undefined && (a.includes(":") ? 6 : 4) !== fam) {
        this.error(`${k} ${a} is not an IPv${fam} address like the instance's - ignoring it`, k);
        unset(inst, k, undefined);
      }
    }
    inst.unicast_peer = inst.unicast_peer.filter((pe) => {
      if (pe.family === fam) return true;
      this.ctx.sink.error(
        `${this.p}unicast peer ${pe.address} is not an IPv${fam} address like the instance's - skipping it`,
        entryLoc(pe) ?? this.at("unicast_peer"),
        "unicast_peer",
      );
      return false;
    });
  }

  get strict(): boolean {
    return this.inst.strict_mode;
  }

  /** §4.10: IPv6 uses VRRPv3; keepalived keeps v2 only when `version 2` came first. */
  version(): void {
    const { inst } = this;
    if (this.family !== 6 || inst.version !== 2) return;
    if (!this.w("version")) {
      inst.version = 3;
    } else if (this.strict) {
      this.warn("version 2 is not allowed with IPv6 in strict mode; using VRRPv3", "version");
      inst.version = 3;
    } else if (before(inst.$loc.version, this.firstV6)) {
      this.warn(
        "VRRPv2 over IPv6 is not standard (RFC 5798 defines IPv6 for VRRPv3 only); kept because 'version 2' comes before the IPv6 addresses, as keepalived does",
        "version",
      );
    } else {
      this.warn(
        "version 2 conflicts with the IPv6 addresses written before it; using VRRPv3 (IPv6 instances use VRRPv3)",
        "version",
      );
      inst.version = 3;
    }
  }

  /** §3.3 and §3.18: state and priority defaults. */
  strictState(): void {
    const { inst } = this;
    if (!this.w("priority") && this.w("state") && inst.state === "MASTER") {
      // [quirk] kept: `state MASTER` without a priority makes the instance the owner.
      inst.priority = 255;
      this.warn(
        "state MASTER without a priority makes this instance the address owner (priority 255), as keepalived does; write 'priority 255' to keep that or set a lower priority",
        "state",
      );
    }
    if (!this.w("state")) inst.state = inst.priority === 255 ? "MASTER" : "BACKUP";
    if (this.strict && (inst.state === "MASTER") !== (inst.priority === 255)) {
      const want = inst.priority === 255 ? "MASTER" : "BACKUP";
      if (this.w("state")) {
        this.warn(
          `state ${inst.state} must match being address owner in strict mode; using ${want}`,
          "state",
        );
      }
      inst.state = want;
    }
  }

  /** §1.9: the wire units of each version. */
  advertInt(): void {
    const { inst } = this;
    const us = inst.advert_int;
    const text = formatSeconds(us);
    if (inst.version === 2) {
      if (us % 1_000_000 !== 0) {
        const r = Math.max(1, Math.round(us / 1_000_000)) * 1_000_000;
        this.warn(
          `advert_int '${text}' must be a whole number of seconds for VRRPv2 (1 to 255 s); using ${
            formatSeconds(r)
          }`,
          "advert_int",
        );
        inst.advert_int = r;
      }
      return;
    }
    if (us > V3_MAX_ADVERT_US) {
      this.warn(
        `advert_int '${text}' is out of range for VRRPv3 (0.01 to 40.95 s); using 40.95`,
        "advert_int",
      );
      inst.advert_int = V3_MAX_ADVERT_US;
    } else if (us % 10_000 !== 0) {
      const r = Math.max(1, Math.round(us / 10_000)) * 10_000;
      this.warn(
        `advert_int '${text}' must be a multiple of 0.01 s for VRRPv3 (0.01 to 40.95 s); using ${
          formatSeconds(r)
        }`,
        "advert_int",
      );
      inst.advert_int = r;
    }
  }

  get unicast(): boolean {
    return this.inst.unicast_peer.length > 0;
  }

  /** §1.5–1.7, §4.10: unicast, source, destination and interface. */
  unicastAndInterface(): void {
    const { inst, g } = this;
    const configured = this.w("unicast_src_ip") || this.w("check_unicast_src") ||
      inst.unicast_fault_no_peer ||
      this.w("old_unicast_checksum");
    if (!this.unicast && configured && !inst.unicast_fault_no_peer) {
      this.warn(
        "unicast is configured but there are no unicast_peer entries; falling back to multicast, which is deprecated - add peers or 'unicast_fault_no_peer'",
        this.w("unicast_src_ip") ? "unicast_src_ip" : undefined,
        DiagClass.DEPRECATED,
      );
    }
    if (
      this.w("mcast_src_ip") && this.w("unicast_src_ip") &&
      inst.mcast_src_ip !== inst.unicast_src_ip
    ) {
      this.warn(
        `mcast_src_ip ${inst.mcast_src_ip} and unicast_src_ip ${inst.unicast_src_ip} both set the source address; using unicast_src_ip`,
        "mcast_src_ip",
      );
      unset(inst, "mcast_src_ip", undefined);
    }
    if (!this.unicast && inst.unicast_ttl !== undefined) {
      // [quirk] fixed: keepalived resets it to 0 (TTL 0 on IPv4 multicast); kad drops it.
      this.warn("unicast_ttl is only used with unicast peers - ignoring it", "unicast_ttl");
      unset(inst, "unicast_ttl", undefined);
    }
    if (this.unicast && inst.mcast_dst_ip !== undefined && this.w("mcast_dst_ip")) {
      this.warn("mcast_dst_ip is not used by a unicast instance - ignoring it", "mcast_dst_ip");
      unset(inst, "mcast_dst_ip", undefined);
    }
    if (inst.unicast_peer.some((pe) => pe.minTtl !== undefined || pe.maxTtl !== undefined)) {
      inst.check_unicast_src = true;
    }
    if (!this.unicast && inst.mcast_dst_ip === undefined) {
      inst.mcast_dst_ip = this.family === 6 ? g.vrrp_mcast_group6 : g.vrrp_mcast_group4;
    }
    if (
      !this.unicast && this.family === 6 && inst.mcast_dst_ip !== undefined &&
      this.w("mcast_dst_ip")
    ) {
      const a = parseIp(inst.mcast_dst_ip);
      if (a !== undefined && ((a.bytes[1] as number) & 0x0f) !== 2) {
        this.error(
          `mcast_dst_ip ${inst.mcast_dst_ip} must be a link-local scope group (ffX2::)`,
          "mcast_dst_ip",
        );
      }
    }
    if (this.strict && this.unicast && inst.interface !== undefined) {
      this.error(
        `strict mode does not allow unicast peers on a multicast-capable interface (${inst.interface}); remove unicast_peer or strict mode`,
        "unicast_peer",
        DiagClass.FATAL,
      );
    }
    if (inst.interface === undefined) {
      if (!this.unicast || inst.unicast_src_ip === undefined) {
        this.error(
          "has no interface; add 'interface IFNAME' (only a unicast instance with unicast_src_ip may omit it)",
          undefined,
        );
      } else {
        const src = parseIp(inst.unicast_src_ip);
        if (src !== undefined && isLinkLocal6(src)) {
          this.error(
            `unicast_src_ip ${inst.unicast_src_ip} is link-local, which needs an interface; add 'interface IFNAME'`,
            "unicast_src_ip",
          );
        }
      }
    } else {
      if (inst.interface === "lo") {
        this.error(
          "interface lo is the loopback interface; VRRP needs a broadcast interface",
          "interface",
        );
      }
      if (inst.vrf !== undefined) {
        this.warn(
          "vrf is only used by unicast instances without an interface - ignoring it",
          "vrf",
        );
        unset(inst, "vrf", undefined);
      }
    }
    if (this.unicast && inst.use_vmac !== undefined) inst.vmac_xmit_base = true;
  }

  /** §3.17: VIP count, duplicates and the IPv6 link-local rule. */
  vips(): void {
    const { inst } = this;
    const seen = new Set<string>();
    for (const key of ["virtual_ipaddress", "virtual_ipaddress_excluded"] as const) {
      inst[key] = inst[key].filter((v) => {
        const id = `${v.address} ${v.dev ?? ""}`;
        if (!seen.has(id)) {
          seen.add(id);
          return true;
        }
        this.ctx.sink.warn(
          `${this.p}${key} ${v.address} is listed more than once - ignoring the duplicate`,
          entryLoc(v) ?? this.at(key),
          key,
        );
        return false;
      });
    }
    if (this.strict && inst.no_virtual_ipaddress) {
      this.warn(
        "no_virtual_ipaddress is not allowed in strict mode - ignoring it",
        "no_virtual_ipaddress",
      );
      unset(inst, "no_virtual_ipaddress", false);
    }
    if (inst.virtual_ipaddress.length === 0 && !inst.no_virtual_ipaddress) {
      if (inst.version === 3 || this.strict) {
        this.error(
          "No VIP specified; at least one is required for VRRPv3 and strict mode - add virtual_ipaddress { … } (or no_virtual_ipaddress)",
          undefined,
          this.strict ? DiagClass.FATAL : DiagClass.GENERAL_ERROR,
        );
      } else {
        this.warn(
          "No VIP specified; at least one is sensible - add virtual_ipaddress { … } (or no_virtual_ipaddress)",
        );
      }
    }
    const first = inst.virtual_ipaddress[0];
    if (this.strict && !this.unicast && first !== undefined && first.family === 6) {
      const a = parseIp(first.address);
      if (a !== undefined && !isLinkLocal6(a)) {
        this.ctx.sink.error(
          `${this.p}the first IPv6 VIP ${first.address} must be link-local (fe80::/10) in strict mode`,
          entryLoc(first) ?? this.at("virtual_ipaddress"),
          "virtual_ipaddress",
        );
      }
    }
  }

  /** §2.1–2.2: legacy authentication. */
  authentication(): void {
    const { inst } = this;
    const a = inst.authentication;
    if (a === undefined) return;
    const drop = (msg: string, cls: DiagClass) => {
      this.ctx.sink.report(cls, this.p + msg, this.at("authentication"), "authentication");
      unset(inst, "authentication", undefined);
    };
    if (a.auth_type === undefined) {
      drop(
        "authentication has no auth_type - ignoring the block; add 'auth_type PASS' or 'auth_type AH'",
        DiagClass.GENERAL_ERROR,
      );
    } else if (a.auth_pass === undefined) {
      drop(
        "authentication has no auth_pass - ignoring the block; add 'auth_pass PASSWORD'",
        DiagClass.GENERAL_ERROR,
      );
    } else if (inst.auth_hmac !== undefined) {
      drop(
        "authentication and auth_hmac are both set; using auth_hmac and ignoring authentication",
        DiagClass.GENERAL_ERROR,
      );
    } else if (this.strict) {
      drop(
        "strict mode does not support authentication - ignoring the authentication block",
        DiagClass.WARNING,
      );
    } else if (inst.version !== 2 || this.family !== 4) {
      drop(
        `authentication is only defined for VRRPv2 over IPv4 (this is VRRPv${inst.version}, IPv${this.family}) - ignoring it; use auth_hmac`,
        DiagClass.WARNING,
      );
    } else if (a.auth_type === "AH" && inst.state === "MASTER" && inst.priority !== 255) {
      this.warn(
        "Initial state master is incompatible with AH authentication - clearing (using BACKUP)",
        "state",
      );
      inst.state = "BACKUP";
    }
  }

  /** §2.3.10: post-parse rules of auth_hmac. */
  authHmac(): void {
    const { inst } = this;
    const h = inst.auth_hmac;
    if (h === undefined) return;
    const disable = (msg: string) => {
      this.error(`${msg}; HMAC authentication is disabled for this instance`, "auth_hmac");
      unset(inst, "auth_hmac", undefined);
    };
    const ids = h.key.map((k) => k.id);
    if (ids.length === 0) return disable("auth_hmac has no usable key; add 'key ID VALUE'");
    if (h.active_key === undefined) {
      return disable(
        `auth_hmac has no active_key; add 'active_key ID' naming one of the keys (${
          ids.join(", ")
        })`,
      );
    }
    if (!ids.includes(h.active_key)) {
      return disable(
        `auth_hmac active_key ${h.active_key} is not one of the keys (${ids.join(", ")})`,
      );
    }
    if (this.strict && h.mode !== "enforce") {
      if (written(h, "mode")) {
        this.ctx.sink.warn(
          `${this.p}auth_hmac mode ${h.mode} is not allowed in strict mode; using enforce`,
          this.ctx.at(h, "mode"),
          "mode",
        );
      }
      h.mode = "enforce";
    }
    if (h.anti_replay === "time") {
      if (!written(h, "time_window")) h.time_window = defaultTimeWindowUs(inst.advert_int);
    } else if (written(h, "time_window")) {
      this.ctx.sink.warn(
        `${this.p}auth_hmac time_window has no effect with anti_replay monotonic - ignoring it`,
        this.ctx.at(h, "time_window"),
        "time_window",
      );
    }
  }

  /** §3.10. */
  preemption(): void {
    const { inst } = this;
    if (inst.nopreempt && this.w("preempt")) {
      this.warn(
        "both nopreempt and preempt are set; preempt has no effect, nopreempt applies",
        "preempt",
      );
    }
    if (inst.nopreempt) {
      if (inst.priority === 255) {
        this.warn("nopreempt is incompatible with priority 255 - resetting nopreempt", "nopreempt");
        unset(inst, "nopreempt", false);
      } else if (inst.state === "MASTER") {
        this.warn(
          "nopreempt will not work with initial state MASTER - clearing; use 'state BACKUP' on every router",
          "nopreempt",
        );
        unset(inst, "nopreempt", false);
      }
    }
    if (inst.preempt_delay > 0) {
      const why = this.strict
        ? "strict mode"
        : inst.nopreempt
        ? "nopreempt"
        : inst.priority === 255
        ? "priority 255"
        : inst.state === "MASTER"
        ? "initial state MASTER"
        : undefined;
      if (why !== undefined) {
        this.warn(`preempt_delay will not work with ${why} - clearing`, "preempt_delay");
        unset(inst, "preempt_delay", 0);
      }
    }
    if (inst.timer_expired_backup !== undefined && !inst.nopreempt) {
      this.warn("timer_expired_backup needs nopreempt - ignoring it", "timer_expired_backup");
      unset(inst, "timer_expired_backup", undefined);
    }
  }

  /** §3.19. */
  acceptMode(): void {
    const { inst } = this;
    const owner = inst.priority === 255;
    let accept: boolean;
    if (this.w("accept") && this.w("no_accept")) {
      const laterNo = before(inst.$loc.accept, inst.$loc.no_accept);
      this.error(
        `accept and no_accept are both set; using the later one (${
          laterNo ? "no_accept" : "accept"
        }) - remove the other`,
        laterNo ? "no_accept" : "accept",
      );
      accept = !laterNo;
      delete inst.$loc[laterNo ? "accept" : "no_accept"];
    } else if (this.w("accept")) accept = true;
    else if (this.w("no_accept")) accept = false;
    else accept = !this.strict || owner;
    if (accept && this.strict && !owner && inst.version === 2 && this.w("accept")) {
      this.warn(
        "accept mode is not allowed for a VRRPv2 non-owner in strict mode - using no_accept",
        "accept",
      );
      delete inst.$loc.accept;
      accept = false;
    }
    inst.accept = accept;
    inst.no_accept = !accept;
  }

  /** §3.9 owner specifics and the rest of §3.18. */
  ownerAndStrict(): void {
    const { inst } = this;
    const owner = inst.priority === 255;
    if (inst.owner_ignore_adverts && !owner) {
      if (this.w("owner_ignore_adverts")) {
        this.warn(
          "owner_ignore_adverts only applies to the address owner (priority 255) - ignoring it",
          "owner_ignore_adverts",
        );
      }
      unset(inst, "owner_ignore_adverts", false);
    }
    if (!this.strict) return;
    if (owner) inst.owner_ignore_adverts = true;
    const force = <K extends keyof VrrpInstance & string>(
      key: K,
      v: VrrpInstance[K],
      what: string,
    ) => {
      if (inst[key] === v) return;
      if (this.w(key)) this.warn(`${key} is ${what} in strict mode - ignoring the setting`, key);
      (inst as unknown as Record<string, unknown>)[key] = v;
      delete inst.$loc[key];
    };
    force("lower_prio_no_advert", true, "always on");
    force("higher_prio_send_advert", false, "not allowed");
    force("garp_lower_prio_repeat", 0, "0");
    force("garp_lower_prio_delay", 0, "0");
    force("down_timer_adverts", 3, "3");
    force("vmac_xmit_base", false, "not allowed");
    if (inst.use_vmac?.mac !== undefined) {
      this.warn(
        "a custom VMAC MAC is not allowed in strict mode - using the standard VRRP MAC",
        "use_vmac",
      );
      delete inst.use_vmac.mac;
    }
  }

  /** §3.9, §4.10: track entries. */
  trackers(): void {
    const { inst, tracked } = this;
    inst.track_interface = inst.track_interface.filter((e) => {
      if (e.name !== inst.interface) return true;
      this.ctx.sink.warn(
        `${this.p}Ignoring track_interface ${e.name} since own interface`,
        entryLoc(e) ?? this.at("track_interface"),
        "track_interface",
      );
      return false;
    });
    checkTrackRefs(
      inst as unknown as BlockMeta & Record<string, unknown>,
      this.p,
      tracked,
      this.ctx,
    );
    const owner = inst.priority === 255;
    const inGroup = this.group !== undefined && !this.group.sync_group_tracking_weight;
    if (!owner && !inGroup) return;
    const why = owner
      ? "address owner (priority 255), whose priority never changes"
      : `SYNC group ${this.group?.header}`;
    for (const kind of TRACK_KINDS) {
      const key = TRACK_KEYWORD[kind];
      inst[key] = inst[key].filter((e) => {
        if (effectiveWeight(kind, e, tracked) === 0) return true;
        const loc = entryLoc(e) ?? this.at(key);
        if (kind === "interface" && !owner) {
          this.ctx.sink.warn(
            `${this.p}ignoring ${e.name} tracked interface weight due to ${why}; using weight 0`,
            loc,
            key,
          );
          e.weight = 0;
          return true;
        }
        this.ctx.sink.warn(
          `${this.p}ignoring tracked ${TRACK_WORD[kind]} ${e.name} with weights due to ${why}` +
            (owner ? "" : "; set sync_group_tracking_weight in the group to allow weights"),
          loc,
          key,
        );
        return false;
      });
    }
  }
}

// ---- instance set ----

/**
 * The address family of a checked instance: IPv6 when `native_ipv6` is set or its
 * addresses are IPv6 (after the checks they all agree), else IPv4.
 */
export function instanceFamily(inst: VrrpInstance): Family {
  if (inst.native_ipv6) return 6;
  const a = inst.virtual_ipaddress[0]?.address ?? inst.unicast_src_ip ?? inst.mcast_src_ip ??
    inst.unicast_peer[0]?.address ?? inst.mcast_dst_ip ?? "";
  return a.includes(":") ? 6 : 4;
}

/** §1.5: one multicast VRID per interface, family and group; unicast peers must not overlap. */
function checkDuplicateVrids(instances: readonly VrrpInstance[], ctx: ValidateContext): void {
  const seen = new Map<string, VrrpInstance[]>();
  for (const inst of instances) {
    if (inst.virtual_router_id === undefined) continue;
    const family = instanceFamily(inst);
    const key = `${inst.virtual_router_id} ${inst.interface ?? inst.vrf ?? ""} ${family}`;
    const others = seen.get(key) ?? [];
    for (const o of others) {
      const bothUnicast = o.unicast_peer.length > 0 && inst.unicast_peer.length > 0;
      const clash = bothUnicast
        ? o.unicast_peer.some((a) => inst.unicast_peer.some((b) => a.address === b.address))
        : o.unicast_peer.length === 0 && inst.unicast_peer.length === 0 &&
          o.mcast_dst_ip === inst.mcast_dst_ip;
      if (clash) {
        ctx.sink.error(
          `${o.header} and ${inst.header} both use VRID ${inst.virtual_router_id} with IPv${family} on interface ${
            inst.interface ?? inst.vrf ?? "(none)"
          }; give one of them another virtual_router_id`,
          ctx.at(inst, "virtual_router_id"),
          "virtual_router_id",
        );
      }
    }
    seen.set(key, [...others, inst]);
  }
}

function checkGarpGroups(groups: GarpGroup[], ctx: ValidateContext): void {
  const owner = new Map<string, SourceLoc>();
  groups.splice(
    0,
    groups.length,
    ...groups.filter((gg) => {
      if (gg.garp_interval === undefined && gg.gna_interval === undefined) {
        ctx.sink.error(
          "garp_group does not have any interval set - removing; add garp_interval or gna_interval",
          gg.$at,
          "garp_group",
        );
        return false;
      }
      const ifs = [...(gg.interface !== undefined ? [gg.interface] : []), ...gg.interfaces];
      if (ifs.length === 0) {
        ctx.sink.error(
          "garp_group has no interface - removing; add 'interface IFNAME' or 'interfaces { … }'",
          gg.$at,
          "garp_group",
        );
        return false;
      }
      const kept = ifs.filter((i) => {
        if (!owner.has(i)) {
          owner.set(i, gg.$at);
          return true;
        }
        ctx.sink.error(
          `garp_group already specified for ${i} - ignoring it here`,
          gg.$at,
          "garp_group",
        );
        return false;
      });
      if (gg.interface !== undefined && !kept.includes(gg.interface)) {
        unset(gg, "interface", undefined);
      }
      gg.interfaces = gg.interfaces.filter((i) => kept.includes(i));
      return kept.length > 0;
    }),
  );
}

function checkUpDownDelays(delays: UpDownDelay[], ctx: ValidateContext): void {
  const seen = new Set<string>();
  for (const d of delays) {
    if (seen.has(d.interface)) {
      ctx.sink.warn(
        `interface_up_down_delays lists ${d.interface} more than once; the last entry applies`,
        entryLoc(d),
        "interface_up_down_delays",
      );
    }
    seen.add(d.interface);
  }
}

function checkTrackGroups(cfg: VrrpCheckConfig, ctx: ValidateContext): void {
  const instances = new Set(cfg.vrrp_instance.map((i) => i.header));
  for (const tg of cfg.track_group) {
    tg.group = tg.group.filter((name) => {
      if (instances.has(name)) return true;
      ctx.sink.warn(
        `track_group ${tg.header}: vrrp_instance ${name} doesn't exist - ignoring it`,
        ctx.at(tg, "group"),
        "group",
      );
      return false;
    });
  }
  const groups = new Set(cfg.track_group.map((t) => t.header));
  const lists = [
    ["static_ipaddress", cfg.static_ipaddress],
    ["static_routes", cfg.static_routes],
    ["static_rules", cfg.static_rules],
  ] as const;
  for (const [key, entries] of lists) {
    for (const e of entries as ReadonlyArray<{ trackGroup?: string }>) {
      if (e.trackGroup !== undefined && !groups.has(e.trackGroup)) {
        ctx.sink.error(
          `track_group ${e.trackGroup} not found - not tracking this entry; define 'track_group ${e.trackGroup} { group { … } }'`,
          entryLoc(e) ?? ctx.at(cfg, key),
          key,
        );
        delete e.trackGroup;
      }
    }
  }
}

function checkLvsSyncDaemon(cfg: VrrpCheckConfig, ctx: ValidateContext): void {
  const g = cfg.global_defs;
  const inst = g?.lvs_sync_daemon?.instance;
  if (g === undefined || inst === undefined) return;
  if (!cfg.vrrp_instance.some((i) => i.header === inst)) {
    ctx.sink.error(
      `lvs_sync_daemon names vrrp_instance ${inst}, which doesn't exist; define it or drop the instance name`,
      ctx.at(g, "lvs_sync_daemon"),
      "lvs_sync_daemon",
    );
  }
}
