/**
 * lib/runtime/daemon.ts `judge`: what `kad run` lists at start as configured but not run, so
 * that no part of a configuration is dropped silently (issue 3, item 7).
 */
import { assert, assertEquals } from "../_assert.ts";
import { loadConfigText } from "../../lib/config/load.ts";
import { judge } from "../../lib/runtime/daemon.ts";

function notRun(vips: string, extra = ""): string[] {
  const r = loadConfigText(
    `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  ${extra}
  virtual_ipaddress {
    ${vips}
  }
}
`,
    "t.conf",
    { configId: "x" },
  );
  return judge(r.config).notRun;
}

Deno.test("address, route and rule tracking is run, so it is not listed", () => {
  assertEquals(notRun("192.0.2.100/24 dev eth1"), []);
  assertEquals(notRun("192.0.2.100/24 no_track"), []);
});

Deno.test("promote_secondaries is listed as not run", () => {
  const lines = notRun("192.0.2.100/24 no_track", "promote_secondaries");
  assert(lines.some((l) => l.includes("promote_secondaries")), lines.join("\n"));
});
