/**
 * The network side of one HTTP_GET/SSL_GET attempt and of genhash (spec/lvs.md §2.5.2,
 * §3.3): connect (optional source address, optional SO_MARK), optional TLS without
 * certificate verification and with optional SNI, send the request, then hand every received
 * chunk to the caller until the peer closes. Every wait has a timer. It owns only sockets and
 * timers: what the bytes mean is http_response.ts's business, what a failure means is the
 * caller's.
 *
 * Timers (keepalived's): the TCP connect and the TLS handshake each get `connectTimeoutMs`;
 * a plain response gets a fresh `readTimeoutMs` for every read, a TLS response one
 * `readTimeoutMs` for the whole response.
 *
 * Sockets: plain HTTP without a source address or mark uses Deno's own TCP (`Deno.connect`,
 * reads into one reused buffer: about 4x less overhead per byte than node:net, which matters
 * for large pages, see bench/README.md). TLS and a source address use node:net / node:tls
 * (spec/deno-platform.md "Health-check clients"); with a fwmark the socket is created,
 * marked, bound and connected through ffi/libc.ts and handed to node:net by descriptor
 * (Deno's own sockets cannot set SO_MARK or bind a source address).
 */
import * as net from "node:net";
import * as tls from "node:tls";
import * as libc from "../../ffi/libc.ts";
import { formatIp, type IpAddress } from "../net/ipaddr.ts";

export interface HttpFetchOptions {
  readonly address: IpAddress;
  readonly port: number;
  /** Use TLS; `servername` is sent as SNI when given, else no SNI is sent. */
  readonly tls?: { readonly servername?: string | undefined } | undefined;
  /** Source address (`bindto`). */
  readonly bindto?: IpAddress | undefined;
  /** Source port (`bind_port`), only with `bindto`. */
  readonly bindPort?: number | undefined;
  /** SO_MARK value (`fwmark`); 0 or absent sets no mark. */
  readonly fwmark?: number | undefined;
  readonly connectTimeoutMs: number;
  readonly readTimeoutMs: number;
  readonly request: Uint8Array;
  /**
   * Called for every received chunk; return false to stop reading (treated as EOF). The
   * chunk is only valid during the call (the read buffer is reused).
   */
  readonly onData: (chunk: Uint8Array) => boolean;
}

/**
 * How an attempt ended. Only "eof" delivered a response (possibly empty); the others are
 * failures named for keepalived's distinctions (spec/lvs.md §2.3, §3.4).
 */
export type HttpFetchOutcome =
  /** The peer closed the connection, or the caller stopped reading. */
  | "eof"
  /** The TCP connect or the TLS handshake did not finish within the connect timeout. */
  | "connect-timeout"
  /** The connection attempt failed: refused, host unreachable, reset, aborted. */
  | "connect-failed"
  /** The network is unreachable (ENETUNREACH). */
  | "net-unreachable"
  /** Any other error creating, marking, binding or connecting the socket. */
  | "connect-error"
  /** The TLS handshake failed. */
  | "tls-error"
  /** Writing the request failed. */
  | "send-error"
  /** The request could not be written within the read timeout. */
  | "send-timeout"
  /** No data within the read timeout (see `bytesReceived` for what had arrived). */
  | "read-timeout"
  /** Reading failed (reset, TLS record error). */
  | "read-error";

export interface HttpFetchResult {
  readonly outcome: HttpFetchOutcome;
  /** Response bytes received before the end (TLS: decrypted bytes). */
  readonly bytesReceived: number;
  /** errno-style code of the underlying error, when there was one. */
  readonly code?: string;
  /** The underlying error's message, when there was one. */
  readonly detail?: string;
}

/** Connection errors that keepalived counts as a failed attempt (spec/lvs.md §2.3). */
const CONNECT_FAILED = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ETIMEDOUT",
  "ECONNRESET",
  "ECONNABORTED",
  "EHOSTDOWN",
  "ENETDOWN",
]);

function errorCode(e: unknown): string | undefined {
  if (typeof e === "object" && e !== null && "code" in e && typeof e.code === "string") {
    return e.code;
  }
  return undefined;
}

/** errno name of a Deno network error ("… (os error 111)"), when it carries one. */
function denoErrorCode(e: unknown): string | undefined {
  const m = e instanceof Error ? /\(os error (\d+)\)/.exec(e.message) : null;
  return m ? libc.errnoName(Number(m[1])) : errorCode(e);
}

