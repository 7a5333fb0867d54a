/**
 * The auth_hmac key state (docs/rotate-key.md): what `kad rotate-key` changed on a running
 * node, kept so that a reload or a restart neither brings a retired key back nor forgets an
 * added or activated one (spec/vrrp.md §2.3.11 done at run time). One JSON document, per
 * instance: the keys added (by the path of their key file, never the key), the key made
 * active, and the ids retired. keepalived.conf is never edited; the daemon lays this
 * document over it at start and at every reload (lib/config/key_overlay.ts).
 *
 * Owns the document's model, its parsing and validation (every problem names the file and
 * the fix), its canonical text, and the pure operations `rotate-key` records. Reading and
 * writing the file is lib/runtime/key_state_file.ts's. Pure: no clock, no I/O.
 */
import { errorText } from "../runtime/error_text.ts";

/** The `kad_key_state` member: the version of this format. */
export const KEY_STATE_FORMAT = 1;

/** Where `kad run` keeps the key state unless `--key-state` says otherwise. */
export const DEFAULT_KEY_STATE_PATH = "/var/lib/kad/auth-keys.json";

/** The largest key state file read or written (255 instances with a few keys fit in 100 KiB). */
export const KEY_STATE_MAX_BYTES = 1024 * 1024;

/** The longest key file path recorded (PATH_MAX). */
const MAX_PATH = 4096;

/** Key ids on the wire are one byte, 0 unused (§2.3.2). */
const ID_MIN = 1;
const ID_MAX = 255;

/**
 * How an added key reached the daemon: `file` — the operator's key file, read again at
 * every start and reload; `stdin` — given on standard input, so kad wrote it to a key file
 * of its own next to the state file (deleted when the key is retired).
 */
export type AddedKeyOrigin = "file" | "stdin";

/** A key `rotate-key add` put in the ring. */
export interface AddedKey {
  readonly id: number;
  /** Absolute path of the key file (content as a config key file: text or `hex:`). */
  readonly keyFile: string;
  readonly origin: AddedKeyOrigin;
}

/** What the key state says about one instance. */
export interface InstanceKeyState {
  /** Keys added, in the order they were added; no id twice, none retired. */
  readonly added: readonly AddedKey[];
  /** The key `rotate-key activate` made the signing one; undefined: the configuration's. */
  readonly activeKey: number | undefined;
  /** Key ids retired, ascending; never the active key. */
  readonly retired: readonly number[];
}

/** The whole document: per instance name, in name order. */
export interface KeyState {
  readonly instances: ReadonlyMap<string, InstanceKeyState>;
}

/** The empty key state (no file, or nothing rotated). */
export const EMPTY_KEY_STATE: KeyState = Object.freeze({ instances: new Map() });

/** An instance entry that says nothing. */
export const EMPTY_INSTANCE_STATE: InstanceKeyState = Object.freeze({
  added: [],
  activeKey: undefined,
  retired: [],
});

/** A key state file that cannot be used; the message names the file, the problem and the fix. */
export class KeyStateError extends Error {
  override name = "KeyStateError";
}

/** What to do about an unusable key state file (said after every parse error). */
export function keyStateFix(path: string): string {
  return `repair '${path}' (docs/rotate-key.md describes it), restore it from a backup, or move it away to use the configuration's keys alone (keys retired with 'kad rotate-key' then come back)`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isId(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= ID_MIN && v <= ID_MAX;
}

/** Why `p` cannot be a recorded key file path, or undefined when it can. */
export function keyFilePathProblem(p: string): string | undefined {
  if (p === "") return "is empty";
  if (!p.startsWith("/")) return "is not an absolute path";
  if (p.length > MAX_PATH) return `is longer than ${MAX_PATH} characters`;
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(p)) return "contains control characters";
  return undefined;
}

const TOP_MEMBERS = new Set(["kad_key_state", "comment", "instances"]);
const INSTANCE_MEMBERS = new Set(["added", "active_key", "retired"]);
const ADDED_MEMBERS = new Set(["id", "key_file", "origin"]);

