/**
 * The daemon's side of `kad rotate-key` (docs/rotate-key.md, spec/vrrp.md §2.3.11): add,
 * activate and retire auth_hmac keys of running instances in place — the instance's key
 * ring changes, nothing else: no instance restart, no FSM event, replay marks and
 * `send_seq` kept; the next advert is signed with whatever key is then active — and keep
 * the key state file in step, so that a reload or restart gives the same keys.
 *
 * Every operation checks all its instances first, writes the key state, and only then
 * changes the rings: all or nothing, and never a running key the key state does not
 * record. It also owns what the daemon does with the key state at start and reload
 * (`loaded`): log what was applied, drop what the configuration caught up with.
 *
 * Refusals are CommandErrors (lib/control/commands.ts) with a `reason` the client maps to
 * its exit status; their messages name the instance, the key id and the fix, never a key.
 */
import { errorText } from "./error_text.ts";
import { CommandError } from "../control/commands.ts";
import { keyFileModeWarning, readKeyFile } from "../config/hmac_keys.ts";
import {
  describeApplied,
  type KeyOrigin,
  type KeyOverlay,
  overlayKeyState,
} from "../config/key_overlay.ts";
import {
  type AddedKey,
  EMPTY_KEY_STATE,
  instanceState,
  keyFilePathProblem,
  type KeyState,
  recordActivate,
  recordAdd,
  recordRetire,
} from "../config/key_state.ts";
import type { KadConfig } from "../config/schema/root.ts";
import { decodeHexKey, HMAC_KEY_MAX, HMAC_KEY_MIN } from "../config/schema/vrrp_auth.ts";
import { type ConfigFs, denoFs } from "../config/source.ts";
import type { AuthHmacSettings } from "../vrrp/auth_hmac.ts";
import { authHmacSettings, type Instance } from "../vrrp/instance.ts";
import {
  type InstanceFacts,
  type InstanceView,
  instanceView,
  keyUserViews,
  recentWindowUs,
} from "../vrrp/rotation.ts";
import type { ChangeView } from "../vrrp/rotation_report.ts";
import { removeOwnKey, storeOwnKey, writeKeyState } from "./key_state_file.ts";
import type { Logger } from "./log.ts";

/** What the rotation needs of the VRRP engine (lib/vrrp/engine.ts). */
export interface RotationEngine {
  readonly instances: readonly Instance[];
  instance(name: string): Instance | undefined;
  keysRotated(name: string, settings: AuthHmacSettings): void;
  /** The monotonic clock the instances record observations on, µs. */
  nowUs(): number;
}

/** Which instances a command is about: one by name, all with auth_hmac, or the only one. */
export interface Selection {
  readonly instance?: string | undefined;
  readonly all?: boolean | undefined;
}

/** The key of `rotate-key add`: a key file the daemon reads, or the bytes as hex digits. */
export type NewKey = { readonly file: string } | { readonly hex: string };

/** What an operation did. */
export interface RotationResult {
  readonly changed: ChangeView[];
  readonly warnings: string[];
  /** The instances concerned, as they are now. */
  readonly instances: InstanceView[];
}

/** A refusal, with the `reason` member `kad rotate-key` maps to its exit status. */
function refused(reason: string, message: string, details: Record<string, unknown> = {}): never {
  throw new CommandError("refused", message, { reason, ...details });
}

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > 255) {
    throw new CommandError(
      "invalid_argument",
      `key id ${id} is out of range; key ids are 1 to 255`,
    );
  }
}

function list(ids: readonly number[]): string {
  return ids.length === 0 ? "none" : ids.join(", ");
}

/** Decodes the hex digits of a key sent by the client; a CommandError when unusable. */
function keyFromHex(hex: string): Uint8Array {
  const bytes = /^[0-9a-fA-F]*$/.test(hex) && hex.length % 2 === 0 ? decodeHexKey(hex) : undefined;
  if (bytes === undefined) {
    throw new CommandError(
      "invalid_argument",
      `"key_hex" must be an even number of hex digits (the key bytes)`,
    );
  }
  if (bytes.length < HMAC_KEY_MIN || bytes.length > HMAC_KEY_MAX) {
    const n = bytes.length;
    bytes.fill(0);
    refused(
      "key_length",
      `the key is ${n} bytes long; keys must be ${HMAC_KEY_MIN} to ${HMAC_KEY_MAX} bytes`,
    );
  }
  return bytes;
}

