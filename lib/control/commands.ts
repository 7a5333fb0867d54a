/**
 * The command table of the control channel (docs/control-protocol.md): the one place that
 * maps a request's `cmd` to a handler. A feature adds its commands with `register()` (the
 * daemon's table is built in lib/runtime/daemon_commands.ts); the table checks the
 * argument names each command declares, turns a handler's `CommandError` into an error
 * reply and any other failure into `internal_error`, and answers `help` itself.
 *
 * Handlers run on the daemon's event loop between VRRP events: they must be quick (build a
 * snapshot, change a small piece of state) and must not block. A handler may return a
 * promise; replies on one connection still go out in request order.
 */
import { errorText } from "../runtime/error_text.ts";
import type { ControlError, ControlRequest, ErrorCode } from "./protocol.ts";
import { RESERVED_MEMBERS } from "./protocol.ts";

/** A command's arguments: the request's members other than `v`, `id` and `cmd`. */
export type CommandArgs = Readonly<Record<string, unknown>>;

/** A command's result: members added to the reply next to `v`, `id` and `ok`. */
export type CommandResult = Record<string, unknown>;

/** How one command is handled. */
export interface CommandSpec {
  /** One line for `help`. */
  readonly summary: string;
  /** The argument names the command takes, each with a one-line description. */
  readonly args?: Readonly<Record<string, string>>;
  /** Does the work. Throw a CommandError for a refusal the client should see. */
  readonly handler: (args: CommandArgs) => CommandResult | Promise<CommandResult>;
}

/** A refusal a handler reports to the client (`code` and `message` go in the reply). */
export class CommandError extends Error {
  override name = "CommandError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

/** The outcome of one request. */
export type CommandReply =
  | { readonly ok: true; readonly result: CommandResult }
  | { readonly ok: false; readonly error: ControlError };

const NAME = /^[a-z][a-z0-9-]{0,63}$/;

/**
 * The commands a control server answers.
 *
 * @example
 * ```ts
 * import { CommandTable } from "./commands.ts";
 * const table = new CommandTable();
 * table.register("ping", { summary: "answers pong", handler: () => ({ pong: true }) });
 * table.dispatch({ v: 1, id: 1, cmd: "ping", args: {} }); // { ok: true, result: { pong: true } }
 * ```
 */
export class CommandTable {
  readonly #commands = new Map<string, CommandSpec>();

  constructor() {
    this.register("help", {
      summary: "lists the commands, their arguments and the protocol version",
      handler: () => ({
        commands: [...this.#commands].map(([name, c]) => ({
          name,
          summary: c.summary,
          args: c.args ?? {},
        })),
      }),
    });
  }

  /**
   * Adds a command. Throws an Error for a name that is taken or not lower-case words joined
   * by `-` (e.g. `key-add`), or for an argument name the protocol reserves.
   */
  register(name: string, spec: CommandSpec): void {
    if (!NAME.test(name)) {
      throw new Error(`Control command name '${name}' must be lower-case words joined by '-'`);
    }
    if (this.#commands.has(name)) {
      throw new Error(`Control command '${name}' is already registered`);
    }
    for (const a of Object.keys(spec.args ?? {})) {
      if (RESERVED_MEMBERS.has(a)) {
        throw new Error(`Control command '${name}' cannot take an argument named '${a}'`);
      }
    }
    this.#commands.set(name, spec);
  }

  /** The registered command names, in registration order. */
  get names(): string[] {
    return [...this.#commands.keys()];
  }

  /**
   * Runs the request's command. The reply is immediate for synchronous handlers and a
   * promise for asynchronous ones; it never rejects.
   */
  dispatch(req: ControlRequest): CommandReply | Promise<CommandReply> {
    const spec = this.#commands.get(req.cmd);
    if (spec === undefined) {
      return refusal(
        "unknown_command",
        `unknown command '${req.cmd}'; the commands are: ${this.names.join(", ")}`,
        { commands: this.names },
      );
    }
    const allowed = spec.args ?? {};
    const unknown = Object.keys(req.args).filter((a) => !Object.hasOwn(allowed, a));
    if (unknown.length > 0) {
      const takes = Object.keys(allowed);
      return refusal(
        "invalid_argument",
        `'${req.cmd}' does not take ${unknown.map((a) => `'${a}'`).join(", ")}; it takes ${
          takes.length === 0 ? "no arguments" : takes.join(", ")
        }`,
      );
    }
    let out: CommandResult | Promise<CommandResult>;
    try {
      out = spec.handler(req.args);
    } catch (e) {
      return failure(req.cmd, e);
    }
    if (out instanceof Promise) {
      return out.then((result) => success(result), (e) => failure(req.cmd, e));
    }
    return success(out);
  }
}

function success(result: CommandResult): CommandReply {
  return { ok: true, result };
}

function refusal(
  code: ErrorCode,
  message: string,
  details?: Readonly<Record<string, unknown>>,
): CommandReply {
  return {
    ok: false,
    error: details === undefined ? { code, message } : { code, message, details },
  };
}

function failure(cmd: string, e: unknown): CommandReply {
  if (e instanceof CommandError) return refusal(e.code, e.message, e.details);
  const why = errorText(e);
  return refusal("internal_error", `'${cmd}' failed inside the daemon: ${why}`);
}

/** An optional string argument; a CommandError when present with another type. */
export function optionalString(args: CommandArgs, name: string): string | undefined {
  const v = args[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") {
    throw new CommandError("invalid_argument", `"${name}" must be a string`);
  }
  return v;
}

/** A required string argument; a CommandError when missing or not a string. */
export function requiredString(args: CommandArgs, name: string): string {
  const v = optionalString(args, name);
  if (v === undefined) throw new CommandError("invalid_argument", `"${name}" is required`);
  return v;
}

/** An optional boolean argument; a CommandError when present with another type. */
export function optionalBoolean(args: CommandArgs, name: string): boolean | undefined {
  const v = args[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") {
    throw new CommandError("invalid_argument", `"${name}" must be true or false`);
  }
  return v;
}

/** An optional integer argument within [min, max]; a CommandError otherwise. */
export function optionalInteger(
  args: CommandArgs,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const v = args[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new CommandError(
      "invalid_argument",
      `"${name}" must be an integer from ${min} to ${max}`,
    );
  }
  return v;
}
