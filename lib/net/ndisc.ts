/**
 * Unsolicited neighbour advertisements (spec/vrrp.md §3.11): the IPv6 counterpart of
 * gratuitous ARP. Building the ICMPv6 message is pure; sending uses one raw ICMPv6 socket
 * for every interface, with the hop limit 255 that receivers require (RFC 4861 §7.1.2).
 *
 * Message (32 bytes): type 136, code 0, checksum (the kernel computes it on raw ICMPv6
 * sockets), flags Router (when the interface forwards IPv6) and Override (always;
 * Solicited never), target = VIP, option 2 (target link-layer address) with the interface
 * MAC. Sent from the VIP (IPV6_PKTINFO) to ff02::1 on the VIP's interface.
 *
 * Owns the message layout and the socket. When and how often to send, and how often to
 * re-read the forwarding setting (keepalived: at most every 5 s), is the daemon's business.
 */
import {
  AF_INET6,
  encodeControl,
  ICMP6_FILTER,
  IPPROTO_ICMPV6,
  IPPROTO_IPV6,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_LOOP,
  IPV6_PKTINFO,
  IPV6_UNICAST_HOPS,
  MSG_DONTWAIT,
  sendmsg,
  setsockoptBytes,
  setsockoptInt,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  sockaddr,
  socket,
} from "../../ffi/libc.ts";
import { parseIPv6 } from "./ipaddr.ts";
import type { SendInterface } from "./arp.ts";
import { CountingSocket, openSocket, setUpSocket } from "./socket_common.ts";

export const ND_NEIGHBOR_ADVERT = 136;
/** NA flag bits (first byte after the checksum). */
export const NA_FLAG = { ROUTER: 0x80, SOLICITED: 0x40, OVERRIDE: 0x20 } as const;
const ND_OPT_TARGET_LINKADDR = 2;
export const NA_LENGTH = 32;
/** All-nodes link-local multicast group. */
export const ALL_NODES = "ff02::1";
const ALL_NODES_BYTES = parseIPv6(ALL_NODES) as Uint8Array;
const HOP_LIMIT = 255;

/** The unsolicited NA for `target` (16 bytes) at `mac` (6 bytes), checksum left 0. */
export function buildUnsolicitedNa(target: Uint8Array, mac: Uint8Array, router: boolean) {
  if (target.length !== 16) throw new RangeError(`address of ${target.length} bytes is not IPv6`);
  if (mac.length !== 6) throw new RangeError(`MAC address of ${mac.length} bytes is not Ethernet`);
  const m = new Uint8Array(NA_LENGTH);
  m[0] = ND_NEIGHBOR_ADVERT;
  m[4] = NA_FLAG.OVERRIDE | (router ? NA_FLAG.ROUTER : 0);
  m.set(target, 8);
  m[24] = ND_OPT_TARGET_LINKADDR;
  m[25] = 1; // in units of 8 bytes
  m.set(mac, 26);
  return m;
}

/** Whether `ifname` forwards IPv6 (then NAs carry the Router flag); false if unknown. */
export function ipv6Forwarding(ifname: string): boolean {
  try {
    return Deno.readTextFileSync(`/proc/sys/net/ipv6/conf/${ifname}/forwarding`).trim() !== "0";
  } catch {
    return false;
  }
}

/** One raw ICMPv6 socket that sends unsolicited NAs on any interface. */
export class NaSender extends CountingSocket {
  private constructor(fd: number) {
    super(fd);
  }

  /** Opens the socket (needs CAP_NET_RAW); it receives nothing (ICMP6_FILTER blocks all). */
  static open(): NaSender {
    const operation = "opening the neighbour advertisement socket";
    const fd = openSocket(
      operation,
      () => socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6),
    );
    setUpSocket(fd, operation, () => {
      setsockoptBytes(fd, IPPROTO_ICMPV6, ICMP6_FILTER, new Uint8Array(32).fill(0xff));
      setsockoptInt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, HOP_LIMIT);
      setsockoptInt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, HOP_LIMIT);
      setsockoptInt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
    });
    return new NaSender(fd);
  }

  /**
   * Sends one unsolicited NA for `vip` from `vip` on `iface` (`router`: set the Router flag).
   * Throws an `ErrnoError` ("sending unsolicited NA for 2001:db8::1 on eth0 failed: ...") or
   * a RangeError for an interface without an Ethernet MAC; counts the failure.
   */
  send(iface: SendInterface, vip: string, router: boolean): void {
    this.counted(`sending unsolicited NA for ${vip} on ${iface.name}`, () => {
      const target = parseIPv6(vip);
      if (target === undefined) throw new RangeError(`'${vip}' is not an IPv6 address`);
      if (iface.mac === undefined || iface.mac.length !== 6) {
        throw new RangeError(`interface ${iface.name} has no Ethernet address`);
      }
      const info = new Uint8Array(20); // struct in6_pktinfo { in6_addr; int ifindex; }
      info.set(target, 0);
      new DataView(info.buffer).setInt32(16, iface.ifindex, true);
      sendmsg(
        this.fd,
        buildUnsolicitedNa(target, iface.mac, router),
        sockaddr(ALL_NODES_BYTES, 0, iface.ifindex),
        encodeControl([{ level: IPPROTO_IPV6, type: IPV6_PKTINFO, data: info }]),
        MSG_DONTWAIT,
      );
    });
  }
}