/**
 * The key rotation of one daemon.
 *
 * @example
 * ```ts ignore
 * const rotation = new KeyRotation({ statePath, log, engine: () => engine });
 * rotation.loaded(checked.baseConfig, checked.keyOverlay);   // at start and every reload
 * rotation.add({ instance: "VI_1" }, 2, { file: "/etc/kad/vi1-key2" });
 * ```
 */
export class KeyRotation {
  readonly statePath: string;
  readonly #log: Logger;
  readonly #engine: () => RotationEngine | undefined;
  readonly #fs: ConfigFs;
  readonly #onChange: (config: KadConfig) => void;
  #base: KadConfig | undefined;
  #state: KeyState = EMPTY_KEY_STATE;
  #origins: ReadonlyMap<string, ReadonlyMap<number, KeyOrigin>> = new Map();

  constructor(o: {
    statePath: string;
    log: Logger;
    engine: () => RotationEngine | undefined;
    fs?: ConfigFs;
    /** Called with the configuration with the key state applied, after each operation. */
    onChange?: (config: KadConfig) => void;
  }) {
    this.statePath = o.statePath;
    this.#log = o.log;
    this.#engine = o.engine;
    this.#fs = o.fs ?? denoFs;
    this.#onChange = o.onChange ?? (() => {});
  }

  /** The key state in force. */
  get state(): KeyState {
    return this.#state;
  }

