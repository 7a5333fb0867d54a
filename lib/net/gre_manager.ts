/**
 * The daemon side of GRE keepalives: keeps kad's XDP program attached to the tunnel
 * devices named by `gre_keepalive` blocks (lib/config/schema/gre.ts) for as long as
 * `kad run` runs. It attaches on `start()`, attaches again when a device reappears (deleted
 * and created again: a new ifindex) or when the program went missing, refreshes the
 * endpoints when the tunnel's addresses change, and on `stop()` detaches what it attached.
 *
 * Changes are found by `reconcile()`, which `start()` runs every `intervalMs` (reading
 * /sys/class/net and one XDP query per device: cheap); a daemon that watches link events
 * can call `linkChanged()` to reconcile at once. Failures are logged (once per distinct
 * message), never thrown: a missing or refused device is retried on the next round. It
 * never removes a program that is not the one it attached.
 */
import type { GreKeepaliveBlock } from "../config/schema/gre.ts";
import type { Logger } from "../runtime/log.ts";
import type { GreProgram, TunnelEndpoints } from "./gre_keepalive.ts";
import {
  addressText,
  attach,
  attachedProgram,
  detachProgram,
  GreXdpError,
  readInterface,
  type TunnelInterface,
  type XdpMode,
} from "./gre_xdp.ts";

/** One device the daemon keeps answering keepalives on. */
export interface GreKeepaliveSpec {
  readonly interface: string;
  readonly mode: XdpMode;
  readonly replace: boolean;
  readonly force: boolean;
  readonly program?: GreProgram | undefined;
}

/** The specs of a configuration's `gre_keepalive` blocks. */
export function specsFromConfig(blocks: readonly GreKeepaliveBlock[]): GreKeepaliveSpec[] {
  return blocks.map((b) => ({
    interface: b.header,
    mode: b.mode,
    replace: b.replace,
    force: b.force,
    program: b.program,
  }));
}

/** Where one device stands. */
export interface GreDeviceState {
  readonly interface: string;
  /** `attached`: the program answers; `waiting`: no such device yet; `failed`: see `error`. */
  readonly status: "attached" | "waiting" | "failed";
  readonly ifindex: number | undefined;
  readonly progId: number | undefined;
  readonly error: string | undefined;
}

interface Slot {
  readonly spec: GreKeepaliveSpec;
  status: GreDeviceState["status"];
  ifindex: number | undefined;
  progId: number | undefined;
  endpoints: string | undefined;
  error: string | undefined;
  /** The ifindex it was last attached to (survives the device going away). */
  lastIfindex: number | undefined;
}

export interface GreManagerOptions {
  readonly log: Logger;
  /** How often `start()` reconciles; default 1000 ms. */
  readonly intervalMs?: number;
}

function endpointKey(e: TunnelEndpoints | undefined): string {
  return e === undefined ? "none" : `${addressText(e.local)}>${addressText(e.remote)}`;
}

export class GreKeepaliveManager {
  readonly #slots: Slot[];
  readonly #log: Logger;
  readonly #intervalMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(specs: readonly GreKeepaliveSpec[], opts: GreManagerOptions) {
    this.#slots = specs.map((spec) => ({
      spec,
      status: "waiting",
      ifindex: undefined,
      progId: undefined,
      endpoints: undefined,
      error: undefined,
      lastIfindex: undefined,
    }));
    this.#log = opts.log;
    this.#intervalMs = opts.intervalMs ?? 1000;
  }

  /** Attach everything possible now, then keep reconciling until `stop()`. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.reconcile();
    const timer = setInterval(() => this.reconcile(), this.#intervalMs);
    // The daemon's own loop keeps the process alive; this timer must not.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** A link event was seen: reconcile now rather than at the next round. */
  linkChanged(): void {
    this.reconcile();
  }

  /** Bring every device to its wanted state once. */
  reconcile(): void {
    for (const slot of this.#slots) this.#reconcile(slot);
  }

  #prefix(slot: Slot): string {
    return `gre_keepalive ${slot.spec.interface}:`;
  }

  #fail(slot: Slot, message: string): void {
    if (slot.error !== message) this.#log.error(`${this.#prefix(slot)} ${message}`);
    else this.#log.detail(`${this.#prefix(slot)} still failing: ${message}`);
    slot.status = "failed";
    slot.error = message;
  }

  #reconcile(slot: Slot): void {
    let dev: TunnelInterface;
    try {
      dev = readInterface(slot.spec.interface);
    } catch {
      if (slot.status === "attached") {
        this.#log.info(
          `${this.#prefix(slot)} the device is gone; kad attaches again when it reappears`,
        );
      } else if (slot.status === "waiting" && slot.error === undefined) {
        this.#log.info(`${this.#prefix(slot)} no such device yet; waiting for it`);
      }
      slot.status = "waiting";
      slot.error = "no such device";
      slot.ifindex = undefined;
      slot.progId = undefined;
      return;
    }
    try {
      const current = attachedProgram(dev.ifindex);
      const intact = slot.status === "attached" && slot.ifindex === dev.ifindex &&
        current?.progId === slot.progId && slot.endpoints === endpointKey(dev.endpoints);
      if (intact) return;
      const r = attach({
        interface: slot.spec.interface,
        mode: slot.spec.mode,
        replace: slot.spec.replace,
        force: slot.spec.force,
        program: slot.spec.program,
      });
      const what = slot.lastIfindex === undefined
        ? r.action === "replaced" ? "attached, replacing the XDP program there" : "attached"
        : slot.lastIfindex !== dev.ifindex
        ? "attached again to the new device"
        : slot.status === "attached" && current?.progId === slot.progId
        ? "endpoints refreshed"
        : "attached again (the program had gone)";
      const ends = r.endpoints === undefined
        ? "no tunnel endpoints: it answers nothing"
        : `local ${addressText(r.endpoints.local)}, remote ${addressText(r.endpoints.remote)}`;
      this.#log.info(
        `${
          this.#prefix(slot)
        } ${what} (${r.program} program id ${r.progId}, ${r.mode} mode; ${ends})`,
      );
      slot.status = "attached";
      slot.ifindex = dev.ifindex;
      slot.lastIfindex = dev.ifindex;
      slot.progId = r.progId;
      slot.endpoints = endpointKey(dev.endpoints);
      slot.error = undefined;
    } catch (e) {
      if (!(e instanceof GreXdpError)) throw e;
      for (const line of e.kernelLog) this.#log.detail(`${this.#prefix(slot)} kernel: ${line}`);
      this.#fail(slot, e.message);
    }
  }

  /** Where every device stands. */
  states(): GreDeviceState[] {
    return this.#slots.map((s) => ({
      interface: s.spec.interface,
      status: s.status,
      ifindex: s.ifindex,
      progId: s.progId,
      error: s.error,
    }));
  }

  /** Stop reconciling and detach the programs this manager attached (if still attached). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#detachAll();
  }

  #detachAll(): void {
    for (const slot of this.#slots) {
      if (slot.status !== "attached" || slot.progId === undefined) continue;
      try {
        if (detachProgram(slot.spec.interface, slot.progId)) {
          this.#log.info(`${this.#prefix(slot)} detached (program id ${slot.progId})`);
        }
      } catch (e) {
        if (!(e instanceof GreXdpError)) throw e;
        this.#log.error(`${this.#prefix(slot)} ${e.message}`);
      }
      slot.status = "waiting";
      slot.progId = undefined;
    }
  }
}
