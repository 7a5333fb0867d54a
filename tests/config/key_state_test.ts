import { assert, assertEquals, assertStringIncludes, assertThrows } from "../_assert.ts";
import {
  EMPTY_KEY_STATE,
  KEY_STATE_MAX_BYTES,
  type KeyState,
  KeyStateError,
  parseKeyState,
  recordActivate,
  recordAdd,
  recordRetire,
  serializeKeyState,
} from "../../lib/config/key_state.ts";

const PATH = "/var/lib/kad/auth-keys.json";

function parseError(text: string): string {
  const e = assertThrows(() => parseKeyState(text, PATH), KeyStateError);
  // Every error names the file and says how to get out of it.
  assertStringIncludes(e.message, `key state file '${PATH}'`);
  assertStringIncludes(e.message, "move it away to use the configuration's keys alone");
  return e.message;
}

function sample(): KeyState {
  let s = EMPTY_KEY_STATE;
  s = recordAdd(s, "VI_2", { id: 7, keyFile: "/etc/kad/vi2-7.key", origin: "file" });
  s = recordAdd(s, "VI_1", {
    id: 2,
    keyFile: "/var/lib/kad/auth-keys.d/VI_1.2.key",
    origin: "stdin",
  });
  s = recordActivate(s, "VI_1", 2);
  s = recordRetire(s, "VI_1", 1, true);
  return s;
}

Deno.test("key state: the canonical text parses back to the same state", () => {
  const s = sample();
  const text = serializeKeyState(s);
  assertEquals(parseKeyState(text, PATH), s);
  // Instances in name order, members in a fixed order: the text is stable.
  assertEquals(serializeKeyState(parseKeyState(text, PATH)), text);
  assert(text.indexOf('"VI_1"') < text.indexOf('"VI_2"'));
  const doc = JSON.parse(text);
  assertEquals(doc.kad_key_state, 1);
  assertEquals(doc.instances.VI_1, {
    added: [{ id: 2, key_file: "/var/lib/kad/auth-keys.d/VI_1.2.key", origin: "stdin" }],
    active_key: 2,
    retired: [1],
  });
  assertEquals(doc.instances.VI_2, {
    added: [{ id: 7, key_file: "/etc/kad/vi2-7.key", origin: "file" }],
  });
  // Nothing recorded: an empty document that parses to the empty state.
  assertEquals(parseKeyState(serializeKeyState(EMPTY_KEY_STATE), PATH), EMPTY_KEY_STATE);
});

Deno.test("key state: recorded operations follow make-before-break", () => {
  let s = sample();
  // Re-adding a retired id un-retires it; adding an id again replaces its file.
  s = recordAdd(s, "VI_1", { id: 1, keyFile: "/etc/kad/new-1", origin: "file" });
  assertEquals(s.instances.get("VI_1")?.retired, []);
  assertEquals(s.instances.get("VI_1")?.added.map((k) => k.id), [2, 1]);
  s = recordAdd(s, "VI_1", { id: 1, keyFile: "/etc/kad/newer-1", origin: "file" });
  assertEquals(s.instances.get("VI_1")?.added.map((k) => k.keyFile), [
    "/var/lib/kad/auth-keys.d/VI_1.2.key",
    "/etc/kad/newer-1",
  ]);
  // Retiring an added key forgets it; retiring a configured one remembers the id.
  s = recordRetire(s, "VI_1", 1, false);
  assertEquals(s.instances.get("VI_1")?.added.map((k) => k.id), [2]);
  assertEquals(s.instances.get("VI_1")?.retired, []);
  s = recordRetire(s, "VI_1", 5, true);
  s = recordRetire(s, "VI_1", 3, true);
  assertEquals(s.instances.get("VI_1")?.retired, [3, 5]);
  // An instance whose entry says nothing leaves the document.
  s = recordRetire(s, "VI_2", 7, false);
  assertEquals(s.instances.has("VI_2"), false);
  assertEquals(JSON.parse(serializeKeyState(s)).instances.VI_2, undefined);
});

