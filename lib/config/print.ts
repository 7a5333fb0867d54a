/**
 * Printing the typed configuration model in three forms: normalized keepalived.conf text,
 * TOML (the schema of docs/config-toml.md) and JSON.
 *
 * Everything is driven by the block schemas (lib/config/schema.ts): a keyword is printed
 * iff it was written (its key is in the block's `$loc`), in schema field order, with its
 * arguments from the value type's `print()`. Fields marked `secret` are masked unless the
 * caller asks for secrets. This module never lists keywords by hand, never reads files and
 * never changes the model; reading TOML back is lib/config/toml.ts.
 */
import type { Node, Token } from "./ast.ts";
import type { SourceLoc } from "./diagnostic.ts";
import {
  type AnyField,
  type BlockMeta,
  type BlockSchema,
  SECRET_MASK,
  type TomlKind,
  type ValueType,
} from "./schema.ts";
import { boolWord, quoteAlways, quoteIfNeeded } from "./types.ts";
import { type KadConfig, rootSchema } from "./schema/root.ts";

/** Options shared by every printer. */
export interface PrintOptions {
  /** Print secret values (auth_pass, auth_hmac keys, SSL password) instead of `********`. */
  showSecrets?: boolean;
}

/** What every printer writes in place of a secret value. */
export { SECRET_MASK };

/** A model block as the printers see it: field values by key plus location metadata. */
type ModelBlock = Record<string, unknown> & BlockMeta;

const NO_LOC: SourceLoc = { file: "", line: 0, column: 0 };

// ---- words and tokens ----

/**
 * Turn the words of a value type's `print()` into tokens: a word in double quotes (as
 * `quoteIfNeeded` writes it) becomes a quoted token without its quotes, exactly as the
 * keepalived tokenizer would read it back (spec/vrrp.md §4.1).
 */
export function wordsToTokens(words: readonly string[]): Token[] {
  return words.map((w) =>
    w.length >= 2 && w.startsWith('"') && w.endsWith('"')
      ? { text: w.slice(1, -1), quoted: true, column: 0 }
      : { text: w, quoted: false, column: 0 }
  );
}

/** One token as keepalived.conf text, double-quoted when it was quoted or must be. */
export function renderToken(t: Token): string {
  return t.quoted ? quoteAlways(t.text) : quoteIfNeeded(t.text);
}

/** A keyword line as keepalived.conf text. */
export function renderLine(keyword: string, args: readonly Token[]): string {
  return [quoteIfNeeded(keyword), ...args.map(renderToken)].join(" ");
}

function makeNode(keyword: string, args: Token[], loc: SourceLoc, children?: Node[]): Node {
  const raw = renderLine(keyword, args);
  return children === undefined
    ? { keyword, args, raw, loc }
    : { keyword, args, raw, loc, children };
}

function masked(words: readonly string[], secret: boolean): string[] {
  return secret ? [SECRET_MASK] : [...words];
}

/** A value's printed words, masked as its type says when it is secret. */
function printValue<T>(type: ValueType<T>, v: T, secret: boolean): string[] {
  if (!secret) return type.print(v);
  return type.mask ? type.mask(v) : [SECRET_MASK];
}

/** A value as TOML text, masked as its type says when it is secret. */
function tomlValue<T>(type: ValueType<T>, v: T, secret: boolean): string {
  if (secret && !type.mask) return MASKED_TOML;
  return tomlValueText(type.toml, printValue(type, v, secret));
}

// ---- model → block tree ----

/**
 * The block tree that parses back to `obj` under `schema`: written keywords only, in
 * schema field order; a `multi` field gives one line per value, a `list` field one block
 * of entry lines (the schema's `rest` list: the entry lines alone), a `block` field one
 * nested block and a `blocks` field one
 * `keyword HEADER… { … }` per instance. Secret fields print `********` unless
 * `opts.showSecrets`.
 *
 * @example
 * ```ts
 * import { defineBlock, optional, parseBlock } from "./schema.ts";
 * import { int } from "./types.ts";
 * import { DiagnosticSink } from "./diagnostic.ts";
 * const s = defineBlock({ name: "demo", fields: { prio: optional(int(1, 255)) } });
 * const at = { file: "x", line: 0, column: 0 };
 * const tok = { text: "7", quoted: false, column: 6 };
 * const obj = parseBlock(s, [{ keyword: "prio", args: [tok], raw: "prio 7", loc: at }], at,
 *   new DiagnosticSink());
 * modelToNodes(s, obj, {})[0]?.raw; // "prio 7"
 * ```
 */
