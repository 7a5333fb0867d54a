/**
 * The lifecycle of `kad run` (spec/vrrp.md §3.8, §6.1–6.2): load and check the
 * configuration (refusing to start on fatal problems, with check-config's diagnostics),
 * say plainly what is and is not run, write the pid file, start the VRRP engine and the
 * GRE keepalive manager on one reactor, and handle signals — SIGTERM/SIGINT stop (MASTERs
 * resign with priority 0 and remove their addresses unless `--dont-release-vrrp`),
 * SIGHUP reloads: parse, check, apply; a configuration that fails keeps the running one;
 * SIGUSR2 writes keepalived.stats.
 *
 * It owns the process-level decisions only. What an instance does is lib/vrrp's; the
 * command line is commands/run.ts's. It must not exit the process itself (it returns the
 * exit status) and must not touch kernel state other than through the engine and the
 * GRE manager.
 */
import {
  DiagClass,
  type Diagnostic,
  exitStatusFor,
  formatDiagnostic,
  type SourceLoc,
} from "../config/diagnostic.ts";
import { loadConfig } from "../config/load.ts";
import { checkHost } from "../config/host_checks.ts";
import { checkGreInterfaces } from "../config/schema/gre.ts";
import type { KadConfig } from "../config/schema/root.ts";
import { describeVs } from "../config/schema/lvs_types.ts";
import { GreKeepaliveManager, specsFromConfig } from "../net/gre_manager.ts";
import { VrrpEngine } from "../vrrp/engine.ts";
import { hostInterfaces } from "./host.ts";
import type { Logger } from "./log.ts";
import { Reactor } from "./reactor.ts";

/** How `kad run` was asked to run. */
export interface DaemonOptions {
  readonly configFile: string;
  /** keepalived's `-i`. */
  readonly configId?: string;
  /** Pid files to write (`-p`, `-r`); removed at exit. */
  readonly pidFiles: readonly string[];
  /** False with `--dont-release-vrrp`: leave VIPs in place and send no priority-0 advert. */
  readonly release: boolean;
  readonly log: Logger;
}

/** Exit statuses of `kad run` (keepalived's normal ones, §6.1, and check-config's 4). */
export const EXIT = {
  OK: 0,
  /** Could not start: privileges, sockets, pid file. */
  FAILED: 1,
  /** The configuration is unusable (check-config's "fatal" status). */
  CONFIG: 4,
} as const;

/** The outcome of loading and checking a configuration for running. */
export interface CheckedConfig {
  readonly config: KadConfig;
  readonly diagnostics: readonly Diagnostic[];
  /** Why it cannot be run; empty when it can. */
  readonly refusals: readonly string[];
  /** Configured things `kad run` does not do yet, to say at start. */
  readonly notRun: readonly string[];
}

function where(loc: SourceLoc | undefined): string {
  return loc === undefined ? "" : ` (${loc.file}: Line ${loc.line})`;
}

/**
 * Loads `file` and judges it for running: check-config's diagnostics (load and host
 * interface checks; scripts are not checked because `kad run` runs none yet), the problems
 * that stop it from starting, and what it will not run.
 */
export function checkForRun(file: string, configId?: string): CheckedConfig {
  const res = loadConfig(file, configId === undefined ? {} : { configId });
  const interfaces = hostInterfaces();
  if (interfaces !== undefined) {
    checkHost(res.config, { interfaces }, res.sink);
    checkGreInterfaces(res.config, interfaces, res.sink);
  }
  const diagnostics = res.sink.items;
  const refusals: string[] = [];
  const status = exitStatusFor(diagnostics);
  if (status === 4) {
    const fatal = diagnostics.filter((d) =>
      d.class === DiagClass.FATAL || d.class === DiagClass.FILE_NOT_FOUND ||
      d.class === DiagClass.BAD_IF
    );
    refusals.push(
      `the configuration has ${fatal.length} fatal error(s) (check-config exit status 4); fix them and start again`,
    );
  }
  const { refuse, notRun } = judge(res.config);
  refusals.push(...refuse);
  return { config: res.config, diagnostics, refusals, notRun };
}

