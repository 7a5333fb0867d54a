/**
 * The control protocol between `kad run` and its clients (docs/control-protocol.md): one
 * JSON object per line each way over a Unix stream socket. A request is
 * `{"v":1,"id":ID,"cmd":"NAME",...arguments}`; its reply repeats `v` and `id` and carries
 * `"ok":true` with the command's result members, or `"ok":false` with
 * `"error":{"code":"...","message":"..."}`.
 *
 * Pure: framing (bytes to lines, with the request size cap), parsing and checking requests,
 * encoding replies, and the client's side of both. It must not do I/O or know any command:
 * the socket is lib/control/server.ts's, the commands lib/control/commands.ts's table.
 */
import { errorText } from "../runtime/error_text.ts";

/** The protocol version this kad speaks (the `v` member of every request and reply). */
export const PROTOCOL_VERSION = 1;

/** Where `kad run` listens unless `--control-socket` says otherwise. */
export const DEFAULT_CONTROL_SOCKET = "/run/kad/kad.sock";

/** The largest request line accepted, newline excluded (64 KiB). */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** The longest request id accepted when it is a string. */
export const MAX_ID_LENGTH = 256;

/** Every error code a reply can carry (docs/control-protocol.md lists when each is sent). */
export const ERROR_CODES = [
  "malformed_json",
  "invalid_request",
  "unsupported_version",
  "unknown_command",
  "invalid_argument",
  "not_found",
  "refused",
  "request_too_large",
  "too_many_requests",
  "timeout",
  "too_many_clients",
  "forbidden",
  "internal_error",
] as const;

export type ErrorCode = typeof ERROR_CODES[number];

/** A request id: echoed in the reply so a client can match replies to requests. */
export type RequestId = string | number | null;

/** A request that passed the protocol checks (the command itself is not checked here). */
export interface ControlRequest {
  readonly v: typeof PROTOCOL_VERSION;
  readonly id: RequestId;
  readonly cmd: string;
  /** Every member other than `v`, `id` and `cmd`: the command's arguments. */
  readonly args: Readonly<Record<string, unknown>>;
}

/** The `error` member of a failed reply; `details` members are added next to code and message. */
export interface ControlError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** What `parseRequest` makes of one line. */
export type ParsedRequest =
  | { readonly ok: true; readonly request: ControlRequest }
  | { readonly ok: false; readonly id: RequestId; readonly error: ControlError };

/** Members of a request or reply that are the protocol's, not a command's. */
export const RESERVED_MEMBERS: ReadonlySet<string> = new Set(["v", "id", "cmd", "ok", "error"]);

const EXAMPLE = `{"v":${PROTOCOL_VERSION},"id":1,"cmd":"help"}`;

const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

function fail(id: RequestId, code: ErrorCode, message: string, details?: Record<string, unknown>) {
  return {
    ok: false as const,
    id,
    error: details === undefined ? { code, message } : { code, message, details },
  };
}

function validId(id: unknown): id is RequestId {
  if (id === null) return true;
  if (typeof id === "string") return id.length <= MAX_ID_LENGTH;
  return typeof id === "number" && Number.isSafeInteger(id);
}

/**
 * Parses and checks one request line (without its newline). Errors keep the request's id
 * when it could be read, so the client can still match the reply.
 *
 * @example
 * ```ts
 * import { parseRequest } from "./protocol.ts";
 * const r = parseRequest(new TextEncoder().encode('{"v":1,"id":7,"cmd":"dump","instance":"VI_1"}'));
 * // r.ok === true; r.request.args is { instance: "VI_1" }
 * ```
 */
