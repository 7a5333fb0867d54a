/**
 * keepalived.conf lexical rules for one line of text (spec/vrrp.md §4.1).
 *
 * Owns comment removal (`#`/`!` outside double quotes, `\#` and `\!` literals), the
 * splitting of a line at `{`/`}` outside double quotes and the splitting of a line into
 * tokens (double-quoted words lose their quotes, single quotes are ordinary characters).
 * It reads no files, knows nothing of definitions or includes (that is preprocess.ts) and
 * nothing of keywords (that is the schema).
 */
import type { LogicalLine, Token } from "./ast.ts";

const QUOTE = 0x22; // "
const BACKSLASH = 0x5c;
const HASH = 0x23;
const BANG = 0x21;
const SPACE = 0x20;
const TAB = 0x09;
const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }

/** Blank in keepalived's sense (`isblank`): space or tab. */
function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

/** Token separator (keepalived's WHITE_SPACE: space, \t, \n, \v, \f, \r). */
function isSpace(c: number): boolean {
  return c === SPACE || (c >= 0x09 && c <= 0x0d);
}

/** The result of removing comments and surrounding blanks from a line. */
export interface Decommented {
  /** The line without its comment and without leading and trailing blanks. */
  readonly text: string;
  /** Index (from `from`) at which `text` starts: the number of leading blanks removed. */
  readonly offset: number;
  /** True when a double quote opened before any comment is never closed. */
  readonly unterminatedQuote: boolean;
}

/**
 * Remove a comment and the blanks around a line (spec/vrrp.md §4.1); `from` and `to`
 * select the line within a longer text. A comment starts at
 * `#` or `!` outside double quotes and runs to the end of the line. A backslash escapes
 * the character after it, so `\#` and `\!` are not comments; the backslash itself stays
 * until {@link unescapeComments}, so that a second pass after substitution (§4.5) still
 * sees the escape. As in keepalived, a line whose last character is `\` keeps that `\`
 * (with the blanks before it removed) even when it follows a comment, which is what
 * continues a multi-line definition.
 *
 * @example
 * ```ts
 * decomment('  priority 100   # backup').text; // "priority 100"
 * decomment("auth_pass 'ab#cd'").text;        // "auth_pass 'ab"
 * ```
 */
export function decomment(line: string, from = 0, to = line.length): Decommented {
  const n = to;
  let start = from;
  while (start < n && isBlank(line.charCodeAt(start))) start++;
  let quote = false;
  let comment = -1;
  let cont = false;
  let end = n;
  for (let i = start; i < n; i++) {
    const c = line.charCodeAt(i);
    if (c === QUOTE) {
      if (comment < 0) quote = !quote;
    } else if (c === BACKSLASH) {
      if (i + 1 < n) {
        i++;
      } else {
        cont = true;
        end = i;
      }
    } else if ((c === HASH || c === BANG) && !quote && comment < 0) {
      comment = i;
    }
  }
  if (comment >= 0 && comment < end) end = comment;
  while (end > start && isBlank(line.charCodeAt(end - 1))) end--;
  let text = line.slice(start, end);
  if (cont) text += "\\";
  return { text, offset: start - from, unterminatedQuote: quote };
}

/**
 * Turn `\#` and `\!` outside double quotes into `#` and `!` (spec/vrrp.md §4.1). Done once,
 * after the last comment pass, so that an escaped comment character survives substitution.
 */
export function unescapeComments(text: string): string {
  if (text.indexOf("\\") < 0) return text;
  let out = "";
  let from = 0;
  let quote = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      quote = !quote;
    } else if (c === BACKSLASH && i + 1 < n) {
      const d = text.charCodeAt(i + 1);
      if (!quote && (d === HASH || d === BANG)) {
        out += text.slice(from, i);
        from = i + 1;
      }
      i++;
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

/** One step of brace splitting. */
export interface BraceSplit {
  /** The text to keep as this line: text before the first brace, or the brace itself. */
  readonly head: string;
  /** What follows, to be processed as a line of its own, or null when nothing follows. */
  readonly rest: string | null;
  /** Index of `rest` in the input text. */
  readonly restOffset: number;
}

/**
 * Split a line at its first `{` or `}` outside double quotes (spec/vrrp.md §4.1): when the
 * line starts with the brace, the brace is the head and the remainder (blanks skipped) the
 * rest; otherwise the text before the brace is the head and the rest starts at the brace.
 * Trailing blanks are removed from both. A line with an unterminated double quote is not
 * split after the quote.
 */
export function splitAtBrace(text: string): BraceSplit {
  const n = text.length;
  let p = -1;
  const first = n > 0 ? text.charCodeAt(0) : 0;
  if (first === OPEN || first === CLOSE) {
    p = 0;
  } else {
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === OPEN || c === CLOSE) {
        p = i;
        break;
      }
      if (c === QUOTE) {
        const close = text.indexOf('"', i + 1);
        if (close < 0) break;
        i = close;
      }
    }
  }
  if (p < 0) return { head: trimEndBlanks(text), rest: null, restOffset: n };
  let restStart = p;
  let headEnd = p;
  if (p === 0) {
    headEnd = 1;
    restStart = 1;
    while (restStart < n && isBlank(text.charCodeAt(restStart))) restStart++;
  }
  const rest = trimEndBlanks(text.slice(restStart));
  return {
    head: trimEndBlanks(text.slice(0, headEnd)),
    rest: rest.length > 0 ? rest : null,
    restOffset: restStart,
  };
}

