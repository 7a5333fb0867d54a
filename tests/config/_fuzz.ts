/**
 * Deterministic configuration fuzzing shared by the suite's fuzz test and the long
 * `deno task fuzz` run: mutate real configurations with a seeded generator and check that
 * loading never throws, never hangs and always yields well-formed diagnostics.
 */
import { DiagnosticSink } from "../../lib/config/diagnostic.ts";
import { loadConfig } from "../../lib/config/load.ts";
import { memoryFs } from "../../lib/config/source.ts";

/** mulberry32: a small, fast, seeded PRNG (deterministic across runs). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fragments that exercise every syntactic feature when spliced in at random. */
const DICTIONARY = [
  "{",
  "}",
  "{ }",
  '"',
  "#",
  "!",
  "\\",
  "\\#",
  "$",
  "${",
  "}",
  "$X=",
  "$M=a\\",
  "${X}",
  "${_ENV HOME}",
  "${_RANDOM 1 2}",
  "${_INSTANCE}",
  "~SEQ(i, 1, 3) ",
  "~SEQ(i,",
  "~LST(x, a, b) ",
  "~SEQx(h, 0, 2, 31) ",
  "@test ",
  "@^test ",
  "include ",
  "include *.conf",
  "includea missing",
  "\0",
  "\n",
  "\r\n",
  "\t",
  " ",
  "255",
  "0",
  "-1",
  "4294967296",
  "1.5",
  "::1",
  "10.0.0.1/33",
  "vrrp_instance",
  "virtual_server",
  "real_server",
  "global_defs",
  "HTTP_GET",
  "url",
  "TCP_CHECK",
  "priority",
  "state",
  "advert_int",
  "virtual_router_id",
  "weight",
  "\u00ff\u00fe",
  "\u{1F600}",
];

/** Mutate a text: 1–4 random edits (splice, delete, duplicate, byte flip, dictionary insert). */
export function mutate(text: string, rnd: () => number, corpus: readonly string[]): string {
  let s = text;
  const edits = 1 + Math.floor(rnd() * 4);
  for (let e = 0; e < edits; e++) {
    const pos = Math.floor(rnd() * (s.length + 1));
    const kind = Math.floor(rnd() * 6);
    switch (kind) {
      case 0: { // insert a dictionary fragment
        const w = DICTIONARY[Math.floor(rnd() * DICTIONARY.length)] as string;
        s = s.slice(0, pos) + w + s.slice(pos);
        break;
      }
      case 1: { // delete a range
        const len = Math.floor(rnd() * 40);
        s = s.slice(0, pos) + s.slice(pos + len);
        break;
      }
      case 2: { // duplicate a range
        const len = Math.floor(rnd() * 200);
        s = s.slice(0, pos + len) + s.slice(pos, pos + len) + s.slice(pos + len);
        break;
      }
      case 3: { // flip a character
        if (s.length === 0) break;
        const p = Math.min(pos, s.length - 1);
        const c = String.fromCharCode(Math.floor(rnd() * 256));
        s = s.slice(0, p) + c + s.slice(p + 1);
        break;
      }
      case 4: { // splice in lines from another file of the corpus
        const other = corpus[Math.floor(rnd() * corpus.length)] as string;
        const lines = other.split("\n");
        const from = Math.floor(rnd() * lines.length);
        const chunk = lines.slice(from, from + 1 + Math.floor(rnd() * 10)).join("\n");
        s = s.slice(0, pos) + "\n" + chunk + "\n" + s.slice(pos);
        break;
      }
      default: { // swap two lines
        const lines = s.split("\n");
        const a = Math.floor(rnd() * lines.length);
        const b = Math.floor(rnd() * lines.length);
        [lines[a], lines[b]] = [lines[b] as string, lines[a] as string];
        s = lines.join("\n");
      }
    }
  }
  return s;
}

/** Read the fuzz corpus: Debian's sample configurations plus kad's own fixtures. */
export function readCorpus(): string[] {
  const out: string[] = [];
  const dirs = [
    "/usr/share/doc/keepalived/samples",
    new URL("../fixtures/roundtrip", import.meta.url).pathname,
  ];
  for (const dir of dirs) {
    let entries: Deno.DirEntry[] = [];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      continue;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!e.isFile || !/\.conf|keepalived\.conf\./.test(e.name)) continue;
      out.push(Deno.readTextFileSync(`${dir}/${e.name}`));
    }
  }
  return out;
}

export interface FuzzFailure {
  seed: number;
  index: number;
  input: string;
  error: string;
}

/**
 * Run `count` cases from `seed`. Each case loads the mutated text as the main file of an
 * in-memory file system that also holds an include target, so include handling is fuzzed
 * without touching the disk. Returns the failures (empty when all is well).
 */
export function runFuzz(seed: number, count: number, corpus: readonly string[]): FuzzFailure[] {
  const rnd = prng(seed);
  const failures: FuzzFailure[] = [];
  for (let i = 0; i < count; i++) {
    const base = corpus[Math.floor(rnd() * corpus.length)] as string;
    const input = mutate(base, rnd, corpus);
    const fs = memoryFs({
      "/etc/keepalived/keepalived.conf": input,
      "/etc/keepalived/a.conf":
        'vrrp_script s {\n script "/bin/true"\n}\ninclude keepalived.conf\n',
    });
    try {
      const sink = new DiagnosticSink(1000);
      loadConfig("/etc/keepalived/keepalived.conf", {
        fs,
        sink,
        configId: "test",
        env: (n) => (n === "HOME" ? "/root" : undefined),
        random: prng(i),
      });
      for (const d of sink.items) {
        if (!d.message || (d.loc && (d.loc.line < 0 || !Number.isFinite(d.loc.line)))) {
          throw new Error(`malformed diagnostic ${JSON.stringify(d)}`);
        }
      }
    } catch (e) {
      failures.push({
        seed,
        index: i,
        input,
        error: e instanceof Error ? e.stack ?? e.message : String(e),
      });
    }
  }
  return failures;
}
