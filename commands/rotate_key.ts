/**
 * `kad rotate-key`: make-before-break rotation of auth_hmac keys on a running `kad run`,
 * through its control socket (docs/rotate-key.md, spec/vrrp.md §2.3.11): `add` (verify-only),
 * `activate` (signs), `retire` (refused while a peer still signs with the key; `--wait`
 * waits for it), `status`.
 *
 * Owns the command line, reading the key (a file or standard input — never an argument),
 * the wait loop and the mapping of every outcome to the documented exit statuses and the
 * `--json` document (lib/vrrp/rotation_report.ts). The daemon's side is
 * lib/runtime/key_rotation.ts; the protocol client lib/control/client.ts.
 */
import { writeStderr, writeStdout } from "../lib/runtime/output.ts";
import {
  Command,
  type CommandUnknownOpts,
  InvalidArgumentError,
  Option,
} from "@commander-js/extra-typings";
import {
  ControlClient,
  ControlClientError,
  unreachedBy,
  unreachedByReply,
} from "../lib/control/client.ts";
import { DEFAULT_CONTROL_SOCKET, type ParsedReply } from "../lib/control/protocol.ts";
import {
  decodeKeyFile,
  KEY_FILE_LIMIT,
  keyFileModeWarning,
  readKeyFile,
} from "../lib/config/hmac_keys.ts";
import { denoFs } from "../lib/config/source.ts";
import type { InstanceView, KeyUserView } from "../lib/vrrp/rotation.ts";
import {
  type ChangeView,
  failedReport,
  okReport,
  reportText,
  ROTATE_EXIT,
  type RotateCommand,
  type RotateErrorCode,
  type RotateReport,
} from "../lib/vrrp/rotation_report.ts";

/** How often `retire --wait` asks again. */
const POLL_MS = 500;
/** The longest `--wait` (one day). */
const MAX_WAIT_S = 86_400;

/** One connection to the daemon, as the command uses it (lib/control/client.ts). */
export interface DaemonLink {
  request(cmd: string, args: Readonly<Record<string, unknown>>): Promise<ParsedReply>;
  close(): void;
}

/** What the command does around it (real in `kad`, replaced in tests). */
export interface RotateKeyIo {
  connect(path: string): Promise<DaemonLink>;
  /** Standard input, at most `max` bytes (more means "too large"). */
  readStdin(max: number): Promise<Uint8Array>;
  stdinIsTerminal(): boolean;
  cwd(): string;
  sleep(ms: number): Promise<void>;
  nowMs(): number;
  out(text: string): void;
  err(text: string): void;
}

/** A parsed command line. */
export interface RotateKeyOptions {
  readonly command: RotateCommand;
  readonly socket: string;
  readonly json: boolean;
  readonly instance?: string | undefined;
  readonly all?: boolean | undefined;
  readonly id?: number | undefined;
  /** add: a path, or "-" for standard input. */
  readonly keyFile?: string | undefined;
  /** retire: undefined — no waiting; null — wait 3 × the window; N — wait N seconds. */
  readonly waitS?: number | null | undefined;
}

/** A failure of the command, carrying its report's error. */
class Failure extends Error {
  constructor(
    readonly code: RotateErrorCode,
    message: string,
    readonly users?: readonly KeyUserView[],
  ) {
    super(message);
  }
}

function clientFailure(e: ControlClientError): Failure {
  return new Failure(unreachedBy(e.kind), e.message);
}

/** The daemon's error reply as the command's failure (docs/rotate-key.md, exit statuses). */
function replyFailure(reply: Extract<ParsedReply, { ok: false }>): Failure {
  const e = reply.error;
  const details = e.details ?? {};
  switch (e.code) {
    case "invalid_argument":
      return new Failure("usage", e.message);
    case "refused":
      if (details["reason"] === "in_use") {
        return new Failure("in_use", e.message, usersOf(details["users"]));
      }
      return new Failure("refused", e.message);
    default:
      return new Failure(unreachedByReply(e.code) ?? "refused", e.message);
  }
}

function usersOf(v: unknown): KeyUserView[] {
  return Array.isArray(v) ? v as KeyUserView[] : [];
}

