/**
 * The declarative configuration schema and the engine that applies it.
 *
 * A block schema lists every keyword a block accepts, with its value type, default, range
 * and documentation. From that one definition come: parsing of the block tree into a typed
 * model (`parseBlock`), the TypeScript type of that model (`Infer`), the printers and the
 * TOML reader (lib/config/print.ts, lib/config/toml.ts), and the documentation of the
 * keywords. This module knows nothing about particular keywords (those live in
 * lib/config/schema/) and never touches files.
 */
import type { Node, Token } from "./ast.ts";
import { DiagClass, type DiagnosticSink, type SourceLoc } from "./diagnostic.ts";
import { suggest } from "./suggest.ts";

/** How a value is written in TOML (and JSON): see docs/config-toml.md. */
export type TomlKind = "flag" | "bool" | "int" | "number" | "string" | "words";

/** What a value type's parser gets besides the tokens. */
export interface ParseContext {
  readonly sink: DiagnosticSink;
  /** The line being parsed. */
  readonly node: Node;
  /** The keyword as written (may be a deprecated alias). */
  readonly keyword: string;
  /** Location of argument `i` (falls back to the keyword's location). */
  loc(i?: number): SourceLoc;
  /** Report an error about argument `i` (or the line). Class defaults to GENERAL_ERROR. */
  error(message: string, i?: number, cls?: DiagClass): void;
  warn(message: string, i?: number, cls?: DiagClass): void;
  /** Report a missing required argument (keepalived's MISSING_PARAMETER). */
  missing(what: string): void;
}

/**
 * A value type: how the arguments of one keyword line become a typed value, and back.
 * `parse` returns undefined after reporting a diagnostic when the value is unusable; the
 * keyword is then ignored, as keepalived does.
 */
export interface ValueType<T> {
  readonly toml: TomlKind;
  /** Human description for diagnostics and docs, e.g. "integer 1 to 255". */
  readonly describe: string;
  parse(args: readonly Token[], ctx: ParseContext): T | undefined;
  /** The argument words that parse back to the same value. */
  print(value: T): string[];
}

interface FieldBase {
  /** One-line documentation; shown by docs and did-you-mean. */
  readonly doc?: string;
  /** Masked as `********` by every printer unless secrets are explicitly requested. */
  readonly secret?: boolean;
}

/** A keyword with arguments; the last occurrence wins. */
export interface ValueField<T, D extends boolean> extends FieldBase {
  readonly kind: "value";
  readonly type: ValueType<T>;
  readonly default: D extends true ? T : undefined;
}

/** A keyword that may appear several times; each occurrence appends. */
export interface MultiField<T> extends FieldBase {
  readonly kind: "multi";
  readonly type: ValueType<T>;
}

/** A `keyword { entry … }` list; repeated blocks append. */
export interface ListField<T> extends FieldBase {
  readonly kind: "list";
  readonly entry: ValueType<T>;
  /**
   * When true, every token of an entry line is a separate entry (as for `group { a b }`);
   * otherwise the whole line (keyword and arguments) is one entry.
   */
  readonly perToken: boolean;
}

/** A single nested `keyword { … }` block; a repeated block merges into the first. */
export interface BlockField<S extends BlockSchema> extends FieldBase {
  readonly kind: "block";
  readonly schema: S;
}

/** Repeated `keyword HEADER… { … }` blocks (named instances, real servers, checkers). */
export interface BlocksField<S extends BlockSchema, H> extends FieldBase {
  readonly kind: "blocks";
  readonly schema: S;
  readonly header: ValueType<H>;
  /** When set, two blocks with equal printed headers are an error and the second is skipped. */
  readonly unique: boolean;
}

// deno-lint-ignore no-explicit-any
export type AnyField = ValueField<any, boolean> | MultiField<any> | ListField<any> | BlockField<any> | BlocksField<any, any>;

/** Where each keyword of a parsed block came from; also tells which keywords were written. */
export interface BlockMeta {
  /** Location of the block's opening line (or of the file, for the root). */
  $at: SourceLoc;
  /** Location of the (last) line that set each keyword. */
  $loc: Record<string, SourceLoc>;
}

