/**
 * Response processing shared by HTTP_GET/SSL_GET and genhash (spec/lvs.md §2.5.2, §2.5.3):
 * fed the received chunks in order, it finds the header end, the status code and
 * Content-Length exactly as keepalived does, and hashes the body. Pure (no I/O, no clocks).
 *
 * keepalived's rules reproduced here, all observable in the digest:
 * - The header must end (first CRLFCRLF, binary-safe) within a 4095-byte buffer; LF-only
 *   headers never end. A full buffer without a header end stops reading (treated as EOF).
 * - `Content-Length:` is searched case-sensitively, anywhere in that buffer (header and the
 *   body bytes already in it, even inside `X-Content-Length:`), as a C string: the search
 *   stops at the first NUL byte.
 * - Its value is read like C `strtoul(…, 10)` on 64 bits (leading white space including CR
 *   and LF, optional sign, modular negation, saturation), and only accepted when the
 *   character after the number is CR, LF or the end of the string.
 * - The digest covers the body bytes (everything after the header end until the peer
 *   closes) up to Content-Length. Chunk framing is hashed; nothing is decompressed.
 */
import { BodyDigest } from "./digest.ts";

/** Capacity of keepalived's receive buffer for the header (4096 with the NUL). */
export const HEADER_BUFFER_SIZE = 4095;

const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const CONTENT_LENGTH = new TextEncoder().encode("Content-Length:");
const ULONG_MAX = (1n << 64n) - 1n;

/** Index just past the first CRLFCRLF in `buf[from..]`, or -1. */
export function findHeaderEnd(buf: Uint8Array, from = 0): number {
  for (let i = Math.max(0, from); i + 3 < buf.length; i++) {
    if (buf[i] === CR && buf[i + 1] === LF && buf[i + 2] === CR && buf[i + 3] === LF) return i + 4;
  }
  return -1;
}

/**
 * The status code: after the first space, exactly three digits followed by a space; 0
 * otherwise (`HTTP/1.1 200` without a reason phrase gives 0).
 */
export function extractStatusCode(header: Uint8Array): number {
  const sp = header.indexOf(SPACE);
  if (sp < 0 || sp + 4 >= header.length) return 0;
  let code = 0;
  for (let i = sp + 1; i <= sp + 3; i++) {
    const d = (header[i] as number) - 0x30;
    if (d < 0 || d > 9) return 0;
    code = code * 10 + d;
  }
  return header[sp + 4] === SPACE ? code : 0;
}

