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
  // Datagram I/O, always with MSG_DONTWAIT or on O_NONBLOCK descriptors (the reactor waits).
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  sendmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  // The reactor: epoll_wait is the one call that blocks, so it runs on the thread pool.
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32", nonblocking: true },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  timerfd_create: { parameters: ["i32", "i32"], result: "i32" },
  timerfd_settime: { parameters: ["i32", "i32", "buffer", "pointer"], result: "i32" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  // Unix stream sockets of the control channel, always non-blocking (the reactor waits).
  accept4: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  // Signals Deno cannot listen to (the real-time ones): masks, signalfd, re-exec.
  pthread_sigmask: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  signalfd: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  signal: { parameters: ["i32", "pointer"], result: "pointer" },
  execve: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  __libc_current_sigrtmin: { parameters: [], result: "i32" },
  __libc_current_sigrtmax: { parameters: [], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let library: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** The symbols, opened on first use so that commands without FFI never load libc. */
function libc(): Libc {
  library ??= Deno.dlopen("libc.so.6", SYMBOLS);
  return library.symbols;
}

// Constants (Linux, x86-64).
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const IPPROTO_TCP = 6;
export const SOL_SOCKET = 1;
export const SO_ERROR = 4;
export const SO_MARK = 36;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const AF_PACKET = 17;
export const IPPROTO_IP = 0;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_RAW = 255;
export const SO_REUSEADDR = 2;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_RCVTIMEO = 20;
export const SO_BINDTODEVICE = 25;
export const SO_ATTACH_FILTER = 26;
export const SO_PEERCRED = 17;
export const SO_RCVBUFFORCE = 33;
/** Receive timestamps as `struct timespec` on CLOCK_REALTIME (asm-generic/socket.h). */
export const SO_TIMESTAMPNS = 35;
/** The control message carrying it (same number as the option). */
export const SCM_TIMESTAMPNS = SO_TIMESTAMPNS;
// IPPROTO_IP options (linux/in.h).
export const IP_TOS = 1;
export const IP_TTL = 2;
export const IP_HDRINCL = 3;
export const IP_PKTINFO = 8;
export const IP_FREEBIND = 15;
export const IP_MULTICAST_IF = 32;
export const IP_MULTICAST_TTL = 33;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
export const IP_DROP_MEMBERSHIP = 36;
export const IP_MULTICAST_ALL = 49;
// IPPROTO_IPV6 options (linux/in6.h).
export const IPV6_CHECKSUM = 7;
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_MULTICAST_IF = 17;
export const IPV6_MULTICAST_HOPS = 18;
export const IPV6_MULTICAST_LOOP = 19;
export const IPV6_JOIN_GROUP = 20;
export const IPV6_LEAVE_GROUP = 21;
export const IPV6_V6ONLY = 26;
export const IPV6_MULTICAST_ALL = 29;
export const IPV6_RECVPKTINFO = 49;
export const IPV6_PKTINFO = 50;
export const IPV6_RECVHOPLIMIT = 51;
export const IPV6_HOPLIMIT = 52;
export const IPV6_TCLASS = 67;
export const IPV6_FREEBIND = 78;
/** IPPROTO_ICMPV6 option: which ICMPv6 types a raw socket receives (struct icmp6_filter). */
export const ICMP6_FILTER = 1;
// send/recv flags.
export const MSG_DONTROUTE = 0x4;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;
// epoll and eventfd (sys/epoll.h, sys/eventfd.h).
export const EPOLL_CLOEXEC = 0o2000000;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
export const EPOLLIN = 0x001;
export const EPOLLOUT = 0x004;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;
export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;
// timerfd (sys/timerfd.h, time.h).
export const CLOCK_REALTIME = 0;
export const CLOCK_MONOTONIC = 1;
export const TFD_NONBLOCK = 0o4000;
export const TFD_CLOEXEC = 0o2000000;
export const TFD_TIMER_ABSTIME = 1;
/** setns(2) namespace type of a network namespace. */
export const CLONE_NEWNET = 0x40000000;
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;

/** errno numbers kad reacts to by name (asm-generic/errno*.h). */
const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  6: "ENXIO",
  7: "E2BIG",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  28: "ENOSPC",
  32: "EPIPE",
  34: "ERANGE",
  61: "ENODATA",
  71: "EPROTO",
  88: "ENOTSOCK",
  90: "EMSGSIZE",
  92: "ENOPROTOOPT",
  93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP",
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

/** "File exists (EEXIST)": the C library's text and the symbolic name of an errno value. */
export function errnoText(errno: number): string {
  return `${strerror(errno)} (${errnoName(errno)})`;
}

/**
 * A failed libc call (or kernel request): `code` is the errno name, as node:net errors carry
 * it. Without `operation` the message is "call: text"; with it, the message names what kad
 * was doing: "adding 192.0.2.1/24 to eth0 failed: File exists (EEXIST)", followed by the
 * kernel's own explanation (`detail`, e.g. a netlink extended ACK) when there is one.
 */
export class ErrnoError extends Error {
  override name = "ErrnoError";
  readonly code: string;
  constructor(
    readonly call: string,
    readonly errno: number,
    readonly operation?: string,
    readonly detail?: string,
  ) {
    super(
      operation === undefined
        ? `${call}: ${strerror(errno)}`
        : `${operation} failed: ${errnoText(errno)}${detail ? `: ${detail}` : ""}`,
    );
    this.code = errnoName(errno);
  }
}

function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/**
 * This thread's errno. Meaningful only right after a synchronous call that failed, on the
 * main thread (ffi/libmnl.ts reads it after libmnl calls).
 */
export function lastErrno(): number {
  return errno();
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

// ---- raw sockets, datagrams and ancillary data (VRRP, ARP, NA) ----

/** Off-heap bytes: a pointer into them (`UnsafePointer.of`) stays valid while they live. */
function offHeap(length: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(length));
}

const encoder = new TextEncoder();

/** A NUL-terminated C string in off-heap bytes. */
export function cString(text: string): Uint8Array {
  const b = encoder.encode(text);
  const out = offHeap(b.length + 1);
  out.set(b);
  return out;
}

/** setsockopt(2) with a value given as bytes (a struct or a string). */
export function setsockoptBytes(fd: number, level: number, name: number, value: Uint8Array): void {
  check("setsockopt", libc().setsockopt(fd, level, name, value, value.byteLength));
}

/** SO_BINDTODEVICE: the socket only sends and receives through `ifname`. */
export function bindToDevice(fd: number, ifname: string): void {
  setsockoptBytes(fd, SOL_SOCKET, SO_BINDTODEVICE, cString(ifname));
}

/**
 * SO_RCVTIMEO: a blocking receive on `fd` gives up with EAGAIN after `ms` (netlink request
 * sockets use it as a guard; replies normally arrive before the send returns).
 */
export function setReceiveTimeout(fd: number, ms: number): void {
  const tv = new BigInt64Array([BigInt(Math.floor(ms / 1000)), BigInt((ms % 1000) * 1000)]);
  setsockoptBytes(fd, SOL_SOCKET, SO_RCVTIMEO, new Uint8Array(tv.buffer));
}

// The classic-BPF program "ret #0" (struct sock_filter { u16 code; u8 jt, jf; u32 k; }):
// every packet is dropped before it is queued.
const DROP_ALL_FILTER = offHeap(8);
new DataView(DROP_ALL_FILTER.buffer).setUint16(0, 0x06, true); // BPF_RET | BPF_K, k = 0

/**
 * Attaches a socket filter that drops every packet, so a raw socket used only to send
 * (it would otherwise get a copy of every packet of its protocol) queues nothing.
 */
export function dropAllReceived(fd: number): void {
  const prog = offHeap(16); // struct sock_fprog { u16 len; (pad) struct sock_filter *filter; }
  const v = new DataView(prog.buffer);
  v.setUint16(0, 1, true);
  v.setBigUint64(8, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(DROP_ALL_FILTER))), true);
  setsockoptBytes(fd, SOL_SOCKET, SO_ATTACH_FILTER, prog);
}

