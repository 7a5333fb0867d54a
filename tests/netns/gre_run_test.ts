/**
 * `kad run` with `gre_keepalive` blocks (docs/gre-attach.md): the daemon attaches kad's XDP
 * program at start, attaches it again when the device is deleted and created again, and
 * detaches it on SIGTERM. Runs in a lab namespace on a veth device (`force`), since this
 * kernel has no GRE tunnels (the tunnel path itself is proven in tests/vm/).
 */
import { assert } from "../_assert.ts";
import { Lab, type Netns } from "../harness/netns.ts";

const root = new URL("../..", import.meta.url).pathname;
const opts = { sanitizeOps: false, sanitizeResources: false };

async function xdpAttached(ns: Netns, ifname: string): Promise<boolean> {
  const r = await ns.run(["ip", "-d", "link", "show", "dev", ifname]);
  return r.code === 0 && /prog\/xdp id \d+/.test(r.stdout);
}

Deno.test(
  "kad run attaches gre_keepalive programs at start, again after the device returns, and detaches on exit",
  opts,
  async () => {
    await using lab = await Lab.create("grerun");
    const ns = await lab.namespace();
    const peer = await lab.namespace();
    const dev = "kgre0";
    await lab.vethPair(ns, peer, { nameA: dev });
    const dir = await Deno.makeTempDir({ prefix: "kad-grerun-" });
    try {
      const conf = `${dir}/kad.conf`;
      await Deno.writeTextFile(
        conf,
        `gre_keepalive ${dev} {\n    force\n    program gre\n    mode generic\n}\n`,
      );
      assert(!(await xdpAttached(ns, dev)), "a program is attached before kad runs");
      const kad = ns.spawn([
        `${root}kad`,
        "run",
        "-f",
        conf,
        "-p",
        `${dir}/kad.pid`,
        "--control-socket",
        `${dir}/kad.sock`,
        "--key-state",
        `${dir}/auth-keys.json`,
      ]);
      await ns.waitFor(() => xdpAttached(ns, dev), 15_000, { what: `XDP program on ${dev}` });

      // The device goes away and comes back: the daemon attaches again.
      await ns.ip(["link", "del", dev]);
      await lab.vethPair(ns, peer, { nameA: dev });
      await ns.waitFor(() => xdpAttached(ns, dev), 15_000, {
        what: `XDP program on the recreated ${dev}`,
      });

      kad.signal("SIGTERM");
      const status = await kad.status;
      assert(status.success, `kad run exited with ${JSON.stringify(status)}:\n${kad.output}`);
      assert(
        !(await xdpAttached(ns, dev)),
        `the program is still attached after exit:\n${kad.output}`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