function indexOfBytes(hay: Uint8Array, needle: Uint8Array, end: number): number {
  const first = needle[0] as number;
  outer: for (
    let i = hay.indexOf(first);
    i >= 0 && i + needle.length <= end;
    i = hay.indexOf(first, i + 1)
  ) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function isCSpace(b: number | undefined): boolean {
  return b === SPACE || (b !== undefined && b >= 0x09 && b <= 0x0d);
}

/**
 * Content-Length as keepalived reads it from the header buffer (see the module comment);
 * undefined when absent or rejected. Values beyond 2^53 come back inexact, which cannot
 * matter: no body that large is received.
 */
export function extractContentLength(buffer: Uint8Array): number | undefined {
  const nul = buffer.indexOf(0);
  const n = nul < 0 ? buffer.length : nul;
  const at = indexOfBytes(buffer, CONTENT_LENGTH, n);
  if (at < 0) return undefined;
  const start = at + CONTENT_LENGTH.length;
  let q = start;
  while (q < n && isCSpace(buffer[q])) q++;
  let negative = false;
  if (q < n && (buffer[q] === 0x2b || buffer[q] === 0x2d)) {
    negative = buffer[q] === 0x2d;
    q++;
  }
  const digits = q;
  let value = 0n;
  let overflow = false;
  while (q < n) {
    const d = (buffer[q] as number) - 0x30;
    if (d < 0 || d > 9) break;
    if (!overflow) {
      value = value * 10n + BigInt(d);
      if (value > ULONG_MAX) overflow = true;
    }
    q++;
  }
  // No digits: strtoul converts nothing and points back at its argument.
  const end = q === digits ? start : q;
  if (overflow) value = ULONG_MAX;
  else if (negative) value = (ULONG_MAX + 1n - value) & ULONG_MAX;
  const next = end < n ? buffer[end] : 0;
  if (next !== 0 && next !== CR && next !== LF) return undefined;
  return Number(value);
}

/** What one pushed chunk contributed, for callers that report progress (genhash -v). */
export interface ChunkResult {
  /** The header end has still not been found. */
  readonly headerPending: boolean;
  /** The header bytes including the final CRLFCRLF, on the chunk that completed it. */
  readonly header: Uint8Array | undefined;
  /** Body bytes of this chunk that went into the digest (capped at Content-Length). */
  readonly body: Uint8Array;
  /**
   * On the chunk that completed the header: how many of its body bytes (before capping)
   * were already inside the header buffer, i.e. came with keepalived's header read; the
   * rest is what its following reads of up to `HEADER_BUFFER_SIZE` bytes would return.
   * 0 on other chunks.
   */
  readonly bodyInHeaderRead: number;
  /** Stop reading: the header buffer is full without a header end (keepalived's EOF). */
  readonly stop: boolean;
}

/** The response once the peer has closed (or reading stopped). */
export interface HttpResponseSummary {
  readonly headerFound: boolean;
  readonly header: Uint8Array | undefined;
  /** Status code per `extractStatusCode`; 0 without a header or a valid code. */
  readonly status: number;
  readonly contentLength: number | undefined;
  /** Body bytes received after the header end (not capped). */
  readonly bodyBytes: number;
  /** Body bytes that went into the digest. */
  readonly hashedBytes: number;
  /** MD5 of the hashed bytes (of nothing when no header was found); undefined if not hashing. */
  readonly digest: Uint8Array | undefined;
  /** Reading stopped because the header did not fit in the buffer. */
  readonly overflow: boolean;
}

const EMPTY = new Uint8Array(0);

/** Incremental response reader; push chunks in arrival order, then call `finish()` once. */
export class HttpResponseReader {
  readonly #buf = new Uint8Array(HEADER_BUFFER_SIZE);
  #len = 0;
  #header: Uint8Array | undefined;
  #status = 0;
  #contentLength: number | undefined;
  #bodyBytes = 0;
  #hashedBytes = 0;
  #overflow = false;
  readonly #digest: BodyDigest | undefined;

  /** `hash: false` skips the MD5 (a checker URL without `digest`). */
  constructor(options: { readonly hash?: boolean } = {}) {
    this.#digest = options.hash === false ? undefined : new BodyDigest();
  }

  /** Feed the next received bytes. */
  push(chunk: Uint8Array): ChunkResult {
    if (this.#overflow) {
      return {
        headerPending: true,
        header: undefined,
        body: EMPTY,
        bodyInHeaderRead: 0,
        stop: true,
      };
    }
    if (this.#header !== undefined) {
      const body = this.#feedBody(chunk);
      return { headerPending: false, header: undefined, body, bodyInHeaderRead: 0, stop: false };
    }
    const before = this.#len;
    const take = Math.min(chunk.length, HEADER_BUFFER_SIZE - before);
    this.#buf.set(chunk.subarray(0, take), before);
    this.#len += take;
    const end = findHeaderEnd(this.#buf.subarray(0, this.#len), before - 3);
    if (end < 0) {
      this.#overflow = this.#len === HEADER_BUFFER_SIZE;
      return {
        headerPending: true,
        header: undefined,
        body: EMPTY,
        bodyInHeaderRead: 0,
        stop: this.#overflow,
      };
    }
    const buffer = this.#buf.subarray(0, this.#len);
    this.#header = buffer.slice(0, end);
    this.#status = extractStatusCode(this.#header);
    this.#contentLength = extractContentLength(buffer);
    const rest = chunk.subarray(take);
    const first = buffer.subarray(end);
    let body: Uint8Array = first;
    if (rest.length > 0) {
      body = new Uint8Array(first.length + rest.length);
      body.set(first);
      body.set(rest, first.length);
    }
    return {
      headerPending: false,
      header: this.#header,
      body: this.#feedBody(body),
      bodyInHeaderRead: first.length,
      stop: false,
    };
  }

  #feedBody(bytes: Uint8Array): Uint8Array {
    this.#bodyBytes += bytes.length;
    let part = bytes;
    if (this.#contentLength !== undefined) {
      const room = Math.max(0, this.#contentLength - this.#hashedBytes);
      if (room < bytes.length) part = bytes.subarray(0, room);
    }
    this.#hashedBytes += part.length;
    this.#digest?.update(part);
    return part;
  }

  /** The result; call when the peer has closed or `push` said stop. */
  finish(): HttpResponseSummary {
    return {
      headerFound: this.#header !== undefined,
      header: this.#header,
      status: this.#status,
      contentLength: this.#contentLength,
      bodyBytes: this.#bodyBytes,
      hashedBytes: this.#hashedBytes,
      digest: this.#digest?.digest(),
      overflow: this.#overflow,
    };
  }
}
