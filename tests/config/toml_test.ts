import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { toyInstanceFields, toyRoot } from "./_toy_schema.ts";
import { nodesOf } from "./_load.ts";
import type { Node } from "../../lib/config/ast.ts";
import { DiagClass, DiagnosticSink } from "../../lib/config/diagnostic.ts";
import { blockToPlain, blockToToml } from "../../lib/config/print.ts";
import { defineBlock, parseBlock } from "../../lib/config/schema.ts";
import { decimalText, tomlToNodesFor } from "../../lib/config/toml.ts";
import { bool } from "../../lib/config/types.ts";

// The shared toy schema (tests/config/_toy_schema.ts), with a bool and an ignored keyword.

const instance = defineBlock({
  name: "vrrp_instance",
  fields: toyInstanceFields(bool),
  aliases: { prio: "deprecated:priority" },
  ignored: { snmp_thing: "SNMP is not supported" },
});

const root = toyRoot(instance);

const AT = { file: "t", line: 0, column: 0 };

function fromToml(src: string) {
  const sink = new DiagnosticSink();
  const nodes = tomlToNodesFor(root, src, "t.toml", sink);
  const model = parseBlock(root, nodes, { ...AT, file: "t.toml" }, sink);
  return { nodes, model, sink };
}

/** keepalived text → model, with the real lexer and a minimal brace matcher. */
function fromConf(src: string) {
  const sink = new DiagnosticSink();
  const model = parseBlock(root, nodesOf(src), { ...AT, file: "t.conf" }, sink);
  return { model, sink };
}

const plain = (m: object) => blockToPlain(root, m, { showSecrets: true });

const CONF = `
router_id "lb one"
group { a b }
vrrp_instance VI_1 {
  state MASTER
  priority 150
  advert_int 0.5
  nopreempt
  smtp_alert off
  notify_master "/bin/notify.sh master" root
  track eth0 weight 5
  track eth1
  virtual_ipaddress {
    192.0.2.1/24 dev eth0
    192.0.2.2
  }
  authentication {
    auth_type PASS
    auth_pass s3cr3t
  }
}
vrrp_instance VI_2 {
}
real_server 10.0.0.2 80 {
  weight 3
  TCP_CHECK {
    connect_timeout 2.5
  }
  TCP_CHECK {
    retry 3
  }
}
`;

const TOML = `
router_id = "lb one"
group = ["a", "b"]

[vrrp_instance.VI_1]
state = "MASTER"
priority = 150
advert_int = 0.5
nopreempt = true
smtp_alert = false
notify_master = ["/bin/notify.sh master", "root"]
track = [["eth0", "weight", 5], "eth1"]
virtual_ipaddress = [
  "192.0.2.1/24 dev eth0",
  "192.0.2.2",
]

[vrrp_instance.VI_1.authentication]
auth_type = "PASS"
auth_pass = "s3cr3t"

[vrrp_instance.VI_2]

[[real_server]]
header = "10.0.0.2 80"
weight = 3

[[real_server.TCP_CHECK]]
connect_timeout = 2.5

[[real_server.TCP_CHECK]]
retry = 3
`;

Deno.test("a TOML document gives the same model as the equivalent keepalived.conf", () => {
  const t = fromToml(TOML);
  const k = fromConf(CONF);
  assertEquals(t.sink.items, []);
  assertEquals(k.sink.items, []);
  assertEquals(plain(t.model), plain(k.model));
});

Deno.test("printed TOML reads back to an equal model", () => {
  const k = fromConf(CONF);
  const t = fromToml(blockToToml(root, k.model, { showSecrets: true }));
  assertEquals(t.sink.items, []);
  assertEquals(plain(t.model), plain(k.model));
});

Deno.test("a TOML syntax error is one FATAL diagnostic at smol-toml's line and column", () => {
  const { nodes, sink } = fromToml('router_id = "x"\n\n[vrrp_instance.VI_1]\npriority = = 3\n');
  assertEquals(nodes, []);
  assertEquals(sink.items.length, 1);
  const d = sink.items[0]!;
  assertEquals(d.class, DiagClass.FATAL);
  assertEquals(d.loc, { file: "t.toml", line: 4, column: 12 });
  assertStringIncludes(d.message, "TOML syntax error");
  assert(!d.message.includes("\n"), "one-line message");
});

Deno.test("an unknown TOML key gets the same did-you-mean warning as in keepalived syntax", () => {
  const t = fromToml("[vrrp_instance.VI_1]\npriority = 100\npriorty = 100\n");
  const k = fromConf("vrrp_instance VI_1 {\npriority 100\npriorty 100\n}\n");
  assertEquals(
    t.sink.items.map((d) => [d.class, d.message]),
    k.sink.items.map((d) => [d.class, d.message]),
  );
  assertEquals(t.sink.items[0]?.class, DiagClass.UNKNOWN_KEYWORD);
  assertStringIncludes(t.sink.items[0]!.message, "did you mean 'priority'?");
  assertEquals(t.sink.items[0]?.loc?.line, 3);
});

