/**
 * What an instance tracks besides its own interface and its track_* objects (spec/vrrp.md
 * §3.7, §3.17): the interfaces its VIPs, eVIPs, virtual routes and virtual rules live on
 * (one of them down or missing puts the instance in FAULT), and those objects themselves
 * (one deleted by someone else while the instance is MASTER makes it resign and take over
 * again, which installs it anew). Entries marked `no_track` are not tracked.
 *
 * Pure: interface indexes come from the caller's interface table.
 */
import { describeAddress, type IpAddressEntry } from "../config/schema/vrrp_address.ts";
import { routeInterfaces } from "../config/schema/vrrp_route.ts";
import { addressDevice, type KernelAddress } from "../net/addresses.ts";
import { bytesEqual, parseIp } from "../net/ipaddr.ts";
import { isInstalledRoute, type KernelRoute, routeText } from "../net/routes.ts";
import { isInstalledRule, type KernelRule, ruleText } from "../net/rules.ts";
import type { InstanceSpec } from "./instance.ts";

/** A kernel object someone deleted, as the interface monitor reports it. */
export type DeletedObject =
  | { readonly kind: "address"; readonly address: KernelAddress }
  | { readonly kind: "route"; readonly route: KernelRoute }
  | { readonly kind: "rule"; readonly rule: KernelRule };

/** An interface's index by name; undefined when there is no such interface. */
export type IfindexOf = (ifname: string) => number | undefined;

/** The interface a VIP or eVIP goes on: its `dev`, else the instance's interface. */
function deviceOf(a: IpAddressEntry, spec: InstanceSpec): string | undefined {
  return spec.interface === undefined ? a.dev : addressDevice(a, spec.interface);
}

/**
 * The interfaces of the instance's tracked VIPs, eVIPs, routes and rules, sorted, without
 * its own interface (whose tracking `dont_track_primary` governs).
 */
export function trackedInterfaces(spec: InstanceSpec): string[] {
  const names = new Set<string>();
  const own = spec.interface;
  for (const a of [...spec.advertised, ...spec.excluded]) {
    const dev = a.noTrack ? undefined : deviceOf(a, spec);
    if (dev !== undefined) names.add(dev);
  }
  for (const r of spec.routes) if (!r.noTrack) { for (const d of routeInterfaces(r)) names.add(d); }
  for (const r of spec.rules) {
    if (r.noTrack) continue;
    if (r.iif !== undefined) names.add(r.iif);
    if (r.oif !== undefined) names.add(r.oif);
  }
  if (own !== undefined) names.delete(own);
  return [...names].sort();
}

/** Whether the instance has virtual routes or rules whose deletion it must notice. */
export function tracksRoutesOrRules(spec: InstanceSpec): boolean {
  return spec.routes.some((r) => !r.noTrack) || spec.rules.some((r) => !r.noTrack);
}

/**
 * Which of the instance's tracked objects `deleted` is, described for the log ("virtual
 * address 10.0.0.100/32", "virtual route 198.51.100.0/24 dev eth1", "virtual rule from
 * ..."); undefined when it is none of them.
 */
export function trackedObject(
  spec: InstanceSpec,
  deleted: DeletedObject,
  ifindexOf: IfindexOf,
): string | undefined {
  switch (deleted.kind) {
    case "address": {
      const k = deleted.address;
      const got = parseIp(k.address);
      if (got === undefined) return undefined;
      for (const a of [...spec.advertised, ...spec.excluded]) {
        if (a.noTrack || a.family !== k.family) continue;
        const dev = deviceOf(a, spec);
        if (dev === undefined || ifindexOf(dev) !== k.ifindex) continue;
        const want = parseIp(a.address);
        if (want !== undefined && bytesEqual(want.bytes, got.bytes)) {
          return `virtual address ${describeAddress(a)}`;
        }
      }
      return undefined;
    }
    case "route": {
      const indexOf = (name: string) => {
        const i = ifindexOf(name);
        if (i === undefined) throw new RangeError(`no interface ${name}`);
        return i;
      };
      const r = spec.routes.find((r) => !r.noTrack && isInstalledRoute(r, deleted.route, indexOf));
      return r === undefined ? undefined : `virtual route ${routeText(r)}`;
    }
    case "rule": {
      const r = spec.rules.find((r) => !r.noTrack && isInstalledRule(r, deleted.rule));
      return r === undefined ? undefined : `virtual ${ruleText(r)}`;
    }
  }
}
