/**
 * Attaching kad's GRE keepalive programs (docs/gre-attach.md): find the tunnel device and
 * its endpoints, load the embedded object, attach, replace, detach, report status, and run
 * the built-in packets through freshly loaded programs (`--selftest`). Used by
 * `kad gre-attach` and by the daemon's manager (lib/net/gre_manager.ts).
 *
 * Owns the rules: which program for which device, when an attached program is kad's (its
 * kernel name), what "already attached" means (same program code: only the endpoints are
 * refreshed), and the user-facing errors. It acts in the caller's network namespace, reads
 * interfaces from /sys/class/net, and must not touch XDP programs that are not kad's unless
 * asked to (`replace`, `force`). Kernel calls go through ffi/libbpf.ts only.
 */
import { errorText } from "../runtime/error_text.ts";
import {
  BpfObject,
  closeFd,
  ERRNO,
  LibbpfError,
  mapFdById,
  mapInfo,
  mapLookup,
  mapUpdate,
  numPossibleCpus,
  progFdById,
  progInfo,
  progTestRun,
  XDP_ACTION,
  XDP_ATTACHED,
  XDP_FLAGS,
  xdpAttach,
  xdpDetach,
  xdpQuery,
} from "../../ffi/libbpf.ts";
import { xdpObject } from "./xdp_objects.ts";
import {
  classify,
  CONFIG_MAP,
  COUNTERS_MAP,
  COUNTERS_VALUE_SIZE,
  decodeConfig,
  decodeCounters,
  encodeConfig,
  GRE_FUNCTIONS,
  GRE_OBJECT,
  GRE_PROGRAMS,
  type GreCounters,
  type GreProgram,
  selftestCases,
  type TunnelEndpoints,
  type Verdict,
} from "./gre_keepalive.ts";
import { formatIp } from "./ipaddr.ts";

/** How to attach: `auto` tries the driver's native XDP and falls back to generic. */
export type XdpMode = "auto" | "generic" | "native";
export const XDP_MODES: readonly XdpMode[] = ["auto", "generic", "native"];
/** How a program is attached, as the kernel reports it. */
export type AttachedMode = "generic" | "native" | "offload" | "multiple";

/** The reasons an operation fails, for callers that branch on them. */
export type GreXdpErrorCode =
  | "no-such-interface"
  | "not-root"
  | "busy"
  | "no-xdp"
  | "wrong-device"
  | "no-remote"
  | "native-unsupported"
  | "not-attached"
  | "failed";

export class GreXdpError extends Error {
  override name = "GreXdpError";
  readonly code: GreXdpErrorCode;
  constructor(code: GreXdpErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }

  /** The kernel's verifier log when it refused a program (for a detail log), else empty. */
  get kernelLog(): readonly string[] {
    return this.cause instanceof LibbpfError ? this.cause.kernelLog : [];
  }
}

// ---- interfaces ----

/** ARPHRD_* values (linux/if_arp.h) of the tunnel devices kad serves. */
export const ARPHRD_IPGRE = 778;
export const ARPHRD_IP6GRE = 823;

export interface TunnelInterface {
  readonly name: string;
  readonly ifindex: number;
  /** `gre`, `ip6gre`, or `other` (any other device type). */
  readonly kind: "gre" | "ip6gre" | "other";
  readonly arphrd: number;
  /** For gre/ip6gre: the tunnel's addresses (/sys address and broadcast). */
  readonly endpoints?: TunnelEndpoints | undefined;
  /** For gre/ip6gre: whether the tunnel has a fixed remote address. */
  readonly hasRemote: boolean;
}

const SYS_NET = "/sys/class/net";

function validIfname(name: string): boolean {
  return name.length > 0 && name.length <= 15 && !/[\s/]/.test(name) && name !== "." &&
    name !== "..";
}

function readSys(name: string, attr: string): string {
  return Deno.readTextFileSync(`${SYS_NET}/${name}/${attr}`).trim();
}

function hexBytes(text: string): Uint8Array {
  const parts = text.split(":").filter((p) => p !== "");
  return new Uint8Array(parts.map((p) => parseInt(p, 16)));
}

function isZero(b: Uint8Array): boolean {
  return b.every((x) => x === 0);
}

