/**
 * TOML as a second syntax for the configuration (docs/config-toml.md).
 *
 * Owns the translation of a TOML document into the same block tree (`Node[]`) the
 * keepalived.conf parser produces, driven by the block schemas, so that one validation
 * path (the schema's value parsers, did-you-mean and validate hooks) serves both syntaxes.
 * It decides only how TOML types map onto keyword arguments; it never interprets a value
 * itself, never reads files and never builds the model (lib/config/load.ts does). The
 * inverse, model → TOML text, lives in lib/config/print.ts.
 */
import { errorText } from "../runtime/error_text.ts";
import { parse, TomlError } from "smol-toml";
import type { Node, Token } from "./ast.ts";
import { DiagClass, type DiagnosticSink, type SourceLoc } from "./diagnostic.ts";
import { tokenize } from "./lexer.ts";
import { isNamedBlocks, renderLine } from "./print.ts";
import type { AnyField, BlockSchema, TomlKind, ValueType } from "./schema.ts";
import { rootSchema } from "./schema/root.ts";
import { quoteIfNeeded } from "./types.ts";

/**
 * Convert a TOML document into the block tree of the whole configuration. Syntax errors
 * give one FATAL diagnostic at smol-toml's line and column and an empty tree; wrong TOML
 * types give an error naming the key and the expected type, and the key is left out.
 * Unknown keys are passed through so the schema reports them as in keepalived syntax.
 *
 * @example
 * ```ts
 * import { DiagnosticSink } from "./diagnostic.ts";
 * const nodes = tomlToNodes("[global_defs]\nrouter_id = \"lb1\"\n", "k.toml", new DiagnosticSink());
 * nodes[0]?.children?.[0]?.raw; // "router_id lb1"
 * ```
 */
export function tomlToNodes(text: string, fileName: string, sink: DiagnosticSink): Node[] {
  return tomlToNodesFor(rootSchema, text, fileName, sink);
}

/** {@link tomlToNodes} for any block schema (the root schema in production). */
export function tomlToNodesFor(
  schema: BlockSchema,
  text: string,
  fileName: string,
  sink: DiagnosticSink,
): Node[] {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text, { integersAsBigInt: "asNeeded" }) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      const reason = e.message.replace(/^Invalid TOML document: /, "").split("\n")[0] ?? "";
      sink.report(
        DiagClass.FATAL,
        `TOML syntax error: ${reason}; fix the document at this position`,
        { file: fileName, line: e.line, column: e.column },
      );
    } else {
      sink.report(
        DiagClass.FATAL,
        `TOML document cannot be read: ${errorText(e)}`,
        { file: fileName, line: 0, column: 0 },
      );
    }
    return [];
  }
  const conv = new Converter(fileName, sink, scanPositions(text));
  return conv.block(schema, doc, []);
}

// ---- positions ----

/** A path in the TOML document: table keys and array indices. */
type Seg = string | number;

interface Pos {
  readonly line: number;
  readonly column: number;
}

interface Positions {
  /** Where each key (or table header) was written. */
  readonly keys: ReadonlyMap<string, Pos>;
  /** Where each value (and each array element) starts. */
  readonly values: ReadonlyMap<string, Pos>;
}

function enc(path: readonly Seg[]): string {
  return path.map((s) => (typeof s === "number" ? `i${s}` : `k${s}`)).join("\u0000");
}

const BARE_KEY_CHAR = /[A-Za-z0-9_-]/;
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  b: "\b",
  t: "\t",
  n: "\n",
  f: "\f",
  r: "\r",
  e: "\x1b",
  '"': '"',
  "\\": "\\",
};

/**
 * Find where keys and values are written, by a light scan of a document smol-toml has
 * already accepted (smol-toml reports no positions). It follows table headers, arrays of
 * tables (`[[x]]` appends to the last element of any array on its path), dotted keys,
 * inline tables and arrays, and skips strings and comments. Positions are therefore exact
 * for ordinary documents; in doubt a node falls back to the position of its parent.
 */
