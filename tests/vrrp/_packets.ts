/**
 * Shared packet fixtures for the VRRP codec and checksum tests: hex and address helpers,
 * an independent RFC 1071 reference checksum, and the spec's worked example and test
 * vectors (spec/vrrp.md §1.8, §2.3.13). Owns no product logic.
 */
import { parseIPv4, parseIPv6 } from "../../lib/net/ipaddr.ts";

/** Bytes from a hex string with optional spaces. */
export function hex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, "");
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The bytes of a dotted IPv4 address the test knows to be valid. */
export const v4 = (s: string) => parseIPv4(s) as Uint8Array;
/** The bytes of an IPv6 address the test knows to be valid. */
export const v6 = (s: string) => parseIPv6(s) as Uint8Array;

/**
 * An independent RFC 1071 checksum for the tests: an end-around carry after every word,
 * over a plain number array that the test assembles by hand (pseudo-header included).
 */
export function refChecksum(bytes: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    s += ((bytes[i] ?? 0) << 8) + (bytes[i + 1] ?? 0);
    if (s > 0xffff) s -= 0xffff;
  }
  return 0xffff - s;
}

/** The IPv4 VRRP multicast group 224.0.0.18. */
export const GROUP4 = v4("224.0.0.18");

// spec/vrrp.md §1.8 worked example (captured live): v3, VRID 51, priority 200, 1 VIP
// 10.77.0.100, interval 100 cs, 10.77.0.1 → 224.0.0.18.
export const WORKED = hex("31 33 c8 01 00 64 10 d9 0a 4d 00 64");
export const WORKED_SRC = v4("10.77.0.1");

// spec/vrrp.md §2.3.13 vector A: RFC 9568 message-only checksum, VIP 192.0.2.100.
export const VECTOR_A = hex("31 33 c8 01 00 64 44 02 c0 00 02 64");
export const VECTOR_A_SRC = v4("198.51.100.10");
