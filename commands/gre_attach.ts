/**
 * `kad gre-attach`: answer GRE keepalives on a gre/ip6gre tunnel device with kad's XDP
 * program (docs/gre-attach.md). Attach, detach, status (text or JSON) and a self-test that
 * runs the built-in packets through freshly loaded programs.
 *
 * Owns the command line: option rules, the printed text and JSON, exit statuses (0 done,
 * 1 the operation failed, 2 the command line is wrong). The work is lib/net/gre_xdp.ts;
 * libbpf's own log goes to kad's log (warnings always, the rest with -D).
 */
import { writeStdout } from "../lib/runtime/output.ts";
import { Command, type CommandUnknownOpts, Option } from "@commander-js/extra-typings";
import { XDP_ACTION } from "../ffi/libbpf.ts";
import { type GreProgram } from "../lib/net/gre_keepalive.ts";
import {
  addressText,
  attach,
  type AttachResult,
  detach,
  GreXdpError,
  selftest,
  type SelftestResult,
  status,
  type StatusEntry,
  XDP_MODES,
  type XdpMode,
} from "../lib/net/gre_xdp.ts";
import { type Logger, stderrLogger } from "../lib/runtime/log.ts";

/** The version of the `--status --json` and `--selftest --json` formats. */
export const GRE_JSON_VERSION = 1;

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export interface GreAttachOptions {
  readonly interface?: string | undefined;
  readonly mode: XdpMode;
  readonly replace: boolean;
  readonly detach: boolean;
  readonly status: boolean;
  readonly selftest: boolean;
  readonly json: boolean;
  readonly force: boolean;
  readonly program?: GreProgram | undefined;
  /** Whether --mode was given (it only applies to attaching). */
  readonly modeGiven: boolean;
  readonly log: Logger;
  /** Where results go (stdout in the CLI). */
  readonly out: (text: string) => void;
}

/** Register the subcommand on kad's program. */
export function registerGreAttach(
  program: { addCommand(cmd: CommandUnknownOpts): unknown },
  exit: (code: number) => void,
): void {
  const cmd = new Command("gre-attach")
    .description(
      "answer GRE keepalives on a gre/ip6gre tunnel device with an XDP program (see docs/gre-attach.md)",
    )
    .argument("[IFACE]", "the tunnel device")
    .addOption(
      new Option("--mode <MODE>", "XDP mode: auto (native, else generic), generic or native")
        .choices(XDP_MODES),
    )
    .option("--replace", "replace an XDP program that is not kad's")
    .option("--detach", "remove kad's program from IFACE")
    .option("--status", "show the program, mode and counters of IFACE (or of every interface)")
    .option("--json", "with --status or --selftest: print JSON")
    .option("--selftest", "run the built-in packets through the programs (BPF_PROG_TEST_RUN)")
    .option("--force", "attach to any device (tests, unusual drivers); with --detach: any program")
    .addOption(
      new Option("--program <NAME>", "with --force: the program to attach (default gre)")
        .choices(["gre", "gre6"] as const),
    )
    .showHelpAfterError("(run 'kad gre-attach --help' for usage)")
    // Commander's own rejections (unknown option, bad --mode) are usage errors too: status 2.
    .exitOverride((err) => Deno.exit(err.exitCode === 0 ? EXIT_OK : EXIT_USAGE))
    .addHelpText(
      "after",
      "\nExit status: 0 done, 1 the operation failed, 2 the command line is wrong.",
    )
    .action((iface, opts, c) => {
      const g = c.optsWithGlobals() as { logDetail?: boolean };
      exit(greAttach({
        interface: iface,
        mode: (opts.mode as XdpMode | undefined) ?? "auto",
        modeGiven: opts.mode !== undefined,
        replace: opts.replace ?? false,
        detach: opts.detach ?? false,
        status: opts.status ?? false,
        selftest: opts.selftest ?? false,
        json: opts.json ?? false,
        force: opts.force ?? false,
        program: opts.program,
        log: stderrLogger(g.logDetail ?? false),
        out: writeStdout,
      }));
    });
  program.addCommand(cmd as unknown as CommandUnknownOpts);
}

/** The command line rules; returns a message when the combination is wrong. */
export function usageProblem(o: GreAttachOptions): string | undefined {
  const ops = [o.detach && "--detach", o.status && "--status", o.selftest && "--selftest"]
    .filter((x): x is string => typeof x === "string");
  if (ops.length > 1) return `${ops.join(" and ")} cannot be combined; give one of them`;
  const op = ops[0];
  if (op === "--selftest" && o.interface !== undefined) {
    return `--selftest takes no interface; remove '${o.interface}'`;
  }
  if (op === undefined && o.interface === undefined) {
    return "give the tunnel device to attach to, e.g. 'kad gre-attach gre1'";
  }
  if (op === "--detach" && o.interface === undefined) {
    return "--detach needs the interface, e.g. 'kad gre-attach --detach gre1'";
  }
  if (op !== undefined && (o.modeGiven || o.replace)) {
    return `${o.modeGiven ? "--mode" : "--replace"} only applies when attaching; remove it`;
  }
  if (o.json && op !== "--status" && op !== "--selftest") {
    return "--json only applies to --status and --selftest";
  }
  if (o.program !== undefined && !o.force) {
    return `--program '${o.program}' needs --force; without it the program follows the device type`;
  }
  if (o.force && (op === "--status" || op === "--selftest")) {
    return `--force does not apply to ${op}`;
  }
  return undefined;
}

