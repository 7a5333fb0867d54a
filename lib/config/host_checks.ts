/**
 * Checks of a parsed configuration against the host it is about to run on, as
 * keepalived's `-t` does: interfaces named by VRRP instances, tracked interfaces, VIPs,
 * routes and static addresses that do not exist here are reported as warnings at the
 * line that names them (skipped with global `dynamic_interfaces`). The caller gathers
 * the host facts (`HostInfo`); this module never touches the system itself and never
 * changes the model. The small helpers are exported for the LVS-side host checks.
 */
import { DiagClass, type DiagnosticSink, type SourceLoc } from "./diagnostic.ts";
import type { KadConfig } from "./schema/root.ts";
import { entryLoc } from "./schema/vrrp_values.ts";
import type { IpAddressEntry } from "./schema/vrrp_address.ts";
import { type RouteEntry, routeInterfaces } from "./schema/vrrp_route.ts";
import type { TrackEntry } from "./schema/vrrp_track.ts";

/** What the host checks need to know about this machine. */
export interface HostInfo {
  /** Names of the network interfaces present now. */
  interfaces: ReadonlySet<string>;
}

/** Whether interface checks apply (global `dynamic_interfaces` turns them off). */
export function interfaceChecksEnabled(cfg: Pick<KadConfig, "global_defs">): boolean {
  return cfg.global_defs?.dynamic_interfaces === undefined;
}

/** keepalived's wording for a missing interface used by `what`. */
export function missingInterfaceMessage(name: string, what: string): string {
  return `WARNING - interface ${name} for ${what} doesn't exist`;
}

/**
 * Report `message` (class WARNING) at `loc` when interface `name` is not on the host.
 * Returns true when the interface exists.
 */
export function checkInterface(
  host: HostInfo,
  sink: DiagnosticSink,
  name: string,
  message: string,
  loc: SourceLoc | undefined,
  keyword?: string,
): boolean {
  if (host.interfaces.has(name)) return true;
  sink.report(DiagClass.WARNING, message, loc, keyword);
  return false;
}

function checkAddresses(
  entries: readonly IpAddressEntry[],
  dflt: string | undefined,
  fallback: SourceLoc | undefined,
  keyword: string,
  host: HostInfo,
  sink: DiagnosticSink,
): void {
  for (const a of entries) {
    const dev = a.dev ?? dflt;
    if (dev === undefined) continue;
    checkInterface(
      host,
      sink,
      dev,
      missingInterfaceMessage(dev, `ip address ${a.address}`),
      entryLoc(a) ?? fallback,
      keyword,
    );
  }
}

function checkRoutes(
  entries: readonly RouteEntry[],
  fallback: SourceLoc | undefined,
  keyword: string,
  host: HostInfo,
  sink: DiagnosticSink,
): void {
  for (const r of entries) {
    for (const dev of routeInterfaces(r)) {
      checkInterface(
        host,
        sink,
        dev,
        missingInterfaceMessage(dev, "VROUTE nexthop"),
        entryLoc(r) ?? fallback,
        keyword,
      );
    }
  }
}

function checkTracked(
  prefix: string,
  entries: readonly TrackEntry[],
  fallback: SourceLoc | undefined,
  host: HostInfo,
  sink: DiagnosticSink,
): void {
  for (const e of entries) {
    checkInterface(
      host,
      sink,
      e.name,
      `${prefix}tracked interface ${e.name} doesn't exist`,
      entryLoc(e) ?? fallback,
      "track_interface",
    );
  }
}

/**
 * Report every interface the VRRP side of `cfg` names that `host` lacks, in the order
 * keepalived's config test reports them per block.
 */
export function checkHost(cfg: KadConfig, host: HostInfo, sink: DiagnosticSink): void {
  if (!interfaceChecksEnabled(cfg)) return;
  checkAddresses(
    cfg.static_ipaddress,
    cfg.global_defs?.default_interface ?? "eth0",
    cfg.$loc.static_ipaddress,
    "static_ipaddress",
    host,
    sink,
  );
  checkRoutes(cfg.static_routes, cfg.$loc.static_routes, "static_routes", host, sink);
  for (const sg of cfg.vrrp_sync_group) {
    checkTracked(`(${sg.header}) `, sg.track_interface, sg.$loc.track_interface, host, sink);
  }
  for (const inst of cfg.vrrp_instance) {
    for (const key of ["interface", "vrf"] as const) {
      const name = inst[key];
      if (name === undefined || !Object.hasOwn(inst.$loc, key)) continue;
      checkInterface(
        host,
        sink,
        name,
        missingInterfaceMessage(name, `vrrp_instance ${inst.header}`),
        inst.$loc[key],
        key,
      );
    }
    checkTracked(`(${inst.header}) `, inst.track_interface, inst.$loc.track_interface, host, sink);
    checkAddresses(
      inst.virtual_ipaddress,
      undefined,
      inst.$loc.virtual_ipaddress,
      "virtual_ipaddress",
      host,
      sink,
    );
    checkAddresses(
      inst.virtual_ipaddress_excluded,
      undefined,
      inst.$loc.virtual_ipaddress_excluded,
      "virtual_ipaddress_excluded",
      host,
      sink,
    );
    checkRoutes(inst.virtual_routes, inst.$loc.virtual_routes, "virtual_routes", host, sink);
  }
}
