/**
 * The keepalived.conf preprocessor (spec/vrrp.md §4.1, §4.4–§4.7): files and includes in,
 * logical lines out.
 *
 * Owns reading configuration files through a `ConfigFs`, physical-line checks (length,
 * NUL bytes, UTF-8), `@ID` conditionals, `$NAME=` definitions (also multi-line) and their
 * substitution, the built-in definitions, `~SEQ`/`~SEQx`/`~LST`, `include*` with globs and
 * `include_check`, and brace splitting. Each physical line goes, in keepalived's order:
 * read → decomment → @ conditional → definition → ~SEQ/~LST → substitution → decomment
 * again → include → brace split (§4.5). It must not interpret keywords (that is the schema)
 * or build blocks (that is tree.ts), and it never throws for bad input: every problem is a
 * diagnostic with file and line.
 *
 * Deliberate choices where keepalived is silent or surprising:
 * - `\#` and `\!` stay escaped through substitution and become `#`/`!` only at the end, so
 *   an escaped comment character is never turned into a comment by the second pass.
 * - A substitution whose result starts with `~SEQ`/`~LST` is expanded; one producing `@ID`
 *   or `$NAME=` is not re-evaluated ([quirk] §4.5, as keepalived 2.4).
 * - `~SEQ`/`~LST` and multi-line definitions do not run on past the end of the file that
 *   started them; an include is read completely where it appears.
 * - A plain `include` of a literal path that does not exist is reported (FILE_NOT_FOUND);
 *   wildcard patterns matching nothing are reported only with `includew`/`wildcard_match`.
 */
import { errorText } from "../runtime/error_text.ts";
import { posix } from "node:path";
import type { LogicalLine } from "./ast.ts";
import { DiagClass, type DiagnosticSink, type SourceLoc } from "./diagnostic.ts";
import { decomment, splitAtBrace, tokenize, unescapeComments } from "./lexer.ts";
import type { ConfigFs } from "./source.ts";

/** Inputs of the preprocessor. */
export interface PreprocessOptions {
  fs: ConfigFs;
  sink: DiagnosticSink;
  /** For `@ID` / `@^ID` and `${_INSTANCE}`; "" means no config-id. The caller picks the default. */
  configId: string;
  /** For `${_ENV NAME}`. */
  env: (name: string) => string | undefined;
  /** For `${_RANDOM}`: a number in [0, 1). Default Math.random. */
  random?: () => number;
  /** keepalived `-e/--all-config`: every include check on. */
  allConfig?: boolean;
  /** Directory that relative paths are relative to (for `${_PWD}` and include cycles). Default: the process's. */
  cwd?: string;
  /** How many lines (read or generated) the configuration may amount to. Default {@link MAX_TOTAL_LINES}. */
  maxLines?: number;
  /**
   * When set, each logical line goes here as soon as it is made, and the result's `lines`
   * stays empty: the loader builds the block tree as it goes instead of keeping every line.
   */
  onLine?: (line: LogicalLine) => void;
}

/** The logical lines of the whole configuration and the files they came from, in reading order. */
export interface PreprocessResult {
  lines: LogicalLine[];
  files: string[];
}

/** keepalived's line buffer (MAXBUF): 1024 bytes including the newline (spec/vrrp.md §4.1). */
export const MAX_LINE_BYTES = 1024;
/** Invalid lines after which a file is taken to be binary and reading it stops. */
export const MAX_BAD_LINES = 20;
/** How deeply includes may nest. */
export const MAX_INCLUDE_DEPTH = 32;
/** How deeply ~SEQ/~LST and multi-line definitions may nest inside each other. */
export const MAX_EXPANSION_DEPTH = 32;
/** How many values one ~SEQ or ~LST may produce. */
export const MAX_SEQUENCE_VALUES = 100_000;
/** How many lines (read or generated) one configuration may amount to by default. */
export const MAX_TOTAL_LINES = 1_000_000;
/** How many substitutions one line may undergo. */
const MAX_SUBSTITUTIONS = 1024;
/** How many alternatives one include pattern's `{a,b}` may expand to. */
const MAX_BRACE_ALTERNATIVES = 1024;

// include check bits (spec/vrrp.md §4.4)
const INCLUDE_R = 1; // readable: directories, unreadable and non-regular files are errors
const INCLUDE_M = 2; // match: a literal pattern must match
const INCLUDE_W = 4; // wildcard_match: a wildcard pattern must match
const INCLUDE_B = 8; // brace_match: every {a,b} alternative must match
const INCLUDE_ALL = INCLUDE_R | INCLUDE_M | INCLUDE_W | INCLUDE_B;

const INCLUDE_CHECK_NAMES: Readonly<Record<string, number>> = {
  readable: INCLUDE_R,
  read: INCLUDE_R,
  match: INCLUDE_M,
  wildcard_match: INCLUDE_W,
  brace_match: INCLUDE_B,
};

const BUILTINS: ReadonlySet<string> = new Set([
  "_PWD",
  "_INSTANCE",
  "_RANDOM",
  "_ENV",
  "_HASH",
  "_BANG",
]);

/** A definition: one line, or several for a multi-line definition. */
interface Definition {
  lines: string[];
  multiline: boolean;
}

/** A line of text waiting to go through the pipeline, with where it came from. */
interface Pending {
  readonly text: string;
  readonly file: string;
  readonly line: number;
  /** 1-based column of text[0] in the physical line (approximate after substitution). */
  readonly col: number;
  /** Nesting of ~SEQ/~LST/multi-line expansions this line came out of. */
  readonly depth: number;
  /** The remainder of a line split at a brace: already substituted. */
  readonly residue: boolean;
}

/** A source of generated lines; the newest runs first (keepalived's precedence). */
interface Generator {
  next(): Pending | null;
}

/** Per-file reading state. */
interface FileState {
  readonly file: string;
  readonly stack: Generator[];
  /** The multi-line definition being collected, if any. */
  mlDef: Definition | null;
}

/** A `$NAME` / `${NAME params}` reference found in a line. */
interface Ref {
  readonly name: string;
  readonly params: string[] | null;
  /** Index just after the reference. */
  readonly end: number;
  readonly written: string;
}

const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function isNameStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39);
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function isName(s: string): boolean {
  if (s.length === 0 || !isNameStart(s.charCodeAt(0))) return false;
  for (let i = 1; i < s.length; i++) if (!isNameChar(s.charCodeAt(i))) return false;
  return true;
}

function skipBlanks(s: string, i: number): number {
  while (i < s.length && isBlank(s.charCodeAt(i))) i++;
  return i;
}

