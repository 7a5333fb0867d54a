/**
 * Benchmark: VRRP failover time and steady-state cost, `kad run` next to keepalived 2.2.7
 * in the same run (root; Debian's keepalived, iproute2 and tcpdump).
 *
 * Failover: two routers on a bridge in network namespaces (VRRPv3, priorities 200 and
 * 100). The MASTER is killed with SIGKILL at a random point of its advert interval; the
 * time measured is from the last advert the BACKUP received (tcpdump's kernel timestamp
 * on the BACKUP) to the VIP appearing on the BACKUP (`ip -ts monitor address`). The
 * formula's value is the BACKUP's Master_Down_Interval, 3 × advert_int + Skew_Time
 * (spec/vrrp.md §3.2). Each interval (1, 0.1 and 0.01 s) runs RUNS times per
 * implementation, alternating which goes first; the median and the spread are reported.
 *
 * Cost: one process running 255 instances at 0.1 s adverts, all MASTER (2,550 adverts a
 * second): CPU over a measuring window (utime + stime from /proc) and RSS (VmRSS), and the
 * RSS of one instance, giving the RSS per added instance.
 *
 * Usage: deno run -A bench/vrrp_failover.ts [--failover-only] [--intervals=1,0.1,0.01]
 *        [RUNS [WINDOW_S]]   (default 7 runs and a 20 s window)
 * Prints Markdown tables for bench/README.md ("VRRP failover").
 */
import { Lab, type Netns, type SpawnedProcess, waitFor } from "../tests/harness/netns.ts";
import { Files, KAD, KEEPALIVED, lan, type Router } from "../tests/netns/_vrrp_lab.ts";
import { masterDownIntervalUs } from "../lib/vrrp/timers.ts";

const USAGE =
  "usage: deno run -A bench/vrrp_failover.ts [--failover-only | --cost-only] [--intervals=1,0.1,0.01] [--against-kad=DIR] [RUNS [WINDOW_S]]";
// The command line is this script's own (bench/auth_hmac.ts imports `cpuTicks`).
const args = import.meta.main ? Deno.args : [];
const flags = args.filter((a) => a.startsWith("--"));
const positional = args.filter((a) => !a.startsWith("--"));
const runs = Number(positional[0] ?? "7");
const windowS = Number(positional[1] ?? "20");
const failoverOnly = flags.includes("--failover-only");
const costOnly = flags.includes("--cost-only");
/**
 * `--against-kad=DIR`: measure DIR/kad (another checkout, e.g. a git worktree of the previous
 * commit) in keepalived's place, for an A/B of a kad change under the same load.
 */
const againstFlag = flags.find((f) => f.startsWith("--against-kad="));
const AGAINST_KAD = againstFlag?.slice("--against-kad=".length).replace(/\/$/, "");
const OTHER = AGAINST_KAD === undefined ? "keepalived" : `kad@${AGAINST_KAD}`;
const intervalsFlag = flags.find((f) => f.startsWith("--intervals="));
const INTERVALS_S = intervalsFlag === undefined
  ? [1, 0.1, 0.01]
  : intervalsFlag.slice("--intervals=".length).split(",").map(Number);
const unknown = flags.filter((f) =>
  f !== "--failover-only" && f !== "--cost-only" && !f.startsWith("--intervals=") &&
  !f.startsWith("--against-kad=")
);
if (
  !(runs >= 1) || !(windowS >= 1) || unknown.length > 0 ||
  !INTERVALS_S.every((s) => s >= 0.01 && s <= 40.95)
) {
  console.error(USAGE);
  Deno.exit(2);
}

type Impl = "kad" | "keepalived";
const IMPLS: readonly Impl[] = ["kad", "keepalived"];
const VIP = "192.0.2.100";
const BACKUP_PRIORITY = 100;
/** The target: the failover median within this of the formula at every interval. */
const TARGET_MS = 2;

const GLOBALS = `global_defs {
  vrrp_garp_master_delay 0
  vrrp_garp_master_repeat 1
}
`;

function instance(vrid: number, priority: number, advertS: number, vip: string): string {
  return `vrrp_instance VI_${vrid} {
  state BACKUP
  interface eth0
  virtual_router_id ${vrid}
  priority ${priority}
  version 3
  advert_int ${advertS}
  virtual_ipaddress {
    ${vip}
  }
}
`;
}

