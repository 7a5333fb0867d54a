/**
 * Effective priority, the one place it is computed (spec/vrrp.md §3.9): base priority plus
 * tracker contributions, clamped to 1–254; the address owner (255) never changes except
 * for the rogue-owner demotion to 254; a failed weight-0 tracker (or a track_file value
 * at or below −254) means FAULT. Trackers arrive as plain data (their name, weight,
 * `reverse` flag and current status or value); running scripts, reading files or watching
 * interfaces is not done here.
 */

/** Priority of the address owner (§1.1). */
export const OWNER_PRIORITY = 255;
/** Highest priority a non-owner can reach, and the demoted owner's priority (§3.9). */
export const MAX_NON_OWNER_PRIORITY = 254;
/** Lowest effective priority (0 only means "resigning" on the wire). */
export const MIN_PRIORITY = 1;

/**
 * The current input of one tracker (§3.9):
 * - `status`: track_interface, track_script / vrrp_script, track_process, track_bfd —
 *   `up` is "interface up / script OK / process quorum met / BFD up";
 * - `value`: track_file — the integer read from the file.
 *
 * `weight` and `reverse` are the effective ones (the entry's own, else the object's).
 */
export type TrackerInput =
  | { kind: "status"; name: string; weight: number; reverse: boolean; up: boolean }
  | { kind: "value"; name: string; weight: number; reverse: boolean; value: number };

/** What one tracker does to the instance: a priority change, or FAULT. */
export interface TrackerEffect {
  delta: number;
  fault: boolean;
}

/** The priorities of an instance (§3.9). */
export interface Priority {
  /** Base priority plus every tracker contribution, unclamped (`total_priority`). */
  total: number;
  /** What is advertised and compared: 1–254, or 255 for the (undemoted) owner. */
  effective: number;
  /** Names of the trackers putting the instance in FAULT, in input order. */
  faultedBy: string[];
}

/** Contribution of a track_file value (§3.9), clamped to [−254, 253]. */
const FILE_MIN = -254;
const FILE_MAX = 253;

/**
 * The effect of one tracker (§3.9 table).
 *
 * @example
 * ```ts
 * trackerEffect({ kind: "status", name: "chk", weight: -20, reverse: false, up: false });
 * // { delta: -20, fault: false }
 * ```
 */
export function trackerEffect(t: TrackerInput): TrackerEffect {
  if (t.kind === "value") {
    if (t.weight === 0) return { delta: 0, fault: (t.value !== 0) !== t.reverse };
    const v = t.value * t.weight * (t.reverse ? -1 : 1);
    const delta = Math.min(FILE_MAX, Math.max(FILE_MIN, v));
    return delta <= FILE_MIN ? { delta: 0, fault: true } : { delta, fault: false };
  }
  // `reverse` swaps which status counts as "good": the weight sign then decides.
  const good = t.up !== t.reverse;
  if (t.weight === 0) return { delta: 0, fault: !good };
  const sign = t.reverse ? -1 : 1;
  if (t.weight > 0) return { delta: t.up ? sign * t.weight : 0, fault: false };
  return { delta: t.up ? 0 : sign * t.weight, fault: false };
}

/**
 * Effective priority from the base priority and the trackers (§3.9). For the owner
 * (base 255) weighted trackers are ignored and the result is 255, or 254 while
 * `ownerDemoted` (rogue-owner handling); weight-0 faults apply to every instance.
 *
 * @example
 * ```ts
 * computePriority(100, [{ kind: "status", name: "eth1", weight: 30, reverse: false, up: true }]);
 * // { total: 130, effective: 130, faultedBy: [] }
 * ```
 */
export function computePriority(
  base: number,
  trackers: readonly TrackerInput[],
  ownerDemoted = false,
): Priority {
  let sum = 0;
  const faultedBy: string[] = [];
  for (const t of trackers) {
    const e = trackerEffect(t);
    if (e.fault) faultedBy.push(t.name);
    sum += e.delta;
  }
  if (base === OWNER_PRIORITY) {
    const p = ownerDemoted ? MAX_NON_OWNER_PRIORITY : OWNER_PRIORITY;
    return { total: p, effective: p, faultedBy };
  }
  const total = base + sum;
  const effective = Math.min(MAX_NON_OWNER_PRIORITY, Math.max(MIN_PRIORITY, total));
  return { total, effective, faultedBy };
}

/** The priority P used for Skew_Time (§3.2): 255 for an owner even when demoted. */
export function skewPriority(base: number, effective: number): number {
  return base === OWNER_PRIORITY ? OWNER_PRIORITY : effective;
}
