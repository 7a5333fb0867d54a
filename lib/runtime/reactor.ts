/**
 * The reactor: one loop for every descriptor kad waits on, and for the timers that drive
 * the VRRP state machine (spec/deno-platform.md, "FFI": a single `epoll_wait` on Deno's
 * blocking thread pool, woken through an eventfd; every other call synchronous and
 * non-blocking). Idle, the loop sleeps in `epoll_wait` and uses no CPU.
 *
 * Timers live on the same loop: a binary heap of absolute deadlines on the monotonic clock
 * (`performance.now()` milliseconds). The earliest one arms a timerfd (CLOCK_MONOTONIC,
 * nanoseconds) in the epoll set, so `epoll_wait` blocks without a timeout and wakes at the
 * deadline rather than at the next whole millisecond; a timer set earlier while the loop
 * waits re-arms the timerfd in place. One loop gives one order of events (descriptors
 * first, then due timers, in deadline order) and lets the reactor measure how late a timer
 * fired, which the daemon needs for keepalived's late-scheduling check (spec/vrrp.md
 * §3.14). `setTimeout` runs outside that order. Measured on this machine (2 cores, idle,
 * 70 timers of 0.3 ms to 250 ms): a timer runs 0.15 ms after its deadline at the median
 * and 0.8 ms at worst (the thread hop back from `epoll_wait`; whole-millisecond timeouts
 * gave 0.9 and 2.5 ms); a ready descriptor reaches its callback in about 15 µs.
 *
 * Owns the epoll, eventfd and timerfd descriptors, the registrations and the timer heap. It never
 * closes the descriptors registered with it (their owners do) and lets no callback error
 * escape: each is logged and counted in `stats.callbackErrors`, and the loop goes on.
 */
import { errorText } from "./error_text.ts";
import {
  CLOCK_MONOTONIC,
  close as closeFd,
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_EVENT_SIZE,
  epollCreate,
  epollCtl,
  EPOLLIN,
  epollWait,
  ErrnoError,
  eventfd,
  read as readFd,
  TFD_CLOEXEC,
  TFD_NONBLOCK,
  timerfdCreate,
  timerfdSettime,
  write as writeFd,
} from "../../ffi/libc.ts";
import { type Logger, stderrLogger } from "./log.ts";

/**
 * Called when a registered descriptor is ready; `events` is the epoll event mask. A
 * returned promise is awaited only to log and count its rejection.
 */
export type ReadyCallback = (events: number) => unknown;

/** Called when a timer is due; `latenessMs` is how long after its deadline it ran. */
export type TimerCallback = (latenessMs: number) => unknown;

/** A scheduled timer. */
export interface Timer {
  /** The deadline, on the reactor's clock (milliseconds). */
  readonly at: number;
  /** Cancels the timer; harmless after it ran or was cancelled. */
  cancel(): void;
}

/** Counters the daemon reports. */
export interface ReactorStats {
  /** Returns from `epoll_wait`. */
  wakeups: number;
  /** Descriptor callbacks run. */
  dispatched: number;
  /** Timer callbacks run. */
  timersFired: number;
  /** Callbacks (descriptor, timer or signal) that threw or rejected. */
  callbackErrors: number;
  /** `epoll_wait` failures (EINTR when a signal hits its thread). */
  waitErrors: number;
  /** The latest a timer has run after its deadline, in milliseconds. */
  maxLatenessMs: number;
}

/** Options of `Reactor.create()`. */
export interface ReactorOptions {
  /** Where callback failures are logged; default stderr. */
  readonly log?: Logger;
  /** Events taken from one `epoll_wait`; default 64. */
  readonly maxEvents?: number;
  /** The clock timers use (monotonic milliseconds); default `performance.now()`. */
  readonly now?: () => number;
}

interface Registration {
  readonly fd: number;
  readonly callback: ReadyCallback;
  readonly name: string;
}

interface TimerEntry extends Timer {
  readonly seq: number;
  readonly callback: TimerCallback;
  cancelled: boolean;
}

/** The eventfd's epoll token. */
const WAKE_TOKEN = 0;
/** The timerfd's epoll token; registrations get tokens from `FIRST_TOKEN` on. */
const TIMER_TOKEN = 1;
const FIRST_TOKEN = 2;
/** After this many `epoll_wait` failures in a row the loop pauses before trying again. */
const ERROR_PAUSE_AFTER = 3;
const ERROR_PAUSE_MS = 100;

