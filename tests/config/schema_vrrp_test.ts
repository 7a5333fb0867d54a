import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { ctxFor, hasMsg } from "./_load.ts";
import type { Token } from "../../lib/config/ast.ts";
import { DiagClass, type Diagnostic, DiagnosticSink } from "../../lib/config/diagnostic.ts";
import { loadConfig, loadConfigText, type LoadResult } from "../../lib/config/load.ts";
import type { ValueType } from "../../lib/config/schema.ts";
import type { KadConfig } from "../../lib/config/schema/root.ts";
import { staticAddressLine, virtualAddressLine } from "../../lib/config/schema/vrrp_address.ts";
import { staticRouteLine, virtualRouteLine } from "../../lib/config/schema/vrrp_route.ts";
import { staticRuleLine, virtualRuleLine } from "../../lib/config/schema/vrrp_rule.ts";
import { unicastPeer } from "../../lib/config/schema/vrrp_peer.ts";
import { trackEntry } from "../../lib/config/schema/vrrp_track.ts";
import { ipvlanSpec, vmacSpec } from "../../lib/config/schema/vrrp_vmac.ts";
import { authentication, authHmac, decodeHexKey } from "../../lib/config/schema/vrrp_auth.ts";
import { garpExtraIf } from "../../lib/config/schema/vrrp_instance.ts";
import { linkbeatInterface, upDownDelay } from "../../lib/config/schema/vrrp_interfaces.ts";
import { entryLoc } from "../../lib/config/schema/vrrp_values.ts";

// ---- helpers ----

const OPTS = { configId: "x" } as const;

function load(text: string): LoadResult {
  return loadConfigText(text, "t.conf", OPTS);
}

function diags(r: LoadResult): Diagnostic[] {
  return r.sink.items;
}

function msgs(r: LoadResult): string[] {
  return r.sink.items.map((d) => d.message);
}

function noMsg(r: LoadResult, part: string): void {
  assert(
    !msgs(r).some((m) => m.includes(part)),
    `unexpected diagnostic containing '${part}':\n${msgs(r).join("\n")}`,
  );
}

function instance(r: LoadResult, name: string): KadConfig["vrrp_instance"][number] {
  const i = r.config.vrrp_instance.find((x) => x.header === name);
  assert(i !== undefined, `no instance ${name}`);
  return i;
}

/** An instance block with an interface, a VRID and one VIP, plus `body`. */
function inst(name: string, body: string, opts: { vrid?: number; vip?: string } = {}): string {
  const vip = opts.vip === undefined ? "10.0.0.1/24" : opts.vip;
  return `vrrp_instance ${name} {
  interface eth0
  virtual_router_id ${opts.vrid ?? 1}
${body}
${vip === "" ? "" : `  virtual_ipaddress {\n    ${vip}\n  }`}
}
`;
}

function tokens(words: readonly string[]): Token[] {
  return words.map((w) =>
    w.length >= 2 && w.startsWith('"') && w.endsWith('"')
      ? { text: w.slice(1, -1), quoted: true, column: 0 }
      : { text: w, quoted: false, column: 0 }
  );
}

function parseWords<T>(
  type: ValueType<T>,
  words: readonly string[],
  keyword = "k",
): { v: T | undefined; sink: DiagnosticSink } {
  const sink = new DiagnosticSink();
  return { v: type.parse(tokens(words), ctxFor(keyword, sink)), sink };
}

/** parse∘print is the identity on what `line` parses to, and printing is a fixed point. */
function assertRoundTrip<T>(type: ValueType<T>, line: string): T {
  const first = parseWords(type, line.split(/\s+/));
  assert(
    first.v !== undefined,
    `'${line}' did not parse: ${first.sink.items.map((d) => d.message).join("; ")}`,
  );
  const printed = type.print(first.v);
  const second = parseWords(type, printed);
  assert(second.v !== undefined, `'${printed.join(" ")}' (printed from '${line}') did not parse`);
  assertEquals(second.v, first.v, `'${line}' printed as '${printed.join(" ")}'`);
  assertEquals(type.print(second.v), printed);
  return first.v;
}

function assertRejected<T>(type: ValueType<T>, line: string, part: string): void {
  const r = parseWords(type, line.split(/\s+/));
  assertEquals(r.v, undefined, `'${line}' should be rejected`);
  assert(
    r.sink.items.some((d) => d.severity === "error" && d.message.includes(part)),
    `'${line}': no error containing '${part}' in ${r.sink.items.map((d) => d.message).join("; ")}`,
  );
}

// ---- structured lines ----

Deno.test("virtual_ipaddress lines parse into structured values and print back equal", () => {
  const v = assertRoundTrip(
    virtualAddressLine,
    "192.0.2.10/24 brd + dev eth0 scope link label eth0:1 home -nodad noprefixroute autojoin no_track preferred_lft forever use_vmac",
  );
  assertEquals(v, {
    address: "192.0.2.10",
    family: 4,
    prefix: 24,
    broadcast: "+",
    dev: "eth0",
    scope: "link",
    label: "eth0:1",
    home: true,
    nodad: true,
    noprefixroute: true,
    autojoin: true,
    noTrack: true,
    preferredLft: "forever",
    useVmac: true,
  });
  assertEquals(assertRoundTrip(virtualAddressLine, "192.0.2.1"), {
    address: "192.0.2.1",
    family: 4,
    prefix: 32,
  });
  assertRoundTrip(virtualAddressLine, "192.0.2.1 peer 192.0.2.2 dev eth1");
  assertRoundTrip(virtualAddressLine, "2001:DB8::0001/64 preferred_lft 30 mngtmpaddr");
  assertEquals(assertRoundTrip(virtualAddressLine, "2001:DB8::0001").address, "2001:db8::1");
  assertRoundTrip(virtualAddressLine, "192.0.2.9/24 brd 192.0.2.255 scope 77");
  assertRoundTrip(staticAddressLine, "192.0.2.3/24 dev eth0 track_group TG");
});

