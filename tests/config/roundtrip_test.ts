import { assert, assertEquals } from "../_assert.ts";
import type { Diagnostic } from "../../lib/config/diagnostic.ts";
import {
  loadConfig,
  loadConfigText,
  type LoadResult,
  loadTomlText,
} from "../../lib/config/load.ts";
import {
  modelToPlain,
  printJson,
  printKeepalived,
  printToml,
  SECRET_MASK,
} from "../../lib/config/print.ts";
import { rootSchema } from "../../lib/config/schema/root.ts";
import type { AnyField, BlockSchema } from "../../lib/config/schema.ts";

// Every configuration must survive keepalived.conf → model → printer → model unchanged,
// through both printers, and no printer may reveal a secret unless asked to.

const SAMPLES = "/usr/share/doc/keepalived/samples";
const FIXTURES = new URL("../fixtures/roundtrip/", import.meta.url).pathname;
const OPTS = { configId: "test" } as const;

function configFiles(): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(SAMPLES)) {
    if (e.isFile && e.name.startsWith("keepalived.conf.")) out.push(`${SAMPLES}/${e.name}`);
  }
  for (const e of Deno.readDirSync(FIXTURES)) {
    if (e.isFile && e.name.endsWith(".conf")) out.push(`${FIXTURES}${e.name}`);
  }
  return out.sort();
}

const FILES = configFiles();

const plain = (r: LoadResult) => modelToPlain(r.config, { showSecrets: true });
const messages = (ds: readonly Diagnostic[]) => ds.map((d) => `${d.class}: ${d.message}`);

/** The reprint may lose problems (e.g. deprecated spellings) but must not add any. */
function assertNoNewDiagnostics(first: LoadResult, second: LoadResult, what: string): void {
  const known = new Set(messages(first.sink.items));
  const added = messages(second.sink.items).filter((m) => !known.has(m));
  assertEquals(added, [], `${what} reported problems the original did not`);
}

Deno.test("the round-trip corpus holds every Debian sample and the fixtures", () => {
  assert(FILES.filter((f) => f.startsWith(SAMPLES)).length >= 20, `too few samples in ${SAMPLES}`);
  assert(
    FILES.filter((f) => f.startsWith(FIXTURES)).length >= 2,
    `too few fixtures in ${FIXTURES}`,
  );
});

for (const file of FILES) {
  const name = file.replace(/^.*\//, "");

  Deno.test(`${name}: keepalived → TOML → model is unchanged`, () => {
    const m1 = loadConfig(file, OPTS);
    const toml = printToml(m1.config, { showSecrets: true });
    const m2 = loadTomlText(toml, `${name}.toml`, OPTS);
    assertNoNewDiagnostics(m1, m2, `TOML of ${name}:\n${toml}`);
    assertEquals(plain(m2), plain(m1), `TOML of ${name}:\n${toml}`);
  });

  Deno.test(`${name}: keepalived → printed keepalived → model is unchanged`, () => {
    const m1 = loadConfig(file, OPTS);
    const text = printKeepalived(m1.config, { showSecrets: true });
    const m2 = loadConfigText(text, `${name}.printed`, OPTS);
    assertNoNewDiagnostics(m1, m2, `printed ${name}:\n${text}`);
    assertEquals(plain(m2), plain(m1), `printed ${name}:\n${text}`);
    assertEquals(printKeepalived(m2.config, { showSecrets: true }), text, "printing is idempotent");
  });
}

/** Every secret value written in a model (found through the schema's `secret` marks). */
function secretsOf(schema: BlockSchema, obj: Record<string, unknown>, inSecret = false): string[] {
  const out: string[] = [];
  for (const [key, field] of Object.entries(schema.fields) as Array<[string, AnyField]>) {
    const v = obj[key];
    if (v === undefined) continue;
    const secret = inSecret || field.secret === true;
    switch (field.kind) {
      case "value":
        if (secret) out.push(...field.type.print(v));
        break;
      case "multi":
        if (secret) { for (const x of v as unknown[]) out.push(...field.type.print(x)); }
        break;
      case "list":
        if (secret) { for (const x of v as unknown[]) out.push(...field.entry.print(x)); }
        break;
      case "block":
        out.push(...secretsOf(field.schema, v as Record<string, unknown>, secret));
        break;
      case "blocks":
        for (const b of v as Array<Record<string, unknown>>) {
          out.push(...secretsOf(field.schema, b, secret));
        }
        break;
    }
  }
  // Short words (key ids such as "1") would match anywhere; the secret material is long.
  return out.map((w) => w.replace(/^"|"$/g, "")).filter((w) => w.length >= 6);
}

Deno.test("printed outputs never contain secret values unless asked to", () => {
  const rich = loadConfig(`${FIXTURES}rich.conf`, OPTS).config;
  const secrets = secretsOf(rootSchema, rich as unknown as Record<string, unknown>);
  for (const s of ["pw123456", "sslsecretpw"]) {
    assert(secrets.includes(s), `fixture secret ${s} is marked secret`);
  }
  assert(secrets.some((s) => s.includes("hmac-secret")), "auth_hmac keys are marked secret");
  const outputs = {
    keepalived: printKeepalived(rich),
    toml: printToml(rich),
    json: printJson(rich),
  };
  for (const [what, out] of Object.entries(outputs)) {
    for (const s of secrets) assert(!out.includes(s), `${what} output reveals '${s}'`);
    assert(out.includes(SECRET_MASK), `${what} output shows the mask`);
  }
  const shown = printKeepalived(rich, { showSecrets: true });
  for (const s of secrets) assert(shown.includes(s), `showSecrets prints '${s}'`);
});

Deno.test("the JSON printer has no location metadata and gives timers in µs", () => {
  const r = loadConfig(`${FIXTURES}rich.conf`, OPTS);
  const json = printJson(r.config);
  assert(!json.includes('"$loc"') && !json.includes('"$at"'));
  const parsed = JSON.parse(json);
  assertEquals(parsed, JSON.parse(JSON.stringify(modelToPlain(r.config))));
  assertEquals(Object.keys(parsed), Object.keys(modelToPlain(r.config)));
});

/** The fenced blocks of a given language in a markdown file. */
function fenced(md: string, lang: string): string[] {
  const re = new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g");
  return [...md.matchAll(re)].map((m) => m[1] as string);
}

Deno.test("the full example of docs/config-toml.md is equivalent to its keepalived.conf", () => {
  const doc = Deno.readTextFileSync(new URL("../../docs/config-toml.md", import.meta.url));
  const md = doc.slice(doc.indexOf("## Full example"));
  const conf = fenced(md, "keepalived")[0];
  const toml = fenced(md, "toml")[0];
  assert(
    conf !== undefined && toml !== undefined,
    "docs/config-toml.md has a keepalived and a toml example",
  );
  const k = loadConfigText(conf, "example.conf", OPTS);
  const t = loadTomlText(toml, "example.toml", OPTS);
  assertEquals(messages(k.sink.items), []);
  assertEquals(messages(t.sink.items), []);
  assertEquals(plain(t), plain(k));
});
