/**
 * Test helpers for the HTTP check engine and genhash: local servers on loopback that record
 * each request and answer with exactly the bytes a test chooses (raw node:net or node:tls,
 * so malformed responses are possible), a self-signed certificate made with `openssl`, and
 * runners for Debian's /usr/bin/genhash and for `./kad`. Used by tests and bench/genhash.ts.
 */
import * as net from "node:net";
import * as tls from "node:tls";

/** One request as the server received it. */
export interface ReceivedRequest {
  /** The request target of the request line. */
  readonly path: string;
  /** The raw request bytes up to and including the empty line. */
  readonly text: string;
  /** TLS SNI sent by the client (false when none); undefined for plain servers. */
  readonly servername: string | false | undefined;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** Decides the answer; may write, end, hold or reset the socket. */
export type Responder = (req: ReceivedRequest, socket: net.Socket) => void | Promise<void>;

export interface TestServer {
  readonly host: string;
  readonly port: number;
  readonly requests: ReceivedRequest[];
  close(): Promise<void>;
}

export interface Certificate {
  readonly cert: string;
  readonly key: string;
}

let certificate: Promise<Certificate> | undefined;

/** A self-signed EC certificate for CN=localhost, made once per process with openssl. */
export function selfSignedCertificate(): Promise<Certificate> {
  certificate ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "kad-cert-" });
    try {
      const { code, stderr } = await new Deno.Command("openssl", {
        args: [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:prime256v1",
          "-nodes",
          "-keyout",
          `${dir}/key.pem`,
          "-out",
          `${dir}/cert.pem`,
          "-days",
          "2",
          "-subj",
          "/CN=localhost",
        ],
        stdout: "null",
        stderr: "piped",
      }).output();
      if (code !== 0) throw new Error(`openssl failed: ${new TextDecoder().decode(stderr)}`);
      return {
        cert: await Deno.readTextFile(`${dir}/cert.pem`),
        key: await Deno.readTextFile(`${dir}/key.pem`),
      };
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return certificate;
}

/**
 * Start a server on `host` (default 127.0.0.1), an ephemeral port; with `tls`, a TLS server
 * with that certificate. Each connection's request is read up to the empty line (or 64 KiB),
 * recorded, and handed to `respond`.
 */
export async function startServer(
  respond: Responder,
  options: { readonly host?: string; readonly tls?: Certificate } = {},
): Promise<TestServer> {
  const host = options.host ?? "127.0.0.1";
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const onSocket = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffered = "";
    const onData = (d: Uint8Array) => {
      buffered += new TextDecoder("latin1").decode(d);
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0 && buffered.length < 65536) return;
      socket.off("data", onData);
      const text = end < 0 ? buffered : buffered.slice(0, end + 4);
      const servername = socket instanceof tls.TLSSocket
        ? (socket as tls.TLSSocket & { servername?: string | false }).servername ?? false
        : undefined;
      const req: ReceivedRequest = {
        path: text.split(" ")[1] ?? "",
        text,
        servername,
        remoteAddress: socket.remoteAddress ?? "",
        remotePort: socket.remotePort ?? 0,
      };
      requests.push(req);
      Promise.resolve(respond(req, socket)).catch(() => socket.destroy());
    };
    socket.on("data", onData);
  };
  const server = options.tls
    ? tls.createServer({ cert: options.tls.cert, key: options.tls.key }, onSocket)
    : net.createServer(onSocket);
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    host,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Send the bytes and close (FIN), like a server that answers and hangs up. */
export function reply(bytes: string | Uint8Array): Responder {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  return (_req, socket) => {
    // Deno's node:tls server does not close on end() with an empty buffer.
    if (data.length === 0) socket.end();
    else socket.end(data);
  };
}

/** Pick the responder by request path; unknown paths get a 404 page. */
export function byPath(routes: Readonly<Record<string, Responder>>): Responder {
  return (req, socket) => {
    const r = routes[req.path] ?? reply("HTTP/1.0 404 Not Found\r\n\r\nno such test route\n");
    return r(req, socket);
  };
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

async function run(
  cmd: string,
  args: readonly string[],
  env?: Record<string, string>,
): Promise<RunResult> {
  const t0 = performance.now();
  const out = await new Deno.Command(cmd, {
    args: [...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    signal: AbortSignal.timeout(20_000),
    ...(env !== undefined ? { env } : {}),
  }).output();
  const dec = new TextDecoder("latin1");
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    ms: performance.now() - t0,
  };
}

/** Debian's keepalived 2.2.7 genhash. */
export const DEBIAN_GENHASH = "/usr/bin/genhash";

/** Run Debian's genhash. */
export function runDebianGenhash(args: readonly string[]): Promise<RunResult> {
  return run(DEBIAN_GENHASH, args);
}

/** The repository's `kad` launcher. */
export const KAD = new URL("../../kad", import.meta.url).pathname;

/** Run `./kad` with the given arguments. */
export function runKad(args: readonly string[], env?: Record<string, string>): Promise<RunResult> {
  return run(KAD, args, env);
}

/** Replace the number in "Global response time for [...] = N usecs" lines by N. */
export function maskResponseTime(text: string): string {
  return text.replace(/^(Global response time for \[.*\] = )\d+( usecs)$/gm, "$1N$2");
}
