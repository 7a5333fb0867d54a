/**
 * Shared pieces of the VRRP namespace tests: a LAN of router namespaces on one bridge,
 * configuration files in a per-test temporary directory, `kad run` and keepalived started
 * inside a namespace, and address checks. Every namespace comes from tests/harness/netns.ts,
 * so the lab's cleanup removes it all; the temporary directory goes with `cleanup()`.
 */
import { assertEquals } from "../_assert.ts";
import { type Lab, type Netns, type SpawnedProcess, waitFor } from "../harness/netns.ts";

/** The repository's `kad` launcher. */
export const KAD = new URL("../../kad", import.meta.url).pathname;
/** Debian's keepalived 2.2.7. */
export const KEEPALIVED = "/usr/sbin/keepalived";

/** One router of the LAN. */
export interface Router {
  readonly ns: Netns;
  readonly ifname: string;
  readonly ip4: string;
  readonly ip6: string;
}

/** Options of `lan()`. */
export interface LanOptions {
  /** Number of routers (default 2). */
  readonly routers?: number;
  /** One more namespace on the bridge without VRRP (a client / crafted sender). */
  readonly client?: boolean;
}

/** A LAN: routers (and optionally a client) on one bridge, 192.0.2.0/24 and 2001:db8::/64. */
export interface Lan {
  readonly routers: Router[];
  readonly client: Router | undefined;
}

/** Builds the LAN: router i has 192.0.2.(11+i) and 2001:db8::(11+i); the client .10/::10. */
export async function lan(lab: Lab, options: LanOptions = {}): Promise<Lan> {
  const sw = await lab.namespace({ label: "switch" });
  const bridge = await lab.bridge(sw);
  const make = async (label: string, host: number): Promise<Router> => {
    const ns = await lab.namespace({ label });
    const ip4 = `192.0.2.${host}`;
    const ip6 = `2001:db8::${host}`;
    const pair = await lab.vethPair(ns, sw, {
      nameA: "eth0",
      addrA: [`${ip4}/24`, `${ip6}/64`],
    });
    await lab.attach(sw, pair.b.ifname, bridge);
    return { ns, ifname: "eth0", ip4, ip6 };
  };
  const routers: Router[] = [];
  for (let i = 0; i < (options.routers ?? 2); i++) routers.push(await make(`r${i + 1}`, 11 + i));
  const client = options.client ? await make("client", 10) : undefined;
  return { routers, client };
}

/** A temporary directory for configuration and pid files; remove it with `cleanup()`. */
export class Files {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async create(): Promise<Files> {
    return new Files(await Deno.makeTempDir({ prefix: "kad-vrrp-test-" }));
  }

  async write(name: string, text: string): Promise<string> {
    const path = `${this.dir}/${name}`;
    await Deno.writeTextFile(path, text);
    return path;
  }

  path(name: string): string {
    return `${this.dir}/${name}`;
  }

  async cleanup(): Promise<void> {
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }
}

/** Options of `instanceConf()`. */
export interface InstanceOptions {
  readonly name?: string;
  readonly vrid?: number;
  readonly priority?: number;
  readonly state?: "MASTER" | "BACKUP";
  readonly version?: 2 | 3;
  /** advert_int in seconds. */
  readonly advertInt?: number;
  readonly vips?: readonly string[];
  readonly ifname?: string;
  /** Extra instance lines. */
  readonly extra?: string;
}

/** One `vrrp_instance` block. */
export function instanceConf(o: InstanceOptions = {}): string {
  const vips = (o.vips ?? ["192.0.2.100/24"]).map((v) => `    ${v}`).join("\n");
  return `vrrp_instance ${o.name ?? "VI_1"} {
  state ${o.state ?? "BACKUP"}
  interface ${o.ifname ?? "eth0"}
  virtual_router_id ${o.vrid ?? 51}
  priority ${o.priority ?? 100}
  version ${o.version ?? 3}
  advert_int ${o.advertInt ?? 0.2}
${o.extra ?? ""}
  virtual_ipaddress {
${vips}
  }
}
`;
}

/** `global_defs` that keep GARP bursts short and quiet for tests. */
export const TEST_GLOBALS = `global_defs {
  vrrp_garp_master_delay 0
  vrrp_garp_master_repeat 1
}
`;

/** The control socket `startKad` gives the node `r` (each node needs its own). */
export function controlSocket(r: Router, files: Files): string {
  return files.path(`${r.ns.label}-kad.sock`);
}

/**
 * Starts `kad run` in a namespace with the configuration text `conf`, serving its control
 * socket at `controlSocket(r, files)` and keeping its key state in the test's directory,
 * unless `extra` names them.
 */
