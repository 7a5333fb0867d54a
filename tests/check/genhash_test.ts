/**
 * genhash against real local servers, side by side with Debian's keepalived 2.2.7 genhash
 * (/usr/bin/genhash) in the same test: same digests, same messages, same request bytes,
 * and the digests and messages of spec/lvs.md §3.4. kad runs in-process through
 * `runGenhashArgv` (the `genhash` name's code path) and as `./kad genhash` subprocesses.
 */
import { createHash } from "node:crypto";
import { lookup } from "node:dns/promises";
import * as net from "node:net";
import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { type GenhashIo, runGenhashArgv } from "../../commands/genhash.ts";
import * as libc from "../../ffi/libc.ts";
import {
  byPath,
  type Certificate,
  maskResponseTime,
  reply,
  type Responder,
  runDebianGenhash,
  runKad,
  selfSignedCertificate,
  startServer,
  type TestServer,
} from "./_servers.ts";

const BODY = "Hello, keepalived!\n";
const md5 = (data: string | Uint8Array) => createHash("md5").update(data).digest("hex");
const NO_DATA = "no data received from remote webserver\n";

interface KadRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** kad's genhash in this process, output captured. */
async function kadGenhash(args: readonly string[]): Promise<KadRun> {
  let stdout = "";
  let stderr = "";
  const io: GenhashIo = { out: (t) => (stdout += t), err: (t) => (stderr += t) };
  const code = await runGenhashArgv(args, io);
  return { code, stdout, stderr };
}

/**
 * Run keepalived's genhash and kad's with the same arguments, concurrently. A 5 s timeout
 * is added unless the test sets one (keepalived's default is 71 minutes).
 */
async function both(given: readonly string[]) {
  const args = given.includes("-t") ? given : [...given, "-t", "5"];
  const [debian, kad] = await Promise.all([runDebianGenhash(args), kadGenhash(args)]);
  return { debian, kad };
}

