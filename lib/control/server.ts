/**
 * The control socket of `kad run` (docs/control-protocol.md): a Unix stream socket served
 * on the daemon's reactor, one JSON request per line, answered from a CommandTable.
 *
 * Access: the socket file is created mode 0600 (set on the socket before bind, so it never
 * exists wider) in a directory created 0700 when missing, and every connection's peer is
 * checked with SO_PEERCRED: only root and the daemon's own user are served.
 *
 * Robustness: nothing a client sends can stop the daemon or hold up its VRRP timers. Every
 * descriptor is non-blocking and read at most 64 KiB per turn of the loop; a request line
 * over the cap, more than `maxClients` connections, a client that sends no complete request
 * for `idleTimeoutMs` (or does not read its replies), and more than `maxQueued` pipelined
 * requests are each answered with an error and the connection closed; malformed JSON, a
 * wrong version and unknown commands get an error reply and the connection stays usable.
 *
 * Owns the listening descriptor, the client descriptors, their timers and the socket file
 * (removed at close when it is still ours). A socket file left by a daemon that died (no
 * listener behind it) is replaced; one with a live listener makes `open` refuse.
 */
import { errorText } from "../runtime/error_text.ts";
import { dirOf } from "../runtime/private_file.ts";
import {
  accept,
  AF_UNIX,
  bind,
  close as closeFd,
  connectUnix,
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  ErrnoError,
  fchmod,
  listen,
  peerCredentials,
  recv,
  send,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  sockaddrUnix,
  socket,
} from "../../ffi/libc.ts";
import type { Reactor, Timer } from "../runtime/reactor.ts";
import type { Logger } from "../runtime/log.ts";
import type { CommandReply, CommandTable } from "./commands.ts";
import {
  type ControlError,
  encodeError,
  encodeReply,
  lineBytes,
  LineReader,
  MAX_REQUEST_BYTES,
  parseRequest,
  type RequestId,
} from "./protocol.ts";

/** Limits of one server; the defaults are documented in docs/control-protocol.md. */
export interface ControlLimits {
  /** Connections served at once; one more is answered `too_many_clients` and closed. */
  readonly maxClients: number;
  /** A connection without a complete request (or not reading its replies) this long is closed. */
  readonly idleTimeoutMs: number;
  /** The request size cap in bytes (newline excluded). */
  readonly maxRequestBytes: number;
  /** Requests waiting behind a slow (asynchronous) one on a connection. */
  readonly maxQueued: number;
  /** Reply bytes a connection may leave unread before it is closed. */
  readonly maxPendingBytes: number;
}

export const DEFAULT_LIMITS: ControlLimits = {
  maxClients: 16,
  idleTimeoutMs: 10_000,
  maxRequestBytes: MAX_REQUEST_BYTES,
  maxQueued: 32,
  maxPendingBytes: 16 * 1024 * 1024,
};

/** Counters of the control server (shown by `kad dump` under engine.control). */
export interface ControlStats {
  /** Connections accepted and served. */
  connections: number;
  /** Connections refused: too many clients, or a peer that is not allowed. */
  refused: number;
  /** Requests answered (successfully or not). */
  requests: number;
  /** Error replies sent. */
  errors: number;
  /** Connections closed for a timeout, an oversized request or unread replies. */
  dropped: number;
}

/** Options of `ControlServer.open`. */
export interface ControlServerOptions {
  readonly path: string;
  readonly reactor: Reactor;
  readonly table: CommandTable;
  readonly log: Logger;
  readonly limits?: Partial<ControlLimits>;
  /** Which peer uids are served; default: root and the daemon's own user. */
  readonly allowUid?: (uid: number) => boolean;
}

/** Why the control socket could not be opened. */
export class ControlSocketError extends Error {
  override name = "ControlSocketError";
  constructor(
    /** `in_use`: another process serves the path; `not_socket`: the path is another file. */
    readonly kind: "in_use" | "not_socket" | "unavailable",
    message: string,
  ) {
    super(message);
  }
}

interface Client {
  readonly fd: number;
  readonly reader: LineReader;
  /** Request lines not answered yet. */
  readonly queue: Uint8Array[];
  /** Reply bytes not sent yet. */
  out: Uint8Array[];
  outBytes: number;
  /** The epoll events the client is registered for (0: not registered). */
  events: number;
  /** An asynchronous handler is running; later requests wait in `queue`. */
  busy: boolean;
  /** The peer closed its side: answer what is queued, then close. */
  eof: boolean;
  /** Close once the replies are out (after a fatal error reply). */
  closing: boolean;
  closed: boolean;
  timer: Timer | undefined;
}

