/**
 * From the configuration model to the FSM's `InstanceSettings` (spec/vrrp.md §3, §4.9,
 * §4.10): a pure mapping of one checked `vrrp_instance` plus the global_defs keywords
 * that are not per instance (start-up delays). Inheritance of global defaults, strict-mode
 * corrections, owner rules and accept-mode defaults are done by the model's validate
 * hooks (lib/config/schema/vrrp_check.ts); this module must not repeat or change them, and
 * must not read the host.
 */
import type { GlobalDefs } from "../config/schema/global.ts";
import type { VrrpInstance } from "../config/schema/vrrp_instance.ts";
import { instanceFamily } from "../config/schema/vrrp_check.ts";
import type { InstanceSettings } from "./fsm.ts";
import { normaliseAdvertIntUs, type VrrpVersion } from "./timers.ts";

/** The global_defs keywords the FSM reads. */
export type FsmGlobals = Pick<GlobalDefs, "vrrp_startup_delay" | "vrrp_delay_after_boot">;

/**
 * The FSM settings of a checked instance. Throws a RangeError when the instance has no
 * `virtual_router_id` (the configuration check reports that as an error first).
 *
 * @example
 * ```ts
 * import { loadConfigText } from "../config/load.ts";
 * import { effectiveGlobals } from "../config/schema/vrrp_check.ts";
 * const text = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n" +
 *   " virtual_ipaddress {\n  10.0.0.1\n }\n}\n";
 * const r = loadConfigText(text, "keepalived.conf", { configId: "x" });
 * const g = effectiveGlobals(r.config);
 * const all = r.config.vrrp_instance.map((i) => settingsFromConfig(i, g));
 * // all[0].priority === 100, all[0].advertIntUs === 1_000_000
 * ```
 */
export function settingsFromConfig(inst: VrrpInstance, globals: FsmGlobals): InstanceSettings {
  const vrid = inst.virtual_router_id;
  if (vrid === undefined) {
    throw new RangeError(
      `vrrp_instance '${inst.header}' has no virtual_router_id; add 'virtual_router_id N' (1 to 255)`,
    );
  }
  const version: VrrpVersion = inst.version === 3 ? 3 : 2;
  return {
    name: inst.header,
    vrid,
    version,
    family: instanceFamily(inst),
    priority: inst.priority,
    initialState: inst.state,
    advertIntUs: normaliseAdvertIntUs(version, inst.advert_int),
    downTimerAdverts: inst.down_timer_adverts,
    nopreempt: inst.nopreempt,
    preemptDelayUs: inst.preempt_delay,
    accept: inst.accept,
    lowerPrioNoAdvert: inst.lower_prio_no_advert,
    higherPrioSendAdvert: inst.higher_prio_send_advert,
    ownerIgnoreAdverts: inst.owner_ignore_adverts,
    dontTrackPrimary: inst.dont_track_primary,
    garp: {
      masterDelayUs: inst.garp_master_delay,
      masterRepeat: inst.garp_master_repeat,
      masterRefreshUs: inst.garp_master_refresh,
      masterRefreshRepeat: inst.garp_master_refresh_repeat,
      lowerPrioDelayUs: inst.garp_lower_prio_delay,
      lowerPrioRepeat: inst.garp_lower_prio_repeat,
    },
    hasAddresses: inst.virtual_ipaddress.length + inst.virtual_ipaddress_excluded.length > 0,
    unicast: inst.unicast_peer.length > 0,
    hasInterface: inst.interface !== undefined,
    timerExpiredBackup: inst.timer_expired_backup ?? null,
    notifyPriorityChanges: inst.notify_priority_changes,
    startupDelayUs: globals.vrrp_startup_delay,
    delayAfterBootUs: globals.vrrp_delay_after_boot,
  };
}

/**
 * The settings of an IPv4 VRRPv2 instance with an interface, one VIP and every other
 * keyword at keepalived's default (§4.9, §4.10) — what `settingsFromConfig` gives for a
 * minimal instance block. Meant as the base of tests and replays.
 */
export function defaultSettings(name = "VI_1", vrid = 51): InstanceSettings {
  return {
    name,
    vrid,
    version: 2,
    family: 4,
    priority: 100,
    initialState: "BACKUP",
    advertIntUs: 1_000_000,
    downTimerAdverts: 3,
    nopreempt: false,
    preemptDelayUs: 0,
    accept: true,
    lowerPrioNoAdvert: false,
    higherPrioSendAdvert: false,
    ownerIgnoreAdverts: false,
    dontTrackPrimary: false,
    garp: {
      masterDelayUs: 5_000_000,
      masterRepeat: 5,
      masterRefreshUs: 0,
      masterRefreshRepeat: 1,
      lowerPrioDelayUs: 5_000_000,
      lowerPrioRepeat: 5,
    },
    hasAddresses: true,
    unicast: false,
    hasInterface: true,
    timerExpiredBackup: null,
    notifyPriorityChanges: false,
    startupDelayUs: 0,
    delayAfterBootUs: 0,
  };
}
