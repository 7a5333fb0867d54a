/**
 * What the raw-socket modules (gratuitous ARP, unsolicited NA, VRRP send and receive
 * sockets) share: opening a socket and running its set-up so that failures name the
 * operation (and the step), and a socket that closes once and counts what it sent.
 *
 * Owns no socket options and no message layout; those stay with each protocol's module.
 */
import { close as closeFd, ErrnoError } from "../../ffi/libc.ts";

/**
 * `e` re-made to name `operation`: an ErrnoError as "<operation> failed: <errno text>", a
 * RangeError as "<operation> failed: <message>"; anything else as it is.
 */
export function failedAs(e: unknown, operation: string): unknown {
  if (e instanceof ErrnoError) return new ErrnoError(e.call, e.errno, operation);
  if (e instanceof RangeError) return new RangeError(`${operation} failed: ${e.message}`);
  return e;
}

/** Opens a socket with `open`; a failing socket() call names `operation`. */
export function openSocket(operation: string, open: () => number): number {
  try {
    return open();
  } catch (e) {
    if (e instanceof ErrnoError) throw new ErrnoError(e.call, e.errno, operation);
    throw e;
  }
}

/** Runs socket set-up, closing `fd` and naming `operation` (and the step) if a step fails. */
export function setUpSocket(fd: number, operation: string, steps: () => void): void {
  try {
    steps();
  } catch (e) {
    closeFd(fd);
    if (e instanceof ErrnoError) {
      throw new ErrnoError(e.call, e.errno, operation, e.operation ?? e.call);
    }
    if (e instanceof RangeError) throw new RangeError(`${operation} failed: ${e.message}`);
    throw e;
  }
}

/** A socket descriptor this object owns; `close()` closes it once. */
export class OwnedSocket {
  readonly fd: number;
  #closed = false;

  protected constructor(fd: number) {
    this.fd = fd;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeFd(this.fd);
  }
}

/** A send socket that counts messages sent and send failures, for the daemon's counters. */
export class CountingSocket extends OwnedSocket {
  sent = 0;
  failures = 0;

  /** Runs one send; a failure is counted and rethrown naming `operation` (see failedAs). */
  protected counted(operation: string, send: () => void): void {
    try {
      send();
      this.sent++;
    } catch (e) {
      this.failures++;
      throw failedAs(e, operation);
    }
  }
}
