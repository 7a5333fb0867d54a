/**
 * The LVS blocks of keepalived.conf (spec/lvs.md §1.2–§1.5, §2.5): virtual_server_group,
 * virtual_server with its real_server and sorry_server settings, and the top-level `SSL`
 * block used by SSL_GET. The checker blocks are lib/config/schema/lvs_checkers.ts; the
 * normalisation of §1.6 (inheritance, defaults with warnings, port and family rules) is
 * lib/config/schema/lvs_normalise.ts, run from `validateLvs`.
 *
 * global_defs' LVS keywords (lvs_flush, lvs_timeouts, lvs_sync_daemon, …) belong to
 * lib/config/schema/global.ts, not here. Nothing here touches IPVS.
 */
import {
  type AnyField,
  block,
  type BlockMeta,
  blocks,
  defineBlock,
  type Infer,
  type InferSchema,
  list,
  optional,
  type ValidateContext,
  value,
} from "../schema.ts";
import { blockName, flag, int, oneOf, optBool, script, UINT32_MAX, word } from "../types.ts";
import {
  checkerFields,
  connectTimeout,
  DEFAULT_CONNECT_TIMEOUT_US,
  DEFAULT_DELAY_LOOP_US,
  positiveTimer,
  timer,
} from "./lvs_checkers.ts";
import {
  INT32_MAX,
  lvsMethod,
  persistenceGranularity,
  persistenceTimeout,
  type ServerAddress,
  serverAddress,
  vsFlag,
  VSG_ENTRY_KEY,
  vsgEntry,
  type VsHeader,
  vsHeader,
} from "./lvs_types.ts";
import { keepIf, normaliseLvs } from "./lvs_normalise.ts";
import type { BfdInstance } from "./bfd.ts";

/** IPVS schedulers keepalived accepts (case-sensitive). */
export const SCHEDULERS = [
  "rr",
  "wrr",
  "lc",
  "wlc",
  "lblc",
  "sh",
  "mh",
  "dh",
  "fo",
  "ovf",
  "lblcr",
  "sed",
  "nq",
  "twos",
] as const;

/** `virtual_server_group NAME { entry … }` (spec/lvs.md §1.2). */
export const virtualServerGroup = defineBlock({
  name: "virtual_server_group",
  fields: {
    [VSG_ENTRY_KEY]: list(vsgEntry, {
      doc:
        "IP [PORT], A.B.C.D-E [PORT], FIRST-LAST [PORT], ADDR/LEN [PORT] or fwmark N [inet|inet6]",
    }),
  },
  // Every line of a group is an entry: `10.0.0.1 80`, `10.0.0.3-10 80`, `fwmark 1`.
  rest: VSG_ENTRY_KEY,
});

/** `real_server IP [PORT] { … }` (spec/lvs.md §1.5). */
export const realServer = defineBlock({
  name: "real_server",
  fields: {
    weight: value(int(0, INT32_MAX), 1, {
      doc: "IPVS weight (default: the virtual server's weight)",
    }),
    lvs_method: value(lvsMethod, { method: "NAT" }, {
      doc: "forwarding method (default: the virtual server's)",
    }),
    uthreshold: value(int(0, UINT32_MAX), 0, { doc: "IPVS upper connection threshold (0: none)" }),
    lthreshold: value(int(0, UINT32_MAX), 0, { doc: "IPVS lower connection threshold (0: none)" }),
    inhibit_on_failure: value(optBool, false, {
      doc: "keep a failed server with weight 0 instead of removing it (default: virtual server's)",
    }),
    notify_up: optional(script, { doc: "command run when the server comes up" }),
    notify_down: optional(script, { doc: "command run when the server goes down" }),
    alpha: value(optBool, false, { doc: "start checkers failed (default: virtual server's)" }),
    retry: optional(int(0, UINT32_MAX), { doc: "checker retry count (default: virtual server's)" }),
    delay_before_retry: optional(timer, { doc: "checker retry delay (default: virtual server's)" }),
    warmup: optional(timer, { doc: "checker start-up spread (default: virtual server's)" }),
    delay_loop: value(positiveTimer, DEFAULT_DELAY_LOOP_US, {
      doc: "checker interval (default: virtual server's)",
    }),
    connect_timeout: value(connectTimeout, DEFAULT_CONNECT_TIMEOUT_US, {
      doc: "checker timeout (default: virtual server's)",
    }),
    smtp_alert: value(optBool, true, {
      doc: "e-mail on state changes (default: global smtp_alert_checker, smtp_alert, else on)",
    }),
    virtualhost: optional(word({ what: "host name" }), {
      doc: "HTTP Host for this server's checks (default: virtual server's)",
    }),
    snmp_name: optional(word({ what: "name" }), {
      doc: "label for keepalived's SNMP tables (kept only)",
    }),
    ...checkerFields,
  },
  validate(rs, ctx) {
    dropIncompleteCheckers(rs, ctx);
  },
});

