/**
 * `kad run` and the auth_hmac key state file (docs/rotate-key.md), in a network namespace
 * (needs root): an unusable key state — corrupt, of another format version, larger than
 * allowed, naming a key file that is gone — stops `kad run` at start (exit status 4, the
 * file and the fix named) and is refused at reload while the daemon keeps running with its
 * keys; entries the configuration has caught up with are dropped from the file at reload.
 */
import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { Lab, waitFor } from "../harness/netns.ts";
import {
  count,
  Files,
  instanceConf,
  lan,
  NETNS_TEST,
  type Router,
  startKad,
  TEST_GLOBALS,
  waitForNth,
} from "./_vrrp_lab.ts";
import { KEY_STATE_MAX_BYTES } from "../../lib/config/key_state.ts";

const KEY1 = `hex:${"31".repeat(32)}`;

function conf(keys: string, active: number): string {
  return TEST_GLOBALS + instanceConf({
    priority: 150,
    extra: `  auth_hmac {\n${keys}    active_key ${active}\n  }`,
  });
}

Deno.test(
  "kad run: an unusable key state stops the start and is refused at reload; redundant entries are dropped",
  NETNS_TEST,
  async () => {
    await using lab = await Lab.create("keystate-run");
    await using files = await Files.create();
    const [a] = (await lan(lab, { routers: 1 })).routers as [Router];
    const state = files.path("auth-keys.json");
    const key2 = await files.write("key2", `hex:${"32".repeat(32)}\n`);
    await Deno.chmod(key2, 0o600);
    const base = conf(`    key 1 ${KEY1}\n`, 1);
    const run = (text: string) => startKad(a, files, text, ["--key-state", state]);
    const refusedAtStart = async (content: string, part: string) => {
      await Deno.writeTextFile(state, content);
      const p = await run(base);
      const s = await p.status;
      assertEquals(s.code, 4, p.output);
      assertStringIncludes(p.output, "kad run: not starting: ");
      assertStringIncludes(p.output, part);
      assert(!/Entering \w+ STATE/.test(p.output), "no instance may start");
    };
    await refusedAtStart(
      '{"kad_key_state":1,"instances":{',
      `key state file '${state}' is not valid JSON`,
    );
    await refusedAtStart('{"kad_key_state":2}', "is in format 2, which this kad does not read");
    await refusedAtStart(" ".repeat(KEY_STATE_MAX_BYTES + 1), "is too large");
    await refusedAtStart(
      JSON.stringify({
        kad_key_state: 1,
        instances: {
          VI_1: { added: [{ id: 2, key_file: files.path("gone"), origin: "file" }], active_key: 2 },
        },
      }),
      `vrrp_instance VI_1 auth_hmac key 2: key file '${
        files.path("gone")
      }' cannot be read (it does not exist); create it (mode 0600) with a 32 to 64 bytes key as text or hex:DIGITS, or fix the path (added with 'kad rotate-key add', recorded in key state ${state})`,
    );

    // A good key state: applied and logged at start.
    const good = {
      kad_key_state: 1,
      instances: {
        VI_1: { added: [{ id: 2, key_file: key2, origin: "file" }], active_key: 2, retired: [1] },
      },
    };
    await Deno.writeTextFile(state, JSON.stringify(good));
    const p = await run(base);
    await p.waitForOutput(/Entering MASTER STATE/, 10_000);
    const changes = count(p, /Entering \w+ STATE/);
    assertStringIncludes(
      p.output,
      `kad run: key state ${state}: vrrp_instance VI_1: key 1 retired; added key 2 (file ${key2}); active key 2 (the configuration says 1)`,
    );
    // A corrupt key state at reload: refused, the daemon keeps running with its keys.
    await Deno.writeTextFile(state, "{");
    const reloads = count(p, /SIGHUP received/);
    p.signal("SIGHUP");
    await waitForNth(
      p,
      /reload refused, keeping the running configuration: key state file/,
      1,
      5_000,
    );
    assertEquals(count(p, /SIGHUP received/), reloads + 1);
    assert(p.exitStatus === undefined, "the daemon must keep running");
    // The configuration catches up (key 2 from the same file, active 2, no key 1): the
    // key state's entries are dropped, the file rewritten, and nothing restarts.
    await Deno.writeTextFile(state, JSON.stringify(good));
    await files.write(`${a.ns.label}-kad.conf`, conf(`    key 2 file:${key2}\n`, 2));
    p.signal("SIGHUP");
    await waitForNth(p, /kad run: reloaded/, 1, 5_000);
    assertStringIncludes(p.output, "dropping added key 2 (file");
    assertStringIncludes(
      p.output,
      "dropping retired key 1: the configuration no longer defines key 1",
    );
    assertStringIncludes(
      p.output,
      "dropping active key 2: the configuration's active_key is 2 too",
    );
    assertStringIncludes(p.output, "1 instance(s) unchanged, restarted []");
    await waitFor(
      async () => JSON.parse(await Deno.readTextFile(state)).instances.VI_1 === undefined,
      2_000,
      { what: "the key state emptied" },
    );
    assertEquals(count(p, /Entering \w+ STATE/), changes, "no state change");
  },
);
