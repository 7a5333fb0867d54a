/**
 * Writing a command's output: all of it, synchronously (so stdout and stderr stay in order),
 * and without a crash when the reader has gone (`kad dump | head`): a closed pipe ends the
 * output quietly, as it does for keepalived's tools.
 */

const encoder = new TextEncoder();

/** Writes all of `text` to `stream`; a failing write (EPIPE, a closed stream) drops the rest. */
export function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  try {
    while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
  } catch {
    // The reader went away: nothing more can be shown, and that is no reason to fail.
  }
}

/** `writeAll` to stdout. */
export function writeStdout(text: string): void {
  writeAll(Deno.stdout, text);
}

/** `writeAll` to stderr. */
export function writeStderr(text: string): void {
  writeAll(Deno.stderr, text);
}
