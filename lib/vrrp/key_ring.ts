/**
 * The auth_hmac keys of one instance (spec/vrrp.md §2.3.2, §2.3.10, §2.3.11): every key
 * verifies adverts carrying its id, exactly one — the active key — signs. Runtime
 * operations `add`, `replace`, `activate` and `retire` are what key rotation
 * (make-before-break, §2.3.11) is made of; the configuration fills the ring at start and
 * reload, a later `kad rotate-key` drives it through the control socket.
 *
 * Key bytes are copied in, turned into HMAC-SHA256 states (lib/vrrp/keyed_hmac.ts) and the
 * copy zeroed at once; the states are wiped when a key is retired or replaced and when the
 * ring is closed. Nothing here ever puts key material in a message, JSON or inspection
 * output: errors and snapshots name key ids only. Pure: no clock, no I/O.
 */
import { KeyedHmac } from "./keyed_hmac.ts";

/** Key ids on the wire are one byte, 0 unused (§2.3.2). */
export const KEY_ID_MIN = 1;
export const KEY_ID_MAX = 255;
/** Key lengths after decoding (§2.3.2). */
export const KEY_LENGTH_MIN = 32;
export const KEY_LENGTH_MAX = 64;

/** A key ring operation that cannot be done; the message names the id and the fix. */
export class KeyRingError extends Error {
  override name = "KeyRingError";
}

/** What a ring holds, without key material (for `kad dump` and `rotate-key status`). */
export interface KeyRingSnapshot {
  /** The signing key's id; undefined when the ring is empty or closed. */
  readonly activeKey: number | undefined;
  /** Every key id, ascending. */
  readonly keyIds: readonly number[];
}

/** A fixed message whose MAC under two keys tells whether they are the same key. */
const CHECK_MESSAGE = new TextEncoder().encode("kad key ring: same key?");

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < KEY_ID_MIN || id > KEY_ID_MAX) {
    throw new KeyRingError(`Key id '${id}' is out of range (${KEY_ID_MIN} to ${KEY_ID_MAX})`);
  }
}

function checkLength(id: number, bytes: Uint8Array): void {
  if (bytes.length < KEY_LENGTH_MIN || bytes.length > KEY_LENGTH_MAX) {
    throw new KeyRingError(
      `Key ${id} is ${bytes.length} bytes long; keys must be ${KEY_LENGTH_MIN} to ${KEY_LENGTH_MAX} bytes`,
    );
  }
}

/** Whether two keys are the same, by their MACs of CHECK_MESSAGE (constant time). */
function sameKey(a: KeyedHmac, b: KeyedHmac): boolean {
  const x = new Uint8Array(a.outputLength);
  const y = new Uint8Array(b.outputLength);
  a.macInto(CHECK_MESSAGE, x);
  b.macInto(CHECK_MESSAGE, y);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= (x[i] as number) ^ (y[i] as number);
  x.fill(0);
  y.fill(0);
  return diff === 0;
}

/**
 * The keys of one instance.
 *
 * @example
 * ```ts
 * import { KeyRing } from "./key_ring.ts";
 * const ring = new KeyRing();
 * ring.add(1, new Uint8Array(32).fill(7));
 * ring.activate(1);
 * ring.add(2, new Uint8Array(32).fill(9)); // verify-only until activated
 * ring.activate(2);
 * ring.retire(1); // wiped
 * ring.snapshot(); // { activeKey: 2, keyIds: [2] }
 * ```
 */
export class KeyRing {
  readonly #keys = new Map<number, KeyedHmac>();
  #active: number | undefined;
  #closed = false;

  /**
   * A ring holding `keys` (id → bytes) with `activeKey` signing. The byte arrays are not
   * kept; the caller wipes them. Throws a KeyRingError for a bad id, length or active key.
   */
  static from(keys: ReadonlyMap<number, Uint8Array>, activeKey: number): KeyRing {
    const ring = new KeyRing();
    try {
      for (const [id, bytes] of keys) ring.add(id, bytes);
      ring.activate(activeKey);
    } catch (e) {
      ring.close();
      throw e;
    }
    return ring;
  }