function unknownMembers(o: Record<string, unknown>, known: ReadonlySet<string>): string[] {
  return Object.keys(o).filter((k) => !known.has(k));
}

/**
 * Parses and checks a key state document. Throws a KeyStateError naming `path`, the
 * problem (with the instance and key id where there is one) and the fix.
 *
 * @example
 * ```ts
 * import { parseKeyState } from "./key_state.ts";
 * const s = parseKeyState(
 *   '{"kad_key_state":1,"instances":{"VI_1":{"active_key":2,"retired":[1],' +
 *     '"added":[{"id":2,"key_file":"/etc/kad/k2","origin":"file"}]}}}',
 *   "/var/lib/kad/auth-keys.json",
 * );
 * s.instances.get("VI_1")?.activeKey; // 2
 * ```
 */
export function parseKeyState(text: string, path: string): KeyState {
  const fail = (problem: string): never => {
    throw new KeyStateError(`key state file '${path}' ${problem}; ${keyStateFix(path)}`);
  };
  if (text.length > KEY_STATE_MAX_BYTES) {
    fail(`is too large (${text.length} bytes; at most ${KEY_STATE_MAX_BYTES})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    fail(`is not valid JSON (${errorText(e)})`);
  }
  if (!isObject(doc)) return fail("is not a JSON object");
  if (!Object.hasOwn(doc, "kad_key_state")) {
    return fail(`has no "kad_key_state" member: it is not a kad key state file`);
  }
  if (doc["kad_key_state"] !== KEY_STATE_FORMAT) {
    return fail(
      `is in format ${
        JSON.stringify(doc["kad_key_state"])
      }, which this kad does not read (it reads format ${KEY_STATE_FORMAT}; was it written by another kad version?)`,
    );
  }
  const extra = unknownMembers(doc, TOP_MEMBERS);
  if (extra.length > 0) fail(`has unknown member(s) ${extra.map((k) => `"${k}"`).join(", ")}`);
  const raw = doc["instances"] ?? {};
  if (!isObject(raw)) return fail(`"instances" is not an object of instance names`);
  const instances = new Map<string, InstanceKeyState>();
  for (const name of Object.keys(raw).sort()) {
    const at = `instance '${name}'`;
    if (name === "" || /\s/.test(name)) fail(`names an ${at} that is not a valid instance name`);
    const e = raw[name];
    if (!isObject(e)) return fail(`${at} is not an object`);
    const x = unknownMembers(e, INSTANCE_MEMBERS);
    if (x.length > 0) fail(`${at} has unknown member(s) ${x.map((k) => `"${k}"`).join(", ")}`);
    const addedRaw = e["added"] ?? [];
    if (!Array.isArray(addedRaw)) return fail(`${at} "added" is not a list`);
    const added: AddedKey[] = [];
    for (const a of addedRaw) {
      if (!isObject(a)) return fail(`${at} "added" holds an entry that is not an object`);
      const ax = unknownMembers(a, ADDED_MEMBERS);
      if (ax.length > 0) {
        fail(`${at} "added" entry has unknown member(s) ${ax.map((k) => `"${k}"`).join(", ")}`);
      }
      const id = a["id"];
      if (!isId(id)) {
        return fail(`${at} "added" entry has id ${JSON.stringify(id)}; key ids are 1 to 255`);
      }
      const file = a["key_file"];
      if (typeof file !== "string") return fail(`${at} added key ${id} has no "key_file" path`);
      const problem = keyFilePathProblem(file);
      if (problem !== undefined) fail(`${at} added key ${id} "key_file" ${problem}`);
      const origin = a["origin"] ?? "file";
      if (origin !== "file" && origin !== "stdin") {
        return fail(`${at} added key ${id} "origin" must be "file" or "stdin"`);
      }
      if (added.some((k) => k.id === id)) fail(`${at} adds key ${id} twice`);
      added.push({ id, keyFile: file, origin });
    }
    const active = e["active_key"] ?? undefined;
    if (active !== undefined && !isId(active)) {
      return fail(`${at} "active_key" is ${JSON.stringify(active)}; key ids are 1 to 255`);
    }
    const retiredRaw = e["retired"] ?? [];
    if (!Array.isArray(retiredRaw)) return fail(`${at} "retired" is not a list of key ids`);
    const retired: number[] = [];
    for (const id of retiredRaw) {
      if (!isId(id)) {
        return fail(`${at} "retired" holds ${JSON.stringify(id)}; key ids are 1 to 255`);
      }
      if (retired.includes(id)) fail(`${at} retires key ${id} twice`);
      if (added.some((k) => k.id === id)) fail(`${at} both adds and retires key ${id}`);
      retired.push(id);
    }
    if (active !== undefined && retired.includes(active)) {
      fail(`${at} retires key ${active}, its active key`);
    }
    retired.sort((a, b) => a - b);
    instances.set(name, { added, activeKey: active, retired });
  }
  return { instances };
}

/** Whether an instance entry says nothing (it is then left out of the document). */
export function isEmptyInstanceState(s: InstanceKeyState): boolean {
  return s.added.length === 0 && s.activeKey === undefined && s.retired.length === 0;
}

/**
 * The document's canonical text: instances in name order, members in a fixed order, two
 * spaces of indentation, a final newline. Entries that say nothing are left out.
 */
export function serializeKeyState(state: KeyState): string {
  const instances: Record<string, unknown> = {};
  for (const name of [...state.instances.keys()].sort()) {
    const s = state.instances.get(name) as InstanceKeyState;
    if (isEmptyInstanceState(s)) continue;
    const o: Record<string, unknown> = {};
    if (s.added.length > 0) {
      o["added"] = s.added.map((k) => ({ id: k.id, key_file: k.keyFile, origin: k.origin }));
    }
    if (s.activeKey !== undefined) o["active_key"] = s.activeKey;
    if (s.retired.length > 0) o["retired"] = [...s.retired].sort((a, b) => a - b);
    instances[name] = o;
  }
  return JSON.stringify(
    {
      kad_key_state: KEY_STATE_FORMAT,
      comment:
        "Written by 'kad rotate-key' (docs/rotate-key.md); laid over keepalived.conf at start and reload. Key files are referenced, not copied.",
      instances,
    },
    null,
    2,
  ) + "\n";
}

/** The entry of `name` (an empty one when the state says nothing about it). */
export function instanceState(state: KeyState, name: string): InstanceKeyState {
  return state.instances.get(name) ?? EMPTY_INSTANCE_STATE;
}

/** `state` with the entry of `name` replaced (removed when it says nothing). */
export function withInstance(state: KeyState, name: string, entry: InstanceKeyState): KeyState {
  const instances = new Map(state.instances);
  if (isEmptyInstanceState(entry)) instances.delete(name);
  else instances.set(name, entry);
  return { instances: new Map([...instances].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
}

/**
 * Records `rotate-key add`: the key is added (replacing an earlier added key of the same
 * id) and no longer retired.
 */
export function recordAdd(state: KeyState, name: string, key: AddedKey): KeyState {
  const s = instanceState(state, name);
  return withInstance(state, name, {
    added: [...s.added.filter((k) => k.id !== key.id), key],
    activeKey: s.activeKey,
    retired: s.retired.filter((id) => id !== key.id),
  });
}

/** Records `rotate-key activate`. */
export function recordActivate(state: KeyState, name: string, id: number): KeyState {
  const s = instanceState(state, name);
  return withInstance(state, name, { ...s, activeKey: id });
}

/**
 * Records `rotate-key retire`: an added key of that id is forgotten (it was the key
 * state's own), any other is remembered as retired. `fromConfig` says whether the
 * configuration defines the id (only then is there anything to keep retired).
 */
export function recordRetire(
  state: KeyState,
  name: string,
  id: number,
  fromConfig: boolean,
): KeyState {
  const s = instanceState(state, name);
  const retired = fromConfig && !s.retired.includes(id) ? [...s.retired, id] : s.retired;
  return withInstance(state, name, {
    added: s.added.filter((k) => k.id !== id),
    activeKey: s.activeKey,
    retired: [...retired].sort((a, b) => a - b),
  });
}
