import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { loadWith, only, parseValueWith, treeOf } from "./_load.ts";
import { DiagClass, DiagnosticSink } from "../../lib/config/diagnostic.ts";
import {
  block,
  blocks,
  defineBlock,
  optional,
  parseBlock,
  type ValueType,
} from "../../lib/config/schema.ts";
import { blockName, optBool, word } from "../../lib/config/types.ts";
import { lvsRootFields, validateLvs } from "../../lib/config/schema/lvs.ts";
import { bfdRootFields, validateBfd } from "../../lib/config/schema/bfd.ts";
import {
  dnsName,
  hexString,
  httpProtocol,
  lvsMethod,
  md5Digest,
  optionalWord,
  parseHexWords,
  persistenceGranularity,
  persistenceTimeout,
  reversibleWeight,
  runAs,
  serverAddress,
  statusCodes,
  vsgEntry,
  vsHeader,
} from "../../lib/config/schema/lvs_types.ts";
import { REGEX_OPTIONS, regexFlags, smtpTargets } from "../../lib/config/schema/lvs_checkers.ts";
import { script } from "../../lib/config/types.ts";

// A root holding the LVS and BFD blocks plus the few global_defs and track_file
// keywords the LVS normalisation reads, so these tests depend on nothing else.
const testGlobals = defineBlock({
  name: "global_defs",
  fields: {
    smtp_alert: optional(optBool),
    smtp_alert_checker: optional(optBool),
    checker_log_all_failures: optional(optBool),
  },
});
const testTrackFile = defineBlock({ name: "track_file", fields: { file: optional(word()) } });
const testRoot = defineBlock({
  name: "the top level",
  fields: {
    global_defs: block(testGlobals),
    track_file: blocks(testTrackFile, blockName, { unique: true }),
    ...bfdRootFields,
    ...lvsRootFields,
  },
  validate(cfg, ctx) {
    validateBfd(cfg, ctx);
    validateLvs(cfg, ctx);
  },
});

const F = "lvs.conf";

function load(text: string) {
  return loadWith(testRoot, text, F);
}

/** A virtual server with the keywords keepalived wants, around `body`. */
function vs(
  body: string,
  header = "10.0.0.1 80",
  extra = "protocol TCP\nlvs_sched rr\nlvs_method NAT",
) {
  return `virtual_server ${header} {\n${extra}\n${body}\n}\n`;
}

/** Parse `line` with `type`, as the value of a keyword `entry`. */
function parseWith<T>(type: ValueType<T>, line: string): { value: T | undefined; diags: string[] } {
  // Group entries are also written after the explicit `entry` keyword; other types
  // ignore the keyword's name.
  return parseValueWith(type, line, F);
}

/** parse(print(parse(line))) equals parse(line), with no diagnostics either time. */
function assertRoundTrip<T>(type: ValueType<T>, line: string, expected?: T): void {
  const first = parseWith(type, line);
  assertEquals(first.diags, [], `parsing '${line}'`);
  assert(first.value !== undefined, `'${line}' did not parse`);
  if (expected !== undefined) assertEquals(first.value, expected, `value of '${line}'`);
  const printed = type.print(first.value).join(" ");
  const second = parseWith(type, printed);
  assertEquals(second.diags, [], `parsing printed '${printed}'`);
  assertEquals(second.value, first.value, `'${line}' printed as '${printed}'`);
}

// ---- value types: parse ∘ print = id ----

Deno.test("virtual_server headers parse to address, fwmark and group forms and print back", () => {
  assertRoundTrip(vsHeader, "10.0.0.1 80", { kind: "ip", ip: "10.0.0.1", port: 80 });
  assertRoundTrip(vsHeader, "10.0.0.1", { kind: "ip", ip: "10.0.0.1", port: 0 });
  assertRoundTrip(vsHeader, "2001:DB8::0:1 443", { kind: "ip", ip: "2001:db8::1", port: 443 });
  assertRoundTrip(vsHeader, "fwmark 4294967295", { kind: "fwmark", fwmark: 4294967295 });
  assertRoundTrip(vsHeader, "group VSG_1", { kind: "group", group: "VSG_1" });
  assertStringIncludes(
    parseWith(vsHeader, "fwmark 4294967296").diags[0] as string,
    "out of range (0 to 4294967295)",
  );
  assertStringIncludes(
    parseWith(vsHeader, "10.0.0.1 70000").diags[0] as string,
    "port '70000' is out of range (0 to 65535)",
  );
  assertStringIncludes(
    parseWith(vsHeader, "10.0.0.300 80").diags[0] as string,
    "not a valid IPv4 or IPv6 address",
  );
});

Deno.test("server addresses remember whether a port was written", () => {
  assertRoundTrip(serverAddress, "10.0.0.2", { ip: "10.0.0.2", port: 0, portWritten: false });
  assertRoundTrip(serverAddress, "10.0.0.2 8080", {
    ip: "10.0.0.2",
    port: 8080,
    portWritten: true,
  });
  assertRoundTrip(serverAddress, "fe80::1 0", { ip: "fe80::1", port: 0, portWritten: true });
});

Deno.test("group entries: single addresses, both range forms, prefixes and fwmarks", () => {
  assertRoundTrip(vsgEntry, "10.0.0.1 8080", {
    kind: "range",
    first: "10.0.0.1",
    last: "10.0.0.1",
    port: 8080,
  });
  assertRoundTrip(vsgEntry, "192.168.200.3-10 80", {
    kind: "range",
    first: "192.168.200.3",
    last: "192.168.200.10",
    port: 80,
  });
  assertRoundTrip(vsgEntry, "192.168.200.250-192.168.201.10", {
    kind: "range",
    first: "192.168.200.250",
    last: "192.168.201.10",
    port: 0,
  });
  assertRoundTrip(vsgEntry, "192.168.202.8/29 443", {
    kind: "range",
    first: "192.168.202.8",
    last: "192.168.202.15",
    port: 443,
  });
  assertRoundTrip(vsgEntry, "ae00::2-9 80", {
    kind: "range",
    first: "ae00::2",
    last: "ae00::9",
    port: 80,
  });
  assertRoundTrip(vsgEntry, "ae00::2-ffff", {
    kind: "range",
    first: "ae00::2",
    last: "ae00::ffff",
    port: 0,
  });
  assertRoundTrip(vsgEntry, "ae00::100/120", {
    kind: "range",
    first: "ae00::100",
    last: "ae00::1ff",
    port: 0,
  });
  assertRoundTrip(vsgEntry, "fwmark 7", { kind: "fwmark", fwmark: 7 });
  assertRoundTrip(vsgEntry, "fwmark 8 inet6", { kind: "fwmark", fwmark: 8, family: 6 });
});