export function parseRequest(line: Uint8Array): ParsedRequest {
  if (line.length > MAX_REQUEST_BYTES) {
    return fail(
      null,
      "request_too_large",
      `the request is ${line.length} bytes; requests are limited to ${MAX_REQUEST_BYTES} bytes`,
    );
  }
  let text: string;
  try {
    text = decoder.decode(line);
  } catch {
    return fail(null, "malformed_json", "the request is not valid UTF-8 text; send JSON");
  }
  if (text.trim() === "") {
    return fail(
      null,
      "invalid_request",
      `the request is empty; send a JSON object like ${EXAMPLE}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const why = errorText(e);
    return fail(
      null,
      "malformed_json",
      `the request is not valid JSON (${why}); send one JSON object per line like ${EXAMPLE}`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail(
      null,
      "invalid_request",
      `the request is JSON but not an object; send an object like ${EXAMPLE}`,
    );
  }
  const o = value as Record<string, unknown>;
  const rawId = Object.hasOwn(o, "id") ? o["id"] : null;
  if (!validId(rawId)) {
    return fail(
      null,
      "invalid_request",
      `"id" must be a string of at most ${MAX_ID_LENGTH} characters, an integer or null`,
    );
  }
  const id = rawId;
  if (!Object.hasOwn(o, "v")) {
    return fail(
      id,
      "invalid_request",
      `the request has no "v" member; give the protocol version: "v":${PROTOCOL_VERSION}`,
    );
  }
  if (o["v"] !== PROTOCOL_VERSION) {
    return fail(
      id,
      "unsupported_version",
      `protocol version ${
        JSON.stringify(o["v"])
      } is not supported; this kad speaks version ${PROTOCOL_VERSION} ("v":${PROTOCOL_VERSION})`,
      { supported: [PROTOCOL_VERSION] },
    );
  }
  const cmd = o["cmd"];
  if (typeof cmd !== "string" || cmd === "") {
    return fail(
      id,
      "invalid_request",
      `the request has no command; give one as "cmd":"NAME" ("cmd":"help" lists them)`,
    );
  }
  if (Object.hasOwn(o, "ok") || Object.hasOwn(o, "error")) {
    return fail(id, "invalid_request", `"ok" and "error" belong in replies, not in requests`);
  }
  const args: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (!RESERVED_MEMBERS.has(k)) args[k] = v;
  return { ok: true, request: { v: PROTOCOL_VERSION, id, cmd, args } };
}

/**
 * A successful reply line (with its newline): `v`, `id`, `"ok":true`, then the result's
 * members. Throws a TypeError when the result uses a reserved member name.
 */
export function encodeReply(id: RequestId, result: Readonly<Record<string, unknown>>): string {
  for (const k of Object.keys(result)) {
    if (RESERVED_MEMBERS.has(k)) {
      throw new TypeError(`a command result must not have a "${k}" member (it is the protocol's)`);
    }
  }
  return JSON.stringify({ v: PROTOCOL_VERSION, id, ok: true, ...result }) + "\n";
}

/** A failed reply line (with its newline). */
export function encodeError(id: RequestId, error: ControlError): string {
  const e = { code: error.code, message: error.message, ...error.details };
  return JSON.stringify({ v: PROTOCOL_VERSION, id, ok: false, error: e }) + "\n";
}

/** A request line (with its newline), as a client sends it. */
export function encodeRequest(
  id: RequestId,
  cmd: string,
  args: Readonly<Record<string, unknown>> = {},
): string {
  for (const k of Object.keys(args)) {
    if (RESERVED_MEMBERS.has(k)) throw new TypeError(`"${k}" cannot be a command argument`);
  }
  return JSON.stringify({ v: PROTOCOL_VERSION, id, cmd, ...args }) + "\n";
}

/** A reply as a client reads it. */
export type ParsedReply =
  | {
    readonly ok: true;
    readonly id: RequestId;
    readonly result: Readonly<Record<string, unknown>>;
  }
  | { readonly ok: false; readonly id: RequestId; readonly error: ControlError };

/** A reply line that does not follow the protocol. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

/**
 * Parses one reply line (client side). Throws a ProtocolError for anything that is not a
 * reply of this protocol version.
 */
export function parseReply(line: string): ParsedReply {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ProtocolError(`the daemon's reply is not JSON: ${line.slice(0, 200)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError("the daemon's reply is not a JSON object");
  }
  const o = value as Record<string, unknown>;
  if (o["v"] !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      `the daemon replied with protocol version ${
        JSON.stringify(o["v"])
      }; this kad speaks ${PROTOCOL_VERSION} (are the daemon and this command the same kad version?)`,
    );
  }
  const id = validId(o["id"]) ? o["id"] : null;
  if (o["ok"] === true) {
    const result: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) if (!RESERVED_MEMBERS.has(k)) result[k] = v;
    return { ok: true, id, result };
  }
  const e = o["error"];
  if (o["ok"] !== false || typeof e !== "object" || e === null) {
    throw new ProtocolError('the daemon\'s reply has neither "ok":true nor an error');
  }
  const err = e as Record<string, unknown>;
  const code = (ERROR_CODES as readonly unknown[]).includes(err["code"])
    ? err["code"] as ErrorCode
    : "internal_error";
  const message = typeof err["message"] === "string" ? err["message"] : "unknown error";
  const details: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err)) if (k !== "code" && k !== "message") details[k] = v;
  return { ok: false, id, error: { code, message, details } };
}

/** What `LineReader.push` found. */
export interface Lines {
  /** Complete lines, without their newline (and without a `\r` before it). */
  readonly lines: Uint8Array[];
  /**
   * True when more than `max` bytes arrived without a newline: the stream cannot be
   * resynchronised, so the server answers `request_too_large` and closes.
   */
  readonly overflow: boolean;
}

/**
 * Splits a byte stream into newline-terminated lines of at most `max` bytes.
 *
 * @example
 * ```ts
 * import { LineReader } from "./protocol.ts";
 * const r = new LineReader();
 * r.push(new TextEncoder().encode('{"v":1,"cmd":"he'));
 * r.push(new TextEncoder().encode('lp"}\n')).lines.length; // 1
 * ```
 */
export class LineReader {
  readonly max: number;
  #buf = new Uint8Array(0);

  constructor(max: number = MAX_REQUEST_BYTES) {
    this.max = max;
  }

  /** Bytes held that do not end in a newline yet. */
  get buffered(): number {
    return this.#buf.length;
  }

  push(chunk: Uint8Array): Lines {
    const data = this.#buf.length === 0 ? chunk : concat(this.#buf, chunk);
    const lines: Uint8Array[] = [];
    let start = 0;
    for (;;) {
      const nl = data.indexOf(10, start);
      if (nl < 0) break;
      const end = nl > start && data[nl - 1] === 13 ? nl - 1 : nl;
      if (end - start > this.max) {
        this.#buf = new Uint8Array(0);
        return { lines, overflow: true };
      }
      lines.push(data.slice(start, end));
      start = nl + 1;
    }
    const rest = data.length - start;
    if (rest > this.max) {
      this.#buf = new Uint8Array(0);
      return { lines, overflow: true };
    }
    this.#buf = data.slice(start);
    return { lines, overflow: false };
  }

  /** At the end of the stream: the last line if it had no newline (else undefined). */
  end(): Uint8Array | undefined {
    const rest = this.#buf;
    this.#buf = new Uint8Array(0);
    return rest.length > 0 ? rest : undefined;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The bytes of a reply or request line. */
export function lineBytes(line: string): Uint8Array {
  return encoder.encode(line);
}

/**
 * The exit statuses every control client shares (`kad dump`, `kad rotate-key`; docs/dump.md,
 * docs/rotate-key.md). Commands add their own from 6 on.
 */
export const CLIENT_EXIT = {
  OK: 0,
  /** The daemon refused the request, or it could not be done. */
  REFUSED: 1,
  /** The command line is wrong. */
  USAGE: 2,
  /** No daemon: no control socket, nobody listening on it, or not a socket. */
  NO_DAEMON: 3,
  /** Not allowed: the control socket is root's. */
  PERMISSION: 4,
  /** The daemon did not answer in time, or answered something unreadable. */
  NO_ANSWER: 5,
} as const;
