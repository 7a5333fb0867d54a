import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { loadConfigText } from "../../lib/config/load.ts";
import type { KadConfig } from "../../lib/config/schema/root.ts";
import { describeApplied, overlayKeyState, pruneKeyState } from "../../lib/config/key_overlay.ts";
import {
  EMPTY_KEY_STATE,
  type KeyState,
  parseKeyState,
  recordActivate,
  recordAdd,
  recordRetire,
} from "../../lib/config/key_state.ts";

const STATE = "/var/lib/kad/auth-keys.json";
const K1 = "a".repeat(32);
const K3 = "c".repeat(40);

function config(auth: Record<string, string>): KadConfig {
  let text = "";
  let vrid = 1;
  for (const [name, body] of Object.entries(auth)) {
    text += `vrrp_instance ${name} {
  interface eth0
  virtual_router_id ${vrid++}
${body}
  virtual_ipaddress {
    10.0.0.${vrid}/24
  }
}
`;
  }
  const r = loadConfigText(text, "/etc/keepalived/keepalived.conf", { configId: "x" });
  const errors = r.sink.items.filter((d) => d.severity === "error");
  assertEquals(errors.map((d) => d.message), []);
  return r.config;
}

function hmac(keys: string, active: number): string {
  return `  auth_hmac {\n${keys}    active_key ${active}\n  }`;
}

function auth(config: KadConfig, name: string) {
  const h = config.vrrp_instance.find((i) => i.header === name)?.auth_hmac;
  assert(h !== undefined, `${name} has no auth_hmac`);
  return h;
}

const ONE = hmac(`    key 1 ${K1}\n`, 1);

function rotated(): KeyState {
  let s = recordAdd(EMPTY_KEY_STATE, "VI_1", { id: 2, keyFile: "/etc/kad/k2", origin: "file" });
  s = recordActivate(s, "VI_1", 2);
  return recordRetire(s, "VI_1", 1, true);
}

Deno.test("overlay: an empty key state leaves the configuration as it is", () => {
  const cfg = config({ VI_1: ONE, VI_2: "" });
  const o = overlayKeyState(cfg, EMPTY_KEY_STATE, STATE);
  assertEquals(o.problems, []);
  assertEquals(o.applied, []);
  assertEquals(o.dropped, []);
  assertEquals(auth(o.config, "VI_1"), auth(cfg, "VI_1"));
  assertEquals([...o.origins.keys()], ["VI_1"]);
  assertEquals(o.origins.get("VI_1")?.get(1), { from: "config" });
});

Deno.test("overlay: added keys join, retired ones leave, the key state's active key signs", () => {
  const cfg = config({ VI_1: ONE, VI_2: ONE });
  const before = JSON.stringify(cfg);
  const o = overlayKeyState(cfg, rotated(), STATE);
  assertEquals(o.problems, []);
  const h = auth(o.config, "VI_1");
  assertEquals(h.key, [{ id: 2, source: "file", value: "/etc/kad/k2" }]);
  assertEquals(h.active_key, 2);
  // Everything else of the block, and other instances, are untouched.
  assertEquals(h.mode, "enforce");
  assertEquals(auth(o.config, "VI_2"), auth(cfg, "VI_2"));
  // The input configuration is not modified.
  assertEquals(JSON.stringify(cfg), before);
  assertEquals(o.applied.length, 1);
  assertEquals(
    describeApplied(o.applied[0]!),
    "vrrp_instance VI_1: key 1 retired; added key 2 (file /etc/kad/k2); active key 2 (the configuration says 1)",
  );
  assertEquals(o.origins.get("VI_1")?.get(2)?.from, "key-state");
  assertEquals(o.origins.get("VI_1")?.has(1), false);
  // Nothing is redundant yet: the state stays as it was.
  assertEquals(o.state, rotated());
  assertEquals(o.dropped, []);
});

Deno.test("overlay: a retired key does not come back while the configuration still has it", () => {
  // The configuration still lists key 1 (nobody edited it): retired wins.
  const cfg = config({ VI_1: hmac(`    key 1 ${K1}\n    key 3 ${K3}\n`, 1) });
  let s = recordActivate(EMPTY_KEY_STATE, "VI_1", 3);
  s = recordRetire(s, "VI_1", 1, true);
  const o = overlayKeyState(cfg, s, STATE);
  assertEquals(o.problems, []);
  assertEquals(auth(o.config, "VI_1").key.map((k) => k.id), [3]);
  assertEquals(auth(o.config, "VI_1").active_key, 3);
});

