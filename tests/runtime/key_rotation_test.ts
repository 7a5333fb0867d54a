/**
 * The daemon's side of `kad rotate-key` (lib/runtime/key_rotation.ts) on two real
 * Instances on a fake clock, the MASTER's adverts delivered to the BACKUP: a whole
 * make-before-break rotation changes the key rings in place — no FSM event, no
 * notification, no address change — the key state file records it, a reload of the same
 * configuration gives the same keys, and refusals change nothing.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../_assert.ts";
import { CommandError } from "../../lib/control/commands.ts";
import { overlayKeyState } from "../../lib/config/key_overlay.ts";
import { type KeyState, serializeKeyState } from "../../lib/config/key_state.ts";
import { loadConfigText } from "../../lib/config/load.ts";
import type { KadConfig } from "../../lib/config/schema/root.ts";
import { resolveHmacKeys } from "../../lib/config/hmac_keys.ts";
import { denoFs } from "../../lib/config/source.ts";
import { KeyRotation, type RotationEngine } from "../../lib/runtime/key_rotation.ts";
import { daemonCommands } from "../../lib/runtime/daemon_commands.ts";
import { readKeyState } from "../../lib/runtime/key_state_file.ts";
import type { Logger } from "../../lib/runtime/log.ts";
import type { AuthHmacSettings } from "../../lib/vrrp/auth_hmac.ts";
import {
  Instance,
  type InstanceIo,
  instanceSpec,
  type OutgoingAdvert,
} from "../../lib/vrrp/instance.ts";

const S = 1_000_000;
const EPOCH_US = 1_744_830_464_000_000;
const KEY1 = "1".repeat(32);
const KEY3 = "3".repeat(40);

/** One clock and a wire between the nodes. */
class Net {
  now = 0;
  #timers: Array<{ at: number; seq: number; fire: () => void; live: boolean }> = [];
  #seq = 0;
  nodes: Node[] = [];

  timer(at: number, fire: () => void) {
    const t = { at, seq: this.#seq++, fire, live: true };
    this.#timers.push(t);
    return { cancel: () => (t.live = false) };
  }

  run(us: number): void {
    const to = this.now + us;
    for (;;) {
      const due = this.#timers.filter((t) => t.live && t.at <= to);
      if (due.length === 0) break;
      due.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const t = due[0]!;
      t.live = false;
      this.now = Math.max(this.now, t.at);
      t.fire();
    }
    this.now = to;
    this.#timers = this.#timers.filter((t) => t.live);
  }

  deliver(from: Node, a: OutgoingAdvert): void {
    for (const n of this.nodes) {
      if (n === from) continue;
      for (const inst of n.instances) {
        if (inst.spec.vrid !== from.instances.find((i) => i.name === inst.name)?.spec.vrid) {
          continue;
        }
        inst.receive({ family: 4, datagram: a.data.slice() }, (EPOCH_US + this.now) / 1000);
      }
    }
  }
}

/** One kad node: its instances, what they did, and the engine view KeyRotation uses. */
class Node implements RotationEngine {
  instances: Instance[] = [];
  /** Everything the instances did besides sending adverts. */
  events: string[] = [];
  sent = 0;
  logs: string[] = [];
  readonly log: Logger = {
    detail: () => {},
    info: (m) => this.logs.push(m),
    warn: (m) => this.logs.push(m),
    error: (m) => this.logs.push(m),
  };

  constructor(readonly net: Net, readonly name: string, readonly address: string) {
    net.nodes.push(this);
  }