/** Starts one implementation with `conf` in `r`'s namespace. */
async function start(impl: Impl, r: Router, files: Files, conf: string): Promise<SpawnedProcess> {
  const tag = `${r.ns.label}-${impl}-${crypto.randomUUID().slice(0, 8)}`;
  const path = await files.write(`${tag}.conf`, conf);
  if (impl === "kad" || AGAINST_KAD !== undefined) {
    const kad = impl === "kad" ? KAD : `${AGAINST_KAD}/kad`;
    // Each node its own control socket: the namespaces share the file system.
    return r.ns.spawn([kad, "-f", path, "run", "--control-socket", files.path(`${tag}.sock`)]);
  }
  return r.ns.spawn([
    KEEPALIVED,
    "-n",
    "-l",
    "-P",
    "-f",
    path,
    "-p",
    files.path(`${tag}.pid`),
    "-r",
    files.path(`${tag}.vrrp.pid`),
  ]);
}

async function addresses(ns: Netns): Promise<Set<string>> {
  return new Set((await ns.addresses("eth0")).map((a) => a.address));
}

/** Epoch µs of `ip -ts monitor`'s "[2024-05-01T12:34:56.123456]" (local time). */
function monitorTimeUs(stamp: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})$/.exec(stamp);
  if (m === null) throw new Error(`Unexpected ip monitor timestamp '${stamp}'`);
  return new Date(`${m[1]}`).getTime() * 1000 + Number(m[2]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One failover: ms from the last advert the BACKUP heard to the VIP on the BACKUP. */
async function failover(
  impl: Impl,
  master: Router,
  backup: Router,
  files: Files,
  advertS: number,
): Promise<number> {
  for (const r of [master, backup]) {
    await r.ns.run(["ip", "addr", "del", `${VIP}/24`, "dev", "eth0"]);
  }
  const pm = await start(impl, master, files, GLOBALS + instance(51, 200, advertS, `${VIP}/24`));
  await waitFor(async () => (await addresses(master.ns)).has(VIP), 20_000, {
    what: `${impl} MASTER`,
  });
  const pb = await start(
    impl,
    backup,
    files,
    GLOBALS + instance(51, BACKUP_PRIORITY, advertS, `${VIP}/24`),
  );
  await pb.waitForOutput(/Entering BACKUP STATE/, 20_000);
  const dump = backup.ns.spawn([
    "tcpdump",
    "-i",
    "eth0",
    "-n",
    "-l",
    "-tt",
    "--immediate-mode",
    `ip proto 112 and src ${master.ip4}`,
  ]);
  await dump.waitForOutput(/listening on/, 5_000);
  const monitor = backup.ns.spawn(["ip", "-ts", "monitor", "address", "dev", "eth0"]);
  await sleep(Math.max(1_000, 5 * advertS * 1000) + Math.random() * advertS * 1000);
  const killedAt = (performance.timeOrigin + performance.now()) * 1000;
  pm.signal("SIGKILL", { group: true });
  const added = await monitor.waitForOutput(
    new RegExp(`^\\[([^\\]]+)\\].*inet ${VIP.replaceAll(".", "\\.")}/`, "m"),
    20_000,
  );
  const vipAt = monitorTimeUs(/^\[([^\]]+)\]/.exec(added)![1]!);
  await sleep(50);
  await dump.kill();
  await monitor.kill();
  await pm.kill();
  await pb.kill({ graceMs: 500 });
  const adverts = dump.stdout.split("\n")
    .map((l) => /^(\d+\.\d{6}) /.exec(l)?.[1])
    .filter((t): t is string => t !== undefined)
    .map((t) => Math.round(Number(t) * 1e6))
    .filter((t) => t <= killedAt);
  const last = adverts.at(-1);
  if (last === undefined) throw new Error(`${impl}: tcpdump saw no advert from the MASTER`);
  return (vipAt - last) / 1000;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(1) : ms.toFixed(2);
}

/** Ticks of CPU (utime + stime) of a process. */
export async function cpuTicks(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

async function rssKb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
}

/** The pid doing the VRRP work: kad's own process, keepalived's VRRP child. */
async function workerPid(impl: Impl, p: SpawnedProcess, files: Files): Promise<number> {
  if (impl === "kad" || AGAINST_KAD !== undefined) return p.pid;
  const pidFile = p.command[p.command.indexOf("-r") + 1]!;
  return await waitFor(
    async () => {
      try {
        const n = parseInt(await Deno.readTextFile(pidFile), 10);
        return Number.isInteger(n) && n > 0 ? n : undefined;
      } catch {
        return undefined;
      }
    },
    10_000,
    { what: `keepalived's VRRP pid in ${files.dir}` },
  );
}

function vipOf(i: number): string {
  return i <= 254 ? `198.51.100.${i}/32` : `203.0.113.${i - 254}/32`;
}