Deno.test("address line options that keepalived refuses are reported and dropped", () => {
  let r = parseWords(virtualAddressLine, ["192.0.2.1/31", "brd", "+"]);
  assertEquals(r.v?.broadcast, undefined);
  assertStringIncludes(r.sink.items[0]?.message ?? "", "/30 or shorter");
  r = parseWords(virtualAddressLine, ["fe80::1", "scope", "link", "label", "x"]);
  assertEquals(r.v, { address: "fe80::1", family: 6, prefix: 128 });
  assertEquals(r.sink.items.length, 2);
  r = parseWords(virtualAddressLine, ["192.0.2.1/24", "peer", "192.0.2.2"]);
  assertEquals(r.v?.prefix, 32);
  assertStringIncludes(r.sink.items[0]?.message ?? "", "ignoring the prefix");
  r = parseWords(virtualAddressLine, ["192.0.2.1/33"]);
  assertEquals(r.v?.prefix, 32);
  assertEquals(r.sink.items[0]?.class, DiagClass.WARNING);
  r = parseWords(virtualAddressLine, ["192.0.2.1", "foo"]);
  assertEquals(r.v, { address: "192.0.2.1", family: 4, prefix: 32 });
  assertStringIncludes(r.sink.items[0]?.message ?? "", "'foo'");
  r = parseWords(staticAddressLine, ["192.0.2.1", "use_vmac"]);
  assertEquals(r.v?.useVmac, undefined);
  r = parseWords(virtualAddressLine, ["192.0.2.1", "track_group", "g"]);
  assertEquals(r.v?.trackGroup, undefined);
  assertRejected(virtualAddressLine, "192.0.2.", "not a valid");
});

Deno.test("route lines parse into structured values and print back equal", () => {
  const r = assertRoundTrip(
    virtualRouteLine,
    "src 192.0.2.1 198.51.100.0/24 via 192.0.2.254 dev eth0 table 100 metric 5 protocol static scope link no_track",
  );
  assertEquals(r, {
    family: 4,
    src: "192.0.2.1",
    dest: { address: "198.51.100.0", prefix: 24 },
    via: "192.0.2.254",
    dev: "eth0",
    table: 100,
    metric: 5,
    protocol: "static",
    scope: "link",
    noTrack: true,
  });
  assertRoundTrip(virtualRouteLine, "blackhole 192.0.2.128/25");
  assertRoundTrip(virtualRouteLine, "unreachable 192.0.2.0/26 table main");
  assertRoundTrip(virtualRouteLine, "prohibit 2001:db8::/48");
  assertEquals(assertRoundTrip(virtualRouteLine, "default via 192.0.2.1 dev eth0").dest, {
    address: "0.0.0.0",
    prefix: 0,
  });
  assertEquals(assertRoundTrip(virtualRouteLine, "inet6 default dev eth0").dest, {
    address: "::",
    prefix: 0,
  });
  assertRoundTrip(
    virtualRouteLine,
    "10.6.0.0/16 nexthop via 10.0.0.1 dev eth0 weight 2 nexthop via 10.0.0.2 dev eth1 weight 3 onlink",
  );
  assertRoundTrip(
    virtualRouteLine,
    "10.7.0.0/16 via 10.0.0.1 dev eth0 mtu lock 1400 advmss 1300 initcwnd 10 congctl lock cubic features ecn quickack 1 onlink append",
  );
  assertRoundTrip(
    virtualRouteLine,
    "2001:db8::/64 from 2001:db8:1::/64 via fe80::1 dev eth0 pref high expires 100",
  );
  assertRoundTrip(
    virtualRouteLine,
    "local 192.0.2.7 dev eth0 table local tos 0x10 realms 5 ttl-propagate enabled",
  );
  assertRoundTrip(staticRouteLine, "192.0.2.0/24 dev eth0 track_group TG");
  // The deprecated spellings are read and printed in their replacement form.
  const gw = parseWords(virtualRouteLine, "0.0.0.0/0 gw 192.0.2.1 dev eth0 priority 7".split(" "));
  assertEquals(gw.v?.via, "192.0.2.1");
  assertEquals(gw.v?.metric, 7);
  assertEquals(gw.sink.items[0]?.class, DiagClass.DEPRECATED);
  assertStringIncludes(gw.sink.items[0]?.message ?? "", "use 'via'");
  const or = parseWords(
    virtualRouteLine,
    "10.0.0.0/8 via 192.0.2.1 or 192.0.2.2 dev eth0".split(" "),
  );
  assertEquals(or.v?.or, "192.0.2.2");
  assertStringIncludes(or.sink.items[0]?.message ?? "", "use 'nexthop'");
});

Deno.test("invalid route lines are dropped with an error naming the problem", () => {
  assertRejected(
    virtualRouteLine,
    "10.0.0.0/8 via 10.0.0.1 dev eth0 proto kernel",
    "write 'protocol'",
  );
  assertRejected(virtualRouteLine, "10.0.0.0/8 via 10.0.0.1 dev eth0 foo", "'foo' is unknown");
  assertRejected(virtualRouteLine, "via 10.0.0.1 dev eth0", "no destination");
  assertRejected(virtualRouteLine, "10.0.0.0/8 via fe80::1 dev eth0", "mixes IPv4 and IPv6");
  assertRejected(virtualRouteLine, "10.0.0.0/8 dev eth0 pref high", "only valid for IPv6");
  assertRejected(virtualRouteLine, "10.0.0.0/8 dev eth0 tos 300", "tos '300'");
  assertRejected(
    virtualRouteLine,
    "10.0.0.0/8 dev eth0 track_group g",
    "only valid for static routes",
  );
  assertRejected(virtualRouteLine, "10.0.0.0/8 dev eth0 encap mpls 100", "not supported");
});

Deno.test("a virtual route without an interface warns that it cannot be tracked, unless it needs none", () => {
  const r = parseWords(virtualRouteLine, "192.0.2.0/24 via 10.0.0.1".split(" "));
  assertStringIncludes(
    r.sink.items[0]?.message ?? "",
    "Cannot track route 192.0.2.0/24 with no interface",
  );
  assertEquals(
    parseWords(virtualRouteLine, "192.0.2.0/24 via 10.0.0.1 no_track".split(" ")).sink.items,
    [],
  );
  assertEquals(parseWords(virtualRouteLine, "blackhole 192.0.2.0/24".split(" ")).sink.items, []);
  assertEquals(parseWords(staticRouteLine, "192.0.2.0/24 via 10.0.0.1".split(" ")).sink.items, []);
});