Deno.test("key state: corrupt, foreign, wrong-version and oversized files are refused clearly", () => {
  assertStringIncludes(parseError("{not json"), "is not valid JSON");
  assertStringIncludes(parseError(""), "is not valid JSON");
  assertStringIncludes(parseError("[1,2]"), "is not a JSON object");
  assertStringIncludes(parseError('{"instances":{}}'), 'no "kad_key_state" member');
  assertStringIncludes(
    parseError('{"kad_key_state":2,"instances":{}}'),
    "is in format 2, which this kad does not read (it reads format 1",
  );
  assertStringIncludes(
    parseError(" ".repeat(KEY_STATE_MAX_BYTES + 1)),
    `is too large (${KEY_STATE_MAX_BYTES + 1} bytes`,
  );
  assertStringIncludes(parseError('{"kad_key_state":1,"extra":1}'), 'unknown member(s) "extra"');
  assertStringIncludes(parseError('{"kad_key_state":1,"instances":[]}'), '"instances" is not');
});

Deno.test("key state: entries are checked and each problem names the instance and key", () => {
  const doc = (inst: unknown) => JSON.stringify({ kad_key_state: 1, instances: { VI_1: inst } });
  const cases: Array<[unknown, string]> = [
    [[], "instance 'VI_1' is not an object"],
    [{ added: {} }, `instance 'VI_1' "added" is not a list`],
    [{ added: [{ id: 0, key_file: "/k" }] }, '"added" entry has id 0; key ids are 1 to 255'],
    [{ added: [{ id: 2 }] }, 'added key 2 has no "key_file" path'],
    [{ added: [{ id: 2, key_file: "k2" }] }, 'added key 2 "key_file" is not an absolute path'],
    [{ added: [{ id: 2, key_file: "/k\n" }] }, "contains control characters"],
    [{ added: [{ id: 2, key_file: "/k", origin: "net" }] }, '"origin" must be "file" or "stdin"'],
    [{ added: [{ id: 2, key_file: "/k", secret: "x" }] }, 'unknown member(s) "secret"'],
    [{ added: [{ id: 2, key_file: "/a" }, { id: 2, key_file: "/b" }] }, "adds key 2 twice"],
    [{ active_key: 256 }, '"active_key" is 256; key ids are 1 to 255'],
    [{ active_key: "2" }, '"active_key" is "2"'],
    [{ retired: 1 }, '"retired" is not a list of key ids'],
    [{ retired: [1, 1] }, "retires key 1 twice"],
    [{ retired: [1.5] }, '"retired" holds 1.5'],
    [{ retired: [2], added: [{ id: 2, key_file: "/k" }] }, "both adds and retires key 2"],
    [{ retired: [2], active_key: 2 }, "retires key 2, its active key"],
    [{ keys: [] }, `instance 'VI_1' has unknown member(s) "keys"`],
  ];
  for (const [inst, part] of cases) assertStringIncludes(parseError(doc(inst)), part);
  assertStringIncludes(
    parseError('{"kad_key_state":1,"instances":{"a b":{}}}'),
    "instance 'a b' that is not a valid instance name",
  );
  // Defaults: a missing origin is a file, missing lists are empty.
  const s = parseKeyState(doc({ added: [{ id: 9, key_file: "/k9" }] }), PATH);
  assertEquals(s.instances.get("VI_1"), {
    added: [{ id: 9, keyFile: "/k9", origin: "file" }],
    activeKey: undefined,
    retired: [],
  });
});

Deno.test("key state: the example in docs/rotate-key.md is a valid key state", () => {
  const doc = Deno.readTextFileSync(new URL("../../docs/rotate-key.md", import.meta.url));
  const example = /## Persistence[\s\S]*?```json\n([\s\S]*?)```/.exec(doc)?.[1];
  assert(example !== undefined, "no JSON example under '## Persistence'");
  const s = parseKeyState(example, PATH);
  assertEquals(s.instances.get("VI_1"), {
    added: [{ id: 2, keyFile: "/etc/kad/vi1-key2", origin: "file" }],
    activeKey: 2,
    retired: [1],
  });
  // It is what kad writes for that state, member for member.
  assertEquals(JSON.parse(serializeKeyState(s)), JSON.parse(example));
});