export interface BlockSchema<F extends Record<string, AnyField> = Record<string, AnyField>> {
  /** The block keyword, for messages ("vrrp_instance"). */
  readonly name: string;
  readonly fields: F;
  /**
   * Other spellings: alias → canonical keyword. A value starting with "deprecated:" warns
   * (class DEPRECATED) that the alias is deprecated in favour of the canonical keyword.
   */
  readonly aliases?: Readonly<Record<string, string>>;
  /**
   * Keywords keepalived accepts that kad deliberately does not implement (SNMP, DBus, …):
   * accepted with a warning that they have no effect, so existing files still load.
   */
  readonly ignored?: Readonly<Record<string, string>>;
  /** Cross-keyword checks and dynamic defaults, run after the block is parsed. */
  validate?(block: Infer<F> & BlockMeta, ctx: ValidateContext): void;
}

/** What a block's validate hook gets. */
export interface ValidateContext {
  readonly sink: DiagnosticSink;
  /** Location of `key` in `block`, else of the block itself. */
  at(block: BlockMeta, key?: string): SourceLoc;
}

type FieldValue<F> = F extends ValueField<infer T, infer D> ? (D extends true ? T : T | undefined)
  : F extends MultiField<infer T> ? T[]
  : F extends ListField<infer T> ? T[]
  : F extends BlockField<infer S> ? (InferSchema<S> | undefined)
  : F extends BlocksField<infer S, infer H> ? Array<InferSchema<S> & { header: H }>
  : never;

/** The model type of a block's fields. */
export type Infer<F extends Record<string, AnyField>> = { -readonly [K in keyof F]: FieldValue<F[K]> };
/** The model type of a block schema, with its location metadata. */
export type InferSchema<S> = S extends BlockSchema<infer F> ? Infer<F> & BlockMeta : never;

// ---- field constructors ----

/** A keyword with a default value (the model always has a value). */
export function value<T>(type: ValueType<T>, dflt: T, opts: FieldBase = {}): ValueField<T, true> {
  return { kind: "value", type, default: dflt, ...opts };
}

/** A keyword without a default (absent → undefined in the model). */
export function optional<T>(type: ValueType<T>, opts: FieldBase = {}): ValueField<T, false> {
  return { kind: "value", type, default: undefined, ...opts };
}

export function multi<T>(type: ValueType<T>, opts: FieldBase = {}): MultiField<T> {
  return { kind: "multi", type, ...opts };
}

export function list<T>(
  entry: ValueType<T>,
  opts: FieldBase & { perToken?: boolean } = {},
): ListField<T> {
  const { perToken, ...rest } = opts;
  return { kind: "list", entry, perToken: perToken ?? false, ...rest };
}

export function block<S extends BlockSchema>(schema: S, opts: FieldBase = {}): BlockField<S> {
  return { kind: "block", schema, ...opts };
}

export function blocks<S extends BlockSchema, H>(
  schema: S,
  header: ValueType<H>,
  opts: FieldBase & { unique?: boolean } = {},
): BlocksField<S, H> {
  const { unique, ...rest } = opts;
  return { kind: "blocks", schema, header, unique: unique ?? false, ...rest };
}

/** Define a block schema (an identity function that keeps the literal field types). */
export function defineBlock<F extends Record<string, AnyField>>(schema: BlockSchema<F>): BlockSchema<F> {
  return schema;
}

// ---- the engine ----

/** The keyword token of a node, for list entries where the keyword is a value. */
export function keywordToken(node: Node): Token {
  return { text: node.keyword, quoted: false, column: node.loc.column };
}

