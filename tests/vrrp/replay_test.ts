/**
 * Conformance replays: each tests/vrrp/replay/*.jsonl file is an event log of one instance
 * with the actions the FSM must return, compared exactly (logs included).
 *
 * Line 1: `{"settings": {…}}` — overrides of defaultSettings() (`garp` merged by key).
 * Then either `{"comment": "…"}` or
 * `{"at": µs, "event": FsmEvent, "actions": FsmAction[], "state": "MASTER"}` where `state`
 * (optional) is the instance state after the event. Times never go backwards.
 */
import { assert, assertEquals } from "../_assert.ts";
import {
  type FsmAction,
  type FsmEvent,
  initialState,
  type InstanceSettings,
  step,
} from "../../lib/vrrp/fsm.ts";
import { defaultSettings } from "../../lib/vrrp/settings.ts";

const DIR = new URL("./replay/", import.meta.url);

interface Expect {
  at: number;
  event: FsmEvent;
  actions: FsmAction[];
  state?: string;
}

function settingsOf(line: unknown, file: string): InstanceSettings {
  assert(
    typeof line === "object" && line !== null && "settings" in line,
    `${file}: the first line must be {"settings": {…}}`,
  );
  const over = (line as { settings: Partial<InstanceSettings> }).settings;
  const d = defaultSettings();
  return { ...d, ...over, garp: { ...d.garp, ...over.garp } };
}

function replay(file: string, text: string): number {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const first = lines.shift();
  assert(first !== undefined, `${file} is empty`);
  let state = initialState(settingsOf(JSON.parse(first), file));
  let last = -Infinity;
  let steps = 0;
  lines.forEach((raw, i) => {
    const where = `${file}:${i + 2}`;
    const line = JSON.parse(raw) as Record<string, unknown>;
    if ("comment" in line) return;
    assert("at" in line && "event" in line && "actions" in line, `${where}: not an event line`);
    const e = line as unknown as Expect;
    assert(e.at >= last, `${where}: time goes backwards (${e.at} < ${last})`);
    last = e.at;
    const r = step(state, e.event, e.at);
    assertEquals(r.actions, e.actions, `${where}: actions differ`);
    if (e.state !== undefined) assertEquals(r.state.state, e.state, `${where}: state differs`);
    state = r.state;
    steps++;
  });
  return steps;
}

const files = [...Deno.readDirSync(DIR)]
  .filter((f) => f.isFile && f.name.endsWith(".jsonl"))
  .map((f) => f.name)
  .sort();

Deno.test("replay logs are present", () => {
  assert(files.length >= 4, `expected the replay logs in ${DIR.pathname}, found ${files.length}`);
});

for (const name of files) {
  Deno.test(`replay ${name}: every event gives exactly the recorded actions`, () => {
    const steps = replay(name, Deno.readTextFileSync(new URL(name, DIR)));
    assert(steps > 0, `${name} has no events`);
  });
}

Deno.test("replay detects a changed action", () => {
  const text = [
    `{"settings": {}}`,
    `{"at": 0, "event": {"type": "start", "uptimeUs": 0, "interfaceUp": true, "sourceAddress": "10.0.0.2"}, "actions": [{"type": "remove_vips"}]}`,
  ].join("\n");
  let failed = false;
  try {
    replay("inline", text);
  } catch {
    failed = true;
  }
  assert(failed, "a wrong action list must fail the replay");
});
