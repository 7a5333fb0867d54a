/**
 * `kad dump` and keepalived's signal dumps against two `kad run` nodes in network
 * namespaces (needs root): the live state through the control socket (text, --json checked
 * against docs/dump-schema.json, --instance, --stats against the keepalived.stats file),
 * --watch --json reporting a takeover, SIGUSR1/SIGUSR2/JSON/STATS_CLEAR producing their
 * files with keepalived's names (data_use_instance included) and mode 0600, no password
 * anywhere, and a control socket that refuses bad requests and a second daemon without
 * disturbing the running one.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_assert.ts";
import { dumpSchema, validate } from "../_json_schema.ts";
import { Lab, type SpawnedProcess, waitFor } from "../harness/netns.ts";
import type { DumpDocument, StatsDocument } from "../../lib/vrrp/snapshot.ts";
import {
  controlSocket,
  count,
  Files,
  instanceConf,
  KAD,
  lan,
  NETNS_TEST,
  type Router,
  startKad,
  waitAddress,
} from "./_vrrp_lab.ts";

const PASSWORD = "Pa55w0rd";
const VIP = "192.0.2.100";

/** Two instances per node: VI_1 (VRRPv3, 0.2 s) and VI_2 (VRRPv2, 1 s, auth PASS). */
function conf(priority: number, top = ""): string {
  return `${top}global_defs {
  vrrp_garp_master_delay 0
  vrrp_garp_master_repeat 1
  json_version 2
  data_use_instance
}
${instanceConf({ name: "VI_1", vrid: 51, priority })}
${
    instanceConf({
      name: "VI_2",
      vrid: 52,
      priority,
      version: 2,
      advertInt: 1,
      vips: ["192.0.2.200/24"],
      extra: `  authentication {\n    auth_type PASS\n    auth_pass ${PASSWORD}\n  }`,
    })
  }`;
}

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