const RECV_CHUNK = 64 * 1024 + 1;
const ACCEPT_BATCH = 16;
/** A refused peer is logged at most this often (a misbehaving client must not flood the log). */
const REFUSAL_LOG_MS = 10_000;

/**
 * The control server.
 *
 * @example
 * ```ts ignore
 * const server = ControlServer.open({ path: "/run/kad/kad.sock", reactor, table, log });
 * await reactor.run();
 * server.close();
 * ```
 */
export class ControlServer {
  readonly path: string;
  readonly limits: ControlLimits;
  readonly stats: ControlStats = { connections: 0, refused: 0, requests: 0, errors: 0, dropped: 0 };
  readonly #reactor: Reactor;
  readonly #table: CommandTable;
  readonly #log: Logger;
  readonly #allowUid: (uid: number) => boolean;
  readonly #fd: number;
  /** The socket file's identity, so that close() removes only our own file. */
  readonly #ino: number | null;
  readonly #clients = new Set<Client>();
  readonly #buf = new Uint8Array(RECV_CHUNK);
  #lastRefusalLog = -Infinity;
  #closed = false;

  private constructor(opts: ControlServerOptions, fd: number, ino: number | null) {
    this.path = opts.path;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.#reactor = opts.reactor;
    this.#table = opts.table;
    this.#log = opts.log;
    const own = Deno.uid();
    this.#allowUid = opts.allowUid ?? ((uid) => uid === 0 || uid === own);
    this.#fd = fd;
    this.#ino = ino;
  }

  /**
   * Creates the socket (and its directory, mode 0700, when missing), replacing a stale
   * socket file, and starts accepting on the reactor. Throws a ControlSocketError saying
   * what is wrong and what to do.
   */
  static open(opts: ControlServerOptions): ControlServer {
    const path = opts.path;
    try {
      sockaddrUnix(path);
    } catch (e) {
      throw new ControlSocketError(
        "unavailable",
        `control socket path '${path}' is unusable: ${
          errorText(e)
        }; give a shorter --control-socket PATH`,
      );
    }
    prepareDirectory(path);
    removeStale(path, opts.log);
    const fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    let ino: number | null = null;
    try {
      fchmod(fd, 0o600);
      try {
        bind(fd, sockaddrUnix(path));
      } catch (e) {
        if (e instanceof ErrnoError && e.code === "EADDRINUSE") {
          throw new ControlSocketError(
            "in_use",
            `control socket '${path}' was created by another process just now; is another kad starting? Give each daemon its own --control-socket PATH`,
          );
        }
        throw e;
      }
      Deno.chmodSync(path, 0o600);
      ino = Deno.lstatSync(path).ino;
      listen(fd, 64);
    } catch (e) {
      closeFd(fd);
      if (e instanceof ControlSocketError) throw e;
      throw new ControlSocketError(
        "unavailable",
        `control socket '${path}' cannot be created: ${errorText(e)}`,
      );
    }
    const server = new ControlServer(opts, fd, ino);
    opts.reactor.add(fd, () => server.#accept(), `control socket ${path}`);
    return server;
  }

  /** Connections currently open. */
  get clients(): number {
    return this.#clients.size;
  }

  /** Closes every connection and the socket, and removes the socket file if it is ours. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of [...this.#clients]) this.#drop(c);
    this.#reactor.remove(this.#fd);
    closeFd(this.#fd);
    try {
      if (this.#ino !== null && Deno.lstatSync(this.path).ino === this.#ino) {
        Deno.removeSync(this.path);
      }
    } catch {
      // Already gone (or replaced by someone else's file, which is not ours to remove).
    }
  }

  // ---- connections ----

  #accept(): void {
    for (let i = 0; i < ACCEPT_BATCH; i++) {
      let fd: number | null;
      try {
        fd = accept(this.#fd);
      } catch (e) {
        // EMFILE and the like: the connection stays queued; try again next turn.
        this.#log.error(`control socket: accept failed: ${errorText(e)}`);
        return;
      }
      if (fd === null) return;
      this.#admit(fd);
    }
  }

  #admit(fd: number): void {
    let uid: number;
    try {
      uid = peerCredentials(fd).uid;
    } catch (e) {
      this.#log.detail(`control socket: cannot identify a client: ${errorText(e)}`);
      closeFd(fd);
      return;
    }
    let refusal: ControlError | undefined;
    if (!this.#allowUid(uid)) {
      refusal = {
        code: "forbidden",
        message: `user ${uid} may not use the control socket; run the command as root`,
      };
    } else if (this.#clients.size >= this.limits.maxClients) {
      refusal = {
        code: "too_many_clients",
        message:
          `the daemon is serving ${this.limits.maxClients} control connections already; try again shortly`,
      };
    }
    if (refusal !== undefined) {
      this.stats.refused++;
      this.stats.errors++;
      const now = this.#reactor.now();
      if (now - this.#lastRefusalLog >= REFUSAL_LOG_MS) {
        this.#lastRefusalLog = now;
        this.#log.warn(`control socket: refused a connection (uid ${uid}): ${refusal.message}`);
      }
      try {
        send(fd, lineBytes(encodeError(null, refusal)));
      } catch {
        // The client is gone already; nothing to tell it.
      }
      closeFd(fd);
      return;
    }
    const c: Client = {
      fd,
      reader: new LineReader(this.limits.maxRequestBytes),
      queue: [],
      out: [],
      outBytes: 0,
      events: 0,
      busy: false,
      eof: false,
      closing: false,
      closed: false,
      timer: undefined,
    };
    this.#clients.add(c);
    this.stats.connections++;
    this.#arm(c);
    this.#update(c);
  }

  /** (Re)starts the connection's timeout. */
  #arm(c: Client): void {
    c.timer?.cancel();
    c.timer = this.#reactor.after(this.limits.idleTimeoutMs, () => this.#timeout(c));
  }