Deno.test("rule lines parse into structured values and print back equal", () => {
  const r = assertRoundTrip(
    virtualRuleLine,
    "from 192.0.2.0/24 to 198.51.100.1 iif eth0 oif eth1 fwmark 0x10/0xff table 100 priority 100 no_track",
  );
  assertEquals(r, {
    family: 4,
    from: { address: "192.0.2.0", prefix: 24 },
    to: { address: "198.51.100.1", prefix: 32 },
    iif: "eth0",
    oif: "eth1",
    fwmark: { mark: 16, mask: 255 },
    preference: 100,
    action: { kind: "table", table: 100 },
    noTrack: true,
  });
  assertEquals(assertRoundTrip(virtualRuleLine, "from all lookup main pref 5").action, {
    kind: "table",
    table: "main",
  });
  assertRoundTrip(virtualRuleLine, "not from 192.0.2.1 goto 200 order 103");
  assertRoundTrip(virtualRuleLine, "from 192.0.2.1 type unreachable preference 108");
  assertRoundTrip(virtualRuleLine, "from 192.0.2.1 blackhole preference 109");
  assertRoundTrip(virtualRuleLine, "from 192.0.2.1 l3mdev preference 106");
  assertRoundTrip(
    virtualRuleLine,
    "from 192.0.2.1 uidrange 100-200 sport 80 dport 1000-2000 ipproto tcp protocol 4 tunnel-id 5 table 5 preference 105",
  );
  assertRoundTrip(
    virtualRuleLine,
    "from 192.0.2.1 suppress_prefixlength 0 suppress_ifgroup 5 realms 3 table 5 preference 104",
  );
  assertEquals(assertRoundTrip(virtualRuleLine, "inet6 from all table 5 preference 112").family, 6);
  assertRoundTrip(staticRuleLine, "from 192.0.2.1 table 5 preference 1 track_group TG");
});

Deno.test("invalid rule lines are dropped with an error naming the problem", () => {
  assertRejected(virtualRuleLine, "from 192.0.2.1 priority 5", "has no action");
  assertRejected(virtualRuleLine, "table 5 priority 119 type blackhole", "more than one action");
  assertRejected(
    virtualRuleLine,
    "from 192.0.2.1 goto 5 realms 5 priority 1",
    "need a 'table' action",
  );
  assertRejected(
    virtualRuleLine,
    "from fe80::1 to 10.0.0.1 table 5 priority 1",
    "mixes IPv4 and IPv6",
  );
  assertRejected(virtualRuleLine, "to 192.168.100./24 table 1", "not a valid");
  assertRejected(virtualRuleLine, "from 10.0.0.1 nat 10.0.0.2 priority 1", "'nat' is unknown");
});

Deno.test("a rule without a preference warns, as keepalived does", () => {
  const r = parseWords(virtualRuleLine, "from 192.0.2.0/24 table 2".split(" "));
  assert(r.v !== undefined);
  assertEquals(r.sink.items[0]?.class, DiagClass.WARNING);
  assertStringIncludes(r.sink.items[0]?.message ?? "", "no preference");
});

Deno.test("unicast peers carry TTL bounds and print back equal", () => {
  assertEquals(assertRoundTrip(unicastPeer, "192.0.2.2 min_ttl 5 max_ttl 200"), {
    address: "192.0.2.2",
    family: 4,
    minTtl: 5,
    maxTtl: 200,
  });
  assertRoundTrip(unicastPeer, "fe80::2");
  assertRejected(unicastPeer, "192.0.2.2 max_ttl 300", "out of range");
  const r = parseWords(unicastPeer, "192.0.2.5 min_ttl 10 max_ttl 5".split(" "));
  assertStringIncludes(r.sink.items[0]?.message ?? "", "will be discarded");
});

Deno.test("track entries keep weight and reverse and print back equal", () => {
  assertEquals(assertRoundTrip(trackEntry("script"), "chk weight -20 noreverse"), {
    name: "chk",
    weight: -20,
    reverse: false,
  });
  assertEquals(assertRoundTrip(trackEntry("interface"), "eth1 weight 2 reverse"), {
    name: "eth1",
    weight: 2,
    reverse: true,
  });
  assertEquals(assertRoundTrip(trackEntry("file"), "f1"), { name: "f1" });
  // ±254 becomes ±253 for interfaces and scripts, with a warning; beyond is an error.
  const r = parseWords(trackEntry("interface"), ["eth0", "weight", "254"]);
  assertEquals(r.v?.weight, 253);
  assertEquals(r.sink.items[0]?.class, DiagClass.WARNING);
  assertEquals(parseWords(trackEntry("file"), ["f", "weight", "-254"]).v?.weight, -254);
  assertRejected(trackEntry("interface"), "eth0 weight -300", "must be between -253 and 253");
  assertRejected(trackEntry("bfd"), "b weight 254", "must be between -253 and 253");
  assertRejected(trackEntry("interface"), "eth0 noreverse", "unknown");
});

Deno.test("use_vmac, use_ipvlan, garp_extra_if and interface lines print back equal", () => {
  assertEquals(assertRoundTrip(vmacSpec, "vrrp.51 02:00:00:00:00:05 netlink_notify_msg group 3"), {
    name: "vrrp.51",
    mac: "02:00:00:00:00:05",
    netlinkNotifyMsg: true,
    group: "3",
  });
  assertRoundTrip(vmacSpec, "name vm1");
  assertRejected(vmacSpec, "vm1 00:00:5e:00:01:07", "VRRP range");
  assertRejected(vmacSpec, "vm1 01:00:00:00:00:01", "multicast");
  assertRoundTrip(ipvlanSpec, "ipv1 192.0.2.9/24 bridge group 2");
  assertEquals(assertRoundTrip(garpExtraIf(0), "all 30"), { all: true, interval: 30_000_000 });
  assertRoundTrip(upDownDelay, "eth0 1.5 3");
  assertEquals(assertRoundTrip(upDownDelay, "eth0 2"), {
    interface: "eth0",
    down: 2_000_000,
    up: 0,
  });
  assertRoundTrip(linkbeatInterface, "eth0 MII");
});

