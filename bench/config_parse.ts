/**
 * Benchmark: parse and validate a generated configuration of 1,000 virtual servers × 10
 * real servers plus 255 VRRP instances with `kad check-config`, and time `keepalived -t`
 * on the same file in the same run. Whole-process wall time (start-up included), median
 * and spread of N runs each, alternating the two tools so drift affects both equally.
 *
 * Usage: deno task bench [-- RUNS]      (prints a Markdown table row for bench/README.md)
 */
import { generateConfig } from "./gen_config.ts";

const runs = Number(Deno.args[0] ?? "15");
if (!Number.isInteger(runs) || runs < 1 || Deno.args.length > 1) {
  console.error("usage: deno run -A bench/config_parse.ts [RUNS]   (or: deno task bench [RUNS])");
  Deno.exit(2);
}
const root = new URL("..", import.meta.url).pathname;
const deno = Deno.execPath();
const dir = await Deno.makeTempDir({ prefix: "kad-bench-" });
const file = `${dir}/keepalived.conf`;
// Instances use eth0, which must exist (as keepalived -t checks interfaces too).
await Deno.writeTextFile(file, generateConfig(1000, 10, 255, "eth0"));
const lines = (await Deno.readTextFile(file)).split("\n").length;

async function timeRun(cmd: string, args: string[]): Promise<{ ms: number; code: number }> {
  const t0 = performance.now();
  const { code } = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
  return { ms: performance.now() - t0, code };
}

const kad: number[] = [];
const ka: number[] = [];
let kadCode = -1;
let kaCode = -1;
const kadArgs = [
  "run",
  "-A",
  "--config",
  `${root}deno.json`,
  `${root}main.ts`,
  "check-config",
  "-f",
  file,
];
for (let i = 0; i < runs; i++) {
  const a = await timeRun(deno, kadArgs);
  kad.push(a.ms);
  kadCode = a.code;
  const b = await timeRun("keepalived", ["-t", "-f", file]);
  ka.push(b.ms);
  kaCode = b.code;
}
await Deno.remove(dir, { recursive: true });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
const mk = median(kad);
const mka = median(ka);
console.log(
  `config: ${lines} lines; ${runs} runs each; exit status kad ${kadCode}, keepalived ${kaCode}`,
);
console.log("| tool | median ms | min–max ms |");
console.log("|---|---|---|");
console.log(`| kad check-config | ${mk.toFixed(1)} | ${spread(kad)} |`);
console.log(`| keepalived -t | ${mka.toFixed(1)} | ${spread(ka)} |`);
console.log(`ratio kad/keepalived: ${(mk / mka).toFixed(2)}`);
