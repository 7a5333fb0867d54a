/**
 * The I/O engine on its own, against local servers: source address (bindto/bind_port)
 * through node:net and through the libc socket used for a fwmark, early stop, and the
 * outcome and errno code of failures.
 */
import { assert, assertEquals } from "../_assert.ts";
import { httpFetch, type HttpFetchOptions } from "../../lib/check/http_fetch.ts";
import { httpRequestBytes } from "../../lib/check/http_request.ts";
import { parseIp } from "../../lib/net/ipaddr.ts";
import { reply, type Responder, startServer } from "./_servers.ts";

function options(port: number, extra: Partial<HttpFetchOptions> = {}): HttpFetchOptions {
  return {
    address: parseIp("127.0.0.1")!,
    port,
    connectTimeoutMs: 2000,
    readTimeoutMs: 2000,
    request: httpRequestBytes({ path: "/", protocol: "1.0", host: "test" }),
    onData: () => true,
    ...extra,
  };
}

Deno.test("bindto and bind_port choose the source address, with and without a fwmark", async () => {
  const server = await startServer(reply("HTTP/1.0 200 OK\r\n\r\nok"));
  try {
    const viaNode = await httpFetch(options(server.port, { bindto: parseIp("127.0.0.2")! }));
    const viaLibc = await httpFetch(
      options(server.port, { bindto: parseIp("127.0.0.3")!, bindPort: 40123, fwmark: 5 }),
    );
    const viaNodePort = await httpFetch(
      options(server.port, { bindto: parseIp("127.0.0.4")!, bindPort: 40124 }),
    );
    assertEquals([viaNode.outcome, viaLibc.outcome, viaNodePort.outcome], ["eof", "eof", "eof"]);
    assertEquals(server.requests.map((r) => r.remoteAddress), [
      "127.0.0.2",
      "127.0.0.3",
      "127.0.0.4",
    ]);
    assertEquals([server.requests[1]?.remotePort, server.requests[2]?.remotePort], [40123, 40124]);
  } finally {
    await server.close();
  }
});

Deno.test("returning false from onData ends the attempt as eof without waiting for the peer", async () => {
  const hold: Responder = (_req, socket) => void socket.write("HTTP/1.0 200 OK\r\n\r\nstart");
  const server = await startServer(hold);
  try {
    const t0 = performance.now();
    let chunks = 0;
    const res = await httpFetch(options(server.port, { onData: () => (++chunks, false) }));
    assertEquals([res.outcome, chunks, res.bytesReceived], ["eof", 1, 24]);
    assert(performance.now() - t0 < 1000);
  } finally {
    await server.close();
  }
});

Deno.test("failures carry the outcome and errno code, through node:net and through libc", async () => {
  const server = await startServer(reply(""));
  await server.close();
  for (const fwmark of [0, 9]) {
    const refused = await httpFetch(options(server.port, { fwmark }));
    assertEquals([refused.outcome, refused.code, refused.bytesReceived], [
      "connect-failed",
      "ECONNREFUSED",
      0,
    ]);
    const foreign = await httpFetch(
      options(server.port, { fwmark, bindto: parseIp("192.0.2.77")! }),
    );
    // bind(2) says EADDRNOTAVAIL; Deno's node:net reports it as EINVAL.
    assertEquals(foreign.outcome, "connect-error", `fwmark ${fwmark}`);
    assert(
      ["EADDRNOTAVAIL", "EINVAL"].includes(foreign.code ?? ""),
      `fwmark ${fwmark}: ${foreign.code}`,
    );
    const unreachable = await httpFetch({
      ...options(80, { fwmark }),
      address: parseIp("255.255.255.255")!,
    });
    assertEquals([unreachable.outcome, unreachable.code], ["net-unreachable", "ENETUNREACH"]);
  }
});

Deno.test("a plain read timer restarts on every chunk; a silent peer times out once", async () => {
  const drip: Responder = async (_req, socket) => {
    for (const piece of ["HTTP/1.0 200 OK\r\n", "\r\n", "a", "b", "c"]) {
      socket.write(piece);
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
    socket.end();
  };
  const server = await startServer(drip);
  try {
    const t0 = performance.now();
    const res = await httpFetch(options(server.port, { readTimeoutMs: 400 }));
    assertEquals([res.outcome, res.bytesReceived], ["eof", 22]);
    assert(performance.now() - t0 > 400, "the whole response took longer than one read timeout");
  } finally {
    await server.close();
  }
  const silent = await startServer(() => {});
  try {
    const res = await httpFetch(options(silent.port, { readTimeoutMs: 300 }));
    assertEquals([res.outcome, res.bytesReceived], ["read-timeout", 0]);
  } finally {
    await silent.close();
  }
});
