import { readCorpus, runFuzz } from "./_fuzz.ts";

Deno.test("config loading survives 10,000 mutated real configurations (seed 20261121)", () => {
  const corpus = readCorpus();
  if (corpus.length < 10) {
    throw new Error(`fuzz corpus too small (${corpus.length} files); is keepalived installed?`);
  }
  const failures = runFuzz(20261121, 10_000, corpus);
  if (failures.length > 0) {
    const f = failures[0]!;
    throw new Error(
      `${failures.length} fuzz case(s) failed; first: seed ${f.seed} case ${f.index}:\n${f.error}\n--- input ---\n${
        f.input.slice(0, 2000)
      }`,
    );
  }
});
