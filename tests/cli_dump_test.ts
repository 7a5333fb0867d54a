/**
 * `kad dump` as a user runs it, without a running daemon: every way of not reaching one
 * gives a clear message saying what to do and its documented exit status (3 no daemon,
 * 4 permission denied, 2 usage), never a stack trace or a hang. The permission cases run
 * `kad dump` as user nobody (setpriv): once against a root-only socket (the file mode
 * stops it) and once against a socket whose mode would let it in (SO_PEERCRED stops it).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { CommandTable } from "../lib/control/commands.ts";
import { ControlServer } from "../lib/control/server.ts";
import { Reactor } from "../lib/runtime/reactor.ts";
import * as libc from "../ffi/libc.ts";

const root = new URL("..", import.meta.url).pathname;
const KAD = `${root}kad`;
const opts = { sanitizeOps: false, sanitizeResources: false };

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], env: Record<string, string> = {}): Promise<Out> {
  const [program, ...args] = argv;
  const r = await new Deno.Command(program as string, {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
    signal: AbortSignal.timeout(30_000),
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

const kad = (args: string[]) => run([KAD, ...args]);

/** `kad ARGS` as user nobody (uid 65534), with a Deno cache it may write. */
async function kadAsNobody(args: string[], cache: string): Promise<Out> {
  return await run(
    ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", KAD, ...args],
    { HOME: cache, DENO_DIR: cache },
  );
}

function assertClean(o: Out): void {
  const all = o.stdout + o.stderr;
  assert(!/^\s+at .*:\d+:\d+\)?$/m.test(all), `stack trace in output:\n${all}`);
  assert(!all.includes("internal error"), `internal error in output:\n${all}`);
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "kad-cli-dump-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("kad --help lists dump, and dump --help its options and exit statuses", async () => {
  const top = await kad(["--help"]);
  assertEquals(top.code, 0);
  assertMatch(top.stdout, /\n\s+dump \[options\]\s+show the live state/);
  const o = await kad(["dump", "--help"]);
  assertEquals(o.code, 0);
  for (
    const s of ["--json", "--stats", "--instance <NAME>", "--watch [SECONDS]", "--control-socket"]
  ) {
    assertStringIncludes(o.stdout, s);
  }
  assertStringIncludes(o.stdout, "3 no daemon is running");
});

Deno.test("no socket: exit 3 and a message saying how to start or find the daemon", async () => {
  await withDir(async (dir) => {
    const o = await kad(["dump", "--control-socket", `${dir}/kad.sock`]);
    assertClean(o);
    assertEquals(o.code, 3);
    assertEquals(o.stdout, "");
    assertMatch(
      o.stderr,
      /^kad dump: no kad daemon is running here: control socket '.*' does not exist/,
    );
    assertStringIncludes(o.stderr, "Start the daemon with 'kad run'");
  });
});

Deno.test("a socket left by a daemon that died: exit 3, nobody is listening", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/kad.sock`;
    const fd = libc.socket(libc.AF_UNIX, libc.SOCK_STREAM, 0);
    libc.bind(fd, libc.sockaddrUnix(path));
    libc.close(fd);
    const o = await kad(["dump", "--json", "--control-socket", path]);
    assertClean(o);
    assertEquals(o.code, 3);
    assertStringIncludes(o.stderr, "no kad daemon is listening on control socket");
  });
});

Deno.test("a path that is not a socket: exit 3, naming the file", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/not.sock`, "");
    const o = await kad(["dump", "--stats", "--control-socket", `${dir}/not.sock`]);
    assertClean(o);
    assertEquals(o.code, 3);
    assertStringIncludes(o.stderr, "is not a control socket");
  });
});

Deno.test("bad --watch values and unknown options are usage errors (exit 2)", async () => {
  for (const args of [["--watch", "0"], ["--watch", "soon"], ["--watch", "-1"], ["--bogus"]]) {
    const o = await kad(["dump", ...args, "--control-socket", "/nonexistent/kad.sock"]);
    assertClean(o);
    assertEquals(o.code, 2, `kad dump ${args.join(" ")}: ${o.stderr}`);
  }
});

Deno.test(
  "a user who may not open the root-only socket gets exit 4 and is told to use root",
  opts,
  async () => {
    await withDir(async (dir) => {
      const cache = await Deno.makeTempDir({ prefix: "kad-nobody-" });
      await Deno.chmod(cache, 0o777);
      try {
        const reactor = Reactor.create();
        const path = `${dir}/run/kad.sock`;
        const server = ControlServer.open({
          path,
          reactor,
          table: new CommandTable(),
          log: { detail() {}, info() {}, warn() {}, error() {} },
        });
        const loop = reactor.run();
        try {
          await Deno.chmod(dir, 0o755);
          const o = await kadAsNobody(["dump", "--control-socket", path], cache);
          assertClean(o);
          assertEquals(o.code, 4, o.stderr);
          assertStringIncludes(o.stderr, "permission denied on control socket");
          assertStringIncludes(o.stderr, "run the command as root");
          // The socket's mode would let nobody in: the daemon itself refuses (SO_PEERCRED).
          await Deno.chmod(`${dir}/run`, 0o755);
          await Deno.chmod(path, 0o666);
          const p = await kadAsNobody(["dump", "--control-socket", path], cache);
          assertClean(p);
          assertEquals(p.code, 4, p.stderr);
          assertStringIncludes(p.stderr, "user 65534 may not use the control socket");
          assertEquals(server.stats.refused, 1);
        } finally {
          reactor.stop();
          await loop;
          server.close();
          reactor.close();
        }
      } finally {
        await Deno.remove(cache, { recursive: true });
      }
    });
  },
);
