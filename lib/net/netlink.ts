/**
 * rtnetlink plumbing: building netlink messages and attributes, parsing replies, and a
 * request socket that sends one request at a time and waits for its ACK, error or dump
 * (spec/deno-platform.md, "Netlink (libmnl)": attributes are built and parsed here in
 * TypeScript; ffi/libmnl.ts only moves bytes).
 *
 * Owns sequence numbers, ACK/error handling (errno and the kernel's extended-ACK message
 * become an `ErrnoError` naming what kad was doing), dump collection and interface-name
 * lookups. It knows nothing about addresses, routes or rules (lib/net/addresses.ts,
 * routes.ts, rules.ts) and never waits in the reactor: a request's reply is queued by the
 * kernel before `sendto` returns, so `request()` and `dump()` are synchronous.
 */
import {
  ErrnoError,
  setReceiveTimeout,
  setsockoptInt,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SOL_SOCKET,
} from "../../ffi/libc.ts";
import {
  MnlSocket,
  NETLINK_ADD_MEMBERSHIP,
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  NETLINK_ROUTE,
} from "../../ffi/libmnl.ts";

/** nlmsghdr flags (linux/netlink.h). */
export const NLM_F = {
  REQUEST: 0x1,
  MULTI: 0x2,
  ACK: 0x4,
  ECHO: 0x8,
  DUMP_INTR: 0x10,
  DUMP: 0x300,
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  APPEND: 0x800,
  CAPPED: 0x100,
  ACK_TLVS: 0x200,
} as const;

/** Control message types. */
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

/** rtnetlink message types (linux/rtnetlink.h). */
export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  GETROUTE: 26,
  NEWRULE: 32,
  DELRULE: 33,
  GETRULE: 34,
} as const;

/** rtnetlink multicast group numbers, for `NetlinkEvents.join` (linux/rtnetlink.h RTNLGRP_*). */
export const RTNLGRP = {
  IPV4_ROUTE: 7,
  IPV4_RULE: 8,
  IPV6_ROUTE: 11,
  IPV6_RULE: 19,
} as const;

/** Legacy multicast group bits for `MnlSocket.open` (linux/rtnetlink.h RTMGRP_*). */
export const RTMGRP = {
  LINK: 0x1,
  IPV4_IFADDR: 0x10,
  IPV6_IFADDR: 0x100,
} as const;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

/** IFLA_IFNAME: the interface-name attribute of link messages. */
export const IFLA_IFNAME = 3;

const NLMSG_HDRLEN = 16;
const NLA_HDRLEN = 4;
const NLA_TYPE_MASK = 0x3fff;
export const NLA_F_NESTED = 0x8000;
const NLMSGERR_ATTR_MSG = 1;
const ETIMEDOUT = 110;

/**
 * Receive buffer: dumps need at least 32 KiB (the kernel sizes dump datagrams by the
 * reader's buffer, up to 32 KiB); 64 KiB leaves room.
 */
export const NETLINK_BUFFER_SIZE = 65536;
/** How long a request waits for the kernel's reply before giving up (a guard only). */
const REPLY_TIMEOUT_MS = 2000;
/** Dumps interrupted by a concurrent change (NLM_F_DUMP_INTR) are retried this often. */
const DUMP_RETRIES = 3;

const align4 = (n: number) => (n + 3) & ~3;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Builds one netlink message: the fixed family header, then attributes (each padded to 4
 * bytes). `nest()` opens a nested attribute that `end()` closes.
 */
export class MessageBuilder {
  #buf = new Uint8Array(256);
  #view = new DataView(this.#buf.buffer);
  #len: number;
  readonly #nests: number[] = [];

  constructor(readonly type: number, readonly flags: number, header: Uint8Array) {
    this.#len = NLMSG_HDRLEN;
    this.#reserve(header.length);
    this.#buf.set(header, this.#len);
    this.#len += align4(header.length);
  }

