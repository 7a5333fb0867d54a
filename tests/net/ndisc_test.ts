/**
 * Unsolicited neighbour advertisements (spec/vrrp.md §3.11): the message is built as
 * specified (pure), and on a real kernel (needs root) it goes from the VIP to ff02::1 with
 * hop limit 255, the Override flag (and Router when the interface forwards), the target
 * link-layer option, and a checksum that matches the pseudo-header computation; tcpdump on
 * the other end of a veth pair checks the wire.
 */
import { assertEquals, assertMatch, assertStringIncludes } from "../_assert.ts";
import { dumped, hex, inside, opts } from "./_in_netns.ts";
import { Lab } from "../harness/netns.ts";
import { buildUnsolicitedNa, ipv6Forwarding, NaSender } from "../../lib/net/ndisc.ts";
import { Netlink } from "../../lib/net/netlink.ts";
import { getLink } from "../../lib/net/monitor.ts";
import { parseIPv6 } from "../../lib/net/ipaddr.ts";

/**
 * A reference ICMPv6 checksum of `message` from `src` to `dst` (RFC 8200 §8.1 pseudo-header);
 * the kernel computes the real one.
 */
function icmp6Checksum(src: Uint8Array, dst: Uint8Array, message: Uint8Array): number {
  let sum = 0;
  const add16 = (b: Uint8Array) => {
    for (let i = 0; i < b.length; i += 2) sum += ((b[i] as number) << 8) | (b[i + 1] ?? 0);
  };
  add16(src);
  add16(dst);
  sum += message.length >>> 16;
  sum += message.length & 0xffff;
  sum += 58 /* ICMPv6 */;
  add16(message);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function fromHex(h: string): Uint8Array {
  return new Uint8Array((h.match(/../g) ?? []).map((x) => parseInt(x, 16)));
}

const VIP = "2001:db8::100";

Deno.test("an unsolicited NA carries Override, optionally Router, the target and its MAC", () => {
  const target = parseIPv6(VIP) as Uint8Array;
  const mac = new Uint8Array([0x02, 0x00, 0x5e, 0x10, 0x20, 0x30]);
  assertEquals(
    hex(buildUnsolicitedNa(target, mac, false)),
    "88" + "00" + "0000" + "20000000" + hex(target) + "02" + "01" + "02005e102030",
  );
  assertEquals(buildUnsolicitedNa(target, mac, true)[4], 0xa0);
  // RFC 1071 arithmetic: a message with its checksum filled in sums to zero.
  const src = target;
  const dst = parseIPv6("ff02::1") as Uint8Array;
  const m = buildUnsolicitedNa(target, mac, false);
  const sum = icmp6Checksum(src, dst, m);
  m[2] = sum >> 8;
  m[3] = sum & 0xff;
  assertEquals(icmp6Checksum(src, dst, m), 0);
});

async function capture(router: boolean) {
  await using lab = await Lab.create("ndisc");
  const a = await lab.namespace();
  const b = await lab.namespace();
  const link = await lab.vethPair(a, b, { addrA: [`${VIP}/64`], addrB: ["2001:db8::2/64"] });
  if (router) {
    await a.run(["sysctl", "-q", "-w", `net.ipv6.conf.${link.a.ifname}.forwarding=1`], {
      check: true,
    });
  }
  const tcpdump = b.spawn([
    "tcpdump",
    "-i",
    link.b.ifname,
    "-n",
    "-e",
    "-vv",
    "-l",
    "-xx",
    "-c",
    "1",
    "icmp6 and ip6[40] == 136",
  ]);
  await tcpdump.waitForOutput(/listening on/, 5_000);
  const [sender, nl] = inside(a, () => [NaSender.open(), Netlink.open()] as const);
  try {
    const iface = getLink(nl, link.a.ifname);
    const forwarding = inside(a, () => ipv6Forwarding(link.a.ifname));
    assertEquals(forwarding, router);
    sender.send(iface, VIP, forwarding);
    assertEquals(sender.sent, 1);
    await tcpdump.waitForOutput("1 packet captured", 5_000);
    return { out: tcpdump.stdout, mac: iface.mac as Uint8Array };
  } finally {
    sender.close();
    nl.close();
  }
}

Deno.test("an unsolicited NA leaves from the VIP to ff02::1 with hop limit 255", opts, async () => {
  const { out, mac } = await capture(false);
  const macText = [...mac].map((x) => x.toString(16).padStart(2, "0")).join(":");
  assertStringIncludes(out, `${macText} > 33:33:00:00:00:01, ethertype IPv6 (0x86dd)`);
  assertMatch(
    out,
    /hlim 255, next-header ICMPv6 \(58\) payload length: 32\) 2001:db8::100 > ff02::1/,
  );
  assertMatch(out, /neighbor advertisement, length 32, tgt is 2001:db8::100, Flags \[override\]/);
  assertStringIncludes(out, `destination link-address option (2), length 8 (1): ${macText}`);
  // The checksum the kernel filled in is the pseudo-header checksum.
  const frame = fromHex(dumped(out));
  const message = frame.slice(14 + 40);
  assertEquals(message.length, 32, out);
  const sum = (message[2] as number) << 8 | (message[3] as number);
  message[2] = 0;
  message[3] = 0;
  assertEquals(hex(message), hex(buildUnsolicitedNa(parseIPv6(VIP) as Uint8Array, mac, false)));
  assertEquals(sum, icmp6Checksum(frame.slice(22, 38), frame.slice(38, 54), message));
  assertStringIncludes(out, "[icmp6 sum ok]");
});

Deno.test("an interface that forwards IPv6 sends NAs with the Router flag", opts, async () => {
  const { out } = await capture(true);
  assertMatch(out, /tgt is 2001:db8::100, Flags \[router, override\]/);
});