function trimEndBlanks(s: string): string {
  let end = s.length;
  while (end > 0 && isBlank(s.charCodeAt(end - 1))) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** A piece of a line produced by {@link splitBraces}. */
export interface Piece {
  readonly text: string;
  /** Index of the piece in the line it came from. */
  readonly offset: number;
}

/**
 * Split a line completely at braces outside double quotes: `name { a b }` gives `name`,
 * `{`, `a b` and `}`.
 */
export function splitBraces(text: string): Piece[] {
  const pieces: Piece[] = [];
  let cur: string | null = text;
  let base = 0;
  while (cur !== null) {
    const s = splitAtBrace(cur);
    if (s.head.length > 0) pieces.push({ text: s.head, offset: base });
    base += s.restOffset;
    cur = s.rest;
  }
  return pieces;
}

/** The tokens of a line and whether a double quote was left open. */
export interface Tokenized {
  readonly tokens: Token[];
  /** True when a token started with `"` and no closing `"` followed (the rest is dropped). */
  readonly unterminatedQuote: boolean;
}

/**
 * Split text into tokens at whitespace (spec/vrrp.md §4.1). A token starting with `"` runs
 * to the next `"` and loses both quotes (no escape processing); any other token runs to
 * whitespace or a `"`. `column` is the 1-based column of `text[0]`. With `unescape`, `\#`
 * and `\!` in unquoted tokens become `#` and `!` (see {@link unescapeComments}).
 *
 * @example
 * ```ts
 * tokenize('notify "/bin/x a"', 1).tokens.map((t) => t.text); // ["notify", "/bin/x a"]
 * ```
 */
export function tokenize(text: string, column: number, unescape = false): Tokenized {
  // First find the token boundaries, then allocate an array of exactly the right size:
  // arrays grown by push() keep a much larger backing store, which matters for the tens
  // of thousands of lines of a big configuration.
  let bounds = boundScratch;
  let count = 0;
  let unterminatedQuote = false;
  const n = text.length;
  let i = 0;
  for (;;) {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (i >= n) break;
    let start = i;
    let end: number;
    let quoted = 0;
    if (text.charCodeAt(i) === QUOTE) {
      const close = text.indexOf('"', i + 1);
      if (close < 0) {
        unterminatedQuote = true;
        break;
      }
      start = i + 1;
      end = close;
      i = close + 1;
      quoted = 1;
    } else {
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c === QUOTE || isSpace(c)) break;
        i++;
      }
      end = i;
    }
    if (3 * count + 3 > bounds.length) {
      const bigger = new Int32Array(bounds.length * 2);
      bigger.set(bounds);
      bounds = boundScratch = bigger;
    }
    bounds[3 * count] = start;
    bounds[3 * count + 1] = end;
    bounds[3 * count + 2] = quoted;
    count++;
  }
  const tokens: Token[] = new Array(count);
  for (let k = 0; k < count; k++) {
    const start = bounds[3 * k] as number;
    const end = bounds[3 * k + 1] as number;
    if (bounds[3 * k + 2] === 1) {
      tokens[k] = { text: text.slice(start, end), quoted: true, column: column + start - 1 };
    } else {
      const word = start === 0 && end === n ? text : text.slice(start, end);
      tokens[k] = {
        text: unescape && word.indexOf("\\") >= 0 ? unescapeComments(word) : word,
        quoted: false,
        column: column + start,
      };
    }
  }
  return { tokens, unterminatedQuote };
}

let boundScratch = new Int32Array(96);

/** The result of {@link lexLine}. */
export interface LexedLine {
  readonly lines: LogicalLine[];
  /** True when a double quote was left open (keepalived: "Unterminated quote"). */
  readonly unterminatedQuote: boolean;
}

/**
 * One physical line to logical lines, without definitions or includes: decomment,
 * unescape `\#`/`\!`, split at braces, tokenize. Columns are 1-based in `line`.
 *
 * @example
 * ```ts
 * lexLine("vrrp_instance VI_1 { state MASTER }", "k.conf", 3).lines.map((l) => l.raw);
 * // ["vrrp_instance VI_1", "{", "state MASTER", "}"]
 * ```
 */
export function lexLine(line: string, file: string, lineNo: number): LexedLine {
  const d = decomment(line);
  let unterminated = d.unterminatedQuote;
  const lines: LogicalLine[] = [];
  for (const piece of splitBraces(d.text)) {
    const column = d.offset + piece.offset + 1;
    const t = tokenize(piece.text, column, true);
    if (t.unterminatedQuote) unterminated = true;
    const first = t.tokens[0];
    if (first === undefined) continue;
    lines.push({
      tokens: t.tokens,
      raw: unescapeComments(piece.text),
      loc: { file, line: lineNo, column: first.column },
    });
  }
  return { lines, unterminatedQuote: unterminated };
}