/**
 * The single event loop.
 *
 * @example
 * ```ts ignore
 * const reactor = Reactor.create();
 * reactor.add(socket.fd, () => drain(socket), "VRRP eth0");
 * reactor.after(1000, () => sendAdvert());
 * reactor.handleSignals(); // SIGTERM/SIGINT stop the loop
 * await reactor.run();
 * reactor.close();
 * ```
 */
export class Reactor {
  readonly stats: ReactorStats = {
    wakeups: 0,
    dispatched: 0,
    timersFired: 0,
    callbackErrors: 0,
    waitErrors: 0,
    maxLatenessMs: 0,
  };
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #epfd: number;
  readonly #evfd: number;
  readonly #tfd: number;
  readonly #maxEvents: number;
  readonly #events: Uint8Array;
  readonly #eventView: DataView;
  readonly #wakeBuf = new Uint8Array(8);
  readonly #expiryBuf = new Uint8Array(8);
  readonly #byToken = new Map<number, Registration>();
  readonly #byFd = new Map<number, number>();
  #nextToken = FIRST_TOKEN;
  readonly #heap: TimerEntry[] = [];
  #timerSeq = 0;
  #running = false;
  #stopping = false;
  #closed = false;
  /** True while an `epoll_wait` is pending. */
  #waiting = false;
  /** The deadline the timerfd is armed for (the reactor's clock); undefined when disarmed. */
  #armedAt: number | undefined;
  #signals: { signal: Deno.Signal; listener: () => void }[] = [];

  private constructor(options: ReactorOptions, epfd: number, evfd: number, tfd: number) {
    this.#log = options.log ?? stderrLogger(false);
    this.#now = options.now ?? (() => performance.now());
    this.#maxEvents = options.maxEvents ?? 64;
    // Off-heap, and kept in a field: the pool thread writes into it while JS runs on.
    this.#events = new Uint8Array(new ArrayBuffer(this.#maxEvents * EPOLL_EVENT_SIZE));
    this.#eventView = new DataView(this.#events.buffer);
    this.#epfd = epfd;
    this.#evfd = evfd;
    this.#tfd = tfd;
  }