Deno.test("deprecated aliases and ignored keywords warn as in keepalived syntax", () => {
  const t = fromToml("[vrrp_instance.VI_1]\nprio = 120\nsnmp_thing = true\n");
  assertEquals(t.sink.items.map((d) => d.class), [DiagClass.DEPRECATED, DiagClass.WARNING]);
  assertEquals((t.model.vrrp_instance[0]!).priority, 120);
});

Deno.test("a table where a number is expected is an error naming the key and the type", () => {
  const t = fromToml('[vrrp_instance.VI_1]\npriority = { x = 1 }\nnopreempt = "yes"\nstate = 1\n');
  const msgs = t.sink.items.map((d) => d.message);
  assertEquals(msgs, [
    "'priority' must be an integer (integer 1 to 255), not a table",
    "'nopreempt' must be true (or false to leave it out) (no argument), not the string 'yes'",
    // A number where a string is expected is taken as its decimal text; the parser decides.
    "'state' value '1' is not one of MASTER, BACKUP",
  ]);
  assertEquals(t.sink.items.map((d) => d.loc?.line), [2, 3, 4]);
  assertEquals(t.model.vrrp_instance[0]?.priority, 100, "the bad keyword is ignored");
  assertEquals(t.model.vrrp_instance[0]?.nopreempt, undefined);
});

Deno.test("wrong TOML shapes for blocks and lists are errors naming the key", () => {
  const t = fromToml("vrrp_instance = 3\ngroup = { a = 1 }\n[[real_server]]\nheader = { x = 1 }\n");
  assertEquals(t.sink.items.map((d) => d.message), [
    "'vrrp_instance' must be named tables ([vrrp_instance.NAME]) or an array of tables ([[vrrp_instance]]), not the number 3",
    "'group' must be an array of strings, one entry each (e.g. group = [\"…\"]), not a table",
    "'real_server' header must be a string such as \"10.0.0.1 80\", not a table",
  ]);
  const u = fromToml("[vrrp_instance.VI_1]\nauthentication = 1\n");
  assertEquals(u.sink.items.map((d) => d.message), [
    "'authentication' must be a table (write it as [authentication]), not the number 1",
  ]);
});

Deno.test("a value parser still validates TOML values, with the TOML line", () => {
  const t = fromToml("\n[vrrp_instance.VI_1]\n\npriority = 300\n");
  assertEquals(t.sink.items.length, 1);
  assertEquals(t.sink.items[0]?.class, DiagClass.INVALID_NUMBER);
  assertEquals(t.sink.items[0]?.loc?.line, 4);
});

Deno.test("strings with blanks become quoted tokens so one string is one argument", () => {
  const t = fromToml('[vrrp_instance.VI_1]\nnotify_master = "/bin/check.sh arg"\n');
  const n = t.nodes[0]?.children?.[0];
  assertEquals(n?.args.map((a) => [a.text, a.quoted]), [["/bin/check.sh arg", true]]);
  assertEquals(n?.raw, 'notify_master "/bin/check.sh arg"');
  assertEquals(t.model.vrrp_instance[0]?.notify_master?.argv, ["/bin/check.sh", "arg"]);
});

Deno.test("flag true writes the keyword and false leaves it out", () => {
  const t = fromToml("[vrrp_instance.A]\nnopreempt = true\n[vrrp_instance.B]\nnopreempt = false\n");
  assertEquals(t.model.vrrp_instance.map((i) => i.nopreempt), [true, undefined]);
  assertEquals(t.model.vrrp_instance[1]?.$loc.nopreempt, undefined);
});

Deno.test("timers are TOML numbers of seconds, exponent form included", () => {
  const t = fromToml("[vrrp_instance.A]\nadvert_int = 1e-2\n[vrrp_instance.B]\nadvert_int = 3\n");
  assertEquals(t.sink.items, []);
  assertEquals(t.model.vrrp_instance.map((i) => i.advert_int), [10_000, 3_000_000]);
});

Deno.test("decimalText writes numbers without exponents", () => {
  assertEquals(decimalText(1e-7), "0.0000001");
  assertEquals(decimalText(1.5e-5), "0.000015");
  assertEquals(decimalText(-2.5e-7), "-0.00000025");
  assertEquals(decimalText(1e21), "1000000000000000000000");
  assertEquals(decimalText(1.25e22), "12500000000000000000000");
  assertEquals(decimalText(0.5), "0.5");
  assertEquals(decimalText(12n), "12");
});

Deno.test("an array of words is accepted for any keyword, as its arguments", () => {
  const t = fromToml('[vrrp_instance.A]\npriority = ["120"]\nnopreempt = []\n');
  assertEquals(t.sink.items, []);
  assertEquals(t.model.vrrp_instance[0]?.priority, 120);
  assertEquals(t.model.vrrp_instance[0]?.nopreempt, true);
});

Deno.test("a multi keyword takes an array of occurrences or a single value", () => {
  const t = fromToml(
    '[vrrp_instance.A]\ntrack = "eth0"\n[vrrp_instance.B]\ntrack = ["eth0", ["eth1", "weight", "2"]]\n',
  );
  assertEquals(t.model.vrrp_instance.map((i) => i.track), [[["eth0"]], [["eth0"], [
    "eth1",
    "weight",
    "2",
  ]]]);
});