export type RealServer = InferSchema<typeof realServer> & { header: ServerAddress };

/**
 * The checkers of `list` that pass `ok`; each other one is reported as `KEYWORD why`. The
 * predicates are module-level functions so that a real server without such checkers (the
 * usual case) costs no allocation at all.
 */
function dropUnless<T extends BlockMeta>(
  list: T[],
  keyword: string,
  ok: (c: T) => boolean,
  why: string,
  ctx: ValidateContext,
): T[] {
  if (list.length === 0) return list;
  return keepIf(list, (c) => {
    if (ok(c)) return true;
    ctx.sink.error(`${keyword} ${why}`, c.$at, keyword);
    return false;
  });
}

const hasUrl = (c: { url: readonly unknown[] }): boolean => c.url.length > 0;
const hasMiscPath = (c: { misc_path?: unknown }): boolean => c.misc_path !== undefined;
const hasTrackFile = (c: { track_file?: unknown }): boolean => c.track_file !== undefined;
const hasName = (c: { name?: unknown }): boolean => c.name !== undefined;

/** Checkers keepalived discards because a required keyword is missing (spec/lvs.md §2). */
function dropIncompleteCheckers(
  rs: Infer<typeof realServer.fields> & BlockMeta,
  ctx: ValidateContext,
): void {
  const noUrl = "has no url block, so the checker is ignored; add 'url { path /… }'";
  rs.HTTP_GET = dropUnless(rs.HTTP_GET, "HTTP_GET", hasUrl, noUrl, ctx);
  rs.SSL_GET = dropUnless(rs.SSL_GET, "SSL_GET", hasUrl, noUrl, ctx);
  rs.MISC_CHECK = dropUnless(
    rs.MISC_CHECK,
    "MISC_CHECK",
    hasMiscPath,
    "has no misc_path, so the checker is ignored; add 'misc_path COMMAND'",
    ctx,
  );
  rs.FILE_CHECK = dropUnless(
    rs.FILE_CHECK,
    "FILE_CHECK",
    hasTrackFile,
    "has no track_file, so the checker is ignored; add 'track_file NAME'",
    ctx,
  );
  rs.BFD_CHECK = dropUnless(
    rs.BFD_CHECK,
    "BFD_CHECK",
    hasName,
    "has no name, so the checker is ignored; add 'name BFD_INSTANCE'",
    ctx,
  );
  // Each real server follows a given BFD session once (spec/lvs.md §2.12).
  if (rs.BFD_CHECK.length > 1) {
    const checked = new Set<string>();
    rs.BFD_CHECK = dropUnless(
      rs.BFD_CHECK,
      "BFD_CHECK",
      (c) => {
        const first = !checked.has(c.name as string);
        checked.add(c.name as string);
        return first;
      },
      "names a bfd_instance this real_server already checks; this one is ignored",
      ctx,
    );
  }
}