Deno.test("auth_hmac keys accept inline, hex: and file: forms and print back equal", () => {
  const key = authHmac.fields.key.type;
  const inline = "0123456789abcdef0123456789abcdef";
  assertEquals(assertRoundTrip(key, `1 ${inline}`), { id: 1, source: "inline", value: inline });
  const hex = assertRoundTrip(key, `2 hex:${"0a".repeat(32)}`);
  assertEquals(hex, { id: 2, source: "hex", value: "0a".repeat(32) });
  assertEquals(assertRoundTrip(key, "255 file:/etc/kad/k1"), {
    id: 255,
    source: "file",
    value: "/etc/kad/k1",
  });
  // Relative paths resolve against the directory of the file being parsed.
  assertEquals(parseWords(key, ["3", "file:keys/../k"]).v?.value, "k");
  assertRejected(key, `0 ${inline}`, "out of range");
  assertRejected(key, "1 short", "keys must be 32 to 64 bytes");
  assertRejected(key, `1 hex:${"ab".repeat(65)}`, "65 bytes");
  assertRejected(key, "1 hex:zz", "not valid");
  assertRejected(key, "1 file:", "is empty");
  assertRejected(key, "1 file:/etc/kad/", "directory");
  assert(authHmac.fields.key.secret === true, "keys must be masked by printers");
  assert(authentication.fields.auth_pass.secret === true, "auth_pass must be masked by printers");
});

Deno.test("hex: keys pair digits left to right and keep a lone digit as one byte", () => {
  assertEquals(decodeHexKey("abc"), new Uint8Array([0xab, 0x0c]));
  assertEquals(decodeHexKey("a b\tcd"), new Uint8Array([0x0a, 0x0b, 0xcd]));
  assertEquals(decodeHexKey("ag"), undefined);
});

Deno.test("list entries remember the line they were written on", () => {
  const r = load(inst("VI_1", "", { vip: "10.0.0.1/24\n    10.0.0.2/24" }));
  const vips = instance(r, "VI_1").virtual_ipaddress;
  assertEquals(vips.map((v) => entryLoc(v)?.line), [6, 7]);
});

// ---- instances ----

Deno.test("an instance without virtual_router_id is an error that says to add it", () => {
  const r = load(
    `vrrp_instance VI_1 {\n  interface eth0\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n`,
  );
  const d = hasMsg(r, "(VI_1) the virtual router id must be set", DiagClass.GENERAL_ERROR);
  assertStringIncludes(d.message, "add 'virtual_router_id N'");
  assertEquals(d.loc?.line, 1);
});

Deno.test("instance defaults come from the spec and from global_defs when not written", () => {
  let i = instance(load(inst("VI_1", "")), "VI_1");
  assertEquals(
    [
      i.state,
      i.priority,
      i.advert_int,
      i.version,
      i.garp_master_delay,
      i.garp_master_repeat,
      i.accept,
      i.no_accept,
    ],
    ["BACKUP", 100, 1_000_000, 2, 5_000_000, 5, true, false],
  );
  assertEquals(i.mcast_dst_ip, "224.0.0.18");
  assertEquals(i.down_timer_adverts, 3);
  const r = load(`global_defs {
  vrrp_version 3
  vrrp_garp_master_delay 10
  vrrp_garp_master_repeat 2
  vrrp_mcast_group4 224.0.0.99
  smtp_alert
  vrrp_notify_priority_changes
}
${inst("VI_1", "  garp_master_repeat 7")}`);
  i = instance(r, "VI_1");
  assertEquals(
    [i.version, i.garp_master_delay, i.garp_master_repeat, i.garp_lower_prio_delay, i.mcast_dst_ip],
    [3, 10_000_000, 7, 10_000_000, "224.0.0.99"],
  );
  assertEquals([i.smtp_alert, i.notify_priority_changes], [true, true]);
  assert(!Object.hasOwn(i.$loc, "version"), "inherited values are not marked as written");
});

Deno.test("priority 255 makes the initial state MASTER; state MASTER alone makes the owner", () => {
  assertEquals(instance(load(inst("VI_1", "  priority 255")), "VI_1").state, "MASTER");
  const r = load(inst("VI_1", "  state MASTER"));
  assertEquals(instance(r, "VI_1").priority, 255);
  hasMsg(r, "address owner (priority 255)", DiagClass.WARNING);
  const s = load(inst("VI_1", "  state FOO\n  priority 300"));
  assertEquals([instance(s, "VI_1").state, instance(s, "VI_1").priority], ["BACKUP", 100]);
  hasMsg(s, "'state' value 'FOO' is unknown");
  hasMsg(s, "using the default 100");
});

Deno.test("IPv6 addresses make the instance IPv6 and VRRPv3", () => {
  const i = instance(load(inst("VI_1", "", { vip: "fe80::1" })), "VI_1");
  assertEquals([i.version, i.mcast_dst_ip], [3, "ff02::12"]);
  const native = load(inst("VI_1", "  native_ipv6", { vip: "" }) + "");
  hasMsg(native, "'native_ipv6' is deprecated", DiagClass.DEPRECATED);
  assertEquals(instance(native, "VI_1").version, 3);
});

Deno.test("version 2 with IPv6 is kept only when written before the addresses, as keepalived does", () => {
  const before = load(inst("VI_1", "  version 2", { vip: "fe80::4" }));
  assertEquals(instance(before, "VI_1").version, 2);
  hasMsg(before, "VRRPv2 over IPv6 is not standard", DiagClass.WARNING);
  const after = load(`vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  virtual_ipaddress {
    fe80::5
  }
  version 2
}
`);
  assertEquals(instance(after, "VI_1").version, 3);
  hasMsg(after, "version 2 conflicts with the IPv6 addresses", DiagClass.WARNING);
  const strict = load(inst("VI_1", "  strict_mode\n  version 2", { vip: "fe80::4" }));
  assertEquals(instance(strict, "VI_1").version, 3);
});

