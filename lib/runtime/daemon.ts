/**
 * The lifecycle of `kad run` (spec/vrrp.md §3.8, §6.1–6.2): load and check the
 * configuration (refusing to start on fatal problems, with check-config's diagnostics),
 * say plainly what is and is not run, write the pid file, start the VRRP engine and the
 * GRE keepalive manager on one reactor, and handle signals — SIGTERM/SIGINT stop (MASTERs
 * resign with priority 0 and remove their addresses unless `--dont-release-vrrp`),
 * SIGHUP reloads: parse, check, lay the auth_hmac key state over it (docs/rotate-key.md),
 * apply; a configuration (or key state) that fails keeps the running one;
 * SIGUSR1, SIGUSR2, JSON and STATS_CLEAR write keepalived's dump files (§6.3–6.6); and
 * serve the control socket that `kad dump` reads (docs/control-protocol.md).
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
import { type InstanceKeys, resolveHmacKeys, wipeKeys } from "../config/hmac_keys.ts";
import { type KeyOverlay, overlayKeyState } from "../config/key_overlay.ts";
import { DEFAULT_KEY_STATE_PATH, EMPTY_KEY_STATE, KeyStateError } from "../config/key_state.ts";
import { readKeyState } from "./key_state_file.ts";
import { KeyRotation } from "./key_rotation.ts";
import { denoFs } from "../config/source.ts";
import { checkHost } from "../config/host_checks.ts";
import { checkGreInterfaces } from "../config/schema/gre.ts";
import type { KadConfig } from "../config/schema/root.ts";
import { describeVs } from "../config/schema/lvs_types.ts";
import { GreKeepaliveManager, specsFromConfig } from "../net/gre_manager.ts";
import { VrrpEngine, zeroEngineStats } from "../vrrp/engine.ts";
import { ControlServer, ControlSocketError } from "../control/server.ts";
import { DEFAULT_CONTROL_SOCKET } from "../control/protocol.ts";
import type { DumpInput } from "../vrrp/snapshot.ts";
import { keepalivedJson } from "../vrrp/keepalived_json.ts";
import { dataDump } from "../vrrp/data_dump.ts";
import { effectiveGlobals } from "../config/schema/vrrp_check.ts";
import denoJson from "../../deno.json" with { type: "json" };
import { daemonCommands } from "./daemon_commands.ts";
import {
  dataDumpPath,
  dumpDirectory,
  type DumpNaming,
  jsonDumpPath,
  statsDumpPath,
  writeDumpFile,
} from "./dump_files.ts";
import { hostInterfaces } from "./host.ts";
import type { Logger } from "./log.ts";
import { Reactor } from "./reactor.ts";
import { type RealtimeSignalName, RealtimeSignalSource } from "./rt_signals.ts";

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
  /** The control socket (`--control-socket`); default DEFAULT_CONTROL_SOCKET. */
  readonly controlSocket?: string;
  /** The auth_hmac key state (`--key-state`, docs/rotate-key.md); default DEFAULT_KEY_STATE_PATH. */
  readonly keyStatePath?: string;
  /**
   * Why the JSON and STATS_CLEAR signals cannot be taken from a signalfd (the result of
   * lib/runtime/rt_signals.ts `blockRealtimeSignals`); undefined when they can.
   */
  readonly realtimeSignalsProblem?: string | undefined;
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
  /** What runs: the configuration with the key state applied (docs/rotate-key.md). */
  readonly config: KadConfig;
  /** The configuration as loaded, without the key state. */
  readonly baseConfig: KadConfig;
  /** The key state over the configuration (an empty one when it is unusable: see refusals). */
  readonly keyOverlay: KeyOverlay;
  readonly diagnostics: readonly Diagnostic[];
  /** Why it cannot be run; empty when it can. */
  readonly refusals: readonly string[];
  /** Configured things `kad run` does not do yet, to say at start. */
  readonly notRun: readonly string[];
  /**
   * The auth_hmac key bytes per instance (inline, `hex:` and key files read now). The
   * caller hands them to the engine and then wipes them (`wipeKeys`).
   */
  readonly keys: Map<string, InstanceKeys>;
  /** Key problems that do not stop it (a key file readable by others), to log. */
  readonly keyWarnings: readonly string[];
}

