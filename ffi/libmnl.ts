/**
 * kad's binding to libmnl (Debian's libmnl0): the only module that calls
 * `Deno.dlopen("libmnl.so.0")`. It owns opening, binding, sending on and receiving from
 * netlink sockets, and turning a failed call into an `ErrnoError`. Messages and attributes
 * are built and parsed in TypeScript by lib/net/netlink.ts, which is faster than calling
 * `mnl_attr_put_*` per attribute (spec/deno-platform.md, "Netlink (libmnl)"); this module
 * knows nothing about rtnetlink.
 *
 * Every call is synchronous. A request socket blocks in `recvfrom` only for the kernel's
 * reply, which is queued before `sendto` returns; event sockets are opened non-blocking and
 * read when the reactor reports them readable.
 */
import { ErrnoError, lastErrno } from "./libc.ts";

const SYMBOLS = {
  mnl_socket_open2: { parameters: ["i32", "i32"], result: "pointer" },
  mnl_socket_bind: { parameters: ["pointer", "u32", "i32"], result: "i32" },
  mnl_socket_get_fd: { parameters: ["pointer"], result: "i32" },
  mnl_socket_get_portid: { parameters: ["pointer"], result: "u32" },
  mnl_socket_sendto: { parameters: ["pointer", "buffer", "usize"], result: "isize" },
  mnl_socket_recvfrom: { parameters: ["pointer", "buffer", "usize"], result: "isize" },
  mnl_socket_setsockopt: { parameters: ["pointer", "i32", "buffer", "u32"], result: "i32" },
  mnl_socket_close: { parameters: ["pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Libmnl = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let library: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

function mnl(): Libmnl {
  library ??= Deno.dlopen("libmnl.so.0", SYMBOLS);
  return library.symbols;
}

/** Netlink bus of rtnetlink (links, addresses, routes, rules). */
export const NETLINK_ROUTE = 0;
/** `mnl_socket_bind` port id meaning "let the kernel choose". */
export const MNL_SOCKET_AUTOPID = 0;
/** SOL_NETLINK socket options (linux/netlink.h). */
export const NETLINK_ADD_MEMBERSHIP = 1;
export const NETLINK_DROP_MEMBERSHIP = 2;
export const NETLINK_NO_ENOBUFS = 5;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const NETLINK_GET_STRICT_CHK = 12;

const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const EAGAIN = 11;

/** An open libmnl socket. */
export class MnlSocket {
  readonly #nl: Deno.PointerObject;
  #closed = false;

  private constructor(nl: Deno.PointerObject) {
    this.#nl = nl;
  }

  /**
   * Opens a netlink socket on `bus` and binds it to the multicast `groups` (a bit mask of
   * the legacy groups; 0 for a request socket). `nonblocking` sockets return null from
   * `receive` when nothing is queued.
   */
  static open(bus: number, groups: number, nonblocking: boolean): MnlSocket {
    const flags = SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0);
    const nl = mnl().mnl_socket_open2(bus, flags);
    if (nl === null) {
      throw new ErrnoError("mnl_socket_open2", lastErrno(), "opening a netlink socket");
    }
    const sock = new MnlSocket(nl);
    if (mnl().mnl_socket_bind(nl, groups >>> 0, MNL_SOCKET_AUTOPID) < 0) {
      const e = lastErrno();
      sock.close();
      throw new ErrnoError("mnl_socket_bind", e, "binding a netlink socket");
    }
    return sock;
  }

  /** The socket's descriptor (for the reactor). */
  get fd(): number {
    return mnl().mnl_socket_get_fd(this.#nl);
  }

  /** The port id the kernel gave this socket; replies to our requests carry it. */
  get portid(): number {
    return mnl().mnl_socket_get_portid(this.#nl);
  }

  /** Sets a SOL_NETLINK option to a 32-bit integer. */
  setOption(option: number, value: number): void {
    const v = new Uint8Array(new Uint32Array([value >>> 0]).buffer);
    if (mnl().mnl_socket_setsockopt(this.#nl, option, v, 4) < 0) {
      throw new ErrnoError(
        "mnl_socket_setsockopt",
        lastErrno(),
        `setting netlink option ${option}`,
      );
    }
  }

  /** Sends one or more netlink messages; throws on failure. */
  send(message: Uint8Array): void {
    const rc = mnl().mnl_socket_sendto(this.#nl, message, BigInt(message.byteLength));
    if (rc < 0n) throw new ErrnoError("mnl_socket_sendto", lastErrno());
  }

  /**
   * Receives one datagram (one or more netlink messages) into `buf`; returns its length, or
   * null when nothing is queued (EAGAIN: non-blocking socket, or the receive timeout
   * expired). ENOBUFS (events were lost) and ENOSPC (`buf` too small) are thrown.
   */
  receive(buf: Uint8Array): number | null {
    const rc = mnl().mnl_socket_recvfrom(this.#nl, buf, BigInt(buf.byteLength));
    if (rc < 0n) {
      const e = lastErrno();
      if (e === EAGAIN) return null;
      throw new ErrnoError("mnl_socket_recvfrom", e);
    }
    return Number(rc);
  }

  /** Closes the socket; further calls are errors. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    mnl().mnl_socket_close(this.#nl);
  }
}