/** Read an interface of this network namespace; throws `no-such-interface`. */
export function readInterface(name: string): TunnelInterface {
  if (!validIfname(name)) {
    throw new GreXdpError(
      "no-such-interface",
      `interface name '${name}' is not valid (1 to 15 characters, no '/' or blanks)`,
    );
  }
  let ifindex: number;
  let arphrd: number;
  try {
    ifindex = Number(readSys(name, "ifindex"));
    arphrd = Number(readSys(name, "type"));
  } catch {
    throw new GreXdpError(
      "no-such-interface",
      `no such interface '${name}'; 'ip link show' lists the interfaces`,
    );
  }
  const kind = arphrd === ARPHRD_IPGRE ? "gre" : arphrd === ARPHRD_IP6GRE ? "ip6gre" : "other";
  if (kind === "other") return { name, ifindex, kind, arphrd, hasRemote: false };
  // The gre and ip6gre drivers publish the tunnel's local address as the device address
  // and its remote address as the broadcast address.
  const local = hexBytes(readSys(name, "address"));
  const remote = hexBytes(readSys(name, "broadcast"));
  const want = kind === "gre" ? 4 : 16;
  if (local.length !== want || remote.length !== want) {
    return { name, ifindex, kind, arphrd, hasRemote: false };
  }
  const hasRemote = !isZero(remote);
  return {
    name,
    ifindex,
    kind,
    arphrd,
    hasRemote,
    endpoints: hasRemote ? { local: isZero(local) ? undefined : local, remote } : undefined,
  };
}

/** The names of every interface of this namespace. */
export function listInterfaces(): string[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync(SYS_NET)) names.push(e.name);
  return names.sort();
}

// ---- errors ----

function isLibbpf(e: unknown, ...errnos: number[]): e is LibbpfError {
  return e instanceof LibbpfError && (errnos.length === 0 || errnos.includes(e.errno));
}

/** Turn a libbpf failure into the user-facing error of this module. */
export function explain(e: unknown, what: string): GreXdpError {
  if (e instanceof GreXdpError) return e;
  if (isLibbpf(e, ERRNO.EPERM, ERRNO.EACCES)) {
    return new GreXdpError(
      "not-root",
      `${what}: permission denied; this needs root (CAP_NET_ADMIN and CAP_BPF)`,
      { cause: e },
    );
  }
  if (isLibbpf(e, ERRNO.ENOSYS)) {
    return new GreXdpError(
      "no-xdp",
      `${what}: this kernel has no BPF support (bpf() is not implemented); XDP needs a kernel built with CONFIG_BPF_SYSCALL`,
      { cause: e },
    );
  }
  return new GreXdpError(
    "failed",
    `${what}: ${errorText(e)}`,
    { cause: e },
  );
}

/** Capability bits (linux/capability.h). */
const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;
const CAP_BPF = 39;

/**
 * Refuse early, with one clear message, when this process cannot load or attach BPF
 * programs: it needs CAP_NET_ADMIN, and CAP_BPF or CAP_SYS_ADMIN (root has all three).
 */
export function checkPrivileges(statusText?: string): void {
  let text = statusText;
  if (text === undefined) {
    try {
      text = Deno.readTextFileSync("/proc/self/status");
    } catch {
      return; // no /proc: let the kernel decide
    }
  }
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(text)?.[1];
  if (hex === undefined) return;
  const caps = BigInt(`0x${hex}`);
  const has = (bit: number) => ((caps >> BigInt(bit)) & 1n) === 1n;
  if (has(CAP_NET_ADMIN) && (has(CAP_BPF) || has(CAP_SYS_ADMIN))) return;
  throw new GreXdpError(
    "not-root",
    "this needs root (CAP_NET_ADMIN and CAP_BPF); run kad as root",
  );
}

// ---- loading ----

/** A freshly loaded (not attached) program with its maps. */
export interface LoadedProgram {
  readonly program: GreProgram;
  readonly progFd: number;
  readonly configFd: number;
  readonly countersFd: number;
  close(): void;
}

/**
 * The user-facing error of a program the kernel refused: it quotes the verifier's last line,
 * which says why, and carries the whole log (`kernelLog`) for `-D`.
 */
export function loadRefused(program: GreProgram, e: LibbpfError): GreXdpError {
  const why = e.kernelLog.at(-1);
  return new GreXdpError(
    "no-xdp",
    `the kernel refused to load the ${program} program (${e.message}${
      why === undefined ? "" : `; the verifier said: ${why}`
    }); is XDP supported by this kernel? run with -D for the kernel's whole log`,
    { cause: e },
  );
}