function connectOutcome(code: string | undefined): HttpFetchOutcome {
  if (code === "ENETUNREACH") return "net-unreachable";
  return code !== undefined && CONNECT_FAILED.has(code) ? "connect-failed" : "connect-error";
}

type Opened = { readonly fd: number } | {
  readonly outcome: HttpFetchOutcome;
  readonly error: unknown;
};

/** A socket option or bind failed: the socket could not be set up ("connect-error"). */
class SocketSetupError extends Error {
  override name = "SocketSetupError";
  constructor(message: string, readonly code: string | undefined) {
    super(message);
  }
}

/**
 * Create, mark, bind and connect a socket through libc; on success the fd is connected.
 * `abandoned()` tells whether the caller gave up meanwhile (its own connect timer fired).
 */
async function openMarkedSocket(o: HttpFetchOptions, abandoned: () => boolean): Promise<Opened> {
  let fd: number;
  const domain = o.address.family === 4 ? libc.AF_INET : libc.AF_INET6;
  try {
    fd = libc.socket(
      domain,
      libc.SOCK_STREAM | libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC,
      libc.IPPROTO_TCP,
    );
  } catch (e) {
    return { outcome: "connect-error", error: e };
  }
  try {
    try {
      libc.setsockoptInt(fd, libc.SOL_SOCKET, libc.SO_MARK, o.fwmark ?? 0);
      if (o.bindto !== undefined) libc.bind(fd, libc.sockaddr(o.bindto.bytes, o.bindPort ?? 0));
    } catch (e) {
      const code = errorCode(e);
      const what = e instanceof libc.ErrnoError && e.call === "bind"
        ? `cannot bind to ${formatIp(o.bindto!)}`
        : `cannot set fwmark ${o.fwmark}${
          code === "EPERM" ? " (SO_MARK needs CAP_NET_ADMIN)" : ""
        }`;
      throw new SocketSetupError(`${what}: ${(e as Error).message}`, code);
    }
    if (libc.connect(fd, libc.sockaddr(o.address.bytes, o.port)) === "in-progress") {
      const events = await libc.pollOne(fd, libc.POLLOUT, o.connectTimeoutMs);
      if (events === 0 || abandoned()) {
        libc.close(fd);
        return { outcome: "connect-timeout", error: undefined };
      }
      const soError = libc.getsockoptInt(fd, libc.SOL_SOCKET, libc.SO_ERROR);
      if (soError !== 0) throw new libc.ErrnoError("connect", soError);
    }
    return { fd };
  } catch (e) {
    libc.close(fd);
    const outcome = e instanceof SocketSetupError ? "connect-error" : connectOutcome(errorCode(e));
    return { outcome, error: e };
  }
}

/** Run one attempt; never rejects, always settles within the configured timeouts. */
export function httpFetch(o: HttpFetchOptions): Promise<HttpFetchResult> {
  const native = o.tls === undefined && o.bindto === undefined && (o.fwmark ?? 0) === 0;
  return native ? fetchNative(o) : fetchNode(o);
}

/** Deno's read size for the native path. */
const NATIVE_READ_SIZE = 256 * 1024;

function failed(
  outcome: HttpFetchOutcome,
  bytesReceived: number,
  error?: unknown,
): HttpFetchResult {
  const code = denoErrorCode(error);
  return {
    outcome,
    bytesReceived,
    ...(code !== undefined ? { code } : {}),
    ...(error instanceof Error ? { detail: error.message } : {}),
  };
}