/** Length of `s` in UTF-8 bytes. */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}

/** `strtol(s, &end, 0)` on the whole of `s` (blanks around allowed); null unless it is all a number. */
function parseLong(s: string): number | null {
  let i = skipBlanks(s, 0);
  let sign = 1;
  if (s[i] === "+" || s[i] === "-") {
    if (s[i] === "-") sign = -1;
    i++;
  }
  let base = 10;
  if (
    s[i] === "0" && (s[i + 1] === "x" || s[i + 1] === "X") && /[0-9a-fA-F]/.test(s[i + 2] ?? "")
  ) {
    base = 16;
    i += 2;
  } else if (s[i] === "0") {
    base = 8;
  }
  const start = i;
  let v = 0;
  for (; i < s.length; i++) {
    const d = parseInt(s[i] as string, base);
    if (Number.isNaN(d)) break;
    v = v * base + d;
  }
  if (i === start) return null;
  if (skipBlanks(s, i) !== s.length) return null;
  if (!Number.isSafeInteger(v)) return null;
  return sign * v;
}

/** Expand `{a,b}` groups (nesting allowed, `\{` literal), in written order. */
export function expandBraces(pattern: string, limit = MAX_BRACE_ALTERNATIVES): string[] | null {
  const out: string[] = [];
  const work: string[] = [pattern];
  while (work.length > 0) {
    const t = work.pop() as string;
    let open = -1;
    let close = -1;
    const commas: number[] = [];
    for (let i = 0; i < t.length && close < 0; i++) {
      const c = t[i];
      if (c === "\\") {
        i++;
        continue;
      }
      if (c !== "{") continue;
      let depth = 0;
      const found: number[] = [];
      for (let j = i; j < t.length; j++) {
        const d = t[j];
        if (d === "\\") {
          j++;
        } else if (d === "{") {
          depth++;
        } else if (d === "}") {
          depth--;
          if (depth === 0) {
            open = i;
            close = j;
            commas.push(...found);
            break;
          }
        } else if (d === "," && depth === 1) {
          found.push(j);
        }
      }
    }
    if (close < 0) {
      out.push(t);
      if (out.length > limit) return null;
      continue;
    }
    const prefix = t.slice(0, open);
    const suffix = t.slice(close + 1);
    const bounds = [open, ...commas, close];
    const alts: string[] = [];
    for (let k = 0; k + 1 < bounds.length; k++) {
      alts.push(prefix + t.slice((bounds[k] as number) + 1, bounds[k + 1]) + suffix);
    }
    for (let k = alts.length - 1; k >= 0; k--) work.push(alts[k] as string);
    if (work.length + out.length > limit) return null;
  }
  return out;
}

function hasWildcard(segment: string): boolean {
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === "\\") i++;
    else if (c === "*" || c === "?" || c === "[") return true;
  }
  return false;
}

function unescapeGlob(segment: string): string {
  return segment.indexOf("\\") < 0 ? segment : segment.replace(/\\(.)/g, "$1");
}

/** Match one `[...]` class at pattern[p] against ch; returns [matched, index after class] or null if not a class. */
function matchClass(pattern: string, p: number, ch: string): [boolean, number] | null {
  let i = p + 1;
  let negate = false;
  if (pattern[i] === "!" || pattern[i] === "^") {
    negate = true;
    i++;
  }
  let matched = false;
  let first = true;
  while (i < pattern.length) {
    let c = pattern[i] as string;
    if (c === "]" && !first) return [matched !== negate, i + 1];
    first = false;
    if (c === "\\" && i + 1 < pattern.length) {
      i++;
      c = pattern[i] as string;
    }
    if (pattern[i + 1] === "-" && i + 2 < pattern.length && pattern[i + 2] !== "]") {
      let hi = pattern[i + 2] as string;
      let skip = 3;
      if (hi === "\\" && i + 3 < pattern.length) {
        hi = pattern[i + 3] as string;
        skip = 4;
      }
      if (ch >= c && ch <= hi) matched = true;
      i += skip;
    } else {
      if (ch === c) matched = true;
      i++;
    }
  }
  return null;
}