/** Load one program of the embedded object (not attached anywhere yet). */
export function loadProgram(program: GreProgram): LoadedProgram {
  let obj: BpfObject | undefined;
  try {
    obj = BpfObject.openMem(xdpObject(GRE_OBJECT));
    for (const p of GRE_PROGRAMS) if (p !== program) obj.setAutoload(GRE_FUNCTIONS[p], false);
    obj.load();
    const o = obj;
    return {
      program,
      progFd: o.programFd(GRE_FUNCTIONS[program]),
      configFd: o.mapFd(CONFIG_MAP),
      countersFd: o.mapFd(COUNTERS_MAP),
      close: () => o.close(),
    };
  } catch (e) {
    obj?.close();
    // A refusal the kernel explained (the verifier's EACCES with a log) or EINVAL; a plain
    // EPERM/EACCES without a log is missing privileges, which `explain` words.
    if (
      isLibbpf(e) && e.op === "bpf_object__load" &&
      (e.kernelLog.length > 0 || e.errno === ERRNO.EINVAL)
    ) {
      throw loadRefused(program, e);
    }
    throw explain(e, `loading the ${program} program`);
  }
}

const KEY0 = new Uint8Array(4);

/** Write a program's endpoints. */
export function writeConfig(
  configFd: number,
  program: GreProgram,
  endpoints: TunnelEndpoints | undefined,
  ifindex: number,
): void {
  const value = endpoints === undefined
    ? new Uint8Array(40)
    : encodeConfig(program, endpoints, ifindex);
  if (endpoints === undefined) new DataView(value.buffer).setUint32(36, ifindex, true);
  mapUpdate(configFd, KEY0, value);
}

/** Sum a program's per-CPU counters. */
export function readCounters(countersFd: number): GreCounters {
  const cpus = numPossibleCpus();
  const v = mapLookup(countersFd, KEY0, COUNTERS_VALUE_SIZE * cpus);
  return v === undefined ? { replied: 0, passed: 0, malformed: 0 } : decodeCounters(v, cpus);
}

// ---- what is attached ----

/** An XDP program attached to an interface, and whether it is kad's. */
export interface AttachedProgram {
  readonly progId: number;
  readonly name: string;
  readonly tag: string;
  readonly mode: AttachedMode;
  /** The kad program it is, if it is one (by kernel program name). */
  readonly kad: GreProgram | undefined;
  readonly mapIds: readonly number[];
}

function modeOf(attachMode: number): AttachedMode {
  switch (attachMode) {
    case XDP_ATTACHED.DRV:
      return "native";
    case XDP_ATTACHED.SKB:
      return "generic";
    case XDP_ATTACHED.HW:
      return "offload";
    default:
      return "multiple";
  }
}

/** The program attached to an interface, or undefined. */
export function attachedProgram(ifindex: number): AttachedProgram | undefined {
  let q;
  try {
    q = xdpQuery(ifindex);
  } catch (e) {
    throw explain(e, `querying XDP on interface ${ifindex}`);
  }
  if (q.attachMode === XDP_ATTACHED.NONE) return undefined;
  const progId = q.progId || q.skbProgId || q.drvProgId || q.hwProgId;
  const fd = withPerm(() => progFdById(progId), `reading XDP program ${progId}`);
  try {
    const info = progInfo(fd);
    const kad = GRE_PROGRAMS.find((p) => GRE_FUNCTIONS[p] === info.name);
    return {
      progId,
      name: info.name,
      tag: info.tag,
      mode: modeOf(q.attachMode),
      kad,
      mapIds: info.mapIds,
    };
  } finally {
    closeFd(fd);
  }
}

function withPerm<T>(f: () => T, what: string): T {
  try {
    return f();
  } catch (e) {
    throw explain(e, what);
  }
}

/** Open the named map of an attached program; close the fd with `closeFd`. */
function mapOf(p: AttachedProgram, name: string): number | undefined {
  for (const id of p.mapIds) {
    const fd = mapFdById(id);
    if (mapInfo(fd).name === name) return fd;
    closeFd(fd);
  }
  return undefined;
}

function flagsFor(mode: "generic" | "native"): number {
  return mode === "generic" ? XDP_FLAGS.SKB_MODE : XDP_FLAGS.DRV_MODE;
}

function describe(p: AttachedProgram): string {
  return `'${p.name || "(unnamed)"}' (id ${p.progId}, ${p.mode} mode)`;
}

