/**
 * kad's command line: global options in keepalived's spelling and one subcommand per
 * file in commands/. Only subcommands that work are registered. Wiring only — no logic.
 */
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import denoJson from "./deno.json" with { type: "json" };
import { checkConfig, PRINT_FORMATS, type PrintFormat } from "./commands/check_config.ts";
import { stderrLogger } from "./lib/runtime/log.ts";

export const VERSION: string = denoJson.version;
export const DEFAULT_CONFIG = "/etc/keepalived/keepalived.conf";

function parsePrintFormat(v: string): PrintFormat {
  if ((PRINT_FORMATS as readonly string[]).includes(v)) return v as PrintFormat;
  throw new InvalidArgumentError(`use one of ${PRINT_FORMATS.join(", ")}`);
}

export function buildProgram(exit: (code: number) => void): Command {
  const program = new Command()
    .name("kad")
    .description(
      "keepalived-compatible high availability toolkit: VRRP failover and IPVS load balancing",
    )
    .version(VERSION, "-v, --version", "print the version and exit")
    .option("-f, --use-file <FILE>", "configuration file (keepalived.conf syntax, or .toml)", DEFAULT_CONFIG)
    .option("-i, --config-id <ID>", "config-id for @ID conditional lines (default: host name up to the first dot)")
    .option("-l, --log-console", "log to the console (kad always logs to stderr; accepted for keepalived compatibility)")
    .option("-D, --log-detail", "detailed logging")
    .showHelpAfterError("(run 'kad --help' for usage)")
    .addHelpCommand("help [command]", "show help for a command");

  program
    .command("check-config")
    .description(
      "check a configuration: print diagnostics as (<file>: Line N) message and exit with keepalived -t's status codes",
    )
    .option("--json", "write the diagnostics as a JSON report on stdout")
    .addOption(
      new Option("--print <FORMAT>", "write the normalized configuration (secrets masked): keepalived, toml or json")
        .argParser(parsePrintFormat),
    )
    .option("-e, --all-config", "apply every include check (keepalived's -e)")
    .option("--no-host-checks", "do not check that interfaces named in the configuration exist on this host")
    .addHelpText(
      "after",
      "\nExit status: 0 no findings, 5 errors or warnings, 4 file not found / fatal,\n" +
        "2 missing parameter, 6 security error (see docs/check-config.md).",
    )
    .action((opts, cmd) => {
      const g = cmd.optsWithGlobals();
      exit(checkConfig({
        file: g.useFile,
        ...(g.configId !== undefined ? { configId: g.configId } : {}),
        json: opts.json ?? false,
        ...(opts.print !== undefined ? { print: opts.print } : {}),
        allConfig: opts.allConfig ?? false,
        hostChecks: opts.hostChecks,
        log: stderrLogger(g.logDetail ?? false),
      }));
    });

  return program as unknown as Command;
}

async function main(): Promise<void> {
  let code = 0;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(Deno.args, { from: "user" });
  } catch (e) {
    // Nothing the user typed should end in a stack trace; show one only with -D.
    const detail = Deno.args.includes("-D") || Deno.args.includes("--log-detail");
    console.error(`kad: internal error: ${e instanceof Error ? e.message : String(e)}`);
    if (detail && e instanceof Error && e.stack) console.error(e.stack);
    else console.error("kad: run again with -D for details, and please report it");
    code = 70;
  }
  Deno.exit(code);
}

if (import.meta.main) await main();
