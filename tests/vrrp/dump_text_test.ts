/**
 * `kad dump`'s text (lib/vrrp/dump_text.ts): the instance table and blocks say what the
 * documents hold, and `--stats` is byte for byte the keepalived.stats layout the daemon
 * writes on SIGUSR2 (lib/vrrp/counters.ts formatStats).
 */
import { assertEquals, assertMatch, assertStringIncludes } from "../_assert.ts";
import { formatStats } from "../../lib/vrrp/counters.ts";
import { dumpText, durationText, statsText } from "../../lib/vrrp/dump_text.ts";
import { dumpDocument, statsDocument } from "../../lib/vrrp/snapshot.ts";
import { Lab, pairConfig, S } from "./_sources.ts";

function running(): Lab {
  const lab = new Lab(pairConfig());
  lab.start("HI", "192.0.2.11");
  lab.start("LO", "192.0.2.12");
  lab.advance(5 * S);
  return lab;
}

Deno.test("the table has one row per instance with state, priority, master and VIPs", () => {
  const text = dumpText(dumpDocument(running().input()));
  assertMatch(
    text,
    /^kad 0\.1\.0 \(pid 4242\), up 5 s, config \/etc\/keepalived\/keepalived\.conf; 2 instances shown\n/,
  );
  assertMatch(text, /\nINSTANCE +STATE +PRIORITY +MASTER +INTERFACE +VIPS\n/);
  assertMatch(text, /\nHI +MASTER +200 +192\.0\.2\.11 \(this node\) +eth0 \(up\) +3\/3 present\n/);
  assertMatch(
    text,
    /\nLO +BACKUP +100 +192\.0\.2\.11 \(priority 200\) +eth1 \(up\) +0\/3 present\n/,
  );
  assertStringIncludes(text, "\nLO: BACKUP, VRID 51, VRRPv3, IPv4 multicast 224.0.0.18\n");
  assertStringIncludes(text, "  timers: master_down in ");
  assertStringIncludes(
    text,
    "  VIPs (installed): 192.0.2.100/24 [present], 192.0.2.101 [present]\n",
  );
});

Deno.test("--stats text is keepalived.stats exactly", () => {
  const lab = running();
  const expected = lab.instances.map((i) => formatStats(i.name, i.counters)).join("");
  assertEquals(statsText(statsDocument(lab.input())), expected);
});

Deno.test("durations read naturally from milliseconds to days", () => {
  assertEquals(
    [0.25, 850, 12_340, 245_000, 3 * 3600e3 + 120e3, 2 * 86400e3 + 4 * 3600e3].map(durationText),
    ["0.3 ms", "850 ms", "12.3 s", "4m05s", "3h02m", "2d04h"],
  );
});
