/**
 * `kad run` nodes on one bridge in network namespaces (needs root): election, preemption,
 * `nopreempt`, `preempt_delay`, priority-0 takeover, three routers, IPv6 VIPs, unicast
 * peers, graceful shutdown (with and without `--dont-release-vrrp`), the pid file, reload
 * and the refusal of unusable configurations (spec/vrrp.md §3.3–3.10, §6.1–6.2).
 * Timers are VRRPv3 at 0.2 s unless a test says otherwise, so a takeover takes under a
 * second.
 */
import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { Lab, type SpawnedProcess, waitFor } from "../harness/netns.ts";
import {
  count,
  Files,
  hasAddress,
  instanceConf,
  KAD,
  lan,
  lastState,
  NETNS_TEST,
  settle,
  startKad,
  TEST_GLOBALS,
  waitAddress,
  waitForNth,
} from "./_vrrp_lab.ts";

const VIP = "192.0.2.100";
const MASTER = /Entering MASTER STATE/;
const BACKUP = /Entering BACKUP STATE/;

function conf(o: Parameters<typeof instanceConf>[0]): string {
  return TEST_GLOBALS + instanceConf(o);
}

Deno.test(
  "the higher priority wins the election and only the MASTER owns the VIP",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("vrrp-elect");
    await using files = await Files.create();
    const [a, b] = (await lan(lab)).routers;
    const ka = await startKad(a!, files, conf({ priority: 150 }));
    const kb = await startKad(b!, files, conf({ priority: 100 }));
    // Several master-down intervals pass without a change.
    await settle([[ka, "MASTER"], [kb, "BACKUP"]]);
    assert(await hasAddress(a!, VIP), "the MASTER must hold the VIP");
    assert(!(await hasAddress(b!, VIP)), "the BACKUP must not hold the VIP");
    assertStringIncludes(ka.output, "running the VRRP side only");
  },
);

Deno.test(
  "a higher-priority router started later preempts, and the old MASTER releases the VIP",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("vrrp-preempt");
    await using files = await Files.create();
    const [a, b] = (await lan(lab)).routers;
    const low = await startKad(a!, files, conf({ priority: 100 }));
    await low.waitForOutput(MASTER, 10_000);
    await waitAddress(a!, VIP, 5_000);
    const high = await startKad(b!, files, conf({ priority: 200 }));
    await high.waitForOutput(MASTER, 10_000);
    await waitAddress(b!, VIP, 5_000);
    await waitAddress(a!, VIP, 5_000, false);
    await waitForNth(low, BACKUP, 2, 5_000);
  },
);

Deno.test(
  "nopreempt: a higher-priority BACKUP leaves a working lower-priority MASTER alone",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("vrrp-nopreempt");
    await using files = await Files.create();
    const [a, b] = (await lan(lab)).routers;
    const low = await startKad(a!, files, conf({ priority: 100, extra: "  nopreempt" }));
    await low.waitForOutput(MASTER, 10_000);
    const high = await startKad(b!, files, conf({ priority: 200, extra: "  nopreempt" }));
    await high.waitForOutput(BACKUP, 10_000);
    await new Promise((r) => setTimeout(r, 2_000));
    assertEquals(count(high, MASTER), 0);
    assert(await hasAddress(a!, VIP));
    assert(!(await hasAddress(b!, VIP)));
    // It still takes over when the MASTER goes away.
    low.signal("SIGKILL");
    await high.waitForOutput(MASTER, 5_000);
    await waitAddress(b!, VIP, 5_000);
  },
);

Deno.test(
  "preempt_delay: the higher priority waits the delay before taking over",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("vrrp-pdelay");
    await using files = await Files.create();
    const [a, b] = (await lan(lab)).routers;
    const low = await startKad(a!, files, conf({ priority: 100 }));
    await low.waitForOutput(MASTER, 10_000);
    const high = await startKad(b!, files, conf({ priority: 200, extra: "  preempt_delay 2" }));
    await high.waitForOutput(BACKUP, 10_000);
    const t0 = performance.now();
    await high.waitForOutput(MASTER, 10_000);
    const waited = performance.now() - t0;
    // The delay starts at the first lower-priority advert (within one interval of BACKUP).
    assert(waited >= 1_900, `took over after ${waited.toFixed(0)} ms, before preempt_delay 2 s`);
    assert(waited < 4_000, `took over after ${waited.toFixed(0)} ms, far after preempt_delay`);
    await waitAddress(b!, VIP, 5_000);
    await waitAddress(a!, VIP, 5_000, false);
  },
);

