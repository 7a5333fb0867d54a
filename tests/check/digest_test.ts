import { assertEquals } from "../_assert.ts";
import { BodyDigest, digestHex, parseDigestHex } from "../../lib/check/digest.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("BodyDigest is MD5 over all updates, in any split", () => {
  const whole = new BodyDigest();
  whole.update(enc("Hello, keepalived!\n"));
  assertEquals(digestHex(whole.digest()), "ba5cc6d9a6f57810715720369fae4d79");
  const split = new BodyDigest();
  for (const part of ["Hel", "", "lo, keep", "alived!\n"]) split.update(enc(part));
  assertEquals(digestHex(split.digest()), "ba5cc6d9a6f57810715720369fae4d79");
});

Deno.test("BodyDigest of nothing is the empty MD5 and digest() is stable", () => {
  const d = new BodyDigest();
  assertEquals(digestHex(d.digest()), "d41d8cd98f00b204e9800998ecf8427e");
  d.update(enc("late"));
  assertEquals(digestHex(d.digest()), "d41d8cd98f00b204e9800998ecf8427e");
});

Deno.test("parseDigestHex accepts exactly 32 hex digits in either case", () => {
  const lower = parseDigestHex("ba5cc6d9a6f57810715720369fae4d79");
  const upper = parseDigestHex("BA5CC6D9A6F57810715720369FAE4D79");
  assertEquals(lower, upper);
  assertEquals(digestHex(lower!), "ba5cc6d9a6f57810715720369fae4d79");
  for (
    const bad of [
      "",
      "ba5c",
      "ba5cc6d9a6f57810715720369fae4d7",
      "ba5cc6d9a6f57810715720369fae4d790",
      "xa5cc6d9a6f57810715720369fae4d79",
    ]
  ) {
    assertEquals(parseDigestHex(bad), undefined, bad);
  }
});
