/**
 * GRE keepalives end to end on a real kernel: boots Debian's kernel in qemu
 * (tests/vm/_qemu.ts, spec/kernel-vm.md) and runs tests/vm/guest_gre_keepalive.ts there with
 * `deno test --no-check` (it was type-checked on the host). Each guest test becomes a step
 * of this test, so a failure names the guest test that failed. A guest that cannot boot,
 * or reports no test, fails this test: nothing is skipped.
 */
import { assert, assertEquals } from "../_assert.ts";
import { runInGuest } from "./_qemu.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

interface GuestCase {
  readonly name: string;
  readonly failure: string | undefined;
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp|#(\d+));/g, (_m, e: string, n?: string) => {
    if (n !== undefined) return String.fromCharCode(Number(n));
    return { lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" }[e] ?? "";
  });
}

/** The test cases of a `deno test --junit-path` report. */
export function junitCases(xml: string): GuestCase[] {
  const cases: GuestCase[] = [];
  for (const m of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const name = /\bname="([^"]*)"/.exec(m[1] ?? "")?.[1];
    if (name === undefined) continue;
    const body = m[3] ?? "";
    const f = /<failure\b[^>]*?(?:message="([^"]*)")?[^>]*>([\s\S]*?)<\/failure>/.exec(body);
    cases.push({
      name: unescapeXml(name),
      failure: f ? unescapeXml(`${f[1] ?? ""}\n${f[2] ?? ""}`.trim()) : undefined,
    });
  }
  return cases;
}

Deno.test({
  name: "GRE keepalives are answered on real gre and ip6gre tunnels (Debian kernel in qemu)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const out = await Deno.makeTempDir({ prefix: "kad-vm-out-" });
    try {
      const junit = `${out}/junit.xml`;
      const r = await runInGuest({
        script: `exec '${Deno.execPath()}' test --no-check -A --junit-path='${junit}' ` +
          "tests/vm/guest_gre_keepalive.ts\n",
        cwd: ROOT,
        shares: [out],
        cpus: 2,
        memoryMiB: 1536,
        timeoutMs: 8 * 60_000,
      });
      const cases = junitCases(await Deno.readTextFile(junit).catch(() => ""));
      assert(
        cases.length > 0,
        `the guest ran no test (status ${r.code})\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`,
      );
      for (const c of cases) {
        await t.step(c.name, () => {
          if (c.failure !== undefined) throw new Error(c.failure);
        });
      }
      assertEquals(r.code, 0, `guest deno test exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
});
