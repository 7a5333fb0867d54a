/**
 * Tests of the namespace lab against the real kernel (run as root): connectivity over veth
 * pairs and bridges, process-group killing, cleanup on every path, name uniqueness and
 * reaping of a dead run's leftovers. Only names this file creates are checked, so it can run
 * beside other test files that use labs.
 */
import assert from "node:assert/strict";
import { Lab, LAB_ENV, labProcesses, processGroupMembers, reapStale, waitFor } from "./netns.ts";

const decoder = new TextDecoder();
const harness = new URL("./netns.ts", import.meta.url).href;

async function sh(cmd: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const [program, ...args] = cmd;
  const out = await new Deno.Command(program!, { args, stdin: "null" }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

async function netnsList(): Promise<string[]> {
  const { stdout } = await sh(["ip", "netns", "list"]);
  return stdout.split("\n").map((l) => l.split(" ")[0] ?? "").filter((n) => n !== "");
}

function rootLinkExists(name: string): boolean {
  try {
    Deno.statSync(`/sys/class/net/${name}`);
    return true;
  } catch {
    return false;
  }
}

function comm(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
  } catch {
    return "";
  }
}

/** A pid that belonged to a process which has exited and been reaped. */
async function deadPid(): Promise<number> {
  for (let i = 0; i < 10; i++) {
    const child = new Deno.Command("true", { stdin: "null", stdout: "null", stderr: "null" })
      .spawn();
    await child.status;
    try {
      Deno.statSync(`/proc/${child.pid}`);
    } catch {
      return child.pid;
    }
  }
  throw new Error("Could not find a dead pid in 10 tries");
}

/**
 * Starts a Deno child that opens a lab, prints its names and then either waits to be killed
 * or calls `Deno.exit(0)` without closing the lab.
 */
function labChild(
  then: "wait" | "exit",
): { child: Deno.ChildProcess; ready: Promise<string[]> } {
  const code = `
    import { Lab } from ${JSON.stringify(harness)};
    const lab = await Lab.create("child");
    const ns = await lab.namespace();
    const veth = await lab.vethPair(lab.root, ns);
    const proc = ns.spawn(["sleep", "100"]);
    console.log(["ready", ns.name, veth.a.ifname, String(proc.pid)].join(" "));
    ${then === "wait" ? "setTimeout(() => {}, 60_000);" : "Deno.exit(0);"}
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const ready = (async () => {
    let text = "";
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += value;
      const line = text.split("\n").find((l) => l.startsWith("ready "));
      if (line !== undefined) {
        // Keep draining so the pipe never fills; the stream ends when the child does.
        void (async () => {
          while (!(await reader.read()).done);
        })();
        return line.split(" ").slice(1);
      }
    }
    throw new Error(`Child exited before it was ready: '${text}'`);
  })();
  return { child, ready };
}

Deno.test("a veth pair joins two namespaces over IPv4 and IPv6", async () => {
  await using lab = await Lab.create("veth");
  const a = await lab.namespace({ label: "a" });
  const b = await lab.namespace({ label: "b" });
  const veth = await lab.vethPair(a, b, {
    addrA: ["192.0.2.1/24", "2001:db8:1::1/64"],
    addrB: ["192.0.2.2/24", "2001:db8:1::2/64"],
  });
  assert.match(veth.a.ifname, /^kv[a-z0-9]{6}$/);
  const addrs = await a.addresses(veth.a.ifname);
  const cidrs = addrs.map((x) => x.cidr);
  assert.ok(cidrs.includes("192.0.2.1/24") && cidrs.includes("2001:db8:1::1/64"), `${cidrs}`);
  // nodad and accept_dad=0: no address, not even the link-local one, waits for DAD.
  assert.deepEqual(addrs.filter((x) => x.tentative), []);
  assert.ok(addrs.some((x) => x.family === 6 && x.scope === "link"), "no IPv6 link-local address");

  const pings = await Promise.all([
    a.ping("192.0.2.2"),
    a.ping("2001:db8:1::2"),
    b.ping("192.0.2.1"),
    b.ping("2001:db8:1::1"),
  ]);
  assert.deepEqual(pings, [true, true, true, true]);
});

Deno.test("links go down and up and addresses come and go on request", async () => {
  await using lab = await Lab.create("links");
  const a = await lab.namespace();
  const b = await lab.namespace();
  const veth = await lab.vethPair(a, b, { nameA: "left0", nameB: "right0" });
  await a.addAddress("left0", "2001:db8:2::1/64");
  await a.addAddress("left0", "192.0.2.9/24");
  assert.deepEqual(
    (await a.addresses("left0")).filter((x) => x.scope === "global").map((x) => x.cidr).sort(),
    ["192.0.2.9/24", "2001:db8:2::1/64"],
  );
  await a.delAddress("left0", "192.0.2.9/24");
  assert.ok(!(await a.addresses("left0")).some((x) => x.address === "192.0.2.9"));

  assert.equal((await b.link(veth.b.ifname)).up, true);
  await b.linkDown("right0");
  assert.equal((await b.link("right0")).up, false);
  // The peer loses carrier once its partner is down.
  await a.waitFor(async () => !(await a.link("left0")).carrier, 2000, {
    what: "left0 to lose carrier",
  });
  await b.linkUp("right0");
  await a.waitFor(async () => (await a.link("left0")).carrier, 2000, {
    what: "left0 to regain carrier",
  });
  await assert.rejects(() => a.addAddress("left0", "192.0.2.1"), /not in CIDR form/);
  await assert.rejects(
    () => lab.vethPair(a, b, { nameA: "much-too-long-name0" }),
    /must be 1 to 15 characters/,
  );
});

Deno.test("three namespaces on a bridge all reach each other", async () => {
  await using lab = await Lab.create("bridge");
  const sw = await lab.namespace({ label: "switch" });
  const br = await lab.bridge(sw);
  const hosts = [];
  for (let i = 1; i <= 3; i++) {
    const ns = await lab.namespace({ label: `h${i}` });
    const veth = await lab.vethPair(ns, sw, { addrA: `198.51.100.${i}/24` });
    await lab.attach(sw, veth.b.ifname, br);
    assert.equal((await sw.link(veth.b.ifname)).master, br);
    hosts.push(ns);
  }
  const checks = [];
  for (const [i, from] of hosts.entries()) {
    for (let j = 1; j <= 3; j++) {
      if (j !== i + 1) {
        checks.push(from.ping(`198.51.100.${j}`).then((ok) => `${i + 1}->${j} ${ok}`));
      }
    }
  }
  assert.deepEqual((await Promise.all(checks)).filter((s) => !s.endsWith("true")), []);
});

Deno.test("killing a spawned process also kills its children", async () => {
  await using lab = await Lab.create("kill");
  const ns = await lab.namespace();
  const proc = ns.spawn(["sh", "-c", "echo started; echo oops >&2; sleep 100 & sleep 100"]);
  await proc.waitForOutput("started", 3000);
  await proc.waitForOutput(/oo+ps/, 3000);
  const sleeps = () => processGroupMembers(proc.pid).filter((p) => p.comm === "sleep");
  await waitFor(() => sleeps().length === 2, 3000, { what: "both sleeps to start" });
  // They really run inside the namespace.
  const inside = (await sh(["ip", "netns", "pids", ns.name])).stdout.split(/\s+/);
  for (const s of sleeps()) assert.ok(inside.includes(String(s.pid)), `${s.pid} not in ${inside}`);

  const status = await proc.kill();
  assert.equal(status.success, false);
  assert.deepEqual(processGroupMembers(proc.pid), []);
  assert.equal(proc.alive, false);
  assert.equal(proc.stdout, "started\n");
  assert.equal(proc.stderr, "oops\n");
});

Deno.test("a process that ignores SIGTERM is killed with SIGKILL after the grace time", async () => {
  await using lab = await Lab.create("kill9");
  const ns = await lab.namespace();
  const proc = ns.spawn(["sh", "-c", "trap '' TERM; echo armed; while :; do sleep 0.05; done"]);
  await proc.waitForOutput("armed", 3000);
  const started = Date.now();
  const status = await proc.kill({ graceMs: 300 });
  assert.equal(status.signal, "SIGKILL");
  assert.ok(Date.now() - started >= 300, "SIGKILL came before the grace time");
  assert.deepEqual(processGroupMembers(proc.pid), []);
});

Deno.test("run reports exit code and output, feeds stdin and enforces its timeout", async () => {
  await using lab = await Lab.create("run");
  const ns = await lab.namespace();
  const r = await ns.run(["sh", "-c", "echo out; echo err >&2; exit 3"]);
  assert.deepEqual(r, { code: 3, signal: null, success: false, stdout: "out\n", stderr: "err\n" });
  assert.equal((await ns.run(["cat"], { stdin: "hello" })).stdout, "hello");
  const here = Deno.readLinkSync("/proc/self/ns/net");
  const there = (await ns.run(["readlink", "/proc/self/ns/net"])).stdout.trim();
  assert.notEqual(there, here);
  await assert.rejects(() => ns.run(["false"], { check: true }), /failed with exit code 1/);
  const started = Date.now();
  await assert.rejects(
    () => ns.run(["sh", "-c", "sleep 30 & sleep 30"], { timeoutMs: 200 }),
    /did not finish within 200 ms/,
  );
  assert.ok(Date.now() - started < 3000, "the timeout did not cut the command short");
  const quitter = ns.spawn(["sh", "-c", "echo nope; exit 4"]);
  const waited = Date.now();
  await assert.rejects(() => quitter.waitForOutput("yes", 5000), /exited with code 4.*nope/s);
  assert.ok(Date.now() - waited < 2000, "waitForOutput waited for a process that had exited");
});

Deno.test("waitFor throws a clear error on timeout", async () => {
  const started = Date.now();
  await assert.rejects(
    () =>
      waitFor(
        () => {
          throw new Error("not yet");
        },
        100,
        { what: "the impossible" },
      ),
    /^Error: Timed out after 100 ms waiting for the impossible \(last check: not yet\)$/,
  );
  assert.ok(Date.now() - started < 1000);
  // A predicate that never settles is abandoned at the deadline.
  await assert.rejects(() => waitFor(() => new Promise<boolean>(() => {}), 100), /Timed out/);
  assert.equal(await waitFor(() => "value", 100), "value");
});

Deno.test("cleanup after a test body throws leaves no namespace, link or process behind", async () => {
  let names: string[] = [];
  let hostLink = "";
  let pgid = 0;
  let token = "";
  await assert.rejects(async () => {
    await using lab = await Lab.create("throws");
    const a = await lab.namespace();
    const b = await lab.namespace();
    hostLink = (await lab.vethPair(lab.root, a)).a.ifname;
    await lab.vethPair(a, b);
    await lab.bridge(b);
    pgid = a.spawn(["sh", "-c", "sleep 100 & sleep 100"]).pid;
    // A daemon that left its process group, in the root namespace: only the marker finds it.
    await lab.root.run(["sh", "-c", "setsid -f sleep 100 >/dev/null 2>&1"]);
    token = lab.token;
    const markedSleeps = () =>
      labProcesses((v) => v === token).filter((pid) => comm(pid) === "sleep").length;
    await waitFor(() => markedSleeps() === 3, 3000, { what: "three marked sleeps" });
    names = [a.name, b.name];
    assert.ok(rootLinkExists(hostLink));
    throw new Error("test body failed");
  }, /test body failed/);
  const left = await netnsList();
  assert.deepEqual(names.filter((n) => left.includes(n)), []);
  assert.equal(names.length, 2);
  assert.equal(rootLinkExists(hostLink), false);
  assert.deepEqual(processGroupMembers(pgid), []);
  assert.deepEqual(labProcesses((v) => v === token), []);
});

Deno.test("names are unique across two labs", async () => {
  await using one = await Lab.create("uniq");
  await using two = await Lab.create("uniq");
  const spaces = [];
  for (let i = 0; i < 3; i++) spaces.push(await one.namespace(), await two.namespace());
  const names = spaces.map((s) => s.name);
  assert.equal(new Set(names).size, names.length);
  for (const n of names) assert.match(n, new RegExp(`^kadt-uniq-${Deno.pid}-\\d+$`));
  const ifnames = [];
  for (const lab of [one, two]) {
    const [x, y] = lab.namespaces;
    const veth = await lab.vethPair(x!, y!);
    ifnames.push(veth.a.ifname, veth.b.ifname);
  }
  assert.equal(new Set(ifnames).size, 4);
  await assert.rejects(() => one.vethPair(one.namespaces[0]!, two.namespaces[0]!), /belongs to/);
});

Deno.test("reapStale removes a leftover namespace named for a dead pid", async () => {
  const dead = await deadPid();
  const stale = `kadt-stale-${dead}-1`;
  const live = `kadt-live-${Deno.pid}-${dead}`;
  const staleLink = `kvst${String(dead).slice(-6)}`;
  // The process is in its namespace before the namespace gets its name, so whichever reaper
  // runs (this one, or another test process's Lab.create) finds it there.
  const inside = new Deno.Command("unshare", {
    args: ["--net", "sleep", "100"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const escaped = new Deno.Command("sleep", {
    args: ["100"],
    env: { [LAB_ENV]: `${dead}:leftover` },
    stdin: "null",
  }).spawn();
  try {
    const own = Deno.readLinkSync("/proc/self/ns/net");
    await waitFor(() => Deno.readLinkSync(`/proc/${inside.pid}/ns/net`) !== own, 3000, {
      what: "unshare to enter a new namespace",
    });
    assert.equal((await sh(["ip", "netns", "attach", stale, `${inside.pid}`])).code, 0);
    await sh(["ip", "netns", "add", live]);
    await sh([
      "ip",
      "link",
      "add",
      "name",
      staleLink,
      "type",
      "veth",
      "peer",
      "name",
      `${staleLink}p`,
    ]);
    await sh(["ip", "link", "set", "dev", staleLink, "alias", `kadt:${dead}`]);
    await reapStale();
    const left = await netnsList();
    assert.equal(left.includes(stale), false);
    assert.equal(left.includes(live), true, "a namespace of a live pid was reaped");
    assert.equal(rootLinkExists(staleLink), false);
    assert.equal((await inside.status).signal, "SIGKILL");
    assert.equal((await escaped.status).signal, "SIGKILL");
  } finally {
    for (const child of [inside, escaped]) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already reaped.
      }
      await child.status;
    }
    await sh(["ip", "netns", "del", live]);
    await sh(["ip", "netns", "del", stale]);
    await sh(["ip", "link", "del", "dev", staleLink]);
  }
});

Deno.test("SIGINT to a process with an open lab cleans up before it exits", async () => {
  const { child, ready } = labChild("wait");
  const [ns, hostLink, pgid] = await ready;
  assert.ok((await netnsList()).includes(ns!));
  child.kill("SIGINT");
  const status = await child.status;
  // Exited through the listener (Deno.exit(130)), not killed by the signal itself.
  assert.deepEqual([status.code, status.signal], [130, null]);
  assert.equal((await netnsList()).includes(ns!), false);
  assert.equal(rootLinkExists(hostLink!), false);
  assert.deepEqual(processGroupMembers(Number(pgid)), []);
  await child.stderr.cancel();
});

Deno.test("a script that exits without closing its lab cleans up on unload", async () => {
  const { child, ready } = labChild("exit");
  const [ns, hostLink, pgid] = await ready;
  const status = await child.status;
  await child.stderr.cancel();
  assert.equal(status.code, 0);
  // The unload listener ran before the process ended; nothing is left to wait for.
  assert.equal((await netnsList()).includes(ns!), false);
  assert.equal(rootLinkExists(hostLink!), false);
  assert.deepEqual(processGroupMembers(Number(pgid)), []);
});

Deno.test("the watchdog cleans up after a process killed with SIGKILL", async () => {
  const { child, ready } = labChild("wait");
  const [ns, hostLink, pgid] = await ready;
  child.kill("SIGKILL");
  await child.status;
  await child.stderr.cancel();
  await waitFor(async () => !(await netnsList()).includes(ns!), 5000, {
    what: `namespace '${ns}' to be deleted`,
  });
  await waitFor(() => !rootLinkExists(hostLink!), 3000, { what: `link '${hostLink}' to go` });
  await waitFor(() => processGroupMembers(Number(pgid)).length === 0, 3000, {
    what: `process group ${pgid} to die`,
  });
});
