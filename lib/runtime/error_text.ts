/**
 * The text of anything thrown, for log lines and user-facing messages: an Error's message,
 * anything else as a string. The one place for it; modules with more specific wording
 * (file errors in lib/config) build on it.
 */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