Deno.test(
  "a MASTER stopped with SIGTERM resigns with priority 0: the BACKUP takes over after Skew_Time and no VIP is left",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("vrrp-prio0");
    await using files = await Files.create();
    const [a, b] = (await lan(lab)).routers;
    // VRRPv2 at 1 s: Master_Down_Interval 3.6 s, Skew_Time 0.61 s at priority 100.
    const master = await startKad(a!, files, conf({ priority: 200, version: 2, advertInt: 1 }), [
      "-p",
      files.path("a.pid"),
    ]);
    const backup = await startKad(b!, files, conf({ priority: 100, version: 2, advertInt: 1 }));
    await waitFor(() => lastState(master) === "MASTER", 15_000, { what: "the MASTER" });
    await settle([[master, "MASTER"], [backup, "BACKUP"]], 1_000);
    await waitAddress(a!, VIP, 5_000);
    assertEquals(
      (await Deno.readTextFile(files.path("a.pid"))).trim(),
      String(await pidOf(master)),
    );
    await new Promise((r) => setTimeout(r, 1_200));
    const t0 = performance.now();
    master.signal("SIGTERM");
    await waitAddress(b!, VIP, 5_000);
    const took = performance.now() - t0;
    assert(took < 1_500, `takeover took ${took.toFixed(0)} ms; priority 0 should make it ~0.6 s`);
    const status = await master.status;
    assertEquals(status.code, 0);
    assert(!(await hasAddress(a!, VIP)), "the stopped MASTER left its VIP behind");
    assertStringIncludes(backup.output, "Backup received priority 0 advert");
    // The pid file is removed at exit.
    assert(!(await exists(files.path("a.pid"))), "the pid file was left behind");
  },
);

Deno.test("--dont-release-vrrp leaves the VIP in place at exit", NETNS_TEST, async () => {
  await using lab = await Lab.create("vrrp-norelease");
  await using files = await Files.create();
  const [a] = (await lan(lab, { routers: 1 })).routers;
  const k = await startKad(a!, files, conf({ priority: 100 }), ["-V"]);
  await k.waitForOutput(MASTER, 10_000);
  await waitAddress(a!, VIP, 5_000);
  k.signal("SIGTERM");
  assertEquals((await k.status).code, 0);
  assert(await hasAddress(a!, VIP), "-V must leave the VIP");
  // The next start cleans the leftover up before it decides anything (§3.3 step 3).
  const again = await startKad(a!, files, conf({ priority: 100, advertInt: 2 }));
  await again.waitForOutput(BACKUP, 10_000);
  await waitAddress(a!, VIP, 3_000, false);
  assertStringIncludes(again.output, "left over from a previous run");
});

Deno.test(
  "three routers: the highest wins; killed, the next highest takes over, not the lowest",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("vrrp-three");
    await using files = await Files.create();
    const [a, b, c] = (await lan(lab, { routers: 3 })).routers;
    const ka = await startKad(a!, files, conf({ priority: 100 }));
    const kb = await startKad(b!, files, conf({ priority: 150 }));
    const kc = await startKad(c!, files, conf({ priority: 200 }));
    await settle([[kc, "MASTER"], [kb, "BACKUP"], [ka, "BACKUP"]], 1_000);
    assert(await hasAddress(c!, VIP));
    assert(!(await hasAddress(a!, VIP)) && !(await hasAddress(b!, VIP)));
    const masters = count(ka, MASTER);
    kc.signal("SIGKILL");
    await waitAddress(b!, VIP, 5_000);
    await settle([[kb, "MASTER"], [ka, "BACKUP"]], 1_000);
    assert(!(await hasAddress(a!, VIP)), "the lowest priority took the VIP");
    assertEquals(count(ka, MASTER), masters, "the lowest priority became MASTER");
  },
);

Deno.test(
  "IPv6: VRRPv3 over IPv6 elects a MASTER that owns the IPv6 VIP, and fails over",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("vrrp-v6");
    await using files = await Files.create();
    const [a, b] = (await lan(lab)).routers;
    const vips = ["fe80::100/64", "2001:db8::100/64"];
    const ka = await startKad(a!, files, conf({ priority: 150, vips }));
    const kb = await startKad(b!, files, conf({ priority: 100, vips }));
    await settle([[ka, "MASTER"], [kb, "BACKUP"]], 1_000);
    await waitAddress(a!, "2001:db8::100", 5_000);
    assert(!(await hasAddress(b!, "2001:db8::100")));
    ka.signal("SIGKILL");
    await waitAddress(b!, "2001:db8::100", 5_000);
    await waitAddress(b!, "fe80::100", 1_000);
  },
);