Deno.test("invalid group entries are reported with the entry and skipped", () => {
  const { cfg, diags } = load(`virtual_server_group G {
  10.0.0.5-3 80
  10.0.0.5-10.0.0.4
  10.0.0.1/24
  10.0.0.0/33
  ae00::2-10000
  ae00::2-ae00::1:0
  ae00::/64
  fwmark 5 foo
  10.0.0.1 70000
  bogus
  10.0.0.9 80
}
`);
  assertEquals(diags, [
    "GENERAL_ERROR: virtual_server_group entry '10.0.0.5-3': the range end must be greater than its start",
    "GENERAL_ERROR: virtual_server_group entry '10.0.0.5-10.0.0.4': the range end is less than its start",
    "GENERAL_ERROR: virtual_server_group entry '10.0.0.1/24': the address has bits set after /24; use the network address",
    "GENERAL_ERROR: virtual_server_group entry '10.0.0.0/33': prefix length '33' is out of range (1 to 32)",
    "GENERAL_ERROR: virtual_server_group entry 'ae00::2-10000': the range end '10000' must be a last group (hex 0 to ffff) or a full address",
    "GENERAL_ERROR: virtual_server_group entry 'ae00::2-ae00::1:0': the range is too wide: kad only accepts IPv6 ranges within one /112 (the last 16-bit group), which is all keepalived iterates",
    "GENERAL_ERROR: virtual_server_group entry 'ae00::/64': prefix /64 is too wide: kad only accepts IPv6 ranges within one /112 (the last 16-bit group), which is all keepalived iterates",
    "GENERAL_ERROR: 'virtual_server_group' family 'foo' is not one of inet, inet6",
    "INVALID_NUMBER: 'virtual_server_group' port '70000' is out of range (0 to 65535)",
    "GENERAL_ERROR: virtual_server_group entry 'bogus': not a valid IPv4 or IPv6 address, range, prefix or 'fwmark N'",
  ]);
  assertEquals(only(cfg.virtual_server_group).entry, [
    { kind: "range", first: "10.0.0.9", last: "10.0.0.9", port: 80 },
  ]);
});

Deno.test("lvs_method parses NAT, DR and TUN with the tunnel type, port and checksum rules", () => {
  assertRoundTrip(lvsMethod, "NAT", { method: "NAT" });
  assertRoundTrip(lvsMethod, "DR", { method: "DR" });
  assertRoundTrip(lvsMethod, "TUN", { method: "TUN", type: "ipip", csum: "nocsum" });
  assertRoundTrip(lvsMethod, "TUN type ipip nocsum", {
    method: "TUN",
    type: "ipip",
    csum: "nocsum",
  });
  assertRoundTrip(lvsMethod, "TUN type gue port 6080 remcsum", {
    method: "TUN",
    type: "gue",
    port: 6080,
    csum: "remcsum",
  });
  assertRoundTrip(lvsMethod, "TUN port 6080 type gue", {
    method: "TUN",
    type: "gue",
    port: 6080,
    csum: "nocsum",
  });
  assertRoundTrip(lvsMethod, "TUN type gre csum", { method: "TUN", type: "gre", csum: "csum" });
  const bad: Array<[string, string]> = [
    ["nat", "'entry' value 'nat' is not one of NAT, DR, TUN (upper case)"],
    ["TUN type gue", "TUN type gue needs a port"],
    ["TUN type gre port 5", "TUN type gre cannot have a port"],
    ["TUN csum", "ipip tunnels do not support checksum option 'csum'"],
    ["TUN type gre remcsum", "gre tunnels do not support 'remcsum'"],
    ["TUN type foo", "tunnel type 'foo' is not one of ipip, gue, gre"],
    ["TUN type gue port 0", "tunnel port '0' is out of range (1 to 65535)"],
    ["TUN type gue port 1 extra", "tunnel option 'extra' is not valid"],
  ];
  for (const [line, msg] of bad) {
    const r = parseWith(lvsMethod, line);
    assertEquals(r.value, undefined, line);
    assertStringIncludes(only(r.diags), msg);
  }
});

Deno.test("the other structured values print back to equal values", () => {
  assertRoundTrip(persistenceTimeout, "", 360);
  assertRoundTrip(persistenceTimeout, "50", 50);
  assertRoundTrip(persistenceGranularity, "255.0.255.0", { family: 4, mask: "255.0.255.0" });
  assertRoundTrip(persistenceGranularity, "64", { family: 6, prefix: 64 });
  assertRoundTrip(reversibleWeight(-10, 10), "-5 reverse", { weight: -5, reverse: true });
  assertRoundTrip(reversibleWeight(-10, 10), "5 noreverse", { weight: 5, reverse: false });
  assertRoundTrip(statusCodes, "200-299 400-499 503 505", [
    { from: 200, to: 299 },
    { from: 400, to: 499 },
    { from: 503, to: 503 },
    { from: 505, to: 505 },
  ]);
  assertRoundTrip(
    md5Digest,
    "FF20AD2481F97B1754EF3E12ECD3A9CC",
    "ff20ad2481f97b1754ef3e12ecd3a9cc",
  );
  assertRoundTrip(httpProtocol, "1.0c", "1.0C");
  assertRoundTrip(hexString(false, false), "Ab12f 3 456", "ab120f034506");
  assertRoundTrip(hexString(true, true), "12xX", "12xx");
  assertRoundTrip(hexString(true, true), "", "");
  assertRoundTrip(dnsName, "example.com.", "example.com.");
  assertRoundTrip(dnsName, ".", ".");
  assertRoundTrip(runAs, "nobody nogroup", { user: "nobody", group: "nogroup" });
  assertRoundTrip(optionalWord("name"), "", "");
  assertRoundTrip(optionalWord("name"), "sni.example", "sni.example");
  assertRoundTrip(script, '"/bin/check arg1 arg2" nobody', {
    command: "/bin/check arg1 arg2",
    argv: ["/bin/check", "arg1", "arg2"],
    user: "nobody",
  });
});

