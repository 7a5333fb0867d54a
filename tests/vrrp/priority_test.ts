import { assertEquals } from "../_assert.ts";
import {
  computePriority,
  skewPriority,
  trackerEffect,
  type TrackerInput,
} from "../../lib/vrrp/priority.ts";

function status(weight: number, reverse: boolean, up: boolean, name = "t"): TrackerInput {
  return { kind: "status", name, weight, reverse, up };
}

function file(weight: number, reverse: boolean, value: number, name = "f"): TrackerInput {
  return { kind: "value", name, weight, reverse, value };
}

Deno.test("status trackers contribute as the weight/reverse table says", () => {
  const rows: Array<[number, boolean, boolean, number, boolean]> = [
    // weight, reverse, up → delta, fault
    [10, false, true, 10, false],
    [10, false, false, 0, false],
    [-10, false, true, 0, false],
    [-10, false, false, -10, false],
    [10, true, true, -10, false],
    [10, true, false, 0, false],
    [-10, true, true, 0, false],
    [-10, true, false, 10, false],
    [0, false, true, 0, false],
    [0, false, false, 0, true],
    [0, true, true, 0, true],
    [0, true, false, 0, false],
  ];
  for (const [w, rev, up, delta, fault] of rows) {
    assertEquals(trackerEffect(status(w, rev, up)), { delta, fault }, `w=${w} rev=${rev} up=${up}`);
  }
});

Deno.test("track_file contributes value × weight, reversed by reverse and clamped to -254..253", () => {
  assertEquals(trackerEffect(file(2, false, 5)), { delta: 10, fault: false });
  assertEquals(trackerEffect(file(2, true, 5)), { delta: -10, fault: false });
  assertEquals(trackerEffect(file(100, false, 10)), { delta: 253, fault: false });
  assertEquals(trackerEffect(file(1, false, -253)), { delta: -253, fault: false });
});

Deno.test("track_file at or below -254 faults the instance", () => {
  assertEquals(trackerEffect(file(1, false, -254)), { delta: 0, fault: true });
  assertEquals(trackerEffect(file(-10, false, 100)), { delta: 0, fault: true });
});

Deno.test("track_file with weight 0 faults on a non-zero value, or on zero with reverse", () => {
  assertEquals(trackerEffect(file(0, false, 0)).fault, false);
  assertEquals(trackerEffect(file(0, false, 3)).fault, true);
  assertEquals(trackerEffect(file(0, true, 0)).fault, true);
  assertEquals(trackerEffect(file(0, true, 3)).fault, false);
});

Deno.test("effective priority is base plus contributions clamped to 1..254", () => {
  assertEquals(computePriority(100, [status(30, false, true), status(-20, false, false)]), {
    total: 110,
    effective: 110,
    faultedBy: [],
  });
  assertEquals(computePriority(200, [status(100, false, true)]).effective, 254);
  assertEquals(computePriority(200, [status(100, false, true)]).total, 300);
  assertEquals(computePriority(50, [status(-100, false, false)]).effective, 1);
  assertEquals(computePriority(50, [status(-100, false, false)]).total, -50);
});

Deno.test("the address owner stays at 255 whatever the weighted trackers say", () => {
  assertEquals(computePriority(255, [status(-50, false, false), file(3, false, 10)]), {
    total: 255,
    effective: 255,
    faultedBy: [],
  });
});

Deno.test("a demoted owner is at 254 and still skews as 255", () => {
  const p = computePriority(255, [], true);
  assertEquals(p.effective, 254);
  assertEquals(skewPriority(255, p.effective), 255);
  assertEquals(skewPriority(100, 90), 90);
});

Deno.test("a failed zero-weight tracker is named as a fault, for owners too", () => {
  const ts = [status(0, false, false, "eth1"), status(0, false, true, "eth2"), file(0, false, 1)];
  assertEquals(computePriority(100, ts).faultedBy, ["eth1", "f"]);
  assertEquals(computePriority(255, ts).faultedBy, ["eth1", "f"]);
});