// ---- attach ----

export interface AttachRequest {
  readonly interface: string;
  readonly mode: XdpMode;
  /** Replace an XDP program that is not kad's (kad's own is always updated in place). */
  readonly replace: boolean;
  /** Attach to a device that is not gre/ip6gre (or has no remote), with `program`. */
  readonly force: boolean;
  /** The program under `force`; default `gre`. Ignored for gre/ip6gre devices without force. */
  readonly program?: GreProgram | undefined;
}

export interface AttachResult {
  readonly interface: string;
  readonly ifindex: number;
  readonly program: GreProgram;
  readonly progId: number;
  readonly mode: AttachedMode;
  /**
   * `attached` (nothing was there), `unchanged` (the same kad program was already there;
   * its endpoints were refreshed), `replaced` (another program, or an older kad program,
   * was swapped out).
   */
  readonly action: "attached" | "unchanged" | "replaced";
  readonly endpoints: TunnelEndpoints | undefined;
}

/** Decide the program for a device, or throw why it cannot be served. */
export function chooseProgram(dev: TunnelInterface, req: AttachRequest): GreProgram {
  if (req.force) return req.program ?? "gre";
  if (dev.kind === "other") {
    throw new GreXdpError(
      "wrong-device",
      `interface '${dev.name}' is not a gre or ip6gre tunnel (link type ${dev.arphrd}); kad gre-attach answers keepalives on tunnel devices (--force attaches anyway)`,
    );
  }
  if (!dev.hasRemote) {
    throw new GreXdpError(
      "no-remote",
      `${dev.kind} tunnel '${dev.name}' has no fixed remote address; keepalives need a point-to-point tunnel ('ip link set ${dev.name} type ${dev.kind} remote ADDRESS')`,
    );
  }
  return dev.kind === "gre" ? "gre" : "gre6";
}

/** Endpoints for the program: the tunnel's, when the device and program agree. */
function endpointsFor(dev: TunnelInterface, program: GreProgram): TunnelEndpoints | undefined {
  const matches = (dev.kind === "gre" && program === "gre") ||
    (dev.kind === "ip6gre" && program === "gre6");
  return matches ? dev.endpoints : undefined;
}

/**
 * Attach (idempotently) the keepalive program to an interface. The kernel keeps the
 * program after this process exits; `detach` removes it.
 */
export function attach(req: AttachRequest): AttachResult {
  checkPrivileges();
  const dev = readInterface(req.interface);
  const program = chooseProgram(dev, req);
  const endpoints = endpointsFor(dev, program);
  const loaded = loadProgram(program);
  try {
    const fresh = withPerm(() => progInfo(loaded.progFd), "reading the loaded program");
    const current = attachedProgram(dev.ifindex);
    const result = (mode: AttachedMode, progId: number, action: AttachResult["action"]) => ({
      interface: dev.name,
      ifindex: dev.ifindex,
      program,
      progId,
      mode,
      action,
      endpoints,
    });

    if (current !== undefined) {
      const modeOk = req.mode === "auto" || current.mode === req.mode;
      if (current.kad === program && current.tag === fresh.tag && modeOk) {
        // Already there: refresh the endpoints (the tunnel may have been changed).
        const fd = mapOf(current, CONFIG_MAP);
        if (fd === undefined) {
          throw new GreXdpError("failed", `kad's program on '${dev.name}' has no config map`);
        }
        try {
          writeConfig(fd, program, endpoints, dev.ifindex);
        } finally {
          closeFd(fd);
        }
        return result(current.mode, current.progId, "unchanged");
      }
      if (current.kad === undefined && !req.replace) {
        throw new GreXdpError(
          "busy",
          `interface '${dev.name}' already has XDP program ${
            describe(current)
          }; use --replace to replace it, or remove it with 'ip link set dev ${dev.name} xdp off'`,
        );
      }
      if (!modeOk && !req.replace) {
        throw new GreXdpError(
          "busy",
          `kad's program is attached to '${dev.name}' in ${current.mode} mode; use --replace to attach it in ${req.mode} mode`,
        );
      }
    }

    writeConfig(loaded.configFd, program, endpoints, dev.ifindex);
    const mode = attachFresh(dev, loaded.progFd, req.mode, current);
    const now = attachedProgram(dev.ifindex);
    return result(mode, now?.progId ?? fresh.id, current === undefined ? "attached" : "replaced");
  } finally {
    loaded.close();
  }
}