Deno.test("hex strings follow keepalived's pairing rule: a lone last character is a low nibble", () => {
  assertEquals(parseHexWords(["Ab12f", "3", "456", "546443123"], false), "ab120f0345065464431203");
  assertEquals(parseHexWords(["0x12"], false), undefined);
  assertEquals(parseHexWords(["0x12"], true), "0x12");
  assertStringIncludes(only(parseWith(hexString(false, false), "zz").diags), "is not a hex string");
});

Deno.test("status codes outside 100-599 or reversed ranges are reported and skipped", () => {
  const r = parseWith(statusCodes, "200 99 600 abc 500-400 201-201");
  assertEquals(r.value, [{ from: 200, to: 200 }, { from: 201, to: 201 }]);
  assertEquals(r.diags.length, 4);
  assertStringIncludes(
    r.diags[0] as string,
    "'entry' value '99' is not a status code or range N-M within 100 to 599",
  );
});

// ---- virtual_server normalisation (spec/lvs.md §1.6) ----

Deno.test("lb_algo and lb_kind are accepted as lvs_sched and lvs_method", () => {
  const { cfg, diags } = load(
    vs("real_server 10.0.0.2 80 {\n}", "10.0.0.1 80", "protocol TCP\nlb_algo wrr\nlb_kind DR"),
  );
  assertEquals(diags, []);
  const v = only(cfg.virtual_server);
  assertEquals(v.lvs_sched, "wrr");
  assertEquals(v.lvs_method, { method: "DR" });
});

Deno.test("missing protocol, scheduler and forwarding method get keepalived's defaults with warnings", () => {
  const { cfg, diags } = load(vs("real_server 10.0.0.2 80 {\n}", "10.0.0.1 80", ""));
  assertEquals(diags, [
    "WARNING: virtual_server 10.0.0.1 80: no protocol set; using UDP - write 'protocol TCP', 'UDP' or 'SCTP'",
    "WARNING: virtual_server 10.0.0.1 80: no lvs_sched set; using 'wlc'",
    "WARNING: virtual_server 10.0.0.1 80: no lvs_method set; using NAT",
  ]);
  const v = only(cfg.virtual_server);
  assertEquals([v.protocol, v.lvs_sched, v.lvs_method], ["UDP", "wlc", { method: "NAT" }]);
  assertEquals(Object.hasOwn(v.$loc, "protocol"), false);
});

Deno.test("an invalid scheduler is an error and the default applies", () => {
  const { cfg, diags } = load(
    vs(
      "real_server 10.0.0.2 80 {\n}",
      "10.0.0.1 80",
      "protocol TCP\nlvs_sched foo\nlvs_method NAT",
    ),
  );
  assertEquals(diags, [
    "GENERAL_ERROR: 'lvs_sched' value 'foo' is not one of rr, wrr, lc, wlc, lblc, sh, mh, dh, fo, ovf, lblcr, sed, nq, twos",
    "WARNING: virtual_server 10.0.0.1 80: no lvs_sched set; using 'wlc'",
  ]);
  assertEquals(only(cfg.virtual_server).lvs_sched, "wlc");
});

Deno.test("a fwmark virtual server ignores protocol with keepalived's warning", () => {
  const { cfg, diags } = load(
    vs("real_server 10.0.0.2 {\n}", "fwmark 1", "protocol TCP\nlvs_sched rr\nlvs_method NAT"),
  );
  assertEquals(diags, [
    "WARNING: virtual_server fwmark 1: protocol specified for fwmark - protocol will be ignored; remove 'protocol'",
  ]);
  const v = only(cfg.virtual_server);
  assertEquals(v.protocol, undefined);
  assertEquals(v.ip_family, "inet");
});

Deno.test("real servers inherit the virtual server's settings; $loc still tells what was written", () => {
  const { cfg, diags } = load(vs(
    `weight 5
lvs_method DR
alpha
inhibit_on_failure
delay_loop 6
connect_timeout 3
retry 4
delay_before_retry 2
warmup 1.5
virtualhost www.example.com
real_server 10.0.0.2 80 {
}
real_server 10.0.0.3 80 {
  weight 0
  lvs_method NAT
  alpha off
  delay_loop 10
}`,
  ));
  assertEquals(diags, []);
  const [a, b] = only(cfg.virtual_server).real_server;
  assert(a && b);
  assertEquals(
    [a.weight, a.lvs_method, a.alpha, a.inhibit_on_failure, a.delay_loop, a.connect_timeout],
    [5, { method: "DR" }, true, true, 6_000_000, 3_000_000],
  );
  assertEquals([a.retry, a.delay_before_retry, a.warmup, a.virtualhost], [
    4,
    2_000_000,
    1_500_000,
    "www.example.com",
  ]);
  assertEquals(Object.keys(a.$loc), []);
  assertEquals([b.weight, b.lvs_method, b.alpha, b.delay_loop], [
    0,
    { method: "NAT" },
    false,
    10_000_000,
  ]);
  assertEquals(Object.keys(b.$loc).sort(), ["alpha", "delay_loop", "lvs_method", "weight"]);
});

Deno.test("smtp_alert defaults come from global_defs, else off for virtual and on for real servers", () => {
  const body = vs("real_server 10.0.0.2 80 {\n}\nreal_server 10.0.0.3 80 {\nsmtp_alert off\n}");
  let v = only(load(body).cfg.virtual_server);
  assertEquals([v.smtp_alert, v.real_server[0]?.smtp_alert, v.real_server[1]?.smtp_alert], [
    false,
    true,
    false,
  ]);
  v = only(
    load(`global_defs {\nsmtp_alert on\nsmtp_alert_checker off\n}\n${body}`).cfg.virtual_server,
  );
  assertEquals([v.smtp_alert, v.real_server[0]?.smtp_alert], [false, false]);
  v = only(load(`global_defs {\nsmtp_alert on\n}\n${body}`).cfg.virtual_server);
  assertEquals([v.smtp_alert, v.real_server[0]?.smtp_alert], [true, true]);
});

