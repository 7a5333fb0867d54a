import { assertEquals } from "../_assert.ts";
import {
  type InstanceFacts,
  instanceView,
  keyUsers,
  keyUserViews,
  type ObservedSender,
  recentWindowUs,
} from "../../lib/vrrp/rotation.ts";

const S = 1_000_000;

function peer(o: Partial<ObservedSender> & { address: string }): ObservedSender {
  return {
    keyId: undefined,
    verifiedAtUs: undefined,
    lastOutcome: "ok",
    lastKeyId: undefined,
    lastAtUs: 0,
    ...o,
  };
}

Deno.test("rotation window: time_window, the monotonic default, never under 3 adverts", () => {
  assertEquals(recentWindowUs({ antiReplay: "time", timeWindowS: 5, advertIntUs: S }), 5 * S);
  assertEquals(recentWindowUs({ antiReplay: "time", timeWindowS: 30, advertIntUs: S }), 30 * S);
  // A 1 s window with 2 s adverts: a live master would look gone between two adverts.
  assertEquals(recentWindowUs({ antiReplay: "time", timeWindowS: 1, advertIntUs: 2 * S }), 6 * S);
  // monotonic: time_window means nothing; the spec's default max(3 x advert_int, 5).
  assertEquals(
    recentWindowUs({ antiReplay: "monotonic", timeWindowS: 100, advertIntUs: 4 * S }),
    12 * S,
  );
  assertEquals(
    recentWindowUs({ antiReplay: "monotonic", timeWindowS: 100, advertIntUs: 100_000 }),
    5 * S,
  );
});

Deno.test("rotation: who still signs with a key, within the window only", () => {
  const now = 100 * S;
  const w = 5 * S;
  const peers = [
    // Moved to key 2 a second ago.
    peer({ address: "a", keyId: 2, verifiedAtUs: now - S, lastKeyId: 2, lastAtUs: now - S }),
    // Still on key 1.
    peer({ address: "b", keyId: 1, verifiedAtUs: now - 2 * S, lastKeyId: 1, lastAtUs: now - S }),
    // Was on key 1, but not heard for 6 s.
    peer({
      address: "c",
      keyId: 1,
      verifiedAtUs: now - 6 * S,
      lastKeyId: 1,
      lastAtUs: now - 6 * S,
    }),
    // Its last advert with key 1 was rejected (stale), but it did try key 1.
    peer({
      address: "d",
      keyId: 2,
      verifiedAtUs: now - 3 * S,
      lastOutcome: "auth_ext_stale",
      lastKeyId: 1,
      lastAtUs: now - S,
    }),
    // Unsigned adverts (permissive): no key.
    peer({ address: "e", lastOutcome: "unsigned", lastAtUs: now }),
  ];
  assertEquals(keyUsers(peers, 1, now, w).map((p) => p.address), ["b", "d"]);
  assertEquals(keyUsers(peers, 2, now, w).map((p) => p.address), ["a", "d"]);
  assertEquals(keyUsers(peers, 3, now, w), []);
  // Exactly at the window's edge it still counts; one µs later it does not.
  assertEquals(keyUsers(peers, 1, now + S, w).map((p) => p.address), ["b", "d"]);
  assertEquals(keyUsers(peers, 1, now + 4 * S + 1, w).map((p) => p.address), []);
});

Deno.test("rotation: an instance's status and the users that block a retire", () => {
  const now = 50 * S;
  const facts: InstanceFacts = {
    name: "VI_1",
    mode: "enforce",
    antiReplay: "time",
    timeWindowS: 5,
    advertIntUs: S,
    activeKey: 2,
    keyIds: [2, 1],
    addedFiles: new Map([[2, "/etc/kad/k2"]]),
    retired: [3],
    peers: [
      peer({
        address: "10.0.0.3",
        keyId: 1,
        verifiedAtUs: now - 20 * S,
        lastAtUs: now - 20 * S,
        lastKeyId: 1,
      }),
      peer({
        address: "10.0.0.2",
        keyId: 1,
        verifiedAtUs: now - 250_000,
        lastAtUs: now - 250_000,
        lastKeyId: 1,
      }),
      peer({ address: "10.0.0.4", lastOutcome: "auth_ext_missing", lastAtUs: now - S }),
    ],
  };
  assertEquals(instanceView(facts, now), {
    instance: "VI_1",
    mode: "enforce",
    anti_replay: "time",
    window_s: 5,
    active_key: 2,
    keys: [
      { id: 1, active: false, verify_only: true, source: "config", key_file: null },
      { id: 2, active: true, verify_only: false, source: "key-state", key_file: "/etc/kad/k2" },
    ],
    retired: [3],
    peers: [
      {
        address: "10.0.0.2",
        key_id: 1,
        seconds_since: 0.3,
        last_outcome: "ok",
        last_key_id: 1,
        last_seconds_since: 0.3,
        recent: true,
      },
      {
        address: "10.0.0.4",
        key_id: null,
        seconds_since: null,
        last_outcome: "auth_ext_missing",
        last_key_id: null,
        last_seconds_since: 1,
        recent: true,
      },
      {
        address: "10.0.0.3",
        key_id: 1,
        seconds_since: 20,
        last_outcome: "ok",
        last_key_id: 1,
        last_seconds_since: 20,
        recent: false,
      },
    ],
  });
  assertEquals(keyUserViews(facts, 1, now), [
    { instance: "VI_1", address: "10.0.0.2", key_id: 1, seconds_since: 0.3 },
  ]);
  assertEquals(keyUserViews(facts, 2, now), []);
});
