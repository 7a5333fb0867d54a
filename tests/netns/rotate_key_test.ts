/**
 * `kad rotate-key` end to end (docs/rotate-key.md), in network namespaces (needs root):
 * three kad nodes, auth_hmac `enforce`, adverts every 0.2 s, and a whole make-before-break
 * rotation from key 1 to key 2 under that traffic, driven by the command line as a script
 * would — key 2 added from a file on two nodes and from standard input on the third,
 * activated everywhere, key 1 retired with `--wait` — with zero authentication failures and
 * zero state changes (keepalived.stats counters and logs), `status` showing the MASTER move
 * from key 1 to key 2; `retire` refused (exit 6) and timing out (exit 7) while the MASTER
 * still signs with key 1; then a SIGHUP of every node and a restart of the MASTER neither
 * bring key 1 back: the restarted node signs with key 2 and the others accept it.
 */
import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { Lab, run, waitFor } from "../harness/netns.ts";
import { rotateKeySchema, validate } from "../_json_schema.ts";
import {
  controlSocket,
  count,
  Files,
  instanceConf,
  KAD,
  lan,
  NETNS_TEST,
  type Router,
  settle,
  startKad,
  stats,
  TEST_GLOBALS,
  waitForNth,
} from "./_vrrp_lab.ts";

const KEY1_HEX = "11".repeat(32);
const KEY2_HEX = "2a".repeat(40);
const STATE_CHANGE = /Entering \w+ STATE/;

interface Cli {
  code: number;
  // deno-lint-ignore no-explicit-any
  json: any;
  stderr: string;
}