Deno.test("port rules: NAT takes the service port, DR/TUN are forced to it, fwmark DR ports are cleared", () => {
  const { cfg, diags } = load(
    vs(`real_server 10.0.0.2 {\n}
real_server 10.0.0.3 8080 {\n}
real_server 10.0.0.4 {\nlvs_method DR\n}
real_server 10.0.0.5 82 {\nlvs_method DR\n}
sorry_server 10.0.0.9 90
sorry_server_lvs_method DR`) +
      vs(
        "real_server 10.0.0.2 80 {\n}\nreal_server 10.0.0.3 {\n}",
        "fwmark 1",
        "lvs_sched rr\nlvs_method DR",
      ),
  );
  assertEquals(diags, [
    "WARNING: virtual_server 10.0.0.1 80: real_server 10.0.0.5 82 uses DR, which cannot change the port; using the virtual server's port 80",
    "WARNING: virtual_server 10.0.0.1 80: sorry_server 10.0.0.9 90 uses DR, which cannot change the port; using the virtual server's port 80",
    "WARNING: virtual_server fwmark 1: real_server 10.0.0.2 80 uses DR, which cannot change the port; the port is ignored",
  ]);
  const [a, f] = cfg.virtual_server;
  assert(a && f);
  assertEquals(a.real_server.map((r) => r.header.port), [80, 8080, 80, 80]);
  assertEquals(a.real_server[0]?.header, { ip: "10.0.0.2", port: 80, portWritten: false });
  assertEquals(serverAddress.print(a.real_server[0]!.header), ["10.0.0.2"]);
  assertEquals(a.sorry_server, { ip: "10.0.0.9", port: 80, portWritten: true });
  assertEquals(f.real_server.map((r) => r.header.port), [0, 0]);
});

Deno.test("duplicate real servers are removed, as written and after port normalisation", () => {
  const { cfg, diags } = load(
    vs(
      "real_server 10.0.0.2 80 {\n}\nreal_server 10.0.0.2 80 {\n}\nreal_server 10.0.0.3 {\n}\nreal_server 10.0.0.3 80 {\n}",
    ),
  );
  assertEquals(diags, [
    `WARNING: virtual_server 10.0.0.1 80: real_server 10.0.0.2 80 is given twice (first at ${F}: Line 5); this one is ignored`,
    `WARNING: virtual_server 10.0.0.1 80: real_server 10.0.0.3 80 is given twice (first at ${F}: Line 9); this one is ignored`,
  ]);
  assertEquals(only(cfg.virtual_server).real_server.map((r) => r.header.ip), [
    "10.0.0.2",
    "10.0.0.3",
  ]);
});

Deno.test("quorum is reduced to the total weight and hysteresis kept below quorum, never wrapping", () => {
  const { cfg, diags } = load(
    vs(
      "quorum 10\nhysteresis 20\nreal_server 10.0.0.2 80 {\nweight 3\n}\nreal_server 10.0.0.3 80 {\nweight 2\n}",
    ) +
      vs("hysteresis 5\nreal_server 10.0.0.2 81 {\nweight 0\n}", "10.0.0.1 81"),
  );
  assertEquals(diags, [
    "WARNING: virtual_server 10.0.0.1 80: quorum 10 exceeds the total weight 5 of the real servers; using 5",
    "WARNING: virtual_server 10.0.0.1 80: hysteresis 20 must be below quorum 5; using 4",
    "WARNING: virtual_server 10.0.0.1 81: every real server has weight 0, so quorum is 0",
    "WARNING: virtual_server 10.0.0.1 81: hysteresis 5 must be below quorum 0; using 0",
  ]);
  const [a, b] = cfg.virtual_server;
  assertEquals([a?.quorum, a?.hysteresis, b?.quorum, b?.hysteresis], [5, 4, 0, 0]);
});

Deno.test("a service without a port becomes persistent; granularity implies persistence", () => {
  const { cfg, diags } = load(
    vs("real_server 10.0.0.2 80 {\n}", "10.0.0.1") +
      vs("persistence_timeout\nreal_server 10.0.0.2 80 {\n}", "10.0.0.2 80") +
      vs("persistence_granularity 255.255.255.0\nreal_server 10.0.0.2 80 {\n}", "10.0.0.3 80") +
      vs("persistence_granularity 64\nreal_server 10.0.0.2 80 {\n}", "10.0.0.4 80"),
  );
  assertEquals(diags, [
    "WARNING: virtual_server 10.0.0.1: a virtual service without a port must be persistent; using persistence_timeout 360",
    "GENERAL_ERROR: virtual_server 10.0.0.4 80: persistence_granularity '64' is for IPv6 but the virtual server is IPv4; it is ignored - write a netmask such as 255.255.255.0",
  ]);
  assertEquals(cfg.virtual_server.map((v) => v.persistence_timeout), [360, 360, 360, undefined]);
});

Deno.test("sh/mh flags apply whatever their order and need the sh or mh scheduler", () => {
  const { cfg, diags } = load(
    vs(
      "sh-port\nlvs_sched sh\nmh-fallback\nreal_server 10.0.0.2 80 {\n}",
      "10.0.0.1 80",
      "protocol TCP\nlvs_method NAT",
    ) +
      vs("sh-port\nreal_server 10.0.0.2 80 {\n}", "10.0.0.1 81"),
  );
  assertEquals(diags, [
    "WARNING: virtual_server 10.0.0.1 80: 'mh-fallback' is meant for the mh scheduler; with 'sh' it acts as 'sh-fallback'",
    "GENERAL_ERROR: virtual_server 10.0.0.1 81: 'sh-port' only applies to the sh and mh schedulers (lvs_sched is 'rr'); it is ignored",
  ]);
  const [a, b] = cfg.virtual_server;
  assertEquals([a?.["sh-port"], a?.["mh-fallback"], b?.["sh-port"]], [true, true, false]);
});