  #timeout(c: Client): void {
    c.timer = undefined;
    if (c.closed) return;
    this.stats.dropped++;
    if (c.outBytes > 0 || c.busy) {
      // Not reading its replies (or a handler never finished): nothing more to say.
      this.#log.detail("control socket: closed a connection that stopped reading");
      this.#drop(c);
      return;
    }
    this.#fatal(c, null, {
      code: "timeout",
      message: `no complete request within ${
        this.limits.idleTimeoutMs / 1000
      } s; send one JSON request per line, ending in a newline`,
    });
  }

  /** Registers the connection for what it waits on; closes it when it waits on nothing. */
  #update(c: Client): void {
    if (c.closed) return;
    const want = (c.eof || c.closing ? 0 : EPOLLIN) | (c.outBytes > 0 ? EPOLLOUT : 0);
    if (want === 0 && !c.busy && c.queue.length === 0) {
      this.#drop(c);
      return;
    }
    if (want === c.events) return;
    if (c.events !== 0) this.#reactor.remove(c.fd);
    c.events = 0;
    if (want === 0) return;
    try {
      this.#reactor.add(c.fd, (ev) => this.#ready(c, ev), `control client ${c.fd}`, want);
      c.events = want;
    } catch (e) {
      this.#log.error(`control socket: cannot watch a connection: ${errorText(e)}`);
      this.#drop(c);
    }
  }

  #ready(c: Client, events: number): void {
    if (c.closed) return;
    if ((events & EPOLLOUT) !== 0) this.#flush(c);
    if (c.closed) return;
    if ((c.events & EPOLLIN) !== 0 && (events & ~EPOLLOUT) !== 0) this.#read(c);
    else if ((events & (EPOLLERR | EPOLLHUP)) !== 0) {
      // Hung up while we only wait to write: no reader is left for the replies.
      this.#drop(c);
      return;
    }
    this.#update(c);
  }

  #read(c: Client): void {
    let n: number | null;
    try {
      n = recv(c.fd, this.#buf);
    } catch (e) {
      this.#log.detail(`control socket: receive failed: ${errorText(e)}`);
      this.#drop(c);
      return;
    }
    if (n === null) return;
    if (n === 0) {
      c.eof = true;
      // A last request without a newline is still a request (`printf '{…}' | socat`).
      const last = c.reader.end();
      if (last !== undefined) c.queue.push(last);
      this.#process(c);
      return;
    }
    const { lines, overflow } = c.reader.push(this.#buf.subarray(0, n));
    for (const l of lines) c.queue.push(l);
    if (lines.length > 0) this.#arm(c);
    if (overflow) {
      this.stats.dropped++;
      this.#process(c);
      this.#fatal(c, null, {
        code: "request_too_large",
        message:
          `a request is longer than ${this.limits.maxRequestBytes} bytes without a newline; send one JSON request per line`,
      });
      return;
    }
    if (c.queue.length > this.limits.maxQueued) {
      this.stats.dropped++;
      c.queue.length = 0;
      this.#fatal(c, null, {
        code: "too_many_requests",
        message:
          `more than ${this.limits.maxQueued} requests are waiting on this connection; wait for the replies before sending more`,
      });
      return;
    }
    this.#process(c);
  }

  /** Answers queued requests in order, stopping at an asynchronous one. */
  #process(c: Client): void {
    while (!c.busy && !c.closed && c.queue.length > 0) {
      const line = c.queue.shift() as Uint8Array;
      const parsed = parseRequest(line);
      if (!parsed.ok) {
        this.#reply(c, parsed.id, { ok: false, error: parsed.error });
        continue;
      }
      const id = parsed.request.id;
      const reply = this.#table.dispatch(parsed.request);
      if (reply instanceof Promise) {
        c.busy = true;
        reply.then((r) => {
          c.busy = false;
          if (c.closed) return;
          this.#reply(c, id, r);
          this.#process(c);
          this.#update(c);
        }).catch((e) => {
          // Outside the reactor's guard: nothing may escape into an unhandled rejection.
          this.#log.error(`control socket: answering a request failed: ${errorText(e)}`);
          this.#drop(c);
        });
        return;
      }
      this.#reply(c, id, reply);
    }
  }

  #reply(c: Client, id: RequestId, reply: CommandReply): void {
    this.stats.requests++;
    let text: string;
    if (reply.ok) {
      try {
        text = encodeReply(id, reply.result);
      } catch (e) {
        this.stats.errors++;
        text = encodeError(id, { code: "internal_error", message: errorText(e) });
      }
    } else {
      this.stats.errors++;
      text = encodeError(id, reply.error);
    }
    this.#queue(c, lineBytes(text));
  }

  /** Sends an error and closes the connection once it is out. */
  #fatal(c: Client, id: RequestId, error: ControlError): void {
    this.stats.errors++;
    c.closing = true;
    c.queue.length = 0;
    this.#queue(c, lineBytes(encodeError(id, error)));
    this.#update(c);
  }

  #queue(c: Client, bytes: Uint8Array): void {
    if (c.closed) return;
    c.out.push(bytes);
    c.outBytes += bytes.length;
    if (c.outBytes > this.limits.maxPendingBytes) {
      this.stats.dropped++;
      this.#log.detail("control socket: closed a connection that does not read its replies");
      this.#drop(c);
      return;
    }
    this.#flush(c);
  }

  #flush(c: Client): void {
    while (c.out.length > 0) {
      const head = c.out[0] as Uint8Array;
      let n: number;
      try {
        n = send(c.fd, head);
      } catch {
        // EPIPE / ECONNRESET: the client left.
        this.#drop(c);
        return;
      }
      if (n === 0) return;
      c.outBytes -= n;
      if (n < head.length) {
        c.out[0] = head.subarray(n);
        return;
      }
      c.out.shift();
    }
    // Everything is out: the connection is idle again, with a fresh timeout.
    if (!c.closing) this.#arm(c);
  }

  #drop(c: Client): void {
    if (c.closed) return;
    c.closed = true;
    c.timer?.cancel();
    c.timer = undefined;
    if (c.events !== 0) this.#reactor.remove(c.fd);
    c.events = 0;
    closeFd(c.fd);
    this.#clients.delete(c);
  }
}