function makeContext(sink: DiagnosticSink, node: Node, keyword: string, argOffset = 0): ParseContext {
  const locOf = (i?: number): SourceLoc => {
    if (i === undefined) return node.loc;
    const t = node.args[i - argOffset];
    return t ? { file: node.loc.file, line: node.loc.line, column: t.column } : node.loc;
  };
  return {
    sink,
    node,
    keyword,
    loc: locOf,
    error: (message, i, cls) => sink.report(cls ?? DiagClass.GENERAL_ERROR, message, locOf(i), keyword),
    warn: (message, i, cls) => sink.report(cls ?? DiagClass.WARNING, message, locOf(i), keyword),
    missing: (what) =>
      sink.report(
        DiagClass.MISSING_PARAMETER,
        `'${keyword}' is missing its ${what}; write it as '${keyword} <${what}>'`,
        node.loc,
        keyword,
      ),
  };
}

/** A fresh model object for a schema, with every default in place and nothing written. */
export function emptyBlock<F extends Record<string, AnyField>>(
  schema: BlockSchema<F>,
  at: SourceLoc,
): Infer<F> & BlockMeta {
  const obj: Record<string, unknown> = { $at: at, $loc: {} };
  for (const [key, f] of Object.entries(schema.fields)) {
    switch (f.kind) {
      case "value":
        obj[key] = structuredCloneValue(f.default);
        break;
      case "multi":
      case "list":
      case "blocks":
        obj[key] = [];
        break;
      case "block":
        obj[key] = undefined;
        break;
    }
  }
  return obj as Infer<F> & BlockMeta;
}

function structuredCloneValue<T>(v: T): T {
  return v !== null && typeof v === "object" ? structuredClone(v) : v;
}

/** Resolve a written keyword to the schema's canonical keyword (reporting deprecations). */
function canonicalKeyword(
  schema: BlockSchema,
  keyword: string,
  node: Node,
  sink: DiagnosticSink,
): string | undefined {
  if (Object.hasOwn(schema.fields, keyword)) return keyword;
  const alias = schema.aliases?.[keyword];
  if (alias === undefined) return undefined;
  if (alias.startsWith("deprecated:")) {
    const target = alias.slice("deprecated:".length);
    sink.report(
      DiagClass.DEPRECATED,
      `'${keyword}' is deprecated; use '${target}' instead`,
      node.loc,
      keyword,
    );
    return target;
  }
  return alias;
}

/**
 * Parse the children of a block (or the top-level nodes) against a schema into `target`.
 * Unknown keywords warn with a suggestion; value errors are reported and the keyword
 * ignored; the block's validate hook runs at the end.
 */
export function parseInto<F extends Record<string, AnyField>>(
  schema: BlockSchema<F>,
  nodes: readonly Node[],
  target: Infer<F> & BlockMeta,
  sink: DiagnosticSink,
): void {
  const obj = target as unknown as Record<string, unknown> & BlockMeta;
  for (const node of nodes) {
    const key = canonicalKeyword(schema, node.keyword, node, sink);
    if (key === undefined) {
      const ignored = schema.ignored?.[node.keyword];
      if (ignored !== undefined) {
        sink.warn(`'${node.keyword}' is accepted but has no effect in kad: ${ignored}`, node.loc, node.keyword);
        continue;
      }
      const known = [...Object.keys(schema.fields), ...Object.keys(schema.aliases ?? {})];
      const hint = suggest(node.keyword, known);
      sink.report(
        DiagClass.UNKNOWN_KEYWORD,
        `Unknown keyword '${node.keyword}' in ${schema.name}` +
          (hint ? `; did you mean '${hint}'?` : ""),
        node.loc,
        node.keyword,
      );
      continue;
    }
    const field = schema.fields[key] as AnyField;
    parseField(field, key, node, obj, sink);
  }
  schema.validate?.(target, validateContext(sink));
}

/** Parse a whole block schema from nodes into a new model object. */
export function parseBlock<F extends Record<string, AnyField>>(
  schema: BlockSchema<F>,
  nodes: readonly Node[],
  at: SourceLoc,
  sink: DiagnosticSink,
): Infer<F> & BlockMeta {
  const obj = emptyBlock(schema, at);
  parseInto(schema, nodes, obj, sink);
  return obj;
}

export function validateContext(sink: DiagnosticSink): ValidateContext {
  return { sink, at: (b, key) => (key !== undefined ? b.$loc[key] : undefined) ?? b.$at };
}

