/**
 * Adding and removing VIPs on a real kernel (needs root), inside a lab namespace, checked
 * with `ip -j addr`: IPv4 label, scope, broadcast and peer; IPv6 nodad, preferred lifetime
 * and flags (spec/vrrp.md §3.17, as keepalived 2.2.7 installs them); error messages; and
 * the clean-up of leftovers of a previous run (§3.3).
 */
import { assert, assertEquals } from "../_assert.ts";
import { netlinkVethLab, opts, thrown } from "./_in_netns.ts";
import type { Netns } from "../harness/netns.ts";
import { ErrnoError } from "../../ffi/libc.ts";
import {
  addAddress,
  IFA_F,
  listAddresses,
  removeAddress,
  removeLeftoverAddresses,
} from "../../lib/net/addresses.ts";
import type { IpAddressEntry } from "../../lib/config/schema/vrrp_address.ts";

type IpAddrInfo = Record<string, unknown> & { local: string };

/** `ip -j addr show dev IF`'s addr_info entries. */
async function ipAddr(ns: Netns, ifname: string): Promise<IpAddrInfo[]> {
  const out = JSON.parse(await ns.ip(["-j", "addr", "show", "dev", ifname])) as {
    addr_info: IpAddrInfo[];
  }[];
  return out[0]?.addr_info ?? [];
}

function setup(hint: string) {
  return netlinkVethLab(hint, "192.0.2.1/24");
}

Deno.test(
  "IPv4 VIPs are added with label, scope, broadcast and peer, then removed",
  opts,
  async () => {
    const { lab, ns, dev, nl } = await setup("addr4");
    try {
      // Another subnet than the primary 192.0.2.1/24: a secondary must share its scope.
      const vip: IpAddressEntry = {
        address: "198.51.100.100",
        family: 4,
        prefix: 24,
        label: `${dev}:vip`,
        scope: "link",
        broadcast: "+",
      };
      const host: IpAddressEntry = { address: "192.0.2.7", family: 4, prefix: 32, dev };
      const p2p: IpAddressEntry = {
        address: "203.0.113.1",
        family: 4,
        prefix: 32,
        peer: "203.0.113.2",
        scope: 200,
      };
      addAddress(nl, vip, dev);
      addAddress(nl, host, "kadunused0"); // its own `dev` wins over the default
      addAddress(nl, p2p, dev);
      const got = await ipAddr(ns, dev);
      const find = (a: string) => got.find((x) => x.local === a);
      const v = find("198.51.100.100");
      assertEquals([v?.label, v?.scope, v?.broadcast], [`${dev}:vip`, "link", "198.51.100.255"]);
      const h = find("192.0.2.7");
      assertEquals([h?.prefixlen, h?.scope, h?.secondary], [32, "global", undefined]);
      const p = find("203.0.113.1");
      assertEquals([p?.address, p?.scope], ["203.0.113.2", "site"]);

      const listed = listAddresses(nl, { family: 4, ifindex: nl.linkIndex(dev) });
      assertEquals(listed.map((a) => a.address).sort(), [
        "192.0.2.1",
        "192.0.2.7",
        "198.51.100.100",
        "203.0.113.1",
      ]);
      const l = listed.find((a) => a.address === "198.51.100.100");
      assertEquals(
        [l?.label, l?.scope, l?.broadcast, l?.prefix],
        [`${dev}:vip`, 253, "198.51.100.255", 24],
      );
      assertEquals(listed.find((a) => a.address === "203.0.113.1")?.peer, "203.0.113.2");

      removeAddress(nl, vip, dev);
      removeAddress(nl, host, "kadunused0");
      removeAddress(nl, p2p, dev);
      const left = (await ipAddr(ns, dev)).filter((a) => a.family === "inet").map((a) => a.local);
      assertEquals(left, ["192.0.2.1"]);
    } finally {
      nl.close();
      await lab.close();
    }
  },
);