  start(config: KadConfig): void {
    const keys = resolveHmacKeys(config, denoFs).keys;
    for (const c of config.vrrp_instance) {
      const me: { i?: Instance } = {};
      const io: InstanceIo = {
        nowUs: () => this.net.now,
        realtimeUs: () => EPOCH_US + this.net.now,
        setTimer: (at, fire) => this.net.timer(at, fire),
        send: (a) => {
          this.sent++;
          this.net.deliver(this, a);
        },
        addAddresses: () => this.events.push(`${c.header} add addresses`),
        removeAddresses: () => this.events.push(`${c.header} remove addresses`),
        announce: () => this.events.push(`${c.header} announce`),
        announceSource: () => {},
        notify: (state) => this.events.push(`${c.header} notify ${state}`),
        log: (level, m) => {
          if (level !== "detail") this.events.push(`${c.header} log ${m}`);
        },
      };
      const inst = new Instance(instanceSpec(c, config), io, { hmacKeys: keys.get(c.header) });
      me.i = inst;
      this.instances.push(inst);
      inst.start({ uptimeUs: 600 * S, interfaceUp: true, sourceAddress: this.address });
    }
  }

  instance(name: string): Instance | undefined {
    return this.instances.find((i) => i.name === name);
  }

  keysRotated(name: string, settings: AuthHmacSettings): void {
    this.instance(name)!.keysRotated(settings);
  }

