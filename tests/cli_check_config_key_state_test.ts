/**
 * `kad check-config` and the auth_hmac key state (docs/rotate-key.md): it says what the key
 * state changes in the configuration, what is redundant, what is not applied, and fails on
 * a key state kad run would refuse — never with a stack trace.
 */
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";

const KAD = new URL("../kad", import.meta.url).pathname;

async function kad(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await new Deno.Command(KAD, {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(30_000),
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

const CONF = `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    auth_hmac {
        key 1 ${"a".repeat(32)}
        key 3 ${"c".repeat(32)}
        active_key 1
    }
    virtual_ipaddress {
        192.0.2.100/24
    }
}
`;

Deno.test("check-config: the key state is reported over the configuration", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kad-cc-ks-" });
  try {
    const conf = `${dir}/keepalived.conf`;
    const state = `${dir}/auth-keys.json`;
    Deno.writeTextFileSync(conf, CONF);
    const base = ["-f", conf, "check-config", "--no-host-checks"];
    // No key state file: nothing to say, status 0.
    let r = await kad([...base, "--key-state", state]);
    assertEquals([r.code, r.stderr], [0, ""]);
    Deno.writeTextFileSync(
      state,
      JSON.stringify({
        kad_key_state: 1,
        instances: {
          VI_1: {
            added: [{ id: 2, key_file: "/etc/kad/k2", origin: "file" }],
            active_key: 2,
            retired: [1, 5],
          },
          GONE: { retired: [4] },
        },
      }),
    );
    r = await kad([...base, "--key-state", state, "--json"]);
    // Notices do not change the verdict.
    assertEquals(r.code, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout);
    const messages = report.diagnostics.map((d: { severity: string; message: string }) =>
      `${d.severity}: ${d.message}`
    );
    assertEquals(messages, [
      `info: vrrp_instance VI_1: key 1 retired; added key 2 (file /etc/kad/k2); active key 2 (the configuration says 1) (key state ${state} overrides this block)`,
      `info: vrrp_instance VI_1: key state ${state}: retired key 5 is redundant (the configuration no longer defines key 5); kad run drops it at the next start or reload`,
      `info: key state ${state} has entries for vrrp_instance GONE, not applied: the configuration has no such vrrp_instance`,
    ]);
    // At the auth_hmac block.
    assertEquals(report.diagnostics[0].line, 4);
    // --no-key-state: the configuration alone; check-config never writes the key state.
    const before = Deno.readTextFileSync(state);
    r = await kad([...base, "--no-key-state"]);
    assertEquals([r.code, r.stderr], [0, ""]);
    assertEquals(Deno.readTextFileSync(state), before);
    // A key state kad run would refuse: an error naming the file and the fix.
    Deno.writeTextFileSync(state, '{"kad_key_state":7}');
    r = await kad([...base, "--key-state", state]);
    assertEquals(r.code, 5);
    assertStringIncludes(r.stderr, `error: key state file '${state}' is in format 7`);
    assertStringIncludes(r.stderr, "kad run would refuse to start");
    Deno.writeTextFileSync(
      state,
      '{"kad_key_state":1,"instances":{"VI_1":{"active_key":9}}}',
    );
    r = await kad([...base, "--key-state", state]);
    assertEquals(r.code, 5);
    assertStringIncludes(
      r.stderr,
      "makes key 9 active, but the instance has no key 9 (keys: 1, 3)",
    );
    assert(!/^\s+at /m.test(r.stderr), r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