export async function startKad(
  r: Router,
  files: Files,
  conf: string,
  extra: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<SpawnedProcess> {
  const label = r.ns.label;
  const path = await files.write(`${label}-kad.conf`, conf);
  const socket = extra.includes("--control-socket")
    ? []
    : ["--control-socket", controlSocket(r, files)];
  // Each node its own auth_hmac key state (docs/rotate-key.md), never the host's.
  const keyState = extra.includes("--key-state")
    ? []
    : ["--key-state", files.path(`${label}-auth-keys.json`)];
  return r.ns.spawn([KAD, "-D", "-f", path, "run", ...socket, ...keyState, ...extra], { env });
}

/** Starts keepalived (VRRP only, foreground) in a namespace with unique pid files. */
export async function startKeepalived(
  r: Router,
  files: Files,
  conf: string,
): Promise<SpawnedProcess> {
  const label = r.ns.label;
  const path = await files.write(`${label}-keepalived.conf`, conf);
  return r.ns.spawn([
    KEEPALIVED,
    "-n",
    "-l",
    "-D",
    "-P",
    "-f",
    path,
    "-p",
    files.path(`${label}-keepalived.pid`),
    "-r",
    files.path(`${label}-vrrp.pid`),
  ]);
}

/** Whether `address` is on `r`'s interface. */
export async function hasAddress(r: Router, address: string): Promise<boolean> {
  return (await r.ns.addresses(r.ifname)).some((a) => a.address === address);
}

/** Waits until `address` is (or, with `present` false, is not) on `r`'s interface. */
export async function waitAddress(
  r: Router,
  address: string,
  timeoutMs: number,
  present = true,
): Promise<void> {
  await waitFor(
    async () => (await hasAddress(r, address)) === present,
    timeoutMs,
    { what: `${address} to be ${present ? "on" : "gone from"} ${r.ns.label}`, intervalMs: 10 },
  );
}

/** How many times `pattern` occurs in a process's output so far. */
export function count(p: SpawnedProcess, pattern: RegExp): number {
  return [...p.output.matchAll(new RegExp(pattern.source, "g"))].length;
}

/** Waits for the n-th occurrence (1-based) of `pattern` in a process's output. */
export async function waitForNth(
  p: SpawnedProcess,
  pattern: RegExp,
  n: number,
  timeoutMs: number,
): Promise<void> {
  await waitFor(() => count(p, pattern) >= n, timeoutMs, {
    what: `occurrence ${n} of ${pattern} in the output of ${p.command.join(" ")}; output ends: ${
      p.output.slice(-600)
    }`,
  });
}

/** The state an instance last entered, from its log. */
export function lastState(p: SpawnedProcess): string | undefined {
  return [...p.output.matchAll(/Entering (MASTER|BACKUP|FAULT|STOP) STATE/g)].at(-1)?.[1];
}

/**
 * Waits until every process's last state is the one given (routers started together may
 * pass through another state first, as VRRP allows), then checks that no state changes
 * for `ms`.
 */
export async function settle(expect: ReadonlyArray<readonly [SpawnedProcess, string]>, ms = 1_500) {
  await waitFor(() => expect.every(([p, s]) => lastState(p) === s), 10_000, {
    what: `states ${expect.map(([, s]) => s).join(", ")}`,
  });
  const before = expect.map(([p]) => count(p, /Entering \w+ STATE/));
  await new Promise((r) => setTimeout(r, ms));
  assertEquals(expect.map(([p]) => count(p, /Entering \w+ STATE/)), before, "a state changed");
}

/**
 * keepalived.stats of a `kad run` started with `TMPDIR=dir` (SIGUSR2, spec/vrrp.md §6.4), as a
 * map "Section/Label" → value ("Label" alone for top-level counters).
 */
export async function stats(p: SpawnedProcess, dir: string): Promise<Map<string, number>> {
  const before = count(p, /statistics written/);
  p.signal("SIGUSR2");
  await waitFor(() => count(p, /statistics written/) > before, 5_000, { what: "the stats" });
  const text = await Deno.readTextFile(`${dir}/keepalived.stats`);
  const out = new Map<string, number>();
  let section = "";
  for (const line of text.split("\n")) {
    const m = /^( *)([^:]+):(?: (\d+))?$/.exec(line);
    if (m === null) continue;
    if (m[3] === undefined) section = m[2]!;
    else out.set(`${m[1]!.length === 2 ? "" : section + "/"}${m[2]}`, Number(m[3]));
  }
  return out;
}

/** Test options: namespaces and child processes outlive the sanitizers' view. */
export const NETNS_TEST = { sanitizeOps: false, sanitizeResources: false } as const;
