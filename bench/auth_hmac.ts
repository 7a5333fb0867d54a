/**
 * Benchmark: what advert authentication costs kad (spec/vrrp.md §2.2, §2.3).
 *
 * 1. Per advert, in this process, alternating in the same run: the HMAC-SHA256 of one
 *    auth_hmac HMAC input (72 bytes: an IPv6 advert with one VIP) with @noble/hashes — kad's
 *    driver of noble's SHA-256 compression with the key's inner/outer states precomputed
 *    (lib/vrrp/keyed_hmac.ts), noble's keyed `hmac.create` state cloned per MAC, and a
 *    one-shot `hmac()` — against `node:crypto` `createHmac` with the raw key and with a
 *    `KeyObject`; then kad's whole `AuthHmac.sign` and `AuthHmac.check` of one advert; the
 *    same for the IPsec AH ICV (HMAC-MD5 of a 64-byte datagram); and the sender's 64-bit
 *    sequence step as two 32-bit halves (lib/vrrp/serial64.ts) against BigInt.
 * 2. CPU of `kad run` with 255 MASTER instances at 0.1 s adverts (2,550 adverts a second),
 *    without and with `auth_hmac` (every advert signed): both daemons run at the same time,
 *    each in its own network namespace, and their CPU (utime + stime from /proc, as
 *    bench/vrrp_failover.ts measures it) is read over the same windows, so that other load on
 *    the machine hits both alike. SETTLE_S seconds after both have every VIP, WINDOWS windows
 *    of WINDOW_S seconds; ROUNDS rounds with fresh daemons, started in alternating order.
 *
 * Usage: deno run -A bench/auth_hmac.ts [ROUNDS [WINDOWS [WINDOW_S [SETTLE_S]]]]
 * (default 2, 4, 10 and 20; ROUNDS 0 runs the in-process part only, without root).
 * Prints Markdown for bench/README.md.
 */
