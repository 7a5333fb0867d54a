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
  /**
   * For values of `secret` fields that are only partly secret (`key 1 SECRET`): the printed
   * words with the secret part replaced by SECRET_MASK. Without it the whole value is masked.
   */
  mask?(value: T): string[];
}

/** What printers write in place of a secret value. */
export const SECRET_MASK = "********";

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

/** Field types are checked where fields are declared; here any field of any value type fits. */
// deno-lint-ignore no-explicit-any
type Any = any;
export type AnyField =
  | ValueField<Any, boolean>
  | MultiField<Any>
  | ListField<Any>
  | BlockField<Any>
  | BlocksField<Any, Any>;

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
  /**
   * A list field that takes every line whose first word is not a keyword of this block
   * (`virtual_server_group NAME { 10.0.0.1 80 … }`): such lines are entries, not unknown
   * keywords, and printers write them without a keyword.
   */
  readonly rest?: string;
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
export type Infer<F extends Record<string, AnyField>> = {
  -readonly [K in keyof F]: FieldValue<F[K]>;
};
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
export function defineBlock<F extends Record<string, AnyField>>(
  schema: BlockSchema<F>,
): BlockSchema<F> {
  return schema;
}

// ---- the engine ----

/** The keyword token of a node, for list entries where the keyword is a value. */
export function keywordToken(node: Node): Token {
  return { text: node.keyword, quoted: false, column: node.loc.column };
}

/**
 * The ParseContext of one keyword line. It is a class rather than an object of closures
 * because one is made for every line parsed: methods on the prototype cost nothing per
 * line, closures cost an allocation each.
 */
class LineContext implements ParseContext {
  readonly sink: DiagnosticSink;
  readonly node: Node;
  readonly keyword: string;
  /**
   * The index in the parser's token array of the node's first argument: 0 for keyword
   * lines, 1 for list entries (whose keyword is token 0).
   */
  readonly #argOffset: number;

  constructor(sink: DiagnosticSink, node: Node, keyword: string, argOffset: number) {
    this.sink = sink;
    this.node = node;
    this.keyword = keyword;
    this.#argOffset = argOffset;
  }