/** Attach `progFd`, replacing `current` if set; returns the mode used. */
function attachFresh(
  dev: TunnelInterface,
  progFd: number,
  want: XdpMode,
  current: AttachedProgram | undefined,
): AttachedMode {
  const tryMode = (mode: "generic" | "native"): void => {
    if (current !== undefined && current.mode === mode) {
      // Same mode: swap atomically, and only if it is still the program we looked at.
      const oldFd = progFdById(current.progId);
      try {
        xdpAttach(dev.ifindex, progFd, flagsFor(mode), oldFd);
      } finally {
        closeFd(oldFd);
      }
      return;
    }
    if (current !== undefined && (current.mode === "generic" || current.mode === "native")) {
      // The kernel allows one mode at a time: remove the old one first.
      detachExact(dev.ifindex, current);
    }
    xdpAttach(dev.ifindex, progFd, XDP_FLAGS.UPDATE_IF_NOEXIST | flagsFor(mode));
  };
  const order: Array<"generic" | "native"> = want === "auto"
    ? (current?.mode === "generic" ? ["generic"] : ["native", "generic"])
    : [want];
  for (const mode of order) {
    try {
      tryMode(mode);
      return mode;
    } catch (e) {
      const unsupported = isLibbpf(e, ERRNO.EOPNOTSUPP, ERRNO.EINVAL);
      if (mode === "native" && unsupported) {
        if (want === "auto") continue;
        throw new GreXdpError(
          "native-unsupported",
          `the driver of '${dev.name}' has no native XDP; use --mode generic (or auto)`,
          { cause: e },
        );
      }
      if (mode === "generic" && isLibbpf(e, ERRNO.EOPNOTSUPP)) {
        throw new GreXdpError(
          "no-xdp",
          `this kernel does not support XDP on '${dev.name}' (generic mode refused)`,
          { cause: e },
        );
      }
      if (isLibbpf(e, ERRNO.EBUSY, ERRNO.EEXIST)) {
        throw new GreXdpError(
          "busy",
          `interface '${dev.name}' got another XDP program while kad was attaching; run the command again`,
          { cause: e },
        );
      }
      throw explain(e, `attaching to '${dev.name}'`);
    }
  }
  throw new GreXdpError("failed", `could not attach to '${dev.name}' in any mode`);
}

function detachExact(ifindex: number, p: AttachedProgram): void {
  if (p.mode !== "generic" && p.mode !== "native") {
    throw new GreXdpError("failed", `cannot detach a program attached in ${p.mode} mode`);
  }
  const fd = progFdById(p.progId);
  try {
    xdpDetach(ifindex, flagsFor(p.mode), fd);
  } finally {
    closeFd(fd);
  }
}

// ---- detach ----

export interface DetachResult {
  readonly interface: string;
  /** The program removed, or undefined when nothing was attached. */
  readonly removed: AttachedProgram | undefined;
}

/** Detach kad's program (any program with `force`); nothing attached is not an error. */
export function detach(iface: string, opts: { force: boolean }): DetachResult {
  checkPrivileges();
  const dev = readInterface(iface);
  const current = attachedProgram(dev.ifindex);
  if (current === undefined) return { interface: dev.name, removed: undefined };
  if (current.kad === undefined && !opts.force) {
    throw new GreXdpError(
      "busy",
      `interface '${dev.name}' has XDP program ${
        describe(current)
      }, which is not kad's; --detach removes only kad's program (add --force to remove it anyway)`,
    );
  }
  try {
    detachExact(dev.ifindex, current);
  } catch (e) {
    throw explain(e, `detaching from '${dev.name}'`);
  }
  return { interface: dev.name, removed: current };
}

/**
 * Detach program `progId` from `iface` if it is still the one attached there; returns
 * whether it was (the daemon's exit path: it removes only what it attached).
 */
export function detachProgram(iface: string, progId: number): boolean {
  let dev: TunnelInterface;
  try {
    dev = readInterface(iface);
  } catch {
    return false; // the device is gone, and the program with it
  }
  const current = attachedProgram(dev.ifindex);
  if (current === undefined || current.progId !== progId) return false;
  try {
    detachExact(dev.ifindex, current);
  } catch (e) {
    throw explain(e, `detaching from '${dev.name}'`);
  }
  return true;
}

// ---- status ----

