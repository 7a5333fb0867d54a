import { assertEquals } from "../_assert.ts";
import { loadWith, only, parseValueWith } from "./_load.ts";
import { defineBlock } from "../../lib/config/schema.ts";
import {
  bfdRootFields,
  formatMs,
  maxHops,
  milliseconds,
  validateBfd,
} from "../../lib/config/schema/bfd.ts";
import type { ValueType } from "../../lib/config/schema.ts";

const F = "bfd.conf";
const root = defineBlock({
  name: "the top level",
  fields: { ...bfdRootFields },
  validate: (cfg, ctx) => validateBfd(cfg, ctx),
});

function load(text: string) {
  const { cfg, diags } = loadWith(root, text, F);
  return { cfg, diags };
}

function parseWith<T>(type: ValueType<T>, word: string): { value: T | undefined; diags: string[] } {
  return parseValueWith(type, word, F, "v");
}

Deno.test("bfd_instance defaults: 10 ms intervals, 1 s idle, multiplier 5, ttl by family, both event targets", () => {
  const { cfg, diags } = load(
    "bfd_instance B4 {\nneighbor_ip 10.0.0.2\n}\nbfd_instance B6 {\nneighbour_ip 2001:db8::2\n}\n",
  );
  assertEquals(diags, []);
  const [v4, v6] = cfg.bfd_instance;
  assertEquals(
    [
      v4?.min_rx,
      v4?.min_tx,
      v4?.idle_tx,
      v4?.multiplier,
      v4?.ttl,
      v4?.max_hops,
      v4?.vrrp,
      v4?.checker,
    ],
    [10_000, 10_000, 1_000_000, 5, 255, 0, true, true],
  );
  assertEquals([v6?.neighbor_ip, v6?.ttl], ["2001:db8::2", 64]);
  assertEquals(Object.keys(v6?.$loc ?? {}), ["neighbor_ip"]);
});

Deno.test("bfd_instance keywords parse with their ranges; hoplimit is ttl", () => {
  const { cfg, diags } = load(`bfd_instance B1 {
  neighbor_ip 10.0.0.2
  source_ip 10.0.0.1
  min_rx 3.312
  min_tx 20
  idle_tx 2000
  multiplier 3
  passive
  hoplimit 10
  max_hops 5
  multihop
  weight -20 reverse
  checker
}
`);
  assertEquals(diags, []);
  const b = only(cfg.bfd_instance);
  assertEquals(
    [b.min_rx, b.min_tx, b.idle_tx, b.multiplier, b.passive, b.ttl, b.max_hops, b.multihop],
    [3312, 20_000, 2_000_000, 3, true, 10, 5, true],
  );
  assertEquals(b.weight, { weight: -20, reverse: true });
  assertEquals([b.vrrp, b.checker], [false, true]);
});

Deno.test("out-of-range bfd values are errors naming the keyword and range", () => {
  const { cfg, diags } = load(`bfd_instance B1 {
  neighbor_ip 10.0.0.2
  min_rx 0
  min_tx 4294968
  idle_tx 999
  multiplier 0
  ttl 0
  max_hops -2
  weight 254
}
bfd_instance abcdefghijabcdefghijabcdefghijab {
  neighbor_ip 10.0.0.5
}
`);
  assertEquals(diags, [
    "INVALID_NUMBER: 'min_rx' value '0' is out of range (1 to 4294967 ms)",
    "INVALID_NUMBER: 'min_tx' value '4294968' is out of range (1 to 4294967 ms)",
    "INVALID_NUMBER: 'idle_tx' value '999' is out of range (1000 to 4294967 ms)",
    "INVALID_NUMBER: 'multiplier' value '0' is out of range (1 to 255)",
    "INVALID_NUMBER: 'ttl' value '0' is out of range (1 to 255)",
    "INVALID_NUMBER: 'max_hops' value '-2' is out of range (-1 to 255)",
    "INVALID_NUMBER: 'weight' value '254' is out of range (-253 to 253)",
    "GENERAL_ERROR: 'bfd_instance' name 'abcdefghijabcdefghijabcdefghijab' is too long (at most 31 characters)",
  ]);
  assertEquals(cfg.bfd_instance.map((b) => b.header), ["B1"]);
});

Deno.test("instances without a neighbour, with mixed families or duplicating a session are dropped", () => {
  const { cfg, diags } = load(`bfd_instance A {
  neighbor_ip 10.1.1.1
}
bfd_instance NONE {
  min_rx 20
}
bfd_instance MIX {
  neighbor_ip 10.1.1.2
  source_ip 2001:db8::1
}
bfd_instance DUP {
  neighbour_ip 10.1.1.1
}
bfd_instance MH {
  neighbour_ip 10.1.1.1
  multihop
}
bfd_instance A {
  neighbor_ip 10.1.1.9
}
`);
  assertEquals(diags, [
    `GENERAL_ERROR: duplicate bfd_instance 'A' (first defined at ${F}: Line 1) - skipping this one; give it another name`,
    "GENERAL_ERROR: bfd_instance NONE has no neighbor_ip and is disabled; add 'neighbor_ip ADDRESS'",
    "GENERAL_ERROR: bfd_instance MIX: source_ip 2001:db8::1 and neighbor_ip 10.1.1.2 are different address families; the instance is disabled",
    `GENERAL_ERROR: bfd_instance DUP has the same neighbor, source and mode as bfd_instance A (${F}: Line 1); it is ignored`,
  ]);
  assertEquals(cfg.bfd_instance.map((b) => b.header), ["A", "MH"]);
});

Deno.test("max_hops -1 means no check and is not clamped; larger values are clamped to ttl", () => {
  const { cfg, diags } = load(`bfd_instance A {
  neighbor_ip 2001:db8::2
  max_hops -1
}
bfd_instance B {
  neighbor_ip 10.0.0.3
  ttl 10
  max_hops 20
}
`);
  assertEquals(diags, ["WARNING: bfd_instance B: max_hops 20 exceeds ttl 10; using 10"]);
  assertEquals(cfg.bfd_instance.map((b) => b.max_hops), [255, 10]);
});

Deno.test("min_rx above 10 s is allowed with a warning; extra decimals are rounded", () => {
  const { cfg, diags } = load(
    "bfd_instance A {\nneighbor_ip 10.0.0.2\nmin_rx 20000\nmin_tx 1.23456\n}\n",
  );
  assertEquals(diags, [
    "WARNING: 'min_tx' value '1.23456' has more than 3 decimal places; rounded to the microsecond",
    "WARNING: bfd_instance A: min_rx 20000 ms is larger than a sensible 10000 ms",
  ]);
  const b = only(cfg.bfd_instance);
  assertEquals([b.min_rx, b.min_tx], [20_000_000, 1235]);
});

Deno.test("millisecond and max_hops values print back to equal values", () => {
  const ms = milliseconds(1, 4294967);
  for (const w of ["10", "3.312", "0.5", "4294967", "1.05"]) {
    const first = parseWith(ms, w);
    if (w === "0.5") {
      assertEquals(first.diags, ["'v' value '0.5' is out of range (1 to 4294967 ms)"]);
      continue;
    }
    assertEquals(first.diags, []);
    assertEquals(parseWith(ms, ms.print(first.value as number).join(" ")).value, first.value);
  }
  assertEquals(formatMs(3312), "3.312");
  assertEquals(formatMs(1050), "1.05");
  assertEquals(parseWith(maxHops, maxHops.print(255).join(" ")).value, 255);
  assertEquals(parseWith(maxHops, "-1").value, 255);
});