Deno.test("list entries are keepalived lines; a lone string is one entry", () => {
  const t = fromToml(
    'group = "a"\n[vrrp_instance.A]\nvirtual_ipaddress = ["192.0.2.1 label \\"x y\\"", 7]\n',
  );
  assertEquals(t.model.group, ["a"]);
  assertEquals(t.model.vrrp_instance[0]?.virtual_ipaddress, [["192.0.2.1", "label", "x y"], ["7"]]);
  const bad = fromToml('[vrrp_instance.A]\nvirtual_ipaddress = ["192.0.2.1 label \\"x"]\n');
  assertEquals(bad.sink.items.map((d) => d.message), [
    "'virtual_ipaddress' entry '192.0.2.1 label \"x' has an unmatched double quote; close it",
  ]);
});

Deno.test("repeated blocks may be written as named tables or as arrays of tables", () => {
  const named = fromToml('[real_server."10.0.0.1 80"]\nweight = 2\n');
  const arrays = fromToml('[[real_server]]\nheader = ["10.0.0.1", 80]\nweight = 2\n');
  const inline = fromToml('real_server = [{ header = "10.0.0.1 80", weight = 2 }]\n');
  assertEquals(named.sink.items, []);
  assertEquals(plain(named.model), plain(arrays.model));
  assertEquals(plain(inline.model), plain(arrays.model));
  const inst = fromToml('[[vrrp_instance]]\nheader = "VI_1"\npriority = 7\n');
  assertEquals(inst.model.vrrp_instance.map((i) => [i.header, i.priority]), [["VI_1", 7]]);
});

Deno.test("a named table whose name has blanks stays one header word", () => {
  const t = fromToml('[vrrp_instance."my inst"]\npriority = 9\n');
  assertEquals(t.model.vrrp_instance[0]?.header, "my inst");
  assertStringIncludes(blockToToml(root, t.model), '[vrrp_instance."my inst"]\n');
});

Deno.test("TOML nodes carry the 1-based line of their key", () => {
  const src = [
    "router_id = 'x'", // 1
    "", // 2
    "[vrrp_instance.VI_1]", // 3
    "priority = 1 # comment [x]", // 4
    'notify_master = """', // 5
    "[not a table]", // 6
    '"""', // 7
    "virtual_ipaddress = [", // 8
    '  "192.0.2.1",', // 9
    '  "192.0.2.2",', // 10
    "]", // 11
    "[vrrp_instance.VI_1.authentication]", // 12
    "auth_type = 'PASS'", // 13
    "[[real_server]]", // 14
    "header = '10.0.0.1 80'", // 15
    "[[real_server.TCP_CHECK]]", // 16
    "retry = 1", // 17
    "[[real_server]]", // 18
    "header = '10.0.0.2 80'", // 19
    "[[real_server.TCP_CHECK]]", // 20
    "[[real_server.TCP_CHECK]]", // 21
    "retry = 2", // 22
  ].join("\n");
  const { nodes } = fromToml(src);
  const lines = (ns: readonly Node[]): unknown[] =>
    ns.map((n) =>
      n.children ? [n.keyword, n.loc.line, lines(n.children)] : [n.keyword, n.loc.line]
    );
  assertEquals(lines(nodes), [
    ["router_id", 1],
    ["vrrp_instance", 3, [
      ["priority", 4],
      ["notify_master", 5],
      ["virtual_ipaddress", 8, [["192.0.2.1", 9], ["192.0.2.2", 10]]],
      ["authentication", 12, [["auth_type", 13]]],
    ]],
    ["real_server", 14, [["TCP_CHECK", 16, [["retry", 17]]]]],
    ["real_server", 18, [["TCP_CHECK", 20, []], ["TCP_CHECK", 21, [["retry", 22]]]]],
  ]);
});

Deno.test("named tables keep document order even when names look like numbers", () => {
  const t = fromToml("[vrrp_instance.b]\n[vrrp_instance.20]\n[vrrp_instance.3]\n");
  assertEquals(t.model.vrrp_instance.map((i) => i.header), ["b", "20", "3"]);
});

Deno.test("TOML dates and nested tables in word arrays are type errors", () => {
  const t = fromToml("router_id = 1979-05-27\n[vrrp_instance.A]\ntrack = [[{ a = 1 }]]\n");
  assertEquals(t.sink.items.map((d) => d.message), [
    "'router_id' must be a string (text), not a date",
    "'track' words must be strings or numbers, not a table",
  ]);
});

Deno.test("keys named like Object.prototype members pass through as unknown keywords", () => {
  const sink = new DiagnosticSink();
  const nodes = tomlToNodesFor(
    root,
    "[vrrp_instance.A]\ntoString = 1\nconstructor = 2\n",
    "t.toml",
    sink,
  );
  assertEquals(sink.items, []);
  assertEquals(nodes[0]?.children?.map((n) => n.raw), ["toString 1", "constructor 2"]);
});
