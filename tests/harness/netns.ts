/**
 * Network-namespace lab for kad's integration tests: namespaces, veth pairs, bridges and the
 * processes a test runs inside them (spec/deno-platform.md, "network namespaces, veth, bridge
 * ... work as root").
 *
 * Owns creating, and always deleting, everything a `Lab` made: namespaces are named
 * `kadt-<hint>-<pid>-<n>`, links left in the root namespace carry the alias `kadt:<pid>` and
 * every process a lab starts inherits `KADT_LAB=<pid>:<lab token>` in its environment, so that
 * `reapStale()` can remove what a dead run left behind. Spawned processes are detached
 * (own session and process group) and killed as a group, SIGTERM then SIGKILL
 * (spec/deno-platform.md, "Scripts"). Cleanup paths: `close()` / `await using`, SIGINT and
 * SIGTERM listeners and an `unload` listener while a lab is open, and a watchdog shell that
 * cleans up when this process dies without doing so (`deno test` ends the process on SIGINT
 * before any listener of ours runs). It must not touch namespaces, links or processes it did
 * not create, except leftovers `reapStale()` attributes to a pid that no longer exists.
 */

const NS_PREFIX = "kadt-";
const NETNS_DIR = "/run/netns";
const ALIAS_PREFIX = "kadt:";
/** Environment variable marking processes (and all their descendants) as a lab's. */
export const LAB_ENV = "KADT_LAB";
const NS_NAME_RE = /^kadt-(.+)-(\d+)-(\d+)$/;
/** Linux IFNAMSIZ is 16 including the terminating NUL. */
const IFNAME_MAX = 15;
const DEFAULT_RUN_TIMEOUT_MS = 10_000;
const DEFAULT_KILL_GRACE_MS = 2_000;
const KILL_WAIT_MS = 5_000;
const DRAIN_MS = 500;
const DEFAULT_MAX_OUTPUT = 1 << 20;

// Each `deno test --parallel` module runs in its own runtime inside one process, so this
// counter is per runtime while the pid is shared: uniqueness comes from `ip netns add`
// refusing an existing name (O_EXCL), with the counter only making clashes rare.
let nsCounter = 0;
const openLabs = new Set<Lab>();