export interface StatusEntry {
  readonly interface: string;
  readonly ifindex: number;
  readonly kind: TunnelInterface["kind"];
  /** Undefined when no XDP program is attached. */
  readonly attached: AttachedProgram | undefined;
  readonly counters: GreCounters | undefined;
  /** The endpoints kad's program answers for (from its config map). */
  readonly endpoints: TunnelEndpoints | undefined;
}

function statusOf(dev: TunnelInterface): StatusEntry {
  const attached = attachedProgram(dev.ifindex);
  let counters: GreCounters | undefined;
  let endpoints: TunnelEndpoints | undefined;
  if (attached?.kad !== undefined) {
    const cfd = withPerm(() => mapOf(attached, COUNTERS_MAP), "reading the counters");
    if (cfd !== undefined) {
      try {
        counters = readCounters(cfd);
      } finally {
        closeFd(cfd);
      }
    }
    const gfd = withPerm(() => mapOf(attached, CONFIG_MAP), "reading the config");
    if (gfd !== undefined) {
      try {
        const v = mapLookup(gfd, KEY0, 40);
        if (v !== undefined) endpoints = decodeConfig(attached.kad, v).endpoints;
      } finally {
        closeFd(gfd);
      }
    }
  }
  return {
    interface: dev.name,
    ifindex: dev.ifindex,
    kind: dev.kind,
    attached,
    counters,
    endpoints,
  };
}

/**
 * The XDP state of one interface, or of every interface that has kad's program attached
 * (when `iface` is undefined).
 */
export function status(iface?: string): StatusEntry[] {
  checkPrivileges();
  if (iface !== undefined) return [statusOf(readInterface(iface))];
  const out: StatusEntry[] = [];
  for (const name of listInterfaces()) {
    let dev: TunnelInterface;
    try {
      dev = readInterface(name);
    } catch {
      continue; // vanished while listing
    }
    const s = statusOf(dev);
    if (s.attached?.kad !== undefined) out.push(s);
  }
  return out;
}

/** Text of an address as kad prints it. */
export function addressText(b: Uint8Array | undefined): string {
  if (b === undefined) return "any";
  return formatIp({ family: b.length === 4 ? 4 : 6, bytes: b });
}

// ---- selftest ----

export interface SelftestResult {
  readonly name: string;
  readonly program: GreProgram;
  readonly expect: Verdict;
  /** XDP action returned (XDP_ACTION). */
  readonly action: number;
  /** The output packet equals the input (the programs never change a packet). */
  readonly unchanged: boolean;
  /** The counter that moved, if exactly one did. */
  readonly counted: Verdict | undefined;
  /** The reference classifier (lib/net/gre_keepalive.ts) agrees with `expect`. */
  readonly modelAgrees: boolean;
  readonly ok: boolean;
}

function delta(a: GreCounters, b: GreCounters): Verdict | undefined {
  const d = {
    reply: b.replied - a.replied,
    pass: b.passed - a.passed,
    malformed: b.malformed - a.malformed,
  };
  const moved = (Object.keys(d) as Verdict[]).filter((k) => d[k] !== 0);
  return moved.length === 1 && d[moved[0] as Verdict] === 1 ? moved[0] : undefined;
}

/** Run every built-in packet through freshly loaded programs with BPF_PROG_TEST_RUN. */
export function selftest(): SelftestResult[] {
  checkPrivileges();
  const results: SelftestResult[] = [];
  for (const program of GRE_PROGRAMS) {
    const loaded = loadProgram(program);
    try {
      for (const c of selftestCases().filter((x) => x.program === program)) {
        writeConfig(loaded.configFd, program, c.endpoints, 1);
        const before = readCounters(loaded.countersFd);
        const r = withPerm(() => progTestRun(loaded.progFd, c.packet), `running '${c.name}'`);
        const after = readCounters(loaded.countersFd);
        const unchanged = r.dataOut.length === c.packet.length &&
          r.dataOut.every((b, i) => b === c.packet[i]);
        const wantAction = c.expect === "reply" ? XDP_ACTION.TX : XDP_ACTION.PASS;
        const counted = delta(before, after);
        const modelAgrees = classify(program, c.packet, c.endpoints) === c.expect;
        results.push({
          name: c.name,
          program,
          expect: c.expect,
          action: r.retval,
          unchanged,
          counted,
          modelAgrees,
          ok: r.retval === wantAction && unchanged && counted === c.expect && modelAgrees,
        });
      }
    } finally {
      loaded.close();
    }
  }
  return results;
}