async function withServer<T>(
  respond: Responder,
  fn: (s: TestServer) => Promise<T>,
  opts: { readonly host?: string; readonly tls?: Certificate } = {},
): Promise<T> {
  const server = await startServer(respond, opts);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

function header4095(): string {
  const head = "HTTP/1.1 200 OK\r\nX: ";
  return head + "a".repeat(4095 - head.length - 4) + "\r\n\r\nabc";
}

const BINARY = new Uint8Array(1_000_000).map((_, i) => (i * 31 + (i >> 8)) & 0xff);
const binaryResponse = (() => {
  const head = new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 999990\r\n\r\n");
  const all = new Uint8Array(head.length + BINARY.length);
  all.set(head);
  all.set(BINARY, head.length);
  return all;
})();

/** Canned responses; `digest` undefined means keepalived finds no header ("no data"). */
const CASES: ReadonlyArray<
  { path: string; response: string | Uint8Array; digest: string | undefined }
> = [
  {
    path: "/content-length",
    response: `HTTP/1.1 200 OK\r\nContent-Length: 19\r\nContent-Type: text/plain\r\n\r\n${BODY}`,
    digest: "ba5cc6d9a6f57810715720369fae4d79",
  },
  {
    path: "/no-content-length",
    response: `HTTP/1.0 200 OK\r\n\r\n${BODY}`,
    digest: "ba5cc6d9a6f57810715720369fae4d79",
  },
  {
    path: "/chunked",
    response: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n13\r\n${BODY}\r\n0\r\n\r\n`,
    digest: "c29e04234102819fb0e483870903ac5a",
  },
  {
    path: "/short-content-length",
    response: `HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n${BODY}`,
    digest: "8b1a9953c4611296a827abf8c47804d7",
  },
  {
    path: "/lower-case-content-length",
    response: `HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n${BODY}`,
    digest: "ba5cc6d9a6f57810715720369fae4d79",
  },
  {
    path: "/long-content-length",
    response: `HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n${BODY}`,
    digest: "ba5cc6d9a6f57810715720369fae4d79",
  },
  {
    path: "/not-found",
    response: `HTTP/1.1 404 Not Found\r\n\r\n${BODY}`,
    digest: "ba5cc6d9a6f57810715720369fae4d79",
  },
  {
    path: "/no-content",
    response: "HTTP/1.1 204 No Content\r\n\r\n",
    digest: "d41d8cd98f00b204e9800998ecf8427e",
  },
  {
    path: "/lf-only",
    response: `HTTP/1.1 200 OK\nContent-Length: 19\n\n${BODY}`,
    digest: undefined,
  },
  { path: "/empty", response: "", digest: undefined },
  { path: "/cut-header", response: "HTTP/1.1 200 OK\r\nContent-", digest: undefined },
  {
    path: "/content-length-in-body",
    response: `HTTP/1.1 200 OK\r\nX: 1\r\n\r\nContent-Length: 5\r\n${BODY}`,
    digest: md5("Conte"),
  },
  {
    path: "/x-content-length",
    response: `HTTP/1.1 200 OK\r\nX-Content-Length: 5\r\n\r\n${BODY}`,
    digest: md5("Hello"),
  },
  {
    path: "/valueless-content-length",
    response: `HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n${BODY}`,
    digest: md5(""),
  },
  {
    path: "/negative-content-length",
    response: `HTTP/1.1 200 OK\r\nContent-Length: -18446744073709551615\r\n\r\n${BODY}`,
    digest: md5("H"),
  },
  {
    path: "/trailing-space",
    response: `HTTP/1.1 200 OK\r\nContent-Length: 5 \r\n\r\n${BODY}`,
    digest: md5(BODY),
  },
  { path: "/header-4095", response: header4095(), digest: md5("abc") },
  { path: "/header-4096", response: header4095().replace("X: ", "X: a"), digest: undefined },
  { path: "/binary", response: binaryResponse, digest: md5(BINARY.subarray(0, 999_990)) },
];

const routes: Record<string, Responder> = Object.fromEntries(
  CASES.map((c) => [c.path, reply(c.response)]),
);

Deno.test("plain HTTP: kad prints what keepalived's genhash prints, with the spec's digests", async () => {
  await withServer(byPath(routes), async (server) => {
    const port = String(server.port);
    const results = await Promise.all(
      CASES.map(async (c) => ({
        c,
        ...(await both(["-s", "127.0.0.1", "-p", port, "-u", c.path])),
      })),
    );
    for (const { c, debian, kad } of results) {
      assertEquals(debian.code, 0, `${c.path}: keepalived's genhash exits 0`);
      if (c.digest !== undefined) {
        assertEquals([debian.stdout, debian.stderr], [`${c.digest}\n`, ""], c.path);
      } else assertEquals([debian.stdout, debian.stderr], ["", NO_DATA], c.path);
      assertEquals(
        [kad.stdout, kad.stderr],
        [debian.stdout, debian.stderr],
        `${c.path}: same output`,
      );
      assertEquals(kad.code, c.digest !== undefined ? 0 : 2, `${c.path}: kad's exit status`);
      const sent = server.requests.filter((r) => r.path === c.path).map((r) => r.text);
      assertEquals(sent.length, 2, c.path);
      assertEquals(sent[0], sent[1], `${c.path}: same request bytes`);
    }
    assertEquals(
      server.requests[0]?.text,
      `GET ${
        server.requests[0]?.path
      } HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:${port}\r\n\r\n`,
    );
  });
});

Deno.test("./kad genhash with repeated -u prints one line per URL, and --config blocks", async () => {
  await withServer(byPath(routes), async (server) => {
    const port = String(server.port);
    const urls = CASES.flatMap((c) => ["-u", c.path]);
    const all = await runKad(["genhash", "-s", "127.0.0.1", "-p", port, ...urls]);
    assertEquals(all.code, 2);
    const expectOut = CASES.filter((c) => c.digest !== undefined).map((c) =>
      `${c.digest}  ${c.path}\n`
    ).join("");
    const expectErr = CASES.filter((c) => c.digest === undefined).map((c) =>
      `${NO_DATA.trimEnd()}  ${c.path}\n`
    ).join("");
    assertEquals([all.stdout, all.stderr], [expectOut, expectErr]);

    const good = await runKad([
      "genhash",
      "-s",
      "127.0.0.1",
      "-p",
      port,
      "-u",
      "/chunked",
      "-u",
      "/not-found",
      "--config",
    ]);
    assertEquals(good.code, 0);
    assertEquals(
      good.stdout,
      "url {\n    path /chunked\n    digest c29e04234102819fb0e483870903ac5a\n}\n" +
        "url {\n    path /not-found\n    digest ba5cc6d9a6f57810715720369fae4d79\n    status_code 404\n}\n",
    );
  });
});

