/**
 * Gratuitous ARP (spec/vrrp.md §3.11): an ARP request from the VIP to the VIP, sent to the
 * Ethernet broadcast address so that neighbours and switches learn the VIP's new MAC.
 * Building the frame is pure; sending uses an AF_PACKET socket bound to no protocol, so it
 * never receives anything.
 *
 * Frame (42 bytes, the NIC pads to the Ethernet minimum): destination ff:ff:ff:ff:ff:ff,
 * source = the interface MAC, type 0x0806; ARP hardware 1 (Ethernet), protocol 0x0800,
 * lengths 6 and 4, opcode 1 (request), sender MAC = interface MAC, sender IP = VIP, target
 * MAC = ff:ff:ff:ff:ff:ff, target IP = VIP.
 *
 * Owns the frame layout and the socket. When and how often to send (bursts, refresh,
 * NOARP interfaces) is the daemon's business.
 */
import {
  AF_PACKET,
  MSG_DONTWAIT,
  sendto,
  SOCK_CLOEXEC,
  SOCK_RAW,
  sockaddrLinkLayer,
  socket,
} from "../../ffi/libc.ts";
import { parseIPv4 } from "./ipaddr.ts";
import { CountingSocket, openSocket } from "./socket_common.ts";

export const ETH_P_ARP = 0x0806;
export const ETH_P_IP = 0x0800;
export const BROADCAST_MAC: Readonly<Uint8Array> = new Uint8Array([
  0xff,
  0xff,
  0xff,
  0xff,
  0xff,
  0xff,
]);
const ARP_REQUEST = 1;
const ARPHRD_ETHER = 1;
/** Ethernet header (14) + ARP for IPv4 over Ethernet (28). */
export const GARP_FRAME_LENGTH = 42;

/** The interface a message leaves by (a `KernelLink` from lib/net/monitor.ts fits). */
export interface SendInterface {
  readonly ifindex: number;
  readonly name: string;
  readonly mac?: Uint8Array;
}

/** The gratuitous-ARP frame announcing that `ip` (4 bytes) is at `mac` (6 bytes). */
export function buildGratuitousArp(mac: Uint8Array, ip: Uint8Array): Uint8Array {
  if (mac.length !== 6) throw new RangeError(`MAC address of ${mac.length} bytes is not Ethernet`);
  if (ip.length !== 4) throw new RangeError(`address of ${ip.length} bytes is not IPv4`);
  const f = new Uint8Array(GARP_FRAME_LENGTH);
  const v = new DataView(f.buffer);
  f.set(BROADCAST_MAC, 0);
  f.set(mac, 6);
  v.setUint16(12, ETH_P_ARP, false);
  v.setUint16(14, ARPHRD_ETHER, false);
  v.setUint16(16, ETH_P_IP, false);
  f[18] = 6;
  f[19] = 4;
  v.setUint16(20, ARP_REQUEST, false);
  f.set(mac, 22);
  f.set(ip, 28);
  f.set(BROADCAST_MAC, 32);
  f.set(ip, 38);
  return f;
}

/** One AF_PACKET socket that sends gratuitous ARPs on any interface. */
export class ArpSender extends CountingSocket {
  private constructor(fd: number) {
    super(fd);
  }

  /** Opens the socket (needs CAP_NET_RAW). */
  static open(): ArpSender {
    return new ArpSender(
      openSocket(
        "opening the gratuitous ARP socket",
        () => socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0),
      ),
    );
  }

  /**
   * Sends one gratuitous ARP for `vip` on `iface`. Throws an `ErrnoError` ("sending
   * gratuitous ARP for 192.0.2.100 on eth0 failed: No such device or address (ENXIO)") or
   * a RangeError for an interface without an Ethernet MAC; counts the failure.
   */
  send(iface: SendInterface, vip: string): void {
    this.counted(`sending gratuitous ARP for ${vip} on ${iface.name}`, () => {
      const ip = parseIPv4(vip);
      if (ip === undefined) throw new RangeError(`'${vip}' is not an IPv4 address`);
      if (iface.mac === undefined || iface.mac.length !== 6) {
        throw new RangeError(`interface ${iface.name} has no Ethernet address`);
      }
      const frame = buildGratuitousArp(iface.mac, ip);
      sendto(
        this.fd,
        frame,
        MSG_DONTWAIT,
        sockaddrLinkLayer(iface.ifindex, ETH_P_ARP, BROADCAST_MAC),
      );
    });
  }
}
