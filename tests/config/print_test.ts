import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { toyInstanceFields, toyRoot } from "./_toy_schema.ts";
import { nodesOf } from "./_load.ts";
import type { Node } from "../../lib/config/ast.ts";
import { DiagnosticSink } from "../../lib/config/diagnostic.ts";
import {
  blockToKeepalived,
  blockToPlain,
  blockToToml,
  modelToNodes,
  renderKeepalived,
  SECRET_MASK,
  tomlValueText,
} from "../../lib/config/print.ts";
import {
  block,
  blocks,
  defineBlock,
  list,
  multi,
  optional,
  parseBlock,
} from "../../lib/config/schema.ts";
import { blockName, int, optBool, wordList } from "../../lib/config/types.ts";

// The shared toy schema (tests/config/_toy_schema.ts), with secret blocks and optBool.

const keys = defineBlock({
  name: "auth_hmac",
  fields: { key: multi(wordList("id and secret", 2)), active_key: optional(int(0, 255)) },
});

const instance = defineBlock({
  name: "vrrp_instance",
  fields: { ...toyInstanceFields(optBool), auth_hmac: block(keys, { secret: true }) },
  aliases: { prio: "deprecated:priority" },
});

const root = toyRoot(instance);

const AT = { file: "t.conf", line: 0, column: 0 };

function load(text: string) {
  const sink = new DiagnosticSink();
  const model = parseBlock(root, nodesOf(text), AT, sink);
  return { model, sink };
}

