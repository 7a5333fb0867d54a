/**
 * Debian's sample configurations (/usr/share/doc/keepalived/samples) checked by both
 * `kad check-config` and `keepalived -t` (2.2.7, from apt) in the same network namespace
 * (loopback and an eth0, so the host's interfaces cannot change the verdicts). The
 * exit statuses must be equal, except where docs/check-config.md lists a deliberate
 * difference for that sample.
 */
import { assertEquals } from "../_assert.ts";
import { Lab } from "../harness/netns.ts";

const SAMPLES = "/usr/share/doc/keepalived/samples";
const root = new URL("../..", import.meta.url).pathname;

/** Rows of the "Debian samples" table in docs/check-config.md: sample → [keepalived, kad]. */
function documentedDifferences(): Map<string, [number, number]> {
  const doc = Deno.readTextFileSync(`${root}docs/check-config.md`);
  const section = doc.split("## Debian samples")[1] ?? "";
  const out = new Map<string, [number, number]>();
  for (
    const m of section.matchAll(/^\|\s*`(keepalived\.conf[^`]*)`\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|/gm)
  ) {
    out.set(m[1] as string, [Number(m[2]), Number(m[3])]);
  }
  return out;
}

Deno.test("kad check-config and keepalived -t agree on every Debian sample configuration", async (t) => {
  const samples = [...Deno.readDirSync(SAMPLES)]
    .map((e) => e.name)
    .filter((n) => n.startsWith("keepalived.conf."))
    .sort();
  if (samples.length < 20) {
    throw new Error(`only ${samples.length} samples in ${SAMPLES}; is keepalived installed?`);
  }
  const expected = documentedDifferences();
  await using lab = await Lab.create("samples");
  const ns = await lab.namespace();
  // This kernel has no dummy links: eth0 is one end of a veth pair.
  await lab.vethPair(ns, await lab.namespace(), { nameA: "eth0" });
  for (const name of samples) {
    await t.step(name, async () => {
      const file = `${SAMPLES}/${name}`;
      const ka = await ns.run(["keepalived", "-t", "-f", file], { timeoutMs: 20_000 });
      const kad = await ns.run([`${root}kad`, "check-config", "-f", file], { timeoutMs: 20_000 });
      const want = expected.get(name);
      const detail = `keepalived said:\n${ka.stderr}\nkad said:\n${kad.stderr}`;
      if (want) {
        assertEquals(
          [ka.code, kad.code],
          want,
          `documented statuses for ${name} changed\n${detail}`,
        );
      } else {
        assertEquals(
          kad.code,
          ka.code,
          `exit status of kad differs from keepalived -t for ${name}\n${detail}`,
        );
      }
    });
  }
});
