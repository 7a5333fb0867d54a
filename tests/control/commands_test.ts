/**
 * The control command table (lib/control/commands.ts): registration rules, dispatch of
 * synchronous and asynchronous handlers, refusals a handler reports, failures it did not
 * mean (internal_error, never a crash), unknown commands and arguments, and `help`.
 */
import { assert, assertEquals, assertMatch, assertThrows } from "../_assert.ts";
import {
  CommandError,
  CommandTable,
  optionalBoolean,
  optionalInteger,
  optionalString,
  requiredString,
} from "../../lib/control/commands.ts";
import type { ControlRequest } from "../../lib/control/protocol.ts";

const req = (cmd: string, args: Record<string, unknown> = {}): ControlRequest => ({
  v: 1,
  id: 1,
  cmd,
  args,
});

function table(): CommandTable {
  const t = new CommandTable();
  t.register("echo", {
    summary: "echoes its text",
    args: { text: "what to echo" },
    handler: (a) => ({ text: requiredString(a, "text") }),
  });
  t.register("later", {
    summary: "answers asynchronously",
    handler: () => Promise.resolve({ done: true }),
  });
  t.register("refuse", {
    summary: "refuses",
    handler: () => {
      throw new CommandError("not_found", "nothing here", { names: ["a"] });
    },
  });
  t.register("broken", {
    summary: "has a bug",
    handler: () => {
      throw new RangeError("oops");
    },
  });
  t.register("broken-later", {
    summary: "has a bug, asynchronously",
    handler: () => Promise.reject(new Error("late oops")),
  });
  return t;
}

Deno.test("a synchronous handler's result is the reply, at once", () => {
  assertEquals(table().dispatch(req("echo", { text: "hi" })), {
    ok: true,
    result: { text: "hi" },
  });
});

Deno.test("an asynchronous handler's result arrives as a promise", async () => {
  const r = table().dispatch(req("later"));
  assert(r instanceof Promise);
  assertEquals(await r, { ok: true, result: { done: true } });
});

Deno.test("an unknown command is refused with the list of commands", () => {
  const r = table().dispatch(req("nope"));
  assert(!(r instanceof Promise) && !r.ok);
  assertEquals(r.error.code, "unknown_command");
  assertMatch(r.error.message, /unknown command 'nope'; the commands are: help, echo, later/);
  assertEquals((r.error.details?.["commands"] as string[]).includes("echo"), true);
});

Deno.test("an argument the command does not take is refused, naming what it takes", () => {
  const r = table().dispatch(req("echo", { text: "x", loud: true }));
  assert(!(r instanceof Promise) && !r.ok);
  assertEquals(r.error.code, "invalid_argument");
  assertMatch(r.error.message, /does not take 'loud'; it takes text/);
  const r2 = table().dispatch(req("later", { x: 1 }));
  assert(!(r2 instanceof Promise) && !r2.ok);
  assertMatch(r2.error.message, /takes no arguments/);
});

Deno.test("argument helpers refuse wrong types with invalid_argument", () => {
  const r = table().dispatch(req("echo", { text: 5 }));
  assert(!(r instanceof Promise) && !r.ok);
  assertEquals(r.error, { code: "invalid_argument", message: '"text" must be a string' });
  assertThrows(() => requiredString({}, "x"), CommandError, "required");
  assertEquals(optionalString({ x: null }, "x"), undefined);
  assertEquals(optionalBoolean({ b: true }, "b"), true);
  assertThrows(() => optionalBoolean({ b: "yes" }, "b"), CommandError, "true or false");
  assertEquals(optionalInteger({ n: 3 }, "n", 1, 5), 3);
  assertThrows(() => optionalInteger({ n: 6 }, "n", 1, 5), CommandError, "1 to 5");
  assertThrows(() => optionalInteger({ n: 1.5 }, "n", 1, 5), CommandError, "integer");
});

Deno.test("a CommandError becomes the reply's error, with its details", () => {
  assertEquals(table().dispatch(req("refuse")), {
    ok: false,
    error: { code: "not_found", message: "nothing here", details: { names: ["a"] } },
  });
});

Deno.test("any other failure is internal_error naming the command, sync or async", async () => {
  const r = table().dispatch(req("broken"));
  assert(!(r instanceof Promise) && !r.ok);
  assertEquals(r.error, {
    code: "internal_error",
    message: "'broken' failed inside the daemon: oops",
  });
  const r2 = await table().dispatch(req("broken-later"));
  assert(!r2.ok);
  assertEquals(r2.error.code, "internal_error");
  assertMatch(r2.error.message, /late oops/);
});

Deno.test("help lists every command with its summary and arguments", () => {
  const r = table().dispatch(req("help"));
  assert(!(r instanceof Promise) && r.ok);
  const commands = r.result["commands"] as Array<{ name: string; args: object }>;
  assertEquals(commands.map((c) => c.name), [
    "help",
    "echo",
    "later",
    "refuse",
    "broken",
    "broken-later",
  ]);
  assertEquals(commands[1]?.args, { text: "what to echo" });
});

Deno.test("registration refuses taken names, bad names and reserved argument names", () => {
  const t = table();
  assertThrows(
    () => t.register("echo", { summary: "", handler: () => ({}) }),
    Error,
    "already registered",
  );
  for (const bad of ["Echo", "key_add", "", "-x", "a b"]) {
    assertThrows(() => t.register(bad, { summary: "", handler: () => ({}) }), Error, "lower-case");
  }
  t.register("key-add", { summary: "", handler: () => ({}) });
  assertThrows(
    () => t.register("x", { summary: "", args: { id: "" }, handler: () => ({}) }),
    Error,
    "'id'",
  );
});
