/**
 * VRRP sockets (IP protocol 112) as keepalived opens them (spec/vrrp.md §1.4, §1.5, §1.7):
 * per interface and family one receive socket and one send socket.
 *
 * - IPv4 send: raw socket with IP_HDRINCL; the caller builds the whole datagram (TOS 0xC0,
 *   TTL, identification; the kernel fills in the header checksum and total length).
 *   Multicast goes out with MSG_DONTROUTE. Multicast loopback is off.
 * - IPv6 send: raw socket; the kernel builds the header (hop limit 255 for multicast, the
 *   kernel default or a per-packet hop limit for unicast, traffic class 0xC0) and the VRRP
 *   checksum at offset 6 (IPV6_CHECKSUM); the source goes in IPV6_PKTINFO.
 * - Receive: raw socket bound to the interface (SO_BINDTODEVICE); for multicast bound to the
 *   group and joined on the interface, for unicast bound (with freebind) to the unicast
 *   source address. IPv4 packets arrive with their IP header (the TTL is read from it);
 *   IPv6 packets come with the hop limit and destination as ancillary data.
 *
 * Send sockets drop everything they would receive (a socket filter), so they never queue
 * copies of other routers' adverts. Owns the socket options only: what goes into a packet
 * is lib/vrrp/packet.ts's business, what to do with a received one the daemon's.
 */
import {
  AF_INET,
  AF_INET6,
  bind as bindFd,
  bindToDevice,
  type ControlMessage,
  dropAllReceived,
  encodeControl,
  ErrnoError,
  ifNameToIndex,
  IP_ADD_MEMBERSHIP,
  IP_FREEBIND,
  IP_HDRINCL,
  IP_MULTICAST_ALL,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_CHECKSUM,
  IPV6_FREEBIND,
  IPV6_HOPLIMIT,
  IPV6_JOIN_GROUP,
  IPV6_MULTICAST_ALL,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  IPV6_PKTINFO,
  IPV6_RECVHOPLIMIT,
  IPV6_RECVPKTINFO,
  IPV6_TCLASS,
  IPV6_UNICAST_HOPS,
  MessageBuffers,
  MSG_DONTROUTE,
  MSG_DONTWAIT,
  parseSockaddr,
  recvmsg,
  SCM_TIMESTAMPNS,
  sendmsg,
  sendto,
  setsockoptBytes,
  setsockoptInt,
  SO_RCVBUF,
  SO_TIMESTAMPNS,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  sockaddr,
  socket,
  SOL_SOCKET,
  timespecNs,
} from "../../ffi/libc.ts";
import { CountingSocket, openSocket, OwnedSocket, setUpSocket } from "./socket_common.ts";
import { type Family, type IpAddress, isLinkLocal6, isMulticast, parseIp } from "./ipaddr.ts";

/** IP protocol number of VRRP. */
export const IPPROTO_VRRP = 112;
/** Default groups (spec/vrrp.md §1.1). */
export const VRRP_GROUP4 = "224.0.0.18";
export const VRRP_GROUP6 = "ff02::12";
/** TTL / hop limit of multicast adverts (spec/vrrp.md §1.7). */
export const VRRP_MULTICAST_HOPS = 255;
/** Traffic class / TOS of adverts: precedence "internetwork control" (spec/vrrp.md §1.4). */
export const VRRP_TCLASS = 0xc0;
/** Offset of the checksum in a VRRP message, for IPV6_CHECKSUM. */
const VRRP_CHECKSUM_OFFSET = 6;
/**
 * Receive buffer per socket: the largest IPv4 datagram, so that any packet can be counted
 * (a truncated one is flagged, never silently cut).
 */
const RECEIVE_BUFFER = 65536;
/** Kernel socket receive buffer, enough for bursts of adverts of many instances. */
const SOCKET_RCVBUF = 256 * 1024;

/** Options of a receive socket. */
export interface VrrpReceiveOptions {
  readonly family: Family;
  /** The interface to receive on (SO_BINDTODEVICE; multicast membership). */
  readonly ifname: string;
  /** Multicast group to join and bind to; default 224.0.0.18 / ff02::12. */
  readonly group?: string;
  /**
   * Unicast mode: bind to this local address (freebind: it need not exist yet) instead of
   * joining a group.
   */
  readonly unicastSource?: string;
  /** IP protocol to receive: 112 (default), or 51 for legacy IPsec AH adverts (IPv4). */
  readonly protocol?: number;
}

