/**
 * `make demo` (scripts/demo.ts, issue 3 item 8): it builds the two-node lab, shows the
 * MASTER with the VIP, kills it, shows the BACKUP taking over with the measured time next to
 * the formula's, and leaves no namespace behind. Root.
 */
import { assert, assertMatch } from "./_assert.ts";

async function namespaces(): Promise<string> {
  const o = await new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" }).output();
  return new TextDecoder().decode(o.stdout);
}

Deno.test({
  name: "make demo: election, SIGKILL of the MASTER, takeover measured next to the formula",
  fn: async () => {
    const root = new URL("..", import.meta.url).pathname;
    const o = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}scripts/demo.ts`],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(90_000),
    }).output();
    const out = new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr);
    assert(o.success, out);
    assertMatch(out, /r1 is MASTER and owns 192\.0\.2\.100; r2 is BACKUP/);
    assertMatch(out, /r2 is MASTER and owns 192\.0\.2\.100/);
    const m = /measured: (\d+\.\d+) s from the last advert/.exec(out);
    assert(m !== null, out);
    // The takeover comes after Master_Down_Interval (3.6094 s), not long after it.
    const took = Number(m[1]);
    assert(took >= 3.6 && took < 3.8, `takeover ${took} s`);
    assertMatch(out, /formula: {2}3\.6094 s/);
    assertMatch(out, /Removing the lab/);
    assert(!/^kadt-demo-/m.test(await namespaces()), "a namespace of the demo was left");
  },
});