export function modelToNodes(schema: BlockSchema, obj: object, opts: PrintOptions = {}): Node[] {
  return blockNodes(schema, obj as ModelBlock, opts.showSecrets === true, false);
}

function blockNodes(
  schema: BlockSchema,
  obj: ModelBlock,
  showSecrets: boolean,
  inSecret: boolean,
): Node[] {
  const out: Node[] = [];
  for (const [key, field] of Object.entries(schema.fields) as Array<[string, AnyField]>) {
    if (!Object.hasOwn(obj.$loc, key)) continue;
    const loc = obj.$loc[key] ?? obj.$at ?? NO_LOC;
    const secret = !showSecrets && (inSecret || field.secret === true);
    const v = obj[key];
    switch (field.kind) {
      case "value":
        if (v !== undefined) {
          out.push(makeNode(key, wordsToTokens(printValue(field.type, v, secret)), loc));
        }
        break;
      case "multi":
        for (const item of v as unknown[]) {
          out.push(makeNode(key, wordsToTokens(printValue(field.type, item, secret)), loc));
        }
        break;
      case "list": {
        const children: Node[] = [];
        for (const entry of v as unknown[]) {
          const words = wordsToTokens(masked(field.entry.print(entry), secret));
          const first = words[0];
          if (first !== undefined) children.push(makeNode(first.text, words.slice(1), loc));
        }
        // The block's `rest` list is written as keyword-less lines of the block itself
        // (`virtual_server_group NAME { 10.0.0.1 80 }`), which is all keepalived accepts.
        if (schema.rest === key) out.push(...children);
        else out.push(makeNode(key, [], loc, children));
        break;
      }
      case "block":
        if (v !== undefined) {
          const inner = blockNodes(field.schema, v as ModelBlock, showSecrets, secret);
          out.push(makeNode(key, [], loc, inner));
        }
        break;
      case "blocks":
        for (const b of v as Array<ModelBlock & { header: unknown }>) {
          const header = wordsToTokens(field.header.print(b.header));
          const inner = blockNodes(field.schema, b, showSecrets, secret);
          out.push(makeNode(key, header, b.$at ?? loc, inner));
        }
        break;
    }
  }
  return out;
}

// ---- keepalived.conf text ----

const INDENT = "    ";

/**
 * Block-tree nodes as keepalived.conf text: four-space indentation, `keyword {` and a
 * closing `}` on a line of its own, a blank line around each top-level block.
 */
export function renderKeepalived(nodes: readonly Node[]): string {
  const out: string[] = [];
  const emit = (n: Node, depth: number): void => {
    const pad = INDENT.repeat(depth);
    const line = renderLine(n.keyword, n.args);
    if (n.children === undefined) {
      out.push(pad + line);
      return;
    }
    out.push(`${pad}${line} {`);
    for (const c of n.children) emit(c, depth + 1);
    out.push(`${pad}}`);
  };
  let prevBlock = false;
  for (const n of nodes) {
    const isBlock = n.children !== undefined;
    if (out.length > 0 && (isBlock || prevBlock)) out.push("");
    emit(n, 0);
    prevBlock = isBlock;
  }
  return out.length === 0 ? "" : out.join("\n") + "\n";
}

/** A model block of `schema` as keepalived.conf text (see {@link printKeepalived}). */
export function blockToKeepalived(
  schema: BlockSchema,
  obj: object,
  opts: PrintOptions = {},
): string {
  return renderKeepalived(modelToNodes(schema, obj, opts));
}

/**
 * The configuration as normalized keepalived.conf text that kad parses back to an equal
 * model (secrets aside: masked values parse back as the mask).
 */
export function printKeepalived(cfg: KadConfig, opts: PrintOptions = {}): string {
  return blockToKeepalived(rootSchema, cfg, opts);
}

// ---- TOML ----

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/** A TOML basic string (JSON escapes are TOML escapes; DEL must be escaped too). */
export function tomlString(s: string): string {
  return JSON.stringify(s).replace(/\x7f/g, "\\u007f");
}

/** A TOML key, bare when it can be. */
export function tomlKey(k: string): string {
  return BARE_KEY.test(k) ? k : tomlString(k);
}

const DECIMAL = /^([+-]?)([0-9]+)(?:\.([0-9]+))?$/;

/** A decimal word as a TOML number literal (leading zeros dropped), or undefined. */
function tomlNumber(text: string, integerOnly: boolean): string | undefined {
  const m = DECIMAL.exec(text);
  if (!m) return undefined;
  const sign = m[1] === "-" ? "-" : "";
  const whole = (m[2] as string).replace(/^0+(?=[0-9])/, "");
  const frac = m[3];
  if (frac === undefined) {
    return Number.isSafeInteger(Number(whole)) ? sign + whole : undefined;
  }
  if (integerOnly) return undefined;
  return `${sign}${whole}.${frac}`;
}

