/**
 * `global_defs { … }`: the VRRP-side global keywords (spec/vrrp.md §4.9), the
 * checker-side ones (spec/lvs.md §1.14: lvs_flush*, lvs_timeouts, lvs_sync_daemon, LVS
 * notify FIFOs, smtp_alert_checker, …), notification e-mail and the process settings of
 * each daemon. SNMP and DBus keywords are accepted and ignored with a warning. Owns the
 * keywords, their value types and the defaults that depend on other global keywords; the
 * instance fields that inherit global values are resolved in
 * lib/config/schema/vrrp_check.ts.
 */
import type { Token } from "../ast.ts";
import { defineBlock, type InferSchema, list, optional, value, type ValueType } from "../schema.ts";
import {
  boolWord,
  flag,
  ifname,
  int,
  ip,
  optBool,
  parseIfnameArg,
  parseIntArg,
  parseSecondsArg,
  quoteIfNeeded,
  script,
  seconds,
  UINT32_MAX,
  word,
} from "../types.ts";
import { formatSeconds } from "../types.ts";
import { formatIp, parseIp } from "../../net/ipaddr.ts";
import {
  clampedInt,
  clampedSeconds,
  optionalWord,
  pathProblem,
  pathType,
  userGroup,
} from "./vrrp_values.ts";
import { garpDelay, garpExtraIf, garpLowerPrioRepeat, garpRepeat } from "./vrrp_instance.ts";
import { MAX_TIMER_S } from "./vrrp_trackers.ts";

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** Highest SCHED_RR priority on Linux. */
export const SCHED_RR_MAX = 99;
/** Longest process name the kernel keeps (TASK_COMM_LEN − 1). */
const PROCESS_NAME_MAX = 15;
/** IPVS timeouts are at most 31 days (spec/lvs.md §1.1). */
const LVS_TIMEOUT_MAX_S = 2678400;

// ---- value types ----