  loc(i?: number): SourceLoc {
    const node = this.node;
    if (i === undefined) return node.loc;
    const t = node.args[i - this.#argOffset];
    return t ? { file: node.loc.file, line: node.loc.line, column: t.column } : node.loc;
  }

  error(message: string, i?: number, cls?: DiagClass): void {
    this.sink.report(cls ?? DiagClass.GENERAL_ERROR, message, this.loc(i), this.keyword);
  }

  warn(message: string, i?: number, cls?: DiagClass): void {
    this.sink.report(cls ?? DiagClass.WARNING, message, this.loc(i), this.keyword);
  }

  missing(what: string): void {
    const keyword = this.keyword;
    this.sink.report(
      DiagClass.MISSING_PARAMETER,
      `'${keyword}' is missing its ${what}; write it as '${keyword} <${what}>'`,
      this.node.loc,
      keyword,
    );
  }
}

/** How the engine handles one keyword of a block as written. */
interface KeywordEntry {
  /** The canonical keyword: the model key. */
  readonly key: string;
  readonly field: AnyField;
  /** Set for a deprecated alias: the keyword to recommend instead. */
  readonly deprecatedFor: string | undefined;
}

/**
 * What the engine derives from a schema once, instead of for every block it parses (a large
 * configuration has tens of thousands of blocks).
 */
interface SchemaPlan {
  /** Canonical keywords and aliases → their field. */
  readonly keywords: ReadonlyMap<string, KeywordEntry>;
  /** `$at`, `$loc` and every field with its default; a new block starts as a copy of it. */
  readonly template: Readonly<Record<string, unknown>>;
  /** Fields that need a new empty array in every block (multi, list, blocks). */
  readonly arrayKeys: readonly string[];
  /** Value fields whose default is an object, copied for every block. */
  readonly objectKeys: readonly string[];
  /** Whether a `blocks` field checks that headers are unique. */
  readonly hasUnique: boolean;
}

const plans = new WeakMap<BlockSchema, SchemaPlan>();

function planOf(schema: BlockSchema): SchemaPlan {
  let plan = plans.get(schema);
  if (plan === undefined) {
    plan = makePlan(schema);
    plans.set(schema, plan);
  }
  return plan;
}

function makePlan(schema: BlockSchema): SchemaPlan {
  const keywords = new Map<string, KeywordEntry>();
  const template: Record<string, unknown> = { $at: undefined, $loc: undefined };
  const arrayKeys: string[] = [];
  const objectKeys: string[] = [];
  let hasUnique = false;
  for (const key of Object.keys(schema.fields)) {
    const field = schema.fields[key] as AnyField;
    keywords.set(key, { key, field, deprecatedFor: undefined });
    switch (field.kind) {
      case "value":
        template[key] = field.default;
        if (field.default !== null && typeof field.default === "object") objectKeys.push(key);
        break;
      case "blocks":
        hasUnique ||= field.unique;
        template[key] = undefined;
        arrayKeys.push(key);
        break;
      case "multi":
      case "list":
        template[key] = undefined;
        arrayKeys.push(key);
        break;
      case "block":
        template[key] = undefined;
        break;
    }
  }
  for (const [alias, target] of Object.entries(schema.aliases ?? {})) {
    if (keywords.has(alias)) continue; // a field of that name wins over the alias
    const deprecated = target.startsWith("deprecated:");
    const key = deprecated ? target.slice("deprecated:".length) : target;
    const field = schema.fields[key];
    if (field === undefined) {
      throw new TypeError(`schema error: alias '${alias}' of ${schema.name} names no keyword`);
    }
    keywords.set(alias, { key, field, deprecatedFor: deprecated ? key : undefined });
  }
  // A copy made with object spread has fast, in-object properties; the template itself,
  // built key by key, may not (V8 turns objects with many keyed additions into hash maps).
  return { keywords, template: { ...template }, arrayKeys, objectKeys, hasUnique };
}

/** A fresh model object for a schema, with every default in place and nothing written. */
export function emptyBlock<F extends Record<string, AnyField>>(
  schema: BlockSchema<F>,
  at: SourceLoc,
): Infer<F> & BlockMeta {
  const plan = planOf(schema);
  // Object.assign rather than object spread: with templates of many shapes the spread's
  // inline cache goes megamorphic and copies property by property; assign stays faster.
  const obj: Record<string, unknown> = Object.assign({}, plan.template);
  obj.$at = at;
  obj.$loc = {};
  // Indexed loops: a for-of allocates an iterator, and this runs for every block.
  const arrayKeys = plan.arrayKeys;
  for (let i = 0; i < arrayKeys.length; i++) obj[arrayKeys[i] as string] = [];
  const objectKeys = plan.objectKeys;
  for (let i = 0; i < objectKeys.length; i++) {
    const key = objectKeys[i] as string;
    obj[key] = copyPlain(plan.template[key]);
  }
  return obj as Infer<F> & BlockMeta;
}

/**
 * A copy of plain model data (primitives, arrays and plain objects), so that blocks never
 * share a mutable value. Much cheaper than `structuredClone`, which serialises even a number.
 */
export function copyPlain<T>(v: T): T {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(copyPlain) as T;
  const out: Record<string, unknown> = {};
  for (const k in v) out[k] = copyPlain((v as Record<string, unknown>)[k]);
  return out as T;
}

/** Report a keyword the block does not know (or accepts only to ignore). */
function reportUnknown(schema: BlockSchema, node: Node, sink: DiagnosticSink): void {
  const ignored = schema.ignored !== undefined && Object.hasOwn(schema.ignored, node.keyword)
    ? schema.ignored[node.keyword]
    : undefined;
  if (ignored !== undefined) {
    sink.warn(
      `'${node.keyword}' is accepted but has no effect in kad: ${ignored}`,
      node.loc,
      node.keyword,
    );
    return;
  }
  const hint = suggest(node.keyword, keywordsOf(schema));
  sink.report(
    DiagClass.UNKNOWN_KEYWORD,
    `Unknown keyword '${node.keyword}' in ${schema.name}` +
      (hint ? `; did you mean '${hint}'?` : ""),
    node.loc,
    node.keyword,
  );
}

/**
 * The blocks already parsed into a unique `blocks` field, by printed header. Kept for one
 * parseInto call (the only time entries are added), so duplicate checks are lookups rather
 * than a scan of every earlier block.
 */
type UniqueIndex = Map<string, Map<string, BlockMeta>>;

/** One keyword line of a block (see {@link parseInto}). */
function parseNode(
  schema: BlockSchema,
  plan: SchemaPlan,
  node: Node,
  obj: Record<string, unknown> & BlockMeta,
  sink: DiagnosticSink,
  unique: UniqueIndex | undefined,
): void {
  const entry = plan.keywords.get(node.keyword);
  if (entry === undefined) {
    if (schema.rest !== undefined) {
      parseRestEntry(schema.fields[schema.rest] as AnyField, schema.rest, node, obj, sink);
    } else {
      reportUnknown(schema, node, sink);
    }
    return;
  }
  if (entry.deprecatedFor !== undefined) {
    sink.report(
      DiagClass.DEPRECATED,
      `'${node.keyword}' is deprecated; use '${entry.deprecatedFor}' instead`,
      node.loc,
      node.keyword,
    );
  }
  parseField(entry.field, entry.key, node, obj, sink, unique);
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
  const plan = planOf(schema);
  const unique: UniqueIndex | undefined = plan.hasUnique ? new Map() : undefined;
  for (let i = 0; i < nodes.length; i++) {
    parseNode(schema, plan, nodes[i] as Node, obj, sink, unique);
  }
  schema.validate?.(target, validateContext(sink));
}

/**
 * {@link parseInto} one node at a time: `add` each node, then `finish`. The loader uses it
 * to parse each top-level block as soon as the block is complete, while the file is still
 * being read.
 */
export class BlockParser<F extends Record<string, AnyField>> {
  readonly #schema: BlockSchema<F>;
  readonly #plan: SchemaPlan;
  readonly #target: Infer<F> & BlockMeta;
  readonly #sink: DiagnosticSink;
  readonly #unique: UniqueIndex | undefined;