const SAMPLE = `
router_id "lb one"
group { a b }
vrrp_instance VI_1 {
  priority 150
  prio 140
  state MASTER
  virtual_ipaddress {
    192.0.2.1/24 dev eth0
    192.0.2.2
  }
  track eth0 weight 5
  track eth1
  nopreempt
  smtp_alert
  notify_master "/bin/notify.sh master" root
  advert_int 0.5
  authentication {
    auth_type PASS
    auth_pass s3cr3t
  }
  auth_hmac {
    key 1 hmacsecret
    active_key 1
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

Deno.test("modelToNodes prints only written keywords, in schema field order", () => {
  const { model, sink } = load(SAMPLE);
  assertEquals(sink.items.filter((d) => d.severity === "error"), []);
  const vi = modelToNodes(root, model, {}).find((n) => n.keyword === "vrrp_instance");
  assertEquals(vi?.children?.map((n) => n.keyword), [
    "state",
    "priority",
    "advert_int",
    "nopreempt",
    "smtp_alert",
    "notify_master",
    "track",
    "track",
    "virtual_ipaddress",
    "authentication",
    "auth_hmac",
  ]);
  const empty = modelToNodes(root, model, {}).filter((n) => n.keyword === "vrrp_instance")[1];
  assertEquals(empty?.children, [], "defaults of an empty block are not printed");
});

Deno.test("keepalived printer writes a deprecated alias under its canonical keyword", () => {
  const { model } = load(SAMPLE);
  const text = blockToKeepalived(root, model, {});
  assertStringIncludes(text, "    priority 140\n");
  assert(!text.includes("prio 140"));
});

Deno.test("keepalived printer uses 4-space indentation and keyword-brace blocks", () => {
  const { model } = load(`vrrp_instance VI_1 {
    virtual_ipaddress {
      192.0.2.1/24 dev eth0
    }
    authentication { auth_type PASS }
  }
  router_id lb1`);
  assertEquals(
    blockToKeepalived(root, model, {}),
    [
      "router_id lb1",
      "",
      "vrrp_instance VI_1 {",
      "    virtual_ipaddress {",
      "        192.0.2.1/24 dev eth0",
      "    }",
      "    authentication {",
      "        auth_type PASS",
      "    }",
      "}",
      "",
    ].join("\n"),
  );
});

Deno.test("keepalived output parses back to an equal model", () => {
  const { model } = load(SAMPLE);
  const text = blockToKeepalived(root, model, { showSecrets: true });
  const again = load(text);
  assertEquals(again.sink.items, []);
  assertEquals(
    blockToPlain(root, again.model, { showSecrets: true }),
    blockToPlain(root, model, { showSecrets: true }),
  );
  assertEquals(
    blockToKeepalived(root, again.model, { showSecrets: true }),
    text,
    "printing is idempotent",
  );
});

Deno.test("values with blanks stay double-quoted in keepalived output", () => {
  const { model } = load(SAMPLE);
  const text = blockToKeepalived(root, model, {});
  assertStringIncludes(text, 'router_id "lb one"\n');
  assertStringIncludes(text, '    notify_master "/bin/notify.sh master" root\n');
});

Deno.test("multi fields print one line per value and lists one entry per line", () => {
  const { model } = load(SAMPLE);
  const text = blockToKeepalived(root, model, {});
  assertStringIncludes(text, "    track eth0 weight 5\n    track eth1\n");
  assertStringIncludes(text, "group {\n    a\n    b\n}\n");
  assertStringIncludes(text, "        192.0.2.1/24 dev eth0\n        192.0.2.2\n");
});

Deno.test("repeated header blocks print their header words and nested blocks", () => {
  const { model } = load(SAMPLE);
  const text = blockToKeepalived(root, model, {});
  assertStringIncludes(
    text,
    "real_server 10.0.0.2 80 {\n    weight 3\n    TCP_CHECK {\n        connect_timeout 2.5\n    }\n" +
      "    TCP_CHECK {\n        retry 3\n    }\n}\n",
  );
});

Deno.test("secrets are masked in every printer unless showSecrets is set", () => {
  const { model } = load(SAMPLE);
  for (
    const out of [
      blockToKeepalived(root, model, {}),
      blockToToml(root, model, {}),
      JSON.stringify(blockToPlain(root, model, {})),
    ]
  ) {
    assert(!out.includes("s3cr3t"), out);
    assert(!out.includes("hmacsecret"), out);
    assertStringIncludes(out, SECRET_MASK);
  }
  assertStringIncludes(blockToKeepalived(root, model, { showSecrets: true }), "auth_pass s3cr3t");
  assertStringIncludes(
    blockToToml(root, model, { showSecrets: true }),
    'key = [[1, "hmacsecret"]]',
  );
});

Deno.test("a secret block masks every value inside it", () => {
  const { model } = load(SAMPLE);
  const text = blockToKeepalived(root, model, {});
  assertStringIncludes(
    text,
    "    auth_hmac {\n        key ********\n        active_key ********\n    }\n",
  );
  const plain = blockToPlain(root, model, {}) as { vrrp_instance: Array<Record<string, unknown>> };
  assertEquals(plain.vrrp_instance[0]?.auth_hmac, { key: [SECRET_MASK], active_key: SECRET_MASK });
});

Deno.test("the plain model has schema key order, defaults, µs timers and no location metadata", () => {
  const { model } = load(SAMPLE);
  const plain = blockToPlain(root, model, { showSecrets: true }) as Record<string, unknown>;
  assertEquals(Object.keys(plain), ["router_id", "group", "vrrp_instance", "real_server"]);
  const vi2 = (plain.vrrp_instance as Array<Record<string, unknown>>)[1];
  assertEquals(vi2, {
    header: "VI_2",
    priority: 100,
    advert_int: 1_000_000,
    track: [],
    virtual_ipaddress: [],
  });
  const vi1 = (plain.vrrp_instance as Array<Record<string, unknown>>)[0]!;
  assertEquals(Object.keys(vi1)[0], "header");
  assertEquals(vi1.advert_int, 500_000);
  assertEquals(vi1.authentication, { auth_type: "PASS", auth_pass: "s3cr3t" });
  assert(!JSON.stringify(plain).includes("$loc"));
  assert(!JSON.stringify(plain).includes("$at"));
});

Deno.test("TOML printer writes named tables, arrays of tables, lists and natural scalar types", () => {
  const { model } = load(SAMPLE);
  assertEquals(
    blockToToml(root, model, {}),
    [
      'router_id = "lb one"',
      'group = ["a", "b"]',
      "",
      "[vrrp_instance.VI_1]",
      'state = "MASTER"',
      "priority = 140",
      "advert_int = 0.5",
      "nopreempt = true",
      "smtp_alert = true",
      'notify_master = ["/bin/notify.sh master", "root"]',
      'track = [["eth0", "weight", 5], "eth1"]',
      "virtual_ipaddress = [",
      '  "192.0.2.1/24 dev eth0",',
      '  "192.0.2.2",',
      "]",
      "",
      "[vrrp_instance.VI_1.authentication]",
      'auth_type = "PASS"',
      'auth_pass = "********"',
      "",
      "[vrrp_instance.VI_1.auth_hmac]",
      'key = ["********"]',
      'active_key = "********"',
      "",
      "[vrrp_instance.VI_2]",
      "",
      "[[real_server]]",
      'header = "10.0.0.2 80"',
      "weight = 3",
      "",
      "[[real_server.TCP_CHECK]]",
      "connect_timeout = 2.5",
      "",
      "[[real_server.TCP_CHECK]]",
      "retry = 3",
      "",
    ].join("\n"),
  );
});

Deno.test("TOML values fall back to an array of words when the kind does not fit", () => {
  assertEquals(tomlValueText("int", ["-20"]), "-20");
  assertEquals(tomlValueText("int", ["007"]), "7");
  assertEquals(tomlValueText("int", ["-20", "reverse"]), '[-20, "reverse"]');
  assertEquals(tomlValueText("int", ["1.5"]), "[1.5]");
  assertEquals(tomlValueText("number", ["0.000001"]), "0.000001");
  assertEquals(tomlValueText("bool", ["off"]), "false");
  assertEquals(tomlValueText("bool", []), "true");
  assertEquals(tomlValueText("flag", []), "true");
  assertEquals(tomlValueText("string", ['"a b"']), '"a b"');
  assertEquals(tomlValueText("words", ["a", "b"]), '["a", "b"]');
  assertEquals(tomlValueText("words", ["-10"]), "-10");
  assertEquals(tomlValueText("string", ["200"]), "200");
  assertEquals(tomlValueText("string", ["0.25"]), "0.25");
  assertEquals(tomlValueText("string", ["022"]), '"022"', "leading zeros stay a string");
  assertEquals(tomlValueText("string", ["1.50"]), '"1.50"', "trailing zeros stay a string");
  assertEquals(tomlValueText("string", ["-0"]), '"-0"');
  assertEquals(tomlValueText("string", ["12345678901234567890"]), '"12345678901234567890"');
  assertEquals(tomlValueText("string", ['"7"']), '"7"', "a quoted word stays a string");
  assertEquals(tomlValueText("string", ['say "hi"\u007f']), '"say \\"hi\\"\\u007f"');
});

Deno.test("a block's rest list prints as keyword-less lines of the block itself", () => {
  const group = defineBlock({
    name: "group_block",
    fields: { entry: list(wordList("entry")), quorum: optional(int(1, 9)) },
    rest: "entry",
  });
  const top = defineBlock({
    name: "top",
    fields: { grp: blocks(group, blockName, { unique: true }) },
  });
  const src = "grp G {\n    10.0.0.1 80\n    quorum 2\n    fwmark 7\n}\n";
  const sink = new DiagnosticSink();
  const model = parseBlock(top, nodesOf(src), AT, sink);
  assertEquals(sink.items, []);
  const text = blockToKeepalived(top, model, {});
  assertEquals(text, "grp G {\n    10.0.0.1 80\n    fwmark 7\n    quorum 2\n}\n");
  const again = parseBlock(top, nodesOf(text), AT, sink);
  assertEquals(blockToPlain(top, again), blockToPlain(top, model));
  assertStringIncludes(blockToToml(top, model), 'entry = [\n  "10.0.0.1 80",\n  "fwmark 7",\n]\n');
});

Deno.test("renderKeepalived separates top-level blocks by one blank line", () => {
  const loc = AT;
  const leaf = (keyword: string): Node => ({ keyword, args: [], raw: keyword, loc });
  const text = renderKeepalived([
    leaf("a"),
    leaf("b"),
    { ...leaf("c"), children: [leaf("d")] },
    { ...leaf("e"), children: [] },
    leaf("f"),
  ]);
  assertEquals(text, "a\nb\n\nc {\n    d\n}\n\ne {\n}\n\nf\n");
});
