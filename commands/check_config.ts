/**
 * `kad check-config`: load and validate a configuration, print diagnostics in keepalived's
 * shape (or JSON), optionally print the normalized configuration, and exit with a status
 * modelled on `keepalived -t` (docs/check-config.md).
 */
import { writeStdout } from "../lib/runtime/output.ts";
import { type Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { exitStatusFor, formatDiagnostic } from "../lib/config/diagnostic.ts";
import { loadConfig } from "../lib/config/load.ts";
import { checkHost } from "../lib/config/host_checks.ts";
import { checkGreInterfaces } from "../lib/config/schema/gre.ts";
import { checkScripts, denoScriptHost, findScripts } from "../lib/config/script_checks.ts";
import { printJson, printKeepalived, printToml } from "../lib/config/print.ts";
import { DEFAULT_KEY_STATE_PATH, KeyStateError } from "../lib/config/key_state.ts";
import { overlayKeyState, reportKeyOverlay } from "../lib/config/key_overlay.ts";
import { DiagClass } from "../lib/config/diagnostic.ts";
import { readKeyState } from "../lib/runtime/key_state_file.ts";
import { hostInterfaces } from "../lib/runtime/host.ts";
import { type Logger, stderrLogger } from "../lib/runtime/log.ts";

export type PrintFormat = "keepalived" | "toml" | "json";
export const PRINT_FORMATS: readonly PrintFormat[] = ["keepalived", "toml", "json"];

export interface CheckConfigOptions {
  file: string;
  configId?: string;
  json: boolean;
  print?: PrintFormat;
  allConfig: boolean;
  hostChecks: boolean;
  /** The key state to lay over the configuration (docs/rotate-key.md); false: none. */
  keyState: string | false;
  log: Logger;
}

/** The version of the `--json` report format (docs/check-config.md). */
export const CHECK_JSON_VERSION = 1;

/** Run the check; returns the exit status. */
export function checkConfig(opts: CheckConfigOptions): number {
  const t0 = performance.now();
  const res = loadConfig(opts.file, {
    ...(opts.configId !== undefined ? { configId: opts.configId } : {}),
    allConfig: opts.allConfig,
  });
  for (const f of res.files) opts.log.detail(`Opening file '${f}'.`);
  if (opts.hostChecks) {
    const interfaces = hostInterfaces();
    if (interfaces) {
      checkHost(res.config, { interfaces }, res.sink);
      checkGreInterfaces(res.config, interfaces, res.sink);
    }
    const g = res.config.global_defs;
    checkScripts(
      findScripts(res.config),
      {
        enableScriptSecurity: g?.enable_script_security ?? false,
        ...(g?.script_user !== undefined ? { scriptUser: g.script_user.user } : {}),
        hasVrrp: res.config.vrrp_instance.length > 0,
        hasChecker: res.config.virtual_server.length > 0,
      },
      denoScriptHost(),
      res.sink,
    );
  }
  if (opts.keyState !== false) {
    // What kad run would apply over this configuration (docs/rotate-key.md).
    try {
      const state = readKeyState(opts.keyState);
      const o = overlayKeyState(res.config, state, opts.keyState);
      reportKeyOverlay(o, res.config, opts.keyState, res.sink);
    } catch (e) {
      if (!(e instanceof KeyStateError)) throw e;
      res.sink.report(DiagClass.GENERAL_ERROR, `${e.message}; kad run would refuse to start`);
    }
  }
  const diags = res.sink.items;
  const status = exitStatusFor(diags);
  opts.log.detail(
    `Checked ${res.files.length} file(s) in ${(performance.now() - t0).toFixed(1)} ms`,
  );
  let printed: string | undefined;
  if (opts.print !== undefined) {
    const p = { showSecrets: false };
    printed = opts.print === "keepalived"
      ? printKeepalived(res.config, p)
      : opts.print === "toml"
      ? printToml(res.config, p)
      : printJson(res.config, p);
  }
  if (opts.json) {
    const report: Record<string, unknown> = {
      version: CHECK_JSON_VERSION,
      file: opts.file,
      files: res.files,
      status,
      errors: diags.filter((d) => d.severity === "error").length,
      warnings: diags.filter((d) => d.severity === "warning").length,
      dropped: res.sink.dropped,
      diagnostics: diags.map((d) => ({
        severity: d.severity,
        class: d.class,
        message: d.message,
        file: d.loc?.file ?? null,
        line: d.loc?.line ?? null,
        column: d.loc?.column ?? null,
        keyword: d.keyword ?? null,
      })),
    };
    if (printed !== undefined) {
      report.config = opts.print === "json" ? JSON.parse(printed) : printed;
    }
    writeStdout(JSON.stringify(report, null, 2) + "\n");
  } else {
    for (const d of diags) opts.log.info(formatDiagnostic(d));
    if (res.sink.dropped > 0) {
      opts.log.info(`${res.sink.dropped} further diagnostics were not shown`);
    }
    if (printed !== undefined) writeStdout(printed.endsWith("\n") ? printed : printed + "\n");
  }
  return status;
}

function parsePrintFormat(v: string): PrintFormat {
  if ((PRINT_FORMATS as readonly string[]).includes(v)) return v as PrintFormat;
  throw new InvalidArgumentError(`use one of ${PRINT_FORMATS.join(", ")}`);
}

/** The global options check-config reads (defined on the program in main.ts). */
interface GlobalOptions {
  useFile: string;
  configId?: string;
  logDetail?: true;
}

/** Add `check-config` to the program. */
export function registerCheckConfig(program: Command, exit: (code: number) => void): void {
  program
    .command("check-config")
    .description(
      "check a configuration: print diagnostics as (<file>: Line N) message and exit with keepalived -t's status codes",
    )
    .option("--json", "write the diagnostics as a JSON report on stdout")
    .addOption(
      new Option(
        "--print <FORMAT>",
        "write the normalized configuration (secrets masked): keepalived, toml or json",
      )
        .argParser(parsePrintFormat),
    )
    .option("-e, --all-config", "apply every include check (keepalived's -e)")
    .option(
      "--key-state <PATH>",
      "the auth_hmac key state kad run lays over the configuration (docs/rotate-key.md)",
      DEFAULT_KEY_STATE_PATH,
    )
    .option("--no-key-state", "ignore the key state: check the configuration alone")
    .option(
      "--no-host-checks",
      "do not check interfaces and scripts named in the configuration against this host",
    )
    .addHelpText(
      "after",
      "\nExit status: 0 no findings, 5 errors or warnings, 4 file not found / fatal,\n" +
        "2 missing parameter, 6 security error (see docs/check-config.md).",
    )
    .action((opts, cmd) => {
      const g = cmd.optsWithGlobals() as unknown as GlobalOptions;
      exit(checkConfig({
        file: g.useFile,
        ...(g.configId !== undefined ? { configId: g.configId } : {}),
        json: opts.json ?? false,
        ...(opts.print !== undefined ? { print: opts.print } : {}),
        allConfig: opts.allConfig ?? false,
        hostChecks: opts.hostChecks,
        keyState: opts.keyState,
        log: stderrLogger(g.logDetail ?? false),
      }));
    });
}
