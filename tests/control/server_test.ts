/**
 * The control server (lib/control/server.ts) on a real reactor and a real Unix socket in a
 * temporary directory: the socket file's mode and directory, removal at close, stale and
 * live sockets at start, and every refusal — malformed JSON, wrong version, unknown
 * command, oversized request, too many clients, idle and non-reading clients, a peer that
 * is not allowed — each answered without harm to the server, which keeps answering.
 */
import { assert, assertEquals, assertMatch, assertThrows } from "../_assert.ts";
import { waitFor } from "../harness/netns.ts";
import * as libc from "../../ffi/libc.ts";
import { ControlClient, ControlClientError } from "../../lib/control/client.ts";
import { CommandTable } from "../../lib/control/commands.ts";
import { type ControlLimits, ControlServer, ControlSocketError } from "../../lib/control/server.ts";
import { Reactor } from "../../lib/runtime/reactor.ts";
import type { Logger } from "../../lib/runtime/log.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const enc = new TextEncoder();
const dec = new TextDecoder();

const quiet: Logger = { detail: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function commands(): CommandTable {
  const t = new CommandTable();
  t.register("ping", { summary: "pong", handler: () => ({ pong: true }) });
  t.register("slow", {
    summary: "answers after 50 ms",
    handler: () => new Promise((r) => setTimeout(() => r({ slow: true }), 50)),
  });
  t.register("big", {
    summary: "a large reply",
    handler: () => ({ data: "x".repeat(4 * 1024 * 1024) }),
  });
  return t;
}

interface Running extends AsyncDisposable {
  readonly server: ControlServer;
  readonly path: string;
  readonly dir: string;
  readonly reactor: Reactor;
}

async function serve(
  options: { limits?: Partial<ControlLimits>; allowUid?: (uid: number) => boolean; sub?: string } =
    {},
): Promise<Running> {
  const dir = await Deno.makeTempDir({ prefix: "kad-ctl-" });
  const path = `${dir}/${options.sub ?? "run"}/kad.sock`;
  const reactor = Reactor.create();
  const server = ControlServer.open({
    path,
    reactor,
    table: commands(),
    log: quiet,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.allowUid === undefined ? {} : { allowUid: options.allowUid }),
  });
  const loop = reactor.run();
  return {
    server,
    path,
    dir,
    reactor,
    async [Symbol.asyncDispose]() {
      reactor.stop();
      await loop;
      server.close();
      reactor.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** A raw connection: send bytes, read reply lines. */
class Raw {
  #buf = "";
  private constructor(readonly conn: Deno.UnixConn) {}
  static async open(path: string): Promise<Raw> {
    return new Raw(await Deno.connect({ transport: "unix", path }));
  }
  async send(text: string | Uint8Array): Promise<void> {
    const b = typeof text === "string" ? enc.encode(text) : text;
    let off = 0;
    while (off < b.length) off += await this.conn.write(b.subarray(off));
  }
  /** The next reply line, parsed; null at end of stream. */
  async line(): Promise<Record<string, unknown> | null> {
    for (;;) {
      const nl = this.#buf.indexOf("\n");
      if (nl >= 0) {
        const l = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        return JSON.parse(l);
      }
      const chunk = new Uint8Array(1 << 16);
      const n = await this.conn.read(chunk).catch(() => null);
      if (n === null) return null;
      this.#buf += dec.decode(chunk.subarray(0, n));
    }
  }
  close(): void {
    try {
      this.conn.close();
    } catch {
      // closed
    }
  }
}

function errorCode(reply: Record<string, unknown> | null): unknown {
  return (reply?.["error"] as Record<string, unknown> | undefined)?.["code"];
}

async function ping(path: string): Promise<void> {
  const c = await ControlClient.connect(path);
  try {
    const r = await c.request("ping");
    assert(r.ok, "ping should succeed");
    assertEquals(r.result["pong"], true);
  } finally {
    c.close();
  }
}

Deno.test(
  "the socket is mode 0600 in a new 0700 directory, and removed at close",
  opts,
  async () => {
    const s = await serve({ sub: "a/b" });
    const path = s.path;
    try {
      assertEquals(Deno.statSync(path).mode! & 0o777, 0o600);
      assert(Deno.lstatSync(path).isSocket);
      assertEquals(Deno.statSync(`${s.dir}/a/b`).mode! & 0o777, 0o700);
      await ping(path);
    } finally {
      await s[Symbol.asyncDispose]();
    }
    let gone = false;
    try {
      Deno.lstatSync(path);
    } catch {
      gone = true;
    }
    assert(gone, "the socket file must be removed at close");
  },
);

Deno.test(
  "malformed JSON, a wrong version and an unknown command each get an error and the connection stays usable",
  opts,
  async () => {
    await using s = await serve();
    const raw = await Raw.open(s.path);
    try {
      await raw.send('{"v":1,"id":1,"cmd":"ping"\n');
      assertEquals(errorCode(await raw.line()), "malformed_json");
      await raw.send('{"v":9,"id":2,"cmd":"ping"}\n');
      const v = await raw.line();
      assertEquals(errorCode(v), "unsupported_version");
      assertEquals(v?.["id"], 2);
      await raw.send('{"v":1,"id":3,"cmd":"reboot"}\n');
      assertEquals(errorCode(await raw.line()), "unknown_command");
      await raw.send('{"v":1,"id":4,"cmd":"ping"}\r\n');
      assertEquals(await raw.line(), { v: 1, id: 4, ok: true, pong: true });
    } finally {
      raw.close();
    }
    assertEquals(s.server.stats.errors, 3);
    assertEquals(s.server.stats.requests, 4);
  },
);

Deno.test(
  "an oversized request is refused and its connection closed; others are served",
  opts,
  async () => {
    await using s = await serve();
    const raw = await Raw.open(s.path);
    try {
      // 70 000 bytes without a newline: more than the 64 KiB cap.
      await raw.send(`{"v":1,"cmd":"ping","pad":"${"x".repeat(70_000)}`).catch(() => {});
      assertEquals(errorCode(await raw.line()), "request_too_large");
      assertEquals(await raw.line(), null, "the connection must be closed");
    } finally {
      raw.close();
    }
    await ping(s.path);
    assertEquals(s.server.stats.dropped, 1);
  },
);

Deno.test(
  "pipelined requests are answered in order, even behind an asynchronous one",
  opts,
  async () => {
    await using s = await serve();
    const raw = await Raw.open(s.path);
    try {
      await raw.send(
        '{"v":1,"id":1,"cmd":"slow"}\n{"v":1,"id":2,"cmd":"ping"}\n{"v":1,"id":3,"cmd":"x"}\n',
      );
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await raw.line())?.["id"]);
      assertEquals(ids, [1, 2, 3]);
    } finally {
      raw.close();
    }
  },
);

Deno.test(
  "a last request without a newline is answered when the client shuts down its side",
  opts,
  async () => {
    await using s = await serve();
    const raw = await Raw.open(s.path);
    try {
      await raw.send('{"v":1,"id":"last","cmd":"ping"}');
      await raw.conn.closeWrite();
      assertEquals((await raw.line())?.["id"], "last");
      assertEquals(await raw.line(), null);
    } finally {
      raw.close();
    }
  },
);

Deno.test("one client too many is refused with too_many_clients", opts, async () => {
  await using s = await serve({ limits: { maxClients: 2 } });
  const a = await Raw.open(s.path);
  const b = await Raw.open(s.path);
  const c = await Raw.open(s.path);
  try {
    const r = await c.line();
    assertEquals(errorCode(r), "too_many_clients");
    assertEquals(await c.line(), null);
    await a.send('{"v":1,"id":1,"cmd":"ping"}\n');
    assertEquals((await a.line())?.["ok"], true);
  } finally {
    a.close();
    b.close();
    c.close();
  }
  await waitFor(() => s.server.clients === 0, 2_000, { what: "connections to close" });
  await ping(s.path);
  assertEquals(s.server.stats.refused, 1);
});

Deno.test(
  "a client that sends no complete request is timed out; a slow trickle too",
  opts,
  async () => {
    await using s = await serve({ limits: { idleTimeoutMs: 300 } });
    const idle = await Raw.open(s.path);
    const trickle = await Raw.open(s.path);
    try {
      const t0 = performance.now();
      // A byte every 50 ms never completes a request: it does not keep the connection alive.
      const dripping = (async () => {
        for (const ch of '{"v":1,"id":1,"cmd":"ping"') {
          await trickle.send(ch).catch(() => {});
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      assertEquals(errorCode(await idle.line()), "timeout");
      assertEquals(await idle.line(), null);
      const r = await trickle.line();
      assertEquals(errorCode(r), "timeout");
      assertMatch(
        String((r?.["error"] as Record<string, unknown>)["message"]),
        /one JSON request per line/,
      );
      const took = performance.now() - t0;
      assert(took >= 250 && took < 1_000, `timed out after ${took.toFixed(0)} ms, not ~300 ms`);
      await dripping;
    } finally {
      idle.close();
      trickle.close();
    }
    await ping(s.path);
  },
);

Deno.test(
  "a client that does not read its replies is dropped, and the server goes on",
  opts,
  async () => {
    await using s = await serve({
      limits: { idleTimeoutMs: 300, maxPendingBytes: 64 * 1024 * 1024 },
    });
    const raw = await Raw.open(s.path);
    try {
      // 20 replies of 4 MiB each, never read: the socket buffer fills and the server waits.
      for (let i = 0; i < 20; i++) await raw.send(`{"v":1,"id":${i},"cmd":"big"}\n`);
      await waitFor(() => s.server.stats.dropped === 1, 5_000, {
        what: "the reader to be dropped",
      });
      await ping(s.path);
    } finally {
      raw.close();
    }
  },
);

Deno.test("a peer that is not allowed is refused with forbidden", opts, async () => {
  await using s = await serve({ allowUid: () => false });
  const c = await ControlClient.connect(s.path);
  try {
    const r = await c.request("ping");
    assert(!r.ok);
    assertEquals(r.error.code, "forbidden");
    assertMatch(r.error.message, /run the command as root/);
  } finally {
    c.close();
  }
});

Deno.test(
  "a stale socket file is replaced; a live one makes a second server refuse",
  opts,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "kad-ctl-" });
    const path = `${dir}/kad.sock`;
    try {
      // A socket bound and closed leaves its file behind, as a killed daemon does.
      const fd = libc.socket(libc.AF_UNIX, libc.SOCK_STREAM, 0);
      libc.bind(fd, libc.sockaddrUnix(path));
      libc.close(fd);
      assert(Deno.lstatSync(path).isSocket);
      const lines: string[] = [];
      const log: Logger = { ...quiet, info: (m) => lines.push(m) };
      const reactor = Reactor.create();
      const first = ControlServer.open({ path, reactor, table: commands(), log });
      assertMatch(lines.join("\n"), /replaced .* no longer running/);
      try {
        const e = assertThrows(
          () => ControlServer.open({ path, reactor, table: commands(), log: quiet }),
          ControlSocketError,
          "another daemon is serving",
        );
        assertEquals((e as ControlSocketError).kind, "in_use");
      } finally {
        first.close();
        reactor.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("a path that is not a socket is refused, and left alone", opts, async () => {
  const dir = await Deno.makeTempDir({ prefix: "kad-ctl-" });
  const path = `${dir}/kad.sock`;
  await Deno.writeTextFile(path, "precious");
  const reactor = Reactor.create();
  try {
    const e = assertThrows(
      () => ControlServer.open({ path, reactor, table: commands(), log: quiet }),
      ControlSocketError,
      "is not a socket",
    );
    assertEquals((e as ControlSocketError).kind, "not_socket");
    assertEquals(await Deno.readTextFile(path), "precious");
  } finally {
    reactor.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the client names each way of not reaching a daemon", opts, async () => {
  const dir = await Deno.makeTempDir({ prefix: "kad-ctl-" });
  try {
    const kinds: string[] = [];
    for (const path of [`${dir}/none.sock`, `${dir}/file`, `${dir}/stale.sock`]) {
      if (path.endsWith("file")) await Deno.writeTextFile(path, "");
      if (path.endsWith("stale.sock")) {
        const fd = libc.socket(libc.AF_UNIX, libc.SOCK_STREAM, 0);
        libc.bind(fd, libc.sockaddrUnix(path));
        libc.close(fd);
      }
      try {
        await ControlClient.connect(path);
      } catch (e) {
        assert(e instanceof ControlClientError);
        kinds.push(e.kind);
      }
    }
    assertEquals(kinds, ["missing", "not_socket", "refused"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