Deno.test("advert_int is checked against the wire units of each version", () => {
  let r = load(inst("VI_1", "  advert_int 0.5"));
  assertEquals(instance(r, "VI_1").advert_int, 1_000_000);
  hasMsg(r, "advert_int '0.5' must be a whole number of seconds for VRRPv2 (1 to 255 s)");
  r = load(inst("VI_1", "  version 3\n  advert_int 41"));
  assertEquals(instance(r, "VI_1").advert_int, 40_950_000);
  hasMsg(r, "advert_int '41' is out of range for VRRPv3 (0.01 to 40.95 s)", DiagClass.WARNING);
  r = load(inst("VI_1", "  version 3\n  advert_int 0.123"));
  assertEquals(instance(r, "VI_1").advert_int, 120_000);
  hasMsg(r, "multiple of 0.01 s for VRRPv3");
  r = load(inst("VI_1", "  advert_int 256"));
  hasMsg(r, "out of range (0.01 to 255 s)");
  assertEquals(
    instance(load(inst("VI_1", "  version 3\n  advert_int 0.05")), "VI_1").advert_int,
    50_000,
  );
});

Deno.test("an instance without VIPs is an error for VRRPv3 and a warning for VRRPv2", () => {
  hasMsg(
    load(inst("VI_1", "  version 3", { vip: "" })),
    "No VIP specified; at least one is required",
    DiagClass.GENERAL_ERROR,
  );
  hasMsg(load(inst("VI_1", "", { vip: "" })), "at least one is sensible", DiagClass.WARNING);
  noMsg(load(inst("VI_1", "  version 3\n  no_virtual_ipaddress", { vip: "" })), "No VIP");
  const strict = load(inst("VI_1", "  strict_mode\n  no_virtual_ipaddress", { vip: "" }));
  hasMsg(strict, "no_virtual_ipaddress is not allowed in strict mode");
  hasMsg(strict, "No VIP specified", DiagClass.FATAL);
});

Deno.test("VIPs of the wrong family and duplicate VIPs are dropped", () => {
  const r = load(inst("VI_1", "", { vip: "10.0.0.6\n    fe80::1\n    10.0.0.6" }));
  assertEquals(instance(r, "VI_1").virtual_ipaddress.map((v) => v.address), ["10.0.0.6"]);
  const d = hasMsg(r, "virtual_ipaddress fe80::1 is IPv6 but the instance is IPv4");
  assertEquals(d.loc?.line, 7);
  hasMsg(r, "listed more than once");
});

Deno.test("duplicate VRIDs on one interface and family are errors; distinct unicast peers are not", () => {
  const r = load(inst("VI_1", "") + inst("VI_2", "", { vip: "10.0.0.2" }));
  hasMsg(r, "VI_1 and VI_2 both use VRID 1 with IPv4 on interface eth0", DiagClass.GENERAL_ERROR);
  noMsg(load(inst("VI_1", "") + inst("VI_2", "", { vrid: 2 })), "both use VRID");
  noMsg(load(inst("VI_1", "") + inst("VI_2", "", { vip: "fe80::1" })), "both use VRID");
  const uni = (peer: string) => `  unicast_src_ip 10.0.0.9\n  unicast_peer {\n    ${peer}\n  }`;
  noMsg(load(inst("VI_1", uni("10.0.0.2")) + inst("VI_2", uni("10.0.0.3"))), "both use VRID");
  hasMsg(load(inst("VI_1", uni("10.0.0.2")) + inst("VI_2", uni("10.0.0.2"))), "both use VRID 1");
});

Deno.test("strict mode refuses unicast peers on an interface and corrects the rest", () => {
  const r = load(`global_defs {
  vrrp_strict
}
${
    inst(
      "VI_1",
      "  state MASTER\n  priority 100\n  preempt_delay 5\n  garp_lower_prio_repeat 3\n  unicast_peer {\n    10.0.0.9\n  }",
    )
  }`);
  hasMsg(r, "strict mode does not allow unicast peers", DiagClass.FATAL);
  hasMsg(r, "state MASTER must match being address owner");
  hasMsg(r, "preempt_delay will not work with strict mode");
  hasMsg(r, "garp_lower_prio_repeat is 0 in strict mode");
  const i = instance(r, "VI_1");
  assertEquals([
    i.state,
    i.preempt_delay,
    i.garp_lower_prio_repeat,
    i.lower_prio_no_advert,
    i.accept,
  ], [
    "BACKUP",
    0,
    0,
    true,
    false,
  ]);
});

Deno.test("nopreempt needs initial state BACKUP and a non-owner priority", () => {
  let r = load(inst("VI_1", "  state MASTER\n  priority 100\n  nopreempt"));
  hasMsg(r, "nopreempt will not work with initial state MASTER - clearing");
  assertEquals(instance(r, "VI_1").nopreempt, false);
  r = load(inst("VI_1", "  priority 255\n  nopreempt\n  preempt_delay 3"));
  hasMsg(r, "nopreempt is incompatible with priority 255");
  hasMsg(r, "preempt_delay will not work with priority 255");
  r = load(inst("VI_1", "  nopreempt\n  preempt"));
  hasMsg(r, "both nopreempt and preempt are set");
  assertEquals(instance(r, "VI_1").nopreempt, true);
  r = load(inst("VI_1", "  timer_expired_backup"));
  hasMsg(r, "timer_expired_backup needs nopreempt");
  const t = load(inst("VI_1", "  nopreempt\n  thread_timer_expired 200"));
  assertEquals(instance(t, "VI_1").timer_expired_backup, 200);
  hasMsg(
    t,
    "'thread_timer_expired' is deprecated; use 'timer_expired_backup'",
    DiagClass.DEPRECATED,
  );
});

Deno.test("accept and no_accept together are an error naming both", () => {
  const r = load(inst("VI_1", "  accept\n  no_accept"));
  const d = hasMsg(r, "accept and no_accept are both set", DiagClass.GENERAL_ERROR);
  assertStringIncludes(d.message, "using the later one (no_accept)");
  assertEquals([instance(r, "VI_1").accept, instance(r, "VI_1").no_accept], [false, true]);
});

