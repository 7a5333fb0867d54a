import { assertEquals } from "../_assert.ts";
import {
  formatUs,
  lateWakeSilenceUs,
  lateWakeThresholdUs,
  masterDownIntervalUs,
  minimumSkewUs,
  normaliseAdvertIntUs,
  skewUs,
  startupDelayUs,
} from "../../lib/vrrp/timers.ts";

Deno.test("v3 master-down interval for priority 200 at 1 s is 3 218 750 µs (the dump example)", () => {
  assertEquals(masterDownIntervalUs(3, 200, 1_000_000, 3), 3_218_750);
});

Deno.test("v2 skew is (256 - P)/256 s whatever the advert interval", () => {
  assertEquals(skewUs(2, 100, 1_000_000), 609_375);
  assertEquals(skewUs(2, 100, 5_000_000), 609_375);
  assertEquals(skewUs(2, 255, 1_000_000), 3_906);
  assertEquals(skewUs(2, 1, 1_000_000), 996_093);
});

Deno.test("v3 skew scales with the master's interval in centiseconds", () => {
  assertEquals(skewUs(3, 100, 1_000_000), 609_375);
  assertEquals(skewUs(3, 100, 2_000_000), 1_218_750);
  // 0.05 s = 5 cs: (256 − 150) × 5 × 625 / 16 = 20 703.125 → 20 703
  assertEquals(skewUs(3, 150, 50_000), 20_703);
  // Sub-centisecond parts of the interval do not count.
  assertEquals(skewUs(3, 150, 59_999), 20_703);
});

Deno.test("master-down interval uses down_timer_adverts instead of the RFC's fixed 3", () => {
  assertEquals(masterDownIntervalUs(2, 100, 1_000_000, 3), 3_609_375);
  assertEquals(masterDownIntervalUs(2, 100, 1_000_000, 1), 1_609_375);
  assertEquals(masterDownIntervalUs(3, 100, 2_000_000, 10), 21_218_750);
});

Deno.test("minimum skew takes (256 - P) as 1", () => {
  assertEquals(minimumSkewUs(2, 1_000_000), 3_906);
  assertEquals(minimumSkewUs(3, 4_000_000), 15_625);
});

Deno.test("v2 advert interval rounds to whole seconds within 1 to 255 s", () => {
  assertEquals(normaliseAdvertIntUs(2, 1_400_000), 1_000_000);
  assertEquals(normaliseAdvertIntUs(2, 1_500_000), 2_000_000);
  assertEquals(normaliseAdvertIntUs(2, 10_000), 1_000_000);
  assertEquals(normaliseAdvertIntUs(2, 256_000_000), 255_000_000);
});

Deno.test("v3 advert interval rounds to centiseconds within 0.01 to 40.95 s", () => {
  assertEquals(normaliseAdvertIntUs(3, 1_234_567), 1_230_000);
  assertEquals(normaliseAdvertIntUs(3, 1_000), 10_000);
  assertEquals(normaliseAdvertIntUs(3, 40_960_000), 40_950_000);
  assertEquals(normaliseAdvertIntUs(3, 255_000_000), 40_950_000);
});

Deno.test("timer_expired_backup thresholds are 2 and 3 advert intervals plus skew(P)", () => {
  assertEquals(lateWakeThresholdUs(2, 1_000_000, 254), 2_007_812);
  assertEquals(lateWakeSilenceUs(2, 1_000_000, 254), 3_007_812);
  assertEquals(lateWakeThresholdUs(3, 2_000_000, 200), 4_437_500);
  assertEquals(lateWakeSilenceUs(3, 2_000_000, 200), 6_437_500);
});

Deno.test("start-up delay is the larger of vrrp_startup_delay and the time left until delay_after_boot", () => {
  assertEquals(startupDelayUs(0, 0, 100_000_000), 0);
  assertEquals(startupDelayUs(5_000_000, 0, 100_000_000), 5_000_000);
  assertEquals(startupDelayUs(5_000_000, 60_000_000, 50_000_000), 10_000_000);
  assertEquals(startupDelayUs(5_000_000, 60_000_000, 58_000_000), 5_000_000);
  assertEquals(startupDelayUs(0, 60_000_000, 90_000_000), 0);
});

Deno.test("durations print as seconds without trailing zeros", () => {
  assertEquals(formatUs(3_218_750), "3.21875");
  assertEquals(formatUs(5_000_000), "5");
  assertEquals(formatUs(609_375), "0.609375");
  assertEquals(formatUs(-1_500_000), "-1.5");
});
