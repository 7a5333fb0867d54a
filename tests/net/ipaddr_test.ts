import { assertEquals } from "../_assert.ts";
import {
  formatIp,
  hostBitsZero,
  isLinkLocal6,
  isMulticast,
  parseIp,
  parseIPv4,
  parseIPv6,
} from "../../lib/net/ipaddr.ts";

Deno.test("parseIPv4 accepts dotted quads and rejects what inet_pton rejects", () => {
  assertEquals([...parseIPv4("192.0.2.1")!], [192, 0, 2, 1]);
  for (
    const bad of [
      "192.0.2",
      "192.0.2.256",
      "192.0.2.01",
      "1.2.3.4.5",
      "a.b.c.d",
      "192.0.2.",
      " 1.2.3.4",
      "1..2.3",
    ]
  ) {
    assertEquals(parseIPv4(bad), undefined, bad);
  }
});

Deno.test("parseIPv6 handles compression, embedded IPv4 and rejects malformed text", () => {
  assertEquals(formatIp(parseIp("2001:DB8:0:0:0:0:0:1")!), "2001:db8::1");
  assertEquals(formatIp(parseIp("::")!), "::");
  assertEquals(formatIp(parseIp("::ffff:192.0.2.1")!), "::ffff:c000:201");
  assertEquals(formatIp(parseIp("fe80:0:0:1:0:0:0:0")!), "fe80:0:0:1::");
  assertEquals(formatIp(parseIp("fe80::1:0:0:0")!), "fe80::1:0:0:0"); // RFC 5952: first of equal runs
  assertEquals(formatIp(parseIp("2001:db8:0:1:1:1:1:1")!), "2001:db8:0:1:1:1:1:1");
  for (
    const bad of [
      ":::",
      "1::2::3",
      "12345::",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "g::1",
      "::1.2.3",
    ]
  ) {
    assertEquals(parseIPv6(bad), undefined, bad);
  }
});

Deno.test("address classification: multicast, link-local, host bits", () => {
  assertEquals(isMulticast(parseIp("224.0.0.18")!), true);
  assertEquals(isMulticast(parseIp("ff02::12")!), true);
  assertEquals(isMulticast(parseIp("10.0.0.1")!), false);
  assertEquals(isLinkLocal6(parseIp("fe80::1")!), true);
  assertEquals(isLinkLocal6(parseIp("2001:db8::1")!), false);
  assertEquals(hostBitsZero(parseIp("10.1.0.0")!, 16), true);
  assertEquals(hostBitsZero(parseIp("10.1.0.1")!, 16), false);
});