/** `kad rotate-key ARGS --json` against a node's control socket. */
async function rk(socket: string, args: string[], stdin?: string): Promise<Cli> {
  const r = await run([KAD, "rotate-key", ...args, "--json", "--control-socket", socket], {
    env: { NO_COLOR: "1" },
    ...(stdin === undefined ? {} : { stdin }),
    timeoutMs: 60_000,
  });
  const out = r.stdout;
  let json: unknown;
  try {
    json = JSON.parse(out);
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${out}\n${r.stderr}`);
  }
  // Every document follows docs/rotate-key-schema.json, and its exit_code is the status.
  assertEquals(validate(rotateKeySchema(), json), [], out);
  assertEquals((json as { exit_code: number }).exit_code, r.code);
  return { code: r.code, json, stderr: r.stderr };
}

function ok(r: Cli, what: string): Cli {
  assertEquals(r.code, 0, `${what}: ${JSON.stringify(r.json)} ${r.stderr}`);
  assertEquals(r.json.ok, true);
  return r;
}

/** The key id `socket`'s node last saw `address` sign with, and how that advert fared. */
async function peerKey(socket: string, address: string): Promise<[number | null, string]> {
  const s = ok(await rk(socket, ["status"]), "status");
  // deno-lint-ignore no-explicit-any
  const p = s.json.instances[0].peers.find((x: any) => x.address === address);
  return p === undefined ? [null, "unheard"] : [p.key_id, p.last_outcome];
}

const AUTH_ERRORS = ["Missing", "Malformed", "Unknown Key", "Invalid HMAC", "Stale", "Replay"];

Deno.test(
  "rotate-key: three kad nodes rotate key 1 to key 2 under traffic, no state change, no auth failure, and it survives reload and restart",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("rotate-key");
    await using files = await Files.create();
    const rs = (await lan(lab, { routers: 3 })).routers as [Router, Router, Router];
    const [a, b, c] = rs;
    const dirs = await Promise.all(rs.map(() => Deno.makeTempDir({ dir: files.dir })));
    const key2 = await files.write("key2", `hex:${KEY2_HEX}\n`);
    await Deno.chmod(key2, 0o600);
    const conf = (priority: number) =>
      TEST_GLOBALS + instanceConf({
        priority,
        extra: `  auth_hmac {\n    key 1 hex:${KEY1_HEX}\n    active_key 1\n    mode enforce\n  }`,
      });
    const keyState = (r: Router) => files.path(`${r.ns.label}-auth-keys.json`);
    const start = (r: Router, i: number) =>
      startKad(r, files, conf([200, 150, 100][i]!), ["--key-state", keyState(r)], {
        TMPDIR: dirs[i]!,
      });
    // A first, so that B and C never pass through MASTER (and never sign anything).
    let ka = await start(a, 0);
    await waitFor(() => /Entering MASTER STATE/.test(ka.output), 10_000, { what: "A MASTER" });
    const [kb, kc] = await Promise.all([start(b, 1), start(c, 2)]);
    await settle([[ka, "MASTER"], [kb, "BACKUP"], [kc, "BACKUP"]], 1_000);
    const [sa, sb, sc] = rs.map((r) => controlSocket(r, files)) as [string, string, string];
    const states = () => [ka, kb, kc].map((p) => count(p, STATE_CHANGE));
    const before = states();
    const counters = async () => {
      const out: Array<Record<string, number | undefined>> = [];
      for (const [i, p] of [ka, kb, kc].entries()) {
        const s = await stats(p, dirs[i]!);
        out.push({
          became: s.get("Became master"),
          released: s.get("Released master"),
          ...Object.fromEntries(
            AUTH_ERRORS.map((k) => [k, s.get(`Authentication Extension Errors/${k}`)]),
          ),
        });
      }
      return out;
    };
    const counted = await counters();
    for (const x of counted) for (const k of AUTH_ERRORS) assertEquals(x[k], 0, k);
    assertEquals(await peerKey(sb, a.ip4), [1, "ok"]);

    // 1. Add key 2 everywhere: from a file on A and B, from standard input on C.
    for (const s of [sa, sb]) {
      const r = ok(await rk(s, ["add", "--id", "2", "--key-file", key2]), "add");
      assertEquals(r.json.changed, [{ instance: "VI_1", id: 2, action: "added" }]);
      assertEquals(r.json.warnings, []);
    }
    const viaStdin = ok(
      await rk(sc, ["add", "--id", "2", "--key-file", "-"], `hex:${KEY2_HEX}\n`),
      "add -",
    );
    // deno-lint-ignore no-explicit-any
    const ownFile = viaStdin.json.instances[0].keys.find((k: any) => k.id === 2).key_file;
    assertEquals(ownFile, `${keyState(c).replace(/\.json$/, "")}.d/VI_1.2.key`);
    assertEquals((await Deno.stat(ownFile)).mode! & 0o777, 0o600);

    // 2. Activate key 2 on the BACKUPs. Retiring key 1 there is refused: the MASTER still
    // signs with it — at once (exit 6), and after a short --wait (exit 7).
    for (const s of [sb, sc]) ok(await rk(s, ["activate", "--id", "2"]), "activate");
    const refused = await rk(sb, ["retire", "--id", "1"]);
    assertEquals(refused.code, 6, JSON.stringify(refused.json));
    assertEquals(refused.json.error.code, "in_use");
    assertEquals(
      // deno-lint-ignore no-explicit-any
      refused.json.error.users.map((u: any) => [u.address, u.key_id]),
      [[a.ip4, 1]],
    );
    const timedOut = await rk(sb, ["retire", "--id", "1", "--wait", "1"]);
    assertEquals(timedOut.code, 7, JSON.stringify(timedOut.json));
    assertEquals(timedOut.json.error.code, "timeout");
    assert(timedOut.json.waited_s >= 1, `waited ${timedOut.json.waited_s}`);
    // The active key cannot be retired at all (exit 1).
    const active = await rk(sb, ["retire", "--id", "2"]);
    assertEquals([active.code, active.json.error.code], [1, "refused"]);
    assertEquals(await peerKey(sb, a.ip4), [1, "ok"]);

    // 3. Activate key 2 on the MASTER: the BACKUPs see it sign with key 2 within an advert.
    ok(await rk(sa, ["activate", "--id", "2"]), "activate on the MASTER");
    for (const s of [sb, sc]) {
      await waitFor(async () => (await peerKey(s, a.ip4))[0] === 2, 3_000, {
        what: "the MASTER signing with key 2",
      });
      assertEquals(await peerKey(s, a.ip4), [2, "ok"]);
    }

    // 4. Retire key 1 everywhere, with --wait as a script would.
    for (const s of [sb, sc, sa]) {
      const r = ok(await rk(s, ["retire", "--id", "1", "--wait"]), "retire --wait");
      assertEquals(r.json.changed, [{ instance: "VI_1", id: 1, action: "retired" }]);
      const v = r.json.instances[0];
      assertEquals(v.active_key, 2);
      // deno-lint-ignore no-explicit-any
      assertEquals(v.keys.map((k: any) => [k.id, k.active, k.source]), [[2, true, "key-state"]]);
      assertEquals(v.retired, [1]);
    }
    await new Promise((r) => setTimeout(r, 1_000));
    assertEquals(states(), before, "a state changed during the rotation");
    assertEquals(await counters(), counted, "counters moved during the rotation");
    assertEquals(await peerKey(sc, a.ip4), [2, "ok"]);
    const saved = JSON.parse(await Deno.readTextFile(keyState(b)));
    assertEquals(saved.instances.VI_1, {
      added: [{ id: 2, key_file: key2, origin: "file" }],
      active_key: 2,
      retired: [1],
    });
    assert(!(await Deno.readTextFile(keyState(c))).includes(KEY2_HEX), "no key in the key state");

    // 5. SIGHUP every node: nothing restarts, key 1 does not come back.
    for (const p of [ka, kb, kc]) {
      const n = count(p, /kad run: reloaded/);
      p.signal("SIGHUP");
      await waitForNth(p, /kad run: reloaded/, n + 1, 5_000);
      assertStringIncludes(p.output, "restarted [], added [], removed [], authentication reset []");
      assertStringIncludes(p.output, "vrrp_instance VI_1: key 1 retired; added key 2");
    }
    for (const s of [sa, sb, sc]) {
      const v = ok(await rk(s, ["status"]), "status").json.instances[0];
      // deno-lint-ignore no-explicit-any
      assertEquals([v.active_key, v.keys.map((k: any) => k.id)], [2, [2]]);
    }
    await new Promise((r) => setTimeout(r, 1_000));
    assertEquals(states(), before, "a state changed at the reload");
    assertEquals(await counters(), counted, "counters moved at the reload");

    // 6. Restart the MASTER: it comes back with key 2 only, takes over again (it has the
    // highest priority), and the others accept its adverts.
    await ka.kill();
    await settle([[kb, "MASTER"], [kc, "BACKUP"]], 500);
    ka = await start(a, 0);
    await waitFor(() => /Entering MASTER STATE/.test(ka.output), 10_000, { what: "A MASTER" });
    assertStringIncludes(
      ka.output,
      `key state ${
        keyState(a)
      }: vrrp_instance VI_1: key 1 retired; added key 2 (file ${key2}); active key 2 (the configuration says 1)`,
    );
    await settle([[ka, "MASTER"], [kb, "BACKUP"], [kc, "BACKUP"]], 1_000);
    const restarted = ok(await rk(sa, ["status"]), "status").json.instances[0];
    assertEquals([restarted.active_key, restarted.keys.length, restarted.retired], [2, 1, [1]]);
    for (const s of [sb, sc]) assertEquals(await peerKey(s, a.ip4), [2, "ok"]);
    for (const [i, p] of [[1, kb], [2, kc]] as const) {
      const s = await stats(p, dirs[i]!);
      for (const k of AUTH_ERRORS) {
        assertEquals(s.get(`Authentication Extension Errors/${k}`), 0, `${k} on ${i}`);
      }
    }
  },
);
