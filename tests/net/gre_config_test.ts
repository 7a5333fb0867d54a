import { assertEquals } from "../_assert.ts";
import { loadWith } from "../config/_load.ts";
import { DiagnosticSink } from "../../lib/config/diagnostic.ts";
import { defineBlock, parseBlock } from "../../lib/config/schema.ts";
import { modelToNodes, renderKeepalived } from "../../lib/config/print.ts";
import { tomlToNodesFor } from "../../lib/config/toml.ts";
import { checkGreInterfaces, greRootFields, validateGre } from "../../lib/config/schema/gre.ts";
import { specsFromConfig } from "../../lib/net/gre_manager.ts";

const F = "gre.conf";
const root = defineBlock({
  name: "the top level",
  fields: { ...greRootFields },
  validate: (cfg, ctx) => validateGre(cfg, ctx),
});

function load(text: string) {
  const { cfg, diags } = loadWith(root, text, F);
  return { cfg, diags };
}

Deno.test("gre_keepalive blocks: defaults are mode auto, no replace, no force, program by device", () => {
  const { cfg, diags } = load(
    "gre_keepalive gre1 {\n}\ngre_keepalive tun6 {\n mode generic\n replace\n}\n",
  );
  assertEquals(diags, []);
  assertEquals(specsFromConfig(cfg.gre_keepalive), [
    { interface: "gre1", mode: "auto", replace: false, force: false, program: undefined },
    { interface: "tun6", mode: "generic", replace: true, force: false, program: undefined },
  ]);
});

Deno.test("gre_keepalive with force may name the program", () => {
  const { cfg, diags } = load("gre_keepalive veth0 {\n force\n program gre6\n mode native\n}\n");
  assertEquals(diags, []);
  assertEquals(specsFromConfig(cfg.gre_keepalive), [
    { interface: "veth0", mode: "native", replace: false, force: true, program: "gre6" },
  ]);
});

Deno.test("gre_keepalive: program without force is ignored with a warning", () => {
  const { cfg, diags } = load("gre_keepalive gre1 {\n program gre6\n}\n");
  assertEquals(cfg.gre_keepalive[0]?.program, undefined);
  assertEquals(diags.length, 1);
  assertEquals(
    diags[0]?.endsWith(
      "'program gre6' only applies with 'force'; the program follows the device type",
    ),
    true,
    diags[0],
  );
});

Deno.test("gre_keepalive: bad values, unknown keywords, duplicate and invalid interface names", () => {
  const { cfg, diags } = load(
    "gre_keepalive gre1 {\n mode turbo\n progam gre\n}\ngre_keepalive gre1 {\n}\n" +
      "gre_keepalive a/b {\n}\ngre_keepalive this-name-is-far-too-long {\n}\n",
  );
  assertEquals(cfg.gre_keepalive.map((b) => [b.header, b.mode]), [["gre1", "auto"]]);
  assertEquals(diags.length, 5, diags.join("\n"));
  assertEquals(
    diags[0]?.includes("'mode' value 'turbo' is not one of auto, generic, native"),
    true,
    diags[0],
  );
  assertEquals(diags[1]?.includes("did you mean 'program'?"), true, diags[1]);
  assertEquals(diags[2]?.includes("duplicate gre_keepalive 'gre1'"), true, diags[2]);
  assertEquals(diags[3]?.includes("interface name 'a/b' is not valid"), true, diags[3]);
  assertEquals(diags[4]?.includes("is not valid"), true, diags[4]);
});

Deno.test("gre_keepalive prints back to the same configuration", () => {
  const text = "gre_keepalive gre1 {\n mode generic\n force\n program gre6\n}\n";
  const { cfg } = load(text);
  const printed = renderKeepalived(modelToNodes(root, cfg));
  const again = load(printed);
  assertEquals(again.diags, []);
  assertEquals(specsFromConfig(again.cfg.gre_keepalive), specsFromConfig(cfg.gre_keepalive));
});

Deno.test("gre_keepalive in TOML: a table per interface", () => {
  const sink = new DiagnosticSink();
  const nodes = tomlToNodesFor(
    root,
    '[gre_keepalive.gre1]\nmode = "generic"\n\n[gre_keepalive.gre2]\nreplace = true\n',
    "gre.toml",
    sink,
  );
  const cfg = parseBlock(root, nodes, { file: "gre.toml", line: 0, column: 0 }, sink);
  assertEquals(sink.items.map((d) => d.message), []);
  assertEquals(specsFromConfig(cfg.gre_keepalive).map((s) => [s.interface, s.mode, s.replace]), [
    ["gre1", "generic", false],
    ["gre2", "auto", true],
  ]);
});

Deno.test("host check: a gre_keepalive interface missing here is a warning at its block", () => {
  const { cfg } = load("gre_keepalive gre1 {\n}\ngre_keepalive lo {\n}\n");
  const sink = new DiagnosticSink();
  checkGreInterfaces(cfg, new Set(["lo", "eth0"]), sink);
  assertEquals(sink.items.map((d) => [d.severity, d.loc?.line, d.message]), [
    [
      "warning",
      1,
      "gre_keepalive interface 'gre1' does not exist on this host; kad run attaches when it appears",
    ],
  ]);
});