async function kad(args: string[]): Promise<Out> {
  const r = await new Deno.Command(KAD, {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(20_000),
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

async function dumpJson(socket: string, ...more: string[]): Promise<DumpDocument> {
  const o = await kad(["dump", "--json", "--control-socket", socket, ...more]);
  assertEquals(o.code, 0, o.stderr);
  return JSON.parse(o.stdout) as DumpDocument;
}

async function statsJson(socket: string): Promise<StatsDocument> {
  const o = await kad(["dump", "--stats", "--json", "--control-socket", socket]);
  assertEquals(o.code, 0, o.stderr);
  return JSON.parse(o.stdout) as StatsDocument;
}

async function states(socket: string): Promise<string> {
  try {
    const d = await dumpJson(socket);
    return Object.values(d.instances).map((i) => i.state).join(",");
  } catch {
    return "";
  }
}

interface Pair {
  a: Router;
  b: Router;
  ka: SpawnedProcess;
  kb: SpawnedProcess;
  sa: string;
  sb: string;
  /** The dump directory ($TMPDIR) of each node. */
  ta: string;
  tb: string;
}

/** a: priority 150, MASTER of both; b: priority 100, BACKUP of both. */
async function pair(lab: Lab, files: Files, topA = ""): Promise<Pair> {
  const [a, b] = (await lan(lab)).routers as [Router, Router];
  const ta = files.path("tmp-a");
  const tb = files.path("tmp-b");
  await Deno.mkdir(ta);
  await Deno.mkdir(tb);
  const sa = controlSocket(a, files);
  const sb = controlSocket(b, files);
  // One after the other, so that b never passes through MASTER at start.
  const ka = await startKad(a, files, conf(150, topA), [], { TMPDIR: ta });
  await waitFor(async () => (await states(sa)) === "MASTER,MASTER", 15_000, {
    what: "node a MASTER of VI_1 and VI_2",
  });
  const kb = await startKad(b, files, conf(100), [], { TMPDIR: tb });
  await waitFor(
    async () => {
      const d = await dumpJson(sb).catch(() => undefined);
      const all = Object.values(d?.instances ?? {});
      return all.length === 2 &&
        all.every((i) => i.state === "BACKUP" && i.master.address === "192.0.2.11");
    },
    15_000,
    { what: "node b BACKUP of VI_1 and VI_2, each having heard node a" },
  );
  await waitAddress(a, VIP, 5_000);
  return { a, b, ka, kb, sa, sb, ta, tb };
}

async function kill(p: SpawnedProcess, signal: number): Promise<void> {
  const pid = Number(/\(pid (\d+)\)/.exec(p.output)?.[1]);
  assert(pid > 0, "kad run printed its pid");
  const r = await new Deno.Command("kill", { args: [`-${signal}`, String(pid)] }).output();
  assertEquals(r.code, 0, `kill -${signal} ${pid}`);
}

async function fileWhenWritten(path: string, p: SpawnedProcess, what: RegExp): Promise<string> {
  await p.waitForOutput(what, 5_000);
  const info = await Deno.stat(path);
  assertEquals(info.mode! & 0o777, 0o600, `${path} mode`);
  return await Deno.readTextFile(path);
}

Deno.test(
  "kad dump shows both nodes' state, master and counters, consistent with keepalived.stats, and signals write keepalived's files",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("dump");
    await using files = await Files.create();
    const { ka, kb, sa, sb, ta } = await pair(lab, files, "instance labA\n");

    // --json validates against the schema and agrees between the nodes.
    const da = await dumpJson(sa);
    const db = await dumpJson(sb);
    assertEquals(validate(dumpSchema(), da), []);
    assertEquals(validate(dumpSchema(), db), []);
    const a1 = da.instances["VI_1"]!;
    const b1 = db.instances["VI_1"]!;
    assertEquals([a1.state, a1.state_code], ["MASTER", 2]);
    assertEquals([b1.state, b1.state_code], ["BACKUP", 1]);
    assertEquals(b1.master, { address: "192.0.2.11", priority: 150, self: false });
    assertEquals(a1.master, { address: "192.0.2.11", priority: 150, self: true });
    assertEquals(db.instances["VI_2"]!.auth.type, "pass");

    // Text: the table and the blocks.
    const text = await kad(["dump", "--control-socket", sb]);
    assertEquals(text.code, 0, text.stderr);
    assertMatch(
      text.stdout,
      /\nVI_1 +BACKUP +100 +192\.0\.2\.11 \(priority 150\) +eth0 \(up\) +0\/1 present\n/,
    );
    assertMatch(text.stdout, /\nVI_2 +BACKUP +100 +192\.0\.2\.11 \(priority 150\)/);

    // --instance: one, or a clear refusal listing the instances.
    assertEquals(Object.keys((await dumpJson(sa, "--instance", "VI_2")).instances), ["VI_2"]);
    const bad = await kad(["dump", "--instance", "VI_9", "--control-socket", sa]);
    assertEquals(bad.code, 1);
    assertEquals(bad.stderr, "kad dump: no VRRP instance 'VI_9'; the instances are: VI_1, VI_2\n");

    // --stats against SIGUSR2's keepalived.stats: same layout, counters only ever grow.
    await kill(ka, 12);
    const statsFile = await fileWhenWritten(`${ta}/keepalived.stats`, ka, /statistics written/);
    const stats = await kad(["dump", "--stats", "--control-socket", sa]);
    assertEquals(stats.code, 0, stats.stderr);
    const labels = (t: string) => t.split("\n").map((l) => l.replace(/: \d+$/, ":"));
    assertEquals(labels(stats.stdout), labels(statsFile));
    const numbers = (t: string) => [...t.matchAll(/: (\d+)$/gm)].map((m) => Number(m[1]));
    const before = numbers(statsFile);
    const after = numbers(stats.stdout);
    assert(after.every((n, i) => n >= (before[i] as number)), "counters went backwards");
    assertMatch(
      statsFile,
      /VRRP Instance: VI_1\n {2}Advertisements:\n {4}Received: 0\n {4}Sent: [1-9]/,
    );
    assertMatch(statsFile, /\n {2}Became master: 1\n/);

    // SIGUSR1: the data dump, named with data_use_instance and the instance keyword.
    await kill(ka, 10);
    const data = await fileWhenWritten(`${ta}/keepalived.labA.data`, ka, /data dump written/);
    assertStringIncludes(data, " VRRP Instance = VI_1\n   VRRP Version = 3\n   State = MASTER\n");
    assertStringIncludes(data, "   Password = ********\n");

    // JSON (SIGRTMIN+2 = 36): json_version 2.
    await kill(ka, 36);
    const json = JSON.parse(
      await fileWhenWritten(`${ta}/keepalived.json`, ka, /JSON dump \(json_version 2\) written/),
    );
    assertEquals(Object.keys(json), ["vrrp"]);
    assertEquals(
      json.vrrp.map((
        i: { data: { iname: string; state: number } },
      ) => [i.data.iname, i.data.state]),
      [
        ["VI_1", 2],
        ["VI_2", 2],
      ],
    );
    assertEquals(json.vrrp[1].data.auth_data, "********");

    // STATS_CLEAR (SIGRTMAX-1 = 63): the statistics as they were, then the counters zeroed.
    const sentBefore = (await statsJson(sa)).instances["VI_1"]!.counters;
    await kill(ka, 63);
    await waitFor(() => count(ka, /statistics written/) === 2, 5_000, {
      what: "the second stats file",
    });
    const cleared = await Deno.readTextFile(`${ta}/keepalived.stats`);
    assertMatch(cleared, /\n {2}Became master: 1\n/);
    const now = (await statsJson(sa)).instances["VI_1"]!.counters;
    assertEquals(now.become_master, 0);
    assert(
      now.advert_sent < sentBefore.advert_sent,
      `advert_sent ${now.advert_sent} was not zeroed`,
    );

    // Nothing of this changed a state, and no password appears in any output.
    // a: BACKUP then MASTER for each instance; b: BACKUP for each.
    assertEquals(count(ka, /Entering \w+ STATE/), 4);
    assertEquals(count(kb, /Entering \w+ STATE/), 2);
    const everything = [
      JSON.stringify(da),
      JSON.stringify(db),
      text.stdout,
      stats.stdout,
      statsFile,
      data,
      JSON.stringify(json),
      ka.output,
      kb.output,
    ].join("\n");
    assert(!everything.includes(PASSWORD), "the password leaked into an output");
  },
);

Deno.test(
  "kad dump --watch --json prints a new line when the MASTER is killed",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("dumpwatch");
    await using files = await Files.create();
    const { ka, b, sb } = await pair(lab, files);
    const watch = b.ns.spawn([
      KAD,
      "dump",
      "--watch",
      "--json",
      "--instance",
      "VI_1",
      "--control-socket",
      sb,
    ]);
    const lines = () => watch.stdout.split("\n").filter((l) => l.trim() !== "");
    await waitFor(() => lines().length >= 1, 10_000, { what: "the first watch line" });
    const first = JSON.parse(lines()[0] as string);
    assertEquals(first.instances.VI_1.state, "BACKUP");
    // Nothing changes for a while: no new line (counters and timers do not count).
    await new Promise((r) => setTimeout(r, 1_500));
    assertEquals(lines().length, 1, `unexpected lines: ${watch.stdout}`);
    ka.signal("SIGKILL");
    await waitFor(
      () => lines().some((l) => JSON.parse(l).instances.VI_1.state === "MASTER"),
      10_000,
      {
        what: "a watch line with VI_1 MASTER",
      },
    );
    for (const l of lines()) assertEquals(validate(dumpSchema(), JSON.parse(l)), []);
    watch.signal("SIGINT");
    const status = await watch.status;
    assertEquals(status.code, 0, watch.stderr);
  },
);

Deno.test(
  "the control socket refuses malformed, oversized, unknown and wrong-version requests and a second daemon; VRRP goes on",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("dumpbad");
    await using files = await Files.create();
    const { a, ka, kb, sa, sb } = await pair(lab, files);
    const conn = await Deno.connect({ transport: "unix", path: sa });
    const enc = new TextEncoder();
    let buffered = "";
    const line = async (): Promise<Record<string, unknown> | null> => {
      for (;;) {
        const nl = buffered.indexOf("\n");
        if (nl >= 0) {
          const l = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          return JSON.parse(l);
        }
        const chunk = new Uint8Array(65536);
        const n = await conn.read(chunk).catch(() => null);
        if (n === null) return null;
        buffered += new TextDecoder().decode(chunk.subarray(0, n));
      }
    };
    const code = (r: Record<string, unknown> | null) => (r?.["error"] as { code: string })?.code;
    try {
      await conn.write(enc.encode('{"v":1,"id":1,"cmd":"dump"\n'));
      assertEquals(code(await line()), "malformed_json");
      await conn.write(enc.encode('{"v":1,"id":2,"cmd":"reboot"}\n'));
      assertEquals(code(await line()), "unknown_command");
      await conn.write(enc.encode('{"v":3,"id":3,"cmd":"dump"}\n'));
      assertEquals(code(await line()), "unsupported_version");
      await conn.write(enc.encode('{"v":1,"id":4,"cmd":"ping"}\n'));
      assertEquals((await line())?.["pong"], true);
      await conn.write(enc.encode(`{"v":1,"cmd":"ping","x":"${"y".repeat(100_000)}"}\n`)).catch(
        () => 0,
      );
      assertEquals(code(await line()), "request_too_large");
      assertEquals(await line(), null, "the oversized request's connection is closed");
    } finally {
      try {
        conn.close();
      } catch {
        // closed by the daemon
      }
    }
    // A second daemon on the same socket refuses to start, and touches nothing.
    const second = await startKad(a, files, conf(150), ["--control-socket", sa]);
    const status = await second.status;
    assertEquals(status.code, 1);
    assertStringIncludes(second.output, `another daemon is serving control socket '${sa}'`);
    await waitAddress(a, VIP, 1_000);
    // The daemons kept running and kept their state.
    assertEquals(await states(sa), "MASTER,MASTER");
    assertEquals(await states(sb), "BACKUP,BACKUP");
    // a: BACKUP then MASTER for each instance; b: BACKUP for each.
    assertEquals(count(ka, /Entering \w+ STATE/), 4, ka.output);
    assertEquals(count(kb, /Entering \w+ STATE/), 2, kb.output);
    assert(ka.exitStatus === undefined && kb.exitStatus === undefined, "a daemon exited");
  },
);