  #reserve(n: number): void {
    const need = this.#len + align4(n) + NLA_HDRLEN;
    if (need <= this.#buf.length) return;
    const bigger = new Uint8Array(Math.max(need, this.#buf.length * 2));
    bigger.set(this.#buf);
    this.#buf = bigger;
    this.#view = new DataView(bigger.buffer);
  }

  /** An attribute with raw bytes as its payload. */
  bytes(type: number, payload: Uint8Array): this {
    this.#reserve(NLA_HDRLEN + payload.length);
    this.#view.setUint16(this.#len, NLA_HDRLEN + payload.length, true);
    this.#view.setUint16(this.#len + 2, type, true);
    this.#buf.set(payload, this.#len + NLA_HDRLEN);
    this.#len += align4(NLA_HDRLEN + payload.length);
    return this;
  }

  u8(type: number, value: number): this {
    return this.bytes(type, new Uint8Array([value]));
  }

  u16(type: number, value: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, value, true);
    return this.bytes(type, b);
  }

  u32(type: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value >>> 0, true);
    return this.bytes(type, b);
  }

  /** A NUL-terminated string. */
  string(type: number, value: string): this {
    const s = encoder.encode(value);
    const b = new Uint8Array(s.length + 1);
    b.set(s);
    return this.bytes(type, b);
  }

  /** Opens a nested attribute; attributes added until `end()` go inside it. */
  nest(type: number): this {
    this.#reserve(NLA_HDRLEN);
    this.#nests.push(this.#len);
    this.#view.setUint16(this.#len + 2, type | NLA_F_NESTED, true);
    this.#len += NLA_HDRLEN;
    return this;
  }

  /** Closes the innermost nested attribute. */
  end(): this {
    const start = this.#nests.pop();
    if (start === undefined) throw new Error("MessageBuilder.end() without nest()");
    this.#view.setUint16(start, this.#len - start, true);
    return this;
  }

  /** The finished message with its header filled in. */
  finish(seq: number): Uint8Array {
    if (this.#nests.length > 0) throw new Error("MessageBuilder.finish() inside a nest");
    this.#view.setUint32(0, this.#len, true);
    this.#view.setUint16(4, this.type, true);
    this.#view.setUint16(6, this.flags, true);
    this.#view.setUint32(8, seq >>> 0, true);
    this.#view.setUint32(12, 0, true);
    return this.#buf.slice(0, this.#len);
  }
}

/** One received netlink message; `body` is what follows the 16-byte header. */
export interface NetlinkMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  readonly body: Uint8Array;
}

/** Splits a received datagram into messages (stops at a malformed length). */
export function parseMessages(buf: Uint8Array): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = v.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > buf.length) break;
    out.push({
      type: v.getUint16(off + 4, true),
      flags: v.getUint16(off + 6, true),
      seq: v.getUint32(off + 8, true),
      pid: v.getUint32(off + 12, true),
      body: buf.slice(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Attributes by type (the last one wins for repeated types); payloads are views. */
export type Attributes = Map<number, Uint8Array>;

/** Parses the attributes in `buf` from `offset` on (stops at a malformed length). */
export function parseAttributes(buf: Uint8Array, offset = 0): Attributes {
  const out: Attributes = new Map();
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = offset;
  while (off + NLA_HDRLEN <= buf.length) {
    const len = v.getUint16(off, true);
    if (len < NLA_HDRLEN || off + len > buf.length) break;
    out.set(v.getUint16(off + 2, true) & NLA_TYPE_MASK, buf.subarray(off + NLA_HDRLEN, off + len));
    off += align4(len);
  }
  return out;
}

/** A u8 attribute. */
export function attrU8(a: Attributes, type: number): number | undefined {
  const b = a.get(type);
  return b === undefined || b.length < 1 ? undefined : b[0];
}

/** A u32 attribute (host order). */
export function attrU32(a: Attributes, type: number): number | undefined {
  const b = a.get(type);
  return b === undefined || b.length < 4
    ? undefined
    : new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
}

/** A string attribute (up to its NUL). */
export function attrString(a: Attributes, type: number): string | undefined {
  const b = a.get(type);
  if (b === undefined) return undefined;
  const nul = b.indexOf(0);
  return decoder.decode(nul < 0 ? b : b.subarray(0, nul));
}

/** The kernel's error for an NLMSG_ERROR body: errno (0 = ACK) and extended-ACK text. */
export function parseError(m: NetlinkMessage): { errno: number; message: string | undefined } {
  const v = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
  const errno = m.body.length >= 4 ? -v.getInt32(0, true) : 0;
  let message: string | undefined;
  if ((m.flags & NLM_F.ACK_TLVS) !== 0 && m.body.length >= 4 + NLMSG_HDRLEN) {
    // With NLM_F_CAPPED only the request's header is echoed, otherwise all of it.
    const echoed = (m.flags & NLM_F.CAPPED) !== 0 ? NLMSG_HDRLEN : v.getUint32(4, true);
    message = attrString(parseAttributes(m.body, 4 + align4(echoed)), NLMSGERR_ATTR_MSG);
  }
  return { errno, message: message === "" ? undefined : message };
}

/** A 16-byte `struct ifinfomsg` selecting one interface (or none: index 0). */
export function ifinfomsg(index = 0, family = AF_UNSPEC): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = family;
  new DataView(b.buffer).setInt32(4, index, true);
  return b;
}

/**
 * The rtnetlink request socket. One request at a time: send, then read until the reply
 * with our sequence number (stale replies of an earlier request that timed out are
 * skipped).
 */
export class Netlink {
  readonly #sock: MnlSocket;
  readonly #portid: number;
  readonly #buf = new Uint8Array(NETLINK_BUFFER_SIZE);
  #seq: number;
  #indexSource: ((ifname: string) => number | undefined) | undefined;
  /** Requests that failed (errno or no reply), for the daemon's counters. */
  failures = 0;

  private constructor(sock: MnlSocket) {
    this.#sock = sock;
    this.#portid = sock.portid;
    this.#seq = Math.floor(Date.now() / 1000) & 0x7fffffff;
  }

  /** Opens a request socket with extended ACKs and strict dump checking turned on. */
  static open(): Netlink {
    const sock = MnlSocket.open(NETLINK_ROUTE, 0, false);
    try {
      sock.setOption(NETLINK_CAP_ACK, 1);
      sock.setOption(NETLINK_EXT_ACK, 1);
      sock.setOption(NETLINK_GET_STRICT_CHK, 1);
      setReceiveTimeout(sock.fd, REPLY_TIMEOUT_MS);
    } catch (e) {
      sock.close();
      throw e;
    }
    return new Netlink(sock);
  }

  close(): void {
    this.#sock.close();
  }

  /**
   * The socket's netlink port id. The kernel's notifications of a change this socket asked
   * for carry it as their `pid`, which tells kad's own changes from everyone else's.
   */
  get portid(): number {
    return this.#portid;
  }

  #send(b: MessageBuilder, operation: string): number {
    const seq = this.#seq = (this.#seq + 1) >>> 0;
    try {
      this.#sock.send(b.finish(seq));
    } catch (e) {
      this.failures++;
      if (e instanceof ErrnoError) throw new ErrnoError(e.call, e.errno, operation);
      throw e;
    }
    return seq;
  }

  /** Reads replies to `seq`, calling `each` until it returns true. */
  #collect(seq: number, operation: string, each: (m: NetlinkMessage) => boolean): void {
    for (;;) {
      let n: number | null;
      try {
        n = this.#sock.receive(this.#buf);
      } catch (e) {
        this.failures++;
        if (e instanceof ErrnoError) throw new ErrnoError(e.call, e.errno, operation);
        throw e;
      }
      if (n === null) {
        this.failures++;
        throw new ErrnoError(
          "netlink",
          ETIMEDOUT,
          operation,
          `no answer from the kernel within ${REPLY_TIMEOUT_MS} ms`,
        );
      }
      for (const m of parseMessages(this.#buf.subarray(0, n))) {
        if (m.seq !== seq || m.pid !== this.#portid) continue;
        if (m.type === NLMSG_ERROR) {
          const { errno, message } = parseError(m);
          if (errno === 0) {
            if (each(m)) return;
            continue;
          }
          this.failures++;
          throw new ErrnoError("netlink", errno, operation, message);
        }
        if (each(m)) return;
      }
    }
  }

  /**
   * Sends a request that changes kernel state and waits for its ACK. Throws an
   * `ErrnoError` whose message starts with `operation` ("adding 192.0.2.1/24 to eth0").
   */
  request(b: MessageBuilder, operation: string): void {
    if ((b.flags & NLM_F.ACK) === 0) throw new Error("Netlink.request() needs NLM_F_ACK");
    const seq = this.#send(b, operation);
    this.#collect(seq, operation, (m) => m.type === NLMSG_ERROR);
  }

  /** Sends a get request (no dump) and returns the single reply message. */
  get(b: MessageBuilder, operation: string): NetlinkMessage {
    const seq = this.#send(b, operation);
    let reply: NetlinkMessage | undefined;
    this.#collect(seq, operation, (m) => {
      reply = m;
      return true;
    });
    return reply as NetlinkMessage;
  }

  /**
   * Sends a dump request and returns every message of the answer (without NLMSG_DONE).
   * A dump the kernel marks as interrupted by a concurrent change is retried.
   */
  dump(make: () => MessageBuilder, operation: string): NetlinkMessage[] {
    for (let attempt = 0;; attempt++) {
      const b = make();
      if ((b.flags & NLM_F.DUMP) !== NLM_F.DUMP) throw new Error("Netlink.dump() needs NLM_F_DUMP");
      const seq = this.#send(b, operation);
      const out: NetlinkMessage[] = [];
      let interrupted = false;
      this.#collect(seq, operation, (m) => {
        if ((m.flags & NLM_F.DUMP_INTR) !== 0) interrupted = true;
        if (m.type === NLMSG_DONE) {
          const errno = m.body.length >= 4
            ? -new DataView(m.body.buffer, m.body.byteOffset, 4).getInt32(0, true)
            : 0;
          if (errno > 0) {
            this.failures++;
            throw new ErrnoError("netlink", errno, operation);
          }
          return true;
        }
        if (m.type !== NLMSG_NOOP) out.push(m);
        return false;
      });
      if (!interrupted || attempt >= DUMP_RETRIES) return out;
    }
  }

  /**
   * The index of interface `ifname`, asked of the kernel (so it is right in the socket's
   * network namespace). Throws "looking up interface 'eth9' failed: No such device (ENODEV)".
   */
  linkIndex(ifname: string): number {
    const b = new MessageBuilder(RTM.GETLINK, NLM_F.REQUEST, ifinfomsg()).string(
      IFLA_IFNAME,
      ifname,
    );
    const m = this.get(b, `looking up interface '${ifname}'`);
    return new DataView(m.body.buffer, m.body.byteOffset, 16).getInt32(4, true);
  }

  /**
   * Where `linkIndexFor` looks first: a table of interfaces the caller keeps current (the
   * VRRP engine's, fed by the link monitor). It saves a GETLINK round trip on every
   * address, route and rule request, which is most of a takeover's netlink time; a name the
   * table does not know is asked of the kernel.
   */
  setIndexSource(source: ((ifname: string) => number | undefined) | undefined): void {
    this.#indexSource = source;
  }

  /**
   * `linkIndex` for a step of `operation`: a missing interface fails the operation
   * ("adding 192.0.2.1/24 to eth9 failed: No such device (ENODEV): interface 'eth9' not
   * found").
   */
  linkIndexFor(ifname: string, operation: string): number {
    const known = this.#indexSource?.(ifname);
    if (known !== undefined) return known;
    try {
      return this.linkIndex(ifname);
    } catch (e) {
      if (e instanceof ErrnoError) {
        throw new ErrnoError(e.call, e.errno, operation, `interface '${ifname}' not found`);
      }
      throw e;
    }
  }
}