Deno.test("hashed is accepted with a no-effect warning; ops needs UDP; ha_suspend needs addresses", () => {
  const { cfg, diags } = load(
    vs("hashed\nops\nreal_server 10.0.0.2 80 {\n}") +
      vs("ha_suspend\nreal_server 10.0.0.2 {\n}", "fwmark 3", "lvs_sched rr\nlvs_method NAT"),
  );
  assertEquals(diags, [
    "WARNING: 'hashed' is accepted but has no effect in kad: IP_VS_SVC_F_HASHED is managed by the kernel itself, and keepalived never sends it either",
    "WARNING: virtual_server 10.0.0.1 80: ops (one-packet scheduling) needs protocol UDP, not TCP; it is turned off",
    "WARNING: virtual_server fwmark 3: ha_suspend cannot be used with fwmarks; it is turned off",
  ]);
  assertEquals(cfg.virtual_server.map((v) => [v.ops, v.ha_suspend]), [[false, false], [
    false,
    false,
  ]]);
});

Deno.test("an explicit false on a virtual_server flag is honoured, with a note about keepalived", () => {
  const { cfg, diags } = load(vs("inhibit_on_failure false\nalpha\nreal_server 10.0.0.2 80 {\n}"));
  assertEquals(diags, [
    "WARNING: 'inhibit_on_failure' with a false value turns the option off in kad; keepalived ignores the value here and turns it on",
  ]);
  const v = only(cfg.virtual_server);
  assertEquals([v.inhibit_on_failure, v.alpha, v.real_server[0]?.alpha], [false, true, true]);
});

Deno.test("a real server of the other family is skipped unless tunnelled; fwmark services take the servers' family", () => {
  const { cfg, diags } = load(
    vs(
      "real_server 10.0.0.2 80 {\n}\nreal_server 2001:db8::2 80 {\n}\nreal_server 2001:db8::3 80 {\nlvs_method TUN\n}",
    ) +
      vs("real_server 2001:db8::2 {\n}", "fwmark 2", "lvs_sched rr\nlvs_method DR") +
      vs(
        "real_server 2001:db8::2 {\n}",
        "fwmark 3",
        "lvs_sched rr\nlvs_method TUN\nip_family inet",
      ),
  );
  assertEquals(diags, [
    "GENERAL_ERROR: virtual_server 10.0.0.1 80: real_server 2001:db8::2 80 is IPv6 but the virtual server is IPv4; it is ignored (only TUN servers may differ)",
  ]);
  const [a, b, c] = cfg.virtual_server;
  assertEquals(a?.real_server.map((r) => r.header.ip), ["10.0.0.2", "2001:db8::3"]);
  assertEquals([b?.ip_family, c?.ip_family], ["inet6", "inet"]);
});

Deno.test("sorry_server options need a sorry_server; a sorry server that is a real server shares its inhibit", () => {
  const { cfg, diags } = load(
    vs("sorry_server_inhibit\nreal_server 10.0.0.2 80 {\n}") +
      vs(
        "sorry_server 10.0.0.2 80\nreal_server 10.0.0.2 80 {\ninhibit_on_failure\n}",
        "10.0.0.1 81",
      ),
  );
  assertEquals(diags, [
    "WARNING: virtual_server 10.0.0.1 80: sorry_server_inhibit has no effect without sorry_server; it is ignored",
  ]);
  const [a, b] = cfg.virtual_server;
  assertEquals([a?.sorry_server_inhibit, b?.sorry_server_inhibit], [false, true]);
  assertEquals(b?.sorry_server_lvs_method, { method: "NAT" });
});

Deno.test("virtual servers without real servers, with unknown groups or defined twice are dropped", () => {
  const { cfg, diags } = load(
    vs("") + vs("real_server 10.0.0.2 80 {\n}", "group NOPE") +
      vs("real_server 10.0.0.2 80 {\n}", "10.0.0.2 80") +
      vs("real_server 10.0.0.3 80 {\n}", "10.0.0.2 80") +
      vs(
        "real_server 10.0.0.3 80 {\n}",
        "10.0.0.2 80",
        "protocol UDP\nlvs_sched rr\nlvs_method NAT",
      ),
  );
  assertEquals(diags, [
    "WARNING: virtual_server 10.0.0.1 80: no real_server is left, so the virtual server is ignored; add a real_server block",
    "GENERAL_ERROR: virtual_server group NOPE: virtual_server_group NOPE is not defined (or was ignored), so this virtual server is ignored; define the group or fix the name",
    `GENERAL_ERROR: virtual_server 10.0.0.2 80 (TCP) is defined twice (first at ${F}: Line 14); this one is ignored - merge the two blocks`,
  ]);
  assertEquals(cfg.virtual_server.map((v) => `${v.protocol} ${v.real_server[0]?.header.ip}`), [
    "TCP 10.0.0.2",
    "UDP 10.0.0.3",
  ]);
});

Deno.test("groups: linked by name in either order; empty and ambiguous-family groups are dropped", () => {
  const { cfg, diags } = load(
    vs("real_server 10.0.0.2 80 {\n}", "group G1") +
      "virtual_server_group G1 {\n10.0.0.1 80\nfwmark 1\n}\n" +
      "virtual_server_group G2 {\n}\n" +
      "virtual_server_group G3 {\n10.0.0.1 80\nae00::1 80\nfwmark 2\n}\n" +
      "virtual_server_group G1 {\n10.0.0.9 80\n}\n",
  );
  assertEquals(diags, [
    `GENERAL_ERROR: duplicate virtual_server_group 'G1' (first defined at ${F}: Line 8) - skipping this one; give it another name`,
    "GENERAL_ERROR: virtual_server_group G2 has no valid entries and is ignored; add addresses or fwmarks",
    "GENERAL_ERROR: virtual_server_group G3 has IPv4 and IPv6 addresses and a fwmark without a family, and is ignored; write 'fwmark N inet' or 'fwmark N inet6'",
  ]);
  assertEquals(cfg.virtual_server_group.map((g) => g.header), ["G1"]);
  assertEquals(only(cfg.virtual_server).ip_family, "inet");
});