/** fnmatch(3) for one path segment: `*`, `?`, `[...]`, `\x`. Linear backtracking on the last `*`. */
export function matchSegment(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let starP = -1;
  let starN = 0;
  while (n < name.length) {
    const c = pattern[p];
    if (c === "*") {
      starP = ++p;
      starN = n;
      continue;
    }
    if (c !== undefined) {
      const ch = name[n] as string;
      if (c === "?") {
        p++;
        n++;
        continue;
      }
      if (c === "[") {
        const m = matchClass(pattern, p, ch);
        if (m !== null) {
          if (m[0]) {
            p = m[1];
            n++;
            continue;
          }
        } else if (ch === "[") {
          p++;
          n++;
          continue;
        }
      } else if (c === "\\" && p + 1 < pattern.length) {
        if (pattern[p + 1] === ch) {
          p += 2;
          n++;
          continue;
        }
      } else if (c === ch) {
        p++;
        n++;
        continue;
      }
    }
    if (starP < 0) return false;
    p = starP;
    n = ++starN;
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}

class Preprocessor {
  readonly #fs: ConfigFs;
  readonly #sink: DiagnosticSink;
  readonly #opts: PreprocessOptions;
  readonly #random: () => number;
  readonly #defs = new Map<string, Definition>();
  readonly #out: LogicalLine[] = [];
  readonly #onLine: ((line: LogicalLine) => void) | undefined;
  readonly #files: string[] = [];
  readonly #seenFiles = new Set<string>();
  /** Absolute paths of the files being read, outermost first. */
  readonly #includeStack: string[] = [];
  readonly #includeNames: string[] = [];
  readonly #quoteReported = new Set<string>();
  readonly #warned = new Set<string>();
  #includeCheck = 0;
  #total = 0;
  #stopped = false;
  #cwd: string | undefined;
  readonly #maxLines: number;

  constructor(opts: PreprocessOptions) {
    this.#opts = opts;
    this.#fs = opts.fs;
    this.#sink = opts.sink;
    this.#random = opts.random ?? Math.random;
    this.#cwd = opts.cwd;
    this.#maxLines = opts.maxLines ?? MAX_TOTAL_LINES;
    this.#onLine = opts.onLine;
  }

  result(): PreprocessResult {
    return { lines: this.#out, files: this.#files };
  }

  // ---- files ---------------------------------------------------------------------------

  #absolute(path: string): string {
    if (posix.isAbsolute(path)) return posix.normalize(path);
    if (this.#cwd === undefined) {
      try {
        this.#cwd = Deno.cwd();
      } catch {
        this.#cwd = "/";
      }
    }
    return posix.resolve(this.#cwd, path);
  }

  /** Read the main configuration file (which may itself be a glob, as keepalived allows). */
  main(pattern: string): void {
    this.#include(pattern, INCLUDE_R | INCLUDE_M | INCLUDE_W, null, "");
  }

  /** Process text as if it were the file `name`. */
  text(text: string, name: string): void {
    this.#enterFile(name, () => this.#readString(text, name));
  }

  #enterFile(display: string, read: () => void): void {
    const abs = this.#absolute(display);
    if (!this.#seenFiles.has(abs)) {
      this.#seenFiles.add(abs);
      this.#files.push(display);
    }
    this.#includeStack.push(abs);
    this.#includeNames.push(display);
    const savedCheck = this.#includeCheck;
    try {
      read();
    } finally {
      this.#includeCheck = savedCheck;
      this.#includeStack.pop();
      this.#includeNames.pop();
    }
  }

  #newState(file: string): FileState {
    return { file, stack: [], mlDef: null };
  }

  #endFile(st: FileState): void {
    if (st.mlDef !== null) this.#finishMultiline(st);
  }

  /** Fast path: the whole file is valid UTF-8 without NUL bytes. */
  #readBytes(bytes: Uint8Array, file: string): void {
    let text: string | null = null;
    if (bytes.indexOf(0) < 0) {
      try {
        text = fatalDecoder.decode(bytes);
      } catch {
        text = null;
      }
    }
    if (text !== null) {
      this.#readString(text, file);
      return;
    }
    this.#readBadBytes(bytes, file);
  }

  #readString(text: string, file: string): void {
    const st = this.#newState(file);
    let from = text.charCodeAt(0) === 0xfeff ? 1 : 0;
    let lineNo = 0;
    let bad = 0;
    const n = text.length;
    const hasNul = text.indexOf("\0") >= 0;
    while (from < n && !this.#stopped) {
      let nl = text.indexOf("\n", from);
      if (nl < 0) nl = n;
      lineNo++;
      let end = nl;
      const start = from;
      from = nl + 1;
      if (end - start > 341) {
        const bytes = utf8Length(text.slice(start, end)) + 1;
        if (bytes > MAX_LINE_BYTES) {
          this.#lineTooLong(file, lineNo, bytes);
          continue;
        }
      }
      while (end > start && text.charCodeAt(end - 1) === 0x0d) end--;
      if (hasNul) {
        const nul = text.indexOf("\0", start);
        if (nul >= 0 && nul < end) {
          this.#sink.error(`line ${lineNo} contains a NUL byte - ignoring`, {
            file,
            line: lineNo,
            column: nul - start + 1,
          });
          if (++bad >= MAX_BAD_LINES) {
            this.#looksBinary(file, lineNo);
            break;
          }
          continue;
        }
      }
      this.#physical(text, start, end, lineNo, st);
    }
    this.#endFile(st);
  }

  /** Slow path: check each line for NUL bytes and invalid UTF-8. */
  #readBadBytes(bytes: Uint8Array, file: string): void {
    const st = this.#newState(file);
    let from = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    let lineNo = 0;
    let bad = 0;
    const n = bytes.length;
    while (from < n && !this.#stopped) {
      let nl = bytes.indexOf(0x0a, from);
      if (nl < 0) nl = n;
      lineNo++;
      const size = nl - from + 1;
      let end = nl;
      while (end > from && bytes[end - 1] === 0x0d) end--;
      const chunk = bytes.subarray(from, end);
      from = nl + 1;
      const loc = { file, line: lineNo, column: 1 };
      const nul = chunk.indexOf(0);
      if (nul >= 0) {
        this.#sink.error(`line ${lineNo} contains a NUL byte - ignoring`, {
          ...loc,
          column: nul + 1,
        });
      } else if (size > MAX_LINE_BYTES) {
        this.#lineTooLong(file, lineNo, size);
        continue;
      } else {
        let raw: string | null = null;
        try {
          raw = fatalDecoder.decode(chunk);
        } catch {
          this.#sink.error(
            `line ${lineNo} is not valid UTF-8 - ignoring (save the file as UTF-8 or ASCII text)`,
            loc,
          );
        }
        if (raw !== null) {
          this.#physical(raw, 0, raw.length, lineNo, st);
          continue;
        }
      }
      if (++bad >= MAX_BAD_LINES) {
        this.#looksBinary(file, lineNo);
        break;
      }
    }
    this.#endFile(st);
  }

  #lineTooLong(file: string, line: number, bytes: number): void {
    this.#sink.error(
      `line too long (${bytes} bytes, the limit is ${MAX_LINE_BYTES}) - ignoring`,
      { file, line, column: 1 },
    );
  }

  #looksBinary(file: string, line: number): void {
    this.#sink.error(
      `file looks binary (${MAX_BAD_LINES} lines with NUL bytes or invalid UTF-8) - stopped reading '${file}'; check the path`,
      { file, line, column: 1 },
    );
  }

  // ---- lines ---------------------------------------------------------------------------

  /** One physical line, text[from, to), after the length, NUL and UTF-8 checks. */
  #physical(text: string, from: number, to: number, lineNo: number, st: FileState): void {
    if (to === from) {
      // A really empty line ends a multi-line definition (§4.5).
      if (st.mlDef !== null) this.#finishMultiline(st);
      return;
    }
    const d = decomment(text, from, to);
    if (d.unterminatedQuote) this.#reportQuote(st.file, lineNo, d.offset + 1, d.text);
    if (st.mlDef !== null) {
      if (d.text.length > 0) this.#continueMultiline(st, d.text);
      return;
    }
    if (d.text.length === 0) return;
    this.#process(
      { text: d.text, file: st.file, line: lineNo, col: d.offset + 1, depth: 0, residue: false },
      st,
    );
    if (st.stack.length > 0) this.#drain(st);
  }

  #drain(st: FileState): void {
    const stack = st.stack;
    while (stack.length > 0 && !this.#stopped) {
      const p = (stack[stack.length - 1] as Generator).next();
      if (p === null) stack.pop();
      else this.#process(p, st);
    }
    stack.length = 0;
  }

  #loc(p: Pending, col = p.col): SourceLoc {
    return { file: p.file, line: p.line, column: col };
  }

  /**
   * The pipeline of §4.5 for one line of text (read or generated). The remainder after a
   * brace goes through it again straight away, as keepalived does, but is not substituted
   * a second time.
   */
  #process(p: Pending, st: FileState): void {
    if (p.depth > MAX_EXPANSION_DEPTH) {
      this.#sink.error(
        `~SEQ/~LST and multi-line definitions nested deeper than ${MAX_EXPANSION_DEPTH} levels - ignoring '${p.text}'; does a definition use itself?`,
        this.#loc(p),
      );
      return;
    }
    let text = p.text;
    let col = p.col;
    let residue = p.residue;
    for (;;) {
      if (++this.#total > this.#maxLines) {
        if (!this.#stopped) {
          this.#sink.report(
            DiagClass.FATAL,
            `The configuration expands to more than ${this.#maxLines} lines - stopped reading; check ~SEQ/~LST ranges and multi-line definitions`,
            this.#loc(p),
          );
        }
        this.#stopped = true;
        return;
      }
      let c0 = text.charCodeAt(0);

      // @ID / @^ID conditional
      if (c0 === 0x40) {
        const ofs = text.charCodeAt(1) === 0x5e ? 2 : 1;
        let sp = ofs;
        while (sp < text.length && !isBlank(text.charCodeAt(sp))) sp++;
        if (sp >= text.length) return;
        const id = text.slice(ofs, sp);
        const matches = this.#opts.configId !== "" && id === this.#opts.configId;
        if (matches !== (ofs === 1)) return;
        const k = skipBlanks(text, sp);
        text = text.slice(k);
        col += k;
        c0 = text.charCodeAt(0);
      }

      // $NAME=value definition
      if (c0 === 0x24 && this.#define(text, this.#at(p, text, col, residue), st)) return;

      if (c0 === 0x7e) {
        // ~SEQ / ~LST; other lines starting with ~ are not substituted (as keepalived)
        if (text.startsWith("~SEQ") || text.startsWith("~LST")) {
          this.#sequence(text, this.#at(p, text, col, residue), col, st);
          return;
        }
      } else if (!residue && text.indexOf("$") >= 0) {
        // substitution, then decomment again
        const r = this.#substitute(text, this.#at(p, text, col, residue), true);
        if (r === null) return;
        if (r.changed) {
          if (r.rest.length > 0) st.stack.push(this.#lines(r.rest, p));
          const d = decomment(r.text);
          if (d.unterminatedQuote) this.#reportQuote(p.file, p.line, col, d.text);
          text = d.text;
          col += d.offset;
          if (text.startsWith("~SEQ") || text.startsWith("~LST")) {
            this.#sequence(text, this.#at(p, text, col, residue), col, st);
            return;
          }
        }
      }

      if (text.length === 0) return;

      // include
      if (text.charCodeAt(0) === 0x69 && text.startsWith("include")) {
        const kind = this.#includeKind(text);
        if (kind !== null) {
          text = unescapeComments(text);
          this.#includeLine(text, kind, this.#at(p, text, col, residue));
          return;
        }
      }

      // brace split: the remainder is processed next, before anything else
      if (text.indexOf("{") < 0 && text.indexOf("}") < 0) {
        this.#emit(text, p, col);
        return;
      }
      const s = splitAtBrace(text);
      this.#emit(s.head, p, col);
      if (s.rest === null) return;
      text = s.rest;
      col += s.restOffset;
      residue = true;
    }
  }

  /** `p` moved on to the text now being processed. */
  #at(p: Pending, text: string, col: number, residue: boolean): Pending {
    return p.text === text && p.col === col && p.residue === residue
      ? p
      : { text, file: p.file, line: p.line, col, depth: p.depth, residue };
  }

  /** A generator over the remaining lines of a multi-line definition. */
  #lines(texts: readonly string[], origin: Pending): Generator {
    let i = 0;
    return {
      next: () => {
        const text = texts[i++];
        if (text === undefined) return null;
        return {
          text,
          file: origin.file,
          line: origin.line,
          col: origin.col,
          depth: origin.depth + 1,
          residue: false,
        };
      },
    };
  }

  /** Output one logical line; `\#`/`\!` become `#`/`!` only now (see lexer.unescapeComments). */
  #emit(text: string, p: Pending, col: number): void {
    const t = tokenize(text, col, true);
    if (t.unterminatedQuote) this.#reportQuote(p.file, p.line, col, text);
    const first = t.tokens[0];
    if (first === undefined) return;
    const line: LogicalLine = {
      tokens: t.tokens,
      raw: unescapeComments(text),
      loc: { file: p.file, line: p.line, column: first.column },
    };
    if (this.#onLine !== undefined) this.#onLine(line);
    else this.#out.push(line);
    if (first.text === "include_check" && !first.quoted) {
      this.#setIncludeCheck(t.tokens.slice(1).map((tok) => tok.text), this.#loc(p, first.column));
    }
  }

  #reportQuote(file: string, line: number, col: number, text: string): void {
    const key = `${file}\n${line}`;
    if (this.#quoteReported.has(key)) return;
    this.#quoteReported.add(key);
    this.#sink.report(
      DiagClass.UNMATCHED_QUOTE,
      `Unterminated quote in '${text}' - add the closing '"'`,
      { file, line, column: col },
    );
  }

  #warnOnce(key: string, message: string, loc: SourceLoc): void {
    const k = `${loc.file}\n${loc.line}\n${key}`;
    if (this.#warned.has(k)) return;
    this.#warned.add(k);
    this.#sink.warn(message, loc);
  }

  // ---- definitions -----------------------------------------------------------------------

  /** `$NAME=VALUE` (no blank before `=`). Returns false when the line is no definition. */
  #define(text: string, p: Pending, st: FileState): boolean {
    if (!isNameStart(text.charCodeAt(1))) return false;
    let i = 2;
    while (i < text.length && isNameChar(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== 0x3d) return false;
    const name = text.slice(1, i);
    const value = text.slice(skipBlanks(text, i + 1));
    if (value.endsWith("\\")) {
      if (p.depth > 0 || p.residue) {
        this.#sink.error(
          `Multi-line definition '$${name}' must start on a line of its own, not in a ~SEQ/~LST or expanded definition - ignoring it`,
          this.#loc(p),
        );
        return true;
      }
      const body = value.slice(0, -1).trimEnd();
      const def: Definition = { lines: body.length > 0 ? [body] : [], multiline: true };
      this.#defs.set(name, def);
      st.mlDef = def;
      return true;
    }
    this.#defs.set(name, { lines: [value], multiline: false });
    return true;
  }

  #continueMultiline(st: FileState, text: string): void {
    const def = st.mlDef as Definition;
    if (text.endsWith("\\")) {
      const body = text.slice(0, -1).trimEnd();
      if (body.length > 0) def.lines.push(body);
      return;
    }
    this.#finishMultiline(st);
    def.lines.push(text);
    if (def.lines.length === 1) def.multiline = false;
  }

  #finishMultiline(st: FileState): void {
    const def = st.mlDef as Definition;
    st.mlDef = null;
    if (def.lines.length === 0) def.multiline = false;
  }

  /** Find a syntactic reference at s[pos] === "$" (spec/vrrp.md §4.5, §4.6). */
  #ref(s: string, pos: number): Ref | null {
    if (s.charCodeAt(pos + 1) === 0x7b) {
      let i = pos + 2;
      if (!isNameStart(s.charCodeAt(i))) return null;
      while (i < s.length && isNameChar(s.charCodeAt(i))) i++;
      const name = s.slice(pos + 2, i);
      let params: string[] | null = null;
      while (isBlank(s.charCodeAt(i))) {
        const j = skipBlanks(s, i);
        let k = j;
        while (k < s.length && isNameChar(s.charCodeAt(k))) k++;
        if (k === j) return null; // trailing blank or a character that is not allowed
        (params ??= []).push(s.slice(j, k));
        i = k;
      }
      if (s.charCodeAt(i) !== 0x7d) return null;
      return { name, params, end: i + 1, written: s.slice(pos, i + 1) };
    }
    let i = pos + 1;
    if (!isNameStart(s.charCodeAt(i))) return null;
    while (i < s.length && isNameChar(s.charCodeAt(i))) i++;
    if (i < s.length) {
      const c = s.charCodeAt(i);
      if (!isBlank(c) && c !== 0x2c && c !== 0x29) return null; // blank , )
    }
    return { name: s.slice(pos + 1, i), params: null, end: i, written: s.slice(pos, i) };
  }

  /**
   * Replace `$NAME`/`${NAME}` references, rescanning each replacement (§4.5). Returns null
   * when the line must be dropped (an error was reported).
   */
  #substitute(
    text: string,
    p: Pending,
    allowMultiline: boolean,
  ): { text: string; changed: boolean; rest: string[] } | null {
    let s = text;
    let pos = s.indexOf("$");
    let changed = false;
    let count = 0;
    let chainAt = -1;
    let chain: string[] = [];
    let rest: string[] = [];
    const loc = this.#loc(p);
    while (pos >= 0 && pos < s.length - 1) {
      const ref = this.#ref(s, pos);
      if (ref === null) {
        this.#nearMiss(s, pos, p);
        pos = s.indexOf("$", pos + 1);
        continue;
      }
      const value = this.#valueOf(ref, s, pos, p, allowMultiline);
      if (value === null) {
        pos = s.indexOf("$", pos + 1);
        continue;
      }
      if (pos === chainAt) {
        if (chain.includes(ref.name)) {
          chain.push(ref.name);
          this.#sink.error(
            `Definition loop ${
              chain.map((c) => `$${c}`).join(" → ")
            } - ignoring the line; a definition must not refer to itself`,
            loc,
          );
          return null;
        }
        chain.push(ref.name);
      } else {
        chainAt = pos;
        chain = [ref.name];
      }
      if (++count > MAX_SUBSTITUTIONS) {
        this.#sink.error(
          `More than ${MAX_SUBSTITUTIONS} substitutions on one line - ignoring it; check for definitions that refer to each other`,
          loc,
        );
        return null;
      }
      s = s.slice(0, pos) + value.first + s.slice(ref.end);
      changed = true;
      if (
        s.length >= MAX_LINE_BYTES ||
        (s.length * 3 >= MAX_LINE_BYTES && utf8Length(s) >= MAX_LINE_BYTES)
      ) {
        this.#sink.error(
          `Substituting '${ref.written}' makes the line longer than ${MAX_LINE_BYTES} bytes - ignoring it`,
          loc,
        );
        return null;
      }
      if (value.rest.length > 0) rest = value.rest.concat(rest);
      // A line that now starts with ~ (e.g. ~SEQ) is substituted per value later.
      if (pos === 0 && s.charCodeAt(0) === 0x7e) break;
      // Rescan from the replacement itself, so values may hold further references.
      pos = s.indexOf("$", pos);
    }
    return { text: s, changed, rest };
  }

  /** Warn about `$NAME` of a known definition that is not substituted because of what follows it. */
  #nearMiss(s: string, pos: number, p: Pending): void {
    let i = pos + 1;
    if (!isNameStart(s.charCodeAt(i))) return;
    while (i < s.length && isNameChar(s.charCodeAt(i))) i++;
    const name = s.slice(pos + 1, i);
    if (i >= s.length || (!this.#defs.has(name) && !BUILTINS.has(name))) return;
    this.#warnOnce(
      `$${name}${s[i]}`,
      `'$${name}' is followed by '${
        s[i]
      }' and so is not substituted - write \${${name}} to use the definition here`,
      this.#loc(p, p.col + pos),
    );
  }

  /** The replacement for a reference, or null to leave it as written. */
  #valueOf(
    ref: Ref,
    s: string,
    pos: number,
    p: Pending,
    allowMultiline: boolean,
  ): { first: string; rest: string[] } | null {
    const loc = this.#loc(p, p.col + pos);
    const def = this.#defs.get(ref.name);
    if (def !== undefined) {
      if (ref.params !== null) {
        this.#warnOnce(
          ref.written,
          `Definition '$${ref.name}' takes no parameters - '${ref.written}' left as written`,
          loc,
        );
        return null;
      }
      if (!def.multiline) return { first: def.lines[0] ?? "", rest: [] };
      if (!allowMultiline) {
        this.#sink.error(
          `Multi-line definition '$${ref.name}' cannot be used here (~SEQ/~LST parameters) - ignoring the line`,
          loc,
        );
        return { first: "", rest: [] };
      }
      if (ref.end !== s.length) {
        this.#warnOnce(
          ref.written,
          `Multi-line definition '$${ref.name}' is only expanded at the end of a line - '${ref.written}' left as written`,
          loc,
        );
        return null;
      }
      return { first: def.lines[0] ?? "", rest: def.lines.slice(1) };
    }
    if (BUILTINS.has(ref.name)) return this.#builtin(ref, p, loc);
    // Inside double quotes it is most likely a shell variable of a script: no warning.
    if (insideQuotes(s, pos)) return null;
    this.#warnOnce(
      ref.written,
      `undefined definition '$${ref.name}' left as written; define it with $${ref.name}=value`,
      loc,
    );
    return null;
  }

  /** The built-in definitions of spec/vrrp.md §4.6. */
  #builtin(ref: Ref, p: Pending, loc: SourceLoc): { first: string; rest: string[] } | null {
    const params = ref.params ?? [];
    const v = (first: string) => ({ first, rest: [] as string[] });
    switch (ref.name) {
      case "_HASH":
      case "_BANG":
      case "_PWD":
      case "_INSTANCE":
        if (params.length > 0) {
          this.#warnOnce(
            ref.written,
            `'\${${ref.name}}' takes no parameters - '${ref.written}' left as written`,
            loc,
          );
          return null;
        }
        if (ref.name === "_HASH") return v("#");
        if (ref.name === "_BANG") return v("!");
        if (ref.name === "_INSTANCE") return v(this.#opts.configId);
        return v(posix.dirname(this.#absolute(p.file)));
      case "_RANDOM": {
        let min = 0;
        let max = 32767;
        const nums: number[] = [];
        for (const q of params) {
          if (!/^[0-9]+$/.test(q) || q.length > 15) {
            this.#warnOnce(
              ref.written,
              `'\${_RANDOM}' takes numbers (\${_RANDOM MIN MAX}) - '${ref.written}' left as written`,
              loc,
            );
            return null;
          }
          nums.push(Number(q));
        }
        if (nums.length > 2) {
          this.#sink.error(
            `Too many parameters for '${ref.written}' - use \${_RANDOM MIN MAX}; ignoring the extra ones`,
            loc,
          );
        }
        if (nums[0] !== undefined) min = nums[0];
        if (nums[1] !== undefined) max = nums[1];
        if (min > max) {
          this.#sink.error(
            `'${ref.written}': MIN ${min} is greater than MAX ${max} - using ${min}`,
            loc,
          );
          return v(String(min));
        }
        const r = Math.min(Math.max(this.#random(), 0), 0.9999999999999999);
        return v(String(min + Math.floor(r * (max - min + 1))));
      }
      case "_ENV": {
        const name = params[0];
        if (params.length !== 1 || name === undefined) {
          this.#sink.error(
            `'${ref.written}' needs exactly one environment variable name, e.g. \${_ENV HOME} - using ""`,
            loc,
          );
          return v("");
        }
        const value = this.#opts.env(name);
        if (value === undefined) {
          this.#warnOnce(
            ref.written,
            `Environment variable '${name}' is not set - '${ref.written}' gives an empty string`,
            loc,
          );
          return v("");
        }
        return v(value);
      }
    }
    return null;
  }

  // ---- ~SEQ / ~LST -----------------------------------------------------------------------

  #sequence(text: string, p: Pending, col: number, st: FileState): void {
    const isSeq = text.startsWith("~SEQ");
    const what = isSeq ? "~SEQ" : "~LST";
    const loc = this.#loc(p, col);
    const fail = (why: string): void => {
      this.#sink.error(`Invalid ${what} specification '${text}': ${why} - ignoring the line`, loc);
    };
    let i = 4;
    let hex = false;
    if (isSeq && text[i] === "x") {
      hex = true;
      i++;
    }
    i = skipBlanks(text, i);
    if (text[i] !== "(") {
      return fail(`expected '(' after ${what}`);
    }
    const close = text.indexOf(")", i + 1);
    if (close < 0) return fail("missing ')'");
    const after = skipBlanks(text, close + 1);
    const body = text.slice(i + 1, close);
    const rest = text.slice(after);
    const restCol = col + after;
    if (p.depth + 1 > MAX_EXPANSION_DEPTH) {
      this.#sink.error(
        `~SEQ/~LST nested deeper than ${MAX_EXPANSION_DEPTH} levels - ignoring '${text}'`,
        loc,
      );
      return;
    }
    const gen = isSeq ? this.#seq(body, hex, fail, p) : this.#lst(body, fail, p);
    if (gen === null) return;
    const { vars, count, value } = gen;
    const line: Pending = { ...p, text: rest, col: restCol, depth: p.depth + 1, residue: false };
    let k = 0;
    st.stack.push({
      next: () => {
        if (k >= count) return null;
        const vals = value(k++);
        for (let j = 0; j < vars.length; j++) {
          this.#defs.set(vars[j] as string, { lines: [vals[j] ?? ""], multiline: false });
        }
        return line;
      },
    });
  }

  /** Substitute definitions in ~SEQ/~LST parameters (not multi-line ones). */
  #params(body: string, p: Pending): string | null {
    if (body.indexOf("$") < 0) return body;
    const r = this.#substitute(body, p, false);
    return r === null ? null : r.text;
  }

  #seq(
    body: string,
    hex: boolean,
    fail: (why: string) => void,
    p: Pending,
  ): { vars: string[]; count: number; value: (k: number) => string[] } | null {
    const comma = body.indexOf(",");
    if (comma < 0) {
      fail("expected (VAR, END), (VAR, START, END) or (VAR, START, STEP, END)");
      return null;
    }
    const v = body.slice(0, comma).trim();
    if (!isName(v)) {
      fail(`'${v}' is not a definition name (letters, digits and _, not starting with a digit)`);
      return null;
    }
    const params = this.#params(body.slice(comma + 1), p);
    if (params === null) return null;
    const parts = params.split(",");
    if (parts.length > 3) {
      fail("too many values; use (VAR, START, STEP, END)");
      return null;
    }
    const nums: number[] = [];
    for (const part of parts) {
      const n = parseLong(part);
      if (n === null) {
        fail(`'${part.trim()}' is not an integer`);
        return null;
      }
      nums.push(n);
    }
    let start: number;
    let step: number;
    let end: number;
    if (nums.length === 1) {
      end = nums[0] as number;
      start = end < 0 ? -1 : 1;
      step = end < 1 ? -1 : 1;
    } else if (nums.length === 2) {
      start = nums[0] as number;
      end = nums[1] as number;
      step = start <= end ? 1 : -1;
    } else {
      start = nums[0] as number;
      step = nums[1] as number;
      end = nums[2] as number;
      if (step === 0) {
        fail("the step is 0");
        return null;
      }
      if ((start < end && step < 0) || (start > end && step > 0)) {
        fail(`the step ${step} points away from END ${end}`);
        return null;
      }
    }
    if (hex && (start < 0 || end < 0)) {
      fail("~SEQx is only valid for non-negative numbers");
      return null;
    }
    const count = Math.floor((end - start) / step) + 1;
    if (count > MAX_SEQUENCE_VALUES) {
      fail(`it gives ${count} values, more than the limit of ${MAX_SEQUENCE_VALUES}`);
      return null;
    }
    return {
      vars: [v],
      count,
      value: (k) => {
        const n = start + k * step;
        return [hex ? n.toString(16) : String(n)];
      },
    };
  }

  #lst(
    body: string,
    fail: (why: string) => void,
    p: Pending,
  ): { vars: string[]; count: number; value: (k: number) => string[] } | null {
    const s = this.#params(body, p);
    if (s === null) return null;
    let i = skipBlanks(s, 0);
    const vars: string[] = [];
    const word = (stops: string): string => {
      const start = i;
      while (i < s.length && !stops.includes(s[i] as string)) i++;
      return s.slice(start, i);
    };
    if (s[i] === "{") {
      i = skipBlanks(s, i + 1);
      for (;;) {
        vars.push(word(" \t,}"));
        i = skipBlanks(s, i);
        if (s[i] === "}") break;
        if (s[i] !== ",") {
          fail("expected ',' or '}' in the list of names");
          return null;
        }
        i = skipBlanks(s, i + 1);
      }
      i = skipBlanks(s, i + 1);
    } else {
      vars.push(word(" \t,"));
      i = skipBlanks(s, i);
    }
    for (const v of vars) {
      if (!isName(v)) {
        fail(`'${v}' is not a definition name (letters, digits and _, not starting with a digit)`);
        return null;
      }
    }
    if (s[i] !== ",") {
      fail("expected ',' and values after the names");
      return null;
    }
    i = skipBlanks(s, i + 1);
    const sets: string[][] = [];
    for (;;) {
      const set: string[] = [];
      if (s[i] === "{") {
        i = skipBlanks(s, i + 1);
        for (;;) {
          set.push(word(" \t,}"));
          i = skipBlanks(s, i);
          if (s[i] === "}") break;
          if (s[i] !== ",") {
            fail("expected ',' or '}' in a set of values");
            return null;
          }
          i = skipBlanks(s, i + 1);
        }
        i = skipBlanks(s, i + 1);
      } else {
        set.push(word(" \t,"));
        i = skipBlanks(s, i);
      }
      if (set.length > vars.length) {
        fail(`a set has ${set.length} values for ${vars.length} names`);
        return null;
      }
      sets.push(set);
      if (sets.length > MAX_SEQUENCE_VALUES) {
        fail(`more than ${MAX_SEQUENCE_VALUES} values`);
        return null;
      }
      if (i >= s.length) break;
      if (s[i] !== ",") {
        fail(`unexpected '${s[i]}' between values`);
        return null;
      }
      i = skipBlanks(s, i + 1);
    }
    return { vars, count: sets.length, value: (k) => sets[k] ?? [] };
  }

  // ---- include -------------------------------------------------------------------------

  /** The check bits of an include line, or null when the line is no include. */
  #includeKind(text: string): number | null {
    const isSep = (c: number) => Number.isNaN(c) || c === 0x20 || (c >= 0x09 && c <= 0x0d);
    if (isSep(text.charCodeAt(7))) return 0;
    if (!isSep(text.charCodeAt(8))) return null;
    switch (text[7]) {
      case "r":
        return INCLUDE_R;
      case "m":
        return INCLUDE_R | INCLUDE_M;
      case "w":
        return INCLUDE_R | INCLUDE_M | INCLUDE_W;
      case "b":
        return INCLUDE_R | INCLUDE_B;
      case "a":
        return INCLUDE_ALL;
    }
    return null;
  }

  #includeLine(text: string, kind: number, p: Pending): void {
    const word = text.slice(0, kind === 0 ? 7 : 8);
    let pattern = text.slice(word.length).trim();
    if (pattern.length >= 2 && pattern.startsWith('"') && pattern.endsWith('"')) {
      pattern = pattern.slice(1, -1);
    }
    if (pattern.length === 0) {
      this.#sink.report(
        DiagClass.MISSING_PARAMETER,
        `'${word}' needs a file name or pattern - ignoring`,
        this.#loc(p),
        word,
      );
      return;
    }
    this.#include(pattern, kind, p, word);
  }

  #setIncludeCheck(words: string[], loc: SourceLoc): void {
    if (words.length === 0) {
      this.#includeCheck = INCLUDE_ALL;
      return;
    }
    words.forEach((w, idx) => {
      let mode = 0;
      let name = w;
      if (w.startsWith("+")) {
        mode = 1;
        name = w.slice(1);
      } else if (w.startsWith("-")) {
        mode = -1;
        name = w.slice(1);
      } else if (idx > 0) {
        this.#sink.error(
          `Duplicate include_check '${w}' specified - ignoring; use +${w} to add a check`,
          loc,
          "include_check",
        );
        return;
      }
      const flag = INCLUDE_CHECK_NAMES[name];
      if (flag === undefined) {
        this.#sink.error(
          `Unknown include_check type '${name}' - ignoring; use readable, match, wildcard_match or brace_match`,
          loc,
          "include_check",
        );
        return;
      }
      if (mode === 0) this.#includeCheck = INCLUDE_R | flag;
      else if (mode === 1) this.#includeCheck |= flag;
      else this.#includeCheck &= ~flag;
    });
  }

  /**
   * Resolve an include pattern (or the main file when `from` is null) and read every match
   * in order (spec/vrrp.md §4.4).
   */
  #include(pattern: string, kind: number, from: Pending | null, word: string): void {
    const isMain = from === null;
    const loc: SourceLoc | undefined = from === null ? undefined : this.#loc(from);
    const flags = this.#opts.allConfig ? INCLUDE_ALL : kind | this.#includeCheck;
    const hint = isMain ? "; check the path given to -f" : "";
    const what = isMain ? "Configuration file" : "Included file";
    const fileError = (message: string): void => {
      this.#sink.report(DiagClass.FILE_NOT_FOUND, message, loc, isMain ? undefined : word);
    };
    /** A skipped match: an error with the readable check, a warning without (§4.4). */
    const skipped = (message: string): void => {
      if (flags & INCLUDE_R) fileError(message);
      else this.#sink.report(DiagClass.WARNING, message, loc, word);
    };

    if (this.#includeStack.length >= MAX_INCLUDE_DEPTH) {
      this.#sink.error(
        `Includes nested deeper than ${MAX_INCLUDE_DEPTH} levels - '${pattern}' not read; ${
          this.#includeNames.join(" → ")
        }`,
        loc,
        word,
      );
      return;
    }
    // Relative to the including file's directory; that directory is literal, not a pattern.
    const base = isMain ? "." : posix.dirname(from.file);
    const full = posix.isAbsolute(pattern) || base === "."
      ? pattern
      : joinPath(escapeGlob(base), pattern);
    const alternatives = expandBraces(full);
    if (alternatives === null) {
      this.#sink.error(
        `'${pattern}' expands to more than ${MAX_BRACE_ALTERNATIVES} alternatives - not read`,
        loc,
        word,
      );
      return;
    }
    const braced = alternatives.length > 1 || pattern.includes("{");
    const matches: { path: string; wild: boolean }[] = [];
    let anyWild = false;
    const unmatched: string[] = [];
    for (const alt of alternatives) {
      const { paths, wild } = this.#glob(alt);
      anyWild ||= wild;
      if (paths.length === 0) unmatched.push(unescapeGlob(alt));
      for (const path of paths) matches.push({ path, wild });
    }
    if (matches.length === 0) {
      if (!anyWild) {
        fileError(
          alternatives.length === 1
            ? `${what} '${unmatched[0]}' not found${hint}`
            : `${what} '${pattern}': none of ${
              unmatched.map((a) => `'${a}'`).join(", ")
            } exists${hint}`,
        );
      } else if (flags & INCLUDE_W) {
        fileError(`${what} pattern '${pattern}' matches no file${hint}`);
      }
      return;
    }
    if (braced && unmatched.length > 0 && flags & INCLUDE_B) {
      fileError(
        `${what} '${pattern}': ${
          unmatched.map((a) => `'${a}'`).join(", ")
        } matched nothing, and brace_match wants every alternative to match - nothing included`,
      );
      return;
    }
    for (const { path, wild } of matches) {
      if (this.#stopped) return;
      let info;
      try {
        info = this.#fs.stat(path);
      } catch (e) {
        fileError(`${what} '${path}' cannot be examined (${fileErrorText(e)}) - skipping`);
        continue;
      }
      if (info === null) continue;
      if (info.isDirectory) {
        if (!wild || flags & INCLUDE_R) {
          skipped(`${what} '${path}' is a directory - skipping${hint}`);
        }
        continue;
      }
      if (!info.isFile || (info.mode !== null && (info.mode & 0o111) !== 0)) {
        skipped(
          `${what} '${path}' is not a regular non-executable file - skipping${
            info.isFile ? "; remove its execute permission (chmod a-x)" : ""
          }`,
        );
        continue;
      }
      const abs = this.#absolute(path);
      const at = this.#includeStack.indexOf(abs);
      if (at >= 0) {
        this.#sink.error(
          `Include cycle: ${
            [...this.#includeNames.slice(at), path].join(" → ")
          } - '${path}' not read again`,
          loc,
          word,
        );
        continue;
      }
      let bytes: Uint8Array;
      try {
        bytes = this.#fs.readFile(path);
      } catch (e) {
        const perm = e instanceof Deno.errors.PermissionDenied;
        fileError(
          `${what} '${path}' cannot be read (${fileErrorText(e)}) - skipping${
            perm ? "; make it readable by the user running kad" : hint
          }`,
        );
        continue;
      }
      this.#enterFile(path, () => this.#readBytes(bytes, path));
    }
  }

  /** glob(3) with GLOB_MARK semantics on the ConfigFs: sorted matches of one alternative. */
  #glob(pattern: string): { paths: string[]; wild: boolean } {
    const absolute = pattern.startsWith("/");
    const segments = pattern.split("/").filter((s) => s.length > 0);
    if (!segments.some(hasWildcard)) {
      const path = unescapeGlob(pattern);
      return { paths: this.#exists(path) ? [path] : [], wild: false };
    }
    let current: string[] = [absolute ? "/" : ""];
    for (const seg of segments) {
      const next: string[] = [];
      if (!hasWildcard(seg)) {
        const name = unescapeGlob(seg);
        for (const c of current) next.push(joinPath(c, name));
      } else {
        for (const c of current) {
          let names: string[];
          try {
            names = this.#fs.readDir(c === "" ? "." : c);
          } catch {
            continue;
          }
          const hidden = seg.startsWith(".");
          for (const name of names) {
            if (name.startsWith(".") && !hidden) continue;
            if (matchSegment(seg, name)) next.push(joinPath(c, name));
          }
        }
      }
      current = next;
      if (current.length === 0) break;
    }
    const paths = current.filter((c) => this.#exists(c)).sort();
    return { paths, wild: true };
  }

  #exists(path: string): boolean {
    try {
      return this.#fs.stat(path) !== null;
    } catch {
      return true; // let the read report the problem
    }
  }
}