/** Creates the socket's directory (mode 0700) when it does not exist. */
function prepareDirectory(path: string): void {
  const dir = dirOf(path);
  try {
    if (!Deno.statSync(dir).isDirectory) {
      throw new ControlSocketError(
        "unavailable",
        `'${dir}' (the directory of control socket '${path}') is not a directory`,
      );
    }
    return;
  } catch (e) {
    if (e instanceof ControlSocketError) throw e;
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new ControlSocketError(
        "unavailable",
        `the directory of control socket '${path}' cannot be read: ${errorText(e)}`,
      );
    }
  }
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // mkdir's mode is masked by the umask; the directory is meant to be 0700 exactly.
    Deno.chmodSync(dir, 0o700);
  } catch (e) {
    throw new ControlSocketError(
      "unavailable",
      `directory '${dir}' for control socket '${path}' cannot be created: ${errorText(e)}`,
    );
  }
}

/**
 * A socket file already at `path`: replaced when nothing listens behind it (its daemon
 * died), refused when something does, refused when it is not a socket at all.
 */
function removeStale(path: string, log: Logger): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch {
    return;
  }
  if (!info.isSocket) {
    throw new ControlSocketError(
      "not_socket",
      `'${path}' exists and is not a socket; remove it, or give kad run another --control-socket PATH`,
    );
  }
  const probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  let state: "connected" | "refused";
  try {
    state = connectUnix(probe, path);
  } catch (e) {
    throw new ControlSocketError(
      "unavailable",
      `control socket '${path}' exists and cannot be checked: ${errorText(e)}`,
    );
  } finally {
    closeFd(probe);
  }
  if (state === "connected") {
    throw new ControlSocketError(
      "in_use",
      `another daemon is serving control socket '${path}' (is kad already running?); stop it first, or give this one its own --control-socket PATH`,
    );
  }
  try {
    Deno.removeSync(path);
  } catch (e) {
    throw new ControlSocketError(
      "unavailable",
      `stale control socket '${path}' cannot be removed: ${errorText(e)}`,
    );
  }
  log.info(`control socket: replaced '${path}', left by a daemon that is no longer running`);
}