/** What in a loaded configuration stops `kad run`, and what it leaves unrun. */
export function judge(cfg: KadConfig): { refuse: string[]; notRun: string[] } {
  const refuse: string[] = [];
  const notRun: string[] = [];
  if (cfg.net_namespace !== undefined) {
    refuse.push(
      `net_namespace '${cfg.net_namespace}' is not supported by kad run${
        where(cfg.$loc.net_namespace)
      }; start kad inside the namespace instead (ip netns exec ${cfg.net_namespace} kad run …) and remove the keyword`,
    );
  }
  for (const inst of cfg.vrrp_instance) {
    const p = `vrrp_instance ${inst.header}`;
    if (inst.virtual_router_id === undefined) {
      refuse.push(
        `${p} has no virtual_router_id${where(inst.$at)}; add 'virtual_router_id N' (1 to 255)`,
      );
    }
    if (inst.interface === undefined) {
      refuse.push(
        `${p} has no interface${
          where(inst.$at)
        }; interface-less unicast instances are not supported by kad run yet - add 'interface IFNAME'`,
      );
    }
    if (inst.authentication?.auth_type === "AH") {
      refuse.push(
        `${p} uses 'auth_type AH'${
          where(inst.authentication.$loc.auth_type)
        }, which kad run does not support yet; its peers would reject every advert - use keepalived for this instance`,
      );
    }
    if (inst.auth_hmac !== undefined) {
      refuse.push(
        `${p} uses auth_hmac${
          where(inst.$loc.auth_hmac)
        }, which kad run does not support yet; its peers would reject every advert - remove it or use keepalived`,
      );
    }
    const trackers = [
      ...inst.track_script.map((t) => `track_script ${t.name}`),
      ...inst.track_process.map((t) => `track_process ${t.name}`),
      ...inst.track_bfd.map((t) => `track_bfd ${t.name}`),
    ];
    if (trackers.length > 0) {
      notRun.push(
        `${p}: ${
          trackers.join(", ")
        } - not run yet; each counts as failed (its weight applies, weight 0 means FAULT)`,
      );
    }
    if (inst.track_file.length > 0) {
      notRun.push(
        `${p}: ${
          inst.track_file.map((t) => `track_file ${t.name}`).join(", ")
        } - not read yet; each counts as value 0`,
      );
    }
    const scripts = ([
      "notify_master",
      "notify_backup",
      "notify_fault",
      "notify_stop",
      "notify",
      "notify_deleted",
      "notify_master_rx_lower_pri",
    ] as const).filter((k) => inst[k] !== undefined);
    if (scripts.length > 0) {
      notRun.push(`${p}: ${scripts.join(", ")} - notify scripts are not run yet`);
    }
    if (!inst.accept) {
      notRun.push(
        `${p}: accept mode is off (no_accept or strict mode) - kad installs no firewall rules yet; the VIPs accept traffic`,
      );
    }
    if (inst.use_vmac !== undefined || inst.use_ipvlan !== undefined) {
      notRun.push(
        `${p}: ${
          inst.use_vmac !== undefined ? "use_vmac" : "use_ipvlan"
        } - not supported yet; adverts and VIPs use ${inst.interface ?? "the interface"} itself`,
      );
    }
    if (inst.garp_extra_if !== undefined) notRun.push(`${p}: garp_extra_if - not sent yet`);
    if (inst.promote_secondaries) {
      notRun.push(`${p}: promote_secondaries - the interface setting is not changed`);
    }
  }
  if (cfg.vrrp_sync_group.length > 0) {
    notRun.push(
      `vrrp_sync_group ${
        cfg.vrrp_sync_group.map((g) => g.header).join(", ")
      } - not supported yet; the member instances change state independently`,
    );
  }
  const statics = [
    ["static_ipaddress", cfg.static_ipaddress.length],
    ["static_routes", cfg.static_routes.length],
    ["static_rules", cfg.static_rules.length],
  ] as const;
  for (const [k, n] of statics) {
    if (n > 0) notRun.push(`${k} (${n} entries) - not installed by kad run yet`);
  }
  const g = cfg.global_defs;
  if (g !== undefined) {
    if (g.notify_fifo !== undefined || g.vrrp_notify_fifo !== undefined) {
      notRun.push("notify_fifo / vrrp_notify_fifo - not written yet");
    }
    if (g.vrrp_garp_interval > 0 || g.vrrp_gna_interval > 0 || cfg.garp_group.length > 0) {
      notRun.push("vrrp_garp_interval / vrrp_gna_interval / garp_group - GARPs are not spaced yet");
    }
  }
  if (cfg.interface_up_down_delays.length > 0) {
    notRun.push("interface_up_down_delays - interface changes take effect at once");
  }
  if (cfg.linkbeat_interfaces.length > 0) {
    notRun.push("linkbeat_interfaces - link state comes from netlink events");
  }
  return { refuse, notRun };
}

