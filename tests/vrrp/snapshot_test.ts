/**
 * The live-state snapshot (lib/vrrp/snapshot.ts) of instances running on a fake clock and
 * network: every document is checked against docs/dump-schema.json itself (with a
 * validator that fails on keywords it does not implement), and its values against what the
 * instances did — states and keepalived's codes, the master seen by each side, timers
 * relative to the dump's moment, wall-clock transition times, trackers, counters, the
 * auth member, the instance filter, and what `--watch` counts as a change.
 */
import { assert, assertEquals, assertMatch, assertNotEquals, assertThrows } from "../_assert.ts";
import { dumpSchema, validate } from "../_json_schema.ts";
import {
  changeKey,
  dumpDocument,
  type InstanceSource,
  statsDocument,
  UnknownInstanceError,
} from "../../lib/vrrp/snapshot.ts";
import { Lab, pairConfig, S, WALL_ZERO_MS } from "./_sources.ts";

function running(extra = "", version: 2 | 3 = 3): Lab {
  const lab = new Lab(pairConfig(extra, version));
  lab.start("HI", "192.0.2.11");
  lab.start("LO", "192.0.2.12");
  lab.advance(5 * S);
  return lab;
}

function valid(doc: unknown): void {
  assertEquals(validate(dumpSchema(), doc), []);
}

Deno.test("the state document of a MASTER and a BACKUP validates against docs/dump-schema.json", () => {
  const lab = running();
  const doc = dumpDocument(lab.input());
  valid(doc);
  assertEquals(Object.keys(doc.instances), ["HI", "LO"]);
  assertEquals([doc.format, doc.version, doc.kind], ["kad-dump", 1, "state"]);
  assertEquals(doc.generated_at, new Date(WALL_ZERO_MS + 5_000).toISOString());
  assertEquals(doc.daemon.uptime_ms, 5_000);
  assertEquals(doc.engine.loop.max_lateness_ms, 0.457);
});

Deno.test("states carry keepalived's codes and each side names the same master", () => {
  const doc = dumpDocument(running().input());
  const hi = doc.instances["HI"]!;
  const lo = doc.instances["LO"]!;
  assertEquals([hi.state, hi.state_code, hi.wantstate, hi.wantstate_code], [
    "MASTER",
    2,
    "MASTER",
    2,
  ]);
  assertEquals([lo.state, lo.state_code, lo.wantstate, lo.wantstate_code], [
    "BACKUP",
    1,
    "BACKUP",
    1,
  ]);
  assertEquals(hi.master, { address: "192.0.2.11", priority: 200, self: true });
  assertEquals(lo.master, { address: "192.0.2.11", priority: 200, self: false });
  assertEquals(hi.priority, { base: 200, effective: 200, total: 200 });
  assertEquals([hi.advert_interval_ms, lo.master_advert_interval_ms], [500, 500]);
  assertEquals(hi.transport, { mode: "multicast", group: "224.0.0.18", peers: [] });
});

Deno.test("timers are relative to the dump's moment and the transition is a wall-clock time", () => {
  const lab = running();
  const hi = lab.instances[0]!;
  const input = lab.input();
  const doc = dumpDocument(input);
  const d = doc.instances["HI"]!;
  const advertAt = hi.fsm.timers.advert;
  assert(advertAt !== undefined, "a MASTER has its advert timer armed");
  assertEquals(d.timers.armed.advert, (advertAt - lab.now) / 1000);
  assertEquals(d.timers.next, { timer: "advert", in_ms: (advertAt - lab.now) / 1000 });
  // VRRPv3 at 0.5 s, priority 100: 3 × 500 ms + (256 − 100) × 50 cs × 625 / 16 µs.
  assertEquals(doc.instances["LO"]!.timers.master_down_interval_ms, 1500 + 304.687);
  const t = hi.lastTransitionUs!;
  assertEquals(d.last_transition, new Date(WALL_ZERO_MS + t / 1000).toISOString());
  assertEquals(d.last_transition_age_ms, (lab.now - t) / 1000);
});

Deno.test("addresses: the MASTER's are installed and present, the BACKUP's are not", () => {
  const doc = dumpDocument(running().input());
  const hi = doc.instances["HI"]!.addresses;
  const lo = doc.instances["LO"]!.addresses;
  assertEquals(hi.installed, true);
  assertEquals(
    hi.vips.map((a) => [a.text, a.dev, a.present]),
    [["192.0.2.100/24", "eth0", true], ["192.0.2.101", "eth0", true]],
  );
  assertEquals(hi.evips.map((a) => [a.address, a.prefix, a.dev]), [["198.51.100.1", 32, "eth2"]]);
  assertEquals(lo.installed, false);
  assert(lo.vips.every((a) => !a.present));
});

Deno.test("counters and the auth member follow what the instances did", () => {
  const lab = running(
    `  authentication {
    auth_type PASS
    auth_pass s3cr3tpw
  }`,
    2,
  );
  const doc = dumpDocument(lab.input());
  const hi = doc.instances["HI"]!;
  const lo = doc.instances["LO"]!;
  assertEquals(hi.counters.become_master, 1);
  assertEquals(hi.counters.advert_sent, lab.instances[0]!.counters.advert_sent);
  assertEquals(lo.counters.advert_rcvd, hi.counters.advert_sent);
  assertEquals(hi.auth.type, "pass");
  assertEquals(Object.keys(hi.auth.outcomes).length, 9);
  assertEquals(hi.auth.outcomes.auth_failure, 0);
  assert(!JSON.stringify(doc).includes("s3cr3tpw"), "the password must not be in the dump");
  valid(doc);
});

