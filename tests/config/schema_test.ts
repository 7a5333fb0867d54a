import { assertEquals, assertStringIncludes } from "../_assert.ts";
import type { Node, Token } from "../../lib/config/ast.ts";
import { DiagClass, DiagnosticSink } from "../../lib/config/diagnostic.ts";
import {
  block,
  blocks,
  defineBlock,
  list,
  multi,
  optional,
  parseBlock,
  value,
} from "../../lib/config/schema.ts";
import { blockName, flag, int, ip, optBool, seconds, word } from "../../lib/config/types.ts";

const F = "t.conf";
let lineNo = 0;
function tok(text: string, column = 1): Token {
  return { text, quoted: false, column };
}
/** A node from a line of words, optionally with children. */
function n(line: string, children?: Node[]): Node {
  const [kw, ...rest] = line.split(" ");
  lineNo++;
  const base = {
    keyword: kw as string,
    args: rest.map((w, i) => tok(w, i + 2)),
    raw: line,
    loc: { file: F, line: lineNo, column: 1 },
  };
  return children ? { ...base, children } : base;
}

const inner = defineBlock({
  name: "inner",
  fields: { pass: optional(word({ maxLen: 8 }), { secret: true }), kind: value(word(), "PASS") },
});
const test = defineBlock({
  name: "test_block",
  fields: {
    priority: value(int(1, 255), 100),
    advert_int: value(seconds(0.01, 255), 1_000_000),
    nopreempt: value(flag, false),
    smtp_alert: optional(optBool),
    key: multi(word()),
    addrs: list(ip()),
    group: list(word(), { perToken: true }),
    auth: block(inner),
    item: blocks(inner, blockName, { unique: true }),
  },
  aliases: { prio: "priority", old_prio: "deprecated:priority" },
  ignored: { snmp_socket: "kad has no SNMP agent" },
  validate(b, ctx) {
    if (b.nopreempt && b.priority === 255) {
      ctx.sink.error("nopreempt needs priority below 255", ctx.at(b, "nopreempt"));
    }
  },
});

Deno.test("parseBlock applies defaults and records where written keywords came from", () => {
  const sink = new DiagnosticSink();
  const m = parseBlock(test, [n("priority 200"), n("advert_int 0.5")], {
    file: F,
    line: 0,
    column: 0,
  }, sink);
  assertEquals(sink.items, []);
  assertEquals(m.priority, 200);
  assertEquals(m.advert_int, 500_000);
  assertEquals(m.nopreempt, false);
  assertEquals(m.smtp_alert, undefined);
  assertEquals(Object.keys(m.$loc).sort(), ["advert_int", "priority"]);
  assertEquals(m.$loc.priority?.file, F);
});

Deno.test("out-of-range and malformed values name the keyword and range; the keyword is ignored", () => {
  const sink = new DiagnosticSink();
  const m = parseBlock(test, [n("priority 256"), n("advert_int fast")], {
    file: F,
    line: 0,
    column: 0,
  }, sink);
  assertEquals(m.priority, 100);
  assertEquals(sink.items.length, 2);
  assertStringIncludes(sink.items[0]!.message, "'priority' value '256' is out of range (1 to 255)");
  assertEquals(sink.items[0]!.class, DiagClass.INVALID_NUMBER);
  assertEquals(sink.items[0]!.loc?.column, 2);
  assertStringIncludes(
    sink.items[1]!.message,
    "'advert_int' value 'fast' is not a number of seconds",
  );
});

Deno.test("unknown keywords warn with a did-you-mean; aliases and deprecations resolve", () => {
  const sink = new DiagnosticSink();
  const m = parseBlock(test, [n("priorty 5"), n("prio 7"), n("old_prio 9"), n("snmp_socket x")], {
    file: F,
    line: 0,
    column: 0,
  }, sink);
  assertEquals(m.priority, 9);
  const msgs = sink.items.map((d) => `${d.class}: ${d.message}`);
  assertEquals(msgs, [
    "UNKNOWN_KEYWORD: Unknown keyword 'priorty' in test_block; did you mean 'priority'?",
    "DEPRECATED: 'old_prio' is deprecated; use 'priority' instead",
    "WARNING: 'snmp_socket' is accepted but has no effect in kad: kad has no SNMP agent",
  ]);
});

Deno.test("lists, per-token lists, multi keywords, nested and repeated blocks", () => {
  const sink = new DiagnosticSink();
  const m = parseBlock(
    test,
    [
      n("addrs", [n("192.0.2.1"), n("2001:DB8::1")]),
      n("group", [n("VI_1 VI_2"), n("VI_3")]),
      n("key a"),
      n("key b"),
      n("auth", [n("pass secret")]),
      n("auth", [n("kind AH")]),
      n("item one", [n("pass x")]),
      n("item two", []),
      n("item one", []),
    ],
    { file: F, line: 0, column: 0 },
    sink,
  );
  assertEquals(m.addrs, ["192.0.2.1", "2001:db8::1"]);
  assertEquals(m.group, ["VI_1", "VI_2", "VI_3"]);
  assertEquals(m.key, ["a", "b"]);
  assertEquals(m.auth?.pass, "secret");
  assertEquals(m.auth?.kind, "AH");
  assertEquals(m.item.map((i) => i.header), ["one", "two"]);
  assertEquals(sink.items.length, 1);
  assertStringIncludes(
    sink.items[0]!.message,
    "duplicate item 'one' (first defined at t.conf: Line",
  );
});

Deno.test("a block keyword without a block, and a value keyword with one, are reported", () => {
  const sink = new DiagnosticSink();
  parseBlock(test, [n("addrs"), n("priority 5", [n("x")])], { file: F, line: 0, column: 0 }, sink);
  assertEquals(sink.items.map((d) => d.class), [DiagClass.MISSING_BOB, DiagClass.UNEXPECTED_BOB]);
});

Deno.test("a missing parameter is reported as MISSING_PARAMETER; validate hooks run", () => {
  const sink = new DiagnosticSink();
  parseBlock(
    test,
    [n("priority"), n("nopreempt"), n("prio 255")],
    { file: F, line: 0, column: 0 },
    sink,
  );
  assertEquals(sink.items.map((d) => d.class), [
    DiagClass.MISSING_PARAMETER,
    DiagClass.GENERAL_ERROR,
  ]);
  assertStringIncludes(sink.items[1]!.message, "nopreempt needs priority below 255");
});
