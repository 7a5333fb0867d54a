/**
 * Laying the auth_hmac key state (lib/config/key_state.ts) over a checked configuration
 * (docs/rotate-key.md, spec/vrrp.md §2.3.10–2.3.11): what `kad run` does at start and at
 * every reload, what `kad check-config` reports, and what the daemon recomputes after each
 * `rotate-key` operation.
 *
 * The rules, per instance that has an `auth_hmac` block:
 * - keys = the configuration's keys minus the retired ids, then the added keys (as
 *   `file:` keys, in the order they were added);
 * - the active key = the key state's when it has one, else the configuration's;
 * - the result must have its active key among its keys, or the instance is a problem
 *   (kad run refuses to start, a reload keeps the running configuration).
 *
 * And the redundancy rules (`pruneKeyState`), applied first — the configuration catching
 * up with the key state makes its entries go away:
 * - an added key whose id the configuration now defines is dropped (the configuration's
 *   key is used: the operator wrote it after the key was added);
 * - a retired id the configuration no longer defines is dropped;
 * - an active key equal to the configuration's `active_key` is dropped.
 * Entries of instances the configuration does not have, or whose `auth_hmac` it does not
 * have, are kept and not applied (the instance may come back).
 *
 * Pure: the configuration is not modified (a copy with new auth_hmac blocks is returned)
 * and no file is read.
 */
import { DiagClass, type DiagnosticSink } from "./diagnostic.ts";
import type { KadConfig } from "./schema/root.ts";
import type { AuthHmac, HmacKey } from "./schema/vrrp_auth.ts";
import {
  type AddedKey,
  EMPTY_INSTANCE_STATE,
  type InstanceKeyState,
  isEmptyInstanceState,
  type KeyState,
} from "./key_state.ts";

/** Where a key of the running ring comes from. */
export type KeyOrigin =
  | { readonly from: "config" }
  | { readonly from: "key-state"; readonly key: AddedKey };

/** An entry `pruneKeyState` dropped, and why. */
export interface DroppedEntry {
  readonly instance: string;
  /** What was dropped, for the log ("added key 2 (file /etc/kad/k2)"). */
  readonly what: string;
  /** Why ("the configuration now defines key 2"). */
  readonly why: string;
  /** An added key that was dropped (kad deletes its own stdin key files). */
  readonly key?: AddedKey;
}

/** What the key state changed in one instance's auth_hmac. */
export interface AppliedEntry {
  readonly instance: string;
  /** Configuration keys left out. */
  readonly retired: readonly number[];
  /** Keys added from the key state. */
  readonly added: readonly AddedKey[];
  /** The active key when the key state chose it (with the configuration's), else undefined. */
  readonly active: { readonly id: number; readonly configured: number } | undefined;
}

/** An instance of the key state the configuration gives no auth_hmac to. */
export interface UnappliedEntry {
  readonly instance: string;
  readonly why: string;
}

/** The key state over a configuration. */
export interface KeyOverlay {
  /** The configuration with the key state applied (auth_hmac blocks replaced). */
  readonly config: KadConfig;
  /** The key state with its redundant entries dropped. */
  readonly state: KeyState;
  readonly dropped: readonly DroppedEntry[];
  /** Instances whose auth_hmac the key state changed. */
  readonly applied: readonly AppliedEntry[];
  readonly unapplied: readonly UnappliedEntry[];
  /** Per instance with auth_hmac: key id → where the key comes from. */
  readonly origins: ReadonlyMap<string, ReadonlyMap<number, KeyOrigin>>;
  /** What makes the result unusable (each names the instance, the key and the fix). */
  readonly problems: readonly string[];
}

type VrrpInstance = KadConfig["vrrp_instance"][number];

function describeAdded(k: AddedKey): string {
  return `added key ${k.id} (${k.origin === "stdin" ? "kad's key file" : "file"} ${k.keyFile})`;
}

/** The auth_hmac block of every configured instance that has one, by name. */
function authBlocks(config: Pick<KadConfig, "vrrp_instance">): Map<string, AuthHmac> {
  const out = new Map<string, AuthHmac>();
  for (const inst of config.vrrp_instance) {
    if (inst.auth_hmac !== undefined) out.set(inst.header, inst.auth_hmac);
  }
  return out;
}

/**
 * The key state without the entries the configuration has caught up with (the rules in
 * the module comment), and what was dropped.
 */
export function pruneKeyState(
  state: KeyState,
  config: Pick<KadConfig, "vrrp_instance">,
): { state: KeyState; dropped: DroppedEntry[] } {
  const blocks = authBlocks(config);
  const dropped: DroppedEntry[] = [];
  const instances = new Map<string, InstanceKeyState>();
  for (const [name, s] of state.instances) {
    const h = blocks.get(name);
    if (h === undefined) {
      instances.set(name, s);
      continue;
    }
    const defined = new Set(h.key.map((k) => k.id));
    const added = s.added.filter((k) => {
      if (!defined.has(k.id)) return true;
      const same = h.key.some((c) => c.id === k.id && c.source === "file" && c.value === k.keyFile);
      dropped.push({
        instance: name,
        what: describeAdded(k),
        why: same
          ? `the configuration now defines key ${k.id} from the same file`
          : `the configuration now defines key ${k.id}, and its key is used`,
        key: k,
      });
      return false;
    });
    const retired = s.retired.filter((id) => {
      if (defined.has(id)) return true;
      dropped.push({
        instance: name,
        what: `retired key ${id}`,
        why: `the configuration no longer defines key ${id}`,
      });
      return false;
    });
    let activeKey = s.activeKey;
    if (activeKey !== undefined && activeKey === h.active_key) {
      dropped.push({
        instance: name,
        what: `active key ${activeKey}`,
        why: `the configuration's active_key is ${activeKey} too`,
      });
      activeKey = undefined;
    }
    const next = { added, activeKey, retired };
    if (!isEmptyInstanceState(next)) instances.set(name, next);
  }
  return { state: { instances }, dropped };
}

