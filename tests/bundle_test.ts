/**
 * The bundled build (`deno bundle`, the single-file path testable on this machine): it
 * must build from main.ts and run the CLI.
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";

Deno.test("the deno bundle of main.ts runs --version and check-config", async () => {
  const root = new URL("..", import.meta.url).pathname;
  const dir = await Deno.makeTempDir({ prefix: "kad-bundle-" });
  try {
    const out = `${dir}/kad.js`;
    const b = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--config",
        `${root}deno.json`,
        "--output",
        out,
        `${root}main.ts`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(b.code, 0, new TextDecoder().decode(b.stderr));
    const v = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", out, "--version"],
      stdout: "piped",
    })
      .output();
    assertEquals(v.code, 0);
    const version = JSON.parse(await Deno.readTextFile(`${root}deno.json`)).version as string;
    assertStringIncludes(new TextDecoder().decode(v.stdout), version);
    const conf = `${dir}/k.conf`;
    await Deno.writeTextFile(
      conf,
      "vrrp_instance VI_1 {\n interface lo\n virtual_router_id 9\n priorty 10\n}\n",
    );
    const c = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", out, "check-config", "--no-host-checks", "-f", conf],
      stderr: "piped",
    }).output();
    assertEquals(c.code, 5);
    assertStringIncludes(new TextDecoder().decode(c.stderr), "did you mean 'priority'");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