  /** Opens the epoll instance, its wake-up eventfd and its timerfd. */
  static create(options: ReactorOptions = {}): Reactor {
    const epfd = epollCreate();
    let evfd = -1;
    let tfd = -1;
    try {
      evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      epollCtl(epfd, EPOLL_CTL_ADD, evfd, EPOLLIN, WAKE_TOKEN);
      tfd = timerfdCreate(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
      epollCtl(epfd, EPOLL_CTL_ADD, tfd, EPOLLIN, TIMER_TOKEN);
    } catch (e) {
      if (tfd >= 0) closeFd(tfd);
      if (evfd >= 0) closeFd(evfd);
      closeFd(epfd);
      throw e;
    }
    return new Reactor(options, epfd, evfd, tfd);
  }

  /** The reactor's clock: monotonic milliseconds. */
  now(): number {
    return this.#now();
  }

  /** True while `run()` is looping. */
  get running(): boolean {
    return this.#running;
  }

  /** Number of registered descriptors. */
  get size(): number {
    return this.#byToken.size;
  }

  /**
   * Calls `callback` whenever `fd` is ready (level-triggered: a callback that leaves data
   * unread is called again on the next turn). `name` labels log lines. Throws if `fd` is
   * already registered.
   */
  add(fd: number, callback: ReadyCallback, name = `fd ${fd}`, events = EPOLLIN): void {
    this.#checkOpen();
    if (this.#byFd.has(fd)) {
      throw new Error(`Descriptor ${fd} (${name}) is already registered with the reactor`);
    }
    const token = this.#nextToken;
    this.#nextToken = this.#nextToken >= 0xffffffff ? FIRST_TOKEN : this.#nextToken + 1;
    epollCtl(this.#epfd, EPOLL_CTL_ADD, fd, events, token);
    this.#byToken.set(token, { fd, callback, name });
    this.#byFd.set(fd, token);
  }

  /**
   * Stops watching `fd` (before its owner closes it). Events already taken for it in the
   * current turn are dropped. Unknown descriptors are ignored.
   */
  remove(fd: number): void {
    const token = this.#byFd.get(fd);
    if (token === undefined) return;
    this.#byFd.delete(fd);
    this.#byToken.delete(token);
    if (this.#closed) return;
    try {
      epollCtl(this.#epfd, EPOLL_CTL_DEL, fd, 0, 0);
    } catch (e) {
      // Closed before removal: the kernel has dropped it from the set already.
      if (!(e instanceof ErrnoError && (e.code === "EBADF" || e.code === "ENOENT"))) throw e;
    }
  }

  /** Runs `callback` at `deadline` (the reactor's clock), or at once if it has passed. */
  at(deadline: number, callback: TimerCallback): Timer {
    this.#checkOpen();
    const entry: TimerEntry = {
      at: deadline,
      seq: this.#timerSeq++,
      callback,
      cancelled: false,
      cancel() {
        entry.cancelled = true;
      },
    };
    this.#push(entry);
    // An earlier deadline re-arms the timerfd under the pending wait: no wake-up needed.
    if (this.#waiting && (this.#armedAt === undefined || deadline < this.#armedAt)) {
      this.#arm(deadline);
    }
    return entry;
  }

  /** Runs `callback` `delayMs` from now. */
  after(delayMs: number, callback: TimerCallback): Timer {
    return this.at(this.#now() + Math.max(0, delayMs), callback);
  }

  /** Makes the pending `epoll_wait` return (to stop). */
  wake(): void {
    if (this.#closed) return;
    new DataView(this.#wakeBuf.buffer).setBigUint64(0, 1n, true);
    try {
      writeFd(this.#evfd, this.#wakeBuf);
    } catch (e) {
      // EAGAIN: the counter is saturated, so the loop is due to wake anyway.
      if (!(e instanceof ErrnoError && e.code === "EAGAIN")) throw e;
    }
  }

  /**
   * Stops the loop: `run()` resolves after the current turn. Safe to call from a callback,
   * a signal handler or outside; has no effect when the loop is not running.
   */
  stop(): void {
    if (!this.#running) return;
    this.#stopping = true;
    this.wake();
  }

  /**
   * Calls `handler` on each of `signals` while the loop runs (default: stop the loop).
   * Listeners are removed when `run()` ends. The handler's failures are logged and counted.
   */
  handleSignals(
    handler: (signal: Deno.Signal) => unknown = () => this.stop(),
    signals: readonly Deno.Signal[] = ["SIGTERM", "SIGINT"],
  ): void {
    for (const signal of signals) {
      const listener = () => this.#guard(`the ${signal} handler`, () => handler(signal));
      Deno.addSignalListener(signal, listener);
      this.#signals.push({ signal, listener });
    }
  }

  /** Loops until `stop()`. Throws if already running or closed. */
  async run(): Promise<void> {
    this.#checkOpen();
    if (this.#running) throw new Error("Reactor.run() is already running; call it once");
    this.#running = true;
    this.#stopping = false;
    let failures = 0;
    try {
      while (!this.#stopping) {
        const timeout = this.#prepareWait();
        this.#waiting = true;
        const n = await epollWait(this.#epfd, this.#events, this.#maxEvents, timeout);
        this.#waiting = false;
        this.stats.wakeups++;
        if (n < 0) {
          this.stats.waitErrors++;
          if (++failures >= ERROR_PAUSE_AFTER) {
            this.#log.error(`Reactor: epoll_wait failed ${failures} times in a row; pausing`);
            await new Promise((resolve) => setTimeout(resolve, ERROR_PAUSE_MS));
          }
          continue;
        }
        failures = 0;
        this.#dispatch(n);
        this.#runTimers();
      }
    } finally {
      this.#waiting = false;
      this.#running = false;
      this.#stopping = false;
      for (const { signal, listener } of this.#signals) {
        Deno.removeSignalListener(signal, listener);
      }
      this.#signals = [];
    }
  }

  /** Closes the epoll, eventfd and timerfd descriptors. The loop must not be running. */
  close(): void {
    if (this.#closed) return;
    if (this.#running) throw new Error("Reactor.close() while running; stop() and await run()");
    this.#closed = true;
    this.#byFd.clear();
    this.#byToken.clear();
    this.#heap.length = 0;
    this.#armedAt = undefined;
    closeFd(this.#tfd);
    closeFd(this.#evfd);
    closeFd(this.#epfd);
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error("The reactor is closed; create a new one");
  }

  /**
   * Runs a callback, logging and counting a throw or a rejection. `what` names it in the log
   * line; a function is only called on failure (the descriptor path runs per packet).
   */
  #guard(what: string | (() => string), fn: () => unknown): void {
    const fail = (e: unknown) => {
      this.stats.callbackErrors++;
      this.#log.error(
        `Reactor: ${typeof what === "string" ? what : what()} failed: ${errorText(e)}`,
      );
    };
    try {
      const r = fn();
      if (r instanceof Promise) r.catch(fail);
    } catch (e) {
      fail(e);
    }
  }

  #dispatch(n: number): void {
    for (let i = 0; i < n; i++) {
      const off = i * EPOLL_EVENT_SIZE;
      const events = this.#eventView.getUint32(off, true);
      const token = this.#eventView.getUint32(off + 4, true);
      if (token === WAKE_TOKEN) {
        // Reset the counter; a failure here only means the next wait returns at once.
        this.#guard("clearing the wake-up eventfd", () => readFd(this.#evfd, this.#wakeBuf));
        continue;
      }
      if (token === TIMER_TOKEN) {
        // Expired: reset its counter; the due timers run after the descriptors.
        this.#armedAt = undefined;
        this.#guard("clearing the timerfd", () => readFd(this.#tfd, this.#expiryBuf));
        continue;
      }
      const reg = this.#byToken.get(token);
      if (reg === undefined) continue;
      this.stats.dispatched++;
      this.#guard(() => `the callback for ${reg.name}`, () => reg.callback(events));
    }
  }

  /**
   * Arms the timerfd for the earliest live timer (or disarms it) and returns the
   * `epoll_wait` timeout: 0 when a timer is already due, else -1 (the timerfd wakes it).
   */
  #prepareWait(): number {
    this.#dropCancelled();
    const first = this.#heap[0];
    if (first === undefined) {
      if (this.#armedAt !== undefined) {
        timerfdSettime(this.#tfd, 0, 0n);
        this.#armedAt = undefined;
      }
      return -1;
    }
    if (first.at <= this.#now()) return 0;
    if (this.#armedAt !== first.at) this.#arm(first.at);
    return -1;
  }

  /**
   * Arms the timerfd to expire at `deadline` on the reactor's clock. The delay is taken on
   * that clock and given to the kernel relative, in nanoseconds rounded up, so a custom
   * `now` works too; the clocks drift apart only by the few microseconds of this call.
   */
  #arm(deadline: number): void {
    const ns = Math.ceil((deadline - this.#now()) * 1e6);
    // 0 would disarm it: a deadline already past expires after 1 ns.
    timerfdSettime(this.#tfd, 0, BigInt(Math.max(1, ns)));
    this.#armedAt = deadline;
  }

  #runTimers(): void {
    const now = this.#now();
    // Timers set by these callbacks wait for the next turn, so descriptors are not starved.
    const limit = this.#timerSeq;
    for (;;) {
      this.#dropCancelled();
      const first = this.#heap[0];
      if (first === undefined || first.at > now || first.seq >= limit) return;
      this.#pop();
      first.cancelled = true;
      const lateness = Math.max(0, now - first.at);
      if (lateness > this.stats.maxLatenessMs) this.stats.maxLatenessMs = lateness;
      this.stats.timersFired++;
      this.#guard("a timer", () => first.callback(lateness));
    }
  }

  // ---- binary min-heap ordered by (at, seq) ----

  #less(a: TimerEntry, b: TimerEntry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(e: TimerEntry): void {
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(h[i] as TimerEntry, h[p] as TimerEntry)) break;
      [h[i], h[p]] = [h[p] as TimerEntry, h[i] as TimerEntry];
      i = p;
    }
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.#less(h[l] as TimerEntry, h[m] as TimerEntry)) m = l;
      if (r < h.length && this.#less(h[r] as TimerEntry, h[m] as TimerEntry)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m] as TimerEntry, h[i] as TimerEntry];
      i = m;
    }
  }

  #dropCancelled(): void {
    while (this.#heap[0]?.cancelled) this.#pop();
  }
}