Deno.test("unicast settings: ttl without peers is dropped, TTL bounds turn on source checking", () => {
  let r = load(inst("VI_1", "  unicast_ttl 5"));
  hasMsg(r, "unicast_ttl is only used with unicast peers");
  assertEquals(instance(r, "VI_1").unicast_ttl, undefined);
  r = load(
    inst(
      "VI_1",
      "  unicast_src_ip 10.0.0.9\n  unicast_peer {\n    10.0.0.2 min_ttl 250\n    fe80::1\n  }",
    ),
  );
  const i = instance(r, "VI_1");
  assertEquals([i.check_unicast_src, i.unicast_peer.length, i.mcast_dst_ip], [true, 1, undefined]);
  hasMsg(r, "unicast peer fe80::1 is not an IPv4 address");
  hasMsg(
    load(inst("VI_1", "  unicast_src_ip 10.0.0.9")),
    "no unicast_peer entries",
    DiagClass.DEPRECATED,
  );
  const noIf = load(
    `vrrp_instance VI_1 {\n  virtual_router_id 1\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n`,
  );
  hasMsg(noIf, "(VI_1) has no interface; add 'interface IFNAME'");
  const ifless = load(`vrrp_instance VI_1 {
  virtual_router_id 1
  unicast_src_ip 10.0.0.9
  unicast_peer {
    10.0.0.2
  }
  virtual_ipaddress {
    10.0.0.1
  }
}
`);
  noMsg(ifless, "has no interface");
});

Deno.test("skip_check_adv_addr false means false (a keepalived quirk kad fixes)", () => {
  assertEquals(
    instance(load(inst("VI_1", "  skip_check_adv_addr false")), "VI_1").skip_check_adv_addr,
    false,
  );
  assertEquals(
    instance(load(inst("VI_1", "  skip_check_adv_addr")), "VI_1").skip_check_adv_addr,
    true,
  );
});

// ---- authentication ----

Deno.test("auth_pass longer than 8 characters is truncated with a warning", () => {
  const r = load(
    inst("VI_1", "  authentication {\n    auth_type PASS\n    auth_pass 123456789abc\n  }"),
  );
  assertEquals(instance(r, "VI_1").authentication?.auth_pass, "12345678");
  hasMsg(r, "only the first 8 are used", DiagClass.WARNING);
});

Deno.test("AH with initial state MASTER is cleared to BACKUP, as keepalived does", () => {
  const r = load(
    inst(
      "VI_1",
      "  state MASTER\n  priority 100\n  authentication {\n    auth_type AH\n    auth_pass 1111\n  }",
    ),
  );
  hasMsg(r, "(VI_1) Initial state master is incompatible with AH authentication - clearing");
  assertEquals(instance(r, "VI_1").state, "BACKUP");
  const owner = load(
    inst("VI_1", "  priority 255\n  authentication {\n    auth_type AH\n    auth_pass 1111\n  }"),
  );
  noMsg(owner, "incompatible with AH");
});

Deno.test("legacy authentication is dropped where it cannot work", () => {
  const auth = "  authentication {\n    auth_type PASS\n    auth_pass x\n  }";
  let r = load(inst("VI_1", `  version 3\n${auth}`));
  hasMsg(r, "only defined for VRRPv2 over IPv4");
  assertEquals(instance(r, "VI_1").authentication, undefined);
  r = load(inst("VI_1", `  strict_mode\n${auth}`));
  hasMsg(r, "strict mode does not support authentication");
  r = load(inst("VI_1", "  authentication {\n    auth_type PASS\n  }"));
  hasMsg(r, "authentication has no auth_pass");
  r = load(
    inst("VI_1", `${auth}\n  auth_hmac {\n    key 1 ${"k".repeat(32)}\n    active_key 1\n  }`),
  );
  hasMsg(r, "authentication and auth_hmac are both set; using auth_hmac");
  assert(instance(r, "VI_1").auth_hmac !== undefined);
});

Deno.test("auth_hmac: active_key must name a key, ids are unique, defaults follow the spec", () => {
  const k32 = "k".repeat(32);
  let r = load(
    inst(
      "VI_1",
      `  advert_int 4\n  auth_hmac {\n    key 1 ${k32}\n    key 2 hex:${
        "01".repeat(40)
      }\n    active_key 2\n  }`,
    ),
  );
  let h = instance(r, "VI_1").auth_hmac;
  assert(h !== undefined);
  assertEquals([h.key.length, h.anti_replay, h.mode, h.time_window], [
    2,
    "time",
    "enforce",
    12_000_000,
  ]);
  assertEquals(diags(r).filter((d) => d.severity === "error"), []);
  r = load(inst("VI_1", `  auth_hmac {\n    key 1 ${k32}\n    active_key 3\n  }`));
  hasMsg(r, "auth_hmac active_key 3 is not one of the keys (1)");
  assertEquals(instance(r, "VI_1").auth_hmac, undefined);
  r = load(inst("VI_1", `  auth_hmac {\n    key 1 ${k32}\n  }`));
  hasMsg(r, "auth_hmac has no active_key");
  r = load(
    inst(
      "VI_1",
      `  auth_hmac {\n    key 1 ${k32}\n    key 1 ${"j".repeat(32)}\n    active_key 1\n  }`,
    ),
  );
  hasMsg(r, "key id 1 is defined twice");
  assertEquals(instance(r, "VI_1").auth_hmac?.key.length, 1);
  r = load(
    inst(
      "VI_1",
      `  strict_mode\n  auth_hmac {\n    key 1 ${k32}\n    active_key 1\n    mode receive-only\n  }`,
    ),
  );
  hasMsg(r, "auth_hmac mode receive-only is not allowed in strict mode");
  h = instance(r, "VI_1").auth_hmac;
  assertEquals(h?.mode, "enforce");
  r = load(
    inst(
      "VI_1",
      `  auth_hmac {\n    key 1 ${k32}\n    active_key 1\n    anti_replay monotonic\n    time_window 9\n  }`,
    ),
  );
  hasMsg(r, "time_window has no effect with anti_replay monotonic");
});

// ---- tracking, scripts and groups ----

Deno.test("track entries naming objects that do not exist are dropped with keepalived's message", () => {
  const r = load(`vrrp_script s1 {
  script "/bin/true"
}
vrrp_script s2 {
  interval 2
}
${
    inst(
      "VI_0",
      "  track_script {\n    s1\n    s2\n  }\n  track_file {\n    f1\n  }\n  track_process {\n    p1\n  }\n  track_bfd {\n    b1\n  }",
    )
  }`);
  const d = hasMsg(r, "No script set for vrrp_script s2 - removing");
  assertEquals(d.loc?.line, 4);
  hasMsg(r, "(VI_0) track script s2 not found, ignoring...");
  hasMsg(r, "(VI_0) track file f1 not found");
  hasMsg(r, "(VI_0) track process p1 not found");
  hasMsg(r, "(VI_0) track bfd b1 not found");
  const i = instance(r, "VI_0");
  assertEquals(i.track_script.map((e) => e.name), ["s1"]);
  assertEquals([i.track_file.length, i.track_process.length, i.track_bfd.length], [0, 0, 0]);
  assertEquals(r.config.vrrp_script.map((s) => s.header), ["s1"]);
});