/** `smtp_server HOST [PORT]`. */
export interface SmtpServer {
  /** Canonical address text, or a host name to resolve when mailing. */
  host: string;
  port: number;
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

export const smtpServer: ValueType<SmtpServer> = {
  toml: "words",
  describe: "HOST [PORT]",
  parse(args, ctx) {
    const t = args[0];
    if (t === undefined) {
      ctx.missing("server");
      return undefined;
    }
    const a = parseIp(t.text);
    if (a === undefined && !HOSTNAME.test(t.text)) {
      ctx.error(`'${ctx.keyword}' server '${t.text}' is neither an IP address nor a host name`, 0);
      return undefined;
    }
    let port = 25;
    if (args[1] !== undefined) {
      const p = parseIntArg(args[1], 1, 65535, ctx, 1, "port");
      if (p === undefined) return undefined;
      port = p;
    }
    return { host: a ? formatIp(a) : t.text, port };
  },
  print: (v) => (v.port === 25 ? [v.host] : [v.host, String(v.port)]),
};

/** A notify FIFO: `PATH [USER [GROUP]]` (spec/vrrp.md §5.2). */
export interface FifoSpec {
  path: string;
  user?: string;
  group?: string;
}

export const fifoSpec: ValueType<FifoSpec> = {
  toml: "words",
  describe: "PATH [USER [GROUP]]",
  parse(args, ctx) {
    const t = args[0];
    if (t === undefined) {
      ctx.missing("path");
      return undefined;
    }
    const problem = pathProblem(t.text, { file: true });
    if (problem !== undefined) {
      ctx.error(`'${ctx.keyword}' path '${t.text}' ${problem}`, 0);
      return undefined;
    }
    const out: FifoSpec = { path: t.text };
    if (args[1] !== undefined) out.user = args[1].text;
    if (args[2] !== undefined) out.group = args[2].text;
    return out;
  },
  print(v) {
    const out = [quoteIfNeeded(v.path)];
    if (v.user !== undefined) out.push(quoteIfNeeded(v.user));
    if (v.group !== undefined) out.push(quoteIfNeeded(v.group));
    return out;
  },
};

/**
 * `lvs_sync_daemon IFNAME [[inst] VRRP_INSTANCE] [id 0..255] [maxlen 1..65507]
 * [port 1..65535] [ttl 1..255] [group MCAST_IP]` (spec/lvs.md §4.6); the legacy form
 * `IFNAME INSTANCE SYNCID` is accepted too.
 */
export interface LvsSyncDaemon {
  interface: string;
  /** A VRRP instance that drives master/backup; without one the checker runs both. */
  instance?: string;
  id?: number;
  maxlen?: number;
  port?: number;
  ttl?: number;
  group?: string;
}

const SYNC_OPTIONS = {
  id: [0, 255],
  maxlen: [1, 65507],
  port: [1, 65535],
  ttl: [1, 255],
} as const;

export const lvsSyncDaemon: ValueType<LvsSyncDaemon> = {
  toml: "words",
  describe: "IFNAME [[inst] INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDR]",
  parse(args, ctx) {
    const name = parseIfnameArg(args[0], ctx, 0);
    if (name === undefined) return undefined;
    const out: LvsSyncDaemon = { interface: name };
    for (let i = 1; i < args.length; i++) {
      const w = (args[i] as Token).text;
      if (Object.hasOwn(SYNC_OPTIONS, w)) {
        const [min, max] = SYNC_OPTIONS[w as keyof typeof SYNC_OPTIONS];
        const v = parseIntArg(args[i + 1], min, max, ctx, i + 1, w);
        if (v === undefined) return undefined;
        out[w as keyof typeof SYNC_OPTIONS] = v;
        i++;
      } else if (w === "group") {
        const a = parseIp(args[i + 1]?.text ?? "");
        if (
          a === undefined ||
          !(a.family === 4 ? (a.bytes[0] as number) >> 4 === 14 : a.bytes[0] === 0xff)
        ) {
          ctx.error(
            `'${ctx.keyword}' group '${args[i + 1]?.text ?? ""}' must be a multicast address`,
            i + 1,
          );
          return undefined;
        }
        out.group = formatIp(a);
        i++;
      } else if (w === "inst" && out.instance === undefined && args[i + 1] !== undefined) {
        out.instance = (args[i + 1] as Token).text;
        i++;
      } else if (out.instance === undefined && i === 1) {
        out.instance = w;
      } else if (out.id === undefined && i === 2 && /^[0-9]+$/.test(w)) {
        // Legacy positional form: IFNAME INSTANCE SYNCID.
        const v = parseIntArg(args[i], 0, 255, ctx, i, "id");
        if (v === undefined) return undefined;
        out.id = v;
      } else {
        ctx.error(`'${ctx.keyword}' argument '${w}' is not understood`, i);
        return undefined;
      }
    }
    return out;
  },
  print(v) {
    const out = [v.interface];
    if (v.instance !== undefined) out.push("inst", quoteIfNeeded(v.instance));
    for (const k of Object.keys(SYNC_OPTIONS) as Array<keyof typeof SYNC_OPTIONS>) {
      const n = v[k];
      if (n !== undefined) out.push(k, String(n));
    }
    if (v.group !== undefined) out.push("group", v.group);
    return out;
  },
};

/** `lvs_timeouts [tcp S] [tcpfin S] [udp S]` (µs, whole seconds). */
export interface LvsTimeouts {
  tcp?: number;
  tcpfin?: number;
  udp?: number;
}

const LVS_TIMEOUT_KEYS = ["tcp", "tcpfin", "udp"] as const;

export const lvsTimeouts: ValueType<LvsTimeouts> = {
  toml: "words",
  describe: `tcp|tcpfin|udp SECS (0 to ${LVS_TIMEOUT_MAX_S}), at least one`,
  parse(args, ctx) {
    const out: LvsTimeouts = {};
    for (let i = 0; i < args.length; i += 2) {
      const k = (args[i] as Token).text;
      if (!(LVS_TIMEOUT_KEYS as readonly string[]).includes(k)) {
        ctx.error(`'${ctx.keyword}' option '${k}' is unknown; use tcp, tcpfin or udp`, i);
        return undefined;
      }
      const v = parseSecondsArg(args[i + 1], 0, LVS_TIMEOUT_MAX_S * 1e6, 0, ctx, i + 1);
      if (v === undefined) return undefined;
      out[k as typeof LVS_TIMEOUT_KEYS[number]] = v;
    }
    if (Object.keys(out).length === 0) {
      ctx.missing("tcp|tcpfin|udp SECS");
      return undefined;
    }
    return out;
  },
  print(v) {
    const out: string[] = [];
    for (const k of LVS_TIMEOUT_KEYS) {
      const n = v[k];
      if (n !== undefined) out.push(k, formatSeconds(n));
    }
    return out;
  },
};

/** `lvs_flush_on_stop [VS]`: "full" flushes everything, "vs" only keepalived's services. */
export const lvsFlushOnStop: ValueType<"full" | "vs"> = {
  toml: "string",
  describe: "[VS]",
  parse(args, ctx) {
    const t = args[0];
    if (t === undefined) return "full";
    if (t.text.toUpperCase() === "VS") return "vs";
    ctx.error(`'${ctx.keyword}' argument '${t.text}' is unknown; the only option is 'VS'`, 0);
    return undefined;
  },
  print: (v) => (v === "vs" ? ["VS"] : []),
};

const UMASK_BITS: Readonly<Record<string, number>> = {
  IRUSR: 0o400,
  IWUSR: 0o200,
  IXUSR: 0o100,
  IRGRP: 0o40,
  IWGRP: 0o20,
  IXGRP: 0o10,
  IROTH: 0o4,
  IWOTH: 0o2,
  IXOTH: 0o1,
  IRWXU: 0o700,
  IRWXG: 0o70,
  IRWXO: 0o7,
};

/** `umask` as a number (C rules: leading 0 octal, 0x hex) or `I…` names joined by `|`. */
export const umaskType: ValueType<number> = {
  toml: "string",
  describe: "octal mode or IRWXU|IRGRP… names joined by '|'",
  parse(args, ctx) {
    if (args.length === 0) {
      ctx.missing("mask");
      return undefined;
    }
    const text = args.map((t) => t.text).join("");
    let mask = 0;
    for (const part of text.split("|")) {
      let v: number | undefined;
      if (Object.hasOwn(UMASK_BITS, part)) v = UMASK_BITS[part];
      else if (/^0x[0-9a-fA-F]+$/.test(part)) v = parseInt(part.slice(2), 16);
      else if (/^0[0-7]*$/.test(part)) v = parseInt(part, 8);
      else if (/^[1-9][0-9]*$/.test(part)) v = Number(part);
      if (v === undefined || v > 0o777) {
        ctx.error(
          `'${ctx.keyword}' part '${part}' is not valid; use an octal mode such as 0177 or names like IWGRP|IRWXO`,
          0,
        );
        return undefined;
      }
      mask |= v;
    }
    return mask;
  },
  print: (v) => [`0${v.toString(8)}`],
};

/** A list of CPU numbers (`vrrp_cpu_affinity 0 2 3`). */
export const cpuList: ValueType<number[]> = {
  toml: "words",
  describe: "CPU numbers",
  parse(args, ctx) {
    if (args.length === 0) {
      ctx.missing("CPU number");
      return undefined;
    }
    const out: number[] = [];
    for (let i = 0; i < args.length; i++) {
      const v = parseIntArg(args[i], 0, 4095, ctx, i, "CPU");
      if (v === undefined) return undefined;
      out.push(v);
    }
    return out;
  },
  print: (v) => v.map(String),
};

/** `vrrp_rx_bufs_policy MTU|ADVERT|BYTES`. */
export const rxBufsPolicy: ValueType<"MTU" | "ADVERT" | number> = {
  toml: "words",
  describe: "MTU|ADVERT|BYTES",
  parse(args, ctx) {
    const t = args[0];
    if (t === undefined) {
      ctx.missing("MTU|ADVERT|BYTES");
      return undefined;
    }
    if (t.text === "MTU" || t.text === "ADVERT") return t.text;
    return parseIntArg(t, 1, UINT32_MAX, ctx, 0, "size");
  },
  print: (v) => [String(v)],
};

/** `max_auto_priority [N]`: no value means the SCHED_RR maximum; −1 silences the notice. */
export const maxAutoPriority: ValueType<number> = {
  toml: "int",
  describe: `[-1 to ${SCHED_RR_MAX}]`,
  parse: (
    args,
    ctx,
  ) => (args[0] === undefined ? SCHED_RR_MAX : parseIntArg(args[0], -1, SCHED_RR_MAX, ctx)),
  print: (v) => [String(v)],
};

/** `dynamic_interfaces [allow_if_changes]`. */
export const dynamicInterfaces: ValueType<"on" | "allow_if_changes"> = {
  toml: "string",
  describe: "[allow_if_changes]",
  parse(args, ctx) {
    const t = args[0];
    if (t === undefined) return "on";
    if (t.text === "allow_if_changes") return "allow_if_changes";
    ctx.error(
      `'${ctx.keyword}' argument '${t.text}' is unknown; the only option is 'allow_if_changes'`,
      0,
    );
    return undefined;
  },
  print: (v) => (v === "on" ? [] : [v]),
};

/** `vrrp_iptables [IN [OUT]]`. */
export const iptablesChains: ValueType<{ in?: string; out?: string }> = {
  toml: "words",
  describe: "[IN_CHAIN [OUT_CHAIN]]",
  parse(args) {
    const out: { in?: string; out?: string } = {};
    if (args[0] !== undefined) out.in = args[0].text;
    if (args[1] !== undefined) out.out = args[1].text;
    return out;
  },
  print: (v) => [...(v.in !== undefined ? [v.in] : []), ...(v.out !== undefined ? [v.out] : [])],
};

/** Words that may be empty (`vrrp_ipsets [NAMES…]`). */
const optionalWords: ValueType<string[]> = {
  toml: "words",
  describe: "[names…]",
  parse: (args) => args.map((t) => t.text),
  print: (v) => v.map(quoteIfNeeded),
};

const INCLUDE_CHECKS = ["readable", "match", "wildcard_match", "brace_match"];

/** `include_check [[+|-]OPTION…]` (spec/vrrp.md §4.4); no option means all. */
export const includeCheck: ValueType<string[]> = {
  toml: "words",
  describe: "[[+|-]readable|match|wildcard_match|brace_match …]",
  parse(args, ctx) {
    for (let i = 0; i < args.length; i++) {
      const w = (args[i] as Token).text.replace(/^[+-]/, "");
      if (!INCLUDE_CHECKS.includes(w)) {
        ctx.error(
          `'${ctx.keyword}' option '${(args[i] as Token).text}' is unknown; use ${
            INCLUDE_CHECKS.join(", ")
          }`,
          i,
        );
        return undefined;
      }
    }
    return args.map((t) => t.text);
  },
  print: (v) => [...v],
};

/**
 * `v3_checksum_as_v2 [ARG]`: keepalived enables the option whatever the argument, even
 * `false` (spec/vrrp.md §4.9 [quirk]). kad does the same because the checksum is on the
 * wire and peers configured with the same file must agree, and warns about a false word.
 */
export const alwaysOn: ValueType<boolean> = {
  toml: "flag",
  describe: "no argument (any argument still enables it)",
  parse(args, ctx) {
    const t = args[0];
    if (t !== undefined && boolWord(t.text) === false) {
      ctx.warn(
        `'${ctx.keyword} ${t.text}' still enables the option (keepalived ignores the argument); remove the keyword to disable it`,
        0,
      );
    }
    return true;
  },
  print: () => [],
};

const processName: ValueType<string> = word({ maxLen: PROCESS_NAME_MAX, what: "name" });
const rtPriority: ValueType<number> = clampedInt({
  min: 1,
  max: SCHED_RR_MAX,
  acceptMin: 1,
  acceptMax: INT32_MAX,
});
const rlimitRttime: ValueType<number> = clampedInt({
  min: 2,
  max: UINT32_MAX,
  acceptMin: 1,
  acceptMax: UINT32_MAX,
});
const rcvBufs: ValueType<number> = int(0, UINT32_MAX);

/** The scheduling keywords each daemon (vrrp, checker, bfd) has. */
function processFields<P extends string>(p: P, what: string) {
  return {
    [`${p}_priority`]: value(int(-20, 19), 0, {
      doc: `nice value of the ${what} process (-20 to 19)`,
    }),
    [`${p}_rt_priority`]: value(rtPriority, 0, {
      doc: `SCHED_RR priority of the ${what} process (1 to ${SCHED_RR_MAX}; 0 off)`,
    }),
    [`${p}_no_swap`]: value(flag, false, { doc: `lock the ${what} process in memory` }),
    [`${p}_cpu_affinity`]: optional(cpuList, { doc: `CPUs the ${what} process may run on` }),
    [`${p}_rlimit_rttime`]: value(rlimitRttime, 10000, {
      doc: `RLIMIT_RTTIME of the ${what} process in µs (at least 2)`,
    }),
    [`${p}_process_name`]: optional(processName, { doc: `process name of the ${what} process` }),
  } as
    & {
      [K in `${P}_priority` | `${P}_rt_priority` | `${P}_rlimit_rttime`]: ReturnType<
        typeof value<number>
      >;
    }
    & { [K in `${P}_no_swap`]: ReturnType<typeof value<boolean>> }
    & {
      [K in `${P}_cpu_affinity`]: ReturnType<typeof optional<number[]>>;
    }
    & { [K in `${P}_process_name`]: ReturnType<typeof optional<string>> };
}

/** spec/vrrp.md §4.9 and spec/lvs.md §1.14. */
/**
 * `state_dump_file` / `stats_dump_file` / `json_dump_file` (spec/vrrp.md §6.3): a file, or
 * an absolute directory ending in `/` that gets the default file name.
 */
const dumpFile: ValueType<string> = {
  toml: "string",
  describe: "file, or absolute directory ending in '/'",
  parse(args, ctx) {
    const t = args[0];
    if (t === undefined) {
      ctx.missing("path");
      return undefined;
    }
    const directory = t.text.startsWith("/") && t.text.endsWith("/");
    const problem = pathProblem(t.text, { file: !directory });
    if (problem !== undefined) {
      ctx.error(
        `'${ctx.keyword}' path '${t.text}' ${problem}; give a file, or an absolute directory ending in '/'`,
        0,
      );
      return undefined;
    }
    return t.text;
  },
  print: (v) => [quoteIfNeeded(v)],
};

export const globalDefs = defineBlock({
  name: "global_defs",
  fields: {
    // Identity and e-mail.
    router_id: optional(word({ what: "name" }), {
      doc: "name used in e-mails (default: host name)",
    }),
    notification_email: list(word({ what: "address" }), {
      perToken: true,
      doc: "recipients of alert e-mails",
    }),
    notification_email_from: optional(word({ what: "address" }), {
      doc: "sender of alert e-mails",
    }),
    smtp_server: optional(smtpServer, { doc: "HOST [PORT]: mail relay (port 25)" }),
    smtp_helo_name: optional(word({ what: "name" }), { doc: "HELO name (default: host name)" }),
    smtp_connect_timeout: value(
      clampedSeconds({ min: 1, max: 4294, acceptMin: 0, acceptMax: 4294, digits: 0 }),
      30_000_000,
      {
        doc: "seconds to wait for the mail relay (0 becomes 1)",
      },
    ),
    smtp_alert: optional(optBool, { doc: "default for every smtp_alert" }),
    smtp_alert_vrrp: optional(optBool, {
      doc: "default for VRRP instances' and groups' smtp_alert",
    }),
    smtp_alert_checker: optional(optBool, {
      doc: "default for virtual and real servers' smtp_alert",
    }),
    no_email_faults: value(flag, false, { doc: "no e-mail for FAULT transitions" }),
    // Scripts.
    script_user: optional(userGroup, { doc: "USER [[:]GROUP] scripts run as by default" }),
    enable_script_security: value(flag, false, {
      doc: "refuse scripts that non-root users could modify",
    }),
    set_supplementary_groups: value(optBool, false, {
      doc: "give scripts their user's supplementary groups",
    }),
    use_symlink_paths: value(optBool, false, {
      doc: "run scripts by their symlink path, not the resolved one",
    }),
    startup_script: optional(script, { doc: "run by the parent at start" }),
    startup_script_timeout: value(seconds(1, 1000, 0), 10_000_000, {
      doc: "seconds allowed for startup_script",
    }),
    shutdown_script: optional(script, { doc: "run by the parent at stop" }),
    shutdown_script_timeout: value(seconds(1, 1000, 0), 10_000_000, {
      doc: "seconds allowed for shutdown_script",
    }),
    // Notify FIFOs (spec/vrrp.md §5.2, spec/lvs.md §5.4).
    notify_fifo: optional(fifoSpec, { doc: "FIFO receiving VRRP and checker events" }),
    notify_fifo_script: optional(script, {
      doc: "script started with notify_fifo's path appended",
    }),
    vrrp_notify_fifo: optional(fifoSpec, { doc: "FIFO receiving VRRP events" }),
    vrrp_notify_fifo_script: optional(script, {
      doc: "script started with vrrp_notify_fifo's path appended",
    }),
    lvs_notify_fifo: optional(fifoSpec, { doc: "FIFO receiving checker events" }),
    lvs_notify_fifo_script: optional(script, {
      doc: "script started with lvs_notify_fifo's path appended",
    }),
    vrrp_notify_priority_changes: value(optBool, false, {
      doc: "write priority changes to the FIFOs",
    }),
    fifo_write_vrrp_states_on_reload: value(flag, false, {
      doc: "rewrite all states to the FIFOs after a reload",
    }),
    // VRRP protocol.
    vrrp_mcast_group4: value(ip({ family: 4, multicast: true }), "224.0.0.18", {
      doc: "IPv4 advert group",
    }),
    vrrp_mcast_group6: value(ip({ family: 6, multicast: true }), "ff02::12", {
      doc: "IPv6 advert group",
    }),
    vrrp_version: value(int(2, 3), 2, {
      doc: "default VRRP version (IPv6 instances always use 3)",
    }),
    vrrp_strict: value(optBool, false, { doc: "RFC-strict mode for every instance" }),
    vrrp_check_unicast_src: value(flag, false, {
      doc: "accept unicast adverts only from configured peers",
    }),
    vrrp_skip_check_adv_addr: value(optBool, false, {
      doc: "do not compare the VIP list of adverts",
    }),
    v3_checksum_as_v2: value(alwaysOn, false, {
      doc: "IPv4 VRRPv3 checksum without pseudo-header (any argument enables)",
    }),
    vrrp_garp_master_delay: value(garpDelay, 5_000_000, {
      doc: "seconds before the second GARP burst; 0 none",
    }),
    vrrp_garp_master_repeat: value(garpRepeat, 5, { doc: "GARP rounds per burst (0 becomes 1)" }),
    vrrp_garp_master_refresh: value(garpDelay, 0, { doc: "seconds between GARP refreshes; 0 off" }),
    vrrp_garp_master_refresh_repeat: value(garpRepeat, 1, {
      doc: "GARP rounds per refresh (0 becomes 1)",
    }),
    vrrp_garp_lower_prio_delay: value(garpDelay, 5_000_000, {
      doc: "default: vrrp_garp_master_delay",
    }),
    vrrp_garp_lower_prio_repeat: value(garpLowerPrioRepeat, 5, {
      doc: "default: vrrp_garp_master_repeat",
    }),
    vrrp_garp_interval: value(seconds(0.000001, MAX_TIMER_S), 0, {
      doc: "minimum seconds between GARPs",
    }),
    vrrp_gna_interval: value(seconds(0.000001, MAX_TIMER_S), 0, {
      doc: "minimum seconds between NAs",
    }),
    vrrp_min_garp: value(optBool, false, { doc: "one GARP round, no second burst, no refresh" }),
    vrrp_garp_extra_if: optional(garpExtraIf(1), {
      doc: "[all] SECS: periodic GARP on VMAC interfaces",
    }),
    vrrp_down_timer_adverts: value(int(1, 100), 3, {
      doc: "adverts missed before the master is down",
    }),
    vrrp_lower_prio_no_advert: value(optBool, false, {
      doc: "do not answer lower-priority adverts",
    }),
    vrrp_higher_prio_send_advert: value(optBool, false, { doc: "send an advert before yielding" }),
    vrrp_owner_ignore_adverts: value(optBool, false, { doc: "address owners ignore all adverts" }),
    vrrp_startup_delay: value(seconds(0, MAX_TIMER_S), 0, {
      doc: "seconds to stay passive after start",
    }),
    vrrp_delay_after_boot: value(seconds(0, MAX_TIMER_S), 0, {
      doc: "stay passive until this long after boot",
    }),
    log_unknown_vrids: value(flag, false, { doc: "log adverts for VRIDs not configured" }),
    dynamic_interfaces: optional(dynamicInterfaces, {
      doc: "[allow_if_changes]: allow interfaces absent at start",
    }),
    default_interface: value(ifname, "eth0", { doc: "interface of static addresses without dev" }),
    vmac_prefix: value(word({ what: "prefix" }), "vrrp", {
      doc: "name prefix of VMAC interfaces",
    }),
    vmac_addr_prefix: value(word({ what: "prefix" }), "vrrp", {
      doc: "default: vmac_prefix",
    }),
    disable_local_igmp: value(flag, false, { doc: "stop the kernel sending IGMP/MLD for VMACs" }),
    vrrp_rx_bufs_policy: optional(rxBufsPolicy, {
      doc: "receive buffer sizing: MTU, ADVERT or bytes",
    }),
    vrrp_rx_bufs_multiplier: value(int(1, UINT32_MAX), 3, {
      doc: "multiplier for vrrp_rx_bufs_policy",
    }),
    vrrp_netlink_cmd_rcv_bufs: value(rcvBufs, 0, {
      doc: "netlink command socket buffer (bytes; 0 kernel)",
    }),
    vrrp_netlink_cmd_rcv_bufs_force: value(optBool, false, {
      doc: "force the buffer size beyond rmem_max",
    }),
    vrrp_netlink_monitor_rcv_bufs: value(rcvBufs, 0, {
      doc: "netlink monitor socket buffer (bytes)",
    }),
    vrrp_netlink_monitor_rcv_bufs_force: value(optBool, false, {
      doc: "force the buffer size beyond rmem_max",
    }),
    process_monitor_rcv_bufs: value(rcvBufs, 0, { doc: "process monitor socket buffer (bytes)" }),
    process_monitor_rcv_bufs_force: value(optBool, false, {
      doc: "force the buffer size beyond rmem_max",
    }),
    lvs_netlink_cmd_rcv_bufs: value(rcvBufs, 0, {
      doc: "checker netlink command socket buffer (bytes)",
    }),
    lvs_netlink_cmd_rcv_bufs_force: value(optBool, false, {
      doc: "force the buffer size beyond rmem_max",
    }),
    lvs_netlink_monitor_rcv_bufs: value(rcvBufs, 0, {
      doc: "checker netlink monitor socket buffer (bytes)",
    }),
    lvs_netlink_monitor_rcv_bufs_force: value(optBool, false, {
      doc: "force the buffer size beyond rmem_max",
    }),
    // Processes.
    ...processFields("vrrp", "VRRP"),
    ...processFields("checker", "checker"),
    ...processFields("bfd", "BFD"),
    process_names: value(flag, false, { doc: "name the child processes keepalived_vrrp etc." }),
    process_name: optional(processName, { doc: "name of the parent process" }),
    max_auto_priority: value(maxAutoPriority, 0, {
      doc: "[N]: raise SCHED_RR priority up to N when late",
    }),
    min_auto_priority_delay: value(int(1, 10_000_000), 1_000_000, {
      doc: "µs of lateness that counts (1 to 10000000)",
    }),
    umask: value(umaskType, 0o177, { doc: "umask for created files" }),
    random_seed: optional(int(0, UINT32_MAX), { doc: "seed for ${_RANDOM}" }),
    // Firewall.
    nftables: optional(optionalWord("keepalived", "TABLE"), {
      doc: "[TABLE]: use nftables for no_accept/VMAC rules",
    }),
    nftables_priority: value(int(INT32_MIN, INT32_MAX), -1, { doc: "nftables chain priority" }),
    nftables_counters: value(flag, false, { doc: "add counters to nftables rules" }),
    nftables_ifindex: value(flag, false, { doc: "match interfaces by index in nftables rules" }),
    nftables_ipvs: optional(optionalWord("keepalived_ipvs", "TABLE"), {
      doc: "[TABLE]: fwmark rules for groups",
    }),
    nftables_ipvs_priority: value(int(INT32_MIN, INT32_MAX), -1, {
      doc: "nftables chain priority for IPVS rules",
    }),
    nftables_ipvs_start_fwmark: value(int(1, UINT32_MAX), 1000, { doc: "first automatic fwmark" }),
    vrrp_iptables: optional(iptablesChains, { doc: "[IN [OUT]]: use iptables chains" }),
    vrrp_ipsets: optional(optionalWords, { doc: "[NAMES…]: ipsets for iptables rules" }),
    // Configuration handling.
    include_check: optional(includeCheck, { doc: "default checks of include (no option: all)" }),
    reload_check_config: optional(optionalWord("/dev/null", "LOGFILE"), {
      doc: "check the configuration before reloading",
    }),
    reload_time_file: optional(pathType({ absolute: true, file: true }), {
      doc: "file holding the time of a scheduled reload",
    }),
    reload_repeat: value(flag, false, { doc: "repeat the scheduled reload daily" }),
    reload_file: optional(optionalWord("", "PATH"), {
      doc: "[PATH]: reload request file (empty: default location)",
    }),
    config_save_dir: optional(pathType({ what: "directory" }), {
      doc: "keep a copy of each configuration read",
    }),
    tmp_config_directory: optional(pathType({ what: "directory" }), {
      doc: "where the consolidated configuration goes",
    }),
    data_use_instance: value(optBool, false, { doc: "add namespace/instance to dump file names" }),
    json_version: value(int(1, 2), 1, { doc: "format of the JSON dump" }),
    state_dump_file: optional(dumpFile, { doc: "SIGUSR1 data dump file (or DIR/)" }),
    stats_dump_file: optional(dumpFile, { doc: "SIGUSR2 statistics dump file (or DIR/)" }),
    json_dump_file: optional(dumpFile, { doc: "SIGJSON dump file (or DIR/)" }),
    iproute_usr_dir: optional(pathType({ what: "directory" }), {
      doc: "iproute2 tables shipped with the system",
    }),
    iproute_etc_dir: optional(pathType({ what: "directory" }), {
      doc: "iproute2 tables of the administrator",
    }),
    // Checker side (spec/lvs.md §1.14).
    lvs_flush: value(flag, false, { doc: "flush IPVS at start" }),
    lvs_flush_on_stop: optional(lvsFlushOnStop, {
      doc: "[VS]: flush IPVS (or only kad's services) at stop",
    }),
    lvs_timeouts: optional(lvsTimeouts, { doc: "tcp|tcpfin|udp SECS: IPVS connection timeouts" }),
    lvs_sync_daemon: optional(lvsSyncDaemon, { doc: "IPVS connection sync daemon" }),
    checker_log_all_failures: value(optBool, false, { doc: "log every checker failure" }),
    no_checker_emails: value(optBool, false, {
      doc: "e-mail only when a real server changes state",
    }),
    rs_init_notifies: value(optBool, false, { doc: "notify real servers that start alive" }),
  },
  aliases: {
    vrrp_vmac_garp_intvl: "deprecated:vrrp_garp_extra_if",
    vrrp_rlimit_rtime: "deprecated:vrrp_rlimit_rttime",
    lvs_flush_onstop: "deprecated:lvs_flush_on_stop",
    state_file_location: "state_dump_file",
    stats_file_location: "stats_dump_file",
    json_file_location: "json_dump_file",
  },
  ignored: {
    enable_snmp_vrrp: "kad has no SNMP agent",
    enable_snmp_keepalived: "kad has no SNMP agent",
    enable_snmp_checker: "kad has no SNMP agent",
    enable_snmp_rfc: "kad has no SNMP agent",
    enable_snmp_rfcv2: "kad has no SNMP agent",
    enable_snmp_rfcv3: "kad has no SNMP agent",
    enable_traps: "kad has no SNMP agent",
    snmp_socket: "kad has no SNMP agent",
    snmp_vs_stats_update_interval: "kad has no SNMP agent",
    snmp_rs_stats_update_interval: "kad has no SNMP agent",
    enable_dbus: "kad has no DBus interface; use the control socket",
    enable_dbus_create_instance: "kad has no DBus interface; use the control socket",
    dbus_service_name: "kad has no DBus interface; use the control socket",
  },
  validate(g, ctx) {
    const written = (k: string) => Object.hasOwn(g.$loc, k);
    // vrrp_min_garp: one round, no second burst, no refresh, where not set explicitly (§3.11).
    if (g.vrrp_min_garp) {
      if (!written("vrrp_garp_master_repeat")) g.vrrp_garp_master_repeat = 1;
      if (!written("vrrp_garp_master_delay")) g.vrrp_garp_master_delay = 0;
      if (!written("vrrp_garp_master_refresh")) g.vrrp_garp_master_refresh = 0;
    }
    if (!written("vrrp_garp_lower_prio_delay")) {
      g.vrrp_garp_lower_prio_delay = g.vrrp_garp_master_delay;
    }
    if (!written("vrrp_garp_lower_prio_repeat")) {
      g.vrrp_garp_lower_prio_repeat = g.vrrp_garp_master_repeat;
    }
    if (!written("vmac_addr_prefix")) g.vmac_addr_prefix = g.vmac_prefix;
    // IPv6 adverts are link-local (ffX2::/16).
    const g6 = parseIp(g.vrrp_mcast_group6);
    if (
      written("vrrp_mcast_group6") && g6 !== undefined && ((g6.bytes[1] as number) & 0x0f) !== 2
    ) {
      ctx.sink.warn(
        `vrrp_mcast_group6 '${g.vrrp_mcast_group6}' is not a link-local scope group (ffX2::); adverts may be routed or dropped`,
        ctx.at(g, "vrrp_mcast_group6"),
        "vrrp_mcast_group6",
      );
    }
    // spec/vrrp.md §5.2: when both name the same FIFO, the VRRP one is dropped.
    if (g.notify_fifo !== undefined && g.vrrp_notify_fifo?.path === g.notify_fifo.path) {
      ctx.sink.warn(
        `vrrp_notify_fifo '${g.vrrp_notify_fifo.path}' is also notify_fifo; ignoring vrrp_notify_fifo (notify_fifo already receives VRRP events)`,
        ctx.at(g, "vrrp_notify_fifo"),
        "vrrp_notify_fifo",
      );
      g.vrrp_notify_fifo = undefined;
      delete g.$loc.vrrp_notify_fifo;
    }
  },
});

/** The global_defs model. */
export type GlobalDefs = InferSchema<typeof globalDefs>;
