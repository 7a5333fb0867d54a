import { assertEquals } from "../_assert.ts";
import { editDistance, suggest } from "../../lib/config/suggest.ts";

Deno.test("editDistance counts insertions, deletions, substitutions and transpositions", () => {
  assertEquals(editDistance("priority", "priority"), 0);
  assertEquals(editDistance("priorty", "priority"), 1);
  assertEquals(editDistance("prioirty", "priority"), 1);
  assertEquals(editDistance("", "abc"), 3);
});

Deno.test("suggest proposes the closest keyword, and nothing when none is close", () => {
  const known = ["priority", "preempt_delay", "advert_int", "virtual_router_id"];
  assertEquals(suggest("priorty", known), "priority");
  assertEquals(suggest("advert_itn", known), "advert_int");
  assertEquals(suggest("Priority", known), "priority");
  assertEquals(suggest("garbage", known), undefined);
  assertEquals(suggest("x".repeat(100), known), undefined);
});
