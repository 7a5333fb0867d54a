/**
 * `kad rotate-key` without a daemon (docs/rotate-key.md): `./kad` as a script runs it — bad
 * command lines, unusable keys from files and standard input, key file modes, no daemon —
 * each a clear message, the documented exit status and, with `--json`, the JSON document;
 * never a stack trace, never the key. And `rotateKey()` against a scripted daemon: how every
 * reply maps to an exit status, and the `retire --wait` loop.
 */
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { run } from "./harness/netns.ts";
import {
  type DaemonLink,
  printReport,
  rotateKey,
  type RotateKeyIo,
  type RotateKeyOptions,
} from "../commands/rotate_key.ts";
import { ControlClientError } from "../lib/control/client.ts";
import { rotateKeySchema, validate } from "./_json_schema.ts";
import type { ParsedReply } from "../lib/control/protocol.ts";

const KAD = new URL("../kad", import.meta.url).pathname;
const KEY_HEX = "5c".repeat(32);

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

async function kad(args: string[], stdin?: string, cwd?: string): Promise<Out> {
  const r = await run([KAD, ...args], {
    env: { NO_COLOR: "1" },
    ...(stdin === undefined ? {} : { stdin }),
    ...(cwd === undefined ? {} : { cwd }),
    timeoutMs: 30_000,
  });
  const o = { code: r.code, stdout: r.stdout, stderr: r.stderr };
  const all = o.stdout + o.stderr;
  assert(!/^\s+at .*:\d+:\d+\)?$/m.test(all), `stack trace in output:\n${all}`);
  assert(!all.includes("internal error"), `internal error in output:\n${all}`);
  assert(!all.includes(KEY_HEX), `the key in the output:\n${all}`);
  // With --json, stdout is one document of docs/rotate-key-schema.json, with the exit status.
  if (args.includes("--json") && o.stdout !== "") {
    const doc = JSON.parse(o.stdout);
    assertEquals(validate(rotateKeySchema(), doc), [], o.stdout);
    assertEquals(doc.exit_code, o.code);
  }
  return o;
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "kad-rk-cli-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("rotate-key: help, and every bad command line is exit 2 with a hint", async () => {
  const h = await kad(["rotate-key", "--help"]);
  assertEquals(h.code, 0);
  for (
    const s of ["add", "activate", "retire", "status", "Exit status: 0 done", "7 retire --wait"]
  ) {
    assertStringIncludes(h.stdout, s);
  }
  const ha = await kad(["rotate-key", "add", "--help"]);
  for (const s of ["--key-file <PATH>", "standard input", "--instance <NAME>", "--all", "--json"]) {
    assertStringIncludes(ha.stdout, s);
  }
  const cases: Array<[string[], string]> = [
    [["rotate-key"], "Usage: kad rotate-key"],
    [["rotate-key", "frob"], "unknown command 'frob'"],
    [["rotate-key", "add", "--key-file", "/k"], "required option '--id <ID>'"],
    [["rotate-key", "add", "--id", "2"], "required option '--key-file <PATH>'"],
    [["rotate-key", "activate", "--id", "0"], "a key id is a number from 1 to 255"],
    [["rotate-key", "activate", "--id", "2x"], "a key id is a number from 1 to 255"],
    [["rotate-key", "retire", "--id", "1", "--wait", "0"], "from 0.1 to 86400"],
    [["rotate-key", "retire", "--id", "1", "--wait", "soon"], "from 0.1 to 86400"],
    [["rotate-key", "activate", "--id", "1", "--instance", "A", "--all"], "cannot be used with"],
    [["rotate-key", "status", "--all"], "unknown option '--all'"],
    [
      ["rotate-key", "add", "--id", "2", "--key-file", "/k", "--key", "secret"],
      "unknown option '--key'",
    ],
  ];
  for (const [args, part] of cases) {
    const o = await kad(args);
    assertEquals(o.code, 2, `${args.join(" ")}: ${o.stderr}`);
    assertStringIncludes(o.stdout + o.stderr, part);
  }
  // With --json, a usage error is a JSON document too.
  const j = await kad(["rotate-key", "activate", "--id", "300", "--json"]);
  assertEquals(j.code, 2);
  const doc = JSON.parse(j.stdout);
  assertEquals([doc.kad_rotate_key, doc.command, doc.ok, doc.exit_code], [1, "activate", false, 2]);
  assertEquals(doc.error.code, "usage");
  assertStringIncludes(doc.error.message, "a key id is a number from 1 to 255");
});

