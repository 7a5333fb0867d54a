/**
 * A crafted sender on the LAN of two `kad run` routers (needs root): adverts with one bad
 * field each — TTL, version, type, length, checksum, VRID, address count, auth type, PASS
 * password, interval — plus garbage, every one claiming priority 254 (so the MASTER would
 * yield) or 0 (so the BACKUP would take over) if it were accepted. Neither router may change
 * state or crash; each rejection is logged and counted, and SIGUSR2's keepalived.stats
 * shows the counters keepalived keeps for it (spec/vrrp.md §1.11, §6.4). tcpdump on the
 * LAN must flag the corrupted checksum, so the interop tests' "no bad checksum" check is
 * known to bite.
 */
import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { Lab } from "../harness/netns.ts";
import { withNetNamespace } from "../../ffi/libc.ts";
import { VrrpSender } from "../../lib/net/vrrp_socket.ts";
import { parseIp } from "../../lib/net/ipaddr.ts";
import { authPassBytes, encodeIPv4Datagram } from "../../lib/vrrp/packet.ts";
import {
  count,
  Files,
  hasAddress,
  instanceConf,
  lan,
  NETNS_TEST,
  type Router,
  settle,
  startKad,
  stats,
  TEST_GLOBALS,
  waitAddress,
} from "./_vrrp_lab.ts";

const MASTER = /\(VI_1\) Entering MASTER STATE/;
const BACKUP = /\(VI_1\) Entering BACKUP STATE/;
const VIP = "192.0.2.100";

function ip(text: string): Uint8Array {
  return parseIp(text)!.bytes;
}

interface Craft {
  version?: number;
  type?: number;
  vrid?: number;
  ttl?: number;
  interval?: number;
  authType?: number;
  password?: string;
  /** Overwrite the count field only (the payload keeps one address). */
  countField?: number;
  /** Bytes appended after the message. */
  trailing?: number;
  /** Bytes cut from the end. */
  cut?: number;
  badChecksum?: boolean;
}

/** A VRRPv2 advert from the client with one field made bad, at `priority`. */
function craft(src: string, priority: number, c: Craft): Uint8Array {
  const d = encodeIPv4Datagram(
    {
      version: 2,
      family: 4,
      vrid: c.vrid ?? 51,
      priority,
      advertInterval: c.interval ?? 1,
      addresses: [ip(VIP)],
      authType: 1,
      authData: authPassBytes(c.password ?? "s3cret"),
    },
    { source: ip(src), destination: ip("224.0.0.18"), id: 7, ...(c.ttl ? { ttl: c.ttl } : {}) },
  );
  const m = d.subarray(20);
  const patch = (i: number, v: number) => {
    // Keep the checksum right for the changed byte, unless the test wants it wrong.
    const old = ((m[i & ~1] as number) << 8) | (m[(i & ~1) + 1] as number);
    m[i] = v;
    const now = ((m[i & ~1] as number) << 8) | (m[(i & ~1) + 1] as number);
    let sum = (~(((m[6] as number) << 8) | (m[7] as number)) & 0xffff) + (~old & 0xffff) + now;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    const ck = ~sum & 0xffff;
    m[6] = ck >> 8;
    m[7] = ck & 0xff;
  };
  if (c.version !== undefined || c.type !== undefined) {
    patch(0, ((c.version ?? 2) << 4) | (c.type ?? 1));
  }
  if (c.authType !== undefined) patch(4, c.authType);
  if (c.countField !== undefined) patch(3, c.countField);
  if (c.badChecksum) m[7] = (m[7] as number) ^ 0x5a;
  if (c.trailing !== undefined) {
    const longer = new Uint8Array(d.length + c.trailing);
    longer.set(d);
    return longer;
  }
  if (c.cut !== undefined) return d.slice(0, d.length - c.cut);
  return d;
}

/** One bad field per case, with the log text it must produce. */
const CASES: ReadonlyArray<{ name: string; craft: Craft; log: RegExp }> = [
  { name: "TTL 64", craft: { ttl: 64 }, log: /Invalid TTL\/HL from 192\.0\.2\.10/ },
  // A VRRPv3 message has no auth data: the same packet without it, version nibble 3.
  {
    name: "version 3",
    craft: { version: 3, cut: 8 },
    log: /Wrong VRRP version from 192\.0\.2\.10/,
  },
  { name: "type 2", craft: { type: 2 }, log: /Invalid packet type 2 from 192\.0\.2\.10/ },
  { name: "8 bytes too long", craft: { trailing: 8 }, log: /too long/ },
  { name: "4 bytes too short", craft: { cut: 4 }, log: /too short/ },
  { name: "bad checksum", craft: { badChecksum: true }, log: /Invalid VRRPv2 checksum/ },
  {
    name: "VRID 52",
    craft: { vrid: 52 },
    log: /VRID 52 from 192\.0\.2\.10 on eth0: no such instance/,
  },
  { name: "count 3 for one address", craft: { countField: 3 }, log: /too short/ },
  { name: "auth type 3", craft: { authType: 3 }, log: /Invalid authentication type 3/ },
  { name: "auth type 0", craft: { authType: 0 }, log: /Received authentication type 0/ },
  {
    name: "wrong password",
    craft: { password: "guess" },
    log: /incorrect authentication password/,
  },
  { name: "interval 2 s", craft: { interval: 2 }, log: /Advertisement interval mismatch/ },
];

