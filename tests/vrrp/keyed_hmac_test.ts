/**
 * lib/vrrp/keyed_hmac.ts against `node:crypto` (an independent HMAC, RFC 2104): SHA-256 for
 * every message length from 0 to 300 bytes (one to six blocks, every padding boundary) and
 * key lengths 1 to 64, MD5 for AH; reuse of one key for many messages; wiping.
 */
import { createHmac } from "node:crypto";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { KeyedHmac } from "../../lib/vrrp/keyed_hmac.ts";

function bytes(n: number, seed: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 131 + seed * 17 + 7) & 0xff);
}

Deno.test("HMAC-SHA256 equals node:crypto's for every message length 0-300 and key length 1-64", () => {
  for (const keyLength of [1, 8, 31, 32, 33, 48, 63, 64]) {
    const key = bytes(keyLength, keyLength);
    const mac = new KeyedHmac("sha256", key);
    const out = new Uint8Array(32);
    for (let n = 0; n <= 300; n++) {
      const data = bytes(n, n);
      mac.macInto(data, out);
      const ref = new Uint8Array(createHmac("sha256", key).update(data).digest());
      assertEquals(out, ref, `key ${keyLength} bytes, message ${n} bytes`);
    }
  }
});

Deno.test("HMAC-MD5 (AH's ICV) equals node:crypto's", () => {
  const key = bytes(8, 3);
  const mac = new KeyedHmac("md5", key);
  const out = new Uint8Array(16);
  for (const n of [0, 1, 55, 56, 64, 84, 200]) {
    const data = bytes(n, n);
    mac.macInto(data, out);
    assertEquals(out, new Uint8Array(createHmac("md5", key).update(data).digest()), `${n} bytes`);
  }
});

Deno.test("a longer message then a shorter one: the scratch buffer carries nothing over", () => {
  const key = bytes(32, 1);
  const mac = new KeyedHmac("sha256", key);
  const out = new Uint8Array(32);
  mac.macInto(bytes(1000, 5), out);
  mac.macInto(bytes(10, 6), out);
  assertEquals(out, new Uint8Array(createHmac("sha256", key).update(bytes(10, 6)).digest()));
});

Deno.test("wiping: no MAC afterwards, keys above one block and short outputs refused", () => {
  const mac = new KeyedHmac("sha256", bytes(32, 2));
  assertThrows(() => mac.macInto(new Uint8Array(1), new Uint8Array(16)), RangeError, "32 bytes");
  mac.wipe();
  assert(mac.wiped);
  assertThrows(() => mac.macInto(new Uint8Array(1), new Uint8Array(32)), Error, "wiped");
  assertThrows(() => new KeyedHmac("sha256", bytes(65, 1)), RangeError, "64 bytes");
  assertEquals(JSON.stringify(mac), '{"hash":"sha256"}');
});
