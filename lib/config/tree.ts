/**
 * The block tree of a configuration (spec/vrrp.md §4.1, §4.3, §4.8): logical lines in,
 * nodes with children out.
 *
 * Owns brace structure only: a line followed by a `{` line opens a block on that line, `}`
 * closes the innermost block, and unbalanced braces become diagnostics (Extra '}',
 * unexpected '{', missing '}', nesting too deep). It must not interpret keywords (the
 * schema decides which keywords take blocks) and it is iterative, so no input can exhaust
 * the call stack.
 */
import type { LogicalLine, Node, Token } from "./ast.ts";
import { DiagClass, type DiagnosticSink, type SourceLoc } from "./diagnostic.ts";

/** How deeply blocks may nest; keepalived's deepest real block is 4 levels. */
export const MAX_BLOCK_DEPTH = 64;

interface MutableNode {
  keyword: string;
  args: readonly Token[];
  raw: string;
  loc: LogicalLine["loc"];
  children?: MutableNode[];
}

/** An open block: the node that opened it, or null for a `{` that had no keyword. */
interface Frame {
  readonly owner: MutableNode | null;
  readonly children: MutableNode[];
  /** Where the `{` was. */
  readonly at: SourceLoc;
}

function isBrace(line: LogicalLine, brace: "{" | "}"): boolean {
  const t = line.tokens[0];
  return line.tokens.length === 1 && t !== undefined && !t.quoted && t.text === brace;
}

/**
 * Builds the block tree one logical line at a time, so that the preprocessor can hand lines
 * over as it makes them and no array of every line is kept. The rules are those of
 * {@link buildTree}.
 *
 * With `onNode`, each top-level node goes to `onNode` as soon as it is complete, in order,
 * and is not kept: a large configuration is then never held as a whole tree (the loader
 * parses each top-level block while the file is still being read). A top-level node is
 * complete when the next one starts (it can no longer take a block or gain children), or
 * at `finish`.
 */
export class TreeBuilder {
  readonly #sink: DiagnosticSink;
  readonly #onNode: ((node: Node) => void) | undefined;
  readonly #root: MutableNode[] = [];
  readonly #stack: Frame[];
  /** The node of the previous line, while it can still take a block. */
  #candidate: MutableNode | null = null;
  /** With `onNode`: the newest top-level node, not yet handed over. */
  #lastTop: MutableNode | null = null;
  /** Braces opened beyond MAX_BLOCK_DEPTH that are not yet closed. */
  #overflow = 0;
  #overflowAt: SourceLoc | undefined;

  constructor(sink: DiagnosticSink, onNode?: (node: Node) => void) {
    this.#sink = sink;
    this.#onNode = onNode;
    this.#stack = [{ owner: null, children: this.#root, at: { file: "", line: 0, column: 0 } }];
  }

  /** Add the next logical line. */
  add(line: LogicalLine): void {
    const first = line.tokens[0];
    if (first === undefined) return;
    const stack = this.#stack;
    const sink = this.#sink;

    if (this.#overflow > 0) {
      if (isBrace(line, "{")) this.#overflow++;
      else if (isBrace(line, "}")) this.#overflow--;
      this.#candidate = null;
      return;
    }

    if (isBrace(line, "{")) {
      const owner = this.#candidate;
      this.#candidate = null;
      if (stack.length > MAX_BLOCK_DEPTH) {
        this.#overflow = 1;
        if (this.#overflowAt === undefined) {
          this.#overflowAt = line.loc;
          sink.report(
            DiagClass.FATAL,
            `blocks nested deeper than ${MAX_BLOCK_DEPTH} levels - ignoring everything deeper`,
            line.loc,
            owner?.keyword,
          );
        }
        return;
      }
      if (owner === null) {
        sink.report(
          DiagClass.UNEXPECTED_BOB,
          "Unexpected '{' with no keyword before it - ignoring the brace; put the block's keyword on the line before it",
          line.loc,
        );
        stack.push({
          owner: null,
          children: (stack[stack.length - 1] as Frame).children,
          at: line.loc,
        });
        return;
      }
      owner.children = [];
      stack.push({ owner, children: owner.children, at: line.loc });
      return;
    }

    this.#candidate = null;
    if (isBrace(line, "}")) {
      if (stack.length === 1) {
        sink.report(
          DiagClass.UNEXPECTED_EOB,
          "Extra '}' found - ignoring it; check the braces of the block above",
          line.loc,
        );
        return;
      }
      stack.pop();
      return;
    }

    const node: MutableNode = {
      keyword: first.text,
      args: line.tokens.slice(1),
      raw: line.raw,
      loc: line.loc,
    };
    const children = (stack[stack.length - 1] as Frame).children;
    if (children === this.#root && this.#onNode !== undefined) {
      // Only frames without an owner can be open above the top level now, so the previous
      // top-level node is complete.
      if (this.#lastTop !== null) this.#onNode(this.#lastTop);
      this.#lastTop = node;
    } else {
      children.push(node);
    }
    this.#candidate = node;
  }

  /**
   * Report the blocks left open, hand over the last top-level node (with `onNode`), and
   * return the top-level nodes (none with `onNode`: they were handed over).
   */
  finish(): Node[] {
    const sink = this.#sink;
    const stack = this.#stack;
    for (let i = stack.length - 1; i > 0; i--) {
      const frame = stack[i] as Frame;
      const owner = frame.owner;
      if (owner !== null) {
        sink.report(
          DiagClass.MISSING_EOB,
          `Missing '}' for '${owner.keyword}' opened at line ${owner.loc.line} of ${owner.loc.file} - add the closing '}'`,
          owner.loc,
          owner.keyword,
        );
      } else {
        sink.report(
          DiagClass.MISSING_EOB,
          "Missing '}' for an unexpected '{' - add the closing '}' or remove the '{'",
          frame.at,
        );
      }
    }
    if (this.#overflow > 0) {
      sink.report(
        DiagClass.MISSING_EOB,
        `There are ${this.#overflow} missing '}'s in blocks nested deeper than ${MAX_BLOCK_DEPTH} levels`,
        this.#overflowAt,
      );
    }
    if (this.#onNode !== undefined && this.#lastTop !== null) {
      const last = this.#lastTop;
      this.#lastTop = null;
      this.#onNode(last);
    }
    return this.#root;
  }
}

/**
 * Build the block tree. A `{` line opens a block on the line just before it (keepalived
 * accepts the brace on the keyword's line or on the next line); `}` closes the innermost
 * open block. Problems, none of which stop the build:
 * - `}` with no open block → UNEXPECTED_EOB "Extra '}' found"; it closes nothing.
 * - `{` not directly after a keyword line → UNEXPECTED_BOB; the lines inside go to the
 *   enclosing block and the matching `}` closes only this brace.
 * - blocks still open at the end → MISSING_EOB per block, naming its keyword and line.
 * - blocks nested deeper than {@link MAX_BLOCK_DEPTH} → one FATAL; the deeper lines are
 *   dropped (their braces are still counted).
 *
 * @example
 * ```ts
 * import { DiagnosticSink } from "./diagnostic.ts";
 * import { lexLine } from "./lexer.ts";
 * const nodes = buildTree(lexLine("vrrp_instance VI_1 { state MASTER }", "k", 1).lines,
 *   new DiagnosticSink());
 * nodes[0]?.children?.[0]?.keyword; // "state"
 * ```
 */
export function buildTree(lines: readonly LogicalLine[], sink: DiagnosticSink): Node[] {
  const builder = new TreeBuilder(sink);
  for (const line of lines) builder.add(line);
  return builder.finish();
}
