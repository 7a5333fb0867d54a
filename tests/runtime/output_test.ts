/** lib/runtime/output.ts: whole writes, and a reader that went away is no crash. */
import { assertEquals } from "../_assert.ts";
import { writeAll } from "../../lib/runtime/output.ts";

Deno.test("writeAll writes everything through short writes", () => {
  const got: number[] = [];
  const stream = {
    writeSync(p: Uint8Array): number {
      const n = Math.min(3, p.length);
      got.push(...p.subarray(0, n));
      return n;
    },
  };
  writeAll(stream, "hello, world\n");
  assertEquals(new TextDecoder().decode(new Uint8Array(got)), "hello, world\n");
});

Deno.test("writeAll drops the rest quietly when the pipe is closed (kad dump | head)", () => {
  let calls = 0;
  const stream = {
    writeSync(_p: Uint8Array): number {
      calls++;
      if (calls > 1) throw new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
      return 4;
    },
  };
  writeAll(stream, "first line\nsecond line\n");
  assertEquals(calls, 2);
});