Deno.test(
  "unicast peers: IPv4 unicast adverts elect and fail over without multicast",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("vrrp-unicast");
    await using files = await Files.create();
    const [a, b] = (await lan(lab)).routers;
    const uc = (self: string, peer: string) =>
      `  unicast_src_ip ${self}\n  unicast_peer {\n    ${peer}\n  }`;
    const ka = await startKad(a!, files, conf({ priority: 150, extra: uc(a!.ip4, b!.ip4) }));
    const kb = await startKad(b!, files, conf({ priority: 100, extra: uc(b!.ip4, a!.ip4) }));
    await settle([[ka, "MASTER"], [kb, "BACKUP"]], 1_000);
    assert(await hasAddress(a!, VIP) && !(await hasAddress(b!, VIP)));
    ka.signal("SIGTERM");
    await kb.waitForOutput(MASTER, 5_000);
    await waitAddress(b!, VIP, 5_000);
  },
);

Deno.test(
  "SIGHUP applies a changed configuration and keeps the running one when the new one is unusable",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("vrrp-reload");
    await using files = await Files.create();
    const [a, b] = (await lan(lab)).routers;
    const ka = await startKad(a!, files, conf({ priority: 150 }));
    const kb = await startKad(b!, files, conf({ priority: 100 }));
    await settle([[ka, "MASTER"], [kb, "BACKUP"]], 500);
    await waitAddress(a!, VIP, 5_000);
    const masters = count(kb, MASTER);
    // An unusable file: the running configuration stays, nothing moves.
    await files.write(`${b!.ns.label}-kad.conf`, "vrrp_instance VI_1 {\n  interface eth0\n}\n");
    kb.signal("SIGHUP");
    await kb.waitForOutput(/reload refused, keeping the running configuration/, 5_000);
    // A higher priority for b: its instance restarts and preempts.
    await files.write(`${b!.ns.label}-kad.conf`, conf({ priority: 250 }));
    kb.signal("SIGHUP");
    await kb.waitForOutput(/reloaded: 0 instance\(s\) unchanged, restarted \[VI_1\]/, 5_000);
    await waitForNth(kb, MASTER, masters + 1, 5_000);
    await waitAddress(b!, VIP, 5_000);
    await waitAddress(a!, VIP, 5_000, false);
    assert(kb.exitStatus === undefined, "a reload must not stop the daemon");
  },
);

Deno.test(
  "kad run refuses an unusable configuration with check-config's diagnostics and status 4",
  NETNS_TEST,
  async () => {
    // Inside a namespace, so that a daemon that wrongly starts touches nothing of the host.
    await using lab = await Lab.create("vrrp-refuse");
    await using files = await Files.create();
    const [a] = (await lan(lab, { routers: 1 })).routers;
    const run = (args: string[]) => a!.ns.run([KAD, ...args], { timeoutMs: 15_000 });
    const missing = await run(["-f", files.path("none.conf"), "run"]);
    assertEquals(missing.code, 4);
    assertStringIncludes(missing.stderr, "not found");
    assertStringIncludes(missing.stderr, "not starting");
    // An auth_hmac key file that is not there: refused, naming the file and the fix.
    const path = await files.write(
      "keyfile.conf",
      instanceConf({
        extra: `  auth_hmac {\n    key 1 file:${files.path("no-such-key")}\n    active_key 1\n  }`,
      }),
    );
    const key = await run(["-f", path, "run"]);
    assertEquals(key.code, 4);
    assertStringIncludes(key.stderr, `key file '${files.path("no-such-key")}' cannot be read`);
    assertStringIncludes(key.stderr, "create it (mode 0600)");
    const check = await run(["-f", path, "run", "-C"]);
    assertEquals(check.code, 1);
    assertStringIncludes(check.stderr, "--check is not available");
  },
);

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The pid kad printed at start ("(pid N)"). */
async function pidOf(p: SpawnedProcess): Promise<number> {
  const m = /\(pid (\d+)\)/.exec(await p.waitForOutput(/\(pid \d+\)/, 5_000));
  return Number(m?.[1]);
}