Deno.test(
  "bad adverts from a crafted sender are ignored and counted; no router changes state or stops",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("vrrp-bad");
    await using files = await Files.create();
    const { routers, client } = await lan(lab, { client: true });
    const [a, b] = routers as [Router, Router];
    const dirA = await Deno.makeTempDir({ dir: files.dir });
    const dirB = await Deno.makeTempDir({ dir: files.dir });
    const auth = "  authentication {\n    auth_type PASS\n    auth_pass s3cret\n  }";
    const c = (priority: number) =>
      TEST_GLOBALS + instanceConf({ priority, version: 2, advertInt: 1, extra: auth });
    const ka = await startKad(a, files, c(200), [], { TMPDIR: dirA });
    const kb = await startKad(b, files, c(100), [], { TMPDIR: dirB });
    await settle([[ka, "MASTER"], [kb, "BACKUP"]], 1_000);
    await waitAddress(a, VIP, 5_000);
    const dump = client!.ns.spawn(["tcpdump", "-i", "eth0", "-n", "-vv", "-l", "ip proto 112"]);
    await dump.waitForOutput(/listening on/, 5_000);
    const base = [await stats(ka, dirA), await stats(kb, dirB)];
    const states = [ka, kb].map((p) => [count(p, MASTER), count(p, BACKUP)]);

    const sender = withNetNamespace(
      `/run/netns/${client!.ns.name}`,
      () => VrrpSender.open({ family: 4, ifname: "eth0" }),
    );
    try {
      for (let round = 0; round < 2; round++) {
        for (const k of CASES) {
          for (const prio of [254, 0]) {
            sender.send({ data: craft(client!.ip4, prio, k.craft), destination: "224.0.0.18" });
            await new Promise((r) => setTimeout(r, 5));
          }
        }
        // Garbage: a bare IP header, 3 bytes for our VRID (too short), random bytes for
        // VRID 99 (no instance).
        for (const payload of [0, 3, 40]) {
          const g = new Uint8Array(20 + payload);
          crypto.getRandomValues(g.subarray(20));
          if (payload > 0) g[21] = payload === 3 ? 51 : 99;
          g.set([0x45, 0xc0, 0, 20 + payload, 0, 9, 0, 0, 255, 112], 0);
          g.set(ip(client!.ip4), 12);
          g.set(ip("224.0.0.18"), 16);
          sender.send({ data: g, destination: "224.0.0.18" });
        }
      }
    } finally {
      sender.close();
    }
    // Longer than Master_Down_Interval (3.6 s): an accepted priority 0 would have shown.
    await new Promise((r) => setTimeout(r, 4_500));
    assertEquals([ka, kb].map((p) => [count(p, MASTER), count(p, BACKUP)]), states);
    assert(ka.exitStatus === undefined && kb.exitStatus === undefined, "a router stopped");
    assert(await hasAddress(a, VIP), "the MASTER lost its VIP");
    assert(!(await hasAddress(b, VIP)), "the BACKUP took the VIP");
    for (const k of CASES) {
      assert(k.log.test(ka.output), `no log line for '${k.name}' (${k.log}) on the MASTER`);
      assert(k.log.test(kb.output), `no log line for '${k.name}' (${k.log}) on the BACKUP`);
    }
    // Per router, each case was sent 4 times (2 rounds × priorities 254 and 0).
    const after = [await stats(ka, dirA), await stats(kb, dirB)];
    for (let i = 0; i < 2; i++) {
      const d = (k: string) => (after[i]!.get(k) ?? NaN) - (base[i]!.get(k) ?? NaN);
      assertEquals(d("Packet Errors/TTL"), 4, "TTL errors");
      assertEquals(d("Packet Errors/Invalid Type"), 4, "invalid types");
      // too long, too short, count 3 and the 3-byte garbage (2 rounds).
      assertEquals(d("Packet Errors/Length"), 3 * 4 + 2, "length errors");
      assertEquals(d("Authentication Errors/Invalid Type"), 4, "invalid auth types");
      assertEquals(d("Authentication Errors/Type Mismatch"), 4, "auth type mismatches");
      assertEquals(d("Authentication Errors/Failure"), 4, "auth failures");
      assertEquals(d("Priority Zero/Received"), 0, "a bad priority 0 counted as received");
    }
    // The BACKUP counts the MASTER's real adverts, and nothing of the crafted ones.
    assert(
      (after[1]!.get("Advertisements/Received") ?? 0) >
        (base[1]!.get("Advertisements/Received") ?? 0),
    );
    assertEquals(after[0]!.get("Advertisements/Received"), base[0]!.get("Advertisements/Received"));

    await dump.kill();
    assertStringIncludes(dump.stdout, "bad vrrp cksum");
    // Only the crafted packets are flagged: none from the routers.
    for (const line of dump.stdout.split("\n").filter((l) => /bad vrrp cksum/.test(l))) {
      assert(!line.includes(a.ip4) && !line.includes(b.ip4), `a router's advert flagged: ${line}`);
    }
  },
);
