/**
 * keepalived.json, the file keepalived writes on its JSON signal (spec/vrrp.md §6.5), so
 * that tools written for keepalived read kad's: `json_version 1` is an array with one
 * `{"data":{…},"stats":{…}}` object per instance, `json_version 2` the same array under
 * `"vrrp"`. Members appear in keepalived's order with its types (0/1 integers where it
 * writes them, booleans where it writes those, seconds as numbers), and `/` is escaped as
 * `\/` as keepalived's JSON writer does. Single line, no trailing newline.
 *
 * Pure: built from the engine's `InstanceSource`s and the configuration the daemon runs.
 * Deliberate differences (docs/dump.md): `auth_data` is always `"********"` (keepalived
 * 2.2.7 writes the password itself), `vroutes`/`vrules` are kad's configuration text, and
 * version 2 has no `track_process` array (kad does not run track processes yet).
 */
import type { KadConfig } from "../config/schema/root.ts";
import type { IpAddressEntry } from "../config/schema/vrrp_address.ts";
import type { VrrpInstance } from "../config/schema/vrrp_instance.ts";
import { virtualRouteLine } from "../config/schema/vrrp_route.ts";
import { virtualRuleLine } from "../config/schema/vrrp_rule.ts";
import { SECRET_MASK } from "../config/schema.ts";
import type { ScriptCommand } from "../config/types.ts";
import { formatIp, parseIp } from "../net/ipaddr.ts";
import { statsJson } from "./counters.ts";
import { type Clock, type InstanceSource, STATE_CODES } from "./snapshot.ts";

/** What the writer needs of the running configuration. */
export type JsonConfig = Pick<KadConfig, "vrrp_instance" | "vrrp_script">;

/** keepalived's `cmd_str`: each argument single-quoted, separated by spaces. */
export function commandLine(s: ScriptCommand): string {
  return s.argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
}

/** keepalived's `%g`: at most six significant digits, no trailing zeros. */
function g(x: number): number {
  return Number(x.toPrecision(6));
}

function bit(b: boolean): 0 | 1 {
  return b ? 1 : 0;
}

/** The broadcast address of an IPv4 entry, as the kernel gets it (`+`/`-` computed). */
function broadcast(e: IpAddressEntry): string | undefined {
  if (e.family !== 4 || e.broadcast === undefined) return undefined;
  if (e.broadcast !== "+" && e.broadcast !== "-") return e.broadcast;
  const ip = parseIp(e.address);
  if (ip === undefined) return undefined;
  const v = ((ip.bytes[0] as number) << 24 | (ip.bytes[1] as number) << 16 |
    (ip.bytes[2] as number) << 8 | (ip.bytes[3] as number)) >>> 0;
  const host = e.prefix >= 32 ? 0 : (0xffffffff >>> e.prefix);
  const b = e.broadcast === "+" ? (v | host) >>> 0 : (v & ~host) >>> 0;
  return formatIp({
    family: 4,
    bytes: new Uint8Array([b >>> 24, b >>> 16 & 255, b >>> 8 & 255, b & 255]),
  });
}

/**
 * keepalived's address text (`format_ipaddress`, 2.2.7): `ADDR[/LEN] [brd B] dev IF scope S
 * [label L] [peer P]`, the length omitted for a host address, ` set` when installed.
 */
export function addressText(e: IpAddressEntry, dev: string, installed: boolean): string {
  const max = e.family === 4 ? 32 : 128;
  let out = e.address;
  if (e.peer === undefined && e.prefix !== max) out += `/${e.prefix}`;
  const brd = broadcast(e);
  if (brd !== undefined) out += ` brd ${brd}`;
  const scope = e.scope ?? (e.family === 6 && e.address.startsWith("fe80:") ? "link" : "global");
  out += ` dev ${e.dev ?? dev} scope ${scope}`;
  if (e.label !== undefined) out += ` label ${e.label}`;
  if (e.peer !== undefined) out += ` peer ${e.peer}/${e.prefix}`;
  if (installed) out += " set";
  return out;
}