Deno.test("every line of a group is an entry, even one starting with a keyword-like word", () => {
  const { cfg, diags } = load(
    "virtual_server_group G {\n10.0.0.1-5 80\nfwmark 3 inet\n}\n",
  );
  assertEquals(diags, []);
  assertEquals(only(cfg.virtual_server_group).entry, [
    { kind: "range", first: "10.0.0.1", last: "10.0.0.5", port: 80 },
    { kind: "fwmark", fwmark: 3, family: 4 },
  ]);
});

// ---- checkers (spec/lvs.md §2) ----

Deno.test("checker settings come from the checker, else the real server, else the virtual server, else the type", () => {
  const { cfg, diags } = load(vs(`delay_loop 6
real_server 10.0.0.2 80 {
  TCP_CHECK {
  }
  HTTP_GET {
    url {
      path /
    }
  }
  DNS_CHECK {
    delay_loop 7
  }
  MISC_CHECK {
    misc_path /bin/true
  }
  SMTP_CHECK {
    retry 5
    warmup 0
  }
}
real_server 10.0.0.3 80 {
  retry 9
  delay_before_retry 4
  warmup 2
  alpha
  TCP_CHECK {
    alpha no
  }
  DNS_CHECK {
  }
}`));
  assertEquals(diags, []);
  const [a, b] = only(cfg.virtual_server).real_server;
  assert(a && b);
  const tcp = only(a.TCP_CHECK);
  assertEquals([tcp.retry, tcp.delay_before_retry, tcp.warmup, tcp.delay_loop], [
    1,
    1_000_000,
    6_000_000,
    6_000_000,
  ]);
  assertEquals([tcp.connect_timeout, tcp.alpha], [5_000_000, false]);
  const http = only(a.HTTP_GET);
  assertEquals([http.retry, http.delay_before_retry], [1, 3_000_000]);
  const dns = only(a.DNS_CHECK);
  assertEquals([dns.retry, dns.delay_before_retry, dns.warmup, dns.delay_loop], [
    3,
    7_000_000,
    7_000_000,
    7_000_000,
  ]);
  assertEquals([only(a.MISC_CHECK).retry, only(a.MISC_CHECK).delay_before_retry], [0, 1_000_000]);
  assertEquals([only(a.SMTP_CHECK).retry, only(a.SMTP_CHECK).warmup], [5, 0]);
  const tcp2 = only(b.TCP_CHECK);
  assertEquals([tcp2.retry, tcp2.delay_before_retry, tcp2.warmup, tcp2.alpha], [
    9,
    4_000_000,
    2_000_000,
    false,
  ]);
  assertEquals([
    only(b.DNS_CHECK).retry,
    only(b.DNS_CHECK).delay_before_retry,
    only(b.DNS_CHECK).alpha,
  ], [
    9,
    4_000_000,
    true,
  ]);
  assertEquals(Object.keys(tcp2.$loc), ["alpha"]);
});

Deno.test("checkers connect to the real server's address and effective port unless told otherwise", () => {
  const { cfg, diags } = load(
    vs(`real_server 10.0.0.2 {
  TCP_CHECK {
  }
  TCP_CHECK {
    connect_ip 10.0.0.7
    connect_port 8080
    bindto 10.0.0.1
  }
  UDP_CHECK {
    bindto 2001:db8::1
  }
}`) +
      vs(
        "real_server 10.0.0.2 {\nTCP_CHECK {\n}\nPING_CHECK {\n}\n}",
        "fwmark 1",
        "lvs_sched rr\nlvs_method DR",
      ) +
      vs(
        "real_server fe80::2 80 {\nTCP_CHECK {\n}\nTCP_CHECK {\nbind_if eth0\n}\n}",
        "2001:db8::1 80",
      ),
  );
  assertEquals(diags, [
    "GENERAL_ERROR: UDP_CHECK of real_server 10.0.0.2 80: bindto 2001:db8::1 and the target 10.0.0.2 are different address families; bindto is ignored",
    "WARNING: TCP_CHECK of real_server 10.0.0.2 has no port to connect to; add 'connect_port N'",
    "GENERAL_ERROR: TCP_CHECK of real_server fe80::2 80 targets the IPv6 link-local address fe80::2 and needs 'bind_if IFNAME'; the checker is ignored",
  ]);
  const [a, f, l] = cfg.virtual_server;
  const [t1, t2] = a!.real_server[0]!.TCP_CHECK;
  assertEquals([t1?.connect_ip, t1?.connect_port], ["10.0.0.2", 80]);
  assertEquals([t2?.connect_ip, t2?.connect_port, t2?.bindto], ["10.0.0.7", 8080, "10.0.0.1"]);
  assertEquals(only(a!.real_server[0]!.UDP_CHECK).bindto, undefined);
  assertEquals(only(f!.real_server[0]!.TCP_CHECK).connect_port, undefined);
  assertEquals(only(l!.real_server[0]!.TCP_CHECK).bind_if, "eth0");
});

