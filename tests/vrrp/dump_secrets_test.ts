/**
 * No secret in any dump: with an `auth_pass` password and `auth_hmac` keys (inline and
 * hex) configured, neither `kad dump` (text, JSON, stats) nor keepalived.json (v1, v2) nor
 * keepalived.data contains the password or any form of the key; the password shows as
 * SECRET_MASK where keepalived would print it. (The namespace test repeats the check on
 * the files and output of a running daemon.)
 */
import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { SECRET_MASK } from "../../lib/config/schema.ts";
import { effectiveGlobals } from "../../lib/config/schema/vrrp_check.ts";
import { dataDump } from "../../lib/vrrp/data_dump.ts";
import { dumpText, statsText } from "../../lib/vrrp/dump_text.ts";
import { keepalivedJson } from "../../lib/vrrp/keepalived_json.ts";
import { dumpDocument, statsDocument } from "../../lib/vrrp/snapshot.ts";
import { Lab, S } from "./_sources.ts";

const PASSWORD = "pw!S3cr";
const INLINE_KEY = "inline-key-material-0123456789ab";
const HEX_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

const CONFIG = `vrrp_instance V2 {
  interface eth0
  virtual_router_id 20
  priority 150
  version 2
  authentication {
    auth_type PASS
    auth_pass ${PASSWORD}
  }
  virtual_ipaddress {
    192.0.2.20
  }
}
vrrp_instance V3 {
  interface eth1
  virtual_router_id 30
  priority 150
  version 3
  auth_hmac {
    key 1 ${INLINE_KEY}
    key 2 hex:${HEX_KEY}
    active_key 1
  }
  virtual_ipaddress {
    192.0.2.30
  }
}
`;

Deno.test("no password or key reaches any dump, text or JSON, kad's or keepalived's", () => {
  const lab = new Lab(CONFIG);
  lab.start("V2", "192.0.2.11");
  lab.start("V3", "192.0.2.11");
  lab.advance(10 * S);
  const input = lab.input();
  const outputs: Record<string, string> = {
    "kad dump": dumpText(dumpDocument(input)),
    "kad dump --json": JSON.stringify(dumpDocument(input)),
    "kad dump --stats": statsText(statsDocument(input)),
    "kad dump --stats --json": JSON.stringify(statsDocument(input)),
    "keepalived.json v1": keepalivedJson(input.instances, lab.config, input.clock, 1),
    "keepalived.json v2": keepalivedJson(input.instances, lab.config, input.clock, 2),
    "keepalived.data": dataDump(
      input.instances,
      lab.config,
      effectiveGlobals(lab.config),
      input.clock,
      "r1",
    ),
  };
  const secrets = [
    PASSWORD,
    INLINE_KEY,
    HEX_KEY,
    HEX_KEY.toUpperCase(),
    btoa(INLINE_KEY),
    // The hex key's bytes as text would be unprintable; its first 8 hex digits must not leak.
    HEX_KEY.slice(0, 8),
  ];
  for (const [name, text] of Object.entries(outputs)) {
    assert(text.length > 100, `${name} is suspiciously short`);
    for (const s of secrets) assert(!text.includes(s), `${name} contains a secret (${s})`);
  }
  assertStringIncludes(outputs["keepalived.json v1"]!, `"auth_data":"${SECRET_MASK}"`);
  assertStringIncludes(outputs["keepalived.data"]!, `Password = ${SECRET_MASK}`);
  // The running key ring is what the dumps describe (§2.3.12), by key ids only.
  for (
    const line of [
      "Authentication extension = HMAC-SHA256-128",
      "Keys = 2, active key id = 1",
      "Mode = enforce",
      "Anti replay = time, window = 5 sec",
    ]
  ) assertStringIncludes(outputs["keepalived.data"]!, line);
  const v3 = dumpDocument(input).instances["V3"]!.auth;
  assertEquals([v3.type, v3.mode, v3.active_key, v3.keys], ["hmac", "enforce", 1, [1, 2]]);
});