Deno.test("./kad genhash --json reports digest, status, bytes and time per URL", async () => {
  // -s takes a host name: serve on the address the system resolver gives for localhost.
  const { address: localhost } = await lookup("localhost");
  await withServer(byPath(routes), async (server) => {
    const r = await runKad([
      "genhash",
      "-s",
      "localhost",
      "-p",
      String(server.port),
      "-u",
      "/short-content-length",
      "-u",
      "/lf-only",
      "--json",
    ]);
    assertEquals(r.code, 2);
    const [ok, bad] = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert(typeof ok.timeUs === "number" && ok.timeUs > 0);
    assertEquals({ ...ok, timeUs: 0 }, {
      url: "/short-content-length",
      server: localhost,
      port: server.port,
      tls: false,
      digest: "8b1a9953c4611296a827abf8c47804d7",
      status: 200,
      contentLength: 5,
      headerBytes: 38,
      bodyBytes: 19,
      hashedBytes: 5,
      timeUs: 0,
      error: null,
    });
    assertEquals([bad.digest, bad.status, bad.error], [null, null, NO_DATA.trimEnd()]);
  }, { host: localhost });
});

Deno.test("-v output is byte for byte keepalived's, apart from the measured time", async () => {
  const big = `HTTP/1.1 200 OK\r\nContent-Length: 150000\r\n\r\n` +
    "0123456789abcdef".repeat(10000);
  const verboseRoutes = { ...routes, "/big": reply(big) };
  await withServer(byPath(verboseRoutes), async (server) => {
    const port = String(server.port);
    const paths = [
      "/content-length",
      "/chunked",
      "/no-content",
      "/lf-only",
      "/header-4095",
      "/big",
    ];
    for (const path of paths) {
      const { debian, kad } = await both(["-s", "127.0.0.1", "-p", port, "-u", path, "-v"]);
      assertStringIncludes(debian.stdout, "Global response time for [");
      assertEquals(maskResponseTime(kad.stdout), maskResponseTime(debian.stdout), path);
      assertEquals(kad.stderr, debian.stderr, path);
    }
  });
});

Deno.test("IPv6: Host is bracketed, -P and -V change the request the same way", async () => {
  await withServer(byPath(routes), async (server) => {
    const port = String(server.port);
    for (const extra of [[], ["-P", "1.1"], ["-P", "1.0c", "-V", "www.example.com"]]) {
      const { debian, kad } = await both(["-s", "::1", "-p", port, "-u", "/chunked", ...extra]);
      assertEquals([kad.stdout, debian.stdout], [
        "c29e04234102819fb0e483870903ac5a\n",
        "c29e04234102819fb0e483870903ac5a\n",
      ]);
    }
    const texts = server.requests.map((r) => r.text);
    assertEquals(texts.length, 6);
    for (let i = 0; i < 6; i += 2) assertEquals(texts[i], texts[i + 1]);
    assertEquals(
      texts[2],
      `GET /chunked HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [::1]:${port}\r\n\r\n`,
    );
    assertEquals(
      texts[4],
      "GET /chunked HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.com\r\n\r\n",
    );
  }, { host: "::1" });
});

