import { assertEquals, assertStringIncludes } from "../_assert.ts";
import type { Token } from "../../lib/config/ast.ts";
import { DiagnosticSink } from "../../lib/config/diagnostic.ts";
import type { ParseContext, ValueType } from "../../lib/config/schema.ts";
import {
  formatSeconds,
  ifname,
  int,
  ip,
  oneOf,
  optBool,
  script,
  seconds,
} from "../../lib/config/types.ts";

function run<T>(
  t: ValueType<T>,
  words: string[],
  quoted = false,
): { v: T | undefined; msgs: string[] } {
  const sink = new DiagnosticSink();
  const loc = { file: "t", line: 1, column: 1 };
  const ctx: ParseContext = {
    sink,
    node: { keyword: "kw", args: [], raw: "", loc },
    keyword: "kw",
    loc: () => loc,
    error: (m) => sink.error(m, loc),
    warn: (m) => sink.warn(m, loc),
    missing: (w) => sink.error(`missing ${w}`, loc),
  };
  const args: Token[] = words.map((text, i) => ({ text, quoted, column: i + 2 }));
  return { v: t.parse(args, ctx), msgs: sink.items.map((d) => d.message) };
}

Deno.test("seconds parses decimals to microseconds, rounds extra digits and checks range", () => {
  const t = seconds(0.01, 255);
  assertEquals(run(t, ["1"]).v, 1_000_000);
  assertEquals(run(t, ["0.01"]).v, 10_000);
  assertEquals(run(t, ["2.5"]).v, 2_500_000);
  const r = run(t, ["1.0000004"]);
  assertEquals(r.v, 1_000_000);
  assertStringIncludes(r.msgs[0]!, "more than 6 decimal places");
  assertStringIncludes(run(t, ["256"]).msgs[0]!, "out of range (0.01 to 255 s)");
  assertStringIncludes(run(t, ["-1"]).msgs[0]!, "is not a number of seconds");
  assertEquals(run(seconds(0, 1000, 3), ["0.0005"]).v, 1000);
  assertEquals(formatSeconds(10_000), "0.01");
  assertEquals(formatSeconds(2_000_000), "2");
});

Deno.test("int rejects non-decimal text and out-of-range numbers", () => {
  assertEquals(run(int(1, 255), ["255"]).v, 255);
  assertStringIncludes(run(int(1, 255), ["0x10"]).msgs[0]!, "is not a whole number (1 to 255)");
  assertStringIncludes(run(int(1, 255), ["99999999999999999999"]).msgs[0]!, "out of range");
});

Deno.test("optBool: no argument means true; only lowercase BOOL words", () => {
  assertEquals(run(optBool, []).v, true);
  assertEquals(run(optBool, ["off"]).v, false);
  assertStringIncludes(run(optBool, ["True"]).msgs[0]!, "invalid boolean 'True'");
});

Deno.test("ip, ifname and oneOf validate and normalise", () => {
  assertEquals(run(ip(), ["2001:DB8::0:1"]).v, "2001:db8::1");
  assertStringIncludes(run(ip({ family: 4 }), ["::1"]).msgs[0]!, "must be an IPv4 address");
  assertStringIncludes(
    run(ip({ multicast: true }), ["10.0.0.1"]).msgs[0]!,
    "must be a multicast address",
  );
  assertStringIncludes(run(ifname, ["a-very-long-interface"]).msgs[0]!, "1 to 15 characters");
  assertEquals(run(oneOf(["TCP", "UDP"], { caseInsensitive: true }), ["tcp"]).v, "TCP");
});

Deno.test("script splits its command with shell rules and keeps user and group", () => {
  const r = run(script, ["/bin/notify.sh 'a b' c", "nobody", "nogroup"]);
  assertEquals(r.v, {
    command: "/bin/notify.sh 'a b' c",
    argv: ["/bin/notify.sh", "a b", "c"],
    user: "nobody",
    group: "nogroup",
  });
  assertEquals(script.print(r.v!), ["\"/bin/notify.sh 'a b' c\"", "nobody", "nogroup"]);
});
