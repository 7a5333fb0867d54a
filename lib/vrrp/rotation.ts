/**
 * What `kad rotate-key` reports and decides about one instance's auth_hmac keys
 * (docs/rotate-key.md, spec/vrrp.md §2.3.11–2.3.12): the keys (active, verify-only, from
 * the configuration or the key state) and every sender seen with the key id it last signed
 * with; and the one safety rule keepalived does not have — a key is not retired while a
 * sender seen recently still signs with it.
 *
 * "Recently" is the instance's freshness window (`time_window`, §2.3.2; with `anti_replay
 * monotonic` the default max(3 × advert_int, 5) s), but never less than three advert
 * intervals, so that a live master (which sends every advert_int) cannot look gone.
 *
 * Pure: observations and clock readings come in, JSON-ready views come out. No key
 * material is ever part of them.
 */

/** The `kad_rotate_key` member of every `--json` document of `kad rotate-key`. */
export const ROTATE_KEY_JSON_VERSION = 1;

/** What the instance's auth_hmac recorded about one sender (lib/vrrp/auth_hmac.ts). */
export interface ObservedSender {
  readonly address: string;
  /** Key id of its last advert that verified; undefined when none has. */
  readonly keyId: number | undefined;
  /** When that advert arrived (monotonic µs). */
  readonly verifiedAtUs: number | undefined;
  /** How its last advert fared ("ok", "unsigned" or the counter name of the rejection). */
  readonly lastOutcome: string;
  /** Key id its last advert carried; undefined without a trailer. */
  readonly lastKeyId: number | undefined;
  /** When its last advert arrived (monotonic µs). */
  readonly lastAtUs: number;
}

/** The settings the window is computed from. */
export interface WindowSettings {
  readonly antiReplay: "time" | "monotonic";
  /** `time_window`, whole seconds. */
  readonly timeWindowS: number;
  /** The instance's advert interval, µs. */
  readonly advertIntUs: number;
}

/**
 * How long a sender counts as still signing with the key it last used, µs (see the module
 * comment).
 */
export function recentWindowUs(s: WindowSettings): number {
  const windowS = s.antiReplay === "time"
    ? s.timeWindowS
    : Math.min(Math.max(3 * Math.floor(s.advertIntUs / 1e6), 5), 300);
  return Math.max(windowS * 1e6, 3 * s.advertIntUs);
}

/** Whether `p` was heard signing with `keyId` within `windowUs` before `nowUs`. */
export function signsWith(
  p: ObservedSender,
  keyId: number,
  nowUs: number,
  windowUs: number,
): boolean {
  const verified = p.keyId === keyId && p.verifiedAtUs !== undefined &&
    nowUs - p.verifiedAtUs <= windowUs;
  // A recent advert carrying the id that failed (a stale or replayed one) still says the
  // sender uses that key.
  const tried = p.lastKeyId === keyId && nowUs - p.lastAtUs <= windowUs;
  return verified || tried;
}

/** The senders still signing with `keyId` (see `signsWith`). */
export function keyUsers(
  peers: readonly ObservedSender[],
  keyId: number,
  nowUs: number,
  windowUs: number,
): ObservedSender[] {
  return peers.filter((p) => signsWith(p, keyId, nowUs, windowUs));
}

/** One key of an instance, as `status` shows it. */
export interface KeyView {
  readonly id: number;
  /** It signs the instance's adverts. */
  readonly active: boolean;
  /** It only verifies (every key but the active one). */
  readonly verify_only: boolean;
  /** `config`: keepalived.conf; `key-state`: added by `rotate-key add`. */
  readonly source: "config" | "key-state";
  /** The key file of a key-state key (a path, never the key); null for config keys. */
  readonly key_file: string | null;
}