  /** The signing key's id; undefined when none is active. */
  get activeKey(): number | undefined {
    return this.#active;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Every key id, ascending. */
  keyIds(): number[] {
    return [...this.#keys.keys()].sort((a, b) => a - b);
  }

  has(id: number): boolean {
    return this.#keys.has(id);
  }

  /**
   * Adds a verify-only key (it signs once activated). The bytes are copied into the key's
   * HMAC state; the caller's array is left as it is (wipe it). Throws a KeyRingError when
   * the id is in use, out of range, or the key is not 32 to 64 bytes.
   */
  add(id: number, bytes: Uint8Array): void {
    this.#open();
    checkId(id);
    if (this.#keys.has(id)) {
      throw new KeyRingError(`Key id ${id} is already in use; retire it first or replace it`);
    }
    checkLength(id, bytes);
    this.#keys.set(id, new KeyedHmac("sha256", bytes));
  }

  /**
   * Replaces the bytes of key `id` (the old key's state is wiped). Adverts signed with the
   * old bytes stop verifying at once. Throws a KeyRingError for an unknown id or a bad length.
   */
  replace(id: number, bytes: Uint8Array): void {
    this.#open();
    checkId(id);
    const old = this.#keys.get(id);
    if (old === undefined) throw new KeyRingError(`Key id ${id} is not in the ring; add it`);
    checkLength(id, bytes);
    this.#keys.set(id, new KeyedHmac("sha256", bytes));
    old.wipe();
  }

  /** Makes key `id` the signing key. Throws a KeyRingError for an unknown id. */
  activate(id: number): void {
    this.#open();
    checkId(id);
    if (!this.#keys.has(id)) {
      throw new KeyRingError(
        `Key id ${id} is not in the ring (keys: ${
          this.keyIds().join(", ") || "none"
        }); add it before activating it`,
      );
    }
    this.#active = id;
  }

  /**
   * Removes key `id` and wipes it; adverts carrying its id are then rejected as unknown.
   * The active key cannot be retired (activate another one first).
   */
  retire(id: number): void {
    this.#open();
    checkId(id);
    const e = this.#keys.get(id);
    if (e === undefined) throw new KeyRingError(`Key id ${id} is not in the ring`);
    if (id === this.#active) {
      throw new KeyRingError(
        `Key id ${id} is the active (signing) key; activate another key before retiring it`,
      );
    }
    this.#keys.delete(id);
    e.wipe();
  }

  /** Wipes every key; the ring is empty and refuses further changes. Idempotent. */
  close(): void {
    for (const e of this.#keys.values()) e.wipe();
    this.#keys.clear();
    this.#active = undefined;
    this.#closed = true;
  }

  /** The HMAC of key `id` (verification), undefined when there is none. */
  mac(id: number): KeyedHmac | undefined {
    return this.#keys.get(id);
  }

  /** The HMAC of the active key (signing), undefined when none is active. */
  activeMac(): KeyedHmac | undefined {
    return this.#active === undefined ? undefined : this.#keys.get(this.#active);
  }

  /**
   * Whether this ring holds exactly `keys` (same ids, same bytes) with `activeKey` active.
   * Compares the keys' MACs of a fixed message in constant time; `keys` is only read.
   */
  sameKeys(keys: ReadonlyMap<number, Uint8Array>, activeKey: number): boolean {
    if (this.#closed || activeKey !== this.#active || keys.size !== this.#keys.size) return false;
    let same = true;
    for (const [id, bytes] of keys) {
      const e = this.#keys.get(id);
      if (e === undefined || bytes.length < KEY_LENGTH_MIN || bytes.length > KEY_LENGTH_MAX) {
        return false;
      }
      const other = new KeyedHmac("sha256", bytes);
      if (!sameKey(e, other)) same = false;
      other.wipe();
    }
    return same;
  }

  /** Ids and the active key, without key material. */
  snapshot(): KeyRingSnapshot {
    return { activeKey: this.#active, keyIds: this.keyIds() };
  }

  toJSON(): KeyRingSnapshot {
    return this.snapshot();
  }

  [Symbol.for("Deno.customInspect")](): string {
    return `KeyRing(${JSON.stringify(this.snapshot())})`;
  }

  #open(): void {
    if (this.#closed) throw new KeyRingError("The key ring is closed (the instance stopped)");
  }
}