/**
 * A non-blocking rtnetlink socket subscribed to multicast `groups` (see `RTMGRP`), for
 * lib/net/monitor.ts. Its receive buffer is raised to `receiveBuffer` bytes so that a burst
 * of events (an interface with many addresses going down) is not lost.
 */
export class NetlinkEvents {
  readonly #sock: MnlSocket;
  readonly #buf = new Uint8Array(NETLINK_BUFFER_SIZE);

  private constructor(sock: MnlSocket) {
    this.#sock = sock;
  }

  static open(groups: number, receiveBuffer = 1 << 20): NetlinkEvents {
    const sock = MnlSocket.open(NETLINK_ROUTE, groups, true);
    try {
      setsockoptInt(sock.fd, SOL_SOCKET, SO_RCVBUFFORCE, receiveBuffer);
    } catch {
      // Without CAP_NET_ADMIN: the ordinary option, capped by net.core.rmem_max.
      try {
        setsockoptInt(sock.fd, SOL_SOCKET, SO_RCVBUF, receiveBuffer);
      } catch {
        // Keep the default size.
      }
    }
    return new NetlinkEvents(sock);
  }

  get fd(): number {
    return this.#sock.fd;
  }

  /** Subscribes to one more multicast group (an `RTNLGRP` number). */
  join(group: number): void {
    this.#sock.setOption(NETLINK_ADD_MEMBERSHIP, group);
  }

  /**
   * The messages of one queued datagram; null when none is queued. Throws an ErrnoError
   * with code ENOBUFS when the kernel dropped events because the buffer was full.
   */
  receive(): NetlinkMessage[] | null {
    const n = this.#sock.receive(this.#buf);
    return n === null ? null : parseMessages(this.#buf.subarray(0, n));
  }

  close(): void {
    this.#sock.close();
  }
}

/** True for errors meaning "already gone" when removing something (ENOENT, ESRCH, ...). */
export function isAbsent(e: unknown): boolean {
  return e instanceof ErrnoError &&
    ["ENOENT", "ESRCH", "EADDRNOTAVAIL", "ENODEV", "ENXIO"].includes(e.code);
}