function scanPositions(s: string): Positions {
  const keys = new Map<string, Pos>();
  const values = new Map<string, Pos>();
  const arrays = new Map<string, number>();
  const lineStarts = [0];
  for (let j = 0; j < s.length; j++) if (s.charCodeAt(j) === 10) lineStarts.push(j + 1);
  const n = s.length;
  let i = 0;

  const pos = (): Pos => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((lineStarts[mid] as number) <= i) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: i - (lineStarts[lo] as number) + 1 };
  };
  const skipBlanks = (): void => {
    while (i < n && (s[i] === " " || s[i] === "\t")) i++;
  };
  const skipAll = (): void => {
    while (i < n) {
      const c = s[i];
      if (c === " " || c === "\t" || c === "\r" || c === "\n") i++;
      else if (c === "#") {
        while (i < n && s[i] !== "\n") i++;
      } else break;
    }
  };
  const markKey = (path: readonly Seg[], p: Pos): void => {
    keys.set(enc(path), p);
    for (let k = 1; k < path.length; k++) {
      const prefix = enc(path.slice(0, k));
      if (!keys.has(prefix)) keys.set(prefix, p);
    }
  };
  const basicString = (): string => {
    let out = "";
    i++;
    while (i < n && s[i] !== '"') {
      if (s[i] === "\\") {
        const e = s[i + 1] ?? "";
        if (Object.hasOwn(SIMPLE_ESCAPES, e)) {
          out += SIMPLE_ESCAPES[e];
          i += 2;
        } else {
          const len = e === "u" ? 4 : e === "U" ? 8 : e === "x" ? 2 : 0;
          const code = parseInt(s.slice(i + 2, i + 2 + len), 16);
          out += Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : "";
          i += 2 + len;
        }
      } else {
        out += s[i];
        i++;
      }
    }
    i++;
    return out;
  };
  const literalString = (): string => {
    const close = s.indexOf("'", i + 1);
    const end = close < 0 ? n : close;
    const out = s.slice(i + 1, end);
    i = end + 1;
    return out;
  };
  const key = (): string[] => {
    const segs: string[] = [];
    for (;;) {
      skipBlanks();
      const c = s[i];
      if (c === '"') segs.push(basicString());
      else if (c === "'") segs.push(literalString());
      else {
        const start = i;
        while (i < n && BARE_KEY_CHAR.test(s[i] as string)) i++;
        if (i === start) break;
        segs.push(s.slice(start, i));
      }
      skipBlanks();
      if (s[i] !== ".") break;
      i++;
    }
    return segs;
  };
  const resolve = (segs: readonly string[]): Seg[] => {
    const out: Seg[] = [];
    for (const seg of segs) {
      out.push(seg);
      const count = arrays.get(enc(out));
      if (count !== undefined) out.push(count - 1);
    }
    return out;
  };
  const skipMultiline = (quote: string, escapes: boolean): void => {
    i += 3;
    while (i < n) {
      if (escapes && s[i] === "\\") i += 2;
      else if (s.startsWith(quote.repeat(3), i)) {
        i += 3;
        // Up to two more quotes belong to the string's content.
        for (let k = 0; k < 2 && s[i] === quote; k++) i++;
        return;
      } else i++;
    }
  };
  const value = (path: readonly Seg[]): void => {
    values.set(enc(path), pos());
    const c = s[i];
    if (s.startsWith('"""', i)) skipMultiline('"', true);
    else if (s.startsWith("'''", i)) skipMultiline("'", false);
    else if (c === '"') basicString();
    else if (c === "'") literalString();
    else if (c === "[") {
      i++;
      for (let k = 0;; k++) {
        skipAll();
        if (i >= n) return;
        if (s[i] === "]") {
          i++;
          return;
        }
        const before = i;
        value([...path, k]);
        skipAll();
        if (s[i] === ",") i++;
        if (i === before) i++;
      }
    } else if (c === "{") {
      i++;
      for (;;) {
        skipAll();
        if (i >= n) return;
        if (s[i] === "}") {
          i++;
          return;
        }
        const before = i;
        const p = pos();
        const sub = [...path, ...key()];
        skipBlanks();
        if (s[i] === "=") i++;
        skipBlanks();
        markKey(sub, p);
        value(sub);
        skipAll();
        if (s[i] === ",") i++;
        if (i === before) i++;
      }
    } else {
      while (i < n && !",]}\n#".includes(s[i] as string)) i++;
    }
  };

  let table: Seg[] = [];
  for (;;) {
    skipAll();
    if (i >= n) break;
    const before = i;
    const p = pos();
    if (s[i] === "[") {
      const isArray = s[i + 1] === "[";
      i += isArray ? 2 : 1;
      const segs = key();
      if (isArray && segs.length > 0) {
        const full = [...resolve(segs.slice(0, -1)), segs[segs.length - 1] as string];
        const k = enc(full);
        const count = arrays.get(k) ?? 0;
        arrays.set(k, count + 1);
        table = [...full, count];
      } else {
        table = resolve(segs);
      }
      markKey(table, p);
      while (i < n && s[i] !== "\n") i++;
    } else {
      const path = [...table, ...key()];
      skipBlanks();
      if (s[i] === "=") i++;
      skipBlanks();
      markKey(path, p);
      value(path);
    }
    if (i === before) i++;
  }
  return { keys, values };
}