/** if_nametoindex(3); throws (ENODEV) when there is no such interface. */
export function ifNameToIndex(ifname: string): number {
  const index = libc().if_nametoindex(cString(ifname));
  if (index === 0) {
    throw new ErrnoError("if_nametoindex", errno(), `looking up interface '${ifname}'`);
  }
  return index;
}

/**
 * A `struct sockaddr_ll` (20 bytes) for sending a frame through an AF_PACKET socket:
 * `protocol` is the Ethernet type (host order), `address` the destination MAC.
 */
export function sockaddrLinkLayer(
  ifindex: number,
  protocol: number,
  address: Uint8Array,
): Uint8Array {
  const sa = offHeap(20);
  const v = new DataView(sa.buffer);
  v.setUint16(0, AF_PACKET, true);
  v.setUint16(2, protocol, false);
  v.setInt32(4, ifindex, true);
  sa[11] = address.length;
  sa.set(address.subarray(0, 8), 12);
  return sa;
}

/** A socket address taken apart: the address bytes (4 or 16), port and IPv6 scope id. */
export interface SocketAddress {
  readonly family: number;
  readonly address: Uint8Array;
  readonly port: number;
  readonly scopeId: number;
}

/** Parses a `struct sockaddr_in`/`sockaddr_in6`; undefined for other families. */
export function parseSockaddr(sa: Uint8Array): SocketAddress | undefined {
  if (sa.length < 2) return undefined;
  const v = new DataView(sa.buffer, sa.byteOffset, sa.byteLength);
  const family = v.getUint16(0, true);
  if (family === AF_INET && sa.length >= 8) {
    return { family, address: sa.slice(4, 8), port: v.getUint16(2, false), scopeId: 0 };
  }
  if (family === AF_INET6 && sa.length >= 28) {
    return {
      family,
      address: sa.slice(8, 24),
      port: v.getUint16(2, false),
      scopeId: v.getUint32(24, true),
    };
  }
  return undefined;
}

