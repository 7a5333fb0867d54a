/**
 * rtnetlink plumbing on a real kernel (needs root), inside a lab namespace: ACKs, errors
 * with the kernel's extended-ACK text, dumps spread over several datagrams, interface
 * lookups; and the pure message/attribute codec on well-formed and malformed bytes.
 */
import { assert, assertEquals } from "../_assert.ts";
import { inside, opts, thrown } from "./_in_netns.ts";
import { Lab } from "../harness/netns.ts";
import { ErrnoError } from "../../ffi/libc.ts";
import {
  attrString,
  attrU32,
  ifinfomsg,
  MessageBuilder,
  Netlink,
  NLM_F,
  parseAttributes,
  parseMessages,
  RTM,
} from "../../lib/net/netlink.ts";

const IFF_UP = 1;

/** RTM_NEWLINK setting or clearing IFF_UP on one interface. */
function setUp(index: number, up: boolean): MessageBuilder {
  const h = ifinfomsg(index);
  const v = new DataView(h.buffer);
  v.setUint32(8, up ? IFF_UP : 0, true);
  v.setUint32(12, IFF_UP, true);
  return new MessageBuilder(RTM.NEWLINK, NLM_F.REQUEST | NLM_F.ACK, h);
}

Deno.test(
  "a netlink request is acknowledged, and a refused one names the operation and errno",
  opts,
  async () => {
    await using lab = await Lab.create("nlreq");
    const ns = await lab.namespace();
    const other = await lab.namespace();
    const link = await lab.vethPair(ns, other, { up: false });
    const nl = inside(ns, () => Netlink.open());
    try {
      const index = nl.linkIndex(link.a.ifname);
      nl.request(setUp(index, true), `bringing ${link.a.ifname} up`);
      assertEquals((await ns.link(link.a.ifname)).up, true);

      const e = thrown(() => nl.request(setUp(987654, true), "bringing interface 987654 up"));
      assert(e instanceof ErrnoError, String(e));
      assertEquals(e.code, "ENODEV");
      assert(
        e.message.startsWith("bringing interface 987654 up failed: No such device (ENODEV)"),
        e.message,
      );
      assertEquals(nl.failures, 1);

      // A route through a gateway that is not on any link: the kernel explains (extended ACK).
      const route = new Uint8Array(12);
      route.set([2, 24, 0, 0, 254, 3, 0, 1]);
      const b = new MessageBuilder(
        RTM.NEWROUTE,
        NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL,
        route,
      )
        .bytes(1, new Uint8Array([203, 0, 113, 0]))
        .bytes(5, new Uint8Array([198, 51, 100, 1]));
      const r = thrown(() => nl.request(b, "adding route 203.0.113.0/24 via 198.51.100.1"));
      assert(r instanceof ErrnoError, String(r));
      assertEquals(r.code, "ENETUNREACH");
      assertEquals(
        r.message,
        "adding route 203.0.113.0/24 via 198.51.100.1 failed: Network is unreachable " +
          "(ENETUNREACH): Nexthop has invalid gateway",
      );
    } finally {
      nl.close();
    }
  },
);

Deno.test("a dump longer than one datagram is collected whole", opts, async () => {
  await using lab = await Lab.create("nldump");
  const ns = await lab.namespace();
  const count = 1200;
  const batch = Array.from(
    { length: count },
    (_, i) => `addr add 2001:db8::${(i + 1).toString(16)}/128 dev lo nodad`,
  ).join("\n");
  await ns.run(["ip", "-batch", "-"], { stdin: batch + "\n", check: true });
  const nl = inside(ns, () => Netlink.open());
  try {
    const msgs = nl.dump(
      () => {
        const h = new Uint8Array(8);
        h[0] = 10; // AF_INET6
        return new MessageBuilder(RTM.GETADDR, NLM_F.REQUEST | NLM_F.DUMP, h);
      },
      "listing addresses",
    );
    const bytes = msgs.reduce((n, m) => n + m.body.length + 16, 0);
    assert(bytes > 65536, `the dump should exceed one 64 KiB datagram, it has ${bytes} bytes`);
    // ::1 plus ours.
    assertEquals(msgs.filter((m) => m.type === RTM.NEWADDR).length, count + 1);
  } finally {
    nl.close();
  }
});

Deno.test("interface names are looked up in the socket's own namespace", opts, async () => {
  await using lab = await Lab.create("nlname");
  const ns = await lab.namespace();
  const nl = inside(ns, () => Netlink.open());
  try {
    assertEquals(nl.linkIndex("lo"), 1);
    const e = thrown(() => nl.linkIndexFor("kadnosuch0", "adding 192.0.2.1/24 to kadnosuch0"));
    assert(e instanceof ErrnoError, String(e));
    assertEquals(
      e.message,
      "adding 192.0.2.1/24 to kadnosuch0 failed: No such device (ENODEV): interface " +
        "'kadnosuch0' not found",
    );
  } finally {
    nl.close();
  }
});

Deno.test("messages and attributes round-trip, and malformed lengths stop parsing", () => {
  const b = new MessageBuilder(RTM.NEWLINK, NLM_F.REQUEST, ifinfomsg(7))
    .string(3, "eth0")
    .nest(18)
    .u32(1, 0xdeadbeef)
    .end()
    .u8(16, 6);
  const bytes = b.finish(42);
  const [m] = parseMessages(bytes);
  assert(m !== undefined);
  assertEquals([m.type, m.flags, m.seq], [RTM.NEWLINK, NLM_F.REQUEST, 42]);
  const a = parseAttributes(m.body, 16);
  assertEquals(attrString(a, 3), "eth0");
  assertEquals(attrU32(parseAttributes(a.get(18) as Uint8Array), 1), 0xdeadbeef);
  assertEquals(a.get(16)?.[0], 6);

  // A message claiming more bytes than there are is not returned; nor is what follows.
  const bad = bytes.slice();
  new DataView(bad.buffer).setUint32(0, bytes.length + 100, true);
  assertEquals(parseMessages(bad), []);
  // An attribute with an impossible length ends the attribute list there.
  const body = m.body.slice();
  new DataView(body.buffer).setUint16(16, 2, true);
  assertEquals(parseAttributes(body, 16).size, 0);
});
