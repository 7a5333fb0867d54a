/**
 * Tests for lib/config/tree.ts: blocks from logical lines and brace errors
 * (spec/vrrp.md §4.1, §4.3, §4.8).
 */
import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import type { LogicalLine, Node } from "../../lib/config/ast.ts";
import { DiagClass, DiagnosticSink } from "../../lib/config/diagnostic.ts";
import { lexLine } from "../../lib/config/lexer.ts";
import { buildTree, MAX_BLOCK_DEPTH } from "../../lib/config/tree.ts";

function lines(text: string, file = "k.conf"): LogicalLine[] {
  return text.split("\n").flatMap((l, i) => lexLine(l, file, i + 1).lines);
}

function build(text: string): { nodes: Node[]; sink: DiagnosticSink } {
  const sink = new DiagnosticSink();
  return { nodes: buildTree(lines(text), sink), sink };
}

/** A compact picture of a tree: keyword(args)[children]. */
function shape(nodes: readonly Node[]): string {
  return nodes.map((n) => {
    const args = n.args.length > 0 ? `(${n.args.map((a) => a.text).join(",")})` : "";
    const kids = n.children ? `[${shape(n.children)}]` : "";
    return `${n.keyword}${args}${kids}`;
  }).join(" ");
}

Deno.test("a keyword line followed by '{' on the same line opens a block", () => {
  const { nodes, sink } = build("vrrp_instance VI_1 {\n  state MASTER\n  priority 100\n}\n");
  assertEquals(shape(nodes), "vrrp_instance(VI_1)[state(MASTER) priority(100)]");
  assertEquals(sink.items, []);
});

Deno.test("'{' on the next line also opens a block, as keepalived accepts", () => {
  const { nodes, sink } = build("global_defs\n{\n  router_id lb1\n}\n");
  assertEquals(shape(nodes), "global_defs[router_id(lb1)]");
  assertEquals(sink.items, []);
});

Deno.test("a whole block on one line", () => {
  assertEquals(shape(build("a { b 1 } c { d } e").nodes), "a[b(1)] c[d] e");
  assertEquals(shape(build("a { b 1 c { d } } e").nodes), "a[b(1,c)[d]] e");
});

Deno.test("a keyword without a block has no children property", () => {
  const n = build("use_pid_dir\nempty {\n}\n").nodes;
  assertEquals("children" in (n[0] as Node), false);
  assertEquals(n[1]?.children, []);
});

Deno.test("nodes keep raw text, location and argument tokens", () => {
  const n = build('x\n  notify "/bin/x a" b {\n}').nodes[1] as Node;
  assertEquals(n.keyword, "notify");
  assertEquals(n.raw, 'notify "/bin/x a" b');
  assertEquals(n.loc, { file: "k.conf", line: 2, column: 3 });
  assertEquals(n.args, [
    { text: "/bin/x a", quoted: true, column: 10 },
    { text: "b", quoted: false, column: 21 },
  ]);
});

Deno.test("a quoted '{' or '}' is an ordinary word", () => {
  const { nodes, sink } = build('a "{"\nb "}"\n');
  assertEquals(shape(nodes), "a({) b(})");
  assertEquals(sink.items, []);
});

Deno.test("an extra '}' is UNEXPECTED_EOB and closes nothing", () => {
  const { nodes, sink } = build("a {\n  x\n}\n}\nb {\n  y\n}\n");
  assertEquals(shape(nodes), "a[x] b[y]");
  assertEquals(sink.items.length, 1);
  const d = sink.items[0];
  assertEquals(d?.class, DiagClass.UNEXPECTED_EOB);
  assertStringIncludes(d?.message ?? "", "Extra '}' found");
  assertEquals(d?.loc, { file: "k.conf", line: 4, column: 1 });
});

Deno.test("an extra '}' at the very start is reported", () => {
  const { nodes, sink } = build("}\na 1\n");
  assertEquals(shape(nodes), "a(1)");
  assertEquals(sink.items.map((d) => d.class), [DiagClass.UNEXPECTED_EOB]);
});