// ---- conversion ----

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === null || proto === Object.prototype;
}

/** How a TOML value is named in messages. */
function describeToml(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (isTable(v)) return "a table";
  if (typeof v === "string") return `the string '${v}'`;
  if (typeof v === "number" || typeof v === "bigint") return `the number ${String(v)}`;
  if (typeof v === "boolean") return String(v);
  return "a date";
}

/** What each TOML kind expects (docs/config-toml.md "Values"). */
const EXPECTED: Readonly<Record<TomlKind, string>> = {
  flag: "true (or false to leave it out)",
  bool: "true or false",
  int: "an integer",
  number: "a number",
  string: "a string",
  words: "a string or an array of strings",
};

/** A TOML number as the decimal text keepalived syntax would use (never exponent form). */
export function decimalText(v: number | bigint): string {
  if (typeof v === "bigint") return v.toString();
  const s = String(v);
  const m = /^(-?)([0-9])(?:\.([0-9]+))?e([+-][0-9]+)$/.exec(s);
  if (!m) return s;
  const digits = (m[2] as string) + (m[3] ?? "");
  const point = 1 + Number(m[4]);
  if (point <= 0) return `${m[1]}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return m[1] + digits + "0".repeat(point - digits.length);
  return `${m[1]}${digits.slice(0, point)}.${digits.slice(point)}`;
}

class Converter {
  readonly #file: string;
  readonly #sink: DiagnosticSink;
  readonly #pos: Positions;

  constructor(file: string, sink: DiagnosticSink, pos: Positions) {
    this.#file = file;
    this.#sink = sink;
    this.#pos = pos;
  }

  /** Location of a key (or table), falling back to its value and then to its parents. */
  loc(path: readonly Seg[]): SourceLoc {
    for (let k = path.length; k > 0; k--) {
      const e = enc(path.slice(0, k));
      const p = this.#pos.keys.get(e) ?? this.#pos.values.get(e);
      if (p) return { file: this.#file, line: p.line, column: p.column };
    }
    return { file: this.#file, line: 1, column: 1 };
  }

  /** Column of a value (or array element), for its tokens. */
  column(path: readonly Seg[]): number {
    return this.#pos.values.get(enc(path))?.column ?? this.loc(path).column;
  }

  error(message: string, path: readonly Seg[], keyword: string): void {
    this.#sink.report(DiagClass.GENERAL_ERROR, message, this.loc(path), keyword);
  }

  node(keyword: string, args: Token[], path: readonly Seg[], children?: Node[]): Node {
    const loc = this.loc(path);
    const raw = renderLine(keyword, args);
    return children === undefined
      ? { keyword, args, raw, loc }
      : { keyword, args, raw, loc, children };
  }

  /** The keys of a table in document order (JavaScript would put integer-like keys first). */
  ordered(table: Table, path: readonly Seg[]): Array<[string, unknown]> {
    const at = (k: string): number => {
      const p = this.#pos.keys.get(enc([...path, k]));
      return p ? p.line * 1e6 + p.column : Number.MAX_SAFE_INTEGER;
    };
    return Object.entries(table)
      .map((e, idx) => ({ e, idx, at: at(e[0]) }))
      .sort((a, b) => a.at - b.at || a.idx - b.idx)
      .map((x) => x.e);
  }

  /** A table as the children of a block of `schema` (undefined: an unknown block). */
  block(schema: BlockSchema | undefined, table: Table, path: readonly Seg[]): Node[] {
    const out: Node[] = [];
    for (const [key, v] of this.ordered(table, path)) {
      const kpath = [...path, key];
      const field = schema === undefined ? undefined : fieldOf(schema, key);
      if (field === undefined) {
        out.push(...this.generic(key, v, kpath));
        continue;
      }
      switch (field.kind) {
        case "value": {
          const args = this.occurrence(key, field.type, v, kpath);
          if (args !== undefined) out.push(this.node(key, args, kpath));
          break;
        }
        case "multi": {
          const items = Array.isArray(v) ? v : [v];
          const paths = Array.isArray(v)
            ? items.map((_, k) => [...kpath, k])
            : items.map(() => kpath);
          items.forEach((item, k) => {
            const p = paths[k] as Seg[];
            const args = Array.isArray(item)
              ? this.words(key, item, p)
              : this.occurrence(key, field.type, item, p);
            if (args !== undefined) out.push(this.node(key, args, p));
          });
          break;
        }
        case "list": {
          const children = this.listEntries(key, v, kpath);
          if (children !== undefined) out.push(this.node(key, [], kpath, children));
          break;
        }
        case "block": {
          const tables = isTable(v)
            ? [v]
            : Array.isArray(v) && v.length > 0 && v.every(isTable)
            ? v
            : undefined;
          if (tables === undefined) {
            this.error(
              `'${key}' must be a table (write it as [${key}]), not ${describeToml(v)}`,
              kpath,
              key,
            );
            break;
          }
          tables.forEach((t, k) => {
            const p = isTable(v) ? kpath : [...kpath, k];
            out.push(this.node(key, [], p, this.block(field.schema, t, p)));
          });
          break;
        }
        case "blocks":
          out.push(...this.blocks(key, field, v, kpath));
          break;
      }
    }
    return out;
  }

  /**
   * One keyword occurrence from its TOML value: the natural type for the value's kind, or
   * an array of argument words (the escape hatch every kind accepts). Undefined when the
   * keyword is to be left out (an error was reported, or a flag is false).
   */
  occurrence(
    key: string,
    type: ValueType<unknown>,
    v: unknown,
    path: readonly Seg[],
  ): Token[] | undefined {
    const col = this.column(path);
    if (Array.isArray(v)) return this.words(key, v, path);
    const kind = type.toml;
    const wrong = (): undefined => {
      this.error(
        `'${key}' must be ${EXPECTED[kind]} (${type.describe}), not ${describeToml(v)}`,
        path,
        key,
      );
      return undefined;
    };
    if (typeof v === "boolean") {
      if (kind === "flag") return v ? [] : undefined;
      if (kind === "bool") return [{ text: String(v), quoted: false, column: col }];
      return wrong();
    }
    if (typeof v === "number" || typeof v === "bigint") {
      if (kind === "flag" || kind === "bool") return wrong();
      return [{ text: decimalText(v), quoted: false, column: col }];
    }
    if (typeof v === "string") {
      if (kind !== "string" && kind !== "words") return wrong();
      return [stringToken(v, col)];
    }
    return wrong();
  }

  /** An array of argument words (strings, numbers or booleans). */
  words(key: string, arr: readonly unknown[], path: readonly Seg[]): Token[] | undefined {
    const out: Token[] = [];
    for (let k = 0; k < arr.length; k++) {
      const w = arr[k];
      const col = this.column([...path, k]);
      if (typeof w === "string") out.push(stringToken(w, col));
      else if (typeof w === "number" || typeof w === "bigint") {
        out.push({ text: decimalText(w), quoted: false, column: col });
      } else if (typeof w === "boolean") out.push({ text: String(w), quoted: false, column: col });
      else {
        this.error(`'${key}' words must be strings or numbers, not ${describeToml(w)}`, [
          ...path,
          k,
        ], key);
        return undefined;
      }
    }
    return out;
  }

  /** The entries of a list block: each string one entry line in keepalived syntax. */
  listEntries(key: string, v: unknown, path: readonly Seg[]): Node[] | undefined {
    const items = Array.isArray(v) ? v : typeof v === "string" ? [v] : undefined;
    if (items === undefined) {
      this.error(
        `'${key}' must be an array of strings, one entry each (e.g. ${key} = ["…"]), not ${
          describeToml(v)
        }`,
        path,
        key,
      );
      return undefined;
    }
    const out: Node[] = [];
    items.forEach((item, k) => {
      const p = Array.isArray(v) ? [...path, k] : path;
      let toks: Token[] | undefined;
      if (typeof item === "string") {
        const t = tokenize(item, this.column(p) + 1);
        if (t.unterminatedQuote) {
          this.error(`'${key}' entry '${item}' has an unmatched double quote; close it`, p, key);
          return;
        }
        toks = t.tokens;
      } else if (typeof item === "number" || typeof item === "bigint") {
        toks = [{ text: decimalText(item), quoted: false, column: this.column(p) }];
      } else if (Array.isArray(item)) {
        toks = this.words(key, item, p);
      } else {
        this.error(`'${key}' entries must be strings, not ${describeToml(item)}`, p, key);
        return;
      }
      const first = toks?.[0];
      if (toks === undefined || first === undefined) return;
      out.push(this.node(first.text, toks.slice(1), p));
    });
    return out;
  }

  /** Repeated blocks: named tables (`[vrrp_instance.VI_1]`) or an array of tables with `header`. */
  blocks(key: string, field: AnyField, v: unknown, path: readonly Seg[]): Node[] {
    if (field.kind !== "blocks") return [];
    const out: Node[] = [];
    if (isTable(v)) {
      const single = isNamedBlocks(field);
      for (const [name, sub] of this.ordered(v, path)) {
        const p = [...path, name];
        if (!isTable(sub)) {
          this.error(
            `'${key}' '${name}' must be a table (write it as [${key}.${name}]), not ${
              describeToml(sub)
            }`,
            p,
            key,
          );
          continue;
        }
        const col = this.loc(p).column;
        const header = single ? [stringToken(name, col)] : this.line(key, name, p);
        if (header === undefined) continue;
        out.push(this.node(key, header, p, this.block(field.schema, sub, p)));
      }
      return out;
    }
    if (!Array.isArray(v)) {
      this.error(
        `'${key}' must be named tables ([${key}.NAME]) or an array of tables ([[${key}]]), not ${
          describeToml(v)
        }`,
        path,
        key,
      );
      return out;
    }
    v.forEach((sub, k) => {
      const p = [...path, k];
      if (!isTable(sub)) {
        this.error(
          `'${key}' entries must be tables ([[${key}]]), not ${describeToml(sub)}`,
          p,
          key,
        );
        return;
      }
      const { header: h, ...rest } = sub;
      let header: Token[] | undefined = [];
      const hp = [...p, "header"];
      if (typeof h === "string") header = this.line(key, h, hp);
      else if (Array.isArray(h)) header = this.words(key, h, hp);
      else if (typeof h === "number" || typeof h === "bigint") {
        header = [{ text: decimalText(h), quoted: false, column: this.column(hp) }];
      } else if (h !== undefined) {
        this.error(
          `'${key}' header must be a string such as "10.0.0.1 80", not ${describeToml(h)}`,
          hp,
          key,
        );
        return;
      }
      if (header === undefined) return;
      out.push(this.node(key, header, p, this.block(field.schema, rest, p)));
    });
    return out;
  }

  /** Words of a string in keepalived syntax (blank-separated, double quotes group). */
  line(key: string, text: string, path: readonly Seg[]): Token[] | undefined {
    const t = tokenize(text, this.column(path) + 1);
    if (t.unterminatedQuote) {
      this.error(`'${key}' header '${text}' has an unmatched double quote; close it`, path, key);
      return undefined;
    }
    return t.tokens;
  }

  /** A key the schema does not know: passed through so the schema reports it. */
  generic(key: string, v: unknown, path: readonly Seg[]): Node[] {
    if (isTable(v)) return [this.node(key, [], path, this.block(undefined, v, path))];
    if (Array.isArray(v) && v.length > 0 && v.every(isTable)) {
      return v.map((t, k) =>
        this.node(key, [], [...path, k], this.block(undefined, t, [...path, k]))
      );
    }
    const col = this.column(path);
    const scalar = (x: unknown): Token => {
      if (typeof x === "string") return stringToken(x, col);
      if (typeof x === "number" || typeof x === "bigint") {
        return { text: decimalText(x), quoted: false, column: col };
      }
      return { text: String(x), quoted: false, column: col };
    };
    const args = Array.isArray(v) ? v.map(scalar) : v === true ? [] : [scalar(v)];
    return [this.node(key, args, path)];
  }
}

/** A string value as one token, quoted when keepalived syntax would need quotes. */
function stringToken(text: string, column: number): Token {
  return { text, quoted: quoteIfNeeded(text) !== text, column };
}

/** The field a key names in a schema, through aliases (the schema reports deprecation). */
function fieldOf(schema: BlockSchema, key: string): AnyField | undefined {
  if (Object.hasOwn(schema.fields, key)) return schema.fields[key];
  const aliases = schema.aliases;
  if (aliases === undefined || !Object.hasOwn(aliases, key)) return undefined;
  const target = (aliases[key] as string).replace(/^deprecated:/, "");
  return Object.hasOwn(schema.fields, target) ? schema.fields[target] : undefined;
}