Deno.test("a real node:http server: 1.0 hashes the body, 1.1 hashes the chunk framing too", async () => {
  const http = await import("node:http");
  const page = "<html><body>kad genhash</body></html>\n";
  const server = http.createServer((_req, res) => {
    res.setHeader("Content-Type", "text/html");
    res.write(page.slice(0, 10));
    res.end(page.slice(10));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  try {
    const port = String((server.address() as net.AddressInfo).port);
    const v10 = await both(["-s", "127.0.0.1", "-p", port, "-u", "/"]);
    assertEquals([v10.kad.stdout, v10.debian.stdout], [`${md5(page)}\n`, `${md5(page)}\n`]);
    const v11 = await both(["-s", "127.0.0.1", "-p", port, "-u", "/", "-P", "1.1"]);
    assertEquals(v11.kad.stdout, v11.debian.stdout);
    assert(v11.kad.stdout !== `${md5(page)}\n`, "a chunked body is hashed with its framing");
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

Deno.test("HTTPS with a self-signed certificate: same digests, SNI only with -I and -V", async () => {
  const cert: Certificate = await selfSignedCertificate();
  await withServer(byPath(routes), async (server) => {
    const port = String(server.port);
    const paths = [
      "/content-length",
      "/chunked",
      "/no-content",
      "/not-found",
      "/lf-only",
      "/empty",
      "/binary",
    ];
    for (const path of paths) {
      const { debian, kad } = await both(["-S", "-s", "127.0.0.1", "-p", port, "-u", path]);
      assertEquals([kad.stdout, kad.stderr], [debian.stdout, debian.stderr], path);
    }
    // Without a complete header, 2.2.7 reports a TLS close (with close_notify) this way.
    const noHeader = await both(["-S", "-s", "127.0.0.1", "-p", port, "-u", "/lf-only"]);
    assertEquals([noHeader.kad.stdout, noHeader.kad.code], ["SSL read error from\n", 2]);
    for (const path of ["/content-length", "/lf-only", "/header-4096"]) {
      const verbose = await both(["-S", "-s", "127.0.0.1", "-p", port, "-u", path, "-v"]);
      assertEquals(
        maskResponseTime(verbose.kad.stdout),
        maskResponseTime(verbose.debian.stdout),
        path,
      );
    }
    server.requests.length = 0;
    await both([
      "-S",
      "-I",
      "-V",
      "sni.example.org",
      "-s",
      "127.0.0.1",
      "-p",
      port,
      "-u",
      "/chunked",
    ]);
    await both(["-S", "-V", "no-sni.example.org", "-s", "127.0.0.1", "-p", port, "-u", "/chunked"]);
    await both(["-S", "-I", "-s", "127.0.0.1", "-p", port, "-u", "/chunked"]);
    assertEquals(server.requests.map((r) => r.servername), [
      "sni.example.org",
      "sni.example.org",
      false,
      false,
      false,
      false,
    ]);
    assertEquals(server.requests[0]?.text, server.requests[1]?.text);
    assertStringIncludes(server.requests[2]?.text ?? "", "Host: no-sni.example.org\r\n");
  }, { tls: cert });
});

/** A listening socket whose accept queue is full, so further SYNs go unanswered. */
async function fullBacklog(): Promise<{ port: number; close: () => void }> {
  const fd = libc.socket(libc.AF_INET, libc.SOCK_STREAM | libc.SOCK_CLOEXEC, libc.IPPROTO_TCP);
  libc.bind(fd, libc.sockaddr(new Uint8Array([127, 0, 0, 1]), 0));
  libc.listen(fd, 0);
  const port = libc.sockaddrPort(libc.getsockname(fd));
  const fillers = [0, 1, 2].map(() =>
    net.connect({ host: "127.0.0.1", port }).on("error", () => {})
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  return {
    port,
    close: () => {
      for (const f of fillers) f.destroy();
      libc.close(fd);
    },
  };
}

Deno.test("silent, slow and refusing servers give keepalived's messages (-t 1)", async () => {
  const cert = await selfSignedCertificate();
  const hold: Responder = () => {};
  const dripped: Responder = async (_req, socket) => {
    const text = `HTTP/1.0 200 OK\r\n\r\n${BODY}`;
    // 10 pieces 150 ms apart: every gap is far below 1 s, the whole far above.
    for (let i = 0; i < text.length; i += 4) {
      socket.write(text.slice(i, i + 4));
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    socket.end();
  };
  const plain = await startServer(byPath({
    "/silent": hold,
    "/partial-header": (_r, s) => void s.write("HTTP/1.1 200 OK\r\n"),
    "/partial-body": (_r, s) => void s.write("HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\nHello"),
    "/drip": dripped,
  }));
  const secure = await startServer(
    byPath({ "/partial-header": (_r, s) => void s.write("HTTP/1.1 200 OK\r\n"), "/drip": dripped }),
    { tls: cert },
  );
  const backlog = await fullBacklog();
  const closed = await startServer(hold);
  await closed.close();
  try {
    const p = String(plain.port);
    const s = String(secure.port);
    const cases: Array<[string[], string, number]> = [
      [["-p", p, "-u", "/silent"], "Timeout WEB read\n", 2],
      [["-p", p, "-u", "/partial-header"], "Timeout HTTP read\n", 2],
      [["-p", p, "-u", "/partial-body"], "Timeout HTTP read\n", 2],
      [["-p", p, "-u", "/drip"], `${md5(BODY)}\n`, 0],
      [["-S", "-p", s, "-u", "/partial-header"], "Timeout SSL read\n", 2],
      [["-S", "-p", s, "-u", "/drip"], "Timeout SSL read\n", 2],
      [["-S", "-p", p, "-u", "/silent"], "Timeout connecting\n", 2],
      [["-p", String(backlog.port), "-u", "/"], "Timeout connecting\n", 2],
      [["-p", String(closed.port), "-u", "/"], "Connection failed\n", 2],
    ];
    const t0 = performance.now();
    const results = await Promise.all(
      cases.map(([args]) => both(["-s", "127.0.0.1", "-t", "1", ...args])),
    );
    assert(performance.now() - t0 < 6000, "every case ends within its timeouts");
    results.forEach(({ debian, kad }, i) => {
      const [args, message, code] = cases[i]!;
      assertEquals([debian.stdout, debian.code], [message, 0], `keepalived, ${args.join(" ")}`);
      assertEquals(
        [kad.stdout, kad.stderr, kad.code],
        [message, "", code],
        `kad, ${args.join(" ")}`,
      );
    });
  } finally {
    backlog.close();
    await plain.close();
    await secure.close();
  }
});

Deno.test("network unreachable and a reset connection read like keepalived's", async () => {
  const unreachable = await both(["-s", "255.255.255.255", "-p", "80", "-u", "/", "-t", "2"]);
  assertEquals([unreachable.debian.stdout, unreachable.kad.stdout], [
    "HTTP_CHECK - network unreachable\n",
    "HTTP_CHECK - network unreachable\n",
  ]);
  const reset: Responder = (_req, socket) => {
    socket.write("HTTP/1.0 200 OK\r\n\r\nabc");
    setTimeout(() => socket.resetAndDestroy(), 50);
  };
  await withServer(reset, async (server) => {
    const { debian, kad } = await both([
      "-s",
      "127.0.0.1",
      "-p",
      String(server.port),
      "-u",
      "/",
      "-t",
      "2",
    ]);
    assertEquals([debian.stdout, kad.stdout, kad.code], [
      "Read error with\n",
      "Read error with\n",
      2,
    ]);
  });
});

Deno.test("-m sets SO_MARK on the connection, as keepalived's -m does", async () => {
  const seen: string[] = [];
  const showMark: Responder = async (req, socket) => {
    const out = await new Deno.Command("ss", {
      args: ["-tnHe", "state", "established", "src", `${req.remoteAddress}:${req.remotePort}`],
      stdout: "piped",
    }).output();
    seen.push(/fwmark:(0x[0-9a-f]+)/.exec(new TextDecoder().decode(out.stdout))?.[1] ?? "none");
    socket.end(`HTTP/1.0 200 OK\r\n\r\n${BODY}`);
  };
  await withServer(showMark, async (server) => {
    const port = String(server.port);
    const marked = await both(["-s", "127.0.0.1", "-p", port, "-u", "/", "-m", "7"]);
    assertEquals([marked.debian.stdout, marked.kad.stdout], [`${md5(BODY)}\n`, `${md5(BODY)}\n`]);
    const unmarked = await kadGenhash(["-s", "127.0.0.1", "-p", port, "-u", "/"]);
    assertEquals(unmarked.stdout, `${md5(BODY)}\n`);
    assertEquals(seen.sort(), ["0x7", "0x7", "none"]);
  });
});