Deno.test("'{' with no keyword before it is UNEXPECTED_BOB; its '}' closes only itself", () => {
  const { nodes, sink } = build("a {\n  {\n    y\n  }\n  z\n}\nb\n");
  assertEquals(shape(nodes), "a[y z] b");
  assertEquals(sink.items.map((d) => [d.class, d.loc?.line]), [[DiagClass.UNEXPECTED_BOB, 2]]);
});

Deno.test("'{' right after a closed block has no keyword", () => {
  const { nodes, sink } = build("a { } { b }\nc\n");
  assertEquals(shape(nodes), "a[] b c");
  assertEquals(sink.items.map((d) => d.class), [DiagClass.UNEXPECTED_BOB]);
});

Deno.test("'{' at the start of the configuration has no keyword", () => {
  const { sink } = build("{\n}\n");
  assertEquals(sink.items.map((d) => d.class), [DiagClass.UNEXPECTED_BOB]);
});

Deno.test("an unclosed block is MISSING_EOB naming its keyword and line", () => {
  const { nodes, sink } = build("a {\n  b {\n    c\n");
  assertEquals(shape(nodes), "a[b[c]]");
  assertEquals(sink.items.map((d) => [d.class, d.message, d.loc?.line]), [
    [
      DiagClass.MISSING_EOB,
      "Missing '}' for 'b' opened at line 2 of k.conf - add the closing '}'",
      2,
    ],
    [
      DiagClass.MISSING_EOB,
      "Missing '}' for 'a' opened at line 1 of k.conf - add the closing '}'",
      1,
    ],
  ]);
  assertEquals(sink.items[0]?.keyword, "b");
});

Deno.test("an unclosed unexpected '{' is reported at the brace", () => {
  const { sink } = build("{\nx\n");
  assertEquals(sink.items.map((d) => [d.class, d.loc?.line]), [
    [DiagClass.UNEXPECTED_BOB, 1],
    [DiagClass.MISSING_EOB, 1],
  ]);
});

Deno.test("64 nested blocks are fine", () => {
  const depth = MAX_BLOCK_DEPTH;
  const { nodes, sink } = build("a {\n".repeat(depth) + "leaf\n" + "}\n".repeat(depth));
  assertEquals(sink.items, []);
  let n: Node | undefined = nodes[0];
  let levels = 0;
  while (n?.children) {
    levels++;
    n = n.children[0];
  }
  assertEquals(levels, depth);
  assertEquals(n?.keyword, "leaf");
});

Deno.test("10,000 nested braces give one FATAL, no crash, and the rest still parses", () => {
  const n = 10_000;
  const { nodes, sink } = build("a {\n".repeat(n) + "deep\n" + "}\n".repeat(n) + "after 1\n");
  const fatal = sink.items.filter((d) => d.class === DiagClass.FATAL);
  assertEquals(fatal.length, 1);
  assertStringIncludes(fatal[0]?.message ?? "", "blocks nested deeper than 64 levels");
  assertEquals(fatal[0]?.loc?.line, MAX_BLOCK_DEPTH + 1);
  assertEquals(sink.items.length, 1);
  assertEquals(nodes.map((x) => x.keyword), ["a", "after"]);
});

Deno.test("10,000 unclosed braces are reported without recursion", () => {
  const { sink } = build("a {\n".repeat(10_000));
  const classes = sink.items.map((d) => d.class);
  assertEquals(classes.filter((c) => c === DiagClass.FATAL).length, 1);
  assertEquals(classes.filter((c) => c === DiagClass.MISSING_EOB).length, MAX_BLOCK_DEPTH + 1);
  const last = sink.items[sink.items.length - 1];
  assertStringIncludes(last?.message ?? "", "There are 9936 missing '}'s");
});

Deno.test("a deep tree of 100,000 lines builds quickly and iteratively", () => {
  const body = "k v\n".repeat(100_000);
  const t0 = performance.now();
  const { nodes, sink } = build(`root {\n${body}}\n`);
  assertEquals(nodes[0]?.children?.length, 100_000);
  assertEquals(sink.items, []);
  assert(performance.now() - t0 < 5000);
});

Deno.test("lines with no tokens are ignored", () => {
  const sink = new DiagnosticSink();
  const empty: LogicalLine = { tokens: [], raw: "", loc: { file: "k", line: 1, column: 1 } };
  assertEquals(buildTree([empty, ...lines("a")], sink).map((n) => n.keyword), ["a"]);
});
