/**
 * auth_hmac, the HMAC-SHA256 authentication extension of VRRP adverts (spec/vrrp.md §2.3):
 * the 28-byte trailer (§2.3.3), the 20-byte pseudo-header and the HMAC input (§2.3.4–2.3.5),
 * the sender's sequence (§2.3.6), anti-replay (§2.3.7), the receiver's verification in
 * keepalived's order with its counters and log texts (§2.3.8) and the migration modes
 * (§2.3.9). `AuthHmac` is one instance's extension: it signs the instance's adverts and is
 * the `AuthExtensionView` lib/vrrp/receive.ts calls at step 5; it also records, per sender,
 * which key it last signed with and how its last advert fared (`peers()`, for `kad dump` and
 * `kad rotate-key`).
 *
 * Keys live in a KeyRing (lib/vrrp/key_ring.ts), 64-bit sequence arithmetic in
 * lib/vrrp/serial64.ts. Pure: the clocks are injected, nothing is logged or counted here
 * (the verdict carries the reason and the log text), and no key material leaves the ring.
 */
import { bytesEqual, formatIPv4, formatIPv6 } from "../net/ipaddr.ts";
import type { KeyRing } from "./key_ring.ts";
import type { DecodedAdvert, Family } from "./packet.ts";
import type { AuthExtensionView, AuthExtReason, AuthExtVerdict } from "./receive.ts";
import {
  clockHi,
  clockLo,
  readU32,
  secondsSkew,
  type Serial64,
  serialAfterParts,
  writeU32,
} from "./serial64.ts";

// ---- constants (§2.3.2) ----

/** Bytes of the trailer after the VRRP message. */
export const AUTH_HMAC_TRAILER_LENGTH = 28;
/** `ext_type` 1: HMAC-SHA256 truncated to 128 bits, the only scheme. */
export const EXT_TYPE_HMAC_SHA256 = 1;
/** Bytes of the HMAC on the wire. */
export const HMAC_WIRE_LENGTH = 16;
/** Bytes of the pseudo-header bound into the HMAC (never sent). */
export const PSEUDO_HEADER_LENGTH = 20;
/** Trailer bytes before the HMAC field: ext_type, key_id, reserved, sec, subsec, ctr. */
const TRAILER_HEAD = 12;
/** Replay slots of a multicast instance (LRU, §2.3.7). */
export const MULTICAST_REPLAY_SLOTS = 4;
/** Senders of a multicast instance whose observations are kept (`peers()`). */
export const OBSERVED_SENDERS = 16;
/** Checksum offset in the VRRP message, hashed as zero (§2.3.5). */
const CHECKSUM_AT = 6;

/** `mode` (§2.3.9). */
export type AuthHmacMode = "enforce" | "permissive" | "receive-only";
/** `anti_replay` (§2.3.7). */
export type AntiReplay = "time" | "monotonic";

/**
 * The configured extension of one instance (§2.3.10, after the post-parse rules), without
 * key material: plain data, so two equal settings describe the same configuration.
 */
export interface AuthHmacSettings {
  readonly mode: AuthHmacMode;
  readonly antiReplay: AntiReplay;
  /** `time_window`, whole seconds (1–300); only used with `anti_replay time`. */
  readonly timeWindowS: number;
  /** `active_key`. */
  readonly activeKey: number;
  /** The configured key ids, in configuration order. */
  readonly keyIds: readonly number[];
}

/** Whether adverts carry the trailer in `mode` (§2.3.9: not in `receive-only`). */
export function sendsTrailer(mode: AuthHmacMode): boolean {
  return mode !== "receive-only";
}

// ---- the HMAC input (§2.3.4, §2.3.5) ----

/**
 * Write the 20-byte pseudo-header at `offset`: family (4 or 6), VRRP version, VRID, 0, and
 * the source address (IPv4: 4 bytes then 12 zeros).
 */