/** The result of a command that ran to completion. */
export interface RunResult {
  readonly code: number;
  readonly signal: Deno.Signal | null;
  readonly success: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of `Netns.run()`. */
export interface RunOptions {
  /** Extra environment variables (the parent's environment is inherited). */
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /** Written to the command's standard input, which is then closed. */
  readonly stdin?: string | Uint8Array;
  /** The command is killed (with its process group) and the call throws after this long. */
  readonly timeoutMs?: number;
  /** Throw when the command exits unsuccessfully. */
  readonly check?: boolean;
}

/** Options of `Netns.spawn()`. */
export interface SpawnOptions {
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /** Keep at most this many characters of each output stream (the newest); default 1 MiB. */
  readonly maxOutputChars?: number;
}

/** One address of an interface, as `ip -j addr` reports it. */
export interface AddressInfo {
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefixLength: number;
  /** `address/prefixLength`. */
  readonly cidr: string;
  readonly scope: string;
  /** IPv6 duplicate address detection still running: the address cannot be used yet. */
  readonly tentative: boolean;
  readonly dadFailed: boolean;
}

/** One link of a namespace, as `ip -j link` reports it. */
export interface LinkInfo {
  readonly name: string;
  /** Administratively up (the UP flag). */
  readonly up: boolean;
  /** The link has carrier (LOWER_UP); unlike `operState` this changes without delay. */
  readonly carrier: boolean;
  /**
   * Kernel operational state, e.g. "UP", "DOWN", "LOWERLAYERDOWN", "UNKNOWN"; the kernel
   * updates it up to a second after the carrier changes.
   */
  readonly operState: string;
  readonly mac: string;
  /** The bridge (or bond) this link is enslaved to. */
  readonly master: string | null;
  readonly flags: readonly string[];
}

/** A live (non-zombie) process seen in /proc. */
export interface ProcessInfo {
  readonly pid: number;
  readonly pgid: number;
  readonly comm: string;
  readonly state: string;
}

/** Options of `Lab.create()`. */
export interface LabOptions {
  /** Run `reapStale()` first; default true. */
  readonly reapStale?: boolean;
}

/** Options of `Lab.namespace()`. */
export interface NamespaceOptions {
  /** A readable name for messages; the namespace name itself is always generated. */
  readonly label?: string;
  /**
   * Keep IPv6 duplicate address detection on. Default false: `accept_dad` is 0 in the
   * namespace, so link-local addresses (VRRPv3 over IPv6 sends from one) are usable at once.
   */
  readonly dad?: boolean;
}

/** Options of `Lab.vethPair()`. */
export interface VethOptions {
  /** Interface name in the first namespace; default `kv` + 6 random characters. */
  readonly nameA?: string;
  readonly nameB?: string;
  /** Addresses in CIDR form for the first end; IPv6 ones are added with `nodad`. */
  readonly addrA?: string | readonly string[];
  readonly addrB?: string | readonly string[];
  /** Bring both ends up; default true. */
  readonly up?: boolean;
}

/** One end of a veth pair. */
export interface VethEnd {
  readonly ns: Netns;
  readonly ifname: string;
}

/** A veth pair made by `Lab.vethPair()`. */
export interface VethPair {
  readonly a: VethEnd;
  readonly b: VethEnd;
}

/** Options of `Lab.bridge()`. */
export interface BridgeOptions {
  /** Default `kb` + 6 random characters. */
  readonly name?: string;
  /** Bring the bridge up; default true. */
  readonly up?: boolean;
  /**
   * IGMP/MLD snooping; default false, so multicast (VRRP adverts, IPv6 neighbour
   * discovery) is flooded to every port from the first packet.
   */
  readonly mcastSnooping?: boolean;
}

/** Options of `waitFor()`. */
export interface WaitOptions {
  /** What is awaited, for the timeout message. */
  readonly what?: string;
  /** First polling interval; it grows by half each round up to 250 ms. Default 20 ms. */
  readonly intervalMs?: number;
}

/** Options of `SpawnedProcess.kill()`. */
export interface KillOptions {
  /** How long the group may take to exit after SIGTERM before SIGKILL; default 2000 ms. */
  readonly graceMs?: number;
}

/** What a truthy value of `T` can be. */
export type Truthy<T> = Exclude<T, null | undefined | false | 0 | 0n | "">;

type Settled<T> = { readonly settled: true; readonly value: T } | { readonly settled: false };

/** Resolves with the promise's value, or with `settled: false` once `ms` have passed. */
async function within<T>(p: Promise<T>, ms: number): Promise<Settled<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<Settled<T>>((resolve) => {
    timer = setTimeout(() => resolve({ settled: false }), Math.max(0, ms));
  });
  try {
    return await Promise.race([p.then((value) => ({ settled: true, value }) as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Polls `predicate` until it returns a truthy value and returns that value. Throws
 * "Timed out after N ms waiting for <what>" (with the predicate's last error, if it threw)
 * once `timeoutMs` have passed; a predicate call that is still pending then is abandoned.
 *
 * @example
 * ```ts
 * import { waitFor } from "./netns.ts";
 * const start = Date.now();
 * await waitFor(() => Date.now() - start >= 30, 1000, { what: "30 ms to pass" });
 * ```
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  timeoutMs: number,
  options: WaitOptions = {},
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  let interval = options.intervalMs ?? 20;
  let lastError: unknown = undefined;
  for (;;) {
    const remaining = deadline - Date.now();
    try {
      const r = await within(Promise.resolve().then(predicate), Math.max(remaining, 1));
      if (r.settled && r.value) return r.value as Truthy<T>;
      lastError = r.settled ? undefined : new Error("the last check did not finish in time");
    } catch (e) {
      lastError = e;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      const what = options.what ?? "the condition";
      const last = lastError === undefined ? "" : ` (last check: ${errorText(lastError)})`;
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last}`);
    }
    await sleep(Math.min(interval, left));
    interval = Math.min(interval * 1.5, 250);
  }
}

/** Live (non-zombie) processes whose process group is `pgid`, read from /proc. */
export function processGroupMembers(pgid: number): ProcessInfo[] {
  const members: ProcessInfo[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
    } catch {
      continue; // exited while we were looking
    }
    // "pid (comm) state ppid pgrp ..."; comm may itself contain spaces and parentheses.
    const open = stat.indexOf("(");
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" ");
    const state = fields[0] ?? "";
    const pg = Number(fields[2]);
    if (pg !== pgid || state === "Z" || state === "X") continue;
    members.push({ pid: Number(entry.name), pgid: pg, comm: stat.slice(open + 1, close), state });
  }
  return members;
}

function pidExists(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Pids of processes whose environment has `KADT_LAB=<value>` with `match(value)` true. The
 * marker survives exec, setsid and daemonising, so it finds what escaped a process group.
 */
export function labProcesses(match: (value: string) => boolean): number[] {
  const found: number[] = [];
  const key = `${LAB_ENV}=`;
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let environ: string;
    try {
      environ = Deno.readTextFileSync(`/proc/${entry.name}/environ`);
    } catch {
      continue;
    }
    for (const item of environ.split("\0")) {
      if (item.startsWith(key) && match(item.slice(key.length))) {
        found.push(Number(entry.name));
        break;
      }
    }
  }
  return found;
}

function killQuietly(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

const NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789";

function randomIfName(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  let s = prefix;
  for (const b of bytes) s += NAME_CHARS[b % NAME_CHARS.length];
  return s;
}

function checkIfName(name: string): string {
  if (name.length === 0 || name.length > IFNAME_MAX) {
    throw new RangeError(
      `Interface name '${name}' must be 1 to ${IFNAME_MAX} characters long; choose a shorter one`,
    );
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === "." || name === "..") {
    throw new RangeError(
      `Interface name '${name}' has characters the harness does not allow; use letters, ` +
        `digits, '_', '.' and '-'`,
    );
  }
  return name;
}

function checkCidr(cidr: string): string {
  if (!/^[0-9A-Fa-f.:]+\/\d{1,3}$/.test(cidr)) {
    throw new TypeError(
      `Address '${cidr}' is not in CIDR form; give a prefix length, e.g. '192.0.2.1/24' or ` +
        `'2001:db8::1/64'`,
    );
  }
  return cidr;
}

function sanitizeHint(hint: string): string {
  const s = hint.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 20);
  return s.replace(/-+$/, "") || "lab";
}

function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)
    .join(" ");
}

/**
 * A process started detached (its own session and process group), its output collected as it
 * arrives. Returned by `Netns.spawn()`; `Lab.close()` kills every one still running.
 */
export class SpawnedProcess {
  /** The leader's pid, which is also the process group id. */
  readonly pid: number;
  /** The command as given (without the `ip netns exec` prefix). */
  readonly command: readonly string[];
  /** Where it runs, for messages. */
  readonly where: string;
  /** Resolves when the leader exits (other group members may live on). */
  readonly status: Promise<Deno.CommandStatus>;
  readonly #child: Deno.ChildProcess;
  readonly #maxChars: number;
  readonly #pumps: Promise<void>[] = [];
  readonly #cancels: (() => Promise<void>)[] = [];
  #exit: Deno.CommandStatus | undefined = undefined;
  #stdout = "";
  #stderr = "";
  #output = "";
  #killing: Promise<Deno.CommandStatus> | undefined = undefined;
  #drained = false;

  /** @internal Use `Netns.spawn()`. */
  constructor(
    argv: readonly string[],
    command: readonly string[],
    where: string,
    options: SpawnOptions & { readonly pipeStdin?: boolean },
  ) {
    const [program, ...args] = argv;
    if (program === undefined) throw new TypeError("Command is empty; give at least a program");
    this.command = command;
    this.where = where;
    this.#maxChars = options.maxOutputChars ?? DEFAULT_MAX_OUTPUT;
    const commandOptions: Deno.CommandOptions = {
      args,
      stdin: options.pipeStdin === true ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    };
    if (options.env !== undefined) commandOptions.env = options.env;
    if (options.cwd !== undefined) commandOptions.cwd = options.cwd;
    this.#child = new Deno.Command(program, commandOptions).spawn();
    this.pid = this.#child.pid;
    this.status = this.#child.status.then((s) => {
      this.#exit = s;
      return s;
    });
    this.#pumps.push(this.#pump(this.#child.stdout, "stdout"));
    this.#pumps.push(this.#pump(this.#child.stderr, "stderr"));
    void Promise.all(this.#pumps).then(() => this.#drained = true);
  }

  /** The exit status once the leader has exited, else undefined. */
  get exitStatus(): Deno.CommandStatus | undefined {
    return this.#exit;
  }

  /** Standard output so far. */
  get stdout(): string {
    return this.#stdout;
  }

  /** Standard error so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Standard output and error so far, interleaved in arrival order. */
  get output(): string {
    return this.#output;
  }

  /** True while the leader runs or any other process of its group is alive. */
  get alive(): boolean {
    return this.#exit === undefined || processGroupMembers(this.pid).length > 0;
  }

  /** @internal The child's standard input, when it was opened as a pipe. */
  get stdinStream(): WritableStream<Uint8Array> {
    return this.#child.stdin;
  }

  /**
   * Waits until the output (both streams) matches `pattern` and returns the matched text.
   * Throws, quoting the end of the output, on timeout or as soon as the process has exited
   * and its output has ended without a match.
   */
  async waitForOutput(pattern: string | RegExp, timeoutMs: number): Promise<string> {
    const find = () => {
      if (typeof pattern === "string") return this.#output.includes(pattern) ? pattern : null;
      return pattern.exec(this.#output)?.[0] ?? null;
    };
    const ended = Symbol("ended");
    let reason = "";
    try {
      const r = await waitFor(
        () => find() ?? (this.#exit !== undefined && this.#drained ? ended : null),
        timeoutMs,
      );
      if (typeof r === "string") return r;
      reason = `it exited with code ${this.#exit?.code}`;
    } catch (e) {
      const found = find();
      if (found !== null) return found;
      reason = errorText(e);
    }
    throw new Error(
      `Output of '${shellQuote(this.command)}' in ${this.where} did not match '${pattern}': ` +
        `${reason}; output ends with: '${this.#output.slice(-400)}'`,
    );
  }

  /** Sends `signal` to the leader only, or to its whole process group. */
  signal(signal: Deno.Signal, options: { readonly group?: boolean } = {}): void {
    if (!this.alive) return;
    killQuietly(options.group === true ? -this.pid : this.pid, signal);
  }

  /**
   * Kills the whole process group: SIGTERM, then SIGKILL after `graceMs` if any member
   * remains. Resolves with the leader's status once no member is left; throws if one
   * survives SIGKILL for 5 s. Safe to call more than once.
   */
  kill(options: KillOptions = {}): Promise<Deno.CommandStatus> {
    this.#killing ??= this.#terminate(options.graceMs ?? DEFAULT_KILL_GRACE_MS);
    return this.#killing;
  }

  /** @internal Kills the group at once, without waiting (signal and unload paths). */
  killSync(): void {
    // Signal only while the leader is unreaped or the group has members, so a pid the
    // kernel has since handed to another process group is never hit.
    if (this.alive) killQuietly(-this.pid, "SIGKILL");
  }

  /** @internal Waits for the output streams to end, cancelling them after `ms`. */
  async drain(ms = DRAIN_MS): Promise<void> {
    const r = await within(Promise.all(this.#pumps), ms);
    // A process outside the group (one that called setsid) can hold the pipes open.
    if (!r.settled) await Promise.all(this.#cancels.map((cancel) => cancel()));
    await Promise.all(this.#pumps);
  }

  async #terminate(graceMs: number): Promise<Deno.CommandStatus> {
    const gone = () => !this.alive;
    if (this.alive) {
      killQuietly(-this.pid, "SIGTERM");
      const termed = await waitFor(gone, graceMs).then(() => true, () => false);
      if (!termed) {
        if (this.alive) killQuietly(-this.pid, "SIGKILL");
        await waitFor(gone, KILL_WAIT_MS).catch(() => {
          const left = processGroupMembers(this.pid).map((p) => `${p.pid} (${p.comm})`);
          throw new Error(
            `Process group ${this.pid} of '${shellQuote(this.command)}' in ${this.where} ` +
              `survived SIGKILL for ${KILL_WAIT_MS} ms; still alive: ${left.join(", ")}`,
          );
        });
      }
    }
    await this.drain();
    return await this.status;
  }

  async #pump(stream: ReadableStream<Uint8Array>, which: "stdout" | "stderr"): Promise<void> {
    const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
    this.#cancels.push(() => reader.cancel().catch(() => {}));
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        this.#append(which, value);
      }
    } catch {
      // Cancelled by drain(): the pipe stayed open after the group was gone.
    }
  }

  #append(which: "stdout" | "stderr", text: string): void {
    const cap = (s: string) => s.length > this.#maxChars ? s.slice(-this.#maxChars) : s;
    if (which === "stdout") this.#stdout = cap(this.#stdout + text);
    else this.#stderr = cap(this.#stderr + text);
    this.#output = cap(this.#output + text);
  }
}

/**
 * Runs `argv` to completion with a timeout, outside any lab (used by `reapStale()` and for
 * root-namespace `ip` calls). On timeout the process group is killed and this throws.
 */
async function execute(
  argv: readonly string[],
  options: RunOptions & { readonly shown?: readonly string[]; readonly where?: string } = {},
  track?: (p: SpawnedProcess, add: boolean) => void,
): Promise<RunResult> {
  const shown = options.shown ?? argv;
  const where = options.where ?? "the root namespace";
  const spawnOptions: SpawnOptions & { pipeStdin: boolean } = {
    pipeStdin: options.stdin !== undefined,
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  };
  const proc = new SpawnedProcess(argv, shown, where, spawnOptions);
  track?.(proc, true);
  try {
    if (options.stdin !== undefined) {
      const data = typeof options.stdin === "string"
        ? new TextEncoder().encode(options.stdin)
        : options.stdin;
      const writer = proc.stdinStream.getWriter();
      // A command that exits without reading its input makes these fail; that is its business.
      await writer.write(data).catch(() => {});
      await writer.close().catch(() => {});
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
    const r = await within(proc.status, timeoutMs);
    if (!r.settled) {
      await proc.kill({ graceMs: 200 });
      throw new Error(
        `Command '${shellQuote(shown)}' in ${where} did not finish within ${timeoutMs} ms and ` +
          `was killed; raise timeoutMs if it needs longer (stderr: '${proc.stderr.trim()}')`,
      );
    }
    await proc.drain();
    const status = r.value;
    const result: RunResult = {
      code: status.code,
      signal: status.signal,
      success: status.success,
      stdout: proc.stdout,
      stderr: proc.stderr,
    };
    if (options.check === true && !status.success) {
      throw new Error(
        `Command '${shellQuote(shown)}' in ${where} failed with exit code ${status.code}: ` +
          `'${proc.stderr.trim()}'`,
      );
    }
    return result;
  } finally {
    track?.(proc, false);
  }
}

/**
 * Runs a command in the current namespace outside any lab (a CLI test): `options.stdin` is
 * written and closed, output is collected, and a command still running after
 * `options.timeoutMs` is killed with its process group and the call throws.
 */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return execute(argv, options);
}

/** Runs a short command synchronously for the signal and unload paths, bounded by timeout(1). */
function executeSync(argv: readonly string[]): string {
  try {
    const out = new Deno.Command("timeout", {
      args: ["-s", "KILL", "5", ...argv],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    return new TextDecoder().decode(out.stdout);
  } catch {
    return "";
  }
}

/** The inode of a named namespace (what /proc/<pid>/ns/net links to), or null if none. */
function namespaceInode(name: string): number | null {
  try {
    return Deno.statSync(`${NETNS_DIR}/${name}`).ino;
  } catch {
    return null;
  }
}

/** Pids of the processes whose network namespace has inode `ino`. */
function pidsInNamespace(ino: number): number[] {
  const link = `net:[${ino}]`;
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      if (Deno.readLinkSync(`/proc/${entry.name}/ns/net`) === link) pids.push(Number(entry.name));
    } catch {
      // Exited while we were looking.
    }
  }
  return pids;
}

/**
 * Deletes a named namespace, then kills every process still in it. Deleting the name first
 * means no process can enter it any more (`ip netns exec` needs the name), so none is missed.
 * A namespace that is already gone is fine.
 */
async function destroyNamespace(name: string): Promise<void> {
  const ino = namespaceInode(name);
  const r = await execute(["ip", "netns", "del", name], { timeoutMs: 5_000 });
  if (!r.success && pathExists(`${NETNS_DIR}/${name}`)) {
    throw new Error(`Could not delete namespace '${name}': '${r.stderr.trim()}'`);
  }
  if (ino !== null) killNamespaceProcesses(ino);
}

function destroyNamespaceSync(name: string): void {
  const ino = namespaceInode(name);
  executeSync(["ip", "netns", "del", name]);
  if (ino !== null) killNamespaceProcesses(ino);
}

function killNamespaceProcesses(ino: number): void {
  // A second pass catches a child forked by a process while the first pass ran.
  for (let pass = 0; pass < 2; pass++) {
    for (const pid of pidsInNamespace(ino)) killQuietly(pid, "SIGKILL");
  }
}

async function deleteLink(name: string): Promise<void> {
  const r = await execute(["ip", "link", "del", "dev", name], { timeoutMs: 5_000 });
  if (!r.success && !/Cannot find device|does not exist/.test(r.stderr)) {
    throw new Error(`Could not delete link '${name}': '${r.stderr.trim()}'`);
  }
}

function pathExists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Deletes leftovers of runs whose process is gone: namespaces named `kadt-<hint>-<pid>-<n>`
 * (after killing every process still inside) and root-namespace links with the alias
 * `kadt:<pid>`, for each pid that no longer exists. Returns the names it removed. Leftovers of
 * a live pid are kept, even if that pid now belongs to another program.
 */
export async function reapStale(): Promise<string[]> {
  const reaped: string[] = [];
  let entries: string[] = [];
  try {
    entries = [...Deno.readDirSync(NETNS_DIR)].map((e) => e.name);
  } catch {
    // No namespace was ever created on this boot.
  }
  for (const name of entries) {
    const m = NS_NAME_RE.exec(name);
    if (m === null || pidExists(Number(m[2]))) continue;
    // Another process may be reaping the same leftover; losing that race is fine.
    await destroyNamespace(name).catch(() => {});
    if (!pathExists(`${NETNS_DIR}/${name}`)) reaped.push(name);
  }
  // Processes of a dead run that escaped its namespaces (a daemon in the root namespace).
  for (const pid of labProcesses((v) => !pidExists(Number(v.split(":")[0])))) {
    killQuietly(pid, "SIGKILL");
  }
  const links = await execute(["ip", "-j", "link", "show"], { timeoutMs: 5_000 });
  for (const link of parseJsonArray(links.stdout)) {
    const alias = typeof link["ifalias"] === "string" ? link["ifalias"] : "";
    const name = typeof link["ifname"] === "string" ? link["ifname"] : "";
    if (!alias.startsWith(ALIAS_PREFIX) || name === "") continue;
    const pid = Number(alias.slice(ALIAS_PREFIX.length));
    if (!Number.isInteger(pid) || pid <= 0 || pidExists(pid)) continue;
    await deleteLink(name).catch(() => {});
    reaped.push(name);
  }
  return reaped;
}

function parseJsonArray(text: string): Record<string, unknown>[] {
  if (text.trim() === "") return [];
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new TypeError(`Expected a JSON array from ip, got '${text}'`);
  return parsed.filter((x): x is Record<string, unknown> => typeof x === "object" && x !== null);
}

/**
 * Shell process that outlives us (its $1 is our pid): it reads "+ns NAME", "-ns NAME", "+link NAME", "-link NAME",
 * "+pg PGID", "-pg PGID" lines, and on end of input (this process died, so the kernel closed
 * the pipe) kills the groups and deletes what is still listed; "bye" ends it without cleanup.
 */
const WATCHDOG_SCRIPT = `
pgs=""; nss=""; links=""
drop() { r=""; for x in $1; do [ "$x" = "$2" ] || r="$r $x"; done; printf '%s' "$r"; }
while read -r op arg; do
  case "$op" in
    +pg) pgs="$pgs $arg" ;;
    -pg) pgs=$(drop "$pgs" "$arg") ;;
    +ns) nss="$nss $arg" ;;
    -ns) nss=$(drop "$nss" "$arg") ;;
    +link) links="$links $arg" ;;
    -link) links=$(drop "$links" "$arg") ;;
    bye) exit 0 ;;
  esac
done
for g in $pgs; do kill -KILL -- "-$g" 2>/dev/null; done
for f in $(grep -lz "^${LAB_ENV}=$1:" /proc/[0-9]*/environ 2>/dev/null); do
  p=\${f#/proc/}; kill -KILL "\${p%/environ}" 2>/dev/null
done
for n in $nss; do
  for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  ip netns del "$n" 2>/dev/null
done
for l in $links; do ip link del dev "$l" 2>/dev/null; done
exit 0
`;

class Watchdog {
  #child: Deno.ChildProcess | undefined = undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined = undefined;
  #queue: Promise<void> = Promise.resolve();

  start(): void {
    this.#child = new Deno.Command("sh", {
      args: ["-c", WATCHDOG_SCRIPT, "kadt-watchdog", String(Deno.pid)],
      stdin: "piped",
      stdout: "null",
      stderr: "null",
      detached: true, // a terminal's Ctrl-C must not reach it
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    // A script that never closes its lab must still end (its unload listener cleans up).
    this.#child.unref();
  }

  /** Queues one line; the returned promise resolves once it (and all before it) is written. */
  note(line: string): Promise<void> {
    const writer = this.#writer;
    if (writer === undefined) return this.#queue;
    const data = new TextEncoder().encode(`${line}\n`);
    this.#queue = this.#queue.then(() => writer.write(data)).catch(() => {});
    return this.#queue;
  }

  async stop(): Promise<void> {
    const child = this.#child;
    const writer = this.#writer;
    if (child === undefined || writer === undefined) return;
    await this.note("bye");
    this.#writer = undefined;
    this.#child = undefined;
    await writer.close().catch(() => {});
    const r = await within(child.status, 2_000);
    if (!r.settled) {
      killQuietly(-child.pid, "SIGKILL");
      await child.status;
    }
  }
}

const watchdog = new Watchdog();
// Lab registration and release are serialised so the watchdog and listeners start and stop
// in order even when labs open and close concurrently.
let lifecycle: Promise<void> = Promise.resolve();

function onSigint(): void {
  closeAllSync();
  Deno.exit(130);
}

function onSigterm(): void {
  closeAllSync();
  Deno.exit(143);
}

function closeAllSync(): void {
  for (const lab of [...openLabs]) lab[closeSync]();
  openLabs.clear();
}

function register(lab: Lab): Promise<void> {
  lifecycle = lifecycle.catch(() => {}).then(() => {
    openLabs.add(lab);
    if (openLabs.size !== 1) return;
    watchdog.start();
    Deno.addSignalListener("SIGINT", onSigint);
    Deno.addSignalListener("SIGTERM", onSigterm);
    globalThis.addEventListener("unload", closeAllSync);
  });
  return lifecycle;
}

function release(lab: Lab): Promise<void> {
  lifecycle = lifecycle.catch(() => {}).then(async () => {
    if (!openLabs.delete(lab) || openLabs.size !== 0) return;
    Deno.removeSignalListener("SIGINT", onSigint);
    Deno.removeSignalListener("SIGTERM", onSigterm);
    globalThis.removeEventListener("unload", closeAllSync);
    await watchdog.stop();
  });
  return lifecycle;
}

const closeSync = Symbol("closeSync");

/**
 * A network namespace made by a `Lab` (or the root namespace, `lab.root`). Commands run in it
 * with `ip netns exec`; `ip` itself is run as `ip -n <name>`.
 */
export class Netns {
  /** The namespace name (`kadt-...`), or "root" for the root namespace. */
  readonly name: string;
  /** The label given at creation, else the name. */
  readonly label: string;
  readonly isRoot: boolean;
  readonly lab: Lab;

  /** @internal Use `Lab.namespace()` or `lab.root`. */
  constructor(lab: Lab, name: string, label: string, isRoot: boolean) {
    this.lab = lab;
    this.name = name;
    this.label = label;
    this.isRoot = isRoot;
  }

  /** "namespace '<name>'" or "the root namespace", for messages. */
  get where(): string {
    return this.isRoot ? "the root namespace" : `namespace '${this.name}'`;
  }

  #argv(cmd: readonly string[]): string[] {
    if (cmd.length === 0) throw new TypeError("Command is empty; give at least a program");
    return this.isRoot ? [...cmd] : ["ip", "netns", "exec", this.name, ...cmd];
  }

  #env(env: Record<string, string> | undefined): Record<string, string> {
    return { ...env, [LAB_ENV]: this.lab.token };
  }

  /** Runs `cmd` in this namespace to completion (default timeout 10 s). */
  run(cmd: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    this.lab.assertOpen();
    return execute(
      this.#argv(cmd),
      { ...options, env: this.#env(options.env), shown: cmd, where: this.where },
      (p, add) => this.lab.track(p, add),
    );
  }

  /**
   * Starts a long-running `cmd` in this namespace, detached into its own process group.
   * `kill()` on the handle, or closing the lab, kills the whole group.
   */
  spawn(cmd: readonly string[], options: SpawnOptions = {}): SpawnedProcess {
    this.lab.assertOpen();
    const proc = new SpawnedProcess(this.#argv(cmd), cmd, this.where, {
      ...options,
      env: this.#env(options.env),
    });
    this.lab.track(proc, true);
    return proc;
  }

  /** Runs `ip [-n name] args...`; throws on failure; returns standard output. */
  async ip(
    args: readonly string[],
    options: { readonly timeoutMs?: number } = {},
  ): Promise<string> {
    this.lab.assertOpen();
    const argv = this.isRoot ? ["ip", ...args] : ["ip", "-n", this.name, ...args];
    // Not tracked: ip never leaves a process behind, and its own timeout bounds it.
    const r = await execute(argv, {
      check: true,
      timeoutMs: options.timeoutMs ?? 5_000,
      where: this.where,
    });
    return r.stdout;
  }

  linkUp(ifname: string): Promise<string> {
    return this.ip(["link", "set", "dev", ifname, "up"]);
  }

  linkDown(ifname: string): Promise<string> {
    return this.ip(["link", "set", "dev", ifname, "down"]);
  }

  /** Adds an address in CIDR form; IPv6 addresses get `nodad` unless `nodad: false`. */
  async addAddress(
    ifname: string,
    cidr: string,
    options: { readonly nodad?: boolean } = {},
  ): Promise<void> {
    const v6 = checkCidr(cidr).includes(":");
    const nodad = v6 && options.nodad !== false ? ["nodad"] : [];
    await this.ip(["addr", "add", cidr, "dev", ifname, ...nodad]);
  }

  async delAddress(ifname: string, cidr: string): Promise<void> {
    await this.ip(["addr", "del", checkCidr(cidr), "dev", ifname]);
  }

  /** The addresses of one interface, or of every interface when `ifname` is omitted. */
  async addresses(ifname?: string): Promise<AddressInfo[]> {
    const out = await this.ip([
      "-j",
      "addr",
      "show",
      ...(ifname === undefined ? [] : ["dev", ifname]),
    ]);
    const result: AddressInfo[] = [];
    for (const link of parseJsonArray(out)) {
      const infos = Array.isArray(link["addr_info"]) ? link["addr_info"] as unknown[] : [];
      for (const raw of infos) {
        if (typeof raw !== "object" || raw === null) continue;
        const a = raw as Record<string, unknown>;
        if (typeof a["local"] !== "string" || typeof a["prefixlen"] !== "number") continue;
        result.push({
          family: a["family"] === "inet6" ? 6 : 4,
          address: a["local"],
          prefixLength: a["prefixlen"],
          cidr: `${a["local"]}/${a["prefixlen"]}`,
          scope: typeof a["scope"] === "string" ? a["scope"] : "",
          tentative: a["tentative"] === true,
          dadFailed: a["dadfailed"] === true,
        });
      }
    }
    return result;
  }

  /** Every link of this namespace. */
  async links(): Promise<LinkInfo[]> {
    return parseJsonArray(await this.ip(["-j", "link", "show"])).map((l) => {
      const flags = Array.isArray(l["flags"]) ? (l["flags"] as unknown[]).map(String) : [];
      return {
        name: String(l["ifname"]),
        up: flags.includes("UP"),
        carrier: flags.includes("LOWER_UP"),
        operState: typeof l["operstate"] === "string" ? l["operstate"] : "UNKNOWN",
        mac: typeof l["address"] === "string" ? l["address"] : "",
        master: typeof l["master"] === "string" ? l["master"] : null,
        flags,
      };
    });
  }

  /** One link by name; throws if this namespace has no such link. */
  async link(ifname: string): Promise<LinkInfo> {
    const found = (await this.links()).find((l) => l.name === ifname);
    if (found === undefined) throw new Error(`${this.where} has no link '${ifname}'`);
    return found;
  }

  /** True when one `ping -c1 -W<waitS>` (IPv4 or IPv6) to `address` gets an answer. */
  async ping(address: string, options: { readonly waitS?: number } = {}): Promise<boolean> {
    const waitS = options.waitS ?? 1;
    const r = await this.run(["ping", "-n", "-c1", `-W${waitS}`, address], {
      timeoutMs: waitS * 1000 + 5_000,
    });
    return r.success;
  }

  /** `waitFor()` with the namespace named in the timeout message. */
  waitFor<T>(
    predicate: () => T | Promise<T>,
    timeoutMs: number,
    options: WaitOptions = {},
  ): Promise<Truthy<T>> {
    const what = `${options.what ?? "the condition"} in ${this.where}`;
    return waitFor(predicate, timeoutMs, { ...options, what });
  }
}

/**
 * A set of namespaces, links and processes that are all removed together by `close()`.
 *
 * @example
 * ```ts ignore
 * await using lab = await Lab.create("vrrp-basic");
 * const [r1, r2] = [await lab.namespace(), await lab.namespace()];
 * const veth = await lab.vethPair(r1, r2, { addrA: "192.0.2.1/24", addrB: "192.0.2.2/24" });
 * console.log(await r1.ping("192.0.2.2"), veth.a.ifname);
 * ```
 */
export class Lab implements AsyncDisposable {
  /** The sanitised hint that names this lab's namespaces. */
  readonly hint: string;
  /** The root namespace: links made here are deleted on close; processes are killed. */
  readonly root: Netns;
  /** The value of `KADT_LAB` in the environment of every process this lab starts. */
  readonly token: string;
  readonly #namespaces: Netns[] = [];
  readonly #hostLinks = new Set<string>();
  readonly #procs = new Set<SpawnedProcess>();
  #closing: Promise<void> | undefined = undefined;

  private constructor(hint: string) {
    this.hint = hint;
    this.root = new Netns(this, "root", "root", true);
    this.token = `${Deno.pid}:${randomIfName("")}`;
  }

  /**
   * Opens a lab. `hint` (letters and digits; others become '-') goes into namespace names.
   * Runs `reapStale()` first unless `reapStale: false`.
   */
  static async create(hint = "lab", options: LabOptions = {}): Promise<Lab> {
    if (options.reapStale !== false) await reapStale();
    const lab = new Lab(sanitizeHint(hint));
    await register(lab);
    return lab;
  }

  /** The namespaces made so far (not the root). */
  get namespaces(): readonly Netns[] {
    return [...this.#namespaces];
  }

  /** Links of the root namespace made by this lab and not yet deleted. */
  get hostLinks(): readonly string[] {
    return [...this.#hostLinks];
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** @internal */
  assertOpen(): void {
    if (this.#closing !== undefined) {
      throw new Error(`Lab '${this.hint}' is closed; create a new lab for more work`);
    }
  }

  /** @internal Tracks a process so `close()` kills it. */
  track(proc: SpawnedProcess, add: boolean): void {
    if (!add) {
      // A finished command whose group lives on (it backgrounded something) stays tracked.
      if (!proc.alive) this.#procs.delete(proc);
      return;
    }
    this.#procs.add(proc);
    void watchdog.note(`+pg ${proc.pid}`);
    void proc.status.then(() => {
      if (!proc.alive) void watchdog.note(`-pg ${proc.pid}`);
    });
  }

  /** Creates a namespace with loopback up (and, by default, IPv6 DAD off). */
  async namespace(options: NamespaceOptions = {}): Promise<Netns> {
    this.assertOpen();
    for (let attempt = 0; attempt < 100; attempt++) {
      const name = `${NS_PREFIX}${this.hint}-${Deno.pid}-${++nsCounter}`;
      if (pathExists(`${NETNS_DIR}/${name}`)) continue;
      await watchdog.note(`+ns ${name}`);
      const r = await execute(["ip", "netns", "add", name], { timeoutMs: 5_000 });
      if (!r.success) {
        await watchdog.note(`-ns ${name}`);
        if (/exists/i.test(r.stderr)) continue; // taken by a parallel module of this process
        throw new Error(`Could not create namespace '${name}': '${r.stderr.trim()}'`);
      }
      const ns = new Netns(this, name, options.label ?? name, false);
      // Registered before any further step, so a failure below still deletes it.
      this.#namespaces.push(ns);
      await ns.linkUp("lo");
      if (options.dad !== true) {
        await ns.run([
          "sysctl",
          "-q",
          "-w",
          "net.ipv6.conf.all.accept_dad=0",
          "net.ipv6.conf.default.accept_dad=0",
        ], { check: true, timeoutMs: 5_000 });
      }
      return ns;
    }
    throw new Error(`Could not find a free namespace name for lab '${this.hint}' in 100 tries`);
  }

  #checkOwn(ns: Netns): void {
    if (ns.lab !== this) {
      throw new Error(`${ns.where} belongs to lab '${ns.lab.hint}', not to lab '${this.hint}'`);
    }
  }

  async #noteHostLink(ns: Netns, name: string): Promise<void> {
    if (!ns.isRoot) return;
    this.#hostLinks.add(name);
    await watchdog.note(`+link ${name}`);
  }

  async #forgetHostLink(ns: Netns, name: string): Promise<void> {
    if (!ns.isRoot) return;
    this.#hostLinks.delete(name);
    await watchdog.note(`-link ${name}`);
  }

  /**
   * Creates a veth pair with one end in `a` and the other in `b` (either may be `lab.root`),
   * adds the given addresses and brings both ends up.
   */
  async vethPair(a: Netns, b: Netns, options: VethOptions = {}): Promise<VethPair> {
    this.assertOpen();
    this.#checkOwn(a);
    this.#checkOwn(b);
    const generated = options.nameA === undefined || options.nameB === undefined;
    for (let attempt = 0;; attempt++) {
      const nameA = checkIfName(options.nameA ?? randomIfName("kv"));
      let nameB = checkIfName(options.nameB ?? randomIfName("kv"));
      while (options.nameB === undefined && nameB === nameA) nameB = randomIfName("kv");
      await this.#noteHostLink(a, nameA);
      await this.#noteHostLink(b, nameB);
      const r = await execute([
        "ip",
        "link",
        "add",
        "name",
        nameA,
        ...(a.isRoot ? [] : ["netns", a.name]),
        "type",
        "veth",
        "peer",
        "name",
        nameB,
        ...(b.isRoot ? [] : ["netns", b.name]),
      ], { timeoutMs: 5_000 });
      if (!r.success) {
        await this.#forgetHostLink(a, nameA);
        await this.#forgetHostLink(b, nameB);
        if (generated && attempt < 5 && /exists/i.test(r.stderr)) continue;
        throw new Error(
          `Could not create veth pair '${nameA}' (${a.where}) / '${nameB}' (${b.where}): ` +
            `'${r.stderr.trim()}'`,
        );
      }
      const pair: VethPair = { a: { ns: a, ifname: nameA }, b: { ns: b, ifname: nameB } };
      for (const [end, addrs] of [[pair.a, options.addrA], [pair.b, options.addrB]] as const) {
        // The alias attributes a root-namespace link to this pid for reapStale().
        if (end.ns.isRoot) await end.ns.ip(["link", "set", "dev", end.ifname, "alias", aliasOf()]);
        for (const cidr of typeof addrs === "string" ? [addrs] : addrs ?? []) {
          await end.ns.addAddress(end.ifname, cidr);
        }
        if (options.up !== false) await end.ns.linkUp(end.ifname);
      }
      return pair;
    }
  }

  /** Creates a bridge in `ns` (STP off, multicast snooping off by default); returns its name. */
  async bridge(ns: Netns, options: BridgeOptions = {}): Promise<string> {
    this.assertOpen();
    this.#checkOwn(ns);
    const snooping = options.mcastSnooping === true ? "1" : "0";
    for (let attempt = 0;; attempt++) {
      const name = checkIfName(options.name ?? randomIfName("kb"));
      await this.#noteHostLink(ns, name);
      const r = await execute([
        "ip",
        ...(ns.isRoot ? [] : ["-n", ns.name]),
        "link",
        "add",
        "name",
        name,
        "type",
        "bridge",
        "stp_state",
        "0",
        "mcast_snooping",
        snooping,
      ], { timeoutMs: 5_000 });
      if (!r.success) {
        await this.#forgetHostLink(ns, name);
        if (options.name === undefined && attempt < 5 && /exists/i.test(r.stderr)) continue;
        throw new Error(`Could not create bridge '${name}' in ${ns.where}: '${r.stderr.trim()}'`);
      }
      if (ns.isRoot) await ns.ip(["link", "set", "dev", name, "alias", aliasOf()]);
      if (options.up !== false) await ns.linkUp(name);
      return name;
    }
  }

  /** Enslaves `ifname` to `bridge` (both in `ns`) and brings it up. */
  async attach(ns: Netns, ifname: string, bridge: string): Promise<void> {
    this.#checkOwn(ns);
    await ns.ip(["link", "set", "dev", ifname, "master", bridge, "up"]);
  }

  /**
   * Kills every process started through this lab (whole groups, SIGTERM then SIGKILL), kills
   * whatever else runs in its namespaces, deletes its root-namespace links and namespaces.
   * Throws (after doing all it can) if something could not be removed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    const problems: string[] = [];
    const kills = await Promise.allSettled([...this.#procs].map((p) => p.kill()));
    for (const k of kills) if (k.status === "rejected") problems.push(errorText(k.reason));
    for (const p of this.#procs) if (!p.alive) void watchdog.note(`-pg ${p.pid}`);
    this.#procs.clear();
    // Whatever left the groups (setsid, daemonising) but still carries this lab's marker.
    for (const pid of labProcesses((v) => v === this.token)) killQuietly(pid, "SIGKILL");
    for (const name of this.#hostLinks) {
      try {
        await deleteLink(name);
        await watchdog.note(`-link ${name}`);
      } catch (e) {
        problems.push(errorText(e));
      }
    }
    this.#hostLinks.clear();
    for (const ns of this.#namespaces) {
      try {
        await destroyNamespace(ns.name);
        await watchdog.note(`-ns ${ns.name}`);
      } catch (e) {
        problems.push(errorText(e));
      }
    }
    await release(this);
    if (problems.length > 0) {
      throw new Error(`Lab '${this.hint}' did not clean up fully: ${problems.join("; ")}`);
    }
  }

  /** @internal The signal and unload path: no waiting, SIGKILL straight away. */
  [closeSync](): void {
    this.#closing ??= Promise.resolve();
    for (const p of this.#procs) p.killSync();
    for (const pid of labProcesses((v) => v === this.token)) killQuietly(pid, "SIGKILL");
    for (const name of this.#hostLinks) executeSync(["ip", "link", "del", "dev", name]);
    for (const ns of this.#namespaces) destroyNamespaceSync(ns.name);
  }
}

function aliasOf(): string {
  return `${ALIAS_PREFIX}${Deno.pid}`;
}
