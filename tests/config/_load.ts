/**
 * Shared config-loading scaffolding for the tests under tests/config (and the GRE config
 * tests): keepalived text → nodes → a model parsed against a test schema, plus the small
 * helpers several schema tests use. Owns no product logic and must not reach the real
 * file system or environment.
 */

import { assert, assertEquals } from "../_assert.ts";
import type { Node, Token } from "../../lib/config/ast.ts";
import { DiagClass, type Diagnostic, DiagnosticSink } from "../../lib/config/diagnostic.ts";
import { lexLine } from "../../lib/config/lexer.ts";
import { preprocessText } from "../../lib/config/preprocess.ts";
import {
  type AnyField,
  type BlockMeta,
  type BlockSchema,
  defineBlock,
  type Infer,
  optional,
  parseBlock,
  type ParseContext,
  type ValueType,
} from "../../lib/config/schema.ts";
import { memoryFs } from "../../lib/config/source.ts";
import { buildTree } from "../../lib/config/tree.ts";

/** keepalived text → nodes, with the real lexer and a minimal brace matcher (no preprocessing). */
export function nodesOf(text: string, file = "t.conf"): Node[] {
  const lines = text.split("\n").flatMap((l, i) => lexLine(l, file, i + 1).lines);
  let i = 0;
  const level = (): Node[] => {
    const out: Node[] = [];
    while (i < lines.length) {
      const l = lines[i++]!;
      if (l.raw === "}") return out;
      const [k, ...args] = l.tokens;
      const node = { keyword: k!.text, args, raw: l.raw, loc: l.loc };
      if (lines[i]?.raw === "{") {
        i++;
        out.push({ ...node, children: level() });
      } else out.push(node);
    }
    return out;
  };
  return level();
}

/** keepalived text → preprocessed node tree, with no files and an empty environment. */
export function treeOf(text: string, file: string, sink: DiagnosticSink): Node[] {
  const pp = preprocessText(text, file, {
    fs: memoryFs({}),
    sink,
    configId: "",
    env: () => undefined,
  });
  return buildTree(pp.lines, sink);
}

/**
 * Preprocess and parse `text` against `root`; `diags` lists each diagnostic as
 * "class: message".
 */
export function loadWith<F extends Record<string, AnyField>>(
  root: BlockSchema<F>,
  text: string,
  file: string,
): { cfg: Infer<F> & BlockMeta; diags: string[]; sink: DiagnosticSink } {
  const sink = new DiagnosticSink();
  const cfg = parseBlock(root, treeOf(text, file, sink), { file, line: 0, column: 0 }, sink);
  return { cfg, diags: sink.items.map((d) => `${d.class}: ${d.message}`), sink };
}

/** Parse `line` with `type`, as the value of `keyword`; `diags` lists the messages. */
export function parseValueWith<T>(
  type: ValueType<T>,
  line: string,
  file: string,
  keyword = "entry",
): { value: T | undefined; diags: string[] } {
  const schema = defineBlock({ name: "t", fields: { [keyword]: optional(type) } });
  const sink = new DiagnosticSink();
  const m = parseBlock(
    schema,
    treeOf(`${keyword} ${line}\n`, file, sink),
    { file, line: 0, column: 0 },
    sink,
  );
  return { value: m[keyword] as T | undefined, diags: sink.items.map((d) => d.message) };
}

/** The single element of `list`; fails when there are none or several. */
export function only<T>(list: readonly T[]): T {
  assertEquals(list.length, 1, `expected exactly one element, got ${list.length}`);
  return list[0] as T;
}

/** A parse context at t.conf:1:1 for calling a value type directly. */
export function ctxFor(keyword: string, sink: DiagnosticSink): ParseContext {
  const loc = { file: "t.conf", line: 1, column: 1 };
  return {
    sink,
    node: { keyword, args: [], raw: keyword, loc },
    keyword,
    loc: () => loc,
    error: (m, _i, c) => sink.report(c ?? DiagClass.GENERAL_ERROR, m, loc, keyword),
    warn: (m, _i, c) => sink.report(c ?? DiagClass.WARNING, m, loc, keyword),
    missing: (w) => sink.report(DiagClass.MISSING_PARAMETER, `missing ${w}`, loc, keyword),
  };
}

/** The first diagnostic in `sink` whose message contains `part` (and has class `cls`). */
export function hasMsg(r: { sink: DiagnosticSink }, part: string, cls?: DiagClass): Diagnostic {
  const d = r.sink.items.find((x) =>
    x.message.includes(part) && (cls === undefined || x.class === cls)
  );
  assert(
    d !== undefined,
    `no diagnostic containing '${part}'${cls ? ` of class ${cls}` : ""} in:\n${
      r.sink.items.map((x) => x.message).join("\n")
    }`,
  );
  return d;
}

/** Unquoted tokens for `words`, as the lexer would give them. */
export function toks(words: readonly string[]): Token[] {
  return words.map((w) => ({ text: w, quoted: false, column: 0 }));
}