/** CPU % and RSS of one process running `n` MASTER instances at 0.1 s. */
async function cost(
  impl: Impl,
  n: number,
  measureS: number,
): Promise<{ cpu: number; rss: number; sentPerS: number }> {
  await using lab = await Lab.create(`bench-cost-${impl}`);
  await using files = await Files.create();
  const [r] = (await lan(lab, { routers: 1 })).routers as [Router];
  let conf = GLOBALS;
  for (let i = 1; i <= n; i++) conf += instance(i, 100, 0.1, vipOf(i));
  const p = await start(impl, r, files, conf);
  await waitFor(async () => (await r.ns.addresses("eth0")).length >= n + 1, 60_000, {
    what: `${n} VIPs of ${impl}`,
    intervalMs: 200,
  });
  const pid = await workerPid(impl, p, files);
  await sleep(2_000);
  const hz = 100;
  const t0 = performance.now();
  const c0 = await cpuTicks(pid);
  const s0 = await txPackets(r.ns);
  await sleep(measureS * 1000);
  const c1 = await cpuTicks(pid);
  const s1 = await txPackets(r.ns);
  const elapsed = (performance.now() - t0) / 1000;
  const rss = await rssKb(pid);
  await p.kill();
  return { cpu: ((c1 - c0) / hz / elapsed) * 100, rss, sentPerS: (s1 - s0) / elapsed };
}

/** Packets eth0 has sent (so that both implementations are seen doing the same work). */
async function txPackets(ns: Netns): Promise<number> {
  const out = await ns.ip(["-j", "-s", "link", "show", "dev", "eth0"]);
  const link = JSON.parse(out)[0] as { stats64: { tx: { packets: number } } };
  return link.stats64.tx.packets;
}

async function failovers(): Promise<void> {
  const results = new Map<string, number[]>();
  for (const advertS of INTERVALS_S) {
    await using lab = await Lab.create("bench-failover");
    await using files = await Files.create();
    const [a, b] = (await lan(lab)).routers as [Router, Router];
    for (let i = 0; i < runs; i++) {
      const order = i % 2 === 0 ? IMPLS : [...IMPLS].reverse();
      for (const impl of order) {
        const ms = await failover(impl, a, b, files, advertS);
        const key = `${impl} ${advertS}`;
        results.set(key, [...(results.get(key) ?? []), ms]);
        console.error(
          `${impl === "kad" ? "kad" : OTHER} advert_int ${advertS} s run ${i + 1}: ${fmt(ms)} ms`,
        );
      }
    }
  }
  console.log(`\nFailover, ${runs} runs each (ms from the last advert heard to the VIP):\n`);
  console.log(
    `| advert_int | formula ms | kad median | kad min–max | kad − formula | ${OTHER} median | ${OTHER} min–max | ${OTHER} − formula |`,
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  let met = true;
  for (const advertS of INTERVALS_S) {
    const formula = masterDownIntervalUs(3, BACKUP_PRIORITY, advertS * 1e6, 3) / 1000;
    const cells = [`${advertS} s`, fmt(formula)];
    for (const impl of IMPLS) {
      const xs = results.get(`${impl} ${advertS}`)!;
      const med = median(xs);
      if (impl === "kad" && Math.abs(med - formula) > TARGET_MS) met = false;
      cells.push(
        fmt(med),
        `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`,
        `${med - formula >= 0 ? "+" : ""}${fmt(med - formula)}`,
      );
    }
    console.log(`| ${cells.join(" | ")} |`);
  }
  console.log(
    `\nTarget (kad's median within ${TARGET_MS} ms of the formula at every interval): ${
      met ? "met" : "NOT met"
    }`,
  );
}

async function main(): Promise<void> {
  if (!costOnly) await failovers();
  if (failoverOnly) return;
  console.log(
    `\nSteady state, one process, instances at 0.1 s, all MASTER (${windowS} s window):\n`,
  );
  console.log(
    "| implementation | CPU % (255 instances) | adverts sent/s | RSS MB (255) | RSS MB (1) | RSS KB per added instance |",
  );
  console.log("| --- | --- | --- | --- | --- | --- |");
  const cpus: Record<string, number> = {};
  for (const impl of IMPLS) {
    const one = await cost(impl, 1, 3);
    const all = await cost(impl, 255, windowS);
    cpus[impl] = all.cpu;
    console.log(
      `| ${impl === "kad" ? "kad" : OTHER} | ${all.cpu.toFixed(1)} | ${all.sentPerS.toFixed(0)} | ${
        (all.rss / 1024).toFixed(1)
      } | ${(one.rss / 1024).toFixed(1)} | ${((all.rss - one.rss) / 254).toFixed(1)} |`,
    );
  }
  console.log(
    `\nCPU kad/${OTHER}: ${(cpus.kad! / cpus.keepalived!).toFixed(2)}${
      AGAINST_KAD === undefined ? " (target: no more than keepalived)" : ""
    }`,
  );
}

if (import.meta.main) await main();