function where(loc: SourceLoc | undefined): string {
  return loc === undefined ? "" : ` (${loc.file}: Line ${loc.line})`;
}

/**
 * Loads `file` and judges it for running: check-config's diagnostics (load and host
 * interface checks; scripts are not checked because `kad run` runs none yet), the problems
 * that stop it from starting, and what it will not run.
 */
export function checkForRun(
  file: string,
  configId?: string,
  keyStatePath: string = DEFAULT_KEY_STATE_PATH,
): CheckedConfig {
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
  // docs/rotate-key.md: what `kad rotate-key` changed is laid over the configuration. An
  // unusable key state stops kad: the configuration alone could bring retired keys back.
  let keyOverlay: KeyOverlay;
  try {
    keyOverlay = overlayKeyState(res.config, readKeyState(keyStatePath), keyStatePath);
  } catch (e) {
    if (!(e instanceof KeyStateError)) throw e;
    refusals.push(e.message);
    keyOverlay = overlayKeyState(res.config, EMPTY_KEY_STATE, keyStatePath);
  }
  refusals.push(...keyOverlay.problems);
  const config = keyOverlay.config;
  // §2.3.10: key files are read at start and at every reload; a key that cannot be used
  // stops kad (running the instance unauthenticated, as keepalived would, is not safe).
  const { keys, problems } = resolveHmacKeys(config, denoFs);
  const keyWarnings: string[] = [];
  for (const k of problems) {
    const o = keyOverlay.origins.get(k.instance)?.get(k.keyId);
    const at = o?.from === "key-state"
      ? ` (added with 'kad rotate-key add', recorded in key state ${keyStatePath})`
      : where(k.loc);
    if (k.severity === "error") refusals.push(`${k.message}${at}`);
    else keyWarnings.push(`${k.message}${at}`);
  }
  if (refusals.length > 0) {
    wipeKeys(keys);
    keys.clear();
  }
  return {
    config,
    baseConfig: res.config,
    keyOverlay,
    diagnostics,
    refusals,
    notRun,
    keys,
    keyWarnings,
  };
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
  const keyStatePath = opts.keyStatePath ?? DEFAULT_KEY_STATE_PATH;
  const first = checkForRun(opts.configFile, opts.configId, keyStatePath);
  printDiagnostics(log, first.diagnostics);
  if (first.refusals.length > 0) {
    for (const r of first.refusals) log.error(`kad run: not starting: ${r}`);
    return EXIT.CONFIG;
  }
  let config = first.config;
  log.info(
    `kad run: starting with ${opts.configFile} (pid ${Deno.pid}); running the VRRP side only (keepalived's --vrrp)`,
  );
  announce(log, config, first.notRun, first.keyWarnings);

  const written: string[] = [];
  try {
    for (const p of opts.pidFiles) {
      writePidFile(p);
      written.push(p);
    }
  } catch (e) {
    log.error(`kad run: not starting: ${e instanceof Error ? e.message : e}`);
    for (const p of written) removePidFile(p);
    wipeKeys(first.keys);
    return EXIT.FAILED;
  }

  const startedAtMs = performance.timeOrigin + performance.now();
  const reactor = Reactor.create({ log });
  let gre: GreKeepaliveManager | undefined;
  let engine: VrrpEngine | undefined;
  let control: ControlServer | undefined;
  const socketPath = opts.controlSocket ?? DEFAULT_CONTROL_SOCKET;
  const rotation = new KeyRotation({
    statePath: keyStatePath,
    log,
    engine: () => engine,
    onChange: (next) => (config = next),
  });
  const dumpInput = (): DumpInput => ({
    clock: wallClock(engine?.nowUs() ?? reactor.now() * 1000),
    daemon: {
      pid: Deno.pid,
      version: denoJson.version,
      configFile: opts.configFile,
      controlSocket: control === undefined ? null : socketPath,
      startedAtMs,
    },
    engine: engine?.stats ?? zeroEngineStats(),
    loop: reactor.stats,
    control: control?.stats ?? null,
    instances: engine?.instanceSources() ?? [],
  });
  // Before anything touches the kernel: a second daemon on the same socket must not start
  // (it would remove the running one's VIPs as leftovers).
  try {
    control = ControlServer.open({
      path: socketPath,
      reactor,
      log,
      table: daemonCommands({ pid: Deno.pid, version: denoJson.version, dumpInput, rotation }),
    });
    log.info(`kad run: control socket ${socketPath} ('kad dump' and 'kad rotate-key' use it)`);
  } catch (e) {
    if (e instanceof ControlSocketError && e.kind === "in_use") {
      log.error(`kad run: not starting: ${e.message}`);
      reactor.close();
      for (const p of written) removePidFile(p);
      wipeKeys(first.keys);
      return EXIT.FAILED;
    }
    log.error(
      `kad run: ${
        e instanceof Error ? e.message : e
      }; running without a control socket ('kad dump' will not reach this daemon)`,
    );
  }
  try {
    engine = VrrpEngine.open({ reactor, log, onLinkEvent: () => gre?.linkChanged() });
  } catch (e) {
    log.error(
      `kad run: not starting: ${
        e instanceof Error ? e.message : e
      }; kad run needs root (CAP_NET_ADMIN and CAP_NET_RAW)`,
    );
    control?.close();
    reactor.close();
    for (const p of written) removePidFile(p);
    wipeKeys(first.keys);
    return EXIT.FAILED;
  }
  const running = engine;
  let status: number = EXIT.OK;
  let rt: RealtimeSignalSource | undefined;
  try {
    try {
      running.start(config, first.keys);
    } finally {
      // The instances hold their own copies in their key rings.
      wipeKeys(first.keys);
    }
    rotation.loaded(first.baseConfig, first.keyOverlay);
    gre = startGre(config, log);
    let stopping = false;
    const dumps = () => dumpFiles(config, running, log, dumpInput);
    rt = RealtimeSignalSource.open(
      reactor,
      (signal) => {
        if (!stopping) dumps().onRealtime(signal);
      },
      log,
      opts.realtimeSignalsProblem,
    );
    reactor.handleSignals((signal) => {
      if (signal === "SIGHUP") {
        if (stopping) return;
        const next = reload(opts, log, running, rotation);
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
      if (signal === "SIGUSR1") {
        dumps().data();
        return;
      }
      if (signal === "SIGUSR2") {
        dumps().stats();
        return;
      }
      if (stopping) return;
      stopping = true;
      log.info(
        `kad run: ${signal} received; stopping${
          opts.release ? "" : " (--dont-release-vrrp: the VIPs stay in place)"
        }`,
      );
      running.shutdown(opts.release);
      reactor.stop();
    }, ["SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2"]);
    log.info(`kad run: ${running.instances.length} VRRP instance(s) running`);
    await reactor.run();
  } catch (e) {
    log.error(`kad run: stopping after an error: ${e instanceof Error ? e.message : e}`);
    running.shutdown(opts.release);
    status = EXIT.FAILED;
  } finally {
    gre?.stop();
    rt?.close();
    control?.close();
    running.close();
    reactor.close();
    for (const p of written) removePidFile(p);
  }
  log.info("kad run: stopped");
  return status;
}

/** Says what runs and what does not (issue: never drop configuration silently). */
function announce(
  log: Logger,
  config: KadConfig,
  notRun: readonly string[],
  keyWarnings: readonly string[],
): void {
  for (const w of keyWarnings) log.warn(`kad run: ${w}`);
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
 * A clock reading for the dumps: the instances' monotonic clock (the reactor's,
 * `performance.now()`) and the wall clock derived from it through the process's time
 * origin, so that a transition's wall-clock time is the same in every dump (reading
 * Date.now() separately would make it wobble by its millisecond resolution). A step of the
 * system clock after start is not followed; slewing is (both clocks are slewed alike).
 */