Deno.test("rotate-key: no daemon is exit 3, in text and in JSON", () =>
  withDir(async (dir) => {
    const sock = `${dir}/kad.sock`;
    const t = await kad(["rotate-key", "status", "--control-socket", sock]);
    assertEquals([t.code, t.stdout], [3, ""]);
    assertStringIncludes(
      t.stderr,
      `kad rotate-key: no kad daemon is running here: control socket '${sock}' does not exist`,
    );
    const j = await kad([
      "rotate-key",
      "retire",
      "--id",
      "1",
      "--wait",
      "--json",
      "--control-socket",
      sock,
    ]);
    assertEquals(j.code, 3);
    assertEquals(JSON.parse(j.stdout).error.code, "no_daemon");
    // A file that is not a socket.
    await Deno.writeTextFile(`${dir}/plain`, "");
    const n = await kad(["rotate-key", "status", "--control-socket", `${dir}/plain`]);
    assertEquals(n.code, 3);
    assertStringIncludes(n.stderr, "is not a control socket");
  }));

Deno.test("rotate-key add: key files are checked before the daemon is asked, never echoed", () =>
  withDir(async (dir) => {
    const sock = `${dir}/kad.sock`;
    const add = (file: string, json = false, cwd?: string) =>
      kad(
        [
          "rotate-key",
          "add",
          "--id",
          "2",
          "--key-file",
          file,
          "--control-socket",
          sock,
          ...(json ? ["--json"] : []),
        ],
        undefined,
        cwd,
      );
    let o = await add(`${dir}/missing`);
    assertEquals(o.code, 1);
    assertStringIncludes(o.stderr, `key file '${dir}/missing' cannot be read (it does not exist)`);
    o = await add(dir);
    assertEquals(o.code, 1);
    assertStringIncludes(o.stderr, "(it is a directory)");
    o = await add("/dev/zero");
    assertEquals(o.code, 1);
    assertStringIncludes(o.stderr, "key file '/dev/zero' is not a regular file");
    await Deno.writeTextFile(`${dir}/short`, "hex:" + KEY_HEX.slice(0, 40), { mode: 0o600 });
    o = await add(`${dir}/short`, true);
    assertEquals(o.code, 1);
    assertEquals(JSON.parse(o.stdout).error.code, "refused");
    assertStringIncludes(o.stderr, "gives a 20-byte key; keys must be 32 to 64 bytes");
    await Deno.writeTextFile(`${dir}/big`, "x".repeat(200), { mode: 0o600 });
    o = await add(`${dir}/big`);
    assertEquals(o.code, 1);
    assertStringIncludes(o.stderr, "is too large (200 bytes");
    // A good key file readable by others: a warning, then (no daemon) exit 3.
    await Deno.writeTextFile(`${dir}/open`, `hex:${KEY_HEX}\n`);
    await Deno.chmod(`${dir}/open`, 0o644);
    o = await add(`${dir}/open`, true);
    assertEquals(o.code, 3);
    const doc = JSON.parse(o.stdout);
    assertEquals(doc.warnings, [
      `key file '${dir}/open' is accessible by group or others (mode 0644); make it private with 'chmod 600 ${dir}/open'`,
    ]);
    // A relative path is the caller's: resolved against the working directory.
    o = await add("missing-here", false, dir);
    assertStringIncludes(o.stderr, `key file '${dir}/missing-here' cannot be read`);
  }));

