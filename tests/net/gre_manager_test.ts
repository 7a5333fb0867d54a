/**
 * The daemon-side manager on real devices (needs root): veth ends in the root namespace made
 * by the test lab stand in for tunnel devices (`force`). It must attach on start, attach
 * again when a device is deleted and created again or loses the program, wait for a
 * device that does not exist yet, leave a program that is not kad's alone, and detach what
 * it attached on stop.
 */
import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { Lab, waitFor } from "../harness/netns.ts";
import { GreKeepaliveManager, type GreKeepaliveSpec } from "../../lib/net/gre_manager.ts";
import { attachedProgram, readInterface } from "../../lib/net/gre_xdp.ts";
import { xdpObject } from "../../lib/net/xdp_objects.ts";
import type { Logger } from "../../lib/runtime/log.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    detail: () => {},
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
}

function programOn(name: string) {
  try {
    return attachedProgram(readInterface(name).ifindex);
  } catch {
    return undefined;
  }
}

function suffix(): string {
  return Math.random().toString(36).slice(2, 8);
}

Deno.test(
  "the manager attaches, follows a device that goes and comes back, and detaches on stop",
  opts,
  async () => {
    const lab = await Lab.create("gremgr");
    const log = recorder();
    let manager: GreKeepaliveManager | undefined;
    try {
      const ns = await lab.namespace();
      const first = await lab.vethPair(lab.root, ns);
      const dev = first.a.ifname;
      const later = `kgm${suffix()}`;
      const spec = (name: string): GreKeepaliveSpec => ({
        interface: name,
        mode: "generic",
        replace: false,
        force: true,
      });
      manager = new GreKeepaliveManager([spec(dev), spec(later)], { log, intervalMs: 50 });
      const m = manager;
      m.start();
      const [s0, s1] = m.states();
      assertEquals([s0?.status, s1?.status], ["attached", "waiting"]);
      assertEquals(programOn(dev)?.progId, s0?.progId);
      assertEquals(programOn(dev)?.kad, "gre");

      // The device is deleted and created again: a new ifindex, attached again.
      const oldIfindex = s0?.ifindex;
      await lab.root.ip(["link", "del", "dev", dev]);
      await waitFor(() => m.states()[0]?.status === "waiting", 5_000, {
        what: "the manager to notice",
      });
      await lab.vethPair(lab.root, ns, { nameA: dev, nameB: `kgp${suffix()}` });
      await waitFor(() => m.states()[0]?.status === "attached", 5_000, { what: "re-attach" });
      assert(m.states()[0]?.ifindex !== oldIfindex, "the new device should have a new ifindex");
      assertEquals(programOn(dev)?.progId, m.states()[0]?.progId);

      // Someone removes the program by hand: it comes back.
      await lab.root.ip(["link", "set", "dev", dev, "xdpgeneric", "off"]);
      await waitFor(() => programOn(dev)?.kad === "gre", 5_000, {
        what: "the program to come back",
      });

      // The device that did not exist appears.
      await lab.vethPair(lab.root, ns, { nameA: later, nameB: `kgq${suffix()}` });
      await waitFor(() => m.states()[1]?.status === "attached", 5_000, {
        what: "attach on appearance",
      });

      m.stop();
      assertEquals(programOn(dev), undefined);
      assertEquals(programOn(later), undefined);
      const text = log.lines.join("\n");
      assertStringIncludes(text, `gre_keepalive ${later}: no such device yet; waiting for it`);
      assertStringIncludes(
        text,
        `gre_keepalive ${dev}: the device is gone; kad attaches again when it reappears`,
      );
      assertStringIncludes(text, `gre_keepalive ${dev}: attached again to the new device`);
      assertStringIncludes(text, `gre_keepalive ${dev}: attached again (the program had gone)`);
      assertStringIncludes(text, `gre_keepalive ${dev}: detached (program id`);
    } finally {
      manager?.stop();
      await lab.close();
    }
  },
);

Deno.test(
  "the manager leaves a program that is not kad's alone and reports it once",
  opts,
  async () => {
    const lab = await Lab.create("gremgr2");
    const log = recorder();
    let manager: GreKeepaliveManager | undefined;
    const file = await Deno.makeTempFile({ suffix: ".o" });
    try {
      await Deno.writeFile(file, xdpObject("xdp_pass"));
      const ns = await lab.namespace();
      const dev = (await lab.vethPair(lab.root, ns)).a.ifname;
      await lab.root.ip(["link", "set", "dev", dev, "xdpgeneric", "obj", file, "sec", "xdp"]);
      manager = new GreKeepaliveManager(
        [{ interface: dev, mode: "auto", replace: false, force: true }],
        { log, intervalMs: 30 },
      );
      manager.start();
      await new Promise((r) => setTimeout(r, 300));
      assertEquals(manager.states()[0]?.status, "failed");
      manager.stop();
      assertEquals(programOn(dev)?.name, "kad_xdp_pass");
      const errors = log.lines.filter((l) => l.startsWith("error"));
      assertEquals(errors.length, 1, errors.join("\n"));
      assertStringIncludes(errors[0] as string, "already has XDP program 'kad_xdp_pass'");
    } finally {
      manager?.stop();
      await Deno.remove(file);
      await lab.close();
    }
  },
);