/**
 * One keyword occurrence as a TOML value (docs/config-toml.md "Values"): the natural TOML
 * type for the value's `toml` kind when the printed words fit it, otherwise the escape
 * hatch every kind accepts, an array of the argument words.
 */
export function tomlValueText(kind: TomlKind, words: readonly string[]): string {
  const toks = wordsToTokens(words);
  const texts = toks.map((t) => t.text);
  const only = toks.length === 1 ? texts[0] as string : undefined;
  switch (kind) {
    case "flag":
      if (toks.length === 0) return "true";
      break;
    case "bool": {
      if (toks.length === 0) return "true";
      const b = only === undefined ? undefined : boolWord(only);
      if (b !== undefined) return String(b);
      break;
    }
    case "int":
    case "number": {
      const n = only === undefined ? undefined : tomlNumber(only, kind === "int");
      if (n !== undefined) return n;
      break;
    }
    case "string":
    case "words":
      if (only === undefined) break;
      // A plain number (`weight 10`, `status_code 200`) reads better as a TOML number;
      // the reader takes numbers for string kinds, so only canonical text qualifies
      // ("022" or "1.50" would not come back the same).
      if (!(toks[0] as Token).quoted && isCanonicalNumber(only)) return only;
      return tomlString(only);
  }
  return tomlArray(
    toks.map((t) => (!t.quoted && isCanonicalNumber(t.text) ? t.text : tomlString(t.text))),
    false,
  );
}

/** Whether a word is the decimal text a TOML number of that value reads back as. */
function isCanonicalNumber(text: string): boolean {
  if (!/^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$/.test(text)) return false;
  const n = Number(text);
  return Number.isFinite(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER && String(n) === text;
}

function tomlArray(items: readonly string[], multiline: boolean): string {
  if (items.length === 0) return "[]";
  if (multiline) return `[\n${items.map((i) => `  ${i},`).join("\n")}\n]`;
  return `[${items.join(", ")}]`;
}

/** Whether a blocks field is printed as named tables (`[vrrp_instance.VI_1]`). */
export function isNamedBlocks(field: AnyField): boolean {
  return field.kind === "blocks" && field.unique && field.header.toml === "string";
}

/** A masked secret in TOML: always a string, whatever the value's kind. */
const MASKED_TOML = tomlString(SECRET_MASK);

interface TomlWriter {
  lines: string[];
  showSecrets: boolean;
}

function tomlPath(path: readonly string[]): string {
  return path.map(tomlKey).join(".");
}

const INLINE_WIDTH = 100;

function tomlBlock(
  w: TomlWriter,
  schema: BlockSchema,
  obj: ModelBlock,
  path: readonly string[],
  inSecret: boolean,
): void {
  const tables: Array<() => void> = [];
  for (const [key, field] of Object.entries(schema.fields) as Array<[string, AnyField]>) {
    if (!Object.hasOwn(obj.$loc, key)) continue;
    const secret = !w.showSecrets && (inSecret || field.secret === true);
    const v = obj[key];
    const k = tomlKey(key);
    switch (field.kind) {
      case "value":
        if (v !== undefined) {
          w.lines.push(
            `${k} = ${tomlValue(field.type, v, secret)}`,
          );
        }
        break;
      case "multi": {
        // Always an array of occurrences, so that an occurrence printed as an array of
        // words stays nested and is not read back as several occurrences.
        const items = (v as unknown[]).map((item) => tomlValue(field.type, item, secret));
        const inline = `${k} = ${tomlArray(items, false)}`;
        w.lines.push(inline.length <= INLINE_WIDTH ? inline : `${k} = ${tomlArray(items, true)}`);
        break;
      }
      case "list": {
        const items = (v as unknown[]).map((entry) => {
          const toks = wordsToTokens(masked(field.entry.print(entry), secret));
          const first = toks[0];
          return tomlString(first === undefined ? "" : renderLine(first.text, toks.slice(1)));
        });
        const inline = `${k} = ${tomlArray(items, false)}`;
        const multiline = items.length > 1 && (!field.perToken || inline.length > INLINE_WIDTH);
        w.lines.push(multiline ? `${k} = ${tomlArray(items, true)}` : inline);
        break;
      }
      case "block":
        if (v !== undefined) {
          tables.push(() => {
            const sub = [...path, key];
            w.lines.push("", `[${tomlPath(sub)}]`);
            tomlBlock(w, field.schema, v as ModelBlock, sub, secret);
          });
        }
        break;
      case "blocks": {
        const list = v as Array<ModelBlock & { header: unknown }>;
        const named = isNamedBlocks(field) &&
          list.every((b) => wordsToTokens(field.header.print(b.header)).length === 1);
        for (const b of list) {
          tables.push(() => {
            const header = wordsToTokens(field.header.print(b.header));
            if (named) {
              const sub = [...path, key, (header[0] as Token).text];
              w.lines.push("", `[${tomlPath(sub)}]`);
              tomlBlock(w, field.schema, b, sub, secret);
            } else {
              const sub = [...path, key];
              w.lines.push("", `[[${tomlPath(sub)}]]`);
              const first = header[0];
              if (first !== undefined) {
                const text = header.length === 1 && !first.quoted
                  ? first.text
                  : header.map(renderToken).join(" ");
                w.lines.push(`header = ${tomlString(text)}`);
              }
              tomlBlock(w, field.schema, b, sub, secret);
            }
          });
        }
        break;
      }
    }
  }
  for (const t of tables) t();
}

/** A model block of `schema` as a TOML document (see {@link printToml}). */
export function blockToToml(schema: BlockSchema, obj: object, opts: PrintOptions = {}): string {
  const w: TomlWriter = { lines: [], showSecrets: opts.showSecrets === true };
  tomlBlock(w, schema, obj as ModelBlock, [], false);
  while (w.lines[0] === "") w.lines.shift();
  return w.lines.length === 0 ? "" : w.lines.join("\n") + "\n";
}

/** The configuration as TOML in the schema of docs/config-toml.md. */
export function printToml(cfg: KadConfig, opts: PrintOptions = {}): string {
  return blockToToml(rootSchema, cfg, opts);
}

// ---- plain objects and JSON ----

/** A value as plain JSON-able data (Maps become objects, Sets arrays). */
function plainValue(v: unknown, seen: Set<object>): unknown {
  if (v === null || typeof v !== "object") {
    return typeof v === "bigint" ? v.toString() : v;
  }
  if (seen.has(v)) return "[circular]";
  seen.add(v);
  let out: unknown;
  if (Array.isArray(v)) {
    out = v.map((x) => plainValue(x, seen));
  } else if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) o[String(k)] = plainValue(x, seen);
    out = o;
  } else if (v instanceof Set) {
    out = [...v].map((x) => plainValue(x, seen));
  } else {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x !== undefined && k !== "$loc" && k !== "$at") o[k] = plainValue(x, seen);
    }
    out = o;
  }
  seen.delete(v);
  return out;
}