function wallClock(nowUs: number): { nowUs: number; wallMs: number } {
  return { nowUs, wallMs: performance.timeOrigin + nowUs / 1000 };
}

/** Where the dump files of `config` go (§6.3). */
export function dumpNaming(config: KadConfig, tmpdir: string = dumpDirectory()): DumpNaming {
  const g = config.global_defs;
  return {
    tmpdir,
    stateDumpFile: g?.state_dump_file,
    statsDumpFile: g?.stats_dump_file,
    jsonDumpFile: g?.json_dump_file,
    dataUseInstance: g?.data_use_instance ?? false,
    netns: config.net_namespace,
    instance: config.instance,
  };
}

/**
 * keepalived's signal dumps (§6.2–6.6), each written through a temporary file, mode 0600:
 * SIGUSR1 the data dump, SIGUSR2 the statistics, STATS_CLEAR the statistics and then zero
 * counters, JSON the JSON dump (only when there is an instance, as keepalived does).
 */
function dumpFiles(
  config: KadConfig,
  engine: VrrpEngine,
  log: Logger,
  input: () => DumpInput,
) {
  const naming = dumpNaming(config);
  const write = (what: string, path: string, text: () => string): boolean => {
    try {
      writeDumpFile(path, text());
      log.info(`kad run: ${what} written to ${path}`);
      return true;
    } catch (e) {
      log.error(
        `kad run: ${what} cannot be written to ${path}: ${e instanceof Error ? e.message : e}`,
      );
      return false;
    }
  };
  const stats = () => write("statistics", statsDumpPath(naming), () => engine.statsText());
  const data = () =>
    write("data dump", dataDumpPath(naming), () => {
      const i = input();
      return dataDump(i.instances, config, effectiveGlobals(config), i.clock, Deno.hostname());
    });
  const json = () => {
    if (engine.instances.length === 0) {
      log.info("kad run: JSON signal received; no VRRP instance, so no JSON dump (as keepalived)");
      return;
    }
    const version = config.global_defs?.json_version === 2 ? 2 : 1;
    write(`JSON dump (json_version ${version})`, jsonDumpPath(naming), () => {
      const i = input();
      return keepalivedJson(i.instances, config, i.clock, version);
    });
  };
  return {
    data,
    stats,
    onRealtime(signal: RealtimeSignalName): void {
      if (signal === "JSON") return json();
      // STATS_CLEAR: the statistics as they were, then every counter back to zero.
      if (stats()) engine.clearCounters();
    },
  };
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
  rotation: KeyRotation,
): KadConfig | undefined {
  log.info(`kad run: SIGHUP received; reloading ${opts.configFile}`);
  let next: CheckedConfig;
  try {
    next = checkForRun(opts.configFile, opts.configId, rotation.statePath);
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
  announce(log, next.config, next.notRun, next.keyWarnings);
  let r: ReturnType<VrrpEngine["apply"]>;
  try {
    r = engine.apply(next.config, next.keys);
  } finally {
    wipeKeys(next.keys);
  }
  rotation.loaded(next.baseConfig, next.keyOverlay);
  log.info(
    `kad run: reloaded: ${r.kept.length} instance(s) unchanged, restarted [${
      r.restarted.join(", ")
    }], added [${r.added.join(", ")}], removed [${r.removed.join(", ")}], authentication reset [${
      r.rekeyed.join(", ")
    }]`,
  );
  return next.config;
}
