/**
 * auth_hmac in `kad run` (spec/vrrp.md §2.3), in network namespaces (needs root):
 *
 * - three kad nodes, unicast, `mode enforce`: one MASTER, failover to the next highest;
 * - two kad nodes over IPv6 (the kernel's checksum covers the trailer): election, failover;
 * - two kad nodes migrated receive-only → permissive → enforce by SIGHUP with no state
 *   change, one key read from a systemd-credentials-style path; in each mode a crafted
 *   sender injects forged (bad HMAC), malformed, unknown-key, stale and replayed adverts —
 *   replays of its own valid advert and of a captured advert of the MASTER — and every one is
 *   rejected and counted in keepalived.stats; then the MASTER is killed and the BACKUP takes
 *   over; a reload whose key file is gone is refused and changes nothing;
 * - a kad node in `receive-only` next to keepalived 2.2.7 (which predates auth_hmac):
 *   plain adverts both ways, the first step of a migration.
 *
 * Adverts run at 0.2 s (VRRPv3) so that every takeover is under a second.
 */
import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { Lab, type SpawnedProcess, waitFor } from "../harness/netns.ts";
import { withNetNamespace } from "../../ffi/libc.ts";
import { VrrpReceiver, VrrpSender } from "../../lib/net/vrrp_socket.ts";
import { parseIp } from "../../lib/net/ipaddr.ts";
import { AuthHmac, type AuthHmacMode } from "../../lib/vrrp/auth_hmac.ts";
import { KeyRing } from "../../lib/vrrp/key_ring.ts";
import { encodeIPv4Datagram } from "../../lib/vrrp/packet.ts";
import {
  count,
  Files,
  hasAddress,
  instanceConf,
  lan,
  lastState,
  NETNS_TEST,
  type Router,
  settle,
  startKad,
  startKeepalived,
  stats,
  TEST_GLOBALS,
  waitAddress,
  waitForNth,
} from "./_vrrp_lab.ts";

const VIP = "192.0.2.100";
const KEY_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const KEY = Uint8Array.from(KEY_HEX.match(/../g)!.map((h) => parseInt(h, 16)));
const STATE = /\(VI_1\) Entering \w+ STATE/;

function ip(text: string): Uint8Array {
  return parseIp(text)!.bytes;
}

/** An auth_hmac block; the key inline (hex:) unless `keyRef` names it another way. */
function authBlock(mode: AuthHmacMode, keyRef = `hex:${KEY_HEX}`): string {
  return `  auth_hmac {
    key 1 ${keyRef}
    active_key 1
    anti_replay time
    mode ${mode}
  }`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test(
  "auth_hmac enforce: three kad nodes over unicast elect one MASTER and fail over to the next highest",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("hmac-three");
    await using files = await Files.create();
    const rs = (await lan(lab, { routers: 3 })).routers as [Router, Router, Router];
    const dirs = await Promise.all(rs.map(() => Deno.makeTempDir({ dir: files.dir })));
    const conf = (self: Router, priority: number) => {
      const peers = rs.filter((r) => r !== self).map((r) => `    ${r.ip4}`).join("\n");
      return TEST_GLOBALS + instanceConf({
        priority,
        extra: `  unicast_src_ip ${self.ip4}\n  unicast_peer {\n${peers}\n  }\n${
          authBlock("enforce")
        }`,
      });
    };
    const [ka, kb, kc] = await Promise.all(
      rs.map((r, i) => startKad(r, files, conf(r, [100, 150, 200][i]!), [], { TMPDIR: dirs[i]! })),
    ) as [SpawnedProcess, SpawnedProcess, SpawnedProcess];
    await settle([[kc, "MASTER"], [kb, "BACKUP"], [ka, "BACKUP"]], 1_000);
    assert(await hasAddress(rs[2], VIP));
    const masters = count(ka, /Entering MASTER STATE/);
    kc.signal("SIGKILL");
    await waitAddress(rs[1], VIP, 5_000);
    await settle([[kb, "MASTER"], [ka, "BACKUP"]], 1_000);
    assertEquals(count(ka, /Entering MASTER STATE/), masters, "the lowest became MASTER");
    // Both survivors heard signed adverts and rejected none.
    for (const [p, dir] of [[ka, dirs[0]!], [kb, dirs[1]!]] as const) {
      const s = await stats(p, dir);
      assert((s.get("Advertisements/Received") ?? 0) > 5, "signed adverts were accepted");
      for (const k of ["Missing", "Malformed", "Unknown Key", "Invalid HMAC", "Stale", "Replay"]) {
        assertEquals(s.get(`Authentication Extension Errors/${k}`), 0, k);
      }
    }
  },
);

