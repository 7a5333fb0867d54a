/**
 * Minimal assertions for the test suite (jsr:@std/assert is unreachable from this
 * machine). Messages show both values.
 */

export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new AssertionError(msg);
}

function show(v: unknown): string {
  try {
    return Deno.inspect(v, { depth: 8, colors: false, sorted: true, strAbbreviateSize: 2000 });
  } catch {
    return String(v);
  }
}

/** Structural deep equality (plain objects, arrays, Maps, Sets, typed arrays, primitives). */
export function equal(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !equal(v, b.get(k))) return false;
    return true;
  }
  if (a instanceof Set && b instanceof Set) {
    if (a.size !== b.size) return false;
    for (const v of a) if (!b.has(v)) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k)) return false;
    if (!equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (!equal(actual, expected)) {
    throw new AssertionError(
      `${msg ? msg + "\n" : ""}values are not equal:\n  actual:   ${show(actual)}\n  expected: ${
        show(expected)
      }`,
    );
  }
}

export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  if (equal(actual, expected)) {
    throw new AssertionError(`${msg ? msg + "\n" : ""}values are equal: ${show(actual)}`);
  }
}

export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  if (!actual.includes(expected)) {
    throw new AssertionError(
      `${msg ? msg + "\n" : ""}expected to find ${show(expected)} in:\n${actual.slice(0, 4000)}`,
    );
  }
}

export function assertMatch(actual: string, re: RegExp, msg?: string): void {
  if (!re.test(actual)) {
    throw new AssertionError(`${msg ? msg + "\n" : ""}expected ${show(actual)} to match ${re}`);
  }
}

export function assertThrows(
  fn: () => unknown,
  cls?: new (...a: never[]) => Error,
  includes?: string,
): Error {
  try {
    fn();
  } catch (e) {
    if (cls && !(e instanceof cls)) {
      throw new AssertionError(`expected ${cls.name}, got ${show(e)}`);
    }
    if (includes && !(e instanceof Error && e.message.includes(includes))) {
      throw new AssertionError(
        `expected error message to include ${show(includes)}, got ${show(e)}`,
      );
    }
    return e as Error;
  }
  throw new AssertionError("expected function to throw");
}

export async function assertRejects(
  fn: () => Promise<unknown>,
  cls?: new (...a: never[]) => Error,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    if (cls && !(e instanceof cls)) {
      throw new AssertionError(`expected ${cls.name}, got ${show(e)}`);
    }
    if (includes && !(e instanceof Error && e.message.includes(includes))) {
      throw new AssertionError(
        `expected error message to include ${show(includes)}, got ${show(e)}`,
      );
    }
    return e as Error;
  }
  throw new AssertionError("expected promise to reject");
}
