/**
 * `kad dump`: the live state of a running `kad run`, read through its control socket
 * (docs/dump.md, docs/control-protocol.md): a table and per-instance details, `--json`
 * (docs/dump-schema.json), `--stats` (keepalived.stats layout), `--instance`, `--watch`.
 *
 * Owns the command line, the exit statuses and the watch loop; the protocol client is
 * lib/control/client.ts, the documents lib/vrrp/snapshot.ts, the text lib/vrrp/dump_text.ts.
 */
import { writeStderr, writeStdout } from "../lib/runtime/output.ts";
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import {
  CLIENT_EXIT,
  ControlClient,
  ControlClientError,
  unreachedBy,
  unreachedByReply,
  unreachedExit,
} from "../lib/control/client.ts";
import type { ParsedReply } from "../lib/control/protocol.ts";
import { DEFAULT_CONTROL_SOCKET } from "../lib/control/protocol.ts";
import { changeKey, type DumpDocument, type StatsDocument } from "../lib/vrrp/snapshot.ts";
import { dumpText, statsText } from "../lib/vrrp/dump_text.ts";

/** Exit statuses of `kad dump` (documented in docs/dump.md and --help). */
export const EXIT = CLIENT_EXIT;

/** How often `--watch` asks the daemon (it prints only when something changed). */
const POLL_MS = 500;

export interface DumpOptions {
  readonly socket: string;
  readonly json: boolean;
  readonly stats: boolean;
  readonly instance?: string | undefined;
  /** undefined: once; 0: whenever something changes; N: on change and every N seconds. */
  readonly watchSeconds?: number | undefined;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** Register the subcommand on kad's program. */
export function registerDump(
  program: { addCommand(cmd: CommandUnknownOpts): unknown },
  exit: (code: number) => void,
): void {
  const cmd = new Command("dump")
    .description(
      "show the live state of the running kad daemon: instances, masters, timers, counters (docs/dump.md)",
    )
    .option("--json", "print the state as JSON (docs/dump-schema.json)")
    .option("--stats", "print the counters (keepalived.stats layout; with --json, as JSON)")
    .option("--instance <NAME>", "only this VRRP instance")
    .option(
      "--watch [SECONDS]",
      "print again whenever something changes (and every SECONDS if given) until Ctrl-C; with --json one document per line",
    )
    .option(
      "--control-socket <PATH>",
      "the daemon's control socket (kad run --control-socket)",
      DEFAULT_CONTROL_SOCKET,
    )
    .showHelpAfterError("(run 'kad dump --help' for usage)")
    .exitOverride((err) => Deno.exit(err.exitCode === 0 ? EXIT.OK : EXIT.USAGE))
    .addHelpText(
      "after",
      "\nExit status: 0 done, 1 the daemon refused (e.g. no such instance), 2 usage error,\n" +
        "3 no daemon is running (no socket, or nobody listening), 4 permission denied\n" +
        "(the socket is root's), 5 the daemon did not answer in time.",
    )
    .action(async (opts) => {
      let watchSeconds: number | undefined;
      if (opts.watch !== undefined) {
        if (opts.watch === true) watchSeconds = 0;
        else {
          const n = Number(opts.watch);
          if (!/^\d+(\.\d+)?$/.test(opts.watch) || !(n >= 0.1) || n > 86400) {
            Deno.stderr.writeSync(
              new TextEncoder().encode(
                `kad dump: --watch takes a number of seconds from 0.1 to 86400, not '${opts.watch}'\n`,
              ),
            );
            exit(EXIT.USAGE);
            return;
          }
          watchSeconds = n;
        }
      }
      exit(
        await runDump({
          socket: opts.controlSocket,
          json: opts.json ?? false,
          stats: opts.stats ?? false,
          instance: opts.instance,
          watchSeconds,
          out: writeStdout,
          err: writeStderr,
        }),
      );
    });
  program.addCommand(cmd as unknown as CommandUnknownOpts);
}

function clientExit(e: ControlClientError): number {
  return unreachedExit(unreachedBy(e.kind));
}

/** A reply turned into the document, or the exit status and message of a refusal. */
function documentOf(
  reply: ParsedReply,
  stats: boolean,
): { doc: DumpDocument | StatsDocument } | { code: number; message: string } {
  if (!reply.ok) {
    const unreached = unreachedByReply(reply.error.code);
    const code = unreached === undefined ? EXIT.REFUSED : unreachedExit(unreached);
    return { code, message: reply.error.message };
  }
  const doc = reply.result[stats ? "stats" : "dump"];
  if (typeof doc !== "object" || doc === null) {
    return {
      code: EXIT.NO_ANSWER,
      message: "the daemon's reply has no dump in it (is it the same kad version?)",
    };
  }
  return { doc: doc as DumpDocument | StatsDocument };
}

function render(doc: DumpDocument | StatsDocument, o: DumpOptions, watching: boolean): string {
  if (o.json) return (watching ? JSON.stringify(doc) : JSON.stringify(doc, null, 2)) + "\n";
  return doc.kind === "stats" ? statsText(doc) : dumpText(doc);
}

/** Runs `kad dump`; returns the exit status. */
export async function runDump(o: DumpOptions): Promise<number> {
  const cmd = o.stats ? "stats" : "dump";
  const args = o.instance === undefined ? {} : { instance: o.instance };
  let client: ControlClient | undefined;
  const fail = (code: number, message: string) => {
    o.err(`kad dump: ${message}\n`);
    return code;
  };
  const ask = async (): Promise<
    { doc: DumpDocument | StatsDocument } | { code: number; message: string }
  > => {
    try {
      client ??= await ControlClient.connect(o.socket);
      return documentOf(await client.request(cmd, args), o.stats);
    } catch (e) {
      client?.close();
      client = undefined;
      if (e instanceof ControlClientError) return { code: clientExit(e), message: e.message };
      throw e;
    }
  };
  try {
    if (o.watchSeconds === undefined) {
      const r = await ask();
      if ("code" in r) return fail(r.code, r.message);
      o.out(render(r.doc, o, false));
      return EXIT.OK;
    }
    return await watch(o, ask, fail);
  } catch (e) {
    // stdout closed under us (`kad dump --watch | head`): the reader is done.
    if (e instanceof Deno.errors.BrokenPipe) return EXIT.OK;
    throw e;
  } finally {
    client?.close();
  }
}

async function watch(
  o: DumpOptions,
  ask: () => Promise<{ doc: DumpDocument | StatsDocument } | { code: number; message: string }>,
  fail: (code: number, message: string) => number,
): Promise<number> {
  let stopped = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopped = true;
    wake?.();
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, stop);
  try {
    const everyMs = (o.watchSeconds ?? 0) * 1000;
    let lastKey: string | undefined;
    let lastPrint = -Infinity;
    let retried = false;
    while (!stopped) {
      const r = await ask();
      if ("code" in r) {
        // One reconnection (the daemon may have closed an idle connection), then give up.
        if (!retried && r.code === EXIT.NO_ANSWER) {
          retried = true;
          continue;
        }
        return fail(r.code, r.message);
      }
      retried = false;
      const key = changeKey(r.doc);
      const now = performance.now();
      if (key !== lastKey || (everyMs > 0 && now - lastPrint >= everyMs)) {
        if (lastKey !== undefined && !o.json) o.out(`\n--- ${r.doc.generated_at}\n`);
        o.out(render(r.doc, o, true));
        lastKey = key;
        lastPrint = now;
      }
      const pause = everyMs > 0 ? Math.min(POLL_MS, everyMs) : POLL_MS;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, pause);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
    }
    return EXIT.OK;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, stop);
  }
}