  /**
   * The engine runs `overlay.config`, made from the configuration `base` and the key state
   * (at start, or after a reload was applied): log what the key state changed, and write it
   * back without the entries the configuration caught up with (deleting kad's own key files
   * of dropped keys).
   */
  loaded(base: KadConfig, overlay: KeyOverlay): void {
    this.#base = base;
    this.#origins = overlay.origins;
    const p = `kad run: key state ${this.statePath}`;
    for (const a of overlay.applied) this.#log.info(`${p}: ${describeApplied(a)}`);
    for (const u of overlay.unapplied) {
      this.#log.warn(`${p}: entries for vrrp_instance ${u.instance} not applied: ${u.why}`);
    }
    this.#state = overlay.state;
    if (overlay.dropped.length === 0) return;
    for (const d of overlay.dropped) {
      this.#log.info(`${p}: vrrp_instance ${d.instance}: dropping ${d.what}: ${d.why}`);
    }
    try {
      writeKeyState(this.statePath, overlay.state);
    } catch (e) {
      this.#log.warn(
        `${p}: ${
          e instanceof Error ? e.message : e
        }; the redundant entries stay in the file (they are dropped again at the next reload)`,
      );
      return;
    }
    for (const d of overlay.dropped) {
      if (d.key?.origin === "stdin") this.#removeOwn(d.key);
    }
  }

  /** The status of the selected instances (all with auth_hmac when none is named). */
  status(sel: Selection): InstanceView[] {
    const engine = this.#running();
    const targets = sel.instance === undefined ? this.#withAuth(engine) : this.#select(sel);
    const now = engine.nowUs();
    return targets.map((i) => instanceView(this.#facts(i), now));
  }

  /** `rotate-key add`: key `id` verifies (does not sign) on every selected instance. */
  add(sel: Selection, id: number, key: NewKey): RotationResult {
    checkId(id);
    const targets = this.#select(sel);
    for (const inst of targets) {
      const ring = this.#ring(inst);
      if (ring.has(id)) {
        refused(
          "id_in_use",
          `${inst.name} already has key ${id} (keys: ${
            list(ring.keyIds())
          }); pick another id, or retire key ${id} first`,
        );
      }
      if (this.#configDefines(inst.name, id)) {
        refused(
          "id_in_config",
          `keepalived.conf defines key ${id} of ${inst.name}, which the key state retires; pick another id, or remove key ${id} from keepalived.conf and reload first`,
        );
      }
    }
    const warnings: string[] = [];
    let bytes: Uint8Array;
    if ("file" in key) {
      const problem = keyFilePathProblem(key.file);
      if (problem !== undefined) {
        throw new CommandError("invalid_argument", `key file path '${key.file}' ${problem}`);
      }
      const r = readKeyFile(key.file, this.#fs);
      if ("problem" in r) refused("key_file", `key file '${key.file}' ${r.problem}`);
      const w = keyFileModeWarning(key.file, r.mode);
      if (w !== undefined) warnings.push(`key file '${key.file}' ${w}`);
      bytes = r.bytes;
    } else bytes = keyFromHex(key.hex);
    const stored: AddedKey[] = [];
    try {
      let state = this.#state;
      for (const inst of targets) {
        let added: AddedKey;
        if ("file" in key) added = { id, keyFile: key.file, origin: "file" };
        else {
          try {
            added = {
              id,
              keyFile: storeOwnKey(this.statePath, inst.name, id, bytes),
              origin: "stdin",
            };
          } catch (e) {
            refused("key_store", errorText(e));
          }
          stored.push(added);
        }
        state = recordAdd(state, inst.name, added);
      }
      this.#persist(state);
      stored.length = 0;
      for (const inst of targets) this.#ring(inst).add(id, bytes);
      const changed = this.#sync(targets, id, "added");
      for (const inst of targets) {
        const file = instanceState(this.#state, inst.name).added.find((k) => k.id === id);
        this.#log.info(
          `kad run: rotate-key: (${inst.name}) key ${id} added, verify-only (key file ${file?.keyFile})`,
        );
      }
      return { changed, warnings, instances: this.#views(targets) };
    } finally {
      bytes.fill(0);
      for (const k of stored) this.#removeOwn(k);
    }
  }

  /** `rotate-key activate`: key `id` signs every selected instance's next advert. */
  activate(sel: Selection, id: number): RotationResult {
    checkId(id);
    const targets = this.#select(sel);
    for (const inst of targets) {
      const ring = this.#ring(inst);
      if (!ring.has(id)) {
        refused(
          "no_such_key",
          `${inst.name} has no key ${id} (keys: ${
            list(ring.keyIds())
          }); add it first with 'kad rotate-key add --id ${id}'`,
        );
      }
    }
    let state = this.#state;
    for (const inst of targets) state = recordActivate(state, inst.name, id);
    this.#persist(state);
    for (const inst of targets) this.#ring(inst).activate(id);
    const changed = this.#sync(targets, id, "activated");
    for (const inst of targets) {
      this.#log.info(`kad run: rotate-key: (${inst.name}) key ${id} active: it signs from now on`);
    }
    return { changed, warnings: [], instances: this.#views(targets) };
  }

  /**
   * `rotate-key retire`: key `id` is removed and wiped on every selected instance. Refused
   * for the active key, and while a sender heard within the window still signs with it
   * (reason `in_use`, with the senders and `window_s`).
   */
  retire(sel: Selection, id: number): RotationResult {
    checkId(id);
    const engine = this.#running();
    const targets = this.#select(sel);
    const now = engine.nowUs();
    for (const inst of targets) {
      const ring = this.#ring(inst);
      if (!ring.has(id)) {
        refused("no_such_key", `${inst.name} has no key ${id} (keys: ${list(ring.keyIds())})`);
      }
      if (ring.activeKey === id) {
        refused(
          "active_key",
          `key ${id} is ${inst.name}'s active (signing) key; activate another key first ('kad rotate-key activate --id N')`,
        );
      }
    }
    const facts = targets.map((i) => this.#facts(i));
    const users = facts.flatMap((f) => keyUserViews(f, id, now));
    const windowS = Math.max(...facts.map((f) => recentWindowUs(f) / 1e6));
    if (users.length > 0) {
      const who = [...new Set(users.map((u) => u.address))].join(", ");
      refused(
        "in_use",
        `key ${id} is still in use: ${who} signed with it within the last ${windowS} s; activate another key on ${
          users.length === 1 ? "that node" : "those nodes"
        } first, then retry (or use --wait)`,
        { users, window_s: windowS },
      );
    }
    let state = this.#state;
    const own: AddedKey[] = [];
    for (const inst of targets) {
      const added = instanceState(state, inst.name).added.find((k) => k.id === id);
      if (added?.origin === "stdin") own.push(added);
      state = recordRetire(state, inst.name, id, this.#configDefines(inst.name, id));
    }
    this.#persist(state);
    for (const inst of targets) this.#ring(inst).retire(id);
    const changed = this.#sync(targets, id, "retired");
    for (const k of own) this.#removeOwn(k);
    for (const inst of targets) {
      this.#log.info(`kad run: rotate-key: (${inst.name}) key ${id} retired and wiped`);
    }
    return { changed, warnings: [], instances: this.#views(targets) };
  }

  // ---- internals ----

  #running(): RotationEngine {
    const engine = this.#engine();
    if (engine === undefined || this.#base === undefined) {
      throw new CommandError("refused", "the daemon is still starting; retry in a moment", {
        reason: "starting",
      });
    }
    return engine;
  }

  #withAuth(engine: RotationEngine): Instance[] {
    return engine.instances.filter((i) => i.authHmac !== undefined);
  }

  /** The instances `sel` names (see docs/rotate-key.md, `--instance` and `--all`). */
  #select(sel: Selection): Instance[] {
    const engine = this.#running();
    const auth = this.#withAuth(engine);
    const names = auth.map((i) => i.name);
    const which = `the instances with auth_hmac are: ${names.join(", ") || "none"}`;
    if (sel.instance !== undefined && sel.all === true) {
      throw new CommandError(
        "invalid_argument",
        "give either an instance or all, not both",
      );
    }
    if (sel.instance !== undefined) {
      const inst = engine.instance(sel.instance);
      if (inst === undefined) {
        throw new CommandError("not_found", `no vrrp_instance '${sel.instance}' runs; ${which}`, {
          instances: names,
        });
      }
      if (inst.authHmac === undefined) {
        refused("no_auth_hmac", `vrrp_instance ${sel.instance} has no auth_hmac; ${which}`, {
          instances: names,
        });
      }
      return [inst];
    }
    if (auth.length === 0) {
      refused("no_auth_hmac", "no running vrrp_instance uses auth_hmac", { instances: [] });
    }
    if (sel.all === true || auth.length === 1) return auth;
    throw new CommandError(
      "invalid_argument",
      `${auth.length} instances use auth_hmac (${
        names.join(", ")
      }); name one with --instance NAME, or use --all`,
      { reason: "instance_required", instances: names },
    );
  }

  #ring(inst: Instance) {
    const h = inst.authHmac;
    if (h === undefined) throw new Error(`(${inst.name}) has no auth_hmac`);
    return h.ring;
  }

  #configDefines(name: string, id: number): boolean {
    const inst = this.#base?.vrrp_instance.find((i) => i.header === name);
    return inst?.auth_hmac?.key.some((k) => k.id === id) ?? false;
  }

  #facts(inst: Instance): InstanceFacts {
    const h = inst.authHmac;
    if (h === undefined) throw new Error(`(${inst.name}) has no auth_hmac`);
    const addedFiles = new Map<number, string>();
    for (const [id, o] of this.#origins.get(inst.name) ?? []) {
      if (o.from === "key-state") addedFiles.set(id, o.key.keyFile);
    }
    return {
      name: inst.name,
      mode: h.settings.mode,
      antiReplay: h.settings.antiReplay,
      timeWindowS: h.settings.timeWindowS,
      advertIntUs: inst.spec.settings.advertIntUs,
      activeKey: h.ring.activeKey,
      keyIds: h.ring.keyIds(),
      addedFiles,
      retired: instanceState(this.#state, inst.name).retired,
      peers: h.peers(),
    };
  }

  #views(targets: readonly Instance[]): InstanceView[] {
    const now = this.#running().nowUs();
    return targets.map((i) => instanceView(this.#facts(i), now));
  }

  /** Writes `state` (pruned against the configuration) and makes it the one in force. */
  #persist(state: KeyState): void {
    const base = this.#base as KadConfig;
    const overlay = overlayKeyState(base, state, this.statePath);
    try {
      writeKeyState(this.statePath, overlay.state);
    } catch (e) {
      refused("state_write", `${e instanceof Error ? e.message : e}; nothing was changed`);
    }
    this.#state = overlay.state;
    this.#origins = overlay.origins;
  }

  /**
   * Records in each target's description what its ring now holds (the configuration with
   * the key state applied), and tells the daemon the configuration changed.
   */
  #sync(targets: readonly Instance[], id: number, action: ChangeView["action"]): ChangeView[] {
    const engine = this.#running();
    const overlay = overlayKeyState(this.#base as KadConfig, this.#state, this.statePath);
    for (const inst of targets) {
      const block = overlay.config.vrrp_instance.find((i) => i.header === inst.name)?.auth_hmac;
      const settings = authHmacSettings(block);
      if (settings === undefined) throw new Error(`(${inst.name}) lost its auth_hmac block`);
      engine.keysRotated(inst.name, settings);
    }
    this.#onChange(overlay.config);
    return targets.map((i) => ({ instance: i.name, id, action }));
  }

  #removeOwn(k: AddedKey): void {
    try {
      removeOwnKey(this.statePath, k.keyFile);
    } catch (e) {
      this.#log.warn(
        `kad run: kad's key file '${k.keyFile}' cannot be deleted: ${
          e instanceof Error ? e.message : e
        }; delete it by hand`,
      );
    }
  }
}