/** sendto(2); returns the bytes sent. `flags` should include MSG_DONTWAIT. */
export function sendto(
  fd: number,
  data: Uint8Array,
  flags: number,
  address: Uint8Array | null,
): number {
  const rc = libc().sendto(
    fd,
    data,
    BigInt(data.byteLength),
    flags,
    address,
    address === null ? 0 : address.byteLength,
  );
  if (rc < 0n) throw new ErrnoError("sendto", errno());
  return Number(rc);
}

const CMSG_HEADER = 16; // struct cmsghdr { size_t len; int level; int type; } on x86-64

function cmsgAlign(n: number): number {
  return (n + 7) & ~7;
}

/** One ancillary-data item of sendmsg/recvmsg. */
export interface ControlMessage {
  readonly level: number;
  readonly type: number;
  readonly data: Uint8Array;
}

/** Encodes ancillary data (each item CMSG_SPACE-aligned) for `sendmsg`. */
export function encodeControl(messages: readonly ControlMessage[]): Uint8Array {
  let size = 0;
  for (const m of messages) size += cmsgAlign(CMSG_HEADER + m.data.length);
  const out = offHeap(size);
  const v = new DataView(out.buffer);
  let off = 0;
  for (const m of messages) {
    v.setBigUint64(off, BigInt(CMSG_HEADER + m.data.length), true);
    v.setInt32(off + 8, m.level, true);
    v.setInt32(off + 12, m.type, true);
    out.set(m.data, off + CMSG_HEADER);
    off += cmsgAlign(CMSG_HEADER + m.data.length);
  }
  return out;
}

/** Decodes the ancillary data a `recvmsg` returned. */
export function decodeControl(control: Uint8Array): ControlMessage[] {
  const out: ControlMessage[] = [];
  const v = new DataView(control.buffer, control.byteOffset, control.byteLength);
  let off = 0;
  while (off + CMSG_HEADER <= control.length) {
    const len = Number(v.getBigUint64(off, true));
    if (len < CMSG_HEADER || off + len > control.length) break;
    out.push({
      level: v.getInt32(off + 8, true),
      type: v.getInt32(off + 12, true),
      data: control.slice(off + CMSG_HEADER, off + len),
    });
    off += cmsgAlign(len);
  }
  return out;
}

function ptr(b: Uint8Array | null): bigint {
  return b === null || b.byteLength === 0
    ? 0n
    : BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));
}

/**
 * sendmsg(2) of one buffer with an optional destination and ancillary data (see
 * `encodeControl`); returns the bytes sent. `flags` should include MSG_DONTWAIT.
 */