export function writePseudoHeader(
  out: Uint8Array,
  offset: number,
  family: Family,
  version: number,
  vrid: number,
  source: Uint8Array,
): void {
  out[offset] = family;
  out[offset + 1] = version;
  out[offset + 2] = vrid;
  out[offset + 3] = 0;
  // Byte loops rather than fill/set: this runs for every advert and the ranges are short.
  const n = Math.min(source.length, 16);
  for (let i = 0; i < n; i++) out[offset + 4 + i] = source[i] as number;
  for (let i = offset + 4 + n; i < offset + PSEUDO_HEADER_LENGTH; i++) out[i] = 0;
}

/** Length of the HMAC input for a VRRP message of `messageLength` bytes. */
export function hmacInputLength(messageLength: number): number {
  return PSEUDO_HEADER_LENGTH + messageLength + AUTH_HMAC_TRAILER_LENGTH;
}

/**
 * Write the HMAC input into `out` (at least `hmacInputLength(message.length)` bytes) and
 * return its length: pseudo-header, the message with its checksum bytes zeroed, the first 12
 * trailer bytes, 16 zero bytes.
 */
export function writeHmacInput(
  out: Uint8Array,
  family: Family,
  version: number,
  vrid: number,
  source: Uint8Array,
  message: Uint8Array,
  trailer: Uint8Array,
): number {
  writePseudoHeader(out, 0, family, version, vrid, source);
  let p = PSEUDO_HEADER_LENGTH;
  const m = message.length;
  for (let i = 0; i < m; i++) out[p + i] = message[i] as number;
  out[p + CHECKSUM_AT] = 0;
  out[p + CHECKSUM_AT + 1] = 0;
  p += m;
  for (let i = 0; i < TRAILER_HEAD; i++) out[p + i] = trailer[i] as number;
  p += TRAILER_HEAD;
  for (let i = 0; i < HMAC_WIRE_LENGTH; i++) out[p + i] = 0;
  return p + HMAC_WIRE_LENGTH;
}

/**
 * The HMAC input as a new array (§2.3.5), e.g. to compare with the spec's test vectors.
 *
 * @example
 * ```ts
 * import { hmacInput } from "./auth_hmac.ts";
 * const input = hmacInput(4, 3, 51, new Uint8Array([198, 51, 100, 10]),
 *   new Uint8Array(12), new Uint8Array(28));
 * input.length; // 60
 * ```
 */
export function hmacInput(
  family: Family,
  version: number,
  vrid: number,
  source: Uint8Array,
  message: Uint8Array,
  trailer: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(hmacInputLength(message.length));
  writeHmacInput(out, family, version, vrid, source, message, trailer);
  return out;
}

// ---- what the extension records about senders ----

/** How an advert from a sender fared at the extension. */
export type PeerOutcome =
  /** Trailer verified and sequence fresh: accepted. */
  | "ok"
  /** No trailer, accepted (`permissive` / `receive-only`). */
  | "unsigned"
  /** Rejected for this reason (never `auth_ext_not_peer`: unknown senders are not recorded). */
  | Exclude<AuthExtReason, "auth_ext_not_peer">;

/** What the extension last saw from one sender. Times are on the monotonic clock, µs. */
export interface PeerObservation {
  /** The sender's address. */
  readonly address: string;
  /** Key id of the last advert from it that verified; undefined when none has. */
  readonly keyId: number | undefined;
  /** When that advert arrived. */
  readonly verifiedAtUs: number | undefined;
  /** How its last advert fared. */
  readonly lastOutcome: PeerOutcome;
  /** Key id that last advert carried; undefined when it had no trailer. */
  readonly lastKeyId: number | undefined;
  /** When that advert arrived. */
  readonly lastAtUs: number;
}

/** The clocks the extension reads. */
export interface AuthClock {
  /** CLOCK_REALTIME, µs since the epoch (sender sequence, §2.3.6). */
  realtimeUs(): number;
  /** The monotonic clock, µs (observation times). */
  monotonicUs(): number;
}

