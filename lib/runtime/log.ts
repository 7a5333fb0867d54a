/**
 * Process logging. kad always logs to stderr (systemd's journal captures it), one line per
 * message, prefixed the way keepalived operators grep for (`(VI_1) …` is the caller's part).
 * `-D/--log-detail` turns on detail messages. It must not touch anything but stderr.
 */

export interface Logger {
  detail(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const encoder = new TextEncoder();

/** A logger writing to stderr; `detail` messages only when `verbose`. */
export function stderrLogger(verbose: boolean): Logger {
  const write = (msg: string) => {
    try {
      Deno.stderr.writeSync(encoder.encode(msg + "\n"));
    } catch {
      // A closed stderr must not take the process down.
    }
  };
  return {
    detail: (msg) => verbose && write(msg),
    info: write,
    warn: write,
    error: write,
  };
}