function plainBlock(
  schema: BlockSchema,
  obj: ModelBlock,
  showSecrets: boolean,
  inSecret: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const seen = new Set<object>();
  for (const [key, field] of Object.entries(schema.fields) as Array<[string, AnyField]>) {
    const v = obj[key];
    if (v === undefined) continue;
    const secret = !showSecrets && (inSecret || field.secret === true);
    switch (field.kind) {
      case "value":
        out[key] = secret ? SECRET_MASK : plainValue(v, seen);
        break;
      case "multi":
      case "list":
        out[key] = (v as unknown[]).map((x) => (secret ? SECRET_MASK : plainValue(x, seen)));
        break;
      case "block":
        out[key] = plainBlock(field.schema, v as ModelBlock, showSecrets, secret);
        break;
      case "blocks":
        out[key] = (v as Array<ModelBlock & { header: unknown }>).map((b) => ({
          header: plainValue(b.header, seen),
          ...plainBlock(field.schema, b, showSecrets, secret),
        }));
        break;
    }
  }
  return out;
}

/**
 * A model block of `schema` as a plain object: the schema's fields in schema order (the
 * `header` of a repeated block first), defaults included, no `$loc`/`$at`, timers in µs,
 * secrets masked unless `opts.showSecrets`.
 */
export function blockToPlain(
  schema: BlockSchema,
  obj: object,
  opts: PrintOptions = {},
): Record<string, unknown> {
  return plainBlock(schema, obj as ModelBlock, opts.showSecrets === true, false);
}

/** The configuration model as a plain object (what {@link printJson} prints; tests compare it). */
export function modelToPlain(cfg: KadConfig, opts: PrintOptions = {}): Record<string, unknown> {
  return blockToPlain(rootSchema, cfg, opts);
}

/** The configuration model as JSON (two-space indentation, schema key order). */
export function printJson(cfg: KadConfig, opts: PrintOptions = {}): string {
  return JSON.stringify(modelToPlain(cfg, opts), null, 2) + "\n";
}
