/**
 * Named groups of instances: `vrrp_sync_group NAME { … }` (spec/vrrp.md §3.12, §4.11),
 * instances that change state together, with group-level trackers and notifications; and
 * `track_group NAME { group { … } }` (§4.15), instances that fault when a static
 * address, route or rule naming the group cannot be restored. Owns the keywords;
 * membership checks (unknown instances, an instance in two groups) are cross-block and
 * live in lib/config/schema/vrrp_check.ts.
 */
import { defineBlock, type InferSchema, list, value } from "../schema.ts";
import { blockName, flag, optBool } from "../types.ts";
import { notifyFields, trackFields } from "./vrrp_instance.ts";

export const vrrpSyncGroup = defineBlock({
  name: "vrrp_sync_group",
  fields: {
    group: list(blockName, { perToken: true, doc: "the member vrrp_instance names (required)" }),
    ...trackFields,
    ...notifyFields,
    smtp_alert: value(optBool, false, {
      doc: "send e-mail on group state changes (default: global)",
    }),
    notify_priority_changes: value(optBool, false, {
      doc: "default for the members' notify_priority_changes",
    }),
    sync_group_tracking_weight: value(flag, false, { doc: "allow weighted trackers on members" }),
  },
  aliases: { global_tracking: "deprecated:sync_group_tracking_weight" },
  ignored: {
    notify_deleted:
      "sync groups are never notified DELETED; set notify_deleted on the member instances",
  },
});
export type VrrpSyncGroup = InferSchema<typeof vrrpSyncGroup> & { header: string };

/** spec/vrrp.md §4.15. */
export const trackGroup = defineBlock({
  name: "track_group",
  fields: {
    group: list(blockName, {
      perToken: true,
      doc: "instances to FAULT when a tracked static object fails",
    }),
  },
});
export type TrackGroup = InferSchema<typeof trackGroup> & { header: string };