Deno.test("rotate-key add --key-file -: the key comes from standard input, checked the same way", () =>
  withDir(async (dir) => {
    const sock = `${dir}/kad.sock`;
    const add = (stdin: string) =>
      kad(["rotate-key", "add", "--id", "2", "--key-file", "-", "--control-socket", sock], stdin);
    let o = await add("short\n");
    assertEquals(o.code, 1);
    assertStringIncludes(o.stderr, "the key on standard input gives a 5-byte key");
    o = await add(`hex:${KEY_HEX}zz\n`);
    assertEquals(o.code, 1);
    assertStringIncludes(o.stderr, "holds a hex: key that is not valid");
    o = await add("k".repeat(500));
    assertEquals(o.code, 1);
    assertStringIncludes(o.stderr, "is too large");
    // A good key: only the daemon is missing.
    o = await add(`hex:${KEY_HEX}\r\n`);
    assertEquals(o.code, 3, o.stderr);
  }));

// ---- rotateKey() against a scripted daemon ----

type Reply = ParsedReply | ControlClientError;

/** An io whose daemon answers `replies` in turn, on a fake clock. */
function scripted(replies: Reply[], more: Partial<RotateKeyIo> = {}) {
  const asked: Array<{ cmd: string; args: Readonly<Record<string, unknown>> }> = [];
  let now = 1000;
  let slept = 0;
  const out: string[] = [];
  const err: string[] = [];
  const link: DaemonLink = {
    request(cmd, args) {
      asked.push({ cmd, args });
      const r = replies.length > 1 ? replies.shift()! : replies[0]!;
      return r instanceof ControlClientError ? Promise.reject(r) : Promise.resolve(r);
    },
    close() {},
  };
  const io: RotateKeyIo = {
    connect: () => Promise.resolve(link),
    readStdin: () => Promise.resolve(new TextEncoder().encode(`hex:${KEY_HEX}\n`)),
    stdinIsTerminal: () => false,
    cwd: () => "/work",
    sleep: (ms) => {
      now += ms;
      slept += ms;
      return Promise.resolve();
    },
    nowMs: () => now,
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    ...more,
  };
  return { io, asked, out, err, slept: () => slept };
}

const VIEW = {
  instance: "VI_1",
  mode: "enforce",
  anti_replay: "time",
  window_s: 5,
  active_key: 2,
  keys: [{ id: 2, active: true, verify_only: false, source: "config", key_file: null }],
  retired: [],
  peers: [],
};

function done(changed: unknown[] = []): ParsedReply {
  return { ok: true, id: 1, result: { changed, warnings: [], instances: [VIEW] } };
}

function error(code: string, message: string, details: Record<string, unknown> = {}): ParsedReply {
  return { ok: false, id: 1, error: { code, message, details } as never };
}

const IN_USE = error("refused", "key 1 is still in use: 192.0.2.11 signed with it", {
  reason: "in_use",
  window_s: 5,
  users: [{ instance: "VI_1", address: "192.0.2.11", key_id: 1, seconds_since: 0.2 }],
});

const RETIRE: RotateKeyOptions = { command: "retire", socket: "/s", json: true, id: 1 };

Deno.test("rotateKey: retire --wait asks again until the key is free, then retires it", async () => {
  const s = scripted([
    IN_USE,
    IN_USE,
    IN_USE,
    done([{ instance: "VI_1", id: 1, action: "retired" }]),
  ]);
  const r = await rotateKey({ ...RETIRE, waitS: null }, s.io);
  assertEquals([r.ok, r.exit_code, r.waited_s], [true, 0, 1.5]);
  assertEquals(s.asked.length, 4);
  assertEquals(s.asked[0], { cmd: "key-retire", args: { key_id: 1 } });
  assertEquals(s.slept(), 1500);
  assertEquals(r.changed, [{ instance: "VI_1", id: 1, action: "retired" }]);
  assertEquals(validate(rotateKeySchema(), r), []);
});