  nowUs(): number {
    return this.net.now;
  }
}

function config(priority: number, names = ["VI_1"]): KadConfig {
  const text = names.map((n, i) =>
    `vrrp_instance ${n} {
  interface eth0
  virtual_router_id ${51 + i}
  priority ${priority}
  advert_int 1
  auth_hmac {
    key 1 ${KEY1}
    key 3 ${KEY3}
    active_key 1
  }
  virtual_ipaddress {
    192.0.2.${100 + i}/24
  }
}
`
  ).join("");
  const r = loadConfigText(text, "/etc/keepalived/keepalived.conf", { configId: "x" });
  assertEquals(r.sink.items.filter((d) => d.severity === "error").map((d) => d.message), []);
  return r.config;
}

interface Lab {
  dir: string;
  net: Net;
  master: Node;
  backup: Node;
  rotM: KeyRotation;
  rotB: KeyRotation;
  key2: string;
  baseB: KadConfig;
}

async function lab(names = ["VI_1"], fn: (l: Lab) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kad-rotation-" });
  try {
    const net = new Net();
    const master = new Node(net, "A", "192.0.2.1");
    const backup = new Node(net, "B", "192.0.2.2");
    const baseM = config(200, names);
    const baseB = config(100, names);
    master.start(baseM);
    backup.start(baseB);
    const rot = (n: Node, base: KadConfig) => {
      const r = new KeyRotation({
        statePath: `${dir}/${n.name}/auth-keys.json`,
        log: n.log,
        engine: () => n,
      });
      r.loaded(base, overlayKeyState(base, { instances: new Map() }, r.statePath));
      return r;
    };
    const key2 = `${dir}/key2`;
    Deno.writeTextFileSync(key2, `hex:${"22".repeat(32)}\n`, { mode: 0o600 });
    Deno.chmodSync(key2, 0o600);
    const l = {
      dir,
      net,
      master,
      backup,
      rotM: rot(master, baseM),
      rotB: rot(backup, baseB),
      key2,
      baseB,
    };
    // Past the start-up and the MASTER's delayed gratuitous ARPs (garp_master_delay 5 s).
    net.run(15 * S);
    assertEquals(master.instances.map((i) => i.state), names.map(() => "MASTER"));
    assertEquals(backup.instances.map((i) => i.state), names.map(() => "BACKUP"));
    await fn(l);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function refusal(fn: () => unknown): CommandError {
  return assertThrows(fn, CommandError) as CommandError;
}

/** What must not change over a rotation: states, counters but the advert ones, side effects. */
function fingerprint(n: Node) {
  return n.instances.map((i) => ({
    state: i.state,
    become_master: i.counters.become_master,
    release_master: i.counters.release_master,
    auth_errors: [
      i.counters.auth_ext_missing,
      i.counters.auth_ext_unknown_key,
      i.counters.auth_ext_invalid_hmac,
      i.counters.auth_ext_replay,
      i.counters.auth_ext_stale,
    ],
    events: n.events.length,
  }));
}

Deno.test("key rotation: add, activate, retire in place — no FSM event, the peer follows", () =>
  lab(["VI_1"], (l) => {
    const { net, master, backup, rotM, rotB } = l;
    const before = [fingerprint(master), fingerprint(backup)];
    // 1. add key 2 on both (verify-only).
    for (const r of [rotM, rotB]) {
      const res = r.add({}, 2, { file: l.key2 });
      assertEquals(res.changed, [{ instance: "VI_1", id: 2, action: "added" }]);
      assertEquals(res.warnings, []);
      assertEquals(res.instances[0]!.keys.map((k) => [k.id, k.active, k.source]), [
        [1, true, "config"],
        [2, false, "key-state"],
        [3, false, "config"],
      ]);
    }
    net.run(3 * S);
    assertEquals(rotB.status({})[0]!.peers.map((p) => [p.address, p.key_id]), [["192.0.2.1", 1]]);
    // 2. activate key 2, the BACKUP first. Its adverts would be signed with 2 (it sends
    // none as BACKUP); retiring key 1 there is refused: the MASTER still signs with it.
    rotB.activate({}, 2);
    const busy = refusal(() => rotB.retire({ instance: "VI_1" }, 1));
    assertEquals(busy.code, "refused");
    assertEquals(busy.details?.["reason"], "in_use");
    assertEquals(busy.details?.["window_s"], 5);
    assertEquals(
      (busy.details?.["users"] as Array<{ address: string }>).map((u) => u.address),
      ["192.0.2.1"],
    );
    assertStringIncludes(busy.message, "key 1 is still in use: 192.0.2.1 signed with it");
    // The active key cannot be retired either.
    assertEquals(refusal(() => rotM.retire({}, 1)).details?.["reason"], "active_key");
    // Then the MASTER: its next advert is signed with key 2, and accepted.
    const sentBefore = master.sent;
    rotM.activate({}, 2);
    net.run(1 * S + 1);
    assert(master.sent > sentBefore);
    assertEquals(rotB.status({})[0]!.peers[0]!.key_id, 2);
    assertEquals(rotB.status({})[0]!.peers[0]!.last_outcome, "ok");
    // 3. retire key 1: the MASTER's last advert carried key 2, so nothing holds it back.
    for (const r of [rotB, rotM]) {
      assertEquals(r.retire({}, 1).changed, [{ instance: "VI_1", id: 1, action: "retired" }]);
    }
    net.run(5 * S);
    // Nothing happened to the instances but their keys.
    assertEquals([fingerprint(master), fingerprint(backup)], before);
    for (const n of [master, backup]) {
      const i = n.instances[0]!;
      assertEquals(i.authHmac!.ring.snapshot(), { activeKey: 2, keyIds: [2, 3] });
      assertEquals(i.spec.authHmac?.keyIds, [3, 2]);
      assertEquals(i.spec.authHmac?.activeKey, 2);
    }
    assertEquals(rotB.status({})[0]!.peers[0]!.key_id, 2);
    assert(master.logs.some((m) => m.includes("(VI_1) key 1 retired and wiped")));
    // The key state file says so.
    const state = readKeyState(rotB.statePath);
    assertEquals(state.instances.get("VI_1"), {
      added: [{ id: 2, keyFile: l.key2, origin: "file" }],
      activeKey: 2,
      retired: [1],
    });
    assertEquals(Deno.statSync(rotB.statePath).mode! & 0o777, 0o600);
    // A reload of the same configuration gives exactly these keys: the engine keeps the
    // instance as it is (Instance.authHmacUnchanged), replay state included.
    const o = overlayKeyState(l.baseB, state, rotB.statePath);
    const keys = resolveHmacKeys(o.config, denoFs).keys.get("VI_1");
    const next = instanceSpec(o.config.vrrp_instance[0]!, o.config);
    assert(backup.instances[0]!.authHmacUnchanged(next, keys));
  }));

Deno.test("key rotation: refusals change nothing; --all is all or nothing", () =>
  lab(["VI_1", "VI_2"], (l) => {
    const { rotM, master } = l;
    const file = rotM.statePath;
    // Two instances: one must be named.
    const which = refusal(() => rotM.add({}, 2, { file: l.key2 }));
    assertEquals([which.code, which.details?.["reason"]], [
      "invalid_argument",
      "instance_required",
    ]);
    assertStringIncludes(which.message, "2 instances use auth_hmac (VI_1, VI_2)");
    assertEquals(refusal(() => rotM.activate({ instance: "VI_9" }, 1)).code, "not_found");
    // Key 2 only on VI_1: activating it everywhere is refused, and nothing changes anywhere.
    rotM.add({ instance: "VI_1" }, 2, { file: l.key2 });
    const saved = Deno.readTextFileSync(file);
    const missing = refusal(() => rotM.activate({ all: true }, 2));
    assertEquals(missing.details?.["reason"], "no_such_key");
    assertStringIncludes(missing.message, "VI_2 has no key 2 (keys: 1, 3); add it first");
    assertEquals(master.instances.map((i) => i.authHmac!.ring.activeKey), [1, 1]);
    assertEquals(Deno.readTextFileSync(file), saved);
    // An id in use, a configuration id retired by the key state, an unusable file.
    assertEquals(
      refusal(() => rotM.add({ instance: "VI_1" }, 3, { file: l.key2 })).details?.["reason"],
      "id_in_use",
    );
    Deno.writeTextFileSync(`${l.dir}/short`, "too short");
    const short = refusal(() => rotM.add({ instance: "VI_2" }, 4, { file: `${l.dir}/short` }));
    assertEquals(short.details?.["reason"], "key_file");
    assertStringIncludes(short.message, `key file '${l.dir}/short' gives a 9-byte key`);
    assert(!short.message.includes("too short"), "never the key");
    rotM.retire({ instance: "VI_2" }, 3);
    assertEquals(
      refusal(() => rotM.add({ instance: "VI_2" }, 3, { file: l.key2 })).details?.["reason"],
      "id_in_config",
    );
    // The key state cannot be written: refused, and the ring is as it was.
    const savedNow = Deno.readTextFileSync(file);
    Deno.removeSync(file);
    Deno.mkdirSync(`${file}`);
    const stuck = refusal(() => rotM.activate({ instance: "VI_1" }, 2));
    assertEquals(stuck.details?.["reason"], "state_write");
    assertStringIncludes(stuck.message, "nothing was changed");
    assertEquals(master.instances[0]!.authHmac!.ring.activeKey, 1);
    Deno.removeSync(file);
    Deno.writeTextFileSync(file, savedNow);
  }));

Deno.test("key rotation: a key from standard input is kept in kad's own key file until retired", () =>
  lab(["VI_1"], (l) => {
    const { rotM, master } = l;
    const res = rotM.add({}, 9, { hex: "ab".repeat(48) });
    const file = res.instances[0]!.keys.find((k) => k.id === 9)!.key_file!;
    assertEquals(file, `${l.dir}/A/auth-keys.d/VI_1.9.key`);
    assertEquals(Deno.readTextFileSync(file), `hex:${"ab".repeat(48)}\n`);
    assertEquals(Deno.statSync(file).mode! & 0o777, 0o600);
    const state: KeyState = readKeyState(rotM.statePath);
    assertEquals(state.instances.get("VI_1")?.added, [{ id: 9, keyFile: file, origin: "stdin" }]);
    // The key state names the file, never the key.
    assert(!serializeKeyState(state).includes("abab"));
    assert(!Deno.readTextFileSync(rotM.statePath).includes("abab"));
    // A reload reads the same key from that file.
    const o = overlayKeyState(config(200), state, rotM.statePath);
    const keys = resolveHmacKeys(o.config, denoFs).keys.get("VI_1")!;
    assertEquals(keys.get(9), new Uint8Array(48).fill(0xab));
    // Bad hex and bad lengths are refused before anything is written.
    assertEquals(refusal(() => rotM.add({}, 10, { hex: "abc" })).code, "invalid_argument");
    assertEquals(
      refusal(() => rotM.add({}, 10, { hex: "ab".repeat(31) })).details?.["reason"],
      "key_length",
    );
    assertThrows(() => Deno.statSync(`${l.dir}/A/auth-keys.d/VI_1.10.key`), Deno.errors.NotFound);
    rotM.retire({}, 9);
    assertThrows(() => Deno.statSync(file), Deno.errors.NotFound);
    assertEquals(readKeyState(rotM.statePath).instances.size, 0);
    assertEquals(master.instances[0]!.authHmac!.ring.keyIds(), [1, 3]);
  }));

Deno.test("key rotation: the control commands reach it through the daemon's command table", () =>
  lab(["VI_1"], async (l) => {
    const table = daemonCommands({
      pid: 1,
      version: "0",
      dumpInput: () => {
        throw new Error("not used");
      },
      rotation: l.rotM,
    });
    const ask = async (cmd: string, args: Record<string, unknown>) =>
      await table.dispatch({ v: 1, id: 1, cmd, args });
    const status = await ask("key-status", {});
    assert(status.ok);
    assertEquals((status.result["instances"] as Array<{ active_key: number }>)[0]!.active_key, 1);
    const added = await ask("key-add", { key_id: 2, key_file: l.key2 });
    assert(added.ok, JSON.stringify(added));
    assertEquals(added.result["changed"], [{ instance: "VI_1", id: 2, action: "added" }]);
    assert((await ask("key-activate", { instance: "VI_1", key_id: 2 })).ok);
    const refusedRetire = await ask("key-retire", { all: true, key_id: 2 });
    assert(!refusedRetire.ok);
    assertEquals(refusedRetire.error.code, "refused");
    assertEquals(refusedRetire.error.details?.["reason"], "active_key");
    // Argument problems are the protocol's invalid_argument.
    for (
      const args of [
        {},
        { key_id: 0 },
        { key_id: 3, key_file: l.key2, key_hex: "00" },
        { key_id: 3 },
        { key_id: 4, key_file: "relative" },
      ]
    ) {
      const r = await ask("key-add", args);
      assert(!r.ok);
      assertEquals(r.error.code, "invalid_argument", JSON.stringify(args));
    }
    const help = await ask("help", {});
    assert(help.ok);
    const names = (help.result["commands"] as Array<{ name: string }>).map((c) => c.name);
    for (const n of ["key-status", "key-add", "key-activate", "key-retire"]) {
      assert(names.includes(n), n);
    }
  }));

Deno.test("Instance.keysRotated: refuses settings that do not describe its ring", () =>
  lab(["VI_1"], (l) => {
    const inst = l.master.instances[0]!;
    const cur = inst.spec.authHmac!;
    const wrong: Array<[AuthHmacSettings, string]> = [
      [{ ...cur, keyIds: [1, 2, 3] }, "does not match"],
      [{ ...cur, activeKey: 3 }, "does not match"],
      [{ ...cur, mode: "permissive" }, "cannot change the auth_hmac settings"],
      [{ ...cur, timeWindowS: 9 }, "cannot change the auth_hmac settings"],
    ];
    for (const [s, part] of wrong) {
      const e = assertThrows(() => inst.keysRotated(s), Error);
      assertStringIncludes(e.message, part);
    }
    assertEquals(inst.spec.authHmac, cur);
    // The same ids in another order are the ring's: accepted, recorded as given.
    inst.keysRotated({ ...cur, keyIds: [3, 1] });
    assertEquals(inst.spec.authHmac?.keyIds, [3, 1]);
  }));
