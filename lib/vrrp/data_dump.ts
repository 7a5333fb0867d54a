/**
 * keepalived.data, the human-readable dump keepalived writes on SIGUSR1 (spec/vrrp.md
 * §6.6), in its layout so that scripts grepping it (`State = MASTER`, `Master router`,
 * `Virtual IP (n):`) keep working: sections headed `------< Title >------`, instance lines
 * indented as keepalived indents them. keepalived documents the file as not format-stable;
 * kad writes the "Global definitions" and "VRRP Topology" sections (docs/dump.md lists what
 * is left out). Passwords are written as `********` (keepalived 2.2.7 writes them).
 *
 * Pure: built from the engine's `InstanceSource`s, the configuration and a clock reading.
 */
import type { GlobalDefs } from "../config/schema/global.ts";
import { SECRET_MASK } from "../config/schema.ts";
import { virtualRouteLine } from "../config/schema/vrrp_route.ts";
import { virtualRuleLine } from "../config/schema/vrrp_rule.ts";
import { type FsmState, masterDownUs, priorityOf } from "./fsm.ts";
import { addressText, commandLine, type JsonConfig } from "./keepalived_json.ts";
import type { Clock, InstanceSource } from "./snapshot.ts";

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** keepalived's timestamp: `1795260068.092334 (Sat Nov 21 11:21:08.092334 2026)`, local time. */
export function timestampText(epochUs: number): string {
  const d = new Date(Math.floor(epochUs / 1000));
  const us = String(Math.floor(epochUs) % 1_000_000).padStart(6, "0");
  const two = (n: number) => String(n).padStart(2, "0");
  const when = `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${
    String(d.getDate()).padStart(2, " ")
  } ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${us} ${d.getFullYear()}`;
  return `${Math.floor(epochUs / 1_000_000)}.${us} (${when})`;
}

function onOff(b: boolean): string {
  return b ? "enabled" : "disabled";
}

function globalSection(g: GlobalDefs, hostname: string): string[] {
  return [
    "------< Global definitions >------",
    ` Router ID = ${g.router_id ?? hostname}`,
    ` VRRP IPv4 mcast group = ${g.vrrp_mcast_group4}`,
    ` VRRP IPv6 mcast group = ${g.vrrp_mcast_group6}`,
    ` Gratuitous ARP delay = ${Math.floor(g.vrrp_garp_master_delay / 1e6)}`,
    ` Gratuitous ARP repeat = ${g.vrrp_garp_master_repeat}`,
    ` Gratuitous ARP refresh timer = ${Math.floor(g.vrrp_garp_master_refresh / 1e6)}`,
    ` Gratuitous ARP refresh repeat = ${g.vrrp_garp_master_refresh_repeat}`,
    ` Num adverts before down = ${g.vrrp_down_timer_adverts}`,
    ` Send advert after receive lower priority advert = ${!g.vrrp_lower_prio_no_advert}`,
    ` Send advert after receive higher priority advert = ${g.vrrp_higher_prio_send_advert}`,
    ` VRRP default protocol version = ${g.vrrp_version}`,
    ` VRRP check unicast_src = ${g.vrrp_check_unicast_src}`,
    ` VRRP skip check advert addresses = ${g.vrrp_skip_check_adv_addr}`,
    ` VRRP strict mode = ${g.vrrp_strict}`,
  ];
}

