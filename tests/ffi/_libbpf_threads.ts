/**
 * Uses libbpf from several threads of one process at once, the way `deno test --parallel`
 * does: the main thread starts WORKERS Workers, and each runs `kad gre-attach --selftest`'s
 * code ROUNDS times (open, load, BPF_PROG_TEST_RUN and close both programs) plus a load the
 * verifier refuses (the path that reads the kernel's log). Exits 0 when every round of
 * every worker passed; a crash shows as a signal exit. Run by tests/ffi/libbpf_test.ts.
 *
 * Usage: deno run -A tests/ffi/_libbpf_threads.ts <refused-object.o> [WORKERS [ROUNDS]]
 */
import { greAttach } from "../../commands/gre_attach.ts";
import { BpfObject, LibbpfError } from "../../ffi/libbpf.ts";
import type { Logger } from "../../lib/runtime/log.ts";

const quiet: Logger = { detail: () => {}, info: () => {}, warn: () => {}, error: () => {} };

interface Job {
  readonly refused: string;
  readonly rounds: number;
}

/** One worker's rounds; returns what went wrong, or "" when nothing did. */
function work(job: Job): string {
  const refused = Deno.readFileSync(job.refused);
  for (let i = 0; i < job.rounds; i++) {
    const code = greAttach({
      mode: "auto",
      replace: false,
      detach: false,
      status: false,
      selftest: true,
      json: true,
      force: false,
      modeGiven: false,
      log: quiet,
      out: () => {},
    });
    if (code !== 0) return `round ${i}: the self-test exited ${code}`;
    const obj = BpfObject.openMem(refused);
    try {
      obj.load();
      return `round ${i}: the kernel loaded a program it must refuse`;
    } catch (e) {
      if (!(e instanceof LibbpfError) || e.kernelLog.length === 0) {
        return `round ${i}: no kernel log with the refusal: ${e}`;
      }
    } finally {
      obj.close();
    }
  }
  return "";
}

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;
if (typeof scope.WorkerGlobalScope !== "undefined") {
  scope.onmessage = (ev: MessageEvent<Job>) => scope.postMessage(work(ev.data));
} else {
  const [refused, workers = "3", rounds = "20"] = Deno.args;
  if (refused === undefined) {
    console.error("usage: _libbpf_threads.ts <refused-object.o> [WORKERS [ROUNDS]]");
    Deno.exit(2);
  }
  const results = await Promise.all(
    Array.from({ length: Number(workers) }, () =>
      new Promise<string>((resolve) => {
        const w = new Worker(import.meta.url, { type: "module" });
        w.onmessage = (ev: MessageEvent<string>) => {
          w.terminate();
          resolve(ev.data);
        };
        w.onerror = (ev) => {
          ev.preventDefault();
          w.terminate();
          resolve(`worker failed: ${ev.message}`);
        };
        w.postMessage({ refused, rounds: Number(rounds) } satisfies Job);
      })),
  );
  const problems = results.filter((r) => r !== "");
  for (const p of problems) console.error(p);
  Deno.exit(problems.length === 0 ? 0 : 1);
}