Deno.test("trackers show their status and what they do to the priority", () => {
  const lab = new Lab(`vrrp_script chk {
  script "/bin/true"
  weight -30
}
track_file tf {
  file /tmp/x
  weight 2
}
vrrp_instance VI {
  interface eth0
  virtual_router_id 9
  priority 100
  track_interface {
    eth3 weight 20
  }
  track_script {
    chk
  }
  track_file {
    tf
  }
  virtual_ipaddress {
    192.0.2.50
  }
}
`);
  const inst = lab.start("VI", "192.0.2.11");
  inst.setTrackers([
    { kind: "status", name: "eth3", weight: 20, reverse: false, up: true },
    { kind: "status", name: "chk", weight: -30, reverse: false, up: false },
    { kind: "value", name: "tf", weight: 2, reverse: false, value: 5 },
  ]);
  lab.advance(10 * S);
  const d = dumpDocument(lab.input()).instances["VI"]!;
  assertEquals(
    d.trackers.map((t) => [t.kind, t.name, t.up, t.value, t.effect, t.faulting]),
    [
      ["interface", "eth3", true, null, 20, false],
      ["script", "chk", false, null, -30, false],
      ["file", "tf", null, 5, 10, false],
    ],
  );
  assertEquals(d.priority, { base: 100, effective: 100, total: 100 });
  valid(dumpDocument(lab.input()));
});

Deno.test("an auth_hmac key ring fills the auth member with key ids and peers, no key", () => {
  const lab = running();
  const input = lab.input();
  const src: InstanceSource = {
    ...input.instances[0]!,
    auth: {
      type: "hmac",
      hmac: {
        mode: "enforce",
        antiReplay: "time",
        timeWindowS: 5,
        activeKey: 2,
        keyIds: [1, 2],
        peers: [{ address: "192.0.2.12", keyId: 2, lastSeenUs: lab.now - 250_000 }],
      },
    },
  };
  const doc = dumpDocument({ ...input, instances: [src] });
  valid(doc);
  const auth = doc.instances["HI"]!.auth;
  assertEquals(
    [auth.type, auth.mode, auth.anti_replay, auth.active_key, auth.keys],
    ["hmac", "enforce", "time", 2, [1, 2]],
  );
  assertEquals(auth.peers, [{ address: "192.0.2.12", key_id: 2, last_seen_ms_ago: 250 }]);
});

Deno.test("--instance picks one instance; an unknown name lists the running ones", () => {
  const input = running().input();
  assertEquals(Object.keys(dumpDocument(input, "LO").instances), ["LO"]);
  assertEquals(Object.keys(statsDocument(input, "HI").instances), ["HI"]);
  const e = assertThrows(
    () => dumpDocument(input, "VI_9"),
    UnknownInstanceError,
  ) as UnknownInstanceError;
  assertMatch(e.message, /no VRRP instance 'VI_9'; the instances are: HI, LO/);
  assertEquals(e.names, ["HI", "LO"]);
});

Deno.test("the stats document validates and holds every counter", () => {
  const lab = running();
  const doc = statsDocument(lab.input());
  valid(doc);
  assertEquals(doc.kind, "stats");
  assertEquals(Object.keys(doc.instances["HI"]!.counters).length, 22);
  assertEquals(doc.instances["LO"]!.counters.advert_rcvd, lab.instances[1]!.counters.advert_rcvd);
});

Deno.test("the schema check can fail: broken documents are reported", () => {
  const doc = JSON.parse(JSON.stringify(dumpDocument(running().input())));
  valid(doc);
  const DELETE = Symbol("delete");
  const cases: Array<[string[], unknown, RegExp]> = [
    [["instances", "HI", "counters", "advert_sent"], DELETE, /required member 'advert_sent'/],
    [["instances", "HI", "state"], "LEADER", /not one of/],
    [["instances", "HI", "vrid"], 256, /above the maximum/],
    [["instances", "HI", "auth", "password"], "x", /member 'password' is not allowed/],
    [["generated_at"], "yesterday", /does not match/],
    [["kind"], "other", /matches none of oneOf/],
  ];
  const mutate = (d: Record<string, unknown>, path: string[], value: unknown) => {
    let node = d;
    for (const k of path.slice(0, -1)) node = node[k] as Record<string, unknown>;
    const last = path.at(-1) as string;
    if (value === DELETE) delete node[last];
    else node[last] = value;
  };
  for (const [path, value, why] of cases) {
    const copy = JSON.parse(JSON.stringify(doc));
    mutate(copy, path, value);
    const problems = validate(dumpSchema(), copy);
    assert(problems.length > 0, `a mutation matching ${why} was not reported`);
    assertMatch(problems.join("\n"), why);
  }
});

Deno.test("--watch's change key ignores time, timers and counters but not a state change", () => {
  const lab = running();
  const before = changeKey(dumpDocument(lab.input()));
  lab.advance(7 * S);
  const later = dumpDocument(lab.input());
  assertEquals(changeKey(later), before, "only time and counters moved");
  assertNotEquals(
    changeKey(statsDocument(lab.input())),
    changeKey(statsDocument(running().input())),
  );
  // The MASTER stops: the BACKUP takes over.
  lab.instances[0]!.shutdown(true);
  lab.advance(10 * S);
  assertNotEquals(changeKey(dumpDocument(lab.input())), before);
});