/** Who the extension signs and verifies for. */
export interface AuthHmacIdentity {
  readonly family: Family;
  readonly version: 2 | 3;
  readonly vrid: number;
  /** Configured unicast peers (4 or 16 bytes each); empty for a multicast instance. */
  readonly unicastPeers: readonly Uint8Array[];
}

interface Mark {
  /** Whether a sequence is held. */
  valid: boolean;
  hi: number;
  lo: number;
}

interface Sender {
  readonly address: Uint8Array;
  /** Multicast replay slot: last use, for LRU eviction. */
  used: number;
  mark: Mark;
}

interface Observation {
  readonly address: Uint8Array;
  keyId: number | undefined;
  verifiedAtUs: number | undefined;
  lastOutcome: PeerOutcome;
  lastKeyId: number | undefined;
  lastAtUs: number;
}

const OK: AuthExtVerdict = Object.freeze({ ok: true });

/**
 * One HMAC input buffer and one digest for the process (JavaScript computes one MAC at a
 * time): signing hundreds of instances then touches the same memory. They hold adverts and
 * MACs, which are sent in clear, never a key.
 */
let inputBuffer = new Uint8Array(hmacInputLength(8 + 16 * 8 + 8));
/** Views of `inputBuffer` by input length, made once (a new view per advert costs). */
const inputViews = new Map<number, Uint8Array>();
const digest = new Uint8Array(32);

/** The input buffer, large enough for the HMAC input of a `messageLength`-byte message. */
function inputRoom(messageLength: number): Uint8Array {
  const need = hmacInputLength(messageLength);
  if (inputBuffer.length < need) {
    inputBuffer = new Uint8Array(need);
    inputViews.clear();
  }
  return inputBuffer;
}

/** The first `n` bytes of the input buffer. */
function inputView(n: number): Uint8Array {
  let v = inputViews.get(n);
  if (v === undefined) {
    v = inputBuffer.subarray(0, n);
    inputViews.set(n, v);
  }
  return v;
}

/**
 * One instance's auth_hmac: signs its adverts and verifies received ones.
 *
 * @example
 * ```ts ignore
 * const ext = new AuthHmac(settings, identity, KeyRing.from(keys, settings.activeKey), clock);
 * ext.sign(message, trailer, source);           // before sending (after the last patch)
 * validateAdvert(packet, { ...view, authExtension: ext });
 * ext.peers();                                  // [{ address, keyId, lastOutcome, … }]
 * ```
 */
export class AuthHmac implements AuthExtensionView {
  readonly trailerLength = AUTH_HMAC_TRAILER_LENGTH;
  readonly settings: AuthHmacSettings;
  readonly identity: AuthHmacIdentity;
  /** The keys; rotate-key adds, activates and retires through it. */
  readonly ring: KeyRing;
  readonly #clock: AuthClock;
  readonly #unicast: boolean;
  /** `send_seq` (§2.3.6), as its two halves (0 before the first signed advert). */
  #sendHi = 0;
  #sendLo = 0;
  /** Unicast: one replay mark per configured peer, in peer order. */
  readonly #peerMarks: Mark[];
  /** Multicast: the LRU replay slots, filled only after an HMAC verified. */
  readonly #slots: Sender[] = [];
  #useCount = 0;
  /** Unicast: per configured peer (undefined until heard); multicast: bounded list. */
  readonly #observed: (Observation | undefined)[];

  constructor(
    settings: AuthHmacSettings,
    identity: AuthHmacIdentity,
    ring: KeyRing,
    clock: AuthClock,
  ) {
    this.settings = settings;
    this.identity = identity;
    this.ring = ring;
    this.#clock = clock;
    this.#unicast = identity.unicastPeers.length > 0;
    this.#peerMarks = identity.unicastPeers.map(() => ({ valid: false, hi: 0, lo: 0 }));
    this.#observed = this.#unicast ? identity.unicastPeers.map(() => undefined) : [];
  }

  /** Whether this instance's adverts carry a trailer (not in `receive-only`, §2.3.9). */
  get sends(): boolean {
    return sendsTrailer(this.settings.mode);
  }