/** Whether s[pos] is inside a double-quoted part of s. */
function insideQuotes(s: string, pos: number): boolean {
  let inside = false;
  for (let i = s.indexOf('"'); i >= 0 && i < pos; i = s.indexOf('"', i + 1)) inside = !inside;
  return inside;
}

/** Escape glob(3) special characters so that a directory name is matched literally. */
function escapeGlob(s: string): string {
  return s.replace(/[\\*?[\]{}]/g, "\\$&");
}

function joinPath(dir: string, name: string): string {
  if (dir === "") return name;
  if (dir.endsWith("/")) return dir + name;
  return `${dir}/${name}`;
}

/** A file system error in the words of include diagnostics. */
function fileErrorText(e: unknown): string {
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.NotFound) return "not found";
  if (e instanceof Deno.errors.IsADirectory) return "is a directory";
  return errorText(e);
}

/**
 * Read the main configuration file (a path or glob, relative to `opts.cwd`) and everything
 * it includes, and return its logical lines (spec/vrrp.md §4.1, §4.4–§4.7).
 *
 * @example
 * ```ts
 * import { DiagnosticSink } from "./diagnostic.ts";
 * import { memoryFs } from "./source.ts";
 * const fs = memoryFs({ "/etc/k.conf": "$P=100\nvrrp_instance VI { priority $P }\n" });
 * const r = preprocess("/etc/k.conf", {
 *   fs, sink: new DiagnosticSink(), configId: "lb1", env: () => undefined,
 * });
 * r.lines.map((l) => l.raw); // ["vrrp_instance VI", "{", "priority 100", "}"]
 * ```
 */
export function preprocess(mainFile: string, opts: PreprocessOptions): PreprocessResult {
  const p = new Preprocessor(opts);
  p.main(mainFile);
  return p.result();
}

/**
 * Like {@link preprocess}, for configuration text that is already in memory; `fileName` is
 * used in locations and as the base of relative includes.
 */
export function preprocessText(
  text: string,
  fileName: string,
  opts: PreprocessOptions,
): PreprocessResult {
  const p = new Preprocessor(opts);
  p.text(text, fileName);
  return p.result();
}
