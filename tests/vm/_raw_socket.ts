/**
 * Raw sockets for the end-to-end keepalive test in the guest (tests/vm/): send a peer's
 * keepalives exactly as a router puts them on the wire, and capture what comes back on
 * the underlay with a packet socket. Sockets are created inside a named network namespace
 * by switching this thread's namespace with setns(2) around the socket() call (a socket
 * keeps the namespace it was made in). Synchronous libc calls on the main thread only.
 * Test support, not product code.
 */

const libc = Deno.dlopen("libc.so.6", {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  recvfrom: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"],
    result: "isize",
  },
  close: { parameters: ["i32"], result: "i32" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  __errno_location: { parameters: [], result: "pointer" },
}).symbols;

const AF_INET = 2;
const AF_INET6 = 10;
const AF_PACKET = 17;
const SOCK_RAW = 3;
const IPPROTO_RAW = 255;
const IPPROTO_GRE = 47;
const ETH_P_ALL = 0x0003;
const MSG_DONTWAIT = 0x40;
const CLONE_NEWNET = 0x40000000;
const O_RDONLY = 0;
const EAGAIN = 11;
/** sockaddr_ll.sll_pkttype of frames this host sent. */
const PACKET_OUTGOING = 4;

function cstr(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(s + "\0");
}

function errno(): number {
  const p = libc.__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

function fail(what: string): never {
  throw new Error(`${what} failed (errno ${errno()})`);
}

/** Run `fn` with this thread in network namespace `/run/netns/<name>`. */
export function inNetns<T>(name: string, fn: () => T): T {
  const home = libc.open(cstr("/proc/thread-self/ns/net"), O_RDONLY);
  if (home < 0) fail("open /proc/thread-self/ns/net");
  const target = libc.open(cstr(`/run/netns/${name}`), O_RDONLY);
  if (target < 0) {
    libc.close(home);
    fail(`open /run/netns/${name}`);
  }
  try {
    if (libc.setns(target, CLONE_NEWNET) < 0) fail(`setns to '${name}'`);
    try {
      return fn();
    } finally {
      if (libc.setns(home, CLONE_NEWNET) < 0) fail("setns back");
    }
  } finally {
    libc.close(target);
    libc.close(home);
  }
}

/** A packet socket on one interface seeing every frame it receives (not those it sends). */
export class Capture {
  readonly #fd: number;
  readonly #buf = new Uint8Array(65536);
  readonly #addr = new Uint8Array(20);
  readonly #addrLen = new Uint32Array(1);

  /** Open in the current namespace (use inside `inNetns`). */
  constructor(ifname: string) {
    const ifindex = libc.if_nametoindex(cstr(ifname));
    if (ifindex === 0) fail(`if_nametoindex('${ifname}')`);
    const fd = libc.socket(AF_PACKET, SOCK_RAW, ((ETH_P_ALL & 0xff) << 8) | (ETH_P_ALL >> 8));
    if (fd < 0) fail("socket(AF_PACKET)");
    const sll = new Uint8Array(20);
    const v = new DataView(sll.buffer);
    v.setUint16(0, AF_PACKET, true);
    v.setUint16(2, ETH_P_ALL);
    v.setInt32(4, ifindex, true);
    if (libc.bind(fd, sll, sll.length) < 0) {
      libc.close(fd);
      fail("bind(AF_PACKET)");
    }
    this.#fd = fd;
  }

  /** Every frame queued now (received ones only). */
  drain(): Uint8Array[] {
    const frames: Uint8Array[] = [];
    for (;;) {
      this.#addrLen[0] = this.#addr.length;
      const n = Number(
        libc.recvfrom(
          this.#fd,
          this.#buf,
          BigInt(this.#buf.length),
          MSG_DONTWAIT,
          this.#addr,
          new Uint8Array(this.#addrLen.buffer),
        ),
      );
      if (n < 0) {
        if (errno() === EAGAIN) return frames;
        fail("recvfrom");
      }
      if (this.#addr[10] !== PACKET_OUTGOING) frames.push(this.#buf.slice(0, n));
    }
  }

  close(): void {
    libc.close(this.#fd);
  }
}

/** A raw IPv4 socket that sends complete packets (header included). */
export class RawIpv4 {
  readonly #fd: number;
  constructor() {
    this.#fd = libc.socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (this.#fd < 0) fail("socket(AF_INET, SOCK_RAW)");
  }

  /** Send `packet` (an IPv4 packet) towards its destination address. */
  send(packet: Uint8Array): void {
    const sin = new Uint8Array(16);
    new DataView(sin.buffer).setUint16(0, AF_INET, true);
    sin.set(packet.subarray(16, 20), 4);
    const n = libc.sendto(this.#fd, new Uint8Array(packet), BigInt(packet.length), 0, sin, 16);
    if (Number(n) !== packet.length) fail("sendto(IPv4 raw)");
  }

  close(): void {
    libc.close(this.#fd);
  }
}

/** A raw IPv6 socket for protocol 47: the kernel adds the IPv6 header. */
export class RawIpv6Gre {
  readonly #fd: number;
  constructor() {
    this.#fd = libc.socket(AF_INET6, SOCK_RAW, IPPROTO_GRE);
    if (this.#fd < 0) fail("socket(AF_INET6, SOCK_RAW, 47)");
  }

  /** Send a GRE header and payload to `dst` (16 bytes). */
  send(dst: Uint8Array, grePart: Uint8Array): void {
    const sin6 = new Uint8Array(28);
    new DataView(sin6.buffer).setUint16(0, AF_INET6, true);
    sin6.set(dst, 8);
    const n = libc.sendto(this.#fd, new Uint8Array(grePart), BigInt(grePart.length), 0, sin6, 28);
    if (Number(n) !== grePart.length) fail("sendto(IPv6 raw)");
  }

  close(): void {
    libc.close(this.#fd);
  }
}