export function sendmsg(
  fd: number,
  data: Uint8Array,
  address: Uint8Array | null,
  control: Uint8Array | null,
  flags: number,
): number {
  // The struct holds pointers: every buffer it points to is referenced by a local until
  // the synchronous call returns (spec/deno-platform.md, "FFI").
  const payload = offHeap(data.byteLength);
  payload.set(data);
  const name = address === null ? null : offHeap(address.byteLength);
  name?.set(address as Uint8Array);
  const ctl = control === null ? null : offHeap(control.byteLength);
  ctl?.set(control as Uint8Array);
  const iov = offHeap(16);
  const iv = new DataView(iov.buffer);
  iv.setBigUint64(0, ptr(payload), true);
  iv.setBigUint64(8, BigInt(payload.byteLength), true);
  const msg = offHeap(56);
  const mv = new DataView(msg.buffer);
  mv.setBigUint64(0, ptr(name), true);
  mv.setUint32(8, name?.byteLength ?? 0, true);
  mv.setBigUint64(16, ptr(iov), true);
  mv.setBigUint64(24, 1n, true);
  mv.setBigUint64(32, ptr(ctl), true);
  mv.setBigUint64(40, BigInt(ctl?.byteLength ?? 0), true);
  const rc = libc().sendmsg(fd, msg, flags);
  if (rc < 0n) throw new ErrnoError("sendmsg", errno());
  return Number(rc);
}

/**
 * Reusable buffers for `recvmsg`: one datagram of up to `dataSize` bytes, its source
 * address and up to `controlSize` bytes of ancillary data. The struct msghdr points into
 * them, so an instance must stay referenced while it is in use (it is, by its owner).
 */
export class MessageBuffers {
  readonly data: Uint8Array;
  readonly name = offHeap(128);
  readonly control: Uint8Array;
  readonly #iov = offHeap(16);
  readonly #msg = offHeap(56);
  readonly #mv = new DataView(this.#msg.buffer);