Deno.test(
  "auth_hmac enforce over IPv6: two kad nodes elect one MASTER and fail over",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("hmac-v6");
    await using files = await Files.create();
    const [a, b] = (await lan(lab)).routers as [Router, Router];
    const vips = ["fe80::100/64", "2001:db8::100/64"];
    const conf = (priority: number) =>
      TEST_GLOBALS + instanceConf({ priority, vips, extra: authBlock("enforce") });
    const ka = await startKad(a, files, conf(150));
    const kb = await startKad(b, files, conf(100));
    await settle([[ka, "MASTER"], [kb, "BACKUP"]], 1_000);
    await waitAddress(a, "2001:db8::100", 5_000);
    assert(!/authentication|checksum/i.test(kb.output), `the BACKUP rejected:\n${kb.output}`);
    ka.signal("SIGKILL");
    await waitAddress(b, "2001:db8::100", 5_000);
  },
);

/** The crafted sender of the migration test: a raw socket in the client's namespace. */
class Crafter {
  readonly #tx: VrrpSender;
  readonly #rx: VrrpReceiver;
  readonly #src: Uint8Array;
  #id = 100;

  constructor(client: Router) {
    const path = `/run/netns/${client.ns.name}`;
    this.#tx = withNetNamespace(path, () => VrrpSender.open({ family: 4, ifname: "eth0" }));
    this.#rx = withNetNamespace(path, () => VrrpReceiver.open({ family: 4, ifname: "eth0" }));
    this.#src = ip(client.ip4);
  }