function parseField(
  field: AnyField,
  key: string,
  node: Node,
  obj: Record<string, unknown> & BlockMeta,
  sink: DiagnosticSink,
): void {
  const wantsBlock = field.kind === "list" || field.kind === "block" || field.kind === "blocks";
  if (wantsBlock && node.children === undefined) {
    sink.report(
      DiagClass.MISSING_BOB,
      `'${node.keyword}' needs a block: write '${node.keyword}${
        field.kind === "blocks" ? " …" : ""
      } { … }'`,
      node.loc,
      node.keyword,
    );
    return;
  }
  if (!wantsBlock && node.children !== undefined) {
    sink.report(
      DiagClass.UNEXPECTED_BOB,
      `'${node.keyword}' does not take a block; its '{ … }' is ignored`,
      node.loc,
      node.keyword,
    );
    return;
  }
  switch (field.kind) {
    case "value": {
      const v = field.type.parse(node.args, makeContext(sink, node, node.keyword));
      if (v !== undefined) {
        obj[key] = v;
        obj.$loc[key] = node.loc;
      }
      return;
    }
    case "multi": {
      const v = field.type.parse(node.args, makeContext(sink, node, node.keyword));
      if (v !== undefined) {
        (obj[key] as unknown[]).push(v);
        obj.$loc[key] = node.loc;
      }
      return;
    }
    case "list": {
      const arr = obj[key] as unknown[];
      for (const child of node.children ?? []) {
        if (child.children !== undefined) {
          sink.report(
            DiagClass.UNEXPECTED_BOB,
            `entries of '${node.keyword}' do not take a block; '${child.keyword} { … }' is ignored`,
            child.loc,
            node.keyword,
          );
          continue;
        }
        const tokens = [keywordToken(child), ...child.args];
        if (field.perToken) {
          for (let i = 0; i < tokens.length; i++) {
            const v = field.entry.parse(
              [tokens[i] as Token],
              makeContext(sink, child, node.keyword, -1),
            );
            if (v !== undefined) arr.push(v);
          }
        } else {
          const v = field.entry.parse(tokens, makeContext(sink, child, node.keyword, -1));
          if (v !== undefined) arr.push(v);
        }
      }
      obj.$loc[key] = node.loc;
      return;
    }
    case "block": {
      const existing = obj[key] as (Record<string, unknown> & BlockMeta) | undefined;
      const target = existing ?? emptyBlock(field.schema, node.loc);
      if (node.args.length > 0) {
        sink.warn(
          `'${node.keyword}' takes no name; '${node.args.map((t) => t.text).join(" ")}' is ignored`,
          node.loc,
          node.keyword,
        );
      }
      parseInto(field.schema, node.children ?? [], target as never, sink);
      obj[key] = target;
      obj.$loc[key] = node.loc;
      return;
    }
    case "blocks": {
      const header = field.header.parse(node.args, makeContext(sink, node, node.keyword));
      if (header === undefined) return;
      const arr = obj[key] as Array<Record<string, unknown> & BlockMeta & { header: unknown }>;
      if (field.unique) {
        const printed = field.header.print(header).join(" ");
        const first = arr.find((b) => field.header.print(b.header).join(" ") === printed);
        if (first) {
          sink.error(
            `duplicate ${node.keyword} '${printed}' (first defined at ${first.$at.file}: Line ${first.$at.line}) - skipping this one; give it another name`,
            node.loc,
            node.keyword,
          );
          return;
        }
      }
      const target = emptyBlock(field.schema, node.loc) as unknown as
        & Record<string, unknown>
        & BlockMeta
        & { header: unknown };
      target.header = header;
      parseInto(field.schema, node.children ?? [], target as never, sink);
      arr.push(target);
      obj.$loc[key] = node.loc;
      return;
    }
  }
}

/** Every keyword of a schema, canonical first then aliases (for docs and suggestions). */
export function keywordsOf(schema: BlockSchema): string[] {
  return [...Object.keys(schema.fields), ...Object.keys(schema.aliases ?? {})];
}