Deno.test("the own interface and weighted trackers of owners are ignored", () => {
  const r = load(`vrrp_script s1 {
  script "/bin/true"
  weight 10
}
${
    inst(
      "VI_1",
      "  priority 255\n  track_interface {\n    eth0\n    eth1 weight 5\n    eth2\n  }\n  track_script {\n    s1\n  }",
    )
  }`);
  hasMsg(r, "(VI_1) Ignoring track_interface eth0 since own interface");
  hasMsg(r, "ignoring tracked interface eth1 with weights due to address owner");
  hasMsg(r, "ignoring tracked script s1 with weights due to address owner");
  const i = instance(r, "VI_1");
  assertEquals(i.track_interface.map((e) => e.name), ["eth2"]);
  assertEquals(i.track_script, []);
});

Deno.test("vrrp_script defaults: timeout follows interval, 0 becomes 1 s, weight range", () => {
  const r = load(`vrrp_script a {
  script "/bin/true"
  interval 2.5
}
vrrp_script b {
  script "/bin/true"
  interval 0
  weight 254
  rise 0
}
`);
  const [a, b] = r.config.vrrp_script;
  assertEquals([a?.interval, a?.timeout, a?.weight], [2_500_000, 2_500_000, {
    weight: 0,
    reverse: false,
  }]);
  assertEquals([b?.interval, b?.timeout, b?.rise], [1_000_000, 1_000_000, 1]);
  hasMsg(r, "'interval' must be greater than 0; using 1 s");
  hasMsg(r, "weight '254' is out of range (-253 to 253)");
  hasMsg(r, "'rise' value '0' is out of range");
});

Deno.test("track_file and vrrp_track_process blocks: required keywords and quorum", () => {
  const r = load(`track_file f1 {
  file /run/f1
  init_file 5 overwrite
}
track_file f2 {
  weight 2
}
vrrp_track_process p1 {
  process "nginx: master" -g
  quorum 2
  quorum_max 1
}
vrrp_track_process p2 {
  quorum 1
}
vrrp_track_file f3 {
  file /run/f3
}
`);
  assertEquals(r.config.track_file.map((f) => f.header), ["f1", "f3"]);
  assertEquals(r.config.track_file[0]?.weight, { weight: 1, reverse: false });
  assertEquals(r.config.track_file[0]?.init_file, { value: 5, overwrite: true });
  hasMsg(r, "No file set for track_file f2");
  hasMsg(r, "'vrrp_track_file' is deprecated; use 'track_file'", DiagClass.DEPRECATED);
  const p = r.config.vrrp_track_process[0];
  assertEquals([p?.process, p?.quorum_max], [{ name: "nginx: master", args: ["-g"] }, undefined]);
  hasMsg(r, "quorum_max 1 is less than quorum 2");
  hasMsg(r, "track process 'p2' process name not specified");
});

Deno.test("sync groups: unknown members, members in two groups and lone members", () => {
  const r = load(`vrrp_sync_group G1 {
  group {
    VI_1
    VI_X
  }
}
vrrp_sync_group G2 {
  group {
    VI_1 VI_2
  }
  global_tracking
  notify_deleted /bin/true
}
${inst("VI_1", "")}${inst("VI_2", "", { vrid: 2 })}`);
  hasMsg(r, "Virtual router VI_X specified in sync group G1 doesn't exist - ignoring");
  hasMsg(
    r,
    "Virtual router VI_1 cannot exist in more than one sync group (already in G1); ignoring it in G2",
  );
  hasMsg(r, "Sync group G1 has only 1 virtual router(s)");
  hasMsg(
    r,
    "'global_tracking' is deprecated; use 'sync_group_tracking_weight'",
    DiagClass.DEPRECATED,
  );
  hasMsg(r, "'notify_deleted' is accepted but has no effect");
  assertEquals(r.config.vrrp_sync_group.map((g) => g.group), [["VI_1"], ["VI_2"]]);
  assertEquals(r.config.vrrp_sync_group[1]?.sync_group_tracking_weight, true);
});

Deno.test("sync group members may not use weighted trackers unless the group allows it", () => {
  const body = "  track_interface {\n    eth1 weight 5\n  }";
  const r = load(
    `vrrp_sync_group G {\n  group {\n    VI_1\n    VI_2\n  }\n}\n${inst("VI_1", body)}${
      inst("VI_2", "", { vrid: 2 })
    }`,
  );
  hasMsg(r, "(VI_1) ignoring eth1 tracked interface weight due to SYNC group G");
  assertEquals(instance(r, "VI_1").track_interface[0]?.weight, 0);
  const ok = load(
    `vrrp_sync_group G {\n  group {\n    VI_1\n    VI_2\n  }\n  sync_group_tracking_weight\n}\n${
      inst("VI_1", body)
    }${inst("VI_2", "", { vrid: 2 })}`,
  );
  assertEquals(instance(ok, "VI_1").track_interface[0]?.weight, 5);
});

Deno.test("track groups, garp groups and the lvs_sync_daemon instance are checked across blocks", () => {
  const r = load(`global_defs {
  lvs_sync_daemon eth0 VI_9 id 5
}
track_group tg {
  group {
    VI_1
    VI_8
  }
}
static_ipaddress {
  10.9.0.1/24 dev eth0 track_group tg
  10.9.0.2/24 dev eth0 track_group nosuch
}
garp_group {
  garp_interval 0.5
  interfaces {
    eth0
  }
}
garp_group {
  gna_interval 1
  interface eth0
}
garp_group {
  interface eth1
}
${inst("VI_1", "")}`);
  hasMsg(r, "track_group tg: vrrp_instance VI_8 doesn't exist");
  hasMsg(r, "track_group nosuch not found");
  hasMsg(r, "garp_group already specified for eth0");
  hasMsg(r, "garp_group does not have any interval set - removing");
  hasMsg(r, "lvs_sync_daemon names vrrp_instance VI_9, which doesn't exist");
  assertEquals(r.config.garp_group.length, 1);
  assertEquals(r.config.static_ipaddress.map((a) => a.trackGroup), ["tg", undefined]);
});

