import { assertEquals } from "../_assert.ts";
import {
  bumpCounters,
  formatStats,
  newCounters,
  SNMP_ONLY_COUNTERS,
  STATS_COUNTERS,
  statsJson,
} from "../../lib/vrrp/counters.ts";

Deno.test("new counters are all zero, the printed ones and the SNMP-only ones", () => {
  const c = newCounters();
  assertEquals(Object.keys(c).length, STATS_COUNTERS.length + SNMP_ONLY_COUNTERS.length);
  for (const v of Object.values(c)) assertEquals(v, 0);
});

Deno.test("statsJson keeps keepalived's key order and leaves SNMP-only counters out", () => {
  const c = newCounters();
  bumpCounters(c, ["pri_zero_sent", "advert_rcvd", "advert_rcvd", "chk_err"]);
  const j = statsJson(c);
  assertEquals(Object.keys(j), [...STATS_COUNTERS]);
  assertEquals([j.advert_rcvd, j.pri_zero_sent], [2, 1]);
  assertEquals(
    JSON.stringify(statsJson(newCounters())),
    '{"advert_rcvd":0,"advert_sent":0,"become_master":0,"release_master":0,' +
      '"packet_len_err":0,"advert_interval_err":0,"ip_ttl_err":0,"invalid_type_rcvd":0,' +
      '"addr_list_err":0,"invalid_authtype":0,"authtype_mismatch":0,"auth_failure":0,' +
      '"auth_ext_missing":0,"auth_ext_malformed":0,"auth_ext_unknown_key":0,' +
      '"auth_ext_invalid_hmac":0,"auth_ext_stale":0,"auth_ext_replay":0,' +
      '"pri_zero_rcvd":0,"pri_zero_sent":0}',
  );
});

Deno.test("the auth_hmac counters wrap at 2^32 like keepalived's 32-bit fields", () => {
  const c = newCounters();
  c.auth_ext_replay = 0xffffffff;
  c.advert_rcvd = 0xffffffff;
  bumpCounters(c, ["auth_ext_replay", "advert_rcvd"]);
  assertEquals(c.auth_ext_replay, 0);
  assertEquals(c.advert_rcvd, 0x100000000);
});

Deno.test("formatStats prints keepalived.stats' layout for one instance (§6.4)", () => {
  const c = newCounters();
  bumpCounters(c, ["advert_rcvd", "addr_list_err", "auth_ext_missing", "auth_ext_missing"]);
  assertEquals(
    formatStats("VI_1", c),
    [
      "VRRP Instance: VI_1",
      "  Advertisements:",
      "    Received: 1",
      "    Sent: 0",
      "  Became master: 0",
      "  Released master: 0",
      "  Packet Errors:",
      "    Length: 0",
      "    TTL: 0",
      "    Invalid Type: 0",
      "    Advertisement Interval: 0",
      "    Address List: 1",
      "  Authentication Errors:",
      "    Invalid Type: 0",
      "    Type Mismatch: 0",
      "    Failure: 0",
      "  Authentication Extension Errors:",
      "    Missing: 2",
      "    Malformed: 0",
      "    Unknown Key: 0",
      "    Invalid HMAC: 0",
      "    Stale: 0",
      "    Replay: 0",
      "  Priority Zero:",
      "    Received: 0",
      "    Sent: 0",
      "",
    ].join("\n"),
  );
});
