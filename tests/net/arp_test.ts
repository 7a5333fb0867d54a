/**
 * Gratuitous ARP (spec/vrrp.md §3.11): the frame is built byte for byte as specified
 * (pure), and on a real kernel (needs root) it leaves by the right interface with the
 * interface's MAC, as tcpdump on the other end of a veth pair sees it.
 */
import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { dumped, hex, inside, opts } from "./_in_netns.ts";
import { Lab } from "../harness/netns.ts";
import { ErrnoError } from "../../ffi/libc.ts";
import { ArpSender, buildGratuitousArp } from "../../lib/net/arp.ts";
import { Netlink } from "../../lib/net/netlink.ts";
import { getLink } from "../../lib/net/monitor.ts";

Deno.test("a gratuitous ARP frame is an ARP request from the VIP to the VIP, broadcast", () => {
  const mac = new Uint8Array([0x02, 0x00, 0x5e, 0x10, 0x20, 0x30]);
  const frame = buildGratuitousArp(mac, new Uint8Array([192, 0, 2, 100]));
  assertEquals(
    hex(frame),
    "ffffffffffff" + "02005e102030" + "0806" + // Ethernet: broadcast, our MAC, ARP
      "0001" + "0800" + "06" + "04" + "0001" + // Ethernet/IPv4, request
      "02005e102030" + "c0000264" + // sender: our MAC, the VIP
      "ffffffffffff" + "c0000264", // target: broadcast MAC, the VIP
  );
  let error: unknown;
  try {
    buildGratuitousArp(new Uint8Array(8), new Uint8Array(4));
  } catch (e) {
    error = e;
  }
  assert(error instanceof RangeError, String(error));
});

Deno.test("a gratuitous ARP is seen on the wire with the interface's MAC", opts, async () => {
  await using lab = await Lab.create("garp");
  const a = await lab.namespace();
  const b = await lab.namespace();
  const link = await lab.vethPair(a, b, { addrA: "192.0.2.1/24", addrB: "192.0.2.2/24" });
  const tcpdump = b.spawn([
    "tcpdump",
    "-i",
    link.b.ifname,
    "-n",
    "-e",
    "-l",
    "-xx",
    "-c",
    "1",
    "arp",
  ]);
  await tcpdump.waitForOutput(/listening on/, 5_000);
  const [sender, nl] = inside(a, () => [ArpSender.open(), Netlink.open()] as const);
  try {
    const iface = getLink(nl, link.a.ifname);
    sender.send(iface, "192.0.2.100");
    assertEquals(sender.sent, 1);
    await tcpdump.waitForOutput("1 packet captured", 5_000);
    const mac = (await a.link(link.a.ifname)).mac;
    assertStringIncludes(
      tcpdump.stdout,
      `${mac} > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: ` +
        "Request who-has 192.0.2.100 (ff:ff:ff:ff:ff:ff) tell 192.0.2.100, length 28",
    );
    assertEquals(
      dumped(tcpdump.stdout),
      hex(buildGratuitousArp(iface.mac as Uint8Array, new Uint8Array([192, 0, 2, 100]))),
    );
  } finally {
    sender.close();
    nl.close();
  }
});

Deno.test(
  "a gratuitous ARP on a vanished interface fails naming VIP and interface",
  opts,
  async () => {
    await using lab = await Lab.create("garpgone");
    const a = await lab.namespace();
    const b = await lab.namespace();
    const link = await lab.vethPair(a, b);
    const [sender, nl] = inside(a, () => [ArpSender.open(), Netlink.open()] as const);
    try {
      const iface = getLink(nl, link.a.ifname);
      await a.ip(["link", "del", "dev", link.a.ifname]);
      let error: unknown;
      try {
        sender.send(iface, "192.0.2.100");
      } catch (e) {
        error = e;
      }
      assert(error instanceof ErrnoError, String(error));
      assert(
        error.message.startsWith(
          `sending gratuitous ARP for 192.0.2.100 on ${link.a.ifname} failed: `,
        ),
        error.message,
      );
      assert(["ENXIO", "ENODEV"].includes(error.code), error.code);
      let noMac: unknown;
      try {
        sender.send({ ifindex: 1, name: "tun0" }, "192.0.2.100");
      } catch (e) {
        noMac = e;
      }
      assert(noMac instanceof RangeError, String(noMac));
      assertEquals(
        noMac.message,
        "sending gratuitous ARP for 192.0.2.100 on tun0 failed: interface tun0 has no Ethernet " +
          "address",
      );
      assertEquals([sender.sent, sender.failures], [0, 2]);
    } finally {
      sender.close();
      nl.close();
    }
  },
);