/** Run the command; returns the exit status. */
export function greAttach(o: GreAttachOptions): number {
  const problem = usageProblem(o);
  if (problem !== undefined) {
    o.log.error(`kad gre-attach: ${problem}`);
    return EXIT_USAGE;
  }
  try {
    if (o.selftest) return runSelftest(o);
    if (o.status) return runStatus(o);
    if (o.detach) return runDetach(o, o.interface as string);
    return runAttach(o, o.interface as string);
  } catch (e) {
    if (e instanceof GreXdpError) {
      for (const line of e.kernelLog) o.log.detail(`kernel: ${line}`);
      o.log.error(`kad gre-attach: ${e.message}`);
      return EXIT_FAILED;
    }
    throw e;
  }
}

function endpointText(r: { endpoints: AttachResult["endpoints"] }): string {
  if (r.endpoints === undefined) return "no tunnel endpoints: it answers nothing";
  return `answers keepalives from ${addressText(r.endpoints.local)} to ${
    addressText(r.endpoints.remote)
  }`;
}

function runAttach(o: GreAttachOptions, iface: string): number {
  const r = attach({
    interface: iface,
    mode: o.mode,
    replace: o.replace,
    force: o.force,
    program: o.program,
  });
  const what = `the ${r.program} keepalive program (id ${r.progId}, ${r.mode} mode)`;
  const verb = r.action === "attached"
    ? `attached ${what}`
    : r.action === "replaced"
    ? `replaced the XDP program with ${what}`
    : `${what} was already attached; endpoints refreshed`;
  o.out(`${r.interface}: ${verb}; ${endpointText(r)}\n`);
  if (r.endpoints === undefined) {
    o.log.warn(
      `kad gre-attach: '${r.interface}' is not a point-to-point ${
        r.program === "gre" ? "gre" : "ip6gre"
      } tunnel, so the program passes every packet`,
    );
  }
  return EXIT_OK;
}

function runDetach(o: GreAttachOptions, iface: string): number {
  const r = detach(iface, { force: o.force });
  if (r.removed === undefined) {
    o.out(`${r.interface}: no XDP program attached; nothing to do\n`);
  } else {
    o.out(
      `${r.interface}: detached '${r.removed.name}' (id ${r.removed.progId}, ${r.removed.mode} mode)\n`,
    );
  }
  return EXIT_OK;
}

/** The JSON form of one status entry (docs/gre-attach.md). */
export function statusJson(s: StatusEntry): Record<string, unknown> {
  const a = s.attached;
  return {
    interface: s.interface,
    ifindex: s.ifindex,
    kind: s.kind,
    attached: a !== undefined,
    kad: a?.kad !== undefined,
    program: a?.kad ?? null,
    programId: a?.progId ?? null,
    programName: a?.name ?? null,
    mode: a?.mode ?? null,
    local: s.endpoints === undefined ? null : addressText(s.endpoints.local),
    remote: s.endpoints === undefined ? null : addressText(s.endpoints.remote),
    counters: s.counters ?? null,
  };
}

function statusText(s: StatusEntry): string {
  const head = `${s.interface} (${s.kind}, ifindex ${s.ifindex})`;
  const a = s.attached;
  if (a === undefined) return `${head}: no XDP program\n`;
  if (a.kad === undefined) {
    return `${head}: XDP program '${a.name}' (id ${a.progId}, ${a.mode} mode), not kad's\n`;
  }
  const ends = s.endpoints === undefined
    ? "no endpoints (answers nothing)"
    : `local ${addressText(s.endpoints.local)}, remote ${addressText(s.endpoints.remote)}`;
  const c = s.counters;
  const counts = c === undefined
    ? "counters unavailable"
    : `replied ${c.replied}, passed ${c.passed}, malformed ${c.malformed}`;
  return `${head}: ${a.kad} keepalive program id ${a.progId}, ${a.mode} mode, ${ends}\n  ${counts}\n`;
}

function runStatus(o: GreAttachOptions): number {
  const entries = status(o.interface);
  if (o.json) {
    o.out(
      JSON.stringify({ version: GRE_JSON_VERSION, interfaces: entries.map(statusJson) }, null, 2) +
        "\n",
    );
  } else if (entries.length === 0) {
    o.out("no interface has kad's keepalive program attached\n");
  } else {
    o.out(entries.map(statusText).join(""));
  }
  return EXIT_OK;
}

const ACTION_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(XDP_ACTION).map(([k, v]) => [v, `XDP_${k}`]),
);

function runSelftest(o: GreAttachOptions): number {
  const results = selftest();
  const failed = results.filter((r) => !r.ok).length;
  if (o.json) {
    o.out(
      JSON.stringify(
        {
          version: GRE_JSON_VERSION,
          ok: failed === 0,
          cases: results.map((r) => ({ ...r, action: ACTION_NAMES[r.action] ?? String(r.action) })),
        },
        null,
        2,
      ) + "\n",
    );
  } else {
    o.out(results.map(selftestLine).join(""));
    o.out(`selftest: ${results.length - failed} of ${results.length} cases as expected\n`);
  }
  return failed === 0 ? EXIT_OK : EXIT_FAILED;
}

function selftestLine(r: SelftestResult): string {
  const action = ACTION_NAMES[r.action] ?? String(r.action);
  const notes = [
    action,
    r.unchanged ? "packet unchanged" : "PACKET CHANGED",
    `counted ${r.counted ?? "wrongly"}`,
    ...(r.modelAgrees ? [] : ["the reference classifier disagrees"]),
  ];
  return `${r.ok ? "ok  " : "FAIL"} ${r.program.padEnd(4)} ${r.name}: ${
    notes.join(", ")
  } (expected ${r.expect})\n`;
}