function dataObject(
  src: InstanceSource,
  inst: VrrpInstance | undefined,
  config: JsonConfig,
  clock: Clock,
): Record<string, unknown> {
  const spec = src.spec;
  const f = src.fsm;
  const s = f.settings;
  const d: Record<string, unknown> = {
    iname: spec.name,
    dont_track_primary: bit(s.dontTrackPrimary),
    skip_check_adv_addr: bit(spec.skipCheckAdvAddr),
    strict_mode: bit(inst?.strict_mode ?? false),
    vmac_ifname: "",
  };
  if (spec.interface !== undefined) d["ifp_ifname"] = spec.interface;
  const lastWall = src.lastTransitionUs === null
    ? 0
    : clock.wallMs / 1000 - (clock.nowUs - src.lastTransitionUs) / 1e6;
  Object.assign(d, {
    master_priority: f.masterPriority ?? 0,
    last_transition: Number(lastWall.toFixed(6)),
    garp_delay: g(s.garp.masterDelayUs / 1e6),
    garp_refresh: Math.floor(s.garp.masterRefreshUs / 1e6),
    garp_rep: s.garp.masterRepeat,
    garp_refresh_rep: s.garp.masterRefreshRepeat,
    garp_lower_prio_delay: Math.floor(s.garp.lowerPrioDelayUs / 1e6),
    garp_lower_prio_rep: s.garp.lowerPrioRepeat,
    lower_prio_no_advert: bit(s.lowerPrioNoAdvert),
    higher_prio_send_advert: bit(s.higherPrioSendAdvert),
    vrid: spec.vrid,
    base_priority: s.priority,
    effective_priority: f.effectivePriority,
    vipset: src.installed,
    promote_secondaries: inst?.promote_secondaries ?? false,
    adver_int: g(s.advertIntUs / 1e6),
    master_adver_int: g(f.masterAdverIntUs / 1e6),
    accept: bit(s.accept),
    nopreempt: s.nopreempt,
    preempt_delay: Math.floor(s.preemptDelayUs / 1e6),
    state: STATE_CODES[f.state],
    wantstate: STATE_CODES[f.wantState],
    version: spec.version,
    smtp_alert: inst?.smtp_alert ?? false,
    notify_deleted: inst?.notify_deleted !== undefined,
  });
  const scripts: ReadonlyArray<readonly [string, ScriptCommand | true | undefined]> = [
    ["script_backup", inst?.notify_backup],
    ["script_master", inst?.notify_master],
    ["script_fault", inst?.notify_fault],
    ["script_stop", inst?.notify_stop],
    ["script_deleted", inst?.notify_deleted],
    ["script", inst?.notify],
    ["script_master_rx_lower_pri", inst?.notify_master_rx_lower_pri],
  ];
  for (const [key, cmd] of scripts) {
    if (cmd !== undefined && cmd !== true) d[key] = commandLine(cmd);
  }
  const dev = spec.interface ?? "";
  const list = (key: string, values: string[]) => {
    if (values.length > 0) d[key] = values;
  };
  list("vips", spec.advertised.map((e) => addressText(e, dev, src.installed)));
  list("evips", spec.excluded.map((e) => addressText(e, dev, src.installed)));
  list("vroutes", spec.routes.map((r) => virtualRouteLine.print(r).join(" ")));
  list("vrules", spec.rules.map((r) => virtualRuleLine.print(r).join(" ")));
  const tracked = (kind: string) => spec.trackers.filter((t) => t.kind === kind);
  list("track_ifp", tracked("interface").map((t) => t.name));
  list(
    "track_script",
    tracked("script").map((t) => {
      const cmd = config.vrrp_script.find((v) => v.header === t.name)?.script;
      return cmd === undefined ? t.name : commandLine(cmd);
    }),
  );
  list("track_process", tracked("process").map((t) => t.name));
  const authType = src.auth.type === "pass" ? 1 : src.auth.type === "ah" ? 2 : 0;
  d["auth_type"] = authType;
  // keepalived writes the password itself here; kad never writes a secret (docs/dump.md).
  if (authType !== 0) d["auth_data"] = SECRET_MASK;
  return d;
}

/**
 * keepalived.json's content (§6.5) for `json_version` 1 or 2.
 *
 * @example
 * ```ts ignore
 * const text = keepalivedJson(engine.instanceSources(), config, clock, 1);
 * JSON.parse(text)[0].data.iname; // "VI_1"
 * ```
 */
export function keepalivedJson(
  sources: readonly InstanceSource[],
  config: JsonConfig,
  clock: Clock,
  version: 1 | 2,
): string {
  const array = sources.map((src) => ({
    data: dataObject(
      src,
      config.vrrp_instance.find((i) => i.header === src.spec.name),
      config,
      clock,
    ),
    stats: statsJson(src.counters),
  }));
  const doc = version === 2 ? { vrrp: array } : array;
  // keepalived's writer escapes '/', which only ever occurs inside strings.
  return JSON.stringify(doc).replaceAll("/", "\\/");
}
