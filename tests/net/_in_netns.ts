/**
 * Shared scaffolding for the tests that run lib/net code on a real kernel inside a lab
 * namespace (needs root): the Deno.test options such tests need, running code inside a
 * namespace, a lab with an rtnetlink socket, and reading tcpdump's hex dumps. Owns no
 * product logic; the lab itself lives in tests/harness/netns.ts.
 */
import { Lab, type Netns } from "../harness/netns.ts";
import { withNetNamespace } from "../../ffi/libc.ts";
import { Netlink } from "../../lib/net/netlink.ts";

/** Deno.test options: namespaces and sockets outlive a test's async ops by design. */
export const opts = { sanitizeOps: false, sanitizeResources: false };

/** Run `fn` with the calling thread inside the lab namespace `ns`. */
export function inside<T>(ns: Netns, fn: () => T): T {
  return withNetNamespace(`/run/netns/${ns.name}`, fn);
}

/** What `fn` throws; fails when it returns. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected the call to throw");
}

/** A lab with one namespace and an rtnetlink socket opened inside it. */
export async function netlinkLab(hint: string): Promise<{ lab: Lab; ns: Netns; nl: Netlink }> {
  const lab = await Lab.create(hint);
  const ns = await lab.namespace();
  const nl = inside(ns, () => Netlink.open());
  return { lab, ns, nl };
}

/**
 * A lab with a namespace holding `dev`, one end of a veth pair (with `addrA`) whose other
 * end is in a second namespace, and an rtnetlink socket opened inside the first.
 */
export async function netlinkVethLab(
  hint: string,
  addrA: string | readonly string[],
): Promise<{ lab: Lab; ns: Netns; dev: string; nl: Netlink }> {
  const lab = await Lab.create(hint);
  const ns = await lab.namespace();
  const peer = await lab.namespace();
  const link = await lab.vethPair(ns, peer, { addrA });
  const nl = inside(ns, () => Netlink.open());
  return { lab, ns, dev: link.a.ifname, nl };
}

/** Bytes as lowercase hex, no separators. */
export function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** The bytes of tcpdump's `-xx` dump (lines "\t0xOFFS:  hex"; deeper ones are decodes). */
export function dumped(output: string): string {
  return output.split("\n").filter((l) => /^\t0x[0-9a-f]{4}:/.test(l))
    .map((l) => l.replace(/^\t0x[0-9a-f]{4}:\s+/, "").replace(/\s+/g, "")).join("");
}