  constructor(dataSize: number, controlSize = 256) {
    this.data = offHeap(dataSize);
    this.control = offHeap(controlSize);
    const iv = new DataView(this.#iov.buffer);
    iv.setBigUint64(0, ptr(this.data), true);
    iv.setBigUint64(8, BigInt(dataSize), true);
    this.#mv.setBigUint64(0, ptr(this.name), true);
    this.#mv.setBigUint64(16, ptr(this.#iov), true);
    this.#mv.setBigUint64(24, 1n, true);
    this.#mv.setBigUint64(32, ptr(this.control), true);
  }

  /** @internal The struct msghdr, reset for the next call. */
  prepare(): Uint8Array {
    this.#mv.setUint32(8, this.name.byteLength, true);
    this.#mv.setBigUint64(40, BigInt(this.control.byteLength), true);
    this.#mv.setInt32(48, 0, true);
    return this.#msg;
  }

  /** The source address length the last call returned. */
  get nameLength(): number {
    return this.#mv.getUint32(8, true);
  }

  /** The ancillary-data length the last call returned. */
  get controlLength(): number {
    return Number(this.#mv.getBigUint64(40, true));
  }

  /** `msg_flags` of the last call (MSG_TRUNC, MSG_CTRUNC). */
  get flags(): number {
    return this.#mv.getInt32(48, true);
  }
}

/** The outcome of one `recvmsg`. */
export interface Received {
  /** Bytes of the datagram; more than were stored when `truncated`. */
  readonly length: number;
  readonly truncated: boolean;
  readonly source: Uint8Array;
  readonly control: ControlMessage[];
}

/**
 * recvmsg(2) with MSG_DONTWAIT into `bufs`; null when nothing is queued (EAGAIN). The
 * datagram is in `bufs.data` until the next call. MSG_TRUNC makes `length` the real size.
 */
export function recvmsg(fd: number, bufs: MessageBuffers): Received | null {
  const rc = libc().recvmsg(fd, bufs.prepare(), MSG_DONTWAIT | MSG_TRUNC);
  if (rc < 0n) {
    const e = errno();
    if (e === 11) return null;
    throw new ErrnoError("recvmsg", e);
  }
  const length = Number(rc);
  return {
    length,
    truncated: length > bufs.data.length || (bufs.flags & MSG_TRUNC) !== 0,
    source: bufs.name.slice(0, Math.min(bufs.nameLength, bufs.name.length)),
    control: decodeControl(bufs.control.subarray(0, bufs.controlLength)),
  };
}

/** A `struct timespec` (i64 seconds, i64 nanoseconds) as nanoseconds; undefined if short. */
export function timespecNs(data: Uint8Array): bigint | undefined {
  if (data.length < 16) return undefined;
  const v = new DataView(data.buffer, data.byteOffset, 16);
  return v.getBigInt64(0, true) * 1_000_000_000n + v.getBigInt64(8, true);
}

const timespecBuf = new Uint8Array(16);

/** clock_gettime(2) in nanoseconds. */
export function clockGettimeNs(clockId: number): bigint {
  check("clock_gettime", libc().clock_gettime(clockId, timespecBuf));
  return timespecNs(timespecBuf) as bigint;
}

// ---- the reactor: epoll, eventfd and timerfd ----

/** read(2); null when the descriptor has nothing (EAGAIN). */
export function read(fd: number, buf: Uint8Array): number | null {
  const rc = libc().read(fd, buf, BigInt(buf.byteLength));
  if (rc < 0n) {
    const e = errno();
    if (e === 11) return null;
    throw new ErrnoError("read", e);
  }
  return Number(rc);
}

/** write(2); returns the bytes written (EAGAIN is an error here). */
export function write(fd: number, buf: Uint8Array): number {
  const rc = libc().write(fd, buf, BigInt(buf.byteLength));
  if (rc < 0n) throw new ErrnoError("write", errno());
  return Number(rc);
}

/** eventfd(2). */
export function eventfd(initial: number, flags: number): number {
  return check("eventfd", libc().eventfd(initial, flags));
}

/** timerfd_create(2). */
export function timerfdCreate(clockId: number, flags: number): number {
  return check("timerfd_create", libc().timerfd_create(clockId, flags));
}

/** Size of `struct itimerspec` on x86-64: it_interval then it_value, each i64 s + i64 ns. */
export const ITIMERSPEC_SIZE = 32;

/**
 * timerfd_settime(2) for a one-shot timer: expires `valueNs` nanoseconds from now (or at
 * that time of the timer's clock with TFD_TIMER_ABSTIME); 0 disarms it. Each expiry makes
 * the descriptor readable and adds one to its 8-byte expiration counter (read it with
 * `read`).
 */
export function timerfdSettime(fd: number, flags: number, valueNs: bigint): void {
  const spec = new Uint8Array(ITIMERSPEC_SIZE);
  const v = new DataView(spec.buffer);
  v.setBigInt64(16, valueNs / 1_000_000_000n, true);
  v.setBigInt64(24, valueNs % 1_000_000_000n, true);
  check("timerfd_settime", libc().timerfd_settime(fd, flags, spec, null));
}

/** epoll_create1(2) with EPOLL_CLOEXEC. */
export function epollCreate(): number {
  return check("epoll_create1", libc().epoll_create1(EPOLL_CLOEXEC));
}

/** Size of the packed `struct epoll_event` on x86-64: events u32 at 0, data u64 at 4. */
export const EPOLL_EVENT_SIZE = 12;

/** epoll_ctl(2); `data` (a u32 token) comes back with each event for `fd`. */
export function epollCtl(epfd: number, op: number, fd: number, events: number, data: number): void {
  const ev = new Uint8Array(EPOLL_EVENT_SIZE);
  const v = new DataView(ev.buffer);
  v.setUint32(0, events, true);
  v.setBigUint64(4, BigInt(data >>> 0), true);
  check("epoll_ctl", libc().epoll_ctl(epfd, op, fd, ev));
}

/**
 * epoll_wait(2) on Deno's blocking thread pool (the one nonblocking call kad makes).
 * `events` must hold `maxEvents` × 12 bytes and stay untouched until the promise settles.
 * Resolves to the number of events, or -1 on failure (errno is not observable here: it
 * belongs to the pool thread).
 */
export function epollWait(
  epfd: number,
  events: Uint8Array,
  maxEvents: number,
  timeoutMs: number,
): Promise<number> {
  return libc().epoll_wait(epfd, events, maxEvents, timeoutMs);
}

// ---- Unix stream sockets (the control channel) ----

/** Longest path a `struct sockaddr_un` holds (108 bytes with the terminating NUL). */
export const UNIX_PATH_MAX = 107;

/**
 * A `struct sockaddr_un` (110 bytes) for a file system socket path. Throws a RangeError
 * for a path longer than UNIX_PATH_MAX bytes or containing a NUL.
 */
export function sockaddrUnix(path: string): Uint8Array {
  const bytes = encoder.encode(path);
  if (bytes.length === 0 || bytes.length > UNIX_PATH_MAX || bytes.includes(0)) {
    throw new RangeError(
      `socket path '${path}' must be 1 to ${UNIX_PATH_MAX} bytes without NUL characters`,
    );
  }
  const sa = offHeap(110);
  new DataView(sa.buffer).setUint16(0, AF_UNIX, true);
  sa.set(bytes, 2);
  return sa;
}

/**
 * connect(2) of a Unix socket: "connected", or "refused" when nothing listens there
 * (ECONNREFUSED: a socket file left by a process that died); EAGAIN (the listener's queue
 * is full) counts as connected. Any other failure throws.
 */
export function connectUnix(fd: number, path: string): "connected" | "refused" {
  const sa = sockaddrUnix(path);
  if (libc().connect(fd, sa, sa.byteLength) === 0) return "connected";
  const e = errno();
  if (e === 111) return "refused";
  if (e === 11) return "connected";
  throw new ErrnoError("connect", e, `connecting to '${path}'`);
}

/** accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC; null when no connection waits (EAGAIN). */
export function accept(fd: number): number | null {
  const rc = libc().accept4(fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (rc >= 0) return rc;
  const e = errno();
  // ECONNABORTED: the client left before we took it; nothing to do for it.
  if (e === 11 || e === 103) return null;
  throw new ErrnoError("accept4", e);
}

/** recv(2) with MSG_DONTWAIT: bytes read, 0 at end of stream, null when nothing is queued. */
export function recv(fd: number, buf: Uint8Array): number | null {
  const rc = libc().recv(fd, buf, BigInt(buf.byteLength), MSG_DONTWAIT);
  if (rc < 0n) {
    const e = errno();
    if (e === 11) return null;
    throw new ErrnoError("recv", e);
  }
  return Number(rc);
}

/**
 * send(2) with MSG_DONTWAIT | MSG_NOSIGNAL (a peer that went away is EPIPE, not SIGPIPE):
 * the bytes sent, or 0 when the socket buffer is full (EAGAIN).
 */
export function send(fd: number, data: Uint8Array): number {
  const rc = libc().send(fd, data, BigInt(data.byteLength), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (rc < 0n) {
    const e = errno();
    if (e === 11) return 0;
    throw new ErrnoError("send", e);
  }
  return Number(rc);
}

/** The peer of a connected Unix socket (SO_PEERCRED): its pid, uid and gid. */
export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

/** getsockopt(SO_PEERCRED): who is at the other end of a Unix socket. */
export function peerCredentials(fd: number): PeerCredentials {
  const cred = new Uint32Array(3); // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
  const len = new Uint32Array([12]);
  check(
    "getsockopt",
    libc().getsockopt(
      fd,
      SOL_SOCKET,
      SO_PEERCRED,
      new Uint8Array(cred.buffer),
      new Uint8Array(len.buffer),
    ),
  );
  return { pid: cred[0] as number, uid: cred[1] as number, gid: cred[2] as number };
}

/**
 * fchmod(2). On a socket before bind(2) it sets the mode the socket file is created with
 * (still masked by the umask), so the file never exists with a wider mode.
 */
export function fchmod(fd: number, mode: number): void {
  check("fchmod", libc().fchmod(fd, mode));
}

// ---- signals Deno does not handle: masks, signalfd, exec ----

export const SIG_BLOCK = 0;
export const SIG_UNBLOCK = 1;
export const SFD_NONBLOCK = 0o4000;
export const SFD_CLOEXEC = 0o2000000;
/** Size of `struct signalfd_siginfo`; `ssi_signo` is the u32 at offset 0. */
export const SIGNALFD_SIGINFO_SIZE = 128;

/** glibc's SIGRTMIN and SIGRTMAX (34 and 64 on Linux: glibc keeps two for threads). */
export function realtimeSignalRange(): { min: number; max: number } {
  return { min: libc().__libc_current_sigrtmin(), max: libc().__libc_current_sigrtmax() };
}

/** A `sigset_t` (128 bytes) holding `signals` (1–64). */
function sigset(signals: readonly number[]): Uint8Array {
  const set = new BigUint64Array(16);
  for (const s of signals) {
    if (!Number.isInteger(s) || s < 1 || s > 64) throw new RangeError(`signal ${s} is not 1–64`);
    set[0] = (set[0] as bigint) | (1n << BigInt(s - 1));
  }
  return new Uint8Array(set.buffer);
}

/**
 * pthread_sigmask(3) for the calling thread: SIG_BLOCK or SIG_UNBLOCK `signals`. Threads
 * started afterwards inherit the mask; threads that already run keep theirs.
 */
export function setSignalMask(how: number, signals: readonly number[]): void {
  const rc = libc().pthread_sigmask(how, sigset(signals), null);
  if (rc !== 0) throw new ErrnoError("pthread_sigmask", rc);
}

/** Sets `signals` to SIG_IGN, so that their default action (terminate) never runs. */
export function ignoreSignals(signals: readonly number[]): void {
  for (const s of signals) libc().signal(s, Deno.UnsafePointer.create(1n));
}

/**
 * signalfd(2): a new descriptor (SFD_NONBLOCK | SFD_CLOEXEC) that becomes readable when one
 * of `signals` is pending. The signals must be blocked in every thread, or the kernel
 * delivers them to a thread that does not block them instead.
 */
export function signalfdCreate(signals: readonly number[]): number {
  return check("signalfd", libc().signalfd(-1, sigset(signals), SFD_NONBLOCK | SFD_CLOEXEC));
}

/** Reads every pending signal from a signalfd: their numbers, in delivery order. */
export function readSignalfd(fd: number): number[] {
  const buf = offHeap(SIGNALFD_SIGINFO_SIZE * 16);
  const view = new DataView(buf.buffer);
  const out: number[] = [];
  for (;;) {
    const n = read(fd, buf);
    if (n === null || n === 0) return out;
    for (let off = 0; off + SIGNALFD_SIGINFO_SIZE <= n; off += SIGNALFD_SIGINFO_SIZE) {
      out.push(view.getUint32(off, true));
    }
  }
}

/** A NULL-terminated array of pointers to C strings (argv, envp); keep `strings` alive. */
function pointerArray(strings: readonly Uint8Array[]): Uint8Array {
  const ptrs = new BigUint64Array(strings.length + 1);
  strings.forEach((s, i) => {
    ptrs[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(s)));
  });
  return new Uint8Array(ptrs.buffer);
}

/**
 * execve(2): replaces the process image (same pid, same open descriptors without
 * FD_CLOEXEC, the calling thread's signal mask). Returns only on failure, by throwing.
 */
export function execve(path: string, argv: readonly string[], env: readonly string[]): never {
  const args = argv.map(cString);
  const envs = env.map(cString);
  libc().execve(cString(path), pointerArray(args), pointerArray(envs));
  throw new ErrnoError("execve", errno(), `re-executing ${path}`);
}

// ---- network namespaces ----

function openReadOnly(path: string): number {
  const fd = libc().open(cString(path), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw new ErrnoError("open", errno(), `opening '${path}'`);
  return fd;
}

/**
 * Runs `fn` with the calling thread in the network namespace at `nsPath` (for example
 * `/run/netns/NAME`, as keepalived's `net_namespace` does), then returns the thread to its
 * namespace. Sockets created inside stay in that namespace for their whole life. `fn` must
 * be synchronous: nothing else may run on the thread while it is away.
 */
export function withNetNamespace<T>(nsPath: string, fn: () => T): T {
  const home = openReadOnly("/proc/thread-self/ns/net");
  try {
    const target = openReadOnly(nsPath);
    try {
      check("setns", libc().setns(target, CLONE_NEWNET));
    } finally {
      libc().close(target);
    }
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: fn() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    // Coming back cannot fail for a namespace we were in a moment ago; if it did, the
    // thread must not carry on in the wrong namespace as if nothing happened.
    if (libc().setns(home, CLONE_NEWNET) < 0) {
      throw new ErrnoError("setns", errno(), "returning to the original network namespace");
    }
    if (!outcome.ok) throw outcome.error;
    if (outcome.value instanceof Promise) {
      throw new TypeError("withNetNamespace() needs a synchronous function, not an async one");
    }
    return outcome.value;
  } finally {
    libc().close(home);
  }
}