  /** A VRRPv3 advert from the client signed with `key` as id `keyId`, `skewS` off the clock. */
  signed(priority: number, key: Uint8Array, keyId: number, skewS = 0): Uint8Array {
    const d = encodeIPv4Datagram(
      { version: 3, family: 4, vrid: 51, priority, advertInterval: 20, addresses: [ip(VIP)] },
      {
        source: this.#src,
        destination: ip("224.0.0.18"),
        id: this.#id++,
        trailerLength: 28,
      },
    );
    const ext = new AuthHmac(
      { mode: "enforce", antiReplay: "time", timeWindowS: 5, activeKey: keyId, keyIds: [keyId] },
      { family: 4, version: 3, vrid: 51, unicastPeers: [] },
      KeyRing.from(new Map([[keyId, key]]), keyId),
      { realtimeUs: () => (Date.now() + skewS * 1000) * 1000, monotonicUs: () => 0 },
    );
    ext.sign(d.subarray(20, 32), d.subarray(32), this.#src);
    ext.close();
    return d;
  }

  async send(d: Uint8Array): Promise<void> {
    this.#tx.send({ data: d, destination: "224.0.0.18" });
    await sleep(20);
  }

  /** The next advert on the wire from `source` (older queued ones are skipped). */
  async capture(source: string): Promise<Uint8Array> {
    while (this.#rx.receive() !== null) {
      // Drain what was queued before.
    }
    return await waitFor(
      () => {
        for (let p = this.#rx.receive(); p !== null; p = this.#rx.receive()) {
          if (p.source.bytes.join(".") === source) return p.datagram;
        }
        return undefined;
      },
      5_000,
      { what: `an advert from ${source}`, intervalMs: 5 },
    );
  }

  close(): void {
    this.#tx.close();
    this.#rx.close();
  }
}

const EXT = "Authentication Extension Errors";

Deno.test(
  "auth_hmac migration receive-only → permissive → enforce by SIGHUP changes no state; forged, malformed, unknown-key, stale and replayed adverts are rejected and counted in every mode",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("hmac-migrate");
    await using files = await Files.create();
    const { routers, client } = await lan(lab, { client: true });
    const [a, b] = routers as [Router, Router];
    const dirA = await Deno.makeTempDir({ dir: files.dir });
    const dirB = await Deno.makeTempDir({ dir: files.dir });
    // Router a reads its key the way a systemd unit with LoadCredential= hands it over.
    const creds = await Deno.makeTempDir({ dir: files.dir });
    await Deno.writeTextFile(`${creds}/vrrp-key`, `hex:${KEY_HEX}\n`, { mode: 0o600 });
    const confA = (mode: AuthHmacMode) =>
      TEST_GLOBALS + instanceConf({
        priority: 200,
        extra: authBlock(mode, "file:${_ENV CREDENTIALS_DIRECTORY}/vrrp-key"),
      });
    const confB = (mode: AuthHmacMode) =>
      TEST_GLOBALS + instanceConf({ priority: 100, extra: authBlock(mode) });
    const ka = await startKad(a, files, confA("receive-only"), [], {
      TMPDIR: dirA,
      CREDENTIALS_DIRECTORY: creds,
    });
    // The BACKUP only once the MASTER is up: on a loaded machine b could otherwise win the
    // start-up race, and "Became master" below counts from the start.
    await waitForNth(ka, /Entering MASTER STATE/, 1, 10_000);
    const kb = await startKad(b, files, confB("receive-only"), [], { TMPDIR: dirB });
    await settle([[ka, "MASTER"], [kb, "BACKUP"]], 1_000);
    await waitAddress(a, VIP, 5_000);
    const states = [count(ka, STATE), count(kb, STATE)];
    const crafter = new Crafter(client!);
    const expected = { a: new Map<string, number>(), b: new Map<string, number>() };
    const add = (who: "a" | "b", k: string, n: number) =>
      expected[who].set(k, (expected[who].get(k) ?? 0) + n);
    const wrongKey = new Uint8Array(32).fill(0x5a);
    try {
      let reloads = 0;
      for (const mode of ["receive-only", "permissive", "enforce"] as const) {
        if (mode !== "receive-only") {
          // The MASTER first, then the BACKUP, as an operator would roll it out.
          reloads++;
          for (const [p, r, c] of [[ka, a, confA], [kb, b, confB]] as const) {
            await files.write(`${r.ns.label}-kad.conf`, c(mode));
            p.signal("SIGHUP");
            await waitForNth(p, /authentication reset \[VI_1\]/, reloads, 5_000);
          }
        }
        // On the wire: plain adverts in receive-only, signed ones after.
        const own = await crafter.capture(a.ip4);
        assertEquals(own.length, mode === "receive-only" ? 32 : 60, `MASTER's advert in ${mode}`);
        for (const prio of [254, 0]) {
          await crafter.send(crafter.signed(prio, wrongKey, 1)); // forged: bad HMAC
          await crafter.send(crafter.signed(prio, KEY, 7)); // unknown key id
          await crafter.send(crafter.signed(prio, KEY, 1, -100)); // stale: 100 s old
          const bad = crafter.signed(prio, KEY, 1);
          bad[32] = 2; // malformed: ext_type 2
          await crafter.send(bad);
        }
        for (const who of ["a", "b"] as const) {
          for (const k of ["Invalid HMAC", "Unknown Key", "Stale", "Malformed"]) add(who, k, 2);
        }
        // A valid advert of the crafted sender (priority 1: nobody yields to it), then twice
        // again: replays.
        const valid = crafter.signed(1, KEY, 1);
        for (let i = 0; i < 3; i++) await crafter.send(valid);
        add("a", "Replay", 2);
        add("b", "Replay", 2);
        if (mode !== "receive-only") {
          // A signed advert of the MASTER, captured and sent again twice: the BACKUP had it
          // already. (The MASTER's kernel drops packets claiming its own address as source.)
          const captured = await crafter.capture(a.ip4);
          await sleep(20);
          await crafter.send(captured);
          await crafter.send(captured);
          add("b", "Replay", 2);
        }
        await sleep(300);
      }
    } finally {
      crafter.close();
    }
    // Longer than Master_Down_Interval (0.8 s): an accepted forgery would have shown.
    await sleep(1_200);
    assertEquals([count(ka, STATE), count(kb, STATE)], states, "a state changed");
    assertEquals([lastState(ka), lastState(kb)], ["MASTER", "BACKUP"]);
    assert(await hasAddress(a, VIP) && !(await hasAddress(b, VIP)));
    for (const [who, p, dir] of [["a", ka, dirA], ["b", kb, dirB]] as const) {
      const s = await stats(p, dir);
      for (const k of ["Invalid HMAC", "Unknown Key", "Stale", "Malformed", "Replay", "Missing"]) {
        assertEquals(s.get(`${EXT}/${k}`), expected[who].get(k) ?? 0, `${who}: ${k}`);
      }
      assertEquals(s.get("Became master"), who === "a" ? 1 : 0);
      assertEquals(s.get("Priority Zero/Received"), 0, "a forged priority 0 was accepted");
    }
    assertStringIncludes(kb.output, "invalid authentication HMAC from 192.0.2.10");
    assertStringIncludes(kb.output, "unknown authentication key id 7 from 192.0.2.10");
    assertStringIncludes(kb.output, "stale authentication trailer from 192.0.2.10");
    assertStringIncludes(kb.output, "replayed authentication trailer from 192.0.2.11");
    // A reload whose key file is gone is refused: the running configuration stays.
    await files.write(
      `${a.ns.label}-kad.conf`,
      TEST_GLOBALS +
        instanceConf({ priority: 200, extra: authBlock("enforce", `file:${creds}/gone`) }),
    );
    ka.signal("SIGHUP");
    await ka.waitForOutput(/reload refused, keeping the running configuration/, 5_000);
    assertStringIncludes(ka.output, `key file '${creds}/gone' cannot be read`);
    await sleep(1_000);
    assertEquals([count(ka, STATE), count(kb, STATE)], states, "a refused reload changed state");
    // Enforce, two nodes: the MASTER dies, the BACKUP takes over.
    ka.signal("SIGKILL");
    await waitAddress(b, VIP, 5_000);
    await waitFor(() => lastState(kb) === "MASTER", 5_000, { what: "the BACKUP's takeover" });
  },
);

