/**
 * Facts about the host that configuration checks need: the network interfaces present.
 * Read from /sys/class/net; an unreadable /sys yields undefined (checks then skip).
 */

/** Names of the network interfaces of the current network namespace. */
export function hostInterfaces(): Set<string> | undefined {
  try {
    const names = new Set<string>();
    for (const e of Deno.readDirSync("/sys/class/net")) names.add(e.name);
    return names;
  } catch {
    return undefined;
  }
}
