/**
 * The client side of the control socket (docs/control-protocol.md), for `kad dump` and
 * later `kad rotate-key`: connect, send one request per line, read the matching reply.
 *
 * Every way of not reaching a daemon becomes a ControlClientError whose `kind` the command
 * maps to an exit status and whose message says what to do: no socket file, a socket file
 * nobody listens on (the daemon stopped), a path that is not a socket, no permission, no
 * answer in time, or an answer that is not this protocol. Error replies of the daemon are
 * returned, not thrown: they are the command's to present.
 */
import { errorText } from "../runtime/error_text.ts";
import {
  CLIENT_EXIT,
  encodeRequest,
  type ParsedReply,
  parseReply,
  ProtocolError,
  type RequestId,
} from "./protocol.ts";

export { CLIENT_EXIT };

/** Why the daemon could not be asked. */
export type ClientFailure =
  | "missing"
  | "refused"
  | "not_socket"
  | "permission"
  | "timeout"
  | "closed"
  | "protocol";

export class ControlClientError extends Error {
  override name = "ControlClientError";
  constructor(readonly kind: ClientFailure, message: string) {
    super(message);
  }
}

/** Why a client got no usable answer, as its exit status groups it. */
export type UnreachedReason = "no_daemon" | "permission" | "no_answer";

/** The reason behind a client failure (connect or read). */
export function unreachedBy(kind: ClientFailure): UnreachedReason {
  switch (kind) {
    case "missing":
    case "refused":
    case "not_socket":
      return "no_daemon";
    case "permission":
      return "permission";
    default:
      return "no_answer";
  }
}

/**
 * The reason behind a daemon's error reply that is about reaching it rather than about the
 * request (a refused peer, a busy or timed-out connection); undefined for the others.
 */
export function unreachedByReply(code: string): UnreachedReason | undefined {
  switch (code) {
    case "forbidden":
      return "permission";
    case "timeout":
    case "too_many_clients":
    case "too_many_requests":
      return "no_answer";
    default:
      return undefined;
  }
}

/** The exit status of an unreached reason. */
export function unreachedExit(r: UnreachedReason): number {
  return r === "no_daemon"
    ? CLIENT_EXIT.NO_DAEMON
    : r === "permission"
    ? CLIENT_EXIT.PERMISSION
    : CLIENT_EXIT.NO_ANSWER;
}

/** How long a client waits for a connection or a reply unless told otherwise. */
export const DEFAULT_TIMEOUT_MS = 5_000;
/** The largest reply a client reads (a dump of 255 instances is well under 1 MiB). */
const MAX_REPLY_BYTES = 64 * 1024 * 1024;

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function describe(path: string, e: unknown): ControlClientError {
  const how = `give the daemon's socket with --control-socket PATH if it is not '${path}'`;
  if (e instanceof Deno.errors.NotFound) {
    return new ControlClientError(
      "missing",
      `no kad daemon is running here: control socket '${path}' does not exist. Start the daemon with 'kad run', or ${how}`,
    );
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return new ControlClientError(
      "permission",
      `permission denied on control socket '${path}': it is for root only; run the command as root (e.g. with sudo)`,
    );
  }
  if (e instanceof Deno.errors.ConnectionRefused) {
    let socket = true;
    try {
      socket = Deno.lstatSync(path).isSocket === true;
    } catch {
      // Gone in between: report it as refused.
    }
    if (!socket) {
      return new ControlClientError(
        "not_socket",
        `'${path}' is not a control socket (it is another kind of file); ${how}`,
      );
    }
    return new ControlClientError(
      "refused",
      `no kad daemon is listening on control socket '${path}' (the file is left from a daemon that stopped); start 'kad run'`,
    );
  }
  const why = errorText(e);
  return new ControlClientError("closed", `control socket '${path}' cannot be used: ${why}`);
}

/**
 * One connection to a daemon.
 *
 * @example
 * ```ts ignore
 * const client = await ControlClient.connect("/run/kad/kad.sock");
 * const reply = await client.request("dump", {});
 * client.close();
 * ```
 */
export class ControlClient {
  readonly path: string;
  readonly #conn: Deno.UnixConn;
  #buffer = new Uint8Array(0);
  #nextId = 1;
  #closed = false;

  private constructor(path: string, conn: Deno.UnixConn) {
    this.path = path;
    this.#conn = conn;
  }

  /** Connects; throws a ControlClientError saying why it could not. */
  static async connect(path: string): Promise<ControlClient> {
    try {
      const conn = await Deno.connect({ transport: "unix", path });
      return new ControlClient(path, conn);
    } catch (e) {
      throw describe(path, e);
    }
  }

  /**
   * Sends one request and waits for its reply (at most `timeoutMs`). An error reply of the
   * daemon is returned; a failure to get one throws a ControlClientError.
   */
  async request(
    cmd: string,
    args: Readonly<Record<string, unknown>> = {},
    timeoutMs: number = DEFAULT_TIMEOUT_MS,
  ): Promise<ParsedReply> {
    const id: RequestId = this.#nextId++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new ControlClientError(
            "timeout",
            `the daemon at '${this.path}' did not answer within ${timeoutMs / 1000} s`,
          ),
        );
        this.close();
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.#exchange(id, cmd, args), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #exchange(
    id: RequestId,
    cmd: string,
    args: Readonly<Record<string, unknown>>,
  ): Promise<ParsedReply> {
    let writeFailure: unknown;
    try {
      await writeAll(this.#conn, encoder.encode(encodeRequest(id, cmd, args)));
    } catch (e) {
      // The daemon may have refused the connection with a reply before closing it
      // (forbidden, too many clients): that reply says more than the broken pipe.
      writeFailure = e;
    }
    for (;;) {
      let line: string;
      try {
        line = await this.#readLine();
      } catch (e) {
        throw writeFailure === undefined ? e : this.#lost(writeFailure);
      }
      let reply: ParsedReply;
      try {
        reply = parseReply(line);
      } catch (e) {
        if (e instanceof ProtocolError) throw new ControlClientError("protocol", e.message);
        throw e;
      }
      // A reply with id null answers no request of ours in particular: the daemon closing
      // the connection (timeout, too many clients, refused peer) — report it as it is.
      if (reply.id === id || reply.id === null) return reply;
      if (writeFailure !== undefined) throw this.#lost(writeFailure);
    }
  }

  async #readLine(): Promise<string> {
    for (;;) {
      const nl = this.#buffer.indexOf(10);
      if (nl >= 0) {
        const line = decoder.decode(this.#buffer.subarray(0, nl));
        this.#buffer = this.#buffer.slice(nl + 1);
        return line;
      }
      if (this.#buffer.length > MAX_REPLY_BYTES) {
        throw new ControlClientError("protocol", "the daemon's reply is too large");
      }
      const chunk = new Uint8Array(64 * 1024);
      let n: number | null;
      try {
        n = await this.#conn.read(chunk);
      } catch (e) {
        throw this.#lost(e);
      }
      if (n === null) {
        throw new ControlClientError(
          "closed",
          `the daemon at '${this.path}' closed the connection without answering`,
        );
      }
      const next = new Uint8Array(this.#buffer.length + n);
      next.set(this.#buffer);
      next.set(chunk.subarray(0, n), this.#buffer.length);
      this.#buffer = next;
    }
  }

  #lost(e: unknown): ControlClientError {
    if (e instanceof ControlClientError) return e;
    const why = errorText(e);
    return new ControlClientError(
      "closed",
      `the connection to the daemon at '${this.path}' was lost: ${why}`,
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}

async function writeAll(conn: Deno.UnixConn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}
