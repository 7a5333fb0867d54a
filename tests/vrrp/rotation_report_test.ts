import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import type { InstanceView } from "../../lib/vrrp/rotation.ts";
import { rotateKeySchema, validate } from "../_json_schema.ts";
import {
  exitOf,
  failedReport,
  okReport,
  reportText,
  ROTATE_EXIT,
  type RotateErrorCode,
} from "../../lib/vrrp/rotation_report.ts";

const VIEW: InstanceView = {
  instance: "VI_1",
  mode: "enforce",
  anti_replay: "time",
  window_s: 5,
  active_key: 2,
  keys: [
    { id: 1, active: false, verify_only: true, source: "config", key_file: null },
    { id: 2, active: true, verify_only: false, source: "key-state", key_file: "/etc/kad/k2" },
  ],
  retired: [3],
  peers: [
    {
      address: "10.0.0.2",
      key_id: 2,
      seconds_since: 0.4,
      last_outcome: "ok",
      last_key_id: 2,
      last_seconds_since: 0.4,
      recent: true,
    },
    {
      address: "10.0.0.3",
      key_id: 1,
      seconds_since: 40,
      last_outcome: "auth_ext_unknown_key",
      last_key_id: 3,
      last_seconds_since: 39,
      recent: false,
    },
  ],
};

Deno.test("rotate-key report: every error code has its own documented exit status", () => {
  const codes: RotateErrorCode[] = [
    "refused",
    "usage",
    "no_daemon",
    "permission",
    "no_answer",
    "in_use",
    "timeout",
  ];
  assertEquals(codes.map(exitOf), [1, 2, 3, 4, 5, 6, 7]);
  assertEquals(new Set(Object.values(ROTATE_EXIT)).size, 8);
});

Deno.test("rotate-key report: the JSON document of a success and of a failure", () => {
  assertEquals(
    okReport("activate", {
      changed: [{ instance: "VI_1", id: 2, action: "activated" }],
      instances: [VIEW],
    }),
    {
      kad_rotate_key: 1,
      command: "activate",
      ok: true,
      exit_code: 0,
      changed: [{ instance: "VI_1", id: 2, action: "activated" }],
      warnings: [],
      instances: [VIEW],
    },
  );
  // status has no "changed"; waited_s is rounded to tenths.
  assertEquals(Object.keys(okReport("status", { instances: [] })).includes("changed"), false);
  assertEquals(okReport("retire", { waitedS: 2.54 }).waited_s, 2.5);
  const users = [{ instance: "VI_1", address: "10.0.0.2", key_id: 1, seconds_since: 0.5 }];
  const f = failedReport("retire", { code: "timeout", message: "still used", users }, {
    waitedS: 15,
  });
  assertEquals(validate(rotateKeySchema(), f), []);
  assertEquals(validate(rotateKeySchema(), okReport("status", { instances: [VIEW] })), []);
  // The schema is strict: a member it does not know, or a bad exit code, is an error.
  assert(validate(rotateKeySchema(), { ...f, extra: 1 }).length > 0);
  assert(validate(rotateKeySchema(), { ...f, exit_code: 9 }).length > 0);
  assertEquals(f, {
    kad_rotate_key: 1,
    command: "retire",
    ok: false,
    exit_code: 7,
    waited_s: 15,
    warnings: [],
    error: { code: "timeout", message: "still used", users },
  });
});

Deno.test("rotate-key report: text for people", () => {
  const s = reportText(okReport("status", { instances: [VIEW], warnings: ["w1"] }));
  assertEquals(s.err, "kad rotate-key: warning: w1\n");
  assertEquals(
    s.out,
    [
      "VI_1: enforce, anti_replay time, window 5 s, active key 2",
      "  KEY  USE          SOURCE",
      "  1    verify-only  configuration",
      "  2    active       key state (/etc/kad/k2)",
      "  retired by the key state: 3",
      "  PEER      KEY  SINCE     LAST ADVERT",
      "  10.0.0.2  2    0.4 s     ok",
      "  10.0.0.3  1    40 s      auth_ext_unknown_key (key 3, 39 s ago), not heard within 5 s",
      "",
    ].join("\n"),
  );
  const quiet = reportText(okReport("status", { instances: [{ ...VIEW, peers: [] }] }));
  assertStringIncludes(quiet.out, "no peer heard (a MASTER hears none");
  assertEquals(
    reportText(okReport("status", { instances: [] })).out,
    "no VRRP instance uses auth_hmac\n",
  );
  const changed = reportText(
    okReport("retire", { changed: [{ instance: "VI_1", id: 1, action: "retired" }], waitedS: 3 }),
  );
  assertEquals(changed.out, "VI_1: key 1 retired (waited 3 s)\n");
  assertEquals(
    reportText(okReport("add", { changed: [{ instance: "VI_1", id: 2, action: "added" }] })).out,
    "VI_1: key 2 added; it verifies, and signs once activated ('kad rotate-key activate --id 2')\n",
  );
  const refused = reportText(
    failedReport("retire", {
      code: "in_use",
      message: "key 1 is still in use",
      users: [{ instance: "VI_1", address: "10.0.0.2", key_id: 1, seconds_since: 0.5 }],
    }),
  );
  assertEquals(refused.out, "");
  assertEquals(
    refused.err,
    "kad rotate-key: key 1 is still in use\n  VI_1: 10.0.0.2 signed with key 1 0.5 s ago\n",
  );
});

Deno.test("rotate-key report: the example in docs/rotate-key.md follows the schema", () => {
  const doc = Deno.readTextFileSync(new URL("../../docs/rotate-key.md", import.meta.url));
  const example = /## `--json`[\s\S]*?```json\n([\s\S]*?)```/.exec(doc)?.[1];
  assert(example !== undefined, "no JSON example under '## `--json`'");
  assertEquals(validate(rotateKeySchema(), JSON.parse(example)), []);
});