/** The configuration of the health-checker side, which `kad run` does not run (§6.1 `--vrrp`). */
export function checkerSide(cfg: KadConfig): string[] {
  const out: string[] = [];
  for (const vs of cfg.virtual_server) out.push(`${describeVs(vs.header)}${where(vs.$at)}`);
  for (const g of cfg.virtual_server_group) {
    out.push(`virtual_server_group ${g.header}${where(g.$at)}`);
  }
  for (const b of cfg.bfd_instance) out.push(`bfd_instance ${b.header}${where(b.$at)}`);
  return out;
}

// ---- pid files ----

function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes our pid to `path`. Refuses (throws an Error) when the file names another
 * running process: another kad or keepalived is probably running.
 */
export function writePidFile(path: string): void {
  let old: number | undefined;
  try {
    old = parseInt(Deno.readTextFileSync(path).trim(), 10);
  } catch {
    old = undefined;
  }
  if (
    old !== undefined && Number.isInteger(old) && old > 0 && old !== Deno.pid && processAlive(old)
  ) {
    throw new Error(
      `pid file '${path}' names running process ${old}; stop it first, or remove the file if it is not kad or keepalived`,
    );
  }
  try {
    Deno.writeTextFileSync(path, `${Deno.pid}\n`, { mode: 0o644 });
  } catch (e) {
    throw new Error(`pid file '${path}' cannot be written: ${e instanceof Error ? e.message : e}`);
  }
}

/** Removes `path` if it still holds our pid. */
export function removePidFile(path: string): void {
  try {
    if (parseInt(Deno.readTextFileSync(path).trim(), 10) === Deno.pid) Deno.removeSync(path);
  } catch {
    // Already gone: nothing to do.
  }
}

// ---- the daemon ----

function printDiagnostics(log: Logger, diags: readonly Diagnostic[]): void {
  for (const d of diags) {
    const line = formatDiagnostic(d);
    if (d.severity === "error") log.error(line);
    else if (d.severity === "warning") log.warn(line);
    else log.info(line);
  }
}

/**
 * Runs `kad run` until SIGTERM or SIGINT; returns the exit status.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await runDaemon({ configFile: "/etc/keepalived/keepalived.conf", pidFiles: [],
 *   release: true, log: stderrLogger(false) }));
 * ```
 */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const log = opts.log;
  const first = checkForRun(opts.configFile, opts.configId);
  printDiagnostics(log, first.diagnostics);
  if (first.refusals.length > 0) {
    for (const r of first.refusals) log.error(`kad run: not starting: ${r}`);
    return EXIT.CONFIG;
  }
  let config = first.config;
  log.info(
    `kad run: starting with ${opts.configFile} (pid ${Deno.pid}); running the VRRP side only (keepalived's --vrrp)`,
  );
  announce(log, config, first.notRun);

  const written: string[] = [];
  try {
    for (const p of opts.pidFiles) {
      writePidFile(p);
      written.push(p);
    }
  } catch (e) {
    log.error(`kad run: not starting: ${e instanceof Error ? e.message : e}`);
    for (const p of written) removePidFile(p);
    return EXIT.FAILED;
  }

  const reactor = Reactor.create({ log });
  let gre: GreKeepaliveManager | undefined;
  let engine: VrrpEngine;
  try {
    engine = VrrpEngine.open({ reactor, log, onLinkEvent: () => gre?.linkChanged() });
  } catch (e) {
    log.error(
      `kad run: not starting: ${
        e instanceof Error ? e.message : e
      }; kad run needs root (CAP_NET_ADMIN and CAP_NET_RAW)`,
    );
    reactor.close();
    for (const p of written) removePidFile(p);
    return EXIT.FAILED;
  }
  let status: number = EXIT.OK;
  try {
    engine.start(config);
    gre = startGre(config, log);
    let stopping = false;
    reactor.handleSignals((signal) => {
      if (signal === "SIGHUP") {
        if (stopping) return;
        const next = reload(opts, log, engine);
        if (next !== undefined) {
          const before = JSON.stringify(config.gre_keepalive);
          config = next;
          if (JSON.stringify(next.gre_keepalive) !== before) {
            gre?.stop();
            gre = startGre(next, log);
          }
        }
        return;
      }
      if (signal === "SIGUSR2") {
        writeStats(engine, log);
        return;
      }
      if (stopping) return;
      stopping = true;
      log.info(
        `kad run: ${signal} received; stopping${
          opts.release ? "" : " (--dont-release-vrrp: the VIPs stay in place)"
        }`,
      );
      engine.shutdown(opts.release);
      reactor.stop();
    }, ["SIGTERM", "SIGINT", "SIGHUP", "SIGUSR2"]);
    log.info(`kad run: ${engine.instances.length} VRRP instance(s) running`);
    await reactor.run();
  } catch (e) {
    log.error(`kad run: stopping after an error: ${e instanceof Error ? e.message : e}`);
    engine.shutdown(opts.release);
    status = EXIT.FAILED;
  } finally {
    gre?.stop();
    engine.close();
    reactor.close();
    for (const p of written) removePidFile(p);
  }
  log.info("kad run: stopped");
  return status;
}

