/**
 * kad's binding to the C library: the only module that calls `Deno.dlopen("libc.so.6")`.
 * It owns the symbol table, the constants and struct layouts of x86-64 Linux, and small
 * typed wrappers that turn a failed call into an `ErrnoError`. It must not hold policy
 * (timeouts, retries, what a failure means to a checker): callers decide that.
 *
 * Rules for additions (spec/deno-platform.md "FFI"):
 * - Synchronous symbols only, except a blocking wait that is meant to run on Deno's thread
 *   pool (`nonblocking: true`); such calls cannot report errno (it is thread-local).
 * - Read errno right after the synchronous call that failed, on the main thread.
 * - Keep the typed arrays handed to a call referenced until the call returns.
 */

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let library: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** The symbols, opened on first use so that commands without FFI never load libc. */
function libc(): Libc {
  library ??= Deno.dlopen("libc.so.6", SYMBOLS);
  return library.symbols;
}

// Constants (Linux, x86-64).
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const IPPROTO_TCP = 6;
export const SOL_SOCKET = 1;
export const SO_ERROR = 4;
export const SO_MARK = 36;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;

/** errno numbers kad reacts to by name (asm-generic/errno*.h). */
const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  32: "EPIPE",
  88: "ENOTSOCK",
  92: "ENOPROTOOPT",
  93: "EPROTONOSUPPORT",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  100: "ENETDOWN",
  101: "ENETUNREACH",
  103: "ECONNABORTED",
  104: "ECONNRESET",
  105: "ENOBUFS",
  106: "EISCONN",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  112: "EHOSTDOWN",
  113: "EHOSTUNREACH",
  114: "EALREADY",
  115: "EINPROGRESS",
};

/** The symbolic name of an errno value (`E123` for ones kad has no name for). */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

/** The C library's text for an errno value. */
export function strerror(errno: number): string {
  const p = libc().strerror(errno);
  return p === null ? `error ${errno}` : Deno.UnsafePointerView.getCString(p);
}

/** A failed libc call: `code` is the errno name, as node:net errors carry it. */
export class ErrnoError extends Error {
  override name = "ErrnoError";
  readonly code: string;
  constructor(readonly call: string, readonly errno: number) {
    super(`${call}: ${strerror(errno)}`);
    this.code = errnoName(errno);
  }
}

function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

function check(call: string, rc: number): number {
  if (rc < 0) throw new ErrnoError(call, errno());
  return rc;
}

/** socket(2): a new descriptor. */
export function socket(domain: number, type: number, protocol: number): number {
  return check("socket", libc().socket(domain, type, protocol));
}

/** close(2); errors are ignored (the descriptor is gone either way). */
export function close(fd: number): void {
  libc().close(fd);
}

/** setsockopt(2) with a 32-bit integer value. */
export function setsockoptInt(fd: number, level: number, name: number, value: number): void {
  const v = new Uint32Array([value >>> 0]);
  check("setsockopt", libc().setsockopt(fd, level, name, new Uint8Array(v.buffer), 4));
}

/** getsockopt(2) of a 32-bit integer option. */
export function getsockoptInt(fd: number, level: number, name: number): number {
  const v = new Int32Array(1);
  const len = new Uint32Array([4]);
  check(
    "getsockopt",
    libc().getsockopt(fd, level, name, new Uint8Array(v.buffer), new Uint8Array(len.buffer)),
  );
  return v[0] as number;
}

/** bind(2) to a socket address built by `sockaddr`. */
export function bind(fd: number, addr: Uint8Array): void {
  check("bind", libc().bind(fd, addr, addr.byteLength));
}

/** listen(2). */
export function listen(fd: number, backlog: number): void {
  check("listen", libc().listen(fd, backlog));
}

/** getsockname(2): the bound address as a `struct sockaddr_in`/`sockaddr_in6`. */
export function getsockname(fd: number): Uint8Array {
  const sa = new Uint8Array(28);
  const len = new Uint32Array([sa.length]);
  check("getsockname", libc().getsockname(fd, sa, new Uint8Array(len.buffer)));
  return sa.slice(0, len[0]);
}

/** The port of a `struct sockaddr_in`/`sockaddr_in6`. */
export function sockaddrPort(sa: Uint8Array): number {
  return new DataView(sa.buffer, sa.byteOffset, sa.byteLength).getUint16(2, false);
}

/**
 * connect(2). On a non-blocking socket returns "in-progress" for EINPROGRESS (wait for
 * POLLOUT, then read SO_ERROR); any other failure throws.
 */
export function connect(fd: number, addr: Uint8Array): "connected" | "in-progress" {
  if (libc().connect(fd, addr, addr.byteLength) === 0) return "connected";
  const e = errno();
  if (e === 115) return "in-progress";
  throw new ErrnoError("connect", e);
}

/**
 * poll(2) on one descriptor, run on Deno's blocking thread pool so the event loop keeps
 * going. Resolves to the returned events (0 on timeout). It parks one pool thread for up to
 * `timeoutMs` (the pool has 32): fine for one-shot tools, not for many concurrent sockets.
 */
export async function pollOne(fd: number, events: number, timeoutMs: number): Promise<number> {
  const pfd = new Uint8Array(8); // struct pollfd { int fd; short events; short revents; }
  const view = new DataView(pfd.buffer);
  view.setInt32(0, fd, true);
  view.setInt16(4, events, true);
  const ms = Math.max(0, Math.min(Math.ceil(timeoutMs), 0x7fffffff));
  const rc = await libc().poll(pfd, 1n, ms);
  // errno of a pool-thread call is not observable here (it is thread-local).
  if (rc < 0) throw new Error("poll() failed");
  return rc === 0 ? 0 : view.getUint16(6, true);
}

/**
 * A `struct sockaddr_in` (16 bytes) or `struct sockaddr_in6` (28 bytes) for an address
 * given as 4 or 16 bytes in network order.
 */
export function sockaddr(addr: Uint8Array, port: number, scopeId = 0): Uint8Array {
  if (addr.length === 4) {
    const sa = new Uint8Array(16);
    const v = new DataView(sa.buffer);
    v.setUint16(0, AF_INET, true);
    v.setUint16(2, port, false);
    sa.set(addr, 4);
    return sa;
  }
  if (addr.length !== 16) {
    throw new RangeError(`address of ${addr.length} bytes is neither IPv4 nor IPv6`);
  }
  const sa = new Uint8Array(28);
  const v = new DataView(sa.buffer);
  v.setUint16(0, AF_INET6, true);
  v.setUint16(2, port, false);
  sa.set(addr, 8);
  v.setUint32(24, scopeId, true);
  return sa;
}
