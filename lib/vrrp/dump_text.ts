/**
 * How `kad dump` shows the live state to a person (docs/dump.md): a table of the
 * instances, then a block per instance with its priorities, master, timers, addresses,
 * trackers, authentication and the counters that are not zero; `--stats` in keepalived's
 * keepalived.stats layout (spec/vrrp.md §6.4), so its output can be compared with the file.
 *
 * Pure: a function of the JSON documents of lib/vrrp/snapshot.ts. The text is for people
 * and may change; scripts read `--json`.
 */
import { formatStats, STATS_COUNTERS, type VrrpCounters } from "./counters.ts";
import type { DumpDocument, InstanceDump, StatsDocument } from "./snapshot.ts";

/** A duration for people: "850 ms", "12.3 s", "4m05s", "3h02m", "2d04h". */
export function durationText(ms: number): string {
  if (ms < 1000) return `${Math.round(ms * 10) / 10} ms`;
  const s = ms / 1000;
  if (s < 60) return `${Math.round(s * 10) / 10} s`;
  const two = (n: number) => String(Math.floor(n)).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${two((s % 86400) / 3600)}h`;
}

/** Lines as a table with columns padded to their widest cell. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) =>
    r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ")
  );
}

function masterText(i: InstanceDump): string {
  if (i.master.self) return `${i.master.address ?? "?"} (this node)`;
  if (i.master.address === null) return "unknown";
  return `${i.master.address} (priority ${i.master.priority ?? "?"})`;
}

function header(doc: DumpDocument | StatsDocument): string {
  const d = doc.daemon;
  const n = Object.keys(doc.instances).length;
  return `kad ${d.kad_version} (pid ${d.pid}), up ${
    durationText(d.uptime_ms)
  }, config ${d.config_file}; ${n} instance${n === 1 ? "" : "s"} shown`;
}

function instanceBlock(i: InstanceDump): string[] {
  const out: string[] = [];
  const add = (s: string) => out.push(`  ${s}`);
  const transport = i.transport.mode === "unicast"
    ? `unicast to ${i.transport.peers.join(", ")}`
    : `multicast ${i.transport.group}`;
  out.push(
    `${i.name}: ${i.state}${
      i.wantstate !== i.state ? ` (wants ${i.wantstate})` : ""
    }, VRID ${i.vrid}, VRRPv${i.version}, IPv${i.family} ${transport}`,
  );
  add(
    `priority: base ${i.priority.base}, effective ${i.priority.effective}, total ${i.priority.total}; preempt ${
      i.preempt.enabled ? "on" : "off"
    }${i.preempt.delay_ms > 0 ? ` (delay ${durationText(i.preempt.delay_ms)})` : ""}`,
  );
  add(`master: ${masterText(i)}`);
  add(
    `source: ${i.source_address ?? "none"} on ${i.interface.name ?? "(no interface)"} (${
      i.interface.up ? "up" : "down"
    })`,
  );
  add(
    `advert interval ${durationText(i.advert_interval_ms)} (master's ${
      durationText(i.master_advert_interval_ms)
    }); master down interval ${durationText(i.timers.master_down_interval_ms)}`,
  );
  const armed = Object.entries(i.timers.armed).map(([k, v]) =>
    `${k} in ${durationText(Math.max(0, v))}`
  );
  add(`timers: ${armed.length === 0 ? "none armed" : armed.join(", ")}`);
  if (i.last_transition !== null) {
    add(
      `last transition: ${i.last_transition} (${durationText(i.last_transition_age_ms ?? 0)} ago)`,
    );
  }
  add(`faults: ${i.faults.length === 0 ? "none" : i.faults.join("; ")}`);
  const addrs = (list: InstanceDump["addresses"]["vips"]) =>
    list.map((a) => `${a.text} [${a.present ? "present" : "absent"}]`).join(", ");
  const a = i.addresses;
  add(`VIPs (${a.installed ? "installed" : "not installed"}): ${addrs(a.vips) || "none"}`);
  if (a.evips.length > 0) add(`eVIPs: ${addrs(a.evips)}`);
  if (a.routes.length > 0) add(`routes: ${a.routes.join("; ")}`);
  if (a.rules.length > 0) add(`rules: ${a.rules.join("; ")}`);
  for (const t of i.trackers) {
    const status = t.up === null ? `value ${t.value}` : t.up ? "up" : "down";
    add(
      `tracker ${t.kind} ${t.name}: ${status}, weight ${t.reverse ? "reverse " : ""}${t.weight}, ${
        t.faulting ? "FAULT" : `${t.effect >= 0 ? "+" : ""}${t.effect}`
      }`,
    );
  }
  const auth = i.auth;
  let authLine = `auth: ${auth.type}`;
  if (auth.type === "hmac") {
    authLine += `, mode ${auth.mode}, active key ${auth.active_key ?? "none"}, keys ${
      (auth.keys ?? []).join(",")
    }`;
    for (const p of auth.peers ?? []) {
      authLine += `; ${p.address} signs with key ${p.key_id} (${
        durationText(p.last_seen_ms_ago)
      } ago)`;
    }
  }
  add(authLine);
  const c = i.counters;
  add(
    `adverts: sent ${c.advert_sent}, received ${c.advert_rcvd}; became master ${c.become_master}, released ${c.release_master}; priority 0 sent ${c.pri_zero_sent}, received ${c.pri_zero_rcvd}`,
  );
  const shown = new Set([
    "advert_sent",
    "advert_rcvd",
    "become_master",
    "release_master",
    "pri_zero_sent",
    "pri_zero_rcvd",
  ]);
  const errors = Object.entries(c).filter(([k, v]) => !shown.has(k) && v > 0);
  const own = Object.entries(i.errors).filter(([, v]) => v > 0).map(([k, v]) => [`${k}_failed`, v]);
  const bad = [...errors, ...own].map(([k, v]) => `${k} ${v}`);
  add(`errors: ${bad.length === 0 ? "none" : bad.join(", ")}`);
  return out;
}

/** `kad dump` without `--json`. */
export function dumpText(doc: DumpDocument): string {
  const list = Object.values(doc.instances);
  const rows: string[][] = [["INSTANCE", "STATE", "PRIORITY", "MASTER", "INTERFACE", "VIPS"]];
  for (const i of list) {
    const present = [...i.addresses.vips, ...i.addresses.evips].filter((a) => a.present).length;
    const total = i.addresses.vips.length + i.addresses.evips.length;
    rows.push([
      i.name,
      i.state,
      String(i.priority.effective),
      masterText(i),
      `${i.interface.name ?? "-"} (${i.interface.up ? "up" : "down"})`,
      `${present}/${total} present`,
    ]);
  }
  const lines = [header(doc), "", ...table(rows)];
  for (const i of list) lines.push("", ...instanceBlock(i));
  return lines.join("\n") + "\n";
}

/** `kad dump --stats` without `--json`: keepalived.stats's layout (§6.4). */
export function statsText(doc: StatsDocument): string {
  let out = "";
  for (const i of Object.values(doc.instances)) {
    const counters = {} as VrrpCounters;
    Object.assign(counters, i.counters);
    for (const k of STATS_COUNTERS) counters[k] = i.counters[k];
    out += formatStats(i.name, counters);
  }
  return out;
}