Deno.test(
  "IPv6 VIPs get nodad unless -nodad, preferred_lft 0 on /128, and their flags",
  opts,
  async () => {
    const { lab, ns, dev, nl } = await setup("addr6");
    try {
      addAddress(nl, { address: "2001:db8::100", family: 6, prefix: 128 }, dev);
      addAddress(nl, { address: "2001:db8::200", family: 6, prefix: 64, noprefixroute: true }, dev);
      addAddress(
        nl,
        { address: "2001:db8::300", family: 6, prefix: 128, nodad: true, preferredLft: "forever" },
        dev,
      );
      const got = await ipAddr(ns, dev);
      const find = (a: string) => got.find((x) => x.local === a);
      const a1 = find("2001:db8::100");
      assertEquals([a1?.nodad, a1?.deprecated, a1?.preferred_life_time], [true, true, 0]);
      const a2 = find("2001:db8::200");
      assertEquals([a2?.nodad, a2?.noprefixroute, a2?.deprecated], [true, true, undefined]);
      const a3 = find("2001:db8::300");
      assertEquals([a3?.nodad, a3?.deprecated], [undefined, undefined]);
      const k = listAddresses(nl, { family: 6 }).find((a) => a.address === "2001:db8::100");
      assert(k !== undefined && (k.flags & IFA_F.NODAD) !== 0, JSON.stringify(k));
      assertEquals([k.preferredLft, k.validLft], [0, "forever"]);
      // No prefix route for the noprefixroute address.
      const routes = await ns.ip(["-6", "route", "show", "dev", dev]);
      assert(!routes.includes("2001:db8::/64"), routes);
    } finally {
      nl.close();
      await lab.close();
    }
  },
);

Deno.test("failed address changes say what, where and why", opts, async () => {
  const { lab, ns, dev, nl } = await setup("addrerr");
  try {
    const vip: IpAddressEntry = { address: "192.0.2.100", family: 4, prefix: 24 };
    addAddress(nl, vip, dev);
    const dup = thrown(() => addAddress(nl, vip, dev));
    assert(dup instanceof ErrnoError, String(dup));
    assertEquals(dup.code, "EEXIST");
    assert(
      dup.message.startsWith(`adding 192.0.2.100/24 to ${dev} failed: File exists (EEXIST)`),
      dup.message,
    );
    // `replace` updates it instead.
    addAddress(nl, { ...vip, label: `${dev}:x` }, dev, { replace: true });
    removeAddress(nl, vip, dev);
    const gone = thrown(() => removeAddress(nl, vip, dev));
    assert(gone instanceof ErrnoError, String(gone));
    assert(
      gone.message.startsWith(
        `removing 192.0.2.100/24 from ${dev} failed: Cannot assign requested address ` +
          "(EADDRNOTAVAIL)",
      ),
      gone.message,
    );
    const nodev = thrown(() => addAddress(nl, vip, "kadnosuch0"));
    assert(nodev instanceof ErrnoError, String(nodev));
    assertEquals(
      nodev.message,
      "adding 192.0.2.100/24 to kadnosuch0 failed: No such device (ENODEV): interface " +
        "'kadnosuch0' not found",
    );
    assertEquals(nl.failures, 3);

    // With an index source (the engine's interface table) no GETLINK is asked: a name only
    // the table knows works, and a name it does not know is still asked of the kernel.
    const index = nl.linkIndex(dev);
    nl.setIndexSource((name) => name === "kadtable0" ? index : undefined);
    addAddress(nl, vip, "kadtable0");
    assertEquals((await ipAddr(ns, dev)).some((a) => a.local === "192.0.2.100"), true);
    removeAddress(nl, vip, dev);
    assert(thrown(() => addAddress(nl, vip, "kadnosuch0")) instanceof ErrnoError);
  } finally {
    nl.close();
    await lab.close();
  }
});

Deno.test(
  "leftover VIPs of a previous run are removed, whatever their prefix; others stay",
  opts,
  async () => {
    const { lab, ns, dev, nl } = await setup("addrleft");
    try {
      // What a killed keepalived would leave behind (and one address that is not ours).
      await ns.ip(["addr", "add", "192.0.2.100/24", "dev", dev, "label", `${dev}:vip`]);
      await ns.ip(["addr", "add", "198.51.100.7/32", "dev", dev]);
      await ns.ip(["addr", "add", "2001:db8::100/64", "dev", dev, "nodad"]);
      await ns.ip(["addr", "add", "203.0.113.9/32", "dev", dev]);
      const entries: IpAddressEntry[] = [
        { address: "192.0.2.100", family: 4, prefix: 24 },
        { address: "198.51.100.7", family: 4, prefix: 24 }, // configured with another prefix now
        { address: "2001:db8::100", family: 6, prefix: 64 },
        { address: "2001:db8::555", family: 6, prefix: 128 }, // not there
        { address: "192.0.2.200", family: 4, prefix: 32, dev: "kadnosuch0" }, // no interface
      ];
      const report = removeLeftoverAddresses(nl, entries, dev);
      assertEquals(report.failed, []);
      assertEquals(report.removed, [
        `192.0.2.100/24 dev ${dev}`,
        `198.51.100.7/32 dev ${dev}`,
        `2001:db8::100/64 dev ${dev}`,
      ]);
      const left = (await ipAddr(ns, dev)).map((a) => a.local).filter((a) => !a.startsWith("fe80"));
      assertEquals(left.sort(), ["192.0.2.1", "203.0.113.9"]);
    } finally {
      nl.close();
      await lab.close();
    }
  },
);
