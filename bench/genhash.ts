/**
 * genhash throughput: `kad genhash` against Debian's keepalived 2.2.7 `genhash` on the same
 * page, served from loopback in the same run (bench/README.md, "genhash").
 *
 *   deno run -A bench/genhash.ts [SIZE_MB [ROUNDS]]     (defaults: 100 MB, 7 rounds)
 *
 * The page is served by a child process (this file with `--serve`), so the measuring process
 * does nothing else. Each round runs both programs once, alternating which goes first; every
 * run is a fresh process (start-up included), and both must print the page's MD5. Reported:
 * the median wall time of the rounds, MB/s (1 MB = 10^6 bytes) and kad's time relative to
 * genhash's. Two more measurements explain the difference: kad's engine run in this process
 * (no start-up), and each program's start-up alone (a run against a closed port).
 */
import { createHash } from "node:crypto";
import { parseGenhashArgv, runGenhash } from "../commands/genhash.ts";

const SLICE = 1 << 20;

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/** Child: serve a page of SIZE pseudo-random bytes; print "PORT MD5", serve until killed. */
async function serve(size: number): Promise<void> {
  // xorshift32, so nothing compresses or repeats.
  const page = new Uint8Array(size);
  const words = new Uint32Array(page.buffer, 0, Math.floor(size / 4));
  let x = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  const md5 = createHash("md5").update(page).digest("hex");
  const header = new TextEncoder().encode(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log(`${(listener.addr as Deno.NetAddr).port} ${md5}`);
  for await (const conn of listener) {
    (async () => {
      try {
        const buf = new Uint8Array(4096);
        let got = "";
        while (!got.includes("\r\n\r\n")) {
          const n = await conn.read(buf);
          if (n === null) return;
          got += new TextDecoder().decode(buf.subarray(0, n));
        }
        await writeAll(conn, header);
        for (let at = 0; at < page.length; at += SLICE) {
          await writeAll(conn, page.subarray(at, at + SLICE));
        }
      } catch {
        // The client went away; nothing to serve.
      } finally {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
    })();
  }
}

if (Deno.args[0] === "--serve") {
  await serve(Number(Deno.args[1]));
  Deno.exit(0);
}

const sizeMb = Number(Deno.args[0] ?? 100);
const rounds = Number(Deno.args[1] ?? 7);
if (!(sizeMb > 0) || !(rounds > 0)) {
  console.error("usage: deno run -A bench/genhash.ts [SIZE_MB [ROUNDS]]");
  Deno.exit(1);
}
const size = Math.round(sizeMb * 1_000_000);
const kad = new URL("../kad", import.meta.url).pathname;
const debian = "/usr/bin/genhash";

const server = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL(import.meta.url).pathname, "--serve", String(size)],
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const firstLine = await (async () => {
  const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the page server exited");
    text += value;
  }
  reader.releaseLock();
  return text.split("\n")[0] as string;
})();
const [port, expected] = firstLine.split(" ") as [string, string];

async function timed(cmd: string, args: string[], want = expected): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const ms = performance.now() - t0;
  const text = new TextDecoder().decode(out.stdout).trim();
  if (text !== want) {
    const err = new TextDecoder().decode(out.stderr);
    throw new Error(`${cmd} printed '${text}' (exit ${out.code}), expected ${want}: ${err}`);
  }
  return ms;
}

/** kad's engine in this process: what a run costs without starting a process. */
async function inProcess(args: string[]): Promise<number> {
  const options = parseGenhashArgv(args);
  if (options === "help") throw new Error("unexpected help");
  let out = "";
  const t0 = performance.now();
  await runGenhash(options, { out: (t) => (out += t), err: (t) => (out += t) });
  const ms = performance.now() - t0;
  if (out.trim() !== expected) throw new Error(`in-process run printed '${out.trim()}'`);
  return ms;
}

const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const closedPort = String((closed.addr as Deno.NetAddr).port);
closed.close();
const refused = ["-s", "127.0.0.1", "-p", closedPort, "-u", "/", "-t", "60"];
const target = ["-s", "127.0.0.1", "-p", port, "-u", "/page", "-t", "60"];

const runs = { kad: [] as number[], genhash: [] as number[], engine: [] as number[] };
const startup = { kad: [] as number[], genhash: [] as number[] };
try {
  await timed(kad, ["genhash", ...target]); // warm-up: module cache, page cache
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? (["kad", "genhash"] as const) : (["genhash", "kad"] as const);
    for (const which of order) {
      runs[which].push(
        await timed(
          which === "kad" ? kad : debian,
          which === "kad" ? ["genhash", ...target] : target,
        ),
      );
    }
    runs.engine.push(await inProcess(target));
    startup.kad.push(await timed(kad, ["genhash", ...refused], "Connection failed"));
    startup.genhash.push(await timed(debian, refused, "Connection failed"));
  }
} finally {
  server.kill("SIGTERM");
  await server.status;
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const mbps = (ms: number) => (size / 1e6 / (ms / 1000)).toFixed(0);
const row = (name: string, v: number[]) =>
  `| ${name} | ${median(v).toFixed(0)} | ${mbps(median(v))} | ${
    v.map((t) => t.toFixed(0)).join(", ")
  } |`;
console.log(`page: ${sizeMb} MB, md5 ${expected}, ${rounds} rounds, medians`);
console.log("");
console.log("| run | wall ms | MB/s | rounds (ms) |");
console.log("| --- | --- | --- | --- |");
console.log(row("`kad genhash` (new process)", runs.kad));
console.log(row("Debian `genhash` 2.2.7 (new process)", runs.genhash));
console.log(row("kad's engine in-process (no start-up)", runs.engine));
console.log("");
const ratio = (a: number[], b: number[]) => (median(a) / median(b)).toFixed(2);
console.log(
  `kad / genhash wall time: ${ratio(runs.kad, runs.genhash)} (below 1.00: kad is faster)`,
);
console.log(`kad engine / genhash wall time: ${ratio(runs.engine, runs.genhash)}`);
console.log(
  `start-up alone (connection refused): kad ${median(startup.kad).toFixed(0)} ms, ` +
    `genhash ${median(startup.genhash).toFixed(0)} ms`,
);
