/**
 * keepalived's real-time signals (spec/vrrp.md §6.2): JSON (SIGRTMIN+2, 36 with glibc) and
 * STATS_CLEAR (SIGRTMAX−1, 63), which `Deno.addSignalListener` refuses ("Invalid signal":
 * Deno 2.9 knows only the classic names). kad takes them from a signalfd on its reactor.
 *
 * A signalfd only sees a signal that no thread takes first, so the signals must be blocked
 * in every thread of the process. Deno starts its threads (V8 platform workers, tokio
 * workers) before any script runs, each with the mask it inherited, and a thread's mask can
 * only be changed by that thread. Measured on this machine (Deno 2.9.6): blocking them on
 * the main thread alone left five threads with an empty SigBlk in /proc/self/task/N/status,
 * and `kill -36` then ended the process (the default action). A process image started with
 * the signals already blocked passes the mask to every thread it creates, and execve(2)
 * keeps the caller's mask. So `kad run` blocks them on its main thread and re-executes
 * itself (same pid, arguments, environment and descriptors) before doing anything else;
 * afterwards every thread showed SigBlk 4000000800000000 and `kill -36`, `-63`, `-36`
 * arrived on the signalfd in order. Children started with Deno.Command get an empty mask
 * again (Rust's process spawning resets it). The re-exec costs one more Deno start-up
 * (about 50 ms).
 *
 * If the signals cannot be blocked everywhere (the re-exec failed), they are ignored
 * instead — they must never end the daemon — and kad says that the JSON and STATS_CLEAR
 * dumps are unavailable.
 */
import {
  close as closeFd,
  execve,
  ignoreSignals,
  readSignalfd,
  realtimeSignalRange,
  setSignalMask,
  SIG_BLOCK,
  SIG_UNBLOCK,
  signalfdCreate,
} from "../../ffi/libc.ts";
import type { Logger } from "./log.ts";
import type { Reactor } from "./reactor.ts";

/** The keepalived names (`--signum`) of the signals handled here. */
export type RealtimeSignalName = "JSON" | "STATS_CLEAR";

/** The signal numbers of JSON and STATS_CLEAR on this system. */
export function realtimeSignals(): Record<RealtimeSignalName, number> {
  const { min, max } = realtimeSignalRange();
  return { JSON: min + 2, STATS_CLEAR: max - 1 };
}

/** Set in the environment of the re-executed process, so it never re-executes twice. */
const REEXEC_MARK = "KAD_RT_SIGNALS_REEXEC";

/** The blocked-signal masks of every thread of this process (from /proc). */
function threadMasks(): bigint[] {
  const out: bigint[] = [];
  for (const t of Deno.readDirSync("/proc/self/task")) {
    try {
      const status = Deno.readTextFileSync(`/proc/self/task/${t.name}/status`);
      const m = /^SigBlk:\s*([0-9a-f]+)/m.exec(status);
      if (m !== null) out.push(BigInt(`0x${m[1]}`));
    } catch {
      // The thread ended while we looked: it no longer matters.
    }
  }
  return out;
}

/** Whether every thread blocks every one of `signals`. */
export function blockedEverywhere(signals: readonly number[]): boolean {
  const want = signals.reduce((m, s) => m | (1n << BigInt(s - 1)), 0n);
  return threadMasks().every((m) => (m & want) === want);
}

/** This process's arguments as the kernel holds them (what execve needs to start it again). */
function commandLine(): string[] {
  const raw = Deno.readFileSync("/proc/self/cmdline");
  const text = new TextDecoder().decode(raw);
  return text.split("\0").slice(0, -1);
}

/**
 * Makes sure JSON and STATS_CLEAR are blocked in every thread, re-executing the process
 * when they are not (this call then does not return). Call it first thing in `kad run`,
 * before anything is printed or opened. Returns undefined when the signals are blocked
 * everywhere, else why not (the daemon then ignores them and says so).
 */
export function blockRealtimeSignals(): string | undefined {
  const signals = Object.values(realtimeSignals());
  const again = Deno.env.get(REEXEC_MARK) !== undefined;
  if (again) Deno.env.delete(REEXEC_MARK);
  if (blockedEverywhere(signals)) return undefined;
  if (again) return "they are still not blocked in every thread after re-executing kad";
  try {
    setSignalMask(SIG_BLOCK, signals);
    const env = Object.entries({ ...Deno.env.toObject(), [REEXEC_MARK]: "1" })
      .map(([k, v]) => `${k}=${v}`);
    execve(Deno.execPath(), commandLine(), env);
  } catch (e) {
    setSignalMask(SIG_UNBLOCK, signals);
    return `kad could not re-execute itself with them blocked: ${
      e instanceof Error ? e.message : e
    }`;
  }
}

/**
 * JSON and STATS_CLEAR delivered on the reactor. `open` returns undefined (after ignoring
 * the signals, so they cannot end the process) when they are not blocked in every thread.
 */
export class RealtimeSignalSource {
  readonly #reactor: Reactor;
  readonly #fd: number;

  private constructor(reactor: Reactor, fd: number) {
    this.#reactor = reactor;
    this.#fd = fd;
  }

  static open(
    reactor: Reactor,
    handler: (signal: RealtimeSignalName) => void,
    log: Logger,
    problem?: string,
  ): RealtimeSignalSource | undefined {
    const numbers = realtimeSignals();
    const signals = Object.values(numbers);
    const why = problem ??
      (blockedEverywhere(signals) ? undefined : "they are not blocked in every thread");
    if (why !== undefined) {
      ignoreSignals(signals);
      log.warn(
        `kad run: the JSON (${numbers.JSON}) and STATS_CLEAR (${numbers.STATS_CLEAR}) signals are ignored: ${why}; use 'kad dump --json' and SIGUSR2 instead`,
      );
      return undefined;
    }
    const fd = signalfdCreate(signals);
    const byNumber = new Map<number, RealtimeSignalName>([
      [numbers.JSON, "JSON"],
      [numbers.STATS_CLEAR, "STATS_CLEAR"],
    ]);
    reactor.add(fd, () => {
      for (const n of readSignalfd(fd)) {
        const name = byNumber.get(n);
        if (name !== undefined) handler(name);
      }
    }, "real-time signals");
    return new RealtimeSignalSource(reactor, fd);
  }

  close(): void {
    this.#reactor.remove(this.#fd);
    closeFd(this.#fd);
  }
}