Deno.test("HTTP_GET urls: path required, digest and status codes checked, regex compiled", () => {
  const { cfg, diags } = load(vs(`real_server 10.0.0.2 80 {
  HTTP_GET {
    url {
      path /a
      digest 0123456789ABCDEF0123456789abcdef
      status_code 200 300-399
      regex "^ok"
      regex_options caseless ungreedy bogus
      regex_stack 1 2
    }
    url {
      digest 123
    }
    url {
      path /b
      regex "(unclosed"
    }
    http_protocol 1.1
    nb_get_retry 2
  }
  HTTP_GET {
    connect_port 81
  }
}`));
  assertEquals(diags, [
    "WARNING: 'regex_stack' is accepted but has no effect in kad: PCRE2 JIT stack sizes do not apply to kad's regular expressions",
    "WARNING: regex_options 'ungreedy' has no equivalent in kad's regular expressions and is ignored",
    `WARNING: regex_options 'bogus' is not a known option and is ignored; known: ${
      REGEX_OPTIONS.join(", ")
    }`,
    "GENERAL_ERROR: 'digest' value '123' is not an MD5 digest (exactly 32 hexadecimal digits); compute it with genhash",
    "GENERAL_ERROR: regex '(unclosed' cannot be used: Invalid regular expression: /(unclosed/: Unterminated group; kad uses JavaScript regular expressions, so rewrite PCRE-only syntax",
    "DEPRECATED: 'nb_get_retry' is deprecated; use 'retry' instead",
    "GENERAL_ERROR: url block has no 'path' and is ignored; add 'path /…'",
    "GENERAL_ERROR: HTTP_GET has no url block, so the checker is ignored; add 'url { path /… }'",
  ]);
  const http = only(only(only(cfg.virtual_server).real_server).HTTP_GET);
  assertEquals(http.url.map((u) => u.path), ["/a", "/b"]);
  const [u1, u2] = http.url;
  assertEquals(u1?.digest, "0123456789abcdef0123456789abcdef");
  assertEquals(u1?.status_code, [{ from: 200, to: 200 }, { from: 300, to: 399 }]);
  assertEquals(u2?.regex, undefined);
  assertEquals([http.http_protocol, http.retry], ["1.1", 2]);
  assertEquals(regexFlags(u1?.regex_options ?? []), "i");
  assertEquals(regexFlags(["dotall", "constructor", "multiline", "caseless", "toString"]), "ims");
});

Deno.test("checkers missing a required keyword are dropped with an error naming it", () => {
  const { cfg, diags } = load(vs(`real_server 10.0.0.2 80 {
  SSL_GET {
  }
  MISC_CHECK {
    misc_timeout 5
  }
  FILE_CHECK {
    weight 3
  }
  BFD_CHECK {
  }
}`));
  assertEquals(diags, [
    "GENERAL_ERROR: SSL_GET has no url block, so the checker is ignored; add 'url { path /… }'",
    "GENERAL_ERROR: MISC_CHECK has no misc_path, so the checker is ignored; add 'misc_path COMMAND'",
    "GENERAL_ERROR: FILE_CHECK has no track_file, so the checker is ignored; add 'track_file NAME'",
    "GENERAL_ERROR: BFD_CHECK has no name, so the checker is ignored; add 'name BFD_INSTANCE'",
  ]);
  const rs = only(only(cfg.virtual_server).real_server);
  assertEquals(
    [rs.SSL_GET.length, rs.MISC_CHECK.length, rs.FILE_CHECK.length, rs.BFD_CHECK.length],
    [0, 0, 0, 0],
  );
});

Deno.test("SMTP_CHECK host blocks are extra targets; the first replaces an unset main target", () => {
  const { cfg, diags } = load(vs(`real_server 172.16.1.11 25 {
  SMTP_CHECK {
    helo_name "foo.bar.com"
    host {
      connect_ip 172.16.1.11
    }
    host {
      connect_ip 192.168.155.10
      connect_port 587
    }
  }
  SMTP_CHECK {
    connect_timeout 10
    host {
      connect_ip 64.233.167.99
    }
  }
}`));
  assertEquals(diags, []);
  const [a, b] = only(only(cfg.virtual_server).real_server).SMTP_CHECK;
  assert(a && b);
  assertEquals(a.helo_name, "foo.bar.com");
  assertEquals(smtpTargets(a).map((t) => `${t.connect_ip}:${t.connect_port}`), [
    "172.16.1.11:25",
    "192.168.155.10:587",
  ]);
  assertEquals(smtpTargets(b).map((t) => `${t.connect_ip}:${t.connect_timeout}`), [
    "172.16.1.11:10000000",
    "64.233.167.99:10000000",
  ]);
});

Deno.test("DNS_CHECK type is case-insensitive and the name has no empty labels", () => {
  const { cfg, diags } = load(vs(`real_server 10.0.0.2 53 {
  DNS_CHECK {
    type aaaa
    type PTR
    name foo..bar
    name example.com.
  }
  DNS_CHECK {
  }
}`));
  assertEquals(diags, [
    "GENERAL_ERROR: 'type' value 'PTR' is not one of A, NS, CNAME, SOA, MX, TXT, AAAA, RRSIG, DNSKEY",
    "GENERAL_ERROR: 'name' value 'foo..bar' has an empty label; write e.g. example.com",
  ]);
  const [a, b] = only(only(cfg.virtual_server).real_server).DNS_CHECK;
  assertEquals([a?.type, a?.name, b?.type, b?.name], ["AAAA", "example.com.", "SOA", "."]);
});

Deno.test("MISC_CHECK: misc_path splits like a script, misc_timeout 0 means the virtual server's delay_loop", () => {
  const { cfg, diags } = load(vs(`delay_loop 6
real_server 10.0.0.2 80 {
  MISC_CHECK {
    misc_path "/usr/local/bin/script.sh arg1 'two words'"
    delay_loop 2
    misc_dynamic
  }
  MISC_CHECK {
    misc_path /bin/check nobody
    misc_timeout 4.5
    user www-data www
  }
}`));
  assertEquals(diags, []);
  const [a, b] = only(only(cfg.virtual_server).real_server).MISC_CHECK;
  assertEquals(a?.misc_path?.argv, ["/usr/local/bin/script.sh", "arg1", "two words"]);
  assertEquals([a?.misc_timeout, a?.misc_dynamic, a?.delay_loop], [6_000_000, true, 2_000_000]);
  assertEquals(b?.misc_path, {
    command: "/bin/check",
    argv: ["/bin/check"],
    user: "www-data",
    group: "www",
  });
  assertEquals(b?.misc_timeout, 4_500_000);
});

