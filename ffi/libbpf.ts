/**
 * Bindings to libbpf 1.x (Debian's libbpf1) for kad's XDP programs: open an object from
 * memory, load it, attach/replace/detach/query XDP on an interface, read and write maps,
 * run a program with BPF_PROG_TEST_RUN, and hand the kernel's verifier log of a failed
 * load to the caller (spec/deno-platform.md, "libbpf 1.1.2").
 *
 * Owns the struct layouts (x86-64) and turning libbpf's negative errno results into
 * `LibbpfError`. It knows nothing about GRE or about which program is which: that is
 * lib/net/gre_xdp.ts. Every call is synchronous, and no call ever runs JavaScript from
 * inside libbpf (see "logging" below), so any thread may use this module.
 */

/** XDP attach flags (linux/if_link.h). */
export const XDP_FLAGS = {
  UPDATE_IF_NOEXIST: 1,
  SKB_MODE: 2,
  DRV_MODE: 4,
  HW_MODE: 8,
  REPLACE: 16,
} as const;

/** `bpf_xdp_query_opts.attach_mode` values (linux/if_link.h XDP_ATTACHED_*). */
export const XDP_ATTACHED = { NONE: 0, DRV: 1, SKB: 2, HW: 3, MULTI: 4 } as const;

/** XDP program return codes (linux/bpf.h enum xdp_action). */
export const XDP_ACTION = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 } as const;

/** Some errno values callers test for. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  E2BIG: 7,
  EBADF: 9,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSYS: 38,
  EOPNOTSUPP: 95,
} as const;

/**
 * A failed libbpf call: `errno` is positive, `op` names the call. `kernelLog` is what the
 * kernel wrote while refusing a program or its BTF (the verifier's log, one entry per line;
 * empty when the kernel said nothing).
 */
export class LibbpfError extends Error {
  override name = "LibbpfError";
  readonly errno: number;
  readonly op: string;
  readonly kernelLog: readonly string[];
  constructor(op: string, errno: number, message: string, kernelLog: readonly string[] = []) {
    super(`${op}: ${message} (errno ${errno})`);
    this.op = op;
    this.errno = errno;
    this.kernelLog = kernelLog;
  }
}

const LIBBPF_PATHS = ["libbpf.so.1", "/usr/lib/x86_64-linux-gnu/libbpf.so.1"];
const LIBC_PATH = "libc.so.6";

const libbpfSymbols = {
  bpf_object__open_mem: { parameters: ["buffer", "usize", "buffer"], result: "pointer" },
  bpf_object__load: { parameters: ["pointer"], result: "i32" },
  bpf_object__close: { parameters: ["pointer"], result: "void" },
  bpf_object__find_program_by_name: { parameters: ["pointer", "buffer"], result: "pointer" },
  bpf_object__find_map_by_name: { parameters: ["pointer", "buffer"], result: "pointer" },
  bpf_program__set_autoload: { parameters: ["pointer", "bool"], result: "i32" },
  bpf_program__fd: { parameters: ["pointer"], result: "i32" },
  bpf_map__fd: { parameters: ["pointer"], result: "i32" },
  bpf_xdp_attach: { parameters: ["i32", "i32", "u32", "buffer"], result: "i32" },
  bpf_xdp_detach: { parameters: ["i32", "u32", "buffer"], result: "i32" },
  bpf_xdp_query: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  bpf_prog_get_fd_by_id: { parameters: ["u32"], result: "i32" },
  bpf_map_get_fd_by_id: { parameters: ["u32"], result: "i32" },
  bpf_obj_get_info_by_fd: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  bpf_map_lookup_elem: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  bpf_map_update_elem: { parameters: ["i32", "buffer", "buffer", "u64"], result: "i32" },
  bpf_prog_test_run_opts: { parameters: ["i32", "buffer"], result: "i32" },
  libbpf_set_print: { parameters: ["pointer"], result: "pointer" },
  libbpf_strerror: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  libbpf_num_possible_cpus: { parameters: [], result: "i32" },
} as const;