Deno.test("rotateKey: retire refused (6) at once, or after --wait runs out (7)", async () => {
  let s = scripted([IN_USE]);
  let r = await rotateKey(RETIRE, s.io);
  assertEquals([r.exit_code, r.error?.code, r.error?.users?.[0]?.address], [
    6,
    "in_use",
    "192.0.2.11",
  ]);
  assertEquals(s.asked.length, 1);
  // --wait 2: gives up after 2 s.
  s = scripted([IN_USE]);
  r = await rotateKey({ ...RETIRE, waitS: 2 }, s.io);
  assertEquals([r.exit_code, r.error?.code, r.waited_s], [7, "timeout", 2]);
  assertStringIncludes(r.error!.message, "gave up after 2 s: key 1 is still in use");
  assertEquals(r.error?.users?.length, 1);
  // --wait alone: 3 x the window the daemon reports (5 s).
  s = scripted([IN_USE]);
  r = await rotateKey({ ...RETIRE, waitS: null, json: false }, s.io);
  assertEquals([r.exit_code, r.waited_s], [7, 15]);
  assertEquals(s.err, ["kad rotate-key: key 1 is still in use; waiting up to 15 s\n"]);
  const t: string[] = [];
  assertEquals(printReport(r, false, { ...s.io, err: (x) => t.push(x), out: (x) => t.push(x) }), 7);
  assertStringIncludes(t.join(""), "  VI_1: 192.0.2.11 signed with key 1 0.2 s ago\n");
});

Deno.test("rotateKey: every daemon reply and connection failure has its exit status", async () => {
  const cases: Array<[Reply, number, string]> = [
    [
      error("invalid_argument", "2 instances use auth_hmac", { reason: "instance_required" }),
      2,
      "usage",
    ],
    [error("not_found", "no vrrp_instance 'X' runs"), 1, "refused"],
    [error("refused", "VI_1 has no key 4", { reason: "no_such_key" }), 1, "refused"],
    [error("forbidden", "not root"), 4, "permission"],
    [error("timeout", "too slow"), 5, "no_answer"],
    [error("internal_error", "a bug"), 1, "refused"],
    [new ControlClientError("missing", "no socket"), 3, "no_daemon"],
    [new ControlClientError("refused", "nobody listens"), 3, "no_daemon"],
    [new ControlClientError("permission", "root only"), 4, "permission"],
    [new ControlClientError("timeout", "no answer"), 5, "no_answer"],
    [new ControlClientError("protocol", "gibberish"), 5, "no_answer"],
    [{ ok: true, id: 1, result: { something: "else" } }, 5, "no_answer"],
  ];
  for (const [reply, exit, code] of cases) {
    const r = await rotateKey(
      { command: "activate", socket: "/s", json: true, id: 2 },
      scripted([reply]).io,
    );
    assertEquals([r.exit_code, r.error?.code], [exit, code], JSON.stringify(reply));
    assertEquals(validate(rotateKeySchema(), r), []);
  }
});

Deno.test("rotateKey add: a file is sent as its path, standard input as hex, a terminal refused", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/k`, `hex:${KEY_HEX}\n`, { mode: 0o600 });
    await Deno.chmod(`${dir}/k`, 0o600);
    let s = scripted([done([{ instance: "VI_1", id: 2, action: "added" }])], { cwd: () => dir });
    let r = await rotateKey({
      command: "add",
      socket: "/s",
      json: true,
      id: 2,
      instance: "VI_1",
      keyFile: "k",
    }, s.io);
    assertEquals(r.exit_code, 0);
    assertEquals(s.asked[0], {
      cmd: "key-add",
      args: { instance: "VI_1", key_id: 2, key_file: `${dir}/k` },
    });
    s = scripted([done()]);
    r = await rotateKey({
      command: "add",
      socket: "/s",
      json: true,
      id: 2,
      all: true,
      keyFile: "-",
    }, s.io);
    assertEquals(r.exit_code, 0);
    assertEquals(s.asked[0], { cmd: "key-add", args: { all: true, key_id: 2, key_hex: KEY_HEX } });
    s = scripted([done()], { stdinIsTerminal: () => true });
    r = await rotateKey({ command: "add", socket: "/s", json: true, id: 2, keyFile: "-" }, s.io);
    assertEquals([r.exit_code, r.error?.code], [2, "usage"]);
    assertStringIncludes(r.error!.message, "standard input, which is a terminal");
    assertEquals(s.asked.length, 0);
  });
});