/** Plain TCP through Deno.connect. */
async function fetchNative(o: HttpFetchOptions): Promise<HttpFetchResult> {
  const abort = new AbortController();
  const connectTimer = setTimeout(() => abort.abort(), o.connectTimeoutMs);
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({
      hostname: formatIp(o.address),
      port: o.port,
      signal: abort.signal,
      autoSelectFamily: false,
    });
  } catch (e) {
    return abort.signal.aborted
      ? failed("connect-timeout", 0)
      : failed(connectOutcome(denoErrorCode(e)), 0, e);
  } finally {
    clearTimeout(connectTimer);
  }
  let received = 0;
  let timedOut = false;
  let readTimer: ReturnType<typeof setTimeout> | undefined;
  const armRead = () => {
    clearTimeout(readTimer);
    readTimer = setTimeout(() => {
      timedOut = true;
      conn.close();
    }, o.readTimeoutMs);
  };
  try {
    armRead();
    try {
      for (let at = 0; at < o.request.length;) at += await conn.write(o.request.subarray(at));
    } catch (e) {
      return timedOut ? failed("send-timeout", 0) : failed("send-error", 0, e);
    }
    const buf = new Uint8Array(NATIVE_READ_SIZE);
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch (e) {
        return timedOut ? failed("read-timeout", received) : failed("read-error", received, e);
      }
      if (n === null) return { outcome: "eof", bytesReceived: received };
      armRead();
      received += n;
      if (!o.onData(buf.subarray(0, n))) return { outcome: "eof", bytesReceived: received };
    }
  } finally {
    clearTimeout(readTimer);
    if (!timedOut) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  }
}

/** TLS, a source address or a fwmark: node:net / node:tls, the socket from libc if marked. */
function fetchNode(o: HttpFetchOptions): Promise<HttpFetchResult> {
  return new Promise((resolve) => {
    let phase: "connect" | "handshake" | "send" | "read" = "connect";
    let received = 0;
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let raw: net.Socket | undefined;
    let secure: tls.TLSSocket | undefined;

    const finish = (outcome: HttpFetchOutcome, error?: unknown) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // Quiet shutdown: no close_notify, as keepalived without tls_compliant.
      secure?.destroy();
      raw?.destroy();
      const code = errorCode(error);
      resolve({
        outcome,
        bytesReceived: received,
        ...(code !== undefined ? { code } : {}),
        ...(error instanceof Error ? { detail: error.message } : {}),
      });
    };
    const arm = (ms: number, outcome: HttpFetchOutcome) => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(outcome), ms);
    };
    const onError = (e: unknown) => {
      switch (phase) {
        case "connect":
          return finish(connectOutcome(errorCode(e)), e);
        case "handshake":
          return finish("tls-error", e);
        case "send":
          return finish("send-error", e);
        case "read":
          return finish("read-error", e);
      }
    };

    const startRequest = (stream: net.Socket) => {
      phase = "send";
      stream.on("data", (chunk: Uint8Array) => {
        if (done) return;
        received += chunk.length;
        if (secure === undefined) arm(o.readTimeoutMs, "read-timeout");
        if (!o.onData(chunk)) finish("eof");
      });
      stream.on("end", () => finish("eof"));
      stream.on("close", () => finish("eof"));
      arm(o.readTimeoutMs, "send-timeout");
      stream.write(o.request, (err) => {
        if (err) onError(err);
        else if (phase === "send") {
          phase = "read";
          arm(o.readTimeoutMs, "read-timeout");
        }
      });
    };

    const connected = (sock: net.Socket) => {
      if (done) return;
      if (o.tls === undefined) return startRequest(sock);
      phase = "handshake";
      arm(o.connectTimeoutMs, "connect-timeout");
      const servername = o.tls.servername;
      secure = tls.connect({
        socket: sock,
        rejectUnauthorized: false,
        ...(servername !== undefined && servername !== "" ? { servername } : {}),
      });
      secure.on("error", onError);
      secure.once("secureConnect", () => {
        if (!done && secure !== undefined) startRequest(secure);
      });
    };

    arm(o.connectTimeoutMs, "connect-timeout");
    if (o.fwmark !== undefined && o.fwmark !== 0) {
      openMarkedSocket(o, () => done).then((r) => {
        if ("fd" in r) {
          if (done) return libc.close(r.fd);
          raw = new net.Socket({ fd: r.fd, readable: true, writable: true });
          raw.on("error", onError);
          connected(raw);
        } else {
          finish(r.outcome, r.error);
        }
      });
      return;
    }
    const sock = net.connect({
      host: formatIp(o.address),
      port: o.port,
      family: o.address.family,
      ...(o.bindto !== undefined ? { localAddress: formatIp(o.bindto) } : {}),
      ...(o.bindto !== undefined && o.bindPort !== undefined ? { localPort: o.bindPort } : {}),
    });
    raw = sock;
    sock.on("error", onError);
    sock.once("connect", () => connected(sock));
  });
}