  constructor(schema: BlockSchema<F>, target: Infer<F> & BlockMeta, sink: DiagnosticSink) {
    this.#schema = schema;
    this.#plan = planOf(schema);
    this.#target = target;
    this.#sink = sink;
    this.#unique = this.#plan.hasUnique ? new Map() : undefined;
  }

  /** Parse the next node of the block. */
  add(node: Node): void {
    const obj = this.#target as unknown as Record<string, unknown> & BlockMeta;
    parseNode(this.#schema, this.#plan, node, obj, this.#sink, this.#unique);
  }

  /** Run the block's validate hook, reporting to `sink` (by default the parser's). */
  finish(sink: DiagnosticSink = this.#sink): void {
    this.#schema.validate?.(this.#target, validateContext(sink));
  }
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

/** A ValidateContext as a class, like {@link LineContext}: one is made per block. */
class BlockContext implements ValidateContext {
  readonly sink: DiagnosticSink;

  constructor(sink: DiagnosticSink) {
    this.sink = sink;
  }

  at(b: BlockMeta, key?: string): SourceLoc {
    return (key !== undefined ? b.$loc[key] : undefined) ?? b.$at;
  }
}

export function validateContext(sink: DiagnosticSink): ValidateContext {
  return new BlockContext(sink);
}

/** The tokens of a list entry line: its keyword as a token, then its arguments. */
function entryTokens(node: Node): Token[] {
  const args = node.args;
  const tokens: Token[] = new Array(args.length + 1);
  tokens[0] = keywordToken(node);
  for (let i = 0; i < args.length; i++) tokens[i + 1] = args[i] as Token;
  return tokens;
}

function parseField(
  field: AnyField,
  key: string,
  node: Node,
  obj: Record<string, unknown> & BlockMeta,
  sink: DiagnosticSink,
  /** Present when the schema has a unique `blocks` field. */
  unique: UniqueIndex | undefined,
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
      const v = field.type.parse(node.args, new LineContext(sink, node, node.keyword, 0));
      if (v !== undefined) {
        obj[key] = v;
        obj.$loc[key] = node.loc;
      }
      return;
    }
    case "multi": {
      const v = field.type.parse(node.args, new LineContext(sink, node, node.keyword, 0));
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
        const tokens = entryTokens(child);
        if (field.perToken) {
          for (let i = 0; i < tokens.length; i++) {
            const v = field.entry.parse(
              [tokens[i] as Token],
              new LineContext(sink, child, node.keyword, 1),
            );
            if (v !== undefined) arr.push(v);
          }
        } else {
          const v = field.entry.parse(tokens, new LineContext(sink, child, node.keyword, 1));
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
      const header = field.header.parse(node.args, new LineContext(sink, node, node.keyword, 0));
      if (header === undefined) return;
      const arr = obj[key] as Array<Record<string, unknown> & BlockMeta & { header: unknown }>;
      let seen: Map<string, BlockMeta> | undefined;
      if (field.unique && unique !== undefined) {
        seen = unique.get(key);
        if (seen === undefined) {
          // Blocks parsed by an earlier parseInto of the same object (a repeated block).
          seen = new Map();
          for (const b of arr) {
            const p = field.header.print(b.header).join(" ");
            if (!seen.has(p)) seen.set(p, b);
          }
          unique.set(key, seen);
        }
        const printed = field.header.print(header).join(" ");
        const first = seen.get(printed);
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
      if (seen !== undefined) {
        // Indexed as printed now: the block's validate hook may have changed its header.
        const now = field.header.print(target.header).join(" ");
        if (!seen.has(now)) seen.set(now, target);
      }
      obj.$loc[key] = node.loc;
      return;
    }
  }
}

/** One keyword-less line of a block with a `rest` list field. */
function parseRestEntry(
  field: AnyField,
  key: string,
  node: Node,
  obj: Record<string, unknown> & BlockMeta,
  sink: DiagnosticSink,
): void {
  if (field.kind !== "list") {
    throw new TypeError(`schema error: rest field '${key}' must be a list`);
  }
  if (node.children !== undefined) {
    sink.report(
      DiagClass.UNEXPECTED_BOB,
      `'${node.keyword}' does not take a block; its '{ … }' is ignored`,
      node.loc,
      node.keyword,
    );
    return;
  }
  const v = field.entry.parse(entryTokens(node), new LineContext(sink, node, key, 1));
  if (v !== undefined) (obj[key] as unknown[]).push(v);
  obj.$loc[key] ??= node.loc;
}

/** Every keyword of a schema, canonical first then aliases (for docs and suggestions). */
export function keywordsOf(schema: BlockSchema): string[] {
  return [...Object.keys(schema.fields), ...Object.keys(schema.aliases ?? {})];
}
