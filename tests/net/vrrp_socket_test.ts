/**
 * VRRP sockets on a real kernel (needs root): two namespaces joined by a veth pair, the
 * senders in one and the receivers in the other, all receivers on one reactor. Checks what
 * spec/vrrp.md §1.4–1.7 asks for: IPv4 datagrams go out as built (TOS 0xC0, TTL 255 for
 * multicast), IPv6 adverts get hop limit 255 and traffic class 0xC0 and a checksum the
 * receiving kernel accepts, unicast hop limits come from the kernel or the packet, and the
 * receiver reports source, destination and TTL/hop limit. tcpdump confirms the wire.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_assert.ts";
import { inside, opts } from "./_in_netns.ts";
import { Lab, type Netns, waitFor } from "../harness/netns.ts";
import { ErrnoError } from "../../ffi/libc.ts";
import {
  VRRP_GROUP4,
  VRRP_GROUP6,
  type VrrpPacket,
  VrrpReceiver,
  VrrpSender,
} from "../../lib/net/vrrp_socket.ts";
import { formatIp } from "../../lib/net/ipaddr.ts";
import { Reactor } from "../../lib/runtime/reactor.ts";

/** A VRRPv3 advert for VRID 51, priority 100, 1 s, one IPv4 or IPv6 VIP. */
function advert(vip: number[]): Uint8Array {
  return new Uint8Array([0x31, 51, 100, 1, 0x00, 0x64, 0, 0, ...vip]);
}

/** An IPv4 datagram around `payload`, as the codec will build it (spec/vrrp.md §1.4). */
function ipv4(src: number[], dst: number[], ttl: number, id: number, payload: Uint8Array) {
  const d = new Uint8Array(20 + payload.length);
  const v = new DataView(d.buffer);
  d[0] = 0x45;
  d[1] = 0xc0;
  v.setUint16(2, d.length);
  v.setUint16(4, id);
  d[8] = ttl;
  d[9] = 112;
  d.set(src, 12);
  d.set(dst, 16);
  d.set(payload, 20);
  return d;
}

async function linkLocal(ns: Netns, ifname: string): Promise<string> {
  return await ns.waitFor(
    async () => (await ns.addresses(ifname)).find((a) => a.scope === "link")?.address,
    3_000,
    { what: `the link-local address of ${ifname}` },
  );
}

Deno.test(
  "VRRP sockets carry IPv4 and IPv6 adverts, multicast and unicast, with TTL, TOS and hop limit",
  opts,
  async () => {
    await using lab = await Lab.create("vrrpsock");
    const a = await lab.namespace({ label: "sender" });
    const b = await lab.namespace({ label: "receiver" });
    const link = await lab.vethPair(a, b, {
      addrA: ["192.0.2.1/24", "2001:db8::1/64"],
      addrB: ["192.0.2.2/24", "2001:db8::2/64"],
    });
    const [ifA, ifB] = [link.a.ifname, link.b.ifname];
    // Both ends must have finished IPv6 set-up (link-local address, ff00::/8 route), or
    // the receiving kernel drops multicast for want of a route.
    const llA = await linkLocal(a, ifA);
    await linkLocal(b, ifB);

    const tcpdump = b.spawn([
      "tcpdump",
      "-i",
      ifB,
      "-n",
      "-v",
      "-l",
      "-c",
      "4",
      "ip proto 112 or ip6 proto 112",
    ]);
    await tcpdump.waitForOutput(/listening on/, 5_000);

    const send4 = inside(a, () => VrrpSender.open({ family: 4, ifname: ifA }));
    const send6 = inside(a, () => VrrpSender.open({ family: 6, ifname: ifA }));
    const [mc4, uc4, mc6, uc6] = inside(b, () => [
      VrrpReceiver.open({ family: 4, ifname: ifB }),
      VrrpReceiver.open({ family: 4, ifname: ifB, unicastSource: "192.0.2.2" }),
      VrrpReceiver.open({ family: 6, ifname: ifB }),
      VrrpReceiver.open({ family: 6, ifname: ifB, unicastSource: "2001:db8::2" }),
    ]);
    const got = new Map<VrrpReceiver, VrrpPacket[]>();
    const reactor = Reactor.create();
    for (const r of [mc4, uc4, mc6, uc6]) {
      got.set(r, []);
      reactor.add(r.fd, () => {
        for (let p = r.receive(); p !== null; p = r.receive()) got.get(r)?.push(p);
      });
    }
    const running = reactor.run();
    const sentAtNs = BigInt(Date.now()) * 1_000_000n;
    try {
      const vip4 = [192, 0, 2, 100];
      const vip6 = [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 0x64];
      send4.send({
        data: ipv4([192, 0, 2, 1], [224, 0, 0, 18], 255, 1, advert(vip4)),
        destination: VRRP_GROUP4,
      });
      send4.send({
        data: ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64, 2, advert(vip4)),
        destination: "192.0.2.2",
      });
      send6.send({ data: advert(vip6), destination: VRRP_GROUP6, source: llA });
      send6.send({ data: advert(vip6), destination: "2001:db8::2", source: "2001:db8::1" });
      send6.send({
        data: advert(vip6),
        destination: "2001:db8::2",
        source: "2001:db8::1",
        hopLimit: 7,
      });
      await waitFor(
        () =>
          got.get(mc4)?.length === 1 && got.get(uc4)?.length === 1 &&
          got.get(mc6)?.length === 1 && got.get(uc6)?.length === 2,
        3_000,
        { what: "every packet at its receiver" },
      );

      const m4 = got.get(mc4)?.[0] as VrrpPacket;
      assertEquals(
        [formatIp(m4.source), m4.destination && formatIp(m4.destination), m4.ttl, m4.datagram[1]],
        ["192.0.2.1", "224.0.0.18", 255, 0xc0],
      );
      assertEquals([...m4.payload], [...advert(vip4)]);
      const u4 = got.get(uc4)?.[0] as VrrpPacket;
      assertEquals(
        [formatIp(u4.source), u4.destination && formatIp(u4.destination), u4.ttl],
        ["192.0.2.1", "192.0.2.2", 64],
      );
      assertEquals(new DataView(u4.datagram.buffer).getUint16(4), 2, "identification as built");

      const m6 = got.get(mc6)?.[0] as VrrpPacket;
      assertEquals(
        [formatIp(m6.source), m6.destination && formatIp(m6.destination), m6.ttl],
        [llA, "ff02::12", 255],
      );
      // The kernel wrote the checksum at offset 6 (and the receiver's kernel checked it).
      assert(m6.payload[6] !== 0 || m6.payload[7] !== 0, "the IPv6 checksum should be set");
      assertEquals([...m6.payload.slice(8)], vip6);
      const [u6a, u6b] = got.get(uc6) as VrrpPacket[];
      assertEquals(
        [u6a?.source && formatIp(u6a.source), u6a?.ttl, u6b?.ttl],
        ["2001:db8::1", 64, 7],
        "kernel default hop limit, then the per-packet one",
      );
      assertEquals(send4.sent + send6.sent, 5);
      // Every packet carries the kernel's receive time (the master-down timer runs from it).
      for (const p of [m4, u4, m6, u6a, u6b]) {
        const at = p?.arrivalNs;
        assert(at !== undefined, "a kernel receive timestamp");
        const ms = Number(at - sentAtNs) / 1e6;
        assert(ms >= -5 && ms < 3_000, `receive timestamp ${ms} ms after sending`);
      }

      await tcpdump.waitForOutput("4 packets captured", 5_000);
      const wire = tcpdump.stdout;
      assertMatch(
        wire,
        /tos 0xc0, ttl 255, .*proto VRRP \(112\)[^\n]*\n\s*192\.0\.2\.1 > 224\.0\.0\.18/,
      );
      assertMatch(wire, /tos 0xc0, ttl 64, .*\n\s*192\.0\.2\.1 > 192\.0\.2\.2: VRRPv3/);
      assertMatch(
        wire,
        new RegExp(
          `class 0xc0, flowlabel \\w+, hlim 255, next-header VRRP \\(112\\).*${llA} > ff02::12`,
        ),
      );
      assertMatch(wire, /class 0xc0, .*hlim 64, .*2001:db8::1 > 2001:db8::2: VRRPv3/);
    } finally {
      reactor.stop();
      await running;
      reactor.close();
      for (const s of [send4, send6, mc4, uc4, mc6, uc6]) s.close();
    }
  },
);