/** Says what runs and what does not (issue: never drop configuration silently). */
function announce(log: Logger, config: KadConfig, notRun: readonly string[]): void {
  const checker = checkerSide(config);
  if (checker.length > 0) {
    log.warn(
      `kad run: the health-checker side is not run (VRRP only); not running ${checker.length} item(s):`,
    );
    for (const c of checker) log.warn(`  not running ${c}`);
  }
  if (notRun.length > 0) {
    log.warn(`kad run: configured but not done yet by kad run:`);
    for (const n of notRun) log.warn(`  ${n}`);
  }
  if (config.vrrp_instance.length === 0 && config.gre_keepalive.length === 0) {
    log.warn("kad run: no vrrp_instance is configured; nothing runs until a reload adds one");
  }
}

/**
 * `<tmpdir>` of keepalived's dump files (§6.3): $TMPDIR when it is an absolute path to an
 * existing directory, else /tmp.
 */
export function dumpDirectory(): string {
  const t = Deno.env.get("TMPDIR");
  if (t !== undefined && t.startsWith("/")) {
    try {
      if (Deno.statSync(t).isDirectory) return t.replace(/\/+$/, "") || "/";
    } catch {
      // Not there: the default.
    }
  }
  return "/tmp";
}

/** SIGUSR2 (§6.2–6.4): keepalived.stats, written through a temporary file, mode 0600. */
function writeStats(engine: VrrpEngine, log: Logger): void {
  const path = `${dumpDirectory()}/keepalived.stats`;
  const tmp = `${path}.${Deno.pid}.tmp`;
  try {
    Deno.writeTextFileSync(tmp, engine.statsText(), { mode: 0o600 });
    Deno.renameSync(tmp, path);
    log.info(`kad run: statistics written to ${path}`);
  } catch (e) {
    log.error(
      `kad run: statistics cannot be written to ${path}: ${e instanceof Error ? e.message : e}`,
    );
  }
}

function startGre(config: KadConfig, log: Logger): GreKeepaliveManager | undefined {
  if (config.gre_keepalive.length === 0) return undefined;
  const m = new GreKeepaliveManager(specsFromConfig(config.gre_keepalive), { log });
  m.start();
  return m;
}

/**
 * SIGHUP (§3.8, simple form): parse and check the file again; on any refusal keep the
 * running configuration and say why; otherwise apply it. Returns the new configuration,
 * or undefined when the old one stays.
 */
function reload(
  opts: DaemonOptions,
  log: Logger,
  engine: VrrpEngine,
): KadConfig | undefined {
  log.info(`kad run: SIGHUP received; reloading ${opts.configFile}`);
  let next: CheckedConfig;
  try {
    next = checkForRun(opts.configFile, opts.configId);
  } catch (e) {
    log.error(
      `kad run: reload failed, keeping the running configuration: ${
        e instanceof Error ? e.message : e
      }`,
    );
    return undefined;
  }
  printDiagnostics(log, next.diagnostics);
  if (next.refusals.length > 0) {
    for (const r of next.refusals) {
      log.error(`kad run: reload refused, keeping the running configuration: ${r}`);
    }
    return undefined;
  }
  announce(log, next.config, next.notRun);
  const r = engine.apply(next.config);
  log.info(
    `kad run: reloaded: ${r.kept.length} instance(s) unchanged, restarted [${
      r.restarted.join(", ")
    }], added [${r.added.join(", ")}], removed [${r.removed.join(", ")}]`,
  );
  return next.config;
}