  /** The last sequence sent (zero before the first signed advert). */
  get sendSequence(): Serial64 {
    return { hi: this.#sendHi, lo: this.#sendLo };
  }

  /**
   * The next `send_seq` (§2.3.6): the clock's sequence when it is after the last one; else,
   * with `anti_replay time`, the clock's when the last one is more than `time_window` seconds
   * ahead of the clock (a corrected clock step); else the last one plus 1.
   */
  nextSequence(): Serial64 {
    this.#advance();
    return this.sendSequence;
  }

  #advance(): void {
    const us = this.#clock.realtimeUs();
    const hi = clockHi(us);
    const lo = clockLo(us);
    if (
      serialAfterParts(hi, lo, this.#sendHi, this.#sendLo) ||
      (this.settings.antiReplay === "time" &&
        secondsSkew(this.#sendHi, hi) > this.settings.timeWindowS)
    ) {
      this.#sendHi = hi;
      this.#sendLo = lo;
    } else if (this.#sendLo === 0xffffffff) {
      this.#sendHi = (this.#sendHi + 1) >>> 0;
      this.#sendLo = 0;
    } else this.#sendLo++;
  }

  /**
   * Sign one advert (one sequence per logical advert, §2.3.6): write the 28 trailer bytes into
   * `trailer` for the VRRP `message` (its checksum need not be final: it is hashed as zero)
   * sent from `source`. Copy the trailer to every other copy of the advert. Throws an Error
   * when no key is active (the ring was closed).
   */
  sign(message: Uint8Array, trailer: Uint8Array, source: Uint8Array): void {
    const mac = this.ring.activeMac();
    const keyId = this.ring.activeKey;
    if (mac === undefined || keyId === undefined) {
      throw new Error("auth_hmac has no active key; the advert cannot be signed");
    }
    trailer[0] = EXT_TYPE_HMAC_SHA256;
    trailer[1] = keyId;
    trailer[2] = 0;
    trailer[3] = 0;
    this.#advance();
    writeU32(trailer, 4, this.#sendHi);
    writeU32(trailer, 8, this.#sendLo);
    const id = this.identity;
    const n = writeHmacInput(
      inputRoom(message.length),
      id.family,
      id.version,
      id.vrid,
      source,
      message,
      trailer,
    );
    mac.macInto(inputView(n), digest);
    for (let i = 0; i < HMAC_WIRE_LENGTH; i++) {
      trailer[TRAILER_HEAD + i] = digest[i] as number;
    }
  }

  /**
   * Verify a received advert (§2.3.8), in keepalived's order: missing trailer, unicast peer,
   * scheme and reserved bytes, freshness (`time`), key id, HMAC, replay. `nowMs` is the wall
   * clock, ms since the epoch.
   */
  check(advert: DecodedAdvert, nowMs: number): AuthExtVerdict {
    const source = advert.source;
    const trailer = advert.trailer;
    const s = this.settings;
    const at = this.#clock.monotonicUs();
    if (trailer === undefined) {
      // Step 1: no trailer.
      const peer = this.#unicast ? this.#peerIndex(source) : -1;
      if (s.mode !== "enforce") {
        if (!this.#unicast || peer >= 0) this.#observe(source, peer, undefined, "unsigned", at);
        return OK;
      }
      if (!this.#unicast || peer >= 0) {
        this.#observe(source, peer, undefined, "auth_ext_missing", at);
      }
      return this.#fail(
        "auth_ext_missing",
        `missing authentication trailer from ${this.#addr(source)}`,
      );
    }
    // Step 2: a unicast instance only hears its configured peers (before any HMAC work).
    let peer = -1;
    if (this.#unicast) {
      peer = this.#peerIndex(source);
      if (peer < 0) {
        return this.#fail(
          "auth_ext_not_peer",
          `authenticated advert from ${this.#addr(source)}: not a unicast peer`,
        );
      }
    }
    const keyId = trailer[1] as number;
    // Step 3: scheme and reserved bytes.
    if (trailer[0] !== EXT_TYPE_HMAC_SHA256 || trailer[2] !== 0 || trailer[3] !== 0) {
      this.#observe(source, peer, keyId, "auth_ext_malformed", at);
      return this.#fail(
        "auth_ext_malformed",
        `malformed authentication trailer from ${this.#addr(source)}`,
      );
    }
    const seqHi = readU32(trailer, 4);
    const seqLo = readU32(trailer, 8);
    // Step 4: freshness (`anti_replay time`), before computing the HMAC.
    const time = s.antiReplay === "time";
    const nowSec = Math.floor(nowMs / 1000) >>> 0;
    const skew = time ? secondsSkew(nowSec, seqHi) : 0;
    if (time && Math.abs(skew) > s.timeWindowS) {
      this.#observe(source, peer, keyId, "auth_ext_stale", at);
      return this.#fail(
        "auth_ext_stale",
        `stale authentication trailer from ${
          this.#addr(source)
        }: clock skew ${skew} sec exceeds window ${s.timeWindowS} sec`,
      );
    }
    // Step 5: the key.
    const mac = this.ring.mac(keyId);
    if (mac === undefined) {
      this.#observe(source, peer, keyId, "auth_ext_unknown_key", at);
      return this.#fail(
        "auth_ext_unknown_key",
        `unknown authentication key id ${keyId} from ${this.#addr(source)}`,
      );
    }
    // Step 6: the HMAC, with the pseudo-header of the packet's source.
    const id = this.identity;
    const n = writeHmacInput(
      inputRoom(advert.message.length),
      id.family,
      id.version,
      id.vrid,
      source,
      advert.message,
      trailer,
    );
    mac.macInto(inputView(n), digest);
    let diff = 0;
    for (let i = 0; i < HMAC_WIRE_LENGTH; i++) {
      diff |= (digest[i] as number) ^ (trailer[TRAILER_HEAD + i] as number);
    }
    if (diff !== 0) {
      this.#observe(source, peer, keyId, "auth_ext_invalid_hmac", at);
      return this.#fail(
        "auth_ext_invalid_hmac",
        `invalid authentication HMAC from ${this.#addr(source)}`,
      );
    }
    // Step 7: replay, against this sender's mark (a multicast slot is taken only now).
    const mark = this.#unicast ? this.#peerMarks[peer] as Mark : this.#slot(source).mark;
    if (mark.valid && time && Math.abs(secondsSkew(nowSec, mark.hi)) > s.timeWindowS) {
      mark.valid = false;
    }
    if (mark.valid && !serialAfterParts(seqHi, seqLo, mark.hi, mark.lo)) {
      this.#observe(source, peer, keyId, "auth_ext_replay", at);
      return this.#fail(
        "auth_ext_replay",
        `replayed authentication trailer from ${this.#addr(source)}`,
      );
    }
    mark.valid = true;
    mark.hi = seqHi;
    mark.lo = seqLo;
    this.#observe(source, peer, keyId, "ok", at);
    // Step 8: accepted; warn when the skew nears the window.
    if (time && Math.abs(skew) > Math.floor(s.timeWindowS / 2)) {
      return {
        ok: true,
        warning: `authentication clock skew ${skew} sec from ${
          this.#addr(source)
        } approaching window ${s.timeWindowS} sec`,
      };
    }
    return OK;
  }

  /**
   * What was last seen from each sender: for a unicast instance its configured peers that
   * have sent anything, for a multicast one up to `OBSERVED_SENDERS` recent senders.
   */
  peers(): PeerObservation[] {
    const out: PeerObservation[] = [];
    for (const o of this.#observed) {
      if (o === undefined) continue;
      out.push({
        address: this.#addr(o.address),
        keyId: o.keyId,
        verifiedAtUs: o.verifiedAtUs,
        lastOutcome: o.lastOutcome,
        lastKeyId: o.lastKeyId,
        lastAtUs: o.lastAtUs,
      });
    }
    return out;
  }

  /**
   * Take over another extension's observations of the same senders (a reload that changed
   * the auth configuration starts replay state afresh, §2.3.7, but what peers sign with is
   * still worth showing).
   */
  adoptObservations(old: AuthHmac): void {
    const list = old.#observed;
    if (this.#unicast) {
      for (const o of list) {
        if (o === undefined) continue;
        const i = this.#peerIndex(o.address);
        if (i >= 0) this.#observed[i] = { ...o };
      }
    } else if (!old.#unicast) {
      for (const o of list) if (o !== undefined) this.#observed.push({ ...o });
    }
  }

  /** Wipes the keys (the instance stopped or its auth configuration was replaced). */
  close(): void {
    this.ring.close();
  }

  // ---- internals ----

  #fail(reason: AuthExtReason, log: string): AuthExtVerdict {
    return { ok: false, reason, log };
  }

  #addr(a: Uint8Array): string {
    return a.length === 4 ? formatIPv4(a) : formatIPv6(a);
  }

  #peerIndex(source: Uint8Array): number {
    const peers = this.identity.unicastPeers;
    for (let i = 0; i < peers.length; i++) if (bytesEqual(peers[i] as Uint8Array, source)) return i;
    return -1;
  }

  /** The multicast replay slot of `source`; a new sender evicts the least recently used. */
  #slot(source: Uint8Array): Sender {
    const use = ++this.#useCount;
    let lru: Sender | undefined;
    for (const s of this.#slots) {
      if (bytesEqual(s.address, source)) {
        s.used = use;
        return s;
      }
      if (lru === undefined || s.used < lru.used) lru = s;
    }
    const fresh: Sender = {
      address: source.slice(),
      used: use,
      mark: { valid: false, hi: 0, lo: 0 },
    };
    if (this.#slots.length < MULTICAST_REPLAY_SLOTS) this.#slots.push(fresh);
    else this.#slots[this.#slots.indexOf(lru as Sender)] = fresh;
    return fresh;
  }

  #observe(
    source: Uint8Array,
    peer: number,
    keyId: number | undefined,
    outcome: PeerOutcome,
    atUs: number,
  ): void {
    let o: Observation | undefined;
    if (this.#unicast) {
      o = this.#observed[peer];
      if (o === undefined) {
        o = {
          address: (this.identity.unicastPeers[peer] as Uint8Array).slice(),
          keyId: undefined,
          verifiedAtUs: undefined,
          lastOutcome: outcome,
          lastKeyId: keyId,
          lastAtUs: atUs,
        };
        this.#observed[peer] = o;
      }
    } else {
      o = this.#observed.find((x) => x !== undefined && bytesEqual(x.address, source));
      if (o === undefined) {
        o = {
          address: source.slice(),
          keyId: undefined,
          verifiedAtUs: undefined,
          lastOutcome: outcome,
          lastKeyId: keyId,
          lastAtUs: atUs,
        };
        this.#keepObservation(o);
      }
    }
    o.lastOutcome = outcome;
    o.lastKeyId = keyId;
    o.lastAtUs = atUs;
    if (outcome === "ok") {
      o.keyId = keyId;
      o.verifiedAtUs = atUs;
    }
  }

  /**
   * Adds a multicast sender's observation; when the list is full the oldest sender that
   * never verified goes first (forged sources cannot push out real peers), else the oldest.
   */
  #keepObservation(o: Observation): void {
    const list = this.#observed as Observation[];
    if (list.length < OBSERVED_SENDERS) {
      list.push(o);
      return;
    }
    let victim = -1;
    for (let pass = 0; pass < 2 && victim < 0; pass++) {
      for (let i = 0; i < list.length; i++) {
        const x = list[i] as Observation;
        if (pass === 0 && x.verifiedAtUs !== undefined) continue;
        if (victim < 0 || x.lastAtUs < (list[victim] as Observation).lastAtUs) victim = i;
      }
    }
    list[victim] = o;
  }
}