/** `virtual_server IP [PORT] | fwmark N | group NAME { … }` (spec/lvs.md §1.3–§1.4). */
export const virtualServer = defineBlock({
  name: "virtual_server",
  fields: {
    lvs_sched: value(oneOf(SCHEDULERS), "wlc", {
      doc: "IPVS scheduler (default wlc, with a warning)",
    }),
    lvs_method: value(lvsMethod, { method: "NAT" }, {
      doc: "default forwarding method of the real servers (default NAT, with a warning)",
    }),
    ops: value(flag, false, { doc: "one-packet scheduling (UDP only)" }),
    "flag-1": value(flag, false, { doc: "scheduler flag 1" }),
    "flag-2": value(flag, false, { doc: "scheduler flag 2" }),
    "flag-3": value(flag, false, { doc: "scheduler flag 3" }),
    "sh-port": value(flag, false, { doc: "sh scheduler: hash the source port too" }),
    "sh-fallback": value(flag, false, {
      doc: "sh scheduler: fall back when the server is unavailable",
    }),
    "mh-port": value(flag, false, { doc: "mh scheduler: hash the source port too" }),
    "mh-fallback": value(flag, false, {
      doc: "mh scheduler: fall back when the server is unavailable",
    }),
    persistence_timeout: optional(persistenceTimeout, {
      doc: "persistence in seconds, 1 to 2678400 (no value: 360; absent: not persistent)",
    }),
    persistence_granularity: optional(persistenceGranularity, {
      doc: "client netmask (IPv4) or prefix length (IPv6) for persistence",
    }),
    persistence_engine: optional(word({ what: "engine name", maxLen: 16 }), { doc: "e.g. sip" }),
    protocol: optional(oneOf(["TCP", "UDP", "SCTP"], { caseInsensitive: true }), {
      doc: "TCP, UDP or SCTP (default UDP with a warning; ignored for fwmark)",
    }),
    ip_family: optional(oneOf(["inet", "inet6"]), {
      doc: "address family of a fwmark service (derived when not written)",
    }),
    ha_suspend: value(vsFlag, false, { doc: "suspend checks while the address is not local" }),
    virtualhost: optional(word({ what: "host name" }), { doc: "default HTTP Host of the checks" }),
    alpha: value(vsFlag, false, { doc: "real servers start failed" }),
    omega: value(vsFlag, false, { doc: "run down notifications at shutdown" }),
    quorum: value(int(1, UINT32_MAX), 1, { doc: "minimum summed weight of live real servers" }),
    hysteresis: value(int(0, UINT32_MAX), 0, { doc: "quorum flap damping, in weight units" }),
    quorum_up: optional(script, { doc: "command run when quorum is gained" }),
    quorum_down: optional(script, { doc: "command run when quorum is lost" }),
    weight: value(int(1, INT32_MAX), 1, { doc: "default weight of the real servers" }),
    smtp_alert: value(optBool, false, {
      doc: "e-mail on quorum changes (default: global smtp_alert_checker, smtp_alert, else off)",
    }),
    snmp_name: optional(word({ what: "name" }), {
      doc: "label for keepalived's SNMP tables (kept only)",
    }),
    delay_loop: value(positiveTimer, DEFAULT_DELAY_LOOP_US, {
      doc: "checker interval (default 60 s)",
    }),
    connect_timeout: value(connectTimeout, DEFAULT_CONNECT_TIMEOUT_US, {
      doc: "checker timeout (default 5 s)",
    }),
    retry: optional(int(0, UINT32_MAX), { doc: "checker retry count (default: per checker type)" }),
    delay_before_retry: optional(timer, { doc: "checker retry delay (default: per checker type)" }),
    warmup: optional(timer, { doc: "checker start-up spread (default: delay_loop)" }),
    inhibit_on_failure: value(vsFlag, false, { doc: "default for the real servers" }),
    sorry_server: optional(serverAddress, { doc: "server used while quorum is lost" }),
    sorry_server_inhibit: value(flag, false, { doc: "inhibit_on_failure for the sorry server" }),
    sorry_server_lvs_method: optional(lvsMethod, {
      doc: "forwarding method of the sorry server (default: the virtual server's)",
    }),
    real_server: blocks(realServer, serverAddress, { doc: "a real server (at least one)" }),
  },
  aliases: { lb_algo: "lvs_sched", lb_kind: "lvs_method" },
  ignored: {
    hashed:
      "IP_VS_SVC_F_HASHED is managed by the kernel itself, and keepalived never sends it either",
  },
});

export type VirtualServer = InferSchema<typeof virtualServer> & { header: VsHeader };
export type VirtualServerGroup = InferSchema<typeof virtualServerGroup> & { header: string };

/** The top-level `SSL { … }` block: the TLS context of SSL_GET (spec/lvs.md §2.5.2). */
export const sslBlock = defineBlock({
  name: "SSL",
  fields: {
    password: optional(word({ what: "password" }), {
      secret: true,
      doc: "password of the private key",
    }),
    ca: optional(word({ what: "path" }), { doc: "CA certificate file" }),
    certificate: optional(word({ what: "path" }), { doc: "client certificate file" }),
    key: optional(word({ what: "path" }), { doc: "private key file" }),
  },
});

/** The LVS keywords of the top level, spread into lib/config/schema/root.ts. */
export const lvsRootFields = {
  virtual_server_group: blocks(virtualServerGroup, blockName, {
    unique: true,
    doc: "a named set of virtual addresses and fwmarks",
  }),
  virtual_server: blocks(virtualServer, vsHeader, { doc: "an IPVS service and its real servers" }),
  SSL: block(sslBlock, { doc: "TLS settings of SSL_GET checkers" }),
} satisfies Record<string, AnyField>;

/**
 * The global_defs keywords the LVS normalisation reads. Whether a keyword was written is
 * taken from `$loc`, so these may be defaulted or optional fields.
 */
export interface GlobalLvsView extends BlockMeta {
  smtp_alert?: boolean | undefined;
  smtp_alert_checker?: boolean | undefined;
  checker_log_all_failures?: boolean | undefined;
}

/** The part of the configuration `validateLvs` reads and normalises. */
export type LvsConfig = Infer<typeof lvsRootFields> & {
  global_defs: GlobalLvsView | undefined;
  bfd_instance: BfdInstance[];
  track_file?: ReadonlyArray<{ header: unknown }>;
};

/**
 * Cross-block checks and normalisation of spec/lvs.md §1.6 and §2.1: effective values are
 * written into the model (what was written is still told by each block's `$loc`), and
 * servers, checkers and groups that keepalived would discard are removed after a
 * diagnostic.
 */
export function validateLvs(cfg: LvsConfig, ctx: ValidateContext): void {
  normaliseLvs(cfg, ctx);
}