function instanceSection(
  src: InstanceSource,
  config: JsonConfig,
  clock: Clock,
): string[] {
  const spec = src.spec;
  const f = src.fsm;
  const s = f.settings;
  const out: string[] = [` VRRP Instance = ${spec.name}`];
  const line = (text: string) => out.push(`   ${text}`);
  line(`VRRP Version = ${spec.version}`);
  line(`State = ${f.state}`);
  line(`Wantstate = ${f.wantState}`);
  if (src.lastTransitionUs !== null) {
    const epochUs = clock.wallMs * 1000 - (clock.nowUs - src.lastTransitionUs);
    line(`Last transition = ${timestampText(epochUs)}`);
  }
  if (f.state !== "MASTER" && f.masterAddress !== null) {
    line(`Master router = ${f.masterAddress}`);
  }
  if (f.masterPriority !== null) line(`Master priority = ${f.masterPriority}`);
  line(`Master down timer = ${masterDownUs(f as FsmState)} usecs`);
  if (spec.interface !== undefined) line(`Interface = ${spec.interface}`);
  line(`Using src_ip = ${f.sourceAddress ?? "(none)"}`);
  if (spec.peers.length > 0) {
    line(`Unicast peer${spec.peers.length > 1 ? "s" : ""} :`);
    for (const p of spec.peers) line(`  ${p.address}`);
  } else line(`Multicast address ${spec.mcastGroup}`);
  line(`Gratuitous ARP delay = ${Math.floor(s.garp.masterDelayUs / 1e6)}`);
  line(`Gratuitous ARP repeat = ${s.garp.masterRepeat}`);
  line(`Gratuitous ARP refresh = ${Math.floor(s.garp.masterRefreshUs / 1e6)}`);
  line(`Gratuitous ARP refresh repeat = ${s.garp.masterRefreshRepeat}`);
  line(`Gratuitous ARP lower priority delay = ${Math.floor(s.garp.lowerPrioDelayUs / 1e6)}`);
  line(`Gratuitous ARP lower priority repeat = ${s.garp.lowerPrioRepeat}`);
  line(`Down timer adverts = ${s.downTimerAdverts}`);
  line(`Send advert after receive lower priority advert = ${!s.lowerPrioNoAdvert}`);
  line(`Send advert after receive higher priority advert = ${s.higherPrioSendAdvert}`);
  line(`Virtual Router ID = ${spec.vrid}`);
  line(`Priority = ${s.priority}`);
  line(`Effective priority = ${f.effectivePriority}`);
  line(`Total priority = ${priorityOf(f as FsmState).total}`);
  line(
    spec.version === 3
      ? `Advert interval = ${Math.round(s.advertIntUs / 1000)} milli-sec`
      : `Advert interval = ${Math.round(s.advertIntUs / 1e6)} sec`,
  );
  line(`Accept = ${onOff(s.accept)}`);
  line(`Preempt = ${onOff(!s.nopreempt)}`);
  if (s.preemptDelayUs > 0) line(`Preempt delay = ${s.preemptDelayUs / 1e6} secs`);
  const auth = src.auth.type;
  if (auth === "pass" || auth === "ah") {
    line(`Authentication type = ${auth === "pass" ? "SIMPLE_PASSWORD" : "IPSEC_AH"}`);
    line(`Password = ${SECRET_MASK}`);
  } else if (auth === "hmac" && src.auth.hmac !== undefined) {
    const h = src.auth.hmac;
    line("Authentication extension = HMAC-SHA256-128");
    line(`Keys = ${h.keyIds.length}, active key id = ${h.activeKey ?? "none"}`);
    line(`Mode = ${h.mode}`);
    // §2.3.12: "Anti replay = time, window = <w> sec" or "Anti replay = monotonic".
    line(
      h.antiReplay === "time"
        ? `Anti replay = time, window = ${h.timeWindowS} sec`
        : "Anti replay = monotonic",
    );
  }
  const dev = spec.interface ?? "";
  const set = src.installed;
  line(`Virtual IP (${spec.advertised.length}):`);
  for (const e of spec.advertised) line(`  ${addressText(e, dev, set)}`);
  if (spec.excluded.length > 0) {
    line("Virtual IP Excluded :");
    for (const e of spec.excluded) line(`  ${addressText(e, dev, set)}`);
  }
  if (spec.routes.length > 0) {
    line("Virtual Routes :");
    for (const r of spec.routes) line(`  ${virtualRouteLine.print(r).join(" ")}`);
  }
  if (spec.rules.length > 0) {
    line("Virtual Rules :");
    for (const r of spec.rules) line(`  ${virtualRuleLine.print(r).join(" ")}`);
  }
  const trackers = spec.trackers;
  const kinds = [
    ["interface", "Tracked interfaces"],
    ["script", "Tracked scripts"],
    ["file", "Tracked files"],
    ["process", "Tracked processes"],
    ["bfd", "Tracked BFDs"],
  ] as const;
  for (const [kind, title] of kinds) {
    const list = trackers.filter((t) => t.kind === kind);
    if (list.length === 0) continue;
    line(`${title} :`);
    for (const t of list) {
      const cmd = kind === "script"
        ? config.vrrp_script.find((v) => v.header === t.name)?.script
        : undefined;
      const what = cmd === undefined ? t.name : `${t.name} (${commandLine(cmd)})`;
      line(`  ${what} weight ${t.reverse ? "reverse " : ""}${t.weight}`);
    }
  }
  return out;
}

/**
 * keepalived.data's content (§6.6), newline-terminated.
 *
 * @example
 * ```ts ignore
 * const text = dataDump(engine.instanceSources(), config, globals, clock, Deno.hostname());
 * ```
 */
export function dataDump(
  sources: readonly InstanceSource[],
  config: JsonConfig,
  globals: GlobalDefs,
  clock: Clock,
  hostname: string,
): string {
  const lines = globalSection(globals, hostname);
  lines.push("------< VRRP Topology >------");
  for (const src of sources) lines.push(...instanceSection(src, config, clock));
  return lines.join("\n") + "\n";
}