/** The key to add: a path the daemon reads, or the bytes of standard input as hex. */
async function keyArgument(
  o: RotateKeyOptions,
  io: RotateKeyIo,
  warnings: string[],
): Promise<Record<string, string>> {
  const given = o.keyFile as string;
  if (given === "-") {
    if (io.stdinIsTerminal()) {
      throw new Failure(
        "usage",
        "--key-file - reads the key from standard input, which is a terminal (it would be echoed); pipe the key in, or give a key file",
      );
    }
    const content = await io.readStdin(KEY_FILE_LIMIT);
    const r = decodeKeyFile(content);
    content.fill(0);
    if ("problem" in r) throw new Failure("refused", `the key on standard input ${r.problem}`);
    const hex = [...r.bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    r.bytes.fill(0);
    return { key_hex: hex };
  }
  const path = given.startsWith("/") ? given : `${io.cwd().replace(/\/+$/, "")}/${given}`;
  // Checked here for a clear message and the permission warning; the daemon reads the file
  // itself (the key does not cross the socket) and will read it again at every start.
  const r = readKeyFile(path, denoFs);
  if ("problem" in r) throw new Failure("refused", `key file '${path}' ${r.problem}`);
  r.bytes.fill(0);
  const w = keyFileModeWarning(path, r.mode);
  if (w !== undefined) warnings.push(`key file '${path}' ${w}`);
  return { key_file: path };
}

function selectionArgs(o: RotateKeyOptions): Record<string, unknown> {
  return {
    ...(o.instance === undefined ? {} : { instance: o.instance }),
    ...(o.all === true ? { all: true } : {}),
  };
}

interface RotationReply {
  changed: ChangeView[];
  warnings: string[];
  instances: InstanceView[];
}

function resultOf(reply: Extract<ParsedReply, { ok: true }>): RotationReply {
  const r = reply.result;
  if (!Array.isArray(r["instances"])) {
    throw new Failure(
      "no_answer",
      "the daemon's reply has no key rotation result (is it the same kad version?)",
    );
  }
  return {
    changed: Array.isArray(r["changed"]) ? r["changed"] as ChangeView[] : [],
    warnings: Array.isArray(r["warnings"]) ? r["warnings"] as string[] : [],
    instances: r["instances"] as InstanceView[],
  };
}

/** Runs the command; returns its report (whose `exit_code` is the exit status). */
export async function rotateKey(o: RotateKeyOptions, io: RotateKeyIo): Promise<RotateReport> {
  const warnings: string[] = [];
  let link: DaemonLink | undefined;
  const startMs = io.nowMs();
  let waited: number | undefined;
  const ask = async (cmd: string, args: Record<string, unknown>) => {
    try {
      link ??= await io.connect(o.socket);
      return await link.request(cmd, args);
    } catch (e) {
      if (e instanceof ControlClientError) throw clientFailure(e);
      throw e;
    }
  };
  try {
    if (o.command === "status") {
      const reply = await ask("key-status", selectionArgs(o));
      if (!reply.ok) throw replyFailure(reply);
      return okReport("status", { instances: resultOf(reply).instances, warnings });
    }
    const args: Record<string, unknown> = { ...selectionArgs(o), key_id: o.id };
    let cmd: string;
    if (o.command === "add") {
      cmd = "key-add";
      Object.assign(args, await keyArgument(o, io, warnings));
    } else cmd = o.command === "activate" ? "key-activate" : "key-retire";
    let deadline: number | undefined;
    let announced = false;
    for (;;) {
      const reply = await ask(cmd, args);
      if (reply.ok) {
        if (deadline !== undefined) waited = (io.nowMs() - startMs) / 1000;
        const r = resultOf(reply);
        for (const w of r.warnings) if (!warnings.includes(w)) warnings.push(w);
        return okReport(o.command, {
          changed: r.changed,
          instances: r.instances,
          warnings,
          waitedS: waited,
        });
      }
      const f = replyFailure(reply);
      if (f.code !== "in_use" || o.waitS === undefined) throw f;
      // retire --wait: ask again until no peer uses the key, or the time is up.
      const now = io.nowMs();
      if (deadline === undefined) {
        const w = reply.error.details?.["window_s"];
        const windowS = typeof w === "number" && w > 0 ? w : 5;
        deadline = startMs + (o.waitS ?? 3 * windowS) * 1000;
      }
      waited = (now - startMs) / 1000;
      if (now >= deadline) {
        throw new Failure(
          "timeout",
          `gave up after ${Math.round(waited * 10) / 10} s: ${f.message}`,
          f.users,
        );
      }
      if (!announced && !o.json) {
        io.err(
          `kad rotate-key: key ${o.id} is still in use; waiting up to ${
            Math.round((deadline - startMs) / 100) / 10
          } s\n`,
        );
        announced = true;
      }
      await io.sleep(Math.min(POLL_MS, deadline - now));
    }
  } catch (e) {
    if (!(e instanceof Failure)) throw e;
    return failedReport(
      o.command,
      {
        code: e.code,
        message: e.message,
        ...(e.users === undefined ? {} : { users: e.users }),
      },
      { warnings, waitedS: waited },
    );
  } finally {
    link?.close();
  }
}

/** Prints a report (JSON or text) and returns its exit status. */
export function printReport(r: RotateReport, json: boolean, io: RotateKeyIo): number {
  if (json) {
    io.out(JSON.stringify(r, null, 2) + "\n");
    if (!r.ok && r.error !== undefined) io.err(`kad rotate-key: ${r.error.message}\n`);
  } else {
    const t = reportText(r);
    if (t.out !== "") io.out(t.out);
    if (t.err !== "") io.err(t.err);
  }
  return r.exit_code;
}

// ---- the command line ----

/** The real world. */
export const denoRotateKeyIo: RotateKeyIo = {
  connect: (path) => ControlClient.connect(path),
  async readStdin(max) {
    const chunks: Uint8Array[] = [];
    let n = 0;
    const buf = new Uint8Array(1024);
    for (;;) {
      const got = await Deno.stdin.read(buf);
      if (got === null) break;
      chunks.push(buf.slice(0, got));
      n += got;
      if (n > max) break;
    }
    buf.fill(0);
    const out = new Uint8Array(n);
    let off = 0;
    for (const c of chunks) {
      out.set(c, off);
      off += c.length;
      c.fill(0);
    }
    return out;
  },
  stdinIsTerminal: () => Deno.stdin.isTerminal(),
  cwd: () => Deno.cwd(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  nowMs: () => performance.now(),
  out: writeStdout,
  err: writeStderr,
};

function parseId(v: string): number {
  if (!/^\d{1,3}$/.test(v) || Number(v) < 1 || Number(v) > 255) {
    throw new InvalidArgumentError("a key id is a number from 1 to 255");
  }
  return Number(v);
}

function parseWait(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !(n >= 0.1) || n > MAX_WAIT_S) {
    throw new InvalidArgumentError(`give a number of seconds from 0.1 to ${MAX_WAIT_S}`);
  }
  return n;
}

const EXIT_HELP =
  "\nExit status: 0 done, 1 refused or failed (the message says why), 2 usage error,\n" +
  "3 no daemon running, 4 permission denied (the socket is root's), 5 the daemon did not\n" +
  "answer, 6 retire refused: a peer still signs with the key, 7 retire --wait timed out.\n" +
  "With --json one JSON document on stdout in every case (docs/rotate-key.md).";

/** The options `common` adds to every subcommand (extra-typings cannot see them). */
interface CommonOptions {
  json?: true;
  controlSocket: string;
  instance?: string;
  all?: true;
}

/** Register the subcommand on kad's program. */
export function registerRotateKey(
  program: { addCommand(cmd: CommandUnknownOpts): unknown },
  exit: (code: number) => void,
): void {
  const onExit =
    (command: RotateCommand | undefined) =>
    (err: { exitCode: number; message: string; code: string }) => {
      if (err.exitCode === 0) Deno.exit(ROTATE_EXIT.OK);
      // A command line commander refused: with --json, the report too.
      if (command !== undefined && Deno.args.includes("--json")) {
        const message = err.message.replace(/^error: /, "");
        denoRotateKeyIo.out(
          JSON.stringify(failedReport(command, { code: "usage", message }), null, 2) + "\n",
        );
      }
      Deno.exit(ROTATE_EXIT.USAGE);
    };
  const common = (c: Command, command: RotateCommand, selection: "one" | "one-or-all") => {
    c.option("--json", "print one JSON document (docs/rotate-key.md)")
      .option(
        "--control-socket <PATH>",
        "the daemon's control socket (kad run --control-socket)",
        DEFAULT_CONTROL_SOCKET,
      )
      .showHelpAfterError(`(run 'kad rotate-key ${command} --help' for usage)`)
      .exitOverride(onExit(command))
      .addHelpText("after", EXIT_HELP);
    if (selection === "one") {
      c.option("--instance <NAME>", "only this vrrp_instance (default: every one with auth_hmac)");
    } else {
      c.addOption(
        new Option(
          "--instance <NAME>",
          "the vrrp_instance (may be left out when only one has auth_hmac)",
        ).conflicts("all"),
      ).option("--all", "every vrrp_instance with auth_hmac (all or nothing)");
    }
    return c;
  };
  const run = async (o: RotateKeyOptions) => {
    const io = denoRotateKeyIo;
    let report: RotateReport;
    try {
      report = await rotateKey(o, io);
    } catch (e) {
      // stdout closed under us: nothing more to say.
      if (e instanceof Deno.errors.BrokenPipe) {
        exit(ROTATE_EXIT.OK);
        return;
      }
      throw e;
    }
    exit(printReport(report, o.json, io));
  };

  const root = new Command("rotate-key")
    .description(
      "rotate auth_hmac keys on the running kad daemon, make-before-break and verified (docs/rotate-key.md)",
    )
    .showHelpAfterError("(run 'kad rotate-key --help' for usage)")
    .exitOverride(onExit(undefined))
    .addHelpText(
      "after",
      "\nOn every node: add the new key, then activate it, then retire the old one:\n" +
        "  kad rotate-key add --instance VI_1 --id 2 --key-file /etc/kad/vi1-key2\n" +
        "  kad rotate-key activate --instance VI_1 --id 2\n" +
        "  kad rotate-key retire --instance VI_1 --id 1 --wait\n" +
        EXIT_HELP,
    );

  const add = common(
    new Command("add").description(
      "add a key that verifies adverts but does not sign them yet",
    ),
    "add",
    "one-or-all",
  )
    .requiredOption("--id <ID>", "the key id (1-255)", parseId)
    .requiredOption(
      "--key-file <PATH>",
      "the key: a file holding it as text or hex:DIGITS (32-64 bytes), or - for standard input",
    )
    .action(async (given) => {
      const opts = given as typeof given & CommonOptions;
      await run({
        command: "add",
        socket: opts.controlSocket,
        json: opts.json === true,
        instance: opts.instance,
        all: opts.all === true,
        id: opts.id,
        keyFile: opts.keyFile,
      });
    });
  const activate = common(
    new Command("activate").description("make a key the signing one, from the next advert on"),
    "activate",
    "one-or-all",
  )
    .requiredOption("--id <ID>", "the key id (1-255)", parseId)
    .action(async (given) => {
      const opts = given as typeof given & CommonOptions;
      await run({
        command: "activate",
        socket: opts.controlSocket,
        json: opts.json === true,
        instance: opts.instance,
        all: opts.all === true,
        id: opts.id,
      });
    });
  const retire = common(
    new Command("retire").description(
      "remove a key; refused for the active key and while a peer heard within the window still signs with it",
    ),
    "retire",
    "one-or-all",
  )
    .requiredOption("--id <ID>", "the key id (1-255)", parseId)
    .option(
      "--wait [SECONDS]",
      "wait until no peer signs with the key, at most SECONDS (default 3 x the window)",
      parseWait,
    )
    .action(async (given) => {
      const opts = given as typeof given & CommonOptions;
      const w = opts.wait as number | true | undefined;
      await run({
        command: "retire",
        socket: opts.controlSocket,
        json: opts.json === true,
        instance: opts.instance,
        all: opts.all === true,
        id: opts.id,
        waitS: w === undefined ? undefined : w === true ? null : w,
      });
    });
  const status = common(
    new Command("status").description(
      "the keys of each instance and the key id every peer last signed with",
    ),
    "status",
    "one",
  ).action(async (given) => {
    const opts = given as typeof given & CommonOptions;
    await run({
      command: "status",
      socket: opts.controlSocket,
      json: opts.json === true,
      instance: opts.instance,
    });
  });
  for (const c of [add, activate, retire, status]) root.addCommand(c as unknown as Command);
  program.addCommand(root as unknown as CommandUnknownOpts);
}