Deno.test("overlay: entries the configuration caught up with are dropped, and why", () => {
  // The operator edited keepalived.conf to match: key 2 from the same file, active 2, no key 1.
  const cfg = config({ VI_1: hmac("    key 2 file:/etc/kad/k2\n", 2) });
  const o = overlayKeyState(cfg, rotated(), STATE);
  assertEquals(o.problems, []);
  assertEquals(o.state, EMPTY_KEY_STATE);
  assertEquals(o.applied, []);
  assertEquals(o.dropped.map((d) => `${d.what}: ${d.why}`), [
    "added key 2 (file /etc/kad/k2): the configuration now defines key 2 from the same file",
    "retired key 1: the configuration no longer defines key 1",
    "active key 2: the configuration's active_key is 2 too",
  ]);
  assertEquals(o.dropped[0]?.key?.keyFile, "/etc/kad/k2");
  assertEquals(auth(o.config, "VI_1"), auth(cfg, "VI_1"));
  assertEquals(o.origins.get("VI_1")?.get(2), { from: "config" });
});

Deno.test("overlay: the configuration wins for a key id it defines itself", () => {
  const cfg = config({ VI_1: hmac(`    key 1 ${K1}\n    key 2 ${K3}\n`, 1) });
  const s = recordAdd(EMPTY_KEY_STATE, "VI_1", {
    id: 2,
    keyFile: "/var/lib/kad/auth-keys.d/VI_1.2.key",
    origin: "stdin",
  });
  const o = overlayKeyState(cfg, s, STATE);
  assertEquals(o.dropped.map((d) => d.why), [
    "the configuration now defines key 2, and its key is used",
  ]);
  assertEquals(o.dropped[0]?.key?.origin, "stdin");
  assertEquals(auth(o.config, "VI_1").key, auth(cfg, "VI_1").key);
});

Deno.test("overlay: a later configuration edit of active_key does not beat the key state", () => {
  // The key state made 2 active; the configuration now says 3: the key state's choice
  // stands (and is reported), until the configuration says 2 or the entry is removed.
  const cfg = config({
    VI_1: hmac(`    key 1 ${K1}\n    key 3 ${K3}\n`, 3),
  });
  const s = recordActivate(
    recordAdd(EMPTY_KEY_STATE, "VI_1", { id: 2, keyFile: "/etc/kad/k2", origin: "file" }),
    "VI_1",
    2,
  );
  const o = overlayKeyState(cfg, s, STATE);
  assertEquals(auth(o.config, "VI_1").active_key, 2);
  assertStringIncludes(describeApplied(o.applied[0]!), "active key 2 (the configuration says 3)");
});

Deno.test("overlay: an active key the instance does not have is a problem naming the fix", () => {
  // Key 2 was added by hand to keepalived.conf and activated, then removed from it.
  const cfg = config({ VI_1: ONE });
  const s = parseKeyState(
    '{"kad_key_state":1,"instances":{"VI_1":{"active_key":2}}}',
    STATE,
  );
  const o = overlayKeyState(cfg, s, STATE);
  assertEquals(o.problems.length, 1);
  assertStringIncludes(
    o.problems[0]!,
    `vrrp_instance VI_1: key state '${STATE}' makes key 2 active`,
  );
  assertStringIncludes(o.problems[0]!, "the instance has no key 2 (keys: 1)");
  assertStringIncludes(o.problems[0]!, "'kad rotate-key add'");
  // The configuration's active key retired without another one active.
  const cfg2 = config({ VI_1: hmac(`    key 1 ${K1}\n    key 3 ${K3}\n`, 1) });
  const s2 = parseKeyState('{"kad_key_state":1,"instances":{"VI_1":{"retired":[1]}}}', STATE);
  const o2 = overlayKeyState(cfg2, s2, STATE);
  assertEquals(o2.problems.length, 1);
  assertStringIncludes(o2.problems[0]!, "retires key 1, the configuration's active_key");
  assertStringIncludes(o2.problems[0]!, "set active_key to one of the keys (3)");
});

Deno.test("overlay: entries of instances without auth_hmac are kept and not applied", () => {
  const cfg = config({ VI_1: ONE, VI_2: "" });
  let s = rotated();
  s = recordActivate(s, "VI_2", 4);
  s = recordActivate(s, "GONE", 4);
  const o = overlayKeyState(cfg, s, STATE);
  assertEquals(o.problems, []);
  assertEquals(o.unapplied, [
    { instance: "GONE", why: "the configuration has no such vrrp_instance" },
    { instance: "VI_2", why: "the configuration gives it no usable auth_hmac block" },
  ]);
  assertEquals(o.state.instances.get("GONE")?.activeKey, 4);
  assertEquals(pruneKeyState(s, cfg).state.instances.has("VI_2"), true);
});