Deno.test(
  "a kad node with auth_hmac receive-only interoperates with keepalived 2.2.7 (plain adverts)",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("hmac-ka");
    await using files = await Files.create();
    const [k, o] = (await lan(lab)).routers as [Router, Router];
    const dir = await Deno.makeTempDir({ dir: files.dir });
    const kad = await startKad(
      k,
      files,
      TEST_GLOBALS + instanceConf({ priority: 200, extra: authBlock("receive-only") }),
      [],
      { TMPDIR: dir },
    );
    await kad.waitForOutput(/Entering MASTER STATE/, 10_000);
    const ka = await startKeepalived(o, files, TEST_GLOBALS + instanceConf({ priority: 100 }));
    await ka.waitForOutput(/Entering BACKUP STATE/, 15_000);
    await sleep(1_500);
    assertEquals(count(ka, /Entering MASTER STATE/), 0, "keepalived does not accept kad's adverts");
    // keepalived takes over when kad stops, and kad accepts keepalived's plain adverts.
    kad.signal("SIGTERM");
    await ka.waitForOutput(/Entering MASTER STATE/, 5_000);
    await waitAddress(o, VIP, 5_000);
    const back = await startKad(
      k,
      files,
      TEST_GLOBALS + instanceConf({ priority: 50, extra: authBlock("receive-only") }),
      [],
      { TMPDIR: dir },
    );
    await back.waitForOutput(/Entering BACKUP STATE/, 10_000);
    await sleep(1_500);
    assertEquals(count(back, /Entering MASTER STATE/), 0, "kad rejected keepalived's adverts");
    const s = await stats(back, dir);
    assert((s.get("Advertisements/Received") ?? 0) > 3);
    assertEquals(s.get(`${EXT}/Missing`), 0);
  },
);