/** One received VRRP packet. */
export interface VrrpPacket {
  readonly family: Family;
  readonly source: IpAddress;
  /** IPv4: from the header; IPv6: from IPV6_PKTINFO (undefined if the kernel gave none). */
  readonly destination: IpAddress | undefined;
  /** TTL (IPv4 header) or hop limit (IPV6_HOPLIMIT); undefined if the kernel gave none. */
  readonly ttl: number | undefined;
  /** IPv4: the whole datagram with its IP header; IPv6: the VRRP message. */
  readonly datagram: Uint8Array;
  /** The VRRP message (for IPv4, what follows the IP header). */
  readonly payload: Uint8Array;
  /** The datagram was longer than the receive buffer (it is cut). */
  readonly truncated: boolean;
  /**
   * When the kernel received it (SO_TIMESTAMPNS: CLOCK_REALTIME, ns); undefined if the
   * kernel gave no timestamp.
   */
  readonly arrivalNs: bigint | undefined;
}

function address(text: string, family: Family, what: string): Uint8Array {
  const ip = parseIp(text);
  if (ip === undefined || ip.family !== family) {
    throw new RangeError(`${what} '${text}' is not an IPv${family} address`);
  }
  return ip.bytes;
}

function rawSocket(family: Family, protocol: number, operation: string): number {
  return openSocket(
    operation,
    () =>
      socket(family === 4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol),
  );
}

function ipMreqn(group: Uint8Array, ifindex: number): Uint8Array {
  const m = new Uint8Array(12); // struct ip_mreqn { in_addr multiaddr, address; int ifindex; }
  m.set(group, 0);
  new DataView(m.buffer).setInt32(8, ifindex, true);
  return m;
}

/** The receive socket of one interface and family. */
export class VrrpReceiver extends OwnedSocket {
  readonly family: Family;
  readonly ifname: string;
  readonly ifindex: number;
  readonly #bufs = new MessageBuffers(RECEIVE_BUFFER, 256);

  private constructor(family: Family, ifname: string, ifindex: number, fd: number) {
    super(fd);
    this.family = family;
    this.ifname = ifname;
    this.ifindex = ifindex;
  }