Deno.test("UDP_CHECK payload and reply patterns use keepalived's hex grammar", () => {
  const { cfg, diags } = load(vs(`real_server 10.0.0.2 80 {
  UDP_CHECK {
    payload Ab12f 3 456
    require_reply 0x12
    min_reply_length 2
    max_reply_length 70000
  }
  UDP_CHECK {
    require_reply
    min_reply_length 20
    max_reply_length 10
  }
}`));
  assertEquals(diags, [
    "INVALID_NUMBER: 'max_reply_length' value '70000' is out of range (0 to 65535)",
    "GENERAL_ERROR: min_reply_length 20 is above max_reply_length 10; no reply could pass",
  ]);
  const [a, b] = only(only(cfg.virtual_server).real_server).UDP_CHECK;
  assertEquals([a?.payload, a?.require_reply, a?.max_reply_length], ["ab120f034506", "0x12", 255]);
  assertEquals([b?.payload, b?.require_reply], [undefined, ""]);
});

Deno.test("FILE_CHECK and BFD_CHECK must name existing track_file and bfd_instance blocks", () => {
  const { cfg, diags } = load(
    `track_file TF {
  file /tmp/x
}
bfd_instance B1 {
  neighbor_ip 10.0.0.2
}
bfd_instance VONLY {
  neighbor_ip 10.0.0.3
  vrrp
}
` + vs(`alpha
real_server 10.0.0.2 80 {
  FILE_CHECK {
    track_file TF
    weight -5 reverse
  }
  FILE_CHECK {
    track_file NOPE
  }
  BFD_CHECK {
    name B1
  }
  BFD_CHECK {
    name B1
  }
  BFD_CHECK {
    name NOPE
  }
  BFD_CHECK {
    name VONLY
  }
}`),
  );
  assertEquals(diags, [
    "GENERAL_ERROR: BFD_CHECK names a bfd_instance this real_server already checks; this one is ignored",
    "GENERAL_ERROR: FILE_CHECK of real_server 10.0.0.2 80 names track_file 'NOPE', which is not defined; the checker is ignored",
    "GENERAL_ERROR: BFD_CHECK of real_server 10.0.0.2 80 names bfd_instance 'NOPE', which is not defined (or was disabled); the checker is ignored",
    "GENERAL_ERROR: BFD_CHECK of real_server 10.0.0.2 80 names bfd_instance 'VONLY', which sends its events to VRRP only; add 'checker' to it",
  ]);
  const rs = only(only(cfg.virtual_server).real_server);
  assertEquals(only(rs.FILE_CHECK).weight, { weight: -5, reverse: true });
  assertEquals([only(rs.BFD_CHECK).name, only(rs.BFD_CHECK).alpha], ["B1", true]);
});

Deno.test("the SSL block's password is a secret", () => {
  const { cfg, diags } = load(
    "SSL {\npassword s3cret\nca /etc/ca.pem\ncertificate /etc/c.pem\nkey /etc/k.pem\n}\n",
  );
  assertEquals(diags, []);
  assertEquals(cfg.SSL?.password, "s3cret");
  assertEquals(cfg.SSL?.key, "/etc/k.pem");
  assertEquals(lvsRootFields.SSL.schema.fields.password.secret, true);
});

Deno.test("diagnostics point at the keyword that caused them", () => {
  const { sink } = load(vs("ops\nreal_server 10.0.0.2 80 {\n}"));
  const d = only(sink.items);
  assertEquals([d.class, d.loc?.line, d.keyword], [DiagClass.WARNING, 5, "ops"]);
});

// ---- Debian's keepalived 2.2.7 samples (ground truth: `keepalived -t`) ----

const SAMPLES = "/usr/share/doc/keepalived/samples";
/** LVS samples and what `keepalived -t` reports about their LVS blocks. */
const LVS_SAMPLES: Record<string, string[]> = {
  "HTTP_GET.port": [],
  PING_CHECK: [],
  SMTP_CHECK: [],
  SSL_GET: [],
  UDP_CHECK: [],
  fwmark: [
    "WARNING: virtual_server fwmark 1: protocol specified for fwmark - protocol will be ignored; remove 'protocol'",
  ],
  inhibit: [],
  misc_check: [],
  misc_check_arg: [],
  quorum: [],
  sample: [],
  status_code: [],
  virtual_server_group: [],
  virtualhost: [],
};
const LVS_KEYWORDS = new Set(["virtual_server", "virtual_server_group", "SSL", "bfd_instance"]);

for (const [name, expected] of Object.entries(LVS_SAMPLES)) {
  Deno.test(`sample keepalived.conf.${name}: the LVS blocks load with keepalived's findings only`, () => {
    const file = `${SAMPLES}/keepalived.conf.${name}`;
    const sink = new DiagnosticSink();
    const text = Deno.readTextFileSync(file);
    // global_defs and VRRP blocks belong to other schemas; only the LVS ones are loaded.
    const nodes = treeOf(text, file, sink).filter((n) => LVS_KEYWORDS.has(n.keyword));
    const cfg = parseBlock(testRoot, nodes, { file, line: 0, column: 0 }, sink);
    assertEquals(sink.items.map((d) => `${d.class}: ${d.message}`), expected);
    assert(cfg.virtual_server.length > 0, "no virtual_server was loaded");
    for (const v of cfg.virtual_server) {
      assert(v.real_server.length > 0, `${v.$at.line}: no real server`);
      for (const rs of v.real_server) {
        const checkers = [
          rs.TCP_CHECK,
          rs.HTTP_GET,
          rs.SSL_GET,
          rs.SMTP_CHECK,
          rs.MISC_CHECK,
          rs.UDP_CHECK,
          rs.PING_CHECK,
        ];
        assert(
          checkers.some((c) => c.length > 0),
          `real_server at line ${rs.$at.line} lost its checker`,
        );
      }
    }
  });
}

Deno.test("sample quorum: alpha, omega, quorum and hysteresis are kept as written", () => {
  const file = `${SAMPLES}/keepalived.conf.quorum`;
  const { cfg } = loadWith(testRoot, Deno.readTextFileSync(file), file);
  const v = only(cfg.virtual_server);
  assertEquals([v.alpha, v.omega, v.quorum, v.hysteresis, v.real_server.length], [
    true,
    true,
    7,
    2,
    10,
  ]);
  assertEquals(v.quorum_up?.argv, ["/usr/local/sbin/quorum-up.sh"]);
  assertEquals(only(v.real_server[0]!.TCP_CHECK).connect_port, 80);
  assertEquals(v.real_server.every((rs) => rs.alpha), true);
});
