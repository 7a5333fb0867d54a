/**
 * The VRRP side of the top level (spec/vrrp.md §4.3): instances, sync groups, tracked
 * objects, interface settings, track groups, static addresses/routes/rules and the root
 * single keywords, spread into lib/config/schema/root.ts, plus `validateVrrp`, the
 * cross-block checks root.ts runs after parsing. The block schemas live in the
 * lib/config/schema/vrrp_*.ts files; this module only assembles them.
 */
import type { AnyField, BlockMeta, Infer, ValidateContext } from "../schema.ts";
import { blocks, list, optional, value } from "../schema.ts";
import { blockName, flag, seconds, word } from "../types.ts";
import type { GlobalDefs } from "./global.ts";
import { vrrpInstance } from "./vrrp_instance.ts";
import { trackGroup, vrrpSyncGroup } from "./vrrp_sync.ts";
import { MAX_TIMER_S, trackFile, vrrpScript, vrrpTrackProcess } from "./vrrp_trackers.ts";
import { garpGroup, linkbeatInterface, upDownDelay } from "./vrrp_interfaces.ts";
import { unnamed } from "../types.ts";
import { staticAddressLine } from "./vrrp_address.ts";
import { staticRouteLine } from "./vrrp_route.ts";
import { staticRuleLine } from "./vrrp_rule.ts";
import { checkVrrp } from "./vrrp_check.ts";
import { optionalWord } from "./vrrp_values.ts";

/** The VRRP keywords of the top level. */
export const vrrpRootFields = {
  vrrp_instance: blocks(vrrpInstance, blockName, { unique: true, doc: "a VRRP virtual router" }),
  vrrp_sync_group: blocks(vrrpSyncGroup, blockName, {
    unique: true,
    doc: "instances that change state together",
  }),
  vrrp_script: blocks(vrrpScript, blockName, {
    unique: true,
    doc: "a check script instances can track",
  }),
  track_file: blocks(trackFile, blockName, {
    unique: true,
    doc: "a file whose value instances can track",
  }),
  vrrp_track_process: blocks(vrrpTrackProcess, blockName, {
    unique: true,
    doc: "a set of processes instances can track",
  }),
  garp_group: blocks(garpGroup, unnamed, { doc: "GARP/NA spacing for a group of interfaces" }),
  interface_up_down_delays: list(upDownDelay, {
    doc: "IFNAME DOWN [UP]: debounce of interface state",
  }),
  linkbeat_interfaces: list(linkbeatInterface, {
    doc: "IFNAME [MII|ETHTOOL|IOCTL]: poll link state",
  }),
  track_group: blocks(trackGroup, blockName, {
    unique: true,
    doc: "instances faulted by failed static objects",
  }),
  static_ipaddress: list(staticAddressLine, {
    doc: "addresses configured at start and never moved",
  }),
  static_routes: list(staticRouteLine, { doc: "routes configured at start" }),
  static_rules: list(staticRuleLine, { doc: "policy rules configured at start" }),
  net_namespace: optional(word({ what: "name" }), { doc: "network namespace to run in" }),
  net_namespace_ipvs: optional(optionalWord("", "NAME"), {
    doc: "[NAME]: namespace of IPVS (none: the default namespace)",
  }),
  namespace_with_ipsets: value(flag, false, { doc: "ipsets are namespace-aware" }),
  use_pid_dir: value(flag, false, { doc: "put pid files in /run/keepalived/" }),
  instance: optional(word({ what: "name" }), { doc: "instance name (pid and dump file names)" }),
  child_wait_time: value(seconds(0, MAX_TIMER_S, 0), 5_000_000, {
    doc: "seconds to wait for children to stop",
  }),
  linkbeat_use_polling: value(flag, false, { doc: "poll link state of every interface" }),
} satisfies Record<string, AnyField>;

/** What `validateVrrp` needs of the whole configuration. */
export type VrrpConfig = Infer<typeof vrrpRootFields> & BlockMeta & {
  global_defs: GlobalDefs | undefined;
  bfd_instance?: ReadonlyArray<{ header: string; weight: { weight: number } }>;
};

/**
 * Cross-block checks and dynamic defaults of the VRRP side (see
 * lib/config/schema/vrrp_check.ts for the rules).
 */
export function validateVrrp(cfg: VrrpConfig, ctx: ValidateContext): void {
  checkVrrp(cfg, ctx);
}