/**
 * Prunes `state` against `config` and applies what is left. `stateFile` names the key
 * state in messages.
 *
 * @example
 * ```ts ignore
 * const o = overlayKeyState(config, state, "/var/lib/kad/auth-keys.json");
 * if (o.problems.length > 0) refuse(o.problems);
 * else run(o.config);
 * ```
 */
export function overlayKeyState(
  config: KadConfig,
  state: KeyState,
  stateFile: string,
): KeyOverlay {
  const pruned = pruneKeyState(state, config);
  const applied: AppliedEntry[] = [];
  const problems: string[] = [];
  const origins = new Map<string, Map<number, KeyOrigin>>();
  const names = new Set<string>();
  const instances = config.vrrp_instance.map((inst): VrrpInstance => {
    names.add(inst.header);
    const h = inst.auth_hmac;
    if (h === undefined) return inst;
    const s = pruned.state.instances.get(inst.header) ?? EMPTY_INSTANCE_STATE;
    const own = new Map<number, KeyOrigin>();
    origins.set(inst.header, own);
    const keys: HmacKey[] = [];
    for (const k of h.key) {
      if (s.retired.includes(k.id)) continue;
      keys.push(k);
      own.set(k.id, { from: "config" });
    }
    for (const k of s.added) {
      keys.push({ id: k.id, source: "file", value: k.keyFile });
      own.set(k.id, { from: "key-state", key: k });
    }
    if (isEmptyInstanceState(s)) return inst;
    const active = s.activeKey ?? h.active_key;
    const ids = keys.map((k) => k.id);
    const p = `vrrp_instance ${inst.header}: key state '${stateFile}'`;
    if (active === undefined || !ids.includes(active)) {
      problems.push(
        s.activeKey !== undefined
          ? `${p} makes key ${s.activeKey} active, but the instance has no key ${s.activeKey} (keys: ${
            ids.join(", ") || "none"
          }); add it with 'kad rotate-key add' or to the configuration, or remove the instance's "active_key" from the key state`
          : `${p} retires key ${h.active_key}, the configuration's active_key; set active_key to one of the keys (${
            ids.join(", ") || "none"
          }) in the configuration, or remove ${h.active_key} from the instance's "retired" list in the key state`,
      );
      return inst;
    }
    applied.push({
      instance: inst.header,
      retired: h.key.filter((k) => s.retired.includes(k.id)).map((k) => k.id),
      added: s.added,
      active: s.activeKey === undefined || h.active_key === undefined
        ? undefined
        : { id: s.activeKey, configured: h.active_key },
    });
    return { ...inst, auth_hmac: { ...h, key: keys, active_key: active } };
  });
  const unapplied: UnappliedEntry[] = [];
  for (const name of pruned.state.instances.keys()) {
    if (origins.has(name)) continue;
    unapplied.push({
      instance: name,
      why: names.has(name)
        ? "the configuration gives it no usable auth_hmac block"
        : "the configuration has no such vrrp_instance",
    });
  }
  return {
    config: { ...config, vrrp_instance: instances },
    state: pruned.state,
    dropped: pruned.dropped,
    applied,
    unapplied,
    origins,
    problems,
  };
}

/** One line per instance the key state changed, for the log and check-config. */
export function describeApplied(a: AppliedEntry): string {
  const parts: string[] = [];
  if (a.retired.length > 0) {
    parts.push(`key${a.retired.length > 1 ? "s" : ""} ${a.retired.join(", ")} retired`);
  }
  for (const k of a.added) parts.push(describeAdded(k));
  if (a.active !== undefined) {
    parts.push(`active key ${a.active.id} (the configuration says ${a.active.configured})`);
  }
  return `vrrp_instance ${a.instance}: ${parts.join("; ")}`;
}

/**
 * What `kad check-config` says about the key state over `config` (docs/rotate-key.md): a
 * notice at each auth_hmac block it changes, a notice for each entry the configuration has
 * caught up with (dropped at the next start or reload) and for each entry not applied, an
 * error for each problem (kad run would refuse to start).
 */
export function reportKeyOverlay(
  o: KeyOverlay,
  config: Pick<KadConfig, "vrrp_instance">,
  stateFile: string,
  sink: DiagnosticSink,
): void {
  const at = (name: string) => {
    const inst = config.vrrp_instance.find((i) => i.header === name);
    return inst?.auth_hmac?.$at ?? inst?.$at;
  };
  for (const a of o.applied) {
    sink.report(
      DiagClass.NOTICE,
      `${describeApplied(a)} (key state ${stateFile} overrides this block)`,
      at(a.instance),
      "auth_hmac",
    );
  }
  for (const d of o.dropped) {
    sink.report(
      DiagClass.NOTICE,
      `vrrp_instance ${d.instance}: key state ${stateFile}: ${d.what} is redundant (${d.why}); kad run drops it at the next start or reload`,
      at(d.instance),
      "auth_hmac",
    );
  }
  for (const u of o.unapplied) {
    sink.report(
      DiagClass.NOTICE,
      `key state ${stateFile} has entries for vrrp_instance ${u.instance}, not applied: ${u.why}`,
    );
  }
  for (const p of o.problems) {
    sink.report(DiagClass.GENERAL_ERROR, `${p}; kad run would refuse to start`);
  }
}
