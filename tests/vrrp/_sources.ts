/**
 * Running instances without a kernel, for the dump tests: instances built from
 * configuration text (lib/vrrp/instance.ts) on a fake clock whose timers fire in deadline
 * order, adverts delivered between them as the wire would, and the `InstanceSource`s the
 * engine would report for them.
 */
import { assertEquals } from "../_assert.ts";
import { loadConfigText } from "../../lib/config/load.ts";
import type { KadConfig } from "../../lib/config/schema/root.ts";
import { hmacKeyBytes } from "../../lib/config/schema/vrrp_auth.ts";
import {
  Instance,
  type InstanceIo,
  instanceSpec,
  type OutgoingAdvert,
} from "../../lib/vrrp/instance.ts";
import { authSourceOf, type DumpInput, type InstanceSource } from "../../lib/vrrp/snapshot.ts";

export const S = 1_000_000;
/** The wall clock at fake-clock 0 (2026-11-21T10:00:00Z). */
export const WALL_ZERO_MS = Date.UTC(2026, 10, 21, 10, 0, 0);

interface Pending {
  at: number;
  seq: number;
  fire: () => void;
  live: boolean;
}

/** One fake clock and network shared by a few instances. */
export class Lab {
  now = 0;
  #seq = 0;
  #timers: Pending[] = [];
  readonly instances: Instance[] = [];
  readonly config: KadConfig;
  readonly #sources = new Map<Instance, string>();

  constructor(text: string) {
    const r = loadConfigText(text, "lab.conf", { configId: "lab" });
    assertEquals(r.sink.items.filter((d) => d.severity === "error").map((d) => d.message), []);
    this.config = r.config;
  }

  /** Starts the configured instance `name` with `source` as its address. */
  start(name: string, source: string): Instance {
    const inst = this.config.vrrp_instance.find((i) => i.header === name);
    if (inst === undefined) throw new Error(`no instance ${name}`);
    const me: { instance?: Instance } = {};
    const io: InstanceIo = {
      nowUs: () => this.now,
      realtimeUs: () => WALL_ZERO_MS * 1000 + this.now,
      setTimer: (at, fire) => {
        const t: Pending = { at, seq: this.#seq++, fire, live: true };
        this.#timers.push(t);
        return { cancel: () => (t.live = false) };
      },
      send: (a: OutgoingAdvert) => this.#deliver(me.instance as Instance, a),
      addAddresses: () => {},
      removeAddresses: () => {},
      announce: () => {},
      announceSource: () => {},
      notify: () => {},
      log: () => {},
    };
    const keys = new Map<number, Uint8Array>();
    for (const k of inst.auth_hmac?.key ?? []) {
      const b = hmacKeyBytes(k);
      if (b !== undefined) keys.set(k.id, b);
    }
    const instance = new Instance(instanceSpec(inst, this.config), io, { hmacKeys: keys });
    me.instance = instance;
    this.#sources.set(instance, source);
    this.instances.push(instance);
    instance.start({ uptimeUs: 1e12, interfaceUp: true, sourceAddress: source, trackers: [] });
    return instance;
  }

  /** IPv4 adverts reach every other instance with the same VRID. */
  #deliver(from: Instance, a: OutgoingAdvert): void {
    const datagram = a.data.slice();
    for (const i of this.instances) {
      if (i === from || i.spec.vrid !== from.spec.vrid || i.state === "STOP") continue;
      i.receive({ family: 4, datagram }, WALL_ZERO_MS + this.now / 1000);
    }
  }

  /** Runs every timer due until `toUs`, in deadline order. */
  advance(toUs: number): void {
    for (;;) {
      const due = this.#timers.filter((t) => t.live && t.at <= toUs);
      if (due.length === 0) break;
      due.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const t = due[0] as Pending;
      t.live = false;
      this.now = Math.max(this.now, t.at);
      t.fire();
    }
    this.now = toUs;
    this.#timers = this.#timers.filter((t) => t.live);
  }

  /** What the engine would report for `i` (its addresses present while installed). */
  source(i: Instance): InstanceSource {
    const n = i.spec.advertised.length + i.spec.excluded.length;
    return {
      spec: i.spec,
      fsm: i.fsm,
      counters: i.counters,
      errors: i.errors,
      installed: i.addressesInstalled,
      present: Array.from({ length: n }, () => i.addressesInstalled),
      lastTransitionUs: i.lastTransitionUs,
      auth: authSourceOf(i.spec, i.authHmac),
    };
  }

  /** A dump input for every started instance at the current time. */
  input(): DumpInput {
    return {
      clock: { nowUs: this.now, wallMs: WALL_ZERO_MS + this.now / 1000 },
      daemon: {
        pid: 4242,
        version: "0.1.0",
        configFile: "/etc/keepalived/keepalived.conf",
        controlSocket: "/run/kad/kad.sock",
        startedAtMs: WALL_ZERO_MS,
      },
      engine: {
        received: 10,
        truncated: 0,
        unknownVrid: 1,
        receiveErrors: 0,
        socketErrors: 0,
        lateWakeups: 0,
      },
      loop: { wakeups: 100, timersFired: 50, callbackErrors: 0, maxLatenessMs: 0.4567 },
      control: { connections: 1, refused: 0, requests: 1, errors: 0, dropped: 0 },
      instances: this.instances.map((i) => this.source(i)),
    };
  }
}

/**
 * Two routers of one VRID as two instances of one file: HI (priority 200, on eth0) and LO
 * (priority 100, on eth1: one file may not use a VRID twice on an interface).
 */
export function pairConfig(extra = "", version: 2 | 3 = 3): string {
  return `global_defs {
  vrrp_garp_master_delay 0
}
vrrp_instance HI {
  interface eth0
  virtual_router_id 51
  priority 200
  version ${version}
  advert_int ${version === 3 ? "0.5" : "1"}
${extra}
  virtual_ipaddress {
    192.0.2.100/24
    192.0.2.101
  }
  virtual_ipaddress_excluded {
    198.51.100.1/32 dev eth2
  }
}
vrrp_instance LO {
  interface eth1
  virtual_router_id 51
  priority 100
  version ${version}
  advert_int ${version === 3 ? "0.5" : "1"}
${extra}
  virtual_ipaddress {
    192.0.2.100/24
    192.0.2.101
  }
  virtual_ipaddress_excluded {
    198.51.100.1/32 dev eth1
  }
}
`;
}