Deno.test("root single keywords and interface lists have their defaults", () => {
  const r = load(`net_namespace_ipvs
use_pid_dir
instance foo
child_wait_time 7
interface_up_down_delays {
  eth0 2
  ifb0 1.5 3
}
linkbeat_interfaces {
  eth0 MII
  ifb1 FOO
}
`);
  const c = r.config;
  assertEquals([c.net_namespace_ipvs, c.use_pid_dir, c.instance, c.child_wait_time], [
    "",
    true,
    "foo",
    7_000_000,
  ]);
  assertEquals(c.interface_up_down_delays.map((d) => d.up), [0, 3_000_000]);
  assertEquals(c.linkbeat_interfaces, [{ interface: "eth0", method: "MII" }, {
    interface: "ifb1",
  }]);
  hasMsg(r, "extra characters 'FOO'");
  assertEquals(load("").config.child_wait_time, 5_000_000);
});

Deno.test("deprecated instance keywords warn naming their replacement", () => {
  const r = load(
    inst("VI_1", "  vmac_garp_intvl 5\n  linkbeat_use_polling\n  lvs_sync_daemon_interface eth1"),
  );
  hasMsg(r, "'vmac_garp_intvl' is deprecated; use 'garp_extra_if'", DiagClass.DEPRECATED);
  hasMsg(r, "use the linkbeat_interfaces block", DiagClass.DEPRECATED);
  hasMsg(r, "use global_defs 'lvs_sync_daemon IFNAME inst VI_1'", DiagClass.DEPRECATED);
  assertEquals(instance(r, "VI_1").garp_extra_if, { all: false, interval: 5_000_000 });
});

// ---- the Debian samples ----

const SAMPLES = "/usr/share/doc/keepalived/samples";

/**
 * What kad reports for each VRRP-side sample, apart from the host checks. Every entry is
 * something keepalived 2.2.7's `-t` also reports for that file (checked by hand).
 */
const SAMPLE_DIAGNOSTICS: Record<string, string[]> = {
  "keepalived.conf.vrrp": ["(VI_1) virtual_ipaddress 192.168.200.18 is listed more than once"],
  "keepalived.conf.vrrp.localcheck": [],
  "keepalived.conf.vrrp.lvs_syncd": [
    "Unknown keyword 'VI_2'",
    "Unknown keyword 'VI_3'",
    "Sync group VG1 has no existing virtual router",
    "lvs_sync_daemon_interface' in a vrrp instance is deprecated",
  ],
  "keepalived.conf.vrrp.routes": [
    "Cannot track route 192.168.112.0/24",
    "option 'or' is deprecated",
    "Cannot track route 192.168.113.0/24",
    "option 'gw' is deprecated",
    "Cannot track route 0.0.0.0/0",
  ],
  "keepalived.conf.vrrp.rules": [
    "Rule has no preference specified",
    "to address '192.168.100./24' is not a valid",
    "Rule has no preference specified",
    "to address '192.168.200./24' is not a valid",
  ],
  "keepalived.conf.vrrp.scripts": [],
  "keepalived.conf.vrrp.static_ipaddress": ["Cannot track route 192.168.112.0/24"],
  "keepalived.conf.vrrp.sync": [],
  "keepalived.conf.conditional_conf": [
    "No script set for vrrp_script check_VI_0 - removing",
    "(VI_0) track script check_VI_0 not found, ignoring",
  ],
  "keepalived.conf.track_interface": ["Cannot track route 192.168.112.0/24"],
  "keepalived.conf.IPv6": [],
  "keepalived.conf.sample": [],
  "keepalived.conf.SSL_GET": [
    "(VI_1) Initial state master is incompatible with AH authentication - clearing",
  ],
};

for (const [name, expected] of Object.entries(SAMPLE_DIAGNOSTICS)) {
  Deno.test(`sample ${name} gives only the diagnostics keepalived also gives`, () => {
    const r = loadConfig(`${SAMPLES}/${name}`, OPTS);
    const got = msgs(r);
    assertEquals(got.length, expected.length, `diagnostics:\n${got.join("\n")}`);
    expected.forEach((part, i) => assertStringIncludes(got[i] ?? "", part));
  });
}

// ---- documentation ----

Deno.test("docs/config-vrrp.md lists exactly the keywords of the current schemas", async () => {
  const { docIsCurrent } = await import("../../scripts/gen_config_vrrp_doc.ts");
  const doc = Deno.readTextFileSync(new URL("../../docs/config-vrrp.md", import.meta.url));
  assert(
    docIsCurrent(doc),
    "docs/config-vrrp.md is out of date; run scripts/gen_config_vrrp_doc.ts",
  );
});

Deno.test("every VRRP-side keyword has a doc string", async () => {
  const { vrrpRootFields } = await import("../../lib/config/schema/vrrp.ts");
  const { vrrpInstance } = await import("../../lib/config/schema/vrrp_instance.ts");
  const { vrrpSyncGroup, trackGroup } = await import("../../lib/config/schema/vrrp_sync.ts");
  const { vrrpScript, trackFile, vrrpTrackProcess } = await import(
    "../../lib/config/schema/vrrp_trackers.ts"
  );
  const { garpGroup } = await import("../../lib/config/schema/vrrp_interfaces.ts");
  const all: Array<[string, Record<string, { doc?: string }>]> = [
    ["root", vrrpRootFields],
    ["vrrp_instance", vrrpInstance.fields],
    ["vrrp_sync_group", vrrpSyncGroup.fields],
    ["track_group", trackGroup.fields],
    ["vrrp_script", vrrpScript.fields],
    ["track_file", trackFile.fields],
    ["vrrp_track_process", vrrpTrackProcess.fields],
    ["garp_group", garpGroup.fields],
    ["authentication", authentication.fields],
    ["auth_hmac", authHmac.fields],
  ];
  const missing = all.flatMap(([b, f]) =>
    Object.entries(f).filter(([, x]) => !x.doc).map(([k]) => `${b}.${k}`)
  );
  assertEquals(missing, []);
});