import { createHmac, createSecretKey } from "node:crypto";
import { hmac } from "@noble/hashes/hmac.js";
import { md5 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { AuthHmac, hmacInputLength } from "../lib/vrrp/auth_hmac.ts";
import { KeyRing } from "../lib/vrrp/key_ring.ts";
import { KeyedHmac } from "../lib/vrrp/keyed_hmac.ts";
import { decodeAdvert } from "../lib/vrrp/packet.ts";
import { clockSerial, type Serial64, serialAfter, serialNext } from "../lib/vrrp/serial64.ts";
import { Lab, type SpawnedProcess, waitFor } from "../tests/harness/netns.ts";
import {
  Files,
  instanceConf,
  KAD,
  lan,
  type Router,
  TEST_GLOBALS,
} from "../tests/netns/_vrrp_lab.ts";
import { cpuTicks } from "./vrrp_failover.ts";

const rounds = Number(Deno.args[0] ?? "2");
const windows = Number(Deno.args[1] ?? "4");
const windowS = Number(Deno.args[2] ?? "10");
const settleS = Number(Deno.args[3] ?? "20");
if (!(rounds >= 0) || !(windows >= 1) || !(windowS >= 1) || !(settleS >= 0)) {
  console.error("usage: deno run -A bench/auth_hmac.ts [ROUNDS [WINDOWS [WINDOW_S [SETTLE_S]]]]");
  Deno.exit(2);
}

const KEY = new Uint8Array(32).map((_, i) => i);
const INPUT = new Uint8Array(hmacInputLength(24)).map((_, i) => (i * 37) & 0xff);
const DATAGRAM = new Uint8Array(64).map((_, i) => (i * 11) & 0xff);
const AH_KEY = new Uint8Array(8).fill(0x73);

/** µs per call of `fn`, the median of 7 batches of `n` calls after a warm-up batch. */
function perCall(fn: () => void, n: number): number {
  for (let i = 0; i < n; i++) fn();
  const xs: number[] = [];
  for (let b = 0; b < 7; b++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    xs.push(((performance.now() - t0) * 1000) / n);
  }
  xs.sort((a, b) => a - b);
  return xs[3]!;
}

// ---- the contenders ----

const out = new Uint8Array(32);
const noblePrecomputed = hmac.create(sha256, KEY);
let cloned = noblePrecomputed.clone();
const keyed = new KeyedHmac("sha256", KEY);
const keyObject = createSecretKey(KEY);
const keyedMd5 = new KeyedHmac("md5", AH_KEY);
const ahKeyObject = createSecretKey(AH_KEY);

/** kad's extension signing an IPv6 advert (24-byte message) and a receiver checking it. */
function extension(): { sign: () => void; check: () => void } {
  let clockUs = 0x68000000 * 1e6;
  const clock = { realtimeUs: () => (clockUs += 100_000), monotonicUs: () => 0 };
  const settings = {
    mode: "enforce",
    antiReplay: "monotonic",
    timeWindowS: 5,
    activeKey: 1,
    keyIds: [1],
  } as const;
  const identity = { family: 6, version: 3, vrid: 51, unicastPeers: [] } as const;
  const tx = new AuthHmac(settings, identity, KeyRing.from(new Map([[1, KEY]]), 1), clock);
  const rx = new AuthHmac(settings, identity, KeyRing.from(new Map([[1, KEY]]), 1), clock);
  const payload = new Uint8Array(24 + 28);
  payload.set([0x31, 0x33, 0xc8, 0x01, 0x00, 0x64, 0, 0, 0xfe, 0x80], 0);
  const source = new Uint8Array(16);
  source[0] = 0xfe;
  source[1] = 0x80;
  source[15] = 0x10;
  const sign = () => tx.sign(payload.subarray(0, 24), payload.subarray(24), source);
  sign();
  const d = decodeAdvert(
    { family: 6, payload, source, destination: source, hopLimit: 255 },
    { trailerLength: 28 },
  );
  if (!d.ok) throw new Error("the benchmark advert does not frame");
  // Verifying the same advert again is a replay after the HMAC: the full cost of a check.
  return { sign, check: () => rx.check(d.advert, 0) };
}

/** The sequence step of §2.3.6 on BigInt, for comparison with serial64.ts. */
function bigintStep(last: bigint, realtimeUs: number): bigint {
  const sec = BigInt(Math.floor(realtimeUs / 1e6)) & 0xffffffffn;
  const sub = BigInt(Math.floor(((realtimeUs % 1e6) * 65536) / 1e6));
  const clock = (sec << 32n) | (sub << 16n);
  return BigInt.asIntN(64, clock - last) > 0n ? clock : BigInt.asUintN(64, last + 1n);
}

function halvesStep(last: Serial64, realtimeUs: number): Serial64 {
  const clock = clockSerial(realtimeUs);
  return serialAfter(clock, last) ? clock : serialNext(last);
}

function inProcess(): string {
  const ext = extension();
  const rows: Array<[string, number]> = [];
  const N = 20_000;
  rows.push([
    "HMAC-SHA256, @noble/hashes compression, key states precomputed, no allocation (kad)",
    perCall(() => {
      keyed.macInto(INPUT, out);
    }, N),
  ]);
  rows.push([
    "HMAC-SHA256, @noble/hashes keyed `hmac.create` state cloned per MAC",
    perCall(() => {
      cloned = noblePrecomputed._cloneInto(cloned);
      cloned.update(INPUT);
      cloned.digestInto(out);
    }, N),
  ]);
  rows.push([
    "HMAC-SHA256, @noble/hashes one-shot `hmac()`",
    perCall(() => {
      hmac(sha256, KEY, INPUT);
    }, N),
  ]);
  rows.push([
    "HMAC-SHA256, node:crypto `createHmac` (raw key)",
    perCall(() => {
      createHmac("sha256", KEY).update(INPUT).digest();
    }, N),
  ]);
  rows.push([
    "HMAC-SHA256, node:crypto `createHmac` (KeyObject)",
    perCall(() => {
      createHmac("sha256", keyObject).update(INPUT).digest();
    }, N),
  ]);
  rows.push([
    "auth_hmac: `AuthHmac.sign` of one advert (sequence, input, HMAC)",
    perCall(
      ext.sign,
      N,
    ),
  ]);
  rows.push([
    "auth_hmac: `AuthHmac.check` of one advert (all steps, HMAC included)",
    perCall(
      ext.check,
      N,
    ),
  ]);
  rows.push([
    "IPsec AH ICV, @noble/hashes MD5, key states precomputed (kad)",
    perCall(() => {
      keyedMd5.macInto(DATAGRAM, out);
    }, N),
  ]);
  rows.push([
    "IPsec AH ICV, @noble/hashes `hmac(md5)` one-shot",
    perCall(() => {
      hmac(md5, AH_KEY, DATAGRAM);
    }, N),
  ]);
  rows.push([
    "IPsec AH ICV, node:crypto `createHmac('md5')` (raw key)",
    perCall(() => {
      createHmac("md5", AH_KEY).update(DATAGRAM).digest();
    }, N),
  ]);
  rows.push([
    "IPsec AH ICV, node:crypto `createHmac('md5')` (KeyObject)",
    perCall(() => {
      createHmac("md5", ahKeyObject).update(DATAGRAM).digest();
    }, N),
  ]);
  let halves: Serial64 = { hi: 0, lo: 0 };
  let big = 0n;
  let t = 1_744_830_464_000_000;
  rows.push([
    "sequence step, two 32-bit halves (kad)",
    perCall(() => {
      halves = halvesStep(halves, t += 7);
    }, 200_000),
  ]);
  rows.push([
    "sequence step, BigInt",
    perCall(() => {
      big = bigintStep(big, t += 7);
    }, 200_000),
  ]);
  if (halves.hi === 0 || big === 0n) throw new Error("the sequence steps were optimised away");
  let md = "| operation (one advert) | µs |\n| --- | --- |\n";
  for (const [what, us] of rows) md += `| ${what} | ${us.toFixed(2)} |\n`;
  return md;
}

/** 255 instances at 0.1 s, one VIP each, with `extra` in every block. */
function conf255(extra: string): string {
  let text = TEST_GLOBALS;
  for (let i = 1; i <= 255; i++) {
    const vip = i <= 254 ? `198.51.100.${i}/32` : `203.0.113.1/32`;
    text += instanceConf({
      name: `VI_${i}`,
      vrid: i,
      priority: 100,
      advertInt: 0.1,
      vips: [vip],
      extra,
    });
  }
  return text;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cpu(): Promise<string> {
  const key = [...KEY].map((b) => b.toString(16).padStart(2, "0")).join("");
  const auth = `  auth_hmac {\n    key 1 hex:${key}\n    active_key 1\n  }`;
  const plain: number[] = [];
  const signed: number[] = [];
  for (let r = 0; r < rounds; r++) {
    await using lab = await Lab.create("bench-hmac");
    await using files = await Files.create();
    // One LAN each: the two daemons use the same VRIDs.
    const [a] = (await lan(lab, { routers: 1 })).routers as [Router];
    const [b] = (await lan(lab, { routers: 1 })).routers as [Router];
    const order = r % 2 === 0 ? ["plain", "signed"] : ["signed", "plain"];
    const procs: Record<string, SpawnedProcess> = {};
    for (const which of order) {
      const router = which === "plain" ? a : b;
      const path = await files.write(`${which}.conf`, conf255(which === "plain" ? "" : auth));
      // Each daemon its own control socket (a second one on the same socket would not start).
      procs[which] = router.ns.spawn([
        KAD,
        "-f",
        path,
        "run",
        "--control-socket",
        files.path(`${which}.sock`),
      ]);
    }
    for (const router of [a, b]) {
      await waitFor(async () => (await router.ns.addresses("eth0")).length >= 256, 90_000, {
        what: `255 VIPs on ${router.ns.label}`,
        intervalMs: 200,
      });
    }
    await sleep(settleS * 1000);
    const p = procs.plain!;
    const s = procs.signed!;
    for (let w = 0; w < windows; w++) {
      const t0 = performance.now();
      const [p0, s0] = [await cpuTicks(p.pid), await cpuTicks(s.pid)];
      await sleep(windowS * 1000);
      const [p1, s1] = [await cpuTicks(p.pid), await cpuTicks(s.pid)];
      const elapsed = (performance.now() - t0) / 1000;
      plain.push((p1 - p0) / elapsed);
      signed.push((s1 - s0) / elapsed);
      console.error(
        `round ${r + 1} window ${w + 1}: plain ${plain.at(-1)!.toFixed(1)} %, signed ${
          signed.at(-1)!.toFixed(1)
        } % CPU`,
      );
    }
    await p.kill();
    await s.kill();
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const ratios = plain.map((x, i) => signed[i]! / x);
  const pm = median(plain);
  const sm = median(signed);
  return `| kad run, 255 instances at 0.1 s, all MASTER (${rounds} × ${windows} windows of ${windowS} s, ${settleS} s after start) | CPU % |
| --- | --- |
| without auth_hmac | ${pm.toFixed(1)} (${Math.min(...plain).toFixed(1)}–${
    Math.max(...plain).toFixed(1)
  }) |
| with auth_hmac, every advert signed | ${sm.toFixed(1)} (${Math.min(...signed).toFixed(1)}–${
    Math.max(...signed).toFixed(1)
  }) |

Overhead of auth_hmac (median of the per-window ratios): ${
    ((median(ratios) - 1) * 100).toFixed(0)
  } % (target: at most 20 %)
`;
}

console.log(`\nPer advert (median of 7 batches):\n\n${inProcess()}`);
if (rounds > 0) console.log(`\n${await cpu()}`);
