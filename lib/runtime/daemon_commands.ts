/**
 * The control commands `kad run` answers (docs/control-protocol.md): the one place where
 * the daemon's command table is filled. A feature adds its commands here with
 * `table.register(NAME, { summary, args, handler })`, reading and changing the daemon
 * through `DaemonView` (extend it with what the feature needs).
 *
 * Handlers run on the reactor between VRRP events and must stay small: a dump of 255
 * instances is built and serialised in a few milliseconds.
 */
import {
  type CommandArgs,
  CommandError,
  CommandTable,
  optionalBoolean,
  optionalInteger,
  optionalString,
} from "../control/commands.ts";
import type { KeyRotation, NewKey, Selection } from "./key_rotation.ts";
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
  /** auth_hmac key rotation (docs/rotate-key.md). */
  readonly rotation: KeyRotation;
}

const SELECTION_ARGS = {
  instance: "the vrrp_instance (may be left out when exactly one has auth_hmac)",
  all: "true: every instance with auth_hmac",
} as const;

function selection(args: CommandArgs): Selection {
  return { instance: optionalString(args, "instance"), all: optionalBoolean(args, "all") };
}

function keyId(args: CommandArgs): number {
  // Not "id": that member is the request's own (docs/control-protocol.md).
  const id = optionalInteger(args, "key_id", 1, 255);
  if (id === undefined) {
    throw new CommandError("invalid_argument", `"key_id" is required (1 to 255)`);
  }
  return id;
}

/**
 * The key rotation commands (docs/rotate-key.md, docs/control-protocol.md): each result is
 * `changed`, `warnings` and `instances` (the instances concerned as they are now).
 */
function registerRotation(table: CommandTable, rotation: KeyRotation): void {
  table.register("key-status", {
    summary: "auth_hmac keys and what every peer signs with (kad rotate-key status)",
    args: { instance: "only this vrrp_instance (default: every one with auth_hmac)" },
    handler: (args) => ({ instances: rotation.status(selection(args)) }),
  });
  table.register("key-add", {
    summary: "adds a verify-only auth_hmac key (kad rotate-key add)",
    args: {
      ...SELECTION_ARGS,
      key_id: "key id 1-255",
      key_file: "absolute path of the key file the daemon reads (text or hex:DIGITS)",
      key_hex: "or: the key bytes as hex digits (a key given on standard input)",
    },
    handler: (args) => {
      const file = optionalString(args, "key_file");
      const hex = optionalString(args, "key_hex");
      if ((file === undefined) === (hex === undefined)) {
        throw new CommandError("invalid_argument", `give exactly one of "key_file" and "key_hex"`);
      }
      const key: NewKey = file !== undefined ? { file } : { hex: hex as string };
      return { ...rotation.add(selection(args), keyId(args), key) };
    },
  });
  table.register("key-activate", {
    summary: "makes an auth_hmac key the signing one (kad rotate-key activate)",
    args: { ...SELECTION_ARGS, key_id: "key id 1-255" },
    handler: (args) => ({ ...rotation.activate(selection(args), keyId(args)) }),
  });
  table.register("key-retire", {
    summary:
      "removes an auth_hmac key unless it signs or a recent peer signs with it (kad rotate-key retire)",
    args: { ...SELECTION_ARGS, key_id: "key id 1-255" },
    handler: (args) => ({ ...rotation.retire(selection(args), keyId(args)) }),
  });
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
 * The daemon's command table: `help` (built in), `ping`, `dump`, `stats`, and the key
 * rotation commands `key-status`, `key-add`, `key-activate` and `key-retire`.
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
  registerRotation(table, view.rotation);
  return table;
}
