/**
 * The VRRP time formulas in one place (spec/vrrp.md §1.9, §3.2, §3.14, §3.15, §8): the
 * advertisement interval in each version's wire unit, Skew_Time, Master_Down_Interval, the
 * late-wake-up thresholds of `timer_expired_backup` and the start-up delay. Every time is
 * an integer number of microseconds, as keepalived keeps them. Pure arithmetic: it must
 * not read clocks, arm timers or know about instance state (lib/vrrp/fsm.ts does).
 */

/** Microseconds per second (keepalived's `TIMER_HZ`). */
export const US_PER_S = 1_000_000;
/** Microseconds per centisecond (keepalived's `TIMER_CENTI_HZ`), the VRRPv3 wire unit. */
export const US_PER_CS = 10_000;

/** VRRP version: 2 (RFC 3768) or 3 (RFC 5798). */
export type VrrpVersion = 2 | 3;

/** Largest VRRPv2 interval: an 8-bit count of seconds (§1.9). */
export const V2_MAX_ADVERT_S = 255;
/** Largest VRRPv3 interval: a 12-bit count of centiseconds, 40.95 s (§1.9). */
export const V3_MAX_ADVERT_CS = 4095;

/**
 * The advertisement interval a version can carry, from a configured one (§1.9): VRRPv2
 * rounds to the nearest whole second within 1–255 s, VRRPv3 to the nearest centisecond
 * within 0.01–40.95 s. (Converting to and from the wire field is lib/vrrp/packet.ts's.)
 *
 * @example
 * ```ts
 * normaliseAdvertIntUs(2, 1_400_000); // 1_000_000
 * normaliseAdvertIntUs(3, 41_000_000); // 40_950_000
 * ```
 */
export function normaliseAdvertIntUs(version: VrrpVersion, us: number): number {
  const unit = version === 2 ? US_PER_S : US_PER_CS;
  const max = version === 2 ? V2_MAX_ADVERT_S : V3_MAX_ADVERT_CS;
  return Math.min(max, Math.max(1, Math.round(us / unit))) * unit;
}

/**
 * Skew_Time (§3.2, §8). `priority` is the skew priority P (255 for an address owner,
 * else the effective priority); `masterAdverIntUs` the interval learnt from the master
 * (VRRPv3) — VRRPv2 skew is `(256 − P)/256` s whatever the interval.
 *
 * @example
 * ```ts
 * skewUs(2, 100, 1_000_000); // 609_375
 * skewUs(3, 200, 1_000_000); // 218_750
 * ```
 */
export function skewUs(version: VrrpVersion, priority: number, masterAdverIntUs: number): number {
  const n = 256 - priority;
  if (version === 2) return Math.floor((n * US_PER_S) / 256);
  return Math.floor((n * Math.floor(masterAdverIntUs / US_PER_CS) * 625) / 16);
}

/** The "minimum skew" of sync-group start-up (§3.2): Skew_Time with (256 − P) taken as 1. */
export function minimumSkewUs(version: VrrpVersion, masterAdverIntUs: number): number {
  return skewUs(version, 255, masterAdverIntUs);
}

/**
 * Master_Down_Interval = `down_timer_adverts` × master interval + Skew_Time (§3.2, §8).
 *
 * @example
 * ```ts
 * masterDownIntervalUs(3, 200, 1_000_000, 3); // 3_218_750
 * ```
 */
export function masterDownIntervalUs(
  version: VrrpVersion,
  priority: number,
  masterAdverIntUs: number,
  downTimerAdverts: number,
): number {
  return downTimerAdverts * masterAdverIntUs + skewUs(version, priority, masterAdverIntUs);
}

/**
 * How late the event loop must wake for `timer_expired_backup P` to act (§3.14):
 * 2 × advert_int + Skew(P), with the local interval. The daemon takes the smallest value
 * over the instances that set the option.
 */
export function lateWakeThresholdUs(
  version: VrrpVersion,
  advertIntUs: number,
  otherPriority: number,
): number {
  return 2 * advertIntUs + skewUs(version, otherPriority, advertIntUs);
}

/**
 * After a late wake-up, a master with `timer_expired_backup P` steps down when its last
 * advert is older than 3 × advert_int + Skew(P) (§3.14).
 */
export function lateWakeSilenceUs(
  version: VrrpVersion,
  advertIntUs: number,
  otherPriority: number,
): number {
  return 3 * advertIntUs + skewUs(version, otherPriority, advertIntUs);
}

/**
 * The start-up delay still to run (§3.15): the larger of `vrrp_startup_delay` and what
 * remains until `vrrp_delay_after_boot` after boot (none once uptime exceeds it).
 *
 * @example
 * ```ts
 * startupDelayUs(5_000_000, 60_000_000, 50_000_000); // 10_000_000
 * ```
 */
export function startupDelayUs(
  startupDelay: number,
  delayAfterBoot: number,
  uptimeUs: number,
): number {
  return Math.max(0, startupDelay, delayAfterBoot - uptimeUs);
}

/** A µs duration as seconds for log lines: "3.21875", "1". */
export function formatUs(us: number): string {
  const sign = us < 0 ? "-" : "";
  const a = Math.abs(us);
  const s = Math.floor(a / US_PER_S);
  const f = a % US_PER_S;
  if (f === 0) return `${sign}${s}`;
  return `${sign}${s}.${String(f).padStart(6, "0").replace(/0+$/, "")}`;
}