/** One sender, as `status` shows it. */
export interface PeerView {
  readonly address: string;
  /** Key id of its last advert that verified; null when none has. */
  readonly key_id: number | null;
  /** Seconds since that advert (one decimal); null when none has verified. */
  readonly seconds_since: number | null;
  /** How its last advert fared: ok, unsigned, or the rejection (auth_ext_* counter name). */
  readonly last_outcome: string;
  /** Key id its last advert carried; null when it had no trailer. */
  readonly last_key_id: number | null;
  /** Seconds since its last advert. */
  readonly last_seconds_since: number;
  /** Heard within the window (it counts for `retire`). */
  readonly recent: boolean;
}

/** One instance, as `status` shows it. */
export interface InstanceView {
  readonly instance: string;
  readonly mode: "enforce" | "permissive" | "receive-only";
  readonly anti_replay: "time" | "monotonic";
  /** The window `retire` looks back over, seconds. */
  readonly window_s: number;
  readonly active_key: number | null;
  /** Ascending by id. */
  readonly keys: readonly KeyView[];
  /** Configuration keys the key state retires (they stay retired over reload and restart). */
  readonly retired: readonly number[];
  /** Every sender seen, most recent first. */
  readonly peers: readonly PeerView[];
}

/** Everything `instanceView` is built from. */
export interface InstanceFacts extends WindowSettings {
  readonly name: string;
  readonly mode: "enforce" | "permissive" | "receive-only";
  readonly activeKey: number | undefined;
  readonly keyIds: readonly number[];
  /** Key id → key file, for keys the key state added; the others are the configuration's. */
  readonly addedFiles: ReadonlyMap<number, string>;
  readonly retired: readonly number[];
  readonly peers: readonly ObservedSender[];
}

function seconds(us: number): number {
  return Math.round(Math.max(us, 0) / 1e5) / 10;
}

/** The status of one instance at `nowUs` (monotonic µs). */
export function instanceView(f: InstanceFacts, nowUs: number): InstanceView {
  const windowUs = recentWindowUs(f);
  const keys: KeyView[] = [...f.keyIds].sort((a, b) => a - b).map((id) => {
    const file = f.addedFiles.get(id);
    return {
      id,
      active: id === f.activeKey,
      verify_only: id !== f.activeKey,
      source: file === undefined ? "config" : "key-state",
      key_file: file ?? null,
    };
  });
  const peers: PeerView[] = [...f.peers].sort((a, b) => b.lastAtUs - a.lastAtUs).map((p) => ({
    address: p.address,
    key_id: p.keyId ?? null,
    seconds_since: p.verifiedAtUs === undefined ? null : seconds(nowUs - p.verifiedAtUs),
    last_outcome: p.lastOutcome,
    last_key_id: p.lastKeyId ?? null,
    last_seconds_since: seconds(nowUs - p.lastAtUs),
    recent: nowUs - p.lastAtUs <= windowUs,
  }));
  return {
    instance: f.name,
    mode: f.mode,
    anti_replay: f.antiReplay,
    window_s: windowUs / 1e6,
    active_key: f.activeKey ?? null,
    keys,
    retired: [...f.retired].sort((a, b) => a - b),
    peers,
  };
}

/** A sender that keeps a key from being retired, as the refusal reports it. */
export interface KeyUserView {
  readonly instance: string;
  readonly address: string;
  readonly key_id: number;
  /** Seconds since it last signed with the key. */
  readonly seconds_since: number;
}

/** The senders of `f` that keep `keyId` from being retired, for the refusal. */
export function keyUserViews(f: InstanceFacts, keyId: number, nowUs: number): KeyUserView[] {
  const windowUs = recentWindowUs(f);
  return keyUsers(f.peers, keyId, nowUs, windowUs).map((p) => {
    const at = p.keyId === keyId && p.verifiedAtUs !== undefined
      ? Math.max(p.verifiedAtUs, p.lastKeyId === keyId ? p.lastAtUs : 0)
      : p.lastAtUs;
    return {
      instance: f.name,
      address: p.address,
      key_id: keyId,
      seconds_since: seconds(nowUs - at),
    };
  });
}
