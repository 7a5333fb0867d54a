/**
 * The shapes that flow between the configuration stages:
 * preprocessor (lines) → tree builder (nodes) → schema (typed model).
 *
 * Pure data, no behaviour.
 */
import type { SourceLoc } from "./diagnostic.ts";

/** One word of a configuration line after comments, quotes and braces are handled. */
export interface Token {
  /** The word with surrounding double quotes removed. */
  readonly text: string;
  /** True when the word was written in double quotes (so `{`, `}`, `#` inside are literal). */
  readonly quoted: boolean;
  /** 1-based column in the physical line the token came from. */
  readonly column: number;
}

/**
 * A logical line: the output of the preprocessor for one physical line (or one expansion
 * of a `~SEQ`/`~LST` line or multi-line definition), already decommented, substituted and
 * split at braces so that `{` and `}` appear only as lines of their own.
 */
export interface LogicalLine {
  readonly tokens: readonly Token[];
  /**
   * The text the tokens came from (after substitution, before tokenising). Script-like
   * keywords (`notify*`, `script`, `misc_path`, …) re-split it with shell-like rules
   * (spec/vrrp.md §4.1).
   */
  readonly raw: string;
  readonly loc: SourceLoc;
}

/** A keyword line with its arguments, and its block when a `{ … }` followed it. */
export interface Node {
  readonly keyword: string;
  readonly args: readonly Token[];
  readonly raw: string;
  readonly loc: SourceLoc;
  /** Present when the keyword opened a block. */
  readonly children?: readonly Node[];
}
