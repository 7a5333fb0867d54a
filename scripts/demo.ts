/**
 * `make demo`: two `kad run` routers in network namespaces on one bridge, a client beside
 * them, and an embedded default configuration (VRRPv3, advert_int 1 s, priorities 150 and
 * 100). It shows which router is MASTER and owns the VIP, kills the MASTER with SIGKILL,
 * measures how long the BACKUP took — from the last advert it heard to the VIP appearing
 * on its interface, both timestamped by the kernel — prints that next to the formula's
 * Master_Down_Interval (spec/vrrp.md §3.2), and removes everything. Needs root, iproute2
 * and tcpdump (`make deps`).
 */
import { Lab, type Netns, type SpawnedProcess, waitFor } from "../tests/harness/netns.ts";
import { masterDownIntervalUs, skewUs } from "../lib/vrrp/timers.ts";

const KAD = new URL("../kad", import.meta.url).pathname;
const VIP = "192.0.2.100";
const ADVERT_INT_S = 1;
const BACKUP_PRIORITY = 100;

/** The embedded default configuration; `PRIORITY` is filled in per router. */
const DEFAULT_CONFIG = `global_defs {
    vrrp_garp_master_delay 1
}

vrrp_instance VI_DEMO {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority PRIORITY
    version 3
    advert_int ${ADVERT_INT_S}
    virtual_ipaddress {
        ${VIP}/24
    }
}
`;

function say(text: string): void {
  console.log(text);
}

/** Epoch µs of `ip -ts monitor`'s "[2024-05-01T12:34:56.123456]" (local time). */
function monitorTimeUs(stamp: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})$/.exec(stamp);
  if (m === null) throw new Error(`Unexpected ip monitor timestamp '${stamp}'`);
  return new Date(`${m[1]}`).getTime() * 1000 + Number(m[2]);
}

async function vipOwner(routers: readonly Netns[]): Promise<Netns | undefined> {
  for (const ns of routers) {
    const has = (await ns.addresses("eth0")).some((a) => a.address === VIP);
    if (has) return ns;
  }
  return undefined;
}

async function main(): Promise<number> {
  if (Deno.uid() !== 0) {
    say("make demo needs root (network namespaces); run it as root or with sudo");
    return 1;
  }
  const dir = await Deno.makeTempDir({ prefix: "kad-demo-" });
  await using lab = await Lab.create("demo");
  try {
    say("Building the lab: routers r1 and r2 and a client on one bridge (192.0.2.0/24)");
    const sw = await lab.namespace({ label: "switch" });
    const bridge = await lab.bridge(sw);
    const node = async (label: string, host: number): Promise<Netns> => {
      const ns = await lab.namespace({ label });
      const pair = await lab.vethPair(ns, sw, { nameA: "eth0", addrA: `192.0.2.${host}/24` });
      await lab.attach(sw, pair.b.ifname, bridge);
      return ns;
    };
    const r1 = await node("r1", 11);
    const r2 = await node("r2", 12);
    const client = await node("client", 10);

    const kads = new Map<Netns, SpawnedProcess>();
    for (const [ns, priority] of [[r1, 150], [r2, BACKUP_PRIORITY]] as const) {
      const path = `${dir}/${ns.label}.conf`;
      await Deno.writeTextFile(path, DEFAULT_CONFIG.replace("PRIORITY", String(priority)));
      say(`Starting kad run on ${ns.label} (priority ${priority})`);
      // Each node its own control socket: they share the file system.
      kads.set(
        ns,
        ns.spawn([KAD, "-f", path, "run", "--control-socket", `${dir}/${ns.label}.sock`]),
      );
    }
    const master = await waitFor(() => vipOwner([r1, r2]), 15_000, { what: "a MASTER" });
    const backup = master === r1 ? r2 : r1;
    say(`\n${master.label} is MASTER and owns ${VIP}; ${backup.label} is BACKUP`);
    say(`client pings ${VIP}: ${(await client.ping(VIP)) ? "answered" : "no answer"}`);

    // Kernel timestamps on the BACKUP: adverts it receives, and the VIP being added.
    const masterIp = master === r1 ? "192.0.2.11" : "192.0.2.12";
    const dump = backup.spawn([
      "tcpdump",
      "-i",
      "eth0",
      "-n",
      "-l",
      "-tt",
      `ip proto 112 and src ${masterIp}`,
    ]);
    await dump.waitForOutput(/listening on/, 5_000);
    const monitor = backup.spawn(["ip", "-ts", "monitor", "address", "dev", "eth0"]);
    await new Promise((r) => setTimeout(r, 2_500));

    say(`\nKilling kad on ${master.label} with SIGKILL (no priority-0 advert: a crash)`);
    const killedAt = Date.now() * 1000;
    kads.get(master)!.signal("SIGKILL", { group: true });
    const added = await monitor.waitForOutput(
      new RegExp(`^\\[([^\\]]+)\\].*inet ${VIP.replaceAll(".", "\\.")}/`, "m"),
      15_000,
    );
    const vipAt = monitorTimeUs(/^\[([^\]]+)\]/.exec(added)![1]!);
    await dump.kill();
    const adverts = dump.stdout.split("\n")
      .map((l) => /^(\d+\.\d{6}) /.exec(l)?.[1])
      .filter((t): t is string => t !== undefined)
      .map((t) => Math.round(Number(t) * 1e6))
      .filter((t) => t <= killedAt);
    const lastAdvert = adverts.at(-1);
    say(`${backup.label} is MASTER and owns ${VIP}`);
    say(`client pings ${VIP}: ${(await client.ping(VIP)) ? "answered" : "no answer"}`);

    const mdi = masterDownIntervalUs(3, BACKUP_PRIORITY, ADVERT_INT_S * 1e6, 3);
    const skew = skewUs(3, BACKUP_PRIORITY, ADVERT_INT_S * 1e6);
    say("\nTakeover time");
    if (lastAdvert !== undefined) {
      const took = (vipAt - lastAdvert) / 1e6;
      say(`  measured: ${took.toFixed(4)} s from the last advert ${backup.label} heard to the VIP`);
    }
    say(
      `  formula:  ${
        (mdi / 1e6).toFixed(4)
      } s = Master_Down_Interval = 3 × ${ADVERT_INT_S} s + Skew_Time ${
        (skew / 1e6).toFixed(4)
      } s ((256 − ${BACKUP_PRIORITY}) / 256 × ${ADVERT_INT_S} s)`,
    );
    say(
      `  (from the kill: ${
        ((vipAt - killedAt) / 1e6).toFixed(4)
      } s; the kill lands anywhere in the advert interval)`,
    );
    await monitor.kill();
    for (const p of kads.values()) await p.kill();
    say("\nRemoving the lab");
    return 0;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) Deno.exit(await main());
