/**
 * `kad run`: the daemon's command line, with keepalived's options that apply to a
 * VRRP-only, foreground process (spec/vrrp.md §6.1). Wiring only: the lifecycle is
 * lib/runtime/daemon.ts's.
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { DEFAULT_CONTROL_SOCKET } from "../lib/control/protocol.ts";
import { DEFAULT_KEY_STATE_PATH } from "../lib/config/key_state.ts";
import { EXIT, runDaemon } from "../lib/runtime/daemon.ts";
import { stderrLogger } from "../lib/runtime/log.ts";
import { blockRealtimeSignals } from "../lib/runtime/rt_signals.ts";

/** The global options `kad run` reads (defined on the program in main.ts). */
interface GlobalOptions {
  useFile: string;
  configId?: string;
  logDetail?: true;
}

/** Add `run` to the program. */
export function registerRun(program: Command, exit: (code: number) => void): void {
  program
    .command("run")
    .description(
      "run the VRRP daemon in the foreground (keepalived's --vrrp side: elections, VIPs, GARP)",
    )
    .option("-n, --dont-fork", "stay in the foreground (always the case; accepted for keepalived)")
    .option("-p, --pid <FILE>", "write the process id to FILE (removed at exit)")
    .option(
      "-r, --vrrp_pid <FILE>",
      "also write the process id to FILE (keepalived's VRRP pid file)",
    )
    .option(
      "-V, --dont-release-vrrp",
      "at exit, leave the VIPs, routes and rules in place and send no priority-0 advert",
    )
    .option("-P, --vrrp", "run only the VRRP side (always the case; accepted for keepalived)")
    .option(
      "--control-socket <PATH>",
      "serve 'kad dump' and 'kad rotate-key' on this Unix socket (root only, mode 0600)",
      DEFAULT_CONTROL_SOCKET,
    )
    .option(
      "--key-state <PATH>",
      "the auth_hmac key state 'kad rotate-key' keeps, laid over the configuration at start and reload (docs/rotate-key.md)",
      DEFAULT_KEY_STATE_PATH,
    )
    .addOption(
      new Option("-C, --check", "run only the health checker (not available yet: refused)"),
    )
    .addHelpText(
      "after",
      "\nSignals: SIGTERM/SIGINT stop (MASTERs resign with priority 0 and remove their VIPs\n" +
        "unless -V), SIGHUP reloads the configuration (a bad one keeps the running one).\n" +
        "SIGUSR1 writes keepalived.data, SIGUSR2 keepalived.stats, SIGRTMIN+2 (36)\n" +
        "keepalived.json, SIGRTMAX-1 (63) keepalived.stats and then zeroes the counters\n" +
        "(in $TMPDIR or /tmp; see docs/dump.md).\n" +
        "Exit status: 0 stopped by a signal, 1 could not start, 4 unusable configuration\n" +
        "(or an unusable key state: docs/rotate-key.md).",
    )
    .action(async (opts, cmd) => {
      const g = cmd.optsWithGlobals() as unknown as GlobalOptions;
      const log = stderrLogger(g.logDetail ?? false);
      if (opts.check) {
        log.error(
          "kad run: --check is not available: kad has no health checker yet; run 'kad run' (the VRRP side) and keepalived --check for virtual_server blocks",
        );
        exit(EXIT.FAILED);
        return;
      }
      // May re-execute kad with JSON and STATS_CLEAR blocked in every thread
      // (lib/runtime/rt_signals.ts): nothing may be printed or opened before it.
      const realtimeSignalsProblem = blockRealtimeSignals();
      const pidFiles = [opts.pid, opts.vrrp_pid].filter((p): p is string => p !== undefined);
      exit(
        await runDaemon({
          configFile: g.useFile,
          ...(g.configId !== undefined ? { configId: g.configId } : {}),
          pidFiles,
          release: !(opts.dontReleaseVrrp ?? false),
          log,
          controlSocket: opts.controlSocket,
          keyStatePath: opts.keyState,
          realtimeSignalsProblem,
        }),
      );
    });
}
