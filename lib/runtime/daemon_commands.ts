/**
 * The control commands `kad run` answers (docs/control-protocol.md): the one place where
 * the daemon's command table is filled. A feature adds its commands here with
 * `table.register(NAME, { summary, args, handler })`, reading and changing the daemon
 * through `DaemonView` (extend it with what the feature needs).
 *
 * Handlers run on the reactor between VRRP events and must stay small: a dump of 255
 * instances is built and serialised in a few milliseconds.
 */
import { CommandError, CommandTable, optionalString } from "../control/commands.ts";
import {
  dumpDocument,
  type DumpInput,
  statsDocument,
  UnknownInstanceError,
} from "../vrrp/snapshot.ts";

/** What the commands see of the running daemon. */
export interface DaemonView {
  readonly pid: number;
  readonly version: string;
  /** A fresh reading of every instance and counter, for the dump commands. */
  dumpInput(): DumpInput;
}

function shaped<T>(build: () => T): T {
  try {
    return build();
  } catch (e) {
    if (e instanceof UnknownInstanceError) {
      throw new CommandError("not_found", e.message, { instances: [...e.names] });
    }
    throw e;
  }
}

/**
 * The daemon's command table: `help` (built in), `ping`, `dump` and `stats`.
 *
 * @example
 * ```ts ignore
 * const table = daemonCommands({ pid: Deno.pid, version, dumpInput: () => input() });
 * ControlServer.open({ path, reactor, table, log });
 * ```
 */
export function daemonCommands(view: DaemonView): CommandTable {
  const table = new CommandTable();
  table.register("ping", {
    summary: "answers that the daemon is running, with its version and pid",
    handler: () => ({ pong: true, kad_version: view.version, pid: view.pid }),
  });
  table.register("dump", {
    summary: "the live state of the VRRP instances (docs/dump.md, docs/dump-schema.json)",
    args: { instance: "only this instance (its name)" },
    handler: (args) => {
      const only = optionalString(args, "instance");
      return { dump: shaped(() => dumpDocument(view.dumpInput(), only)) };
    },
  });
  table.register("stats", {
    summary: "the counters of the VRRP instances (keepalived.stats names)",
    args: { instance: "only this instance (its name)" },
    handler: (args) => {
      const only = optionalString(args, "instance");
      return { stats: shaped(() => statsDocument(view.dumpInput(), only)) };
    },
  });
  return table;
}
