/**
 * The interface and address monitor on a real kernel (needs root), inside a lab namespace,
 * on the reactor: link down/up, address add/delete and a vanished interface arrive as typed
 * events within milliseconds; a failing handler does not stop the monitor; lost events
 * are reported as an overrun; the start-up snapshot describes the links.
 */
import { assert, assertEquals } from "../_assert.ts";
import { inside, opts } from "./_in_netns.ts";
import { Lab, waitFor } from "../harness/netns.ts";
import { Netlink } from "../../lib/net/netlink.ts";
import { getLink, listLinks, type NetEvent, NetMonitor } from "../../lib/net/monitor.ts";
import { Reactor } from "../../lib/runtime/reactor.ts";
import type { Logger } from "../../lib/runtime/log.ts";

const quiet: Logger = { detail: () => {}, info: () => {}, warn: () => {}, error: () => {} };

interface Seen {
  readonly event: NetEvent;
  readonly at: number;
}

Deno.test(
  "link down/up and address add/delete arrive as typed events within milliseconds",
  opts,
  async () => {
    await using lab = await Lab.create("monitor");
    const ns = await lab.namespace();
    const peer = await lab.namespace();
    const link = await lab.vethPair(ns, peer, { addrA: "192.0.2.1/24" });
    const dev = link.a.ifname;
    const monitor = inside(ns, () => NetMonitor.open());
    const reactor = Reactor.create();
    const seen: Seen[] = [];
    monitor.attach(reactor, (event) => seen.push({ event, at: performance.now() }));
    const running = reactor.run();
    const latencies: number[] = [];
    /** Runs `change` and waits for the first event after it that `match` accepts. */
    const expect = async (change: () => Promise<unknown>, match: (e: NetEvent) => boolean) => {
      const from = seen.length;
      await change();
      const done = performance.now();
      const hit = await waitFor(
        () => seen.slice(from).find((s) => match(s.event)),
        2_000,
        { what: "the event" },
      );
      latencies.push(Math.max(0, hit.at - done));
      return hit.event;
    };
    try {
      const down = await expect(
        () => ns.linkDown(dev),
        (e) => e.kind === "link" && e.link.name === dev && !e.link.up,
      );
      assert(down.kind === "link" && down.action === "new" && !down.link.running);
      const from = seen.length;
      await expect(
        () => ns.linkUp(dev),
        (e) => e.kind === "link" && e.link.name === dev && e.link.up,
      );
      // RUNNING follows the carrier, which the kernel's link watcher reports up to 1 s later.
      await waitFor(
        () => seen.slice(from).some((s) => s.event.kind === "link" && s.event.link.running),
        3_000,
        { what: "the RUNNING flag" },
      );
      const added = await expect(
        () => ns.ip(["addr", "add", "192.0.2.100/24", "dev", dev, "label", `${dev}:vip`]),
        (e) => e.kind === "address" && e.address.address === "192.0.2.100",
      );
      assert(added.kind === "address");
      assertEquals(
        [added.action, added.address.prefix, added.address.label, added.address.family],
        ["new", 24, `${dev}:vip`, 4],
      );
      const v6 = await expect(
        () => ns.ip(["addr", "add", "2001:db8::100/64", "dev", dev, "nodad"]),
        (e) => e.kind === "address" && e.address.address === "2001:db8::100",
      );
      assert(v6.kind === "address" && v6.action === "new" && v6.address.family === 6);
      const deleted = await expect(
        () => ns.ip(["addr", "del", "192.0.2.100/24", "dev", dev]),
        (e) => e.kind === "address" && e.action === "del",
      );
      assert(deleted.kind === "address" && deleted.address.address === "192.0.2.100");
      // The interface vanishes (the daemon's FAULT case).
      const gone = await expect(
        () => ns.ip(["link", "del", "dev", dev]),
        (e) => e.kind === "link" && e.action === "del",
      );
      assert(gone.kind === "link" && gone.link.name === dev);
      // The kernel sends the event before `ip` even exits: allow for a busy machine.
      assert(Math.max(...latencies) < 100, `event latencies ${latencies.join(", ")} ms`);
      assertEquals(monitor.stats.malformed, 0);
    } finally {
      reactor.stop();
      await running;
      monitor.close();
      reactor.close();
    }
  },
);

Deno.test("a failing event handler is counted and the monitor keeps delivering", opts, async () => {
  await using lab = await Lab.create("monfail");
  const ns = await lab.namespace();
  const monitor = inside(ns, () => NetMonitor.open());
  const reactor = Reactor.create({ log: quiet });
  const addresses: string[] = [];
  monitor.attach(reactor, (e) => {
    if (e.kind !== "address" || e.action !== "new") return;
    addresses.push(e.address.address);
    if (addresses.length === 1) throw new Error("handler bug");
  });
  const running = reactor.run();
  try {
    await ns.ip(["addr", "add", "192.0.2.10/32", "dev", "lo"]);
    await waitFor(() => reactor.stats.callbackErrors === 1, 2_000, { what: "the failure" });
    await ns.ip(["addr", "add", "192.0.2.11/32", "dev", "lo"]);
    await waitFor(() => addresses.includes("192.0.2.11"), 2_000, { what: "the next event" });
    assertEquals(addresses, ["192.0.2.10", "192.0.2.11"]);
  } finally {
    reactor.stop();
    await running;
    monitor.close();
    reactor.close();
  }
});

Deno.test("events lost by a full socket buffer are reported as an overrun", opts, async () => {
  await using lab = await Lab.create("monover");
  const ns = await lab.namespace();
  const monitor = inside(ns, () => NetMonitor.open({ receiveBuffer: 4096 }));
  try {
    const batch = Array.from({ length: 300 }, (_, i) => `addr add 2001:db8::${i + 1}/128 dev lo`);
    await ns.run(["ip", "-batch", "-"], { stdin: batch.join("\n") + "\n", check: true });
    const events = monitor.drain();
    assert(events.some((e) => e.kind === "overrun"), "expected an overrun event");
    assert(monitor.stats.overruns >= 1);
    assert(monitor.stats.events < 300, `${monitor.stats.events} events survived`);
  } finally {
    monitor.close();
  }
});

Deno.test("the link snapshot gives names, flags, MAC, MTU and kind", opts, async () => {
  await using lab = await Lab.create("monlinks");
  const ns = await lab.namespace();
  const peer = await lab.namespace();
  const link = await lab.vethPair(ns, peer);
  await ns.ip(["link", "set", "dev", link.a.ifname, "mtu", "1400"]);
  const nl = inside(ns, () => Netlink.open());
  try {
    const links = listLinks(nl);
    assertEquals(links.map((l) => l.name).sort(), [link.a.ifname, "lo"].sort());
    const v = getLink(nl, link.a.ifname);
    const shown = await ns.link(link.a.ifname);
    assertEquals(
      [
        v.kind,
        v.mtu,
        v.up,
        [...(v.mac ?? [])].map((b) => b.toString(16).padStart(2, "0")).join(":"),
      ],
      ["veth", 1400, true, shown.mac],
    );
    const lo = links.find((l) => l.name === "lo");
    assertEquals([lo?.ifindex, lo?.up, lo?.operState], [1, true, "UNKNOWN"]);
  } finally {
    nl.close();
  }
});
