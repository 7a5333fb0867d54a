/**
 * A JSON Schema (draft 2020-12) validator for the keywords kad's schemas use — type, enum,
 * const, properties, required, additionalProperties, propertyNames, items, minimum,
 * maximum, pattern, local $ref, oneOf, anyOf, allOf — so that tests check documents against
 * the schema files in docs/ themselves. A keyword it does not implement is an error, never
 * silently ignored: a schema cannot promise more than the tests check.
 */

type Schema = boolean | Record<string, unknown>;

/** Keywords that only annotate (no effect on validity). */
const ANNOTATIONS = new Set([
  "$schema",
  "$id",
  "$comment",
  "$defs",
  "title",
  "description",
  "default",
  "examples",
]);

const KNOWN = new Set([
  ...ANNOTATIONS,
  "type",
  "enum",
  "const",
  "properties",
  "required",
  "additionalProperties",
  "propertyNames",
  "items",
  "minimum",
  "maximum",
  "pattern",
  "$ref",
  "oneOf",
  "anyOf",
  "allOf",
]);

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function typeMatches(v: unknown, t: string): boolean {
  const actual = typeOf(v);
  return actual === t || (t === "number" && actual === "integer");
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Validates `value` against `root`; returns the problems found ("at /path: message"),
 * empty when valid. Throws for a schema keyword this validator does not implement.
 */
export function validate(root: Schema, value: unknown): string[] {
  const errors: string[] = [];
  const resolve = (ref: string): Schema => {
    if (!ref.startsWith("#/")) throw new Error(`only local $ref is supported, not ${ref}`);
    let node: unknown = root;
    for (const part of ref.slice(2).split("/")) {
      node = (node as Record<string, unknown>)[part.replaceAll("~1", "/").replaceAll("~0", "~")];
      if (node === undefined) throw new Error(`$ref ${ref} does not resolve`);
    }
    return node as Schema;
  };
  const check = (schema: Schema, v: unknown, path: string, out: string[]): void => {
    if (schema === true) return;
    if (schema === false) {
      out.push(`at ${path || "/"}: no value is allowed here`);
      return;
    }
    for (const k of Object.keys(schema)) {
      if (!KNOWN.has(k)) throw new Error(`schema keyword '${k}' (at ${path}) is not supported`);
    }
    const s = schema as Record<string, unknown>;
    const at = path || "/";
    if (s["$ref"] !== undefined) check(resolve(s["$ref"] as string), v, path, out);
    if (s["type"] !== undefined) {
      const types = Array.isArray(s["type"]) ? s["type"] as string[] : [s["type"] as string];
      if (!types.some((t) => typeMatches(v, t))) {
        out.push(`at ${at}: expected ${types.join(" or ")}, got ${typeOf(v)}`);
        return;
      }
    }
    if (s["enum"] !== undefined && !(s["enum"] as unknown[]).some((e) => deepEqual(e, v))) {
      out.push(`at ${at}: ${JSON.stringify(v)} is not one of ${JSON.stringify(s["enum"])}`);
    }
    if (Object.hasOwn(s, "const") && !deepEqual(s["const"], v)) {
      out.push(`at ${at}: expected ${JSON.stringify(s["const"])}, got ${JSON.stringify(v)}`);
    }
    if (typeof v === "number") {
      if (typeof s["minimum"] === "number" && v < s["minimum"]) {
        out.push(`at ${at}: ${v} is below the minimum ${s["minimum"]}`);
      }
      if (typeof s["maximum"] === "number" && v > s["maximum"]) {
        out.push(`at ${at}: ${v} is above the maximum ${s["maximum"]}`);
      }
    }
    if (typeof v === "string" && typeof s["pattern"] === "string") {
      if (!new RegExp(s["pattern"], "u").test(v)) {
        out.push(`at ${at}: '${v}' does not match ${s["pattern"]}`);
      }
    }
    if (Array.isArray(v) && s["items"] !== undefined) {
      v.forEach((item, i) => check(s["items"] as Schema, item, `${path}/${i}`, out));
    }
    if (typeOf(v) === "object") {
      const o = v as Record<string, unknown>;
      const props = (s["properties"] ?? {}) as Record<string, Schema>;
      for (const r of (s["required"] ?? []) as string[]) {
        if (!Object.hasOwn(o, r)) out.push(`at ${at}: required member '${r}' is missing`);
      }
      for (const [k, item] of Object.entries(o)) {
        if (s["propertyNames"] !== undefined) {
          check(s["propertyNames"] as Schema, k, `${path}/${k} (name)`, out);
        }
        if (Object.hasOwn(props, k)) check(props[k] as Schema, item, `${path}/${k}`, out);
        else if (s["additionalProperties"] !== undefined) {
          const extra = s["additionalProperties"] as Schema;
          if (extra === false) out.push(`at ${at}: member '${k}' is not allowed`);
          else check(extra, item, `${path}/${k}`, out);
        }
      }
    }
    const sub = (list: unknown) =>
      (list as Schema[]).map((x) => {
        const e: string[] = [];
        check(x, v, path, e);
        return e;
      });
    if (s["allOf"] !== undefined) { for (const e of sub(s["allOf"])) out.push(...e); }
    if (s["anyOf"] !== undefined) {
      const results = sub(s["anyOf"]);
      if (!results.some((e) => e.length === 0)) {
        out.push(`at ${at}: matches none of anyOf: ${results.map((e) => e[0]).join(" | ")}`);
      }
    }
    if (s["oneOf"] !== undefined) {
      const results = sub(s["oneOf"]);
      const ok = results.filter((e) => e.length === 0).length;
      if (ok !== 1) {
        out.push(
          ok === 0
            ? `at ${at}: matches none of oneOf: ${results.map((e) => e[0]).join(" | ")}`
            : `at ${at}: matches ${ok} of oneOf, not exactly one`,
        );
      }
    }
  };
  check(root, value, "", errors);
  return errors;
}

/** docs/dump-schema.json, read from the repository. */
export function dumpSchema(): Schema {
  return JSON.parse(
    Deno.readTextFileSync(new URL("../docs/dump-schema.json", import.meta.url)),
  ) as Schema;
}

/** docs/rotate-key-schema.json, read from the repository. */
export function rotateKeySchema(): Schema {
  return JSON.parse(
    Deno.readTextFileSync(new URL("../docs/rotate-key-schema.json", import.meta.url)),
  ) as Schema;
}
