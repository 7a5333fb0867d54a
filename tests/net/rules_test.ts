/**
 * virtual_rules on a real kernel (needs root), inside a lab namespace, checked with
 * `ip rule`: rules carry protocol keepalived (as keepalived 2.2.7 adds them, spec/vrrp.md
 * §3.17) and every selector and action the configuration grammar has; errors name the
 * rule; leftovers of a previous run are removed (§3.3).
 */
import { assert, assertEquals } from "../_assert.ts";
import { netlinkLab, opts, thrown } from "./_in_netns.ts";
import type { Netns } from "../harness/netns.ts";
import { ErrnoError } from "../../ffi/libc.ts";
import {
  addRule,
  FR_ACT,
  listRules,
  removeLeftoverRules,
  removeRule,
} from "../../lib/net/rules.ts";
import type { RuleEntry } from "../../lib/config/schema/vrrp_rule.ts";

async function ruleLines(ns: Netns, family: "-4" | "-6"): Promise<string[]> {
  return (await ns.ip([family, "rule", "show"])).split("\n").map((l) => l.trim())
    .filter((l) => /proto keepalived/.test(l));
}

const setup = netlinkLab;

Deno.test(
  "rules are added with protocol keepalived and every selector, then removed",
  opts,
  async () => {
    const { lab, ns, nl } = await setup("rule");
    try {
      const rules: RuleEntry[] = [
        {
          family: 4,
          from: { address: "192.0.2.100", prefix: 32 },
          action: { kind: "table", table: 100 },
          preference: 1000,
        },
        {
          family: 4,
          not: true,
          fwmark: { mark: 5, mask: 0xff },
          iif: "lo",
          ipproto: "tcp",
          dport: { start: 80, end: 90 },
          uidrange: { start: 1, end: 2 },
          action: { kind: "table", table: 1000 },
          preference: 1001,
        },
        {
          family: 4,
          to: { address: "198.51.100.0", prefix: 24 },
          tos: 16,
          oif: "lo",
          sport: { start: 53, end: 53 },
          action: { kind: "goto", target: 1000 },
          preference: 999,
        },
        {
          family: 4,
          from: "all",
          action: { kind: "table", table: "main" },
          suppressPrefixlength: 0,
          preference: 1002,
        },
        {
          family: 6,
          to: { address: "2001:db8:5::", prefix: 48 },
          action: { kind: "blackhole" },
          preference: 1003,
        },
        {
          family: 6,
          from: { address: "2001:db8::", prefix: 32 },
          action: { kind: "prohibit" },
          preference: 1004,
          tunnelId: "77",
        },
      ];
      for (const r of rules) addRule(nl, r);
      assertEquals(await ruleLines(ns, "-4"), [
        "999:\tfrom all to 198.51.100.0/24 tos 0x10 oif lo sport 53 goto 1000 proto keepalived",
        "1000:\tfrom 192.0.2.100 lookup 100 proto keepalived",
        "1001:\tnot from all fwmark 0x5/0xff iif lo uidrange 1-2 ipproto tcp dport 80-90 " +
        "lookup 1000 proto keepalived",
        "1002:\tfrom all lookup main suppress_prefixlength 0 proto keepalived",
      ]);
      assertEquals(await ruleLines(ns, "-6"), [
        "1003:\tfrom all to 2001:db8:5::/48 blackhole proto keepalived",
        "1004:\tfrom 2001:db8::/32 tun_id 77 prohibit proto keepalived",
      ]);
      const listed = listRules(nl, { family: 4 }).filter((r) => r.protocol === 18);
      assertEquals(
        listed.map((r) => [r.priority, r.action, r.table, r.src ?? null, r.invert]),
        [
          [999, FR_ACT.GOTO, 0, null, false],
          [1000, FR_ACT.TO_TBL, 100, "192.0.2.100", false],
          [1001, FR_ACT.TO_TBL, 1000, null, true],
          [1002, FR_ACT.TO_TBL, 254, null, false],
        ],
      );
      for (const r of rules) removeRule(nl, r);
      assertEquals([...await ruleLines(ns, "-4"), ...await ruleLines(ns, "-6")], []);
    } finally {
      nl.close();
      await lab.close();
    }
  },
);

Deno.test("failed rule changes name the rule and the reason", opts, async () => {
  const { lab, nl } = await setup("ruleerr");
  try {
    const r: RuleEntry = {
      family: 4,
      from: { address: "192.0.2.100", prefix: 32 },
      action: { kind: "table", table: 100 },
      preference: 1000,
    };
    addRule(nl, r);
    const dup = thrown(() => addRule(nl, r));
    assert(dup instanceof ErrnoError, String(dup));
    assertEquals(
      dup.message,
      "adding rule from 192.0.2.100 preference 1000 table 100 failed: File exists (EEXIST)",
    );
    removeRule(nl, r);
    const gone = thrown(() => removeRule(nl, r));
    assert(gone instanceof ErrnoError, String(gone));
    assertEquals(
      gone.message,
      "removing rule from 192.0.2.100 preference 1000 table 100 failed: No such file or " +
        "directory (ENOENT)",
    );
    const bad = thrown(() => addRule(nl, { ...r, ipproto: "nosuchproto" }));
    assert(bad instanceof RangeError, String(bad));
    assertEquals(
      bad.message,
      "adding rule from 192.0.2.100 preference 1000 ipproto nosuchproto table 100 failed: " +
        "IP protocol 'nosuchproto' is not defined in /etc/protocols; use a number",
    );
  } finally {
    nl.close();
    await lab.close();
  }
});

Deno.test("leftover rules of a previous run are removed, absent ones ignored", opts, async () => {
  const { lab, ns, nl } = await setup("ruleleft");
  try {
    await ns.ip([
      "rule",
      "add",
      "from",
      "192.0.2.100",
      "table",
      "100",
      "pref",
      "1000",
      "proto",
      "18",
    ]);
    await ns.ip(["-6", "rule", "add", "to", "2001:db8:5::/48", "blackhole", "pref", "1003"]);
    const entries: RuleEntry[] = [
      {
        family: 4,
        from: { address: "192.0.2.100", prefix: 32 },
        action: { kind: "table", table: 100 },
        preference: 1000,
      },
      {
        family: 6,
        to: { address: "2001:db8:5::", prefix: 48 },
        action: { kind: "blackhole" },
        preference: 1003,
      },
      {
        family: 4,
        from: { address: "192.0.2.101", prefix: 32 },
        action: { kind: "table", table: 100 },
        preference: 1001,
      },
    ];
    const report = removeLeftoverRules(nl, entries);
    assertEquals(report.failed, []);
    assertEquals(report.removed, [
      "rule from 192.0.2.100 preference 1000 table 100",
      "rule to 2001:db8:5::/48 preference 1003 blackhole",
    ]);
    const left = (await ns.ip(["-6", "rule", "show"])) + (await ns.ip(["-4", "rule", "show"]));
    assert(!/100[03]:/.test(left), left);
  } finally {
    nl.close();
    await lab.close();
  }
});