  /**
   * Opens the socket. Throws an `ErrnoError` naming the step, e.g. "opening the IPv4 VRRP
   * receive socket on eth9 failed: No such device (ENODEV): setsockopt failed".
   */
  static open(o: VrrpReceiveOptions): VrrpReceiver {
    const mode = o.unicastSource === undefined ? "" : ` for ${o.unicastSource}`;
    const protocol = o.protocol ?? IPPROTO_VRRP;
    const what = protocol === IPPROTO_VRRP ? "VRRP" : `VRRP (IP protocol ${protocol})`;
    const operation = `opening the IPv${o.family} ${what} receive socket on ${o.ifname}${mode}`;
    const fd = rawSocket(o.family, protocol, operation);
    let ifindex = 0;
    setUpSocket(fd, operation, () => {
      ifindex = ifNameToIndex(o.ifname);
      bindToDevice(fd, o.ifname);
      setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, SOCKET_RCVBUF);
      // The master-down timer runs from an advert's arrival, not from when kad read it.
      setsockoptInt(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1);
      if (o.family === 4) {
        setsockoptInt(fd, IPPROTO_IP, IP_MULTICAST_ALL, 0);
        if (o.unicastSource !== undefined) {
          setsockoptInt(fd, IPPROTO_IP, IP_FREEBIND, 1);
          bindFd(fd, sockaddr(address(o.unicastSource, 4, "unicast source"), 0));
        } else {
          const group = address(o.group ?? VRRP_GROUP4, 4, "multicast group");
          setsockoptBytes(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, ipMreqn(group, ifindex));
          bindFd(fd, sockaddr(group, 0));
        }
      } else {
        setsockoptInt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, VRRP_CHECKSUM_OFFSET);
        setsockoptInt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
        setsockoptInt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
        setsockoptInt(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0);
        if (o.unicastSource !== undefined) {
          const src = address(o.unicastSource, 6, "unicast source");
          setsockoptInt(fd, IPPROTO_IPV6, IPV6_FREEBIND, 1);
          const linkLocal = isLinkLocal6({ family: 6, bytes: src });
          bindFd(fd, sockaddr(src, 0, linkLocal ? ifindex : 0));
        } else {
          const group = address(o.group ?? VRRP_GROUP6, 6, "multicast group");
          const mreq = new Uint8Array(20); // struct ipv6_mreq { in6_addr; unsigned ifindex; }
          mreq.set(group, 0);
          new DataView(mreq.buffer).setUint32(16, ifindex, true);
          setsockoptBytes(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, mreq);
          bindFd(fd, sockaddr(group, 0, ifindex));
        }
      }
    });
    return new VrrpReceiver(o.family, o.ifname, ifindex, fd);
  }

  /**
   * The next queued packet, or null when none is queued. The packet's bytes are copies.
   * Throws an `ErrnoError` ("receiving on eth0 failed: ...") when the socket fails.
   */
  receive(): VrrpPacket | null {
    let r;
    try {
      r = recvmsg(this.fd, this.#bufs);
    } catch (e) {
      if (e instanceof ErrnoError) {
        throw new ErrnoError(e.call, e.errno, `receiving a VRRP packet on ${this.ifname}`);
      }
      throw e;
    }
    if (r === null) return null;
    const stored = Math.min(r.length, this.#bufs.data.length);
    const datagram = this.#bufs.data.slice(0, stored);
    let arrivalNs: bigint | undefined;
    for (const c of r.control) {
      if (c.level === SOL_SOCKET && c.type === SCM_TIMESTAMPNS) arrivalNs = timespecNs(c.data);
    }
    if (this.family === 4) return parse4(datagram, r.truncated, arrivalNs);
    const src = parseSockaddr(r.source);
    let ttl: number | undefined;
    let destination: IpAddress | undefined;
    for (const c of r.control) {
      if (c.level !== IPPROTO_IPV6) continue;
      const v = new DataView(c.data.buffer, c.data.byteOffset, c.data.byteLength);
      if (c.type === IPV6_HOPLIMIT && c.data.length >= 4) ttl = v.getInt32(0, true);
      if (c.type === IPV6_PKTINFO && c.data.length >= 20) {
        destination = { family: 6, bytes: c.data.slice(0, 16) };
      }
    }
    return {
      family: 6,
      source: { family: 6, bytes: src?.address ?? new Uint8Array(16) },
      destination,
      ttl,
      datagram,
      payload: datagram,
      truncated: r.truncated,
      arrivalNs,
    };
  }
}

/** An IPv4 datagram as received on a raw socket: the header gives source, destination, TTL. */
function parse4(
  datagram: Uint8Array,
  truncated: boolean,
  arrivalNs: bigint | undefined,
): VrrpPacket {
  const ihl = datagram.length >= 1 ? ((datagram[0] as number) & 0x0f) * 4 : 0;
  const whole = datagram.length >= 20 && ihl >= 20 && ihl <= datagram.length;
  return {
    family: 4,
    source: { family: 4, bytes: whole ? datagram.slice(12, 16) : new Uint8Array(4) },
    destination: whole ? { family: 4, bytes: datagram.slice(16, 20) } : undefined,
    ttl: whole ? datagram[8] : undefined,
    datagram,
    payload: whole ? datagram.subarray(ihl) : new Uint8Array(0),
    truncated: truncated || !whole,
    arrivalNs,
  };
}

/** Options of a send socket. */
export interface VrrpSendOptions {
  readonly family: Family;
  /** The interface adverts leave by (SO_BINDTODEVICE, multicast interface). */
  readonly ifname: string;
  /**
   * IPv6 unicast hop limit for every packet (keepalived's `unicast_ttl`); default the
   * kernel's. IPv4 TTLs are in the header the caller builds.
   */
  readonly unicastHops?: number;
}

/** What to send. */
export interface VrrpSend {
  /** IPv4: the whole datagram with its header (IP_HDRINCL); IPv6: the VRRP message. */
  readonly data: Uint8Array;
  /** The group or the unicast peer. */
  readonly destination: string;
  /** IPv6 only: the source address (IPV6_PKTINFO); default the kernel's choice. */
  readonly source?: string;
  /** IPv6 unicast only: this packet's hop limit (IPV6_HOPLIMIT). */
  readonly hopLimit?: number;
}

/** A destination as `VrrpSender.send` uses it. */
interface Target {
  readonly operation: string;
  /** Why the destination cannot be used; undefined when it can. */
  readonly error: string | undefined;
  readonly multicast: boolean;
  readonly flags: number;
  readonly sockaddr: Uint8Array;
}

/** Destinations remembered per send socket (groups and unicast peers; more is a misuse). */
const MAX_TARGETS = 1024;

/** The send socket of one interface and family. */
export class VrrpSender extends CountingSocket {
  readonly family: Family;
  readonly ifname: string;
  readonly ifindex: number;
  readonly #targets = new Map<string, Target>();

  private constructor(family: Family, ifname: string, ifindex: number, fd: number) {
    super(fd);
    this.family = family;
    this.ifname = ifname;
    this.ifindex = ifindex;
  }

  /** Opens the socket; throws an `ErrnoError` naming the interface. */
  static open(o: VrrpSendOptions): VrrpSender {
    const operation = `opening the IPv${o.family} VRRP send socket on ${o.ifname}`;
    // IPv4: protocol IPPROTO_RAW would imply IP_HDRINCL too; keepalived uses 112 and sets it.
    const fd = rawSocket(o.family, IPPROTO_VRRP, operation);
    let ifindex = 0;
    setUpSocket(fd, operation, () => {
      ifindex = ifNameToIndex(o.ifname);
      bindToDevice(fd, o.ifname);
      dropAllReceived(fd);
      if (o.family === 4) {
        setsockoptInt(fd, IPPROTO_IP, IP_HDRINCL, 1);
        setsockoptInt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0);
        setsockoptBytes(fd, IPPROTO_IP, IP_MULTICAST_IF, ipMreqn(new Uint8Array(4), ifindex));
      } else {
        setsockoptInt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, VRRP_CHECKSUM_OFFSET);
        setsockoptInt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, VRRP_MULTICAST_HOPS);
        setsockoptInt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
        setsockoptInt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex);
        setsockoptInt(fd, IPPROTO_IPV6, IPV6_TCLASS, VRRP_TCLASS);
        if (o.unicastHops !== undefined) {
          setsockoptInt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, o.unicastHops);
        }
      }
    });
    return new VrrpSender(o.family, o.ifname, ifindex, fd);
  }

  /**
   * Sends one packet. Throws an `ErrnoError` ("sending a VRRP packet to 224.0.0.18 on eth0
   * failed: No such device (ENODEV)") and counts the failure.
   */
  send(p: VrrpSend): void {
    const t = this.#target(p);
    this.counted(t.operation, () => {
      if (t.error !== undefined) throw new RangeError(t.error);
      if (this.family === 4) {
        sendto(this.fd, p.data, t.flags, t.sockaddr);
        return;
      }
      const control: ControlMessage[] = [];
      if (p.source !== undefined) {
        const info = new Uint8Array(20); // struct in6_pktinfo { in6_addr; int ifindex; }
        info.set(address(p.source, 6, "source"), 0);
        new DataView(info.buffer).setInt32(16, this.ifindex, true);
        control.push({ level: IPPROTO_IPV6, type: IPV6_PKTINFO, data: info });
      }
      if (p.hopLimit !== undefined && !t.multicast) {
        const h = new Uint8Array(4);
        new DataView(h.buffer).setInt32(0, p.hopLimit, true);
        control.push({ level: IPPROTO_IPV6, type: IPV6_HOPLIMIT, data: h });
      }
      sendmsg(
        this.fd,
        p.data,
        t.sockaddr,
        control.length === 0 ? null : encodeControl(control),
        t.flags,
      );
    });
  }

  /**
   * What a destination resolves to, worked out once per destination text: an instance sends
   * to the same group or peers every interval.
   */
  #target(p: VrrpSend): Target {
    let t = this.#targets.get(p.destination);
    if (t !== undefined) return t;
    const operation = `sending a VRRP packet to ${p.destination} on ${this.ifname}`;
    const dest = parseIp(p.destination);
    if (dest === undefined || dest.family !== this.family) {
      t = {
        operation,
        error: `destination '${p.destination}' is not an IPv${this.family} address`,
        multicast: false,
        flags: 0,
        sockaddr: new Uint8Array(0),
      };
    } else {
      const multicast = isMulticast(dest);
      const linkScope = this.family === 6 && (multicast || isLinkLocal6(dest));
      t = {
        operation,
        error: undefined,
        multicast,
        flags: MSG_DONTWAIT | (multicast ? MSG_DONTROUTE : 0),
        sockaddr: sockaddr(dest.bytes, 0, linkScope ? this.ifindex : 0),
      };
    }
    if (this.#targets.size >= MAX_TARGETS) this.#targets.clear();
    this.#targets.set(p.destination, t);
    return t;
  }
}