Deno.test(
  "a VRRP send socket whose interface vanished fails with an error naming it, and counts it",
  opts,
  async () => {
    await using lab = await Lab.create("vrrpgone");
    const a = await lab.namespace();
    const b = await lab.namespace();
    const link = await lab.vethPair(a, b, { addrA: "192.0.2.1/24", addrB: "192.0.2.2/24" });
    const sender = inside(a, () => VrrpSender.open({ family: 4, ifname: link.a.ifname }));
    try {
      await a.ip(["link", "del", "dev", link.a.ifname]);
      let error: unknown;
      try {
        sender.send({
          data: ipv4([192, 0, 2, 1], [224, 0, 0, 18], 255, 1, advert([192, 0, 2, 100])),
          destination: VRRP_GROUP4,
        });
      } catch (e) {
        error = e;
      }
      assert(error instanceof ErrnoError, `expected an ErrnoError, got ${error}`);
      assertStringIncludes(
        error.message,
        `sending a VRRP packet to 224.0.0.18 on ${link.a.ifname} failed: `,
      );
      assert(["ENODEV", "ENXIO"].includes(error.code), `unexpected ${error.code}`);
      assertEquals([sender.sent, sender.failures], [0, 1]);
      // A destination of the other family is refused (every time), naming it.
      for (let i = 0; i < 2; i++) {
        let wrong: unknown;
        try {
          sender.send({ data: new Uint8Array(40), destination: "ff02::12" });
        } catch (e) {
          wrong = e;
        }
        assert(wrong instanceof RangeError, `expected a RangeError, got ${wrong}`);
        assertStringIncludes(wrong.message, "destination 'ff02::12' is not an IPv4 address");
      }
      assertEquals([sender.sent, sender.failures], [0, 3]);
    } finally {
      sender.close();
    }
  },
);

Deno.test(
  "opening a VRRP receive socket on a missing interface names the interface",
  opts,
  async () => {
    await using lab = await Lab.create("vrrpnodev");
    const a = await lab.namespace();
    let error: unknown;
    try {
      inside(a, () => VrrpReceiver.open({ family: 6, ifname: "kadnosuch0" }));
    } catch (e) {
      error = e;
    }
    assert(error instanceof ErrnoError, `expected an ErrnoError, got ${error}`);
    assertEquals(
      error.message,
      "opening the IPv6 VRRP receive socket on kadnosuch0 failed: No such device (ENODEV): " +
        "looking up interface 'kadnosuch0'",
    );
  },
);