const libcSymbols = {
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libbpf = Deno.DynamicLibrary<typeof libbpfSymbols>["symbols"];
type Libc = Deno.DynamicLibrary<typeof libcSymbols>["symbols"];

let libbpf: Libbpf | undefined;
let libc: Libc | undefined;

function lib(): Libbpf {
  if (libbpf) return libbpf;
  let lastError = "";
  for (const path of LIBBPF_PATHS) {
    try {
      const l = Deno.dlopen(path, libbpfSymbols).symbols;
      silenceLibbpf(l);
      libbpf = l;
      return l;
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
    }
  }
  throw new LibbpfError(
    "dlopen",
    ERRNO.ENOENT,
    `libbpf.so.1 could not be loaded (${lastError}); install Debian's 'libbpf1' package`,
  );
}

function c(): Libc {
  libc ??= Deno.dlopen(LIBC_PATH, libcSymbols).symbols;
  return libc;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function cstr(s: string): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(s.length * 3 + 1);
  const { written } = encoder.encodeInto(s, b);
  return b.subarray(0, written + 1);
}

function readCString(buf: Uint8Array, offset = 0, max = buf.length - offset): string {
  const end = buf.subarray(offset, offset + max).indexOf(0);
  return decoder.decode(buf.subarray(offset, offset + (end < 0 ? max : end)));
}

/** libbpf's text for an errno (also libbpf's own codes 4000 and up). */
export function errnoMessage(errno: number): string {
  const buf = new Uint8Array(256);
  lib().libbpf_strerror(errno, buf, BigInt(buf.length));
  return readCString(buf) || `error ${errno}`;
}

function check(op: string, rc: number): number {
  if (rc < 0) throw new LibbpfError(op, -rc, errnoMessage(-rc));
  return rc;
}

function lastErrno(): number {
  const p = c().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

// ---- logging ----

/**
 * libbpf keeps one print function for the whole process. A JavaScript callback there may
 * only run on the thread that made it, and any thread calling into libbpf would call it:
 * with a second isolate (a Worker, `deno test --parallel`) that crashed the process even
 * when the callback was installed only around a batch of calls. So kad installs none:
 * libbpf's print function is NULL (silent) from the moment the library is loaded, and
 * what its log was needed for, the kernel's verifier and BTF log, is captured through
 * `bpf_object_open_opts.kernel_log_buf` instead (see `BpfObject.load`). libbpf's errors
 * still reach the caller as negative errno results, which become `LibbpfError`.
 */
function silenceLibbpf(l: Libbpf): void {
  l.libbpf_set_print(null);
}

// ---- objects ----

/** `sizeof(struct bpf_object_open_opts)` and offsets in libbpf 1.1 (x86-64, checked with offsetof). */
const OPEN_OPTS_SIZE = 80;
const OPEN_OPTS_KERNEL_LOG_BUF = 56;
const OPEN_OPTS_KERNEL_LOG_SIZE = 64;

/**
 * Room for the verifier's log of a refused program. libbpf asks the kernel for a log only
 * after a load failed (kernel_log_level 0), so this costs nothing on success. kad's programs
 * verify in a few hundred lines; a log longer than this is cut off by the kernel.
 */
const KERNEL_LOG_BYTES = 256 * 1024;

/** A libbpf `bpf_object` opened from bytes; `close()` unloads what it loaded. */
export class BpfObject {
  #ptr: Deno.PointerObject | null;
  // libbpf keeps pointers into both buffers until the object is closed.
  readonly #bytes: Uint8Array;
  readonly #kernelLog: Uint8Array;

  private constructor(ptr: Deno.PointerObject, bytes: Uint8Array, kernelLog: Uint8Array) {
    this.#ptr = ptr;
    this.#bytes = bytes;
    this.#kernelLog = kernelLog;
  }

  /** `bpf_object__open_mem`: parse an ELF object (nothing is loaded into the kernel yet). */
  static openMem(bytes: Uint8Array): BpfObject {
    const copy = new Uint8Array(bytes);
    const kernelLog = new Uint8Array(KERNEL_LOG_BYTES);
    const opts = new Uint8Array(OPEN_OPTS_SIZE);
    const v = new DataView(opts.buffer);
    v.setBigUint64(0, BigInt(OPEN_OPTS_SIZE), true);
    v.setBigUint64(
      OPEN_OPTS_KERNEL_LOG_BUF,
      BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(kernelLog))),
      true,
    );
    v.setBigUint64(OPEN_OPTS_KERNEL_LOG_SIZE, BigInt(kernelLog.length), true);
    const ptr = lib().bpf_object__open_mem(copy, BigInt(copy.length), opts);
    if (ptr === null) {
      const errno = lastErrno() || ERRNO.EINVAL;
      throw new LibbpfError("bpf_object__open_mem", errno, errnoMessage(errno));
    }
    return new BpfObject(ptr, copy, kernelLog);
  }

  #self(): Deno.PointerObject {
    if (this.#ptr === null) throw new Error("the BPF object is closed");
    return this.#ptr;
  }

  #program(name: string): Deno.PointerObject {
    const p = lib().bpf_object__find_program_by_name(this.#self(), cstr(name));
    if (p === null) {
      throw new LibbpfError(
        "bpf_object__find_program_by_name",
        ERRNO.ENOENT,
        `no program '${name}'`,
      );
    }
    return p;
  }

  #map(name: string): Deno.PointerObject {
    const p = lib().bpf_object__find_map_by_name(this.#self(), cstr(name));
    if (p === null) {
      throw new LibbpfError("bpf_object__find_map_by_name", ERRNO.ENOENT, `no map '${name}'`);
    }
    return p;
  }

  /** Choose whether `load()` loads a program (all are loaded by default). */
  setAutoload(program: string, on: boolean): void {
    check("bpf_program__set_autoload", lib().bpf_program__set_autoload(this.#program(program), on));
  }

  /**
   * `bpf_object__load`: create the maps and load the programs (the verifier runs here).
   * A refusal carries the kernel's log in `LibbpfError.kernelLog`.
   */
  load(): void {
    this.#kernelLog.fill(0);
    const rc = lib().bpf_object__load(this.#self());
    if (rc < 0) {
      const log = readCString(this.#kernelLog).split("\n").filter((l) => l.trim() !== "");
      throw new LibbpfError("bpf_object__load", -rc, errnoMessage(-rc), log);
    }
  }

  /** The fd of a loaded program (owned by the object). */
  programFd(name: string): number {
    return check("bpf_program__fd", lib().bpf_program__fd(this.#program(name)));
  }

  /** The fd of a created map (owned by the object). */
  mapFd(name: string): number {
    return check("bpf_map__fd", lib().bpf_map__fd(this.#map(name)));
  }

  get bytes(): number {
    return this.#bytes.length;
  }

  /** Release the object. A program still attached somewhere stays loaded in the kernel. */
  close(): void {
    if (this.#ptr === null) return;
    lib().bpf_object__close(this.#ptr);
    this.#ptr = null;
  }
}

// ---- XDP attachment ----

/** `bpf_xdp_attach`; with `oldProgFd` the kernel replaces only that program (XDP_FLAGS_REPLACE). */
export function xdpAttach(
  ifindex: number,
  progFd: number,
  flags: number,
  oldProgFd?: number,
): void {
  const opts = new Uint8Array(16);
  const v = new DataView(opts.buffer);
  v.setBigUint64(0, 16n, true);
  let f = flags;
  if (oldProgFd !== undefined) {
    v.setInt32(8, oldProgFd, true);
    f |= XDP_FLAGS.REPLACE;
  }
  check("bpf_xdp_attach", lib().bpf_xdp_attach(ifindex, progFd, f, opts));
}

/** `bpf_xdp_detach` for the mode in `flags`; with `oldProgFd`, only if that program is attached. */
export function xdpDetach(ifindex: number, flags: number, oldProgFd?: number): void {
  const opts = new Uint8Array(16);
  const v = new DataView(opts.buffer);
  v.setBigUint64(0, 16n, true);
  let f = flags;
  if (oldProgFd !== undefined) {
    v.setInt32(8, oldProgFd, true);
    f |= XDP_FLAGS.REPLACE;
  }
  check("bpf_xdp_detach", lib().bpf_xdp_detach(ifindex, f, opts));
}

/** What `bpf_xdp_query` reports for an interface (ids are 0 when nothing is attached). */
export interface XdpQuery {
  /** The single attached program (0 when none, or when several modes are in use). */
  readonly progId: number;
  readonly drvProgId: number;
  readonly skbProgId: number;
  readonly hwProgId: number;
  /** One of XDP_ATTACHED. */
  readonly attachMode: number;
}

export function xdpQuery(ifindex: number): XdpQuery {
  const opts = new Uint8Array(32);
  const v = new DataView(opts.buffer);
  v.setBigUint64(0, 32n, true);
  check("bpf_xdp_query", lib().bpf_xdp_query(ifindex, 0, opts));
  return {
    progId: v.getUint32(8, true),
    drvProgId: v.getUint32(12, true),
    hwProgId: v.getUint32(16, true),
    skbProgId: v.getUint32(20, true),
    attachMode: v.getUint8(24),
  };
}

// ---- programs and maps by id ----

/** A new fd for a loaded program; close it with `closeFd`. */
export function progFdById(id: number): number {
  return check("bpf_prog_get_fd_by_id", lib().bpf_prog_get_fd_by_id(id));
}

/** A new fd for a map; close it with `closeFd`. */
export function mapFdById(id: number): number {
  return check("bpf_map_get_fd_by_id", lib().bpf_map_get_fd_by_id(id));
}

export function closeFd(fd: number): void {
  if (fd >= 0) c().close(fd);
}

export interface ProgInfo {
  readonly id: number;
  readonly type: number;
  readonly name: string;
  /** The program tag as 16 hex digits. */
  readonly tag: string;
  readonly mapIds: number[];
}

// struct bpf_prog_info (linux/bpf.h): 232 bytes in the headers of libbpf 1.1.
const PROG_INFO_SIZE = 232;
const MAP_INFO_SIZE = 88;

function objInfo(fd: number, info: Uint8Array): void {
  const len = new Uint32Array([info.length]);
  check(
    "bpf_obj_get_info_by_fd",
    lib().bpf_obj_get_info_by_fd(fd, info, new Uint8Array(len.buffer)),
  );
}

export function progInfo(fd: number): ProgInfo {
  let info = new Uint8Array(PROG_INFO_SIZE);
  objInfo(fd, info);
  let v = new DataView(info.buffer);
  const nrMaps = v.getUint32(52, true);
  const ids = new Uint32Array(Math.max(nrMaps, 1));
  if (nrMaps > 0) {
    info = new Uint8Array(PROG_INFO_SIZE);
    v = new DataView(info.buffer);
    v.setUint32(52, nrMaps, true);
    v.setBigUint64(56, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(ids))), true);
    objInfo(fd, info);
  }
  const tag = [...info.subarray(8, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return {
    type: v.getUint32(0, true),
    id: v.getUint32(4, true),
    tag,
    name: readCString(info, 64, 16),
    mapIds: [...ids.subarray(0, Math.min(nrMaps, v.getUint32(52, true)))],
  };
}

export interface MapInfo {
  readonly id: number;
  readonly type: number;
  readonly name: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
}

export function mapInfo(fd: number): MapInfo {
  const info = new Uint8Array(MAP_INFO_SIZE);
  objInfo(fd, info);
  const v = new DataView(info.buffer);
  return {
    type: v.getUint32(0, true),
    id: v.getUint32(4, true),
    keySize: v.getUint32(8, true),
    valueSize: v.getUint32(12, true),
    maxEntries: v.getUint32(16, true),
    name: readCString(info, 24, 16),
  };
}

/**
 * `bpf_map_lookup_elem` into a buffer of `valueBytes` (for per-CPU maps: the value size
 * rounded up to 8, times `numPossibleCpus()`). Undefined when the key is absent.
 */
export function mapLookup(fd: number, key: Uint8Array, valueBytes: number): Uint8Array | undefined {
  const value = new Uint8Array(valueBytes);
  const rc = lib().bpf_map_lookup_elem(fd, new Uint8Array(key), value);
  if (rc === -ERRNO.ENOENT) return undefined;
  check("bpf_map_lookup_elem", rc);
  return value;
}

/** `bpf_map_update_elem` (flags: 0 any, 1 BPF_NOEXIST, 2 BPF_EXIST). */
export function mapUpdate(fd: number, key: Uint8Array, value: Uint8Array, flags = 0): void {
  check(
    "bpf_map_update_elem",
    lib().bpf_map_update_elem(fd, new Uint8Array(key), new Uint8Array(value), BigInt(flags)),
  );
}

/** CPUs the kernel may ever bring up: the number of slots of a per-CPU map value. */
export function numPossibleCpus(): number {
  return check("libbpf_num_possible_cpus", lib().libbpf_num_possible_cpus());
}

// ---- BPF_PROG_TEST_RUN ----

export interface TestRunOptions {
  /** Run the program this many times (the kernel reports the average duration). Default 1. */
  readonly repeat?: number;
  /** Room for the output packet; default the input length plus 256. */
  readonly dataOutSize?: number;
}

export interface TestRunResult {
  /** The program's return value (for XDP, one of XDP_ACTION). */
  readonly retval: number;
  /** The packet after the (last) run. */
  readonly dataOut: Uint8Array;
  /** Average run time per repetition in ns, as the kernel measures it. */
  readonly durationNs: number;
}

/** `bpf_prog_test_run_opts` with a packet (XDP needs at least 14 bytes). */
export function progTestRun(
  progFd: number,
  data: Uint8Array,
  opts: TestRunOptions = {},
): TestRunResult {
  const dataIn = new Uint8Array(data);
  const dataOut = new Uint8Array(opts.dataOutSize ?? data.length + 256);
  const o = new Uint8Array(80);
  const v = new DataView(o.buffer);
  v.setBigUint64(0, 80n, true);
  v.setBigUint64(8, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(dataIn))), true);
  v.setBigUint64(16, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(dataOut))), true);
  v.setUint32(24, dataIn.length, true);
  v.setUint32(28, dataOut.length, true);
  v.setUint32(60, opts.repeat ?? 1, true);
  check("bpf_prog_test_run_opts", lib().bpf_prog_test_run_opts(progFd, o));
  // Keep the buffers whose addresses went into the struct alive past the call.
  void dataIn.length;
  return {
    retval: v.getUint32(56, true),
    dataOut: dataOut.slice(0, v.getUint32(28, true)),
    durationNs: v.getUint32(64, true),
  };
}
