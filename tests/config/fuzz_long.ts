/**
 * The long fuzz run (`deno task fuzz [-- SECONDS [SEED]]`): keeps mutating real
 * configurations from successive seeds until the time is up, and writes any failing input
 * to .tmp/fuzz-<seed>-<case>.conf for reproduction.
 */
import { readCorpus, runFuzz } from "./_fuzz.ts";

const seconds = Number(Deno.args[0] ?? "300");
let seed = Number(Deno.args[1] ?? Date.now() % 1_000_000);
const corpus = readCorpus();
const end = Date.now() + seconds * 1000;
let cases = 0;
let failed = 0;
Deno.mkdirSync(".tmp", { recursive: true });
while (Date.now() < end) {
  const failures = runFuzz(seed, 1000, corpus);
  cases += 1000;
  for (const f of failures) {
    failed++;
    const path = `.tmp/fuzz-${f.seed}-${f.index}.conf`;
    Deno.writeTextFileSync(path, f.input);
    console.log(`failure at seed ${f.seed} case ${f.index} (input in ${path}):\n${f.error}`);
  }
  seed++;
}
console.log(`${cases} cases, ${failed} failures`);
Deno.exit(failed === 0 ? 0 : 1);
