/**
 * The configuration-level normalisation of the LVS model (spec/lvs.md §1.6, §2.1): group
 * linking, address families, protocol and persistence defaults, scheduler flags, the
 * inheritance of real-server and checker settings from the virtual server, port rules,
 * duplicate removal and the quorum/hysteresis adjustments.
 *
 * Effective values are written into the model; `$loc` keeps telling which keywords were
 * written. Servers, checkers, groups and virtual servers keepalived would discard are
 * removed after a diagnostic that says what to change. Deliberate differences from
 * keepalived are listed in docs/config-lvs.md. Nothing here touches the system.
 */
import { type BlockMeta, copyPlain, type ValidateContext } from "../schema.ts";
import { type Family, isLinkLocal6, parseIp } from "../../net/ipaddr.ts";
import type {
  GlobalLvsView,
  LvsConfig,
  RealServer,
  VirtualServer,
  VirtualServerGroup,
} from "./lvs.ts";
import type {
  DnsCheck,
  HttpCheck,
  MiscCheck,
  PingCheck,
  SmtpCheck,
  SmtpHost,
  SslCheck,
  TcpCheck,
  UdpCheck,
} from "./lvs_checkers.ts";
import {
  DEFAULT_PERSISTENCE_S,
  describeServer,
  describeVs,
  familyOf,
  type LvsMethod,
  persistenceGranularity,
  type ServerAddress,
} from "./lvs_types.ts";

/** Set `key` from the parent unless the block wrote it. */
function inherit<T extends BlockMeta, K extends keyof T & string>(child: T, key: K, v: T[K]): void {
  if (!Object.hasOwn(child.$loc, key)) child[key] = copyPlain(v);
}

/**
 * Put a keyword the normalisation refused back to `v` and forget that it was written:
 * the diagnostic has recorded it, and the printers must not write it again.
 */
function reject<T extends BlockMeta, K extends keyof T & string>(b: T, key: K, v: T[K]): void {
  b[key] = v;
  delete b.$loc[key];
}

function written(b: BlockMeta, key: string): boolean {
  return Object.hasOwn(b.$loc, key);
}

/**
 * `list.filter(ok)`, except that `list` itself comes back when every element is kept, the
 * usual case: a real server has ten checker lists, and a new array for each adds up over
 * thousands of servers. `ok` runs once per element, in order.
 */
export function keepIf<T>(list: T[], ok: (item: T) => boolean): T[] {
  let out: T[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const item = list[i] as T;
    if (ok(item)) out?.push(item);
    else out ??= list.slice(0, i);
  }
  return out ?? list;
}

/** What the normalisation needs from outside the LVS blocks. */
interface Context {
  readonly ctx: ValidateContext;
  readonly groups: ReadonlyMap<string, VirtualServerGroup>;
  /** Default smtp_alert of virtual servers and real servers (spec/lvs.md §1.4, §1.5). */
  readonly vsSmtpAlert: boolean;
  readonly rsSmtpAlert: boolean;
  readonly logAllFailures: boolean;
  /** bfd_instance name → whether it sends events to the checkers. */
  readonly bfd: ReadonlyMap<string, boolean>;
  /** track_file names, when the configuration model has track_file blocks at all. */
  readonly trackFiles: ReadonlySet<string> | undefined;
}

/** A global_defs [BOOL] keyword's value when it was written. */
function globalBool(
  g: GlobalLvsView | undefined,
  key: keyof GlobalLvsView & string,
): boolean | undefined {
  if (g === undefined || !written(g, key)) return undefined;
  const v = g[key];
  return typeof v === "boolean" ? v : undefined;
}

/** Normalise every group and virtual server of `cfg` in place (see the module comment). */
export function normaliseLvs(cfg: LvsConfig, ctx: ValidateContext): void {
  const g = cfg.global_defs;
  const globalAlert = globalBool(g, "smtp_alert_checker") ?? globalBool(g, "smtp_alert");
  const c: Context = {
    ctx,
    groups: normaliseGroups(cfg, ctx),
    vsSmtpAlert: globalAlert ?? false,
    rsSmtpAlert: globalAlert ?? true,
    logAllFailures: globalBool(g, "checker_log_all_failures") ?? false,
    bfd: new Map(cfg.bfd_instance.map((b) => [b.header, b.checker || !b.vrrp])),
    trackFiles: cfg.track_file === undefined
      ? undefined
      : new Set(cfg.track_file.map((t) => String(t.header))),
  };
  const services = new Map<string, VirtualServer>();
  cfg.virtual_server = cfg.virtual_server.filter((vs) => {
    if (!normaliseVs(vs, c)) return false;
    const key = `${describeVs(vs.header)}|${vs.protocol ?? ""}|${vs.ip_family ?? ""}`;
    const first = services.get(key);
    if (first !== undefined) {
      ctx.sink.error(
        `${describeVs(vs.header)}${
          vs.protocol ? ` (${vs.protocol})` : ""
        } is defined twice (first at ${first.$at.file}: Line ${first.$at.line}); this one is ignored - merge the two blocks`,
        vs.$at,
        "virtual_server",
      );
      return false;
    }
    services.set(key, vs);
    return true;
  });
}

// ---- virtual_server_group (spec/lvs.md §1.2) ----

function groupFamilies(grp: VirtualServerGroup): Set<Family> {
  const out = new Set<Family>();
  for (const e of grp.entry) {
    if (e.kind === "range") out.add(familyOf(e.first));
    else if (e.family !== undefined) out.add(e.family);
  }
  return out;
}

function normaliseGroups(cfg: LvsConfig, ctx: ValidateContext): Map<string, VirtualServerGroup> {
  const out = new Map<string, VirtualServerGroup>();
  cfg.virtual_server_group = cfg.virtual_server_group.filter((grp) => {
    const name = `virtual_server_group ${grp.header}`;
    if (grp.entry.length === 0) {
      ctx.sink.error(
        `${name} has no valid entries and is ignored; add addresses or fwmarks`,
        grp.$at,
        "virtual_server_group",
      );
      return false;
    }
    const addrFamilies = new Set(
      grp.entry.flatMap((e) => (e.kind === "range" ? [familyOf(e.first)] : [])),
    );
    if (
      addrFamilies.size === 2 &&
      grp.entry.some((e) => e.kind === "fwmark" && e.family === undefined)
    ) {
      ctx.sink.error(
        `${name} has IPv4 and IPv6 addresses and a fwmark without a family, and is ignored; write 'fwmark N inet' or 'fwmark N inet6'`,
        grp.$at,
        "virtual_server_group",
      );
      return false;
    }
    out.set(grp.header, grp);
    return true;
  });
  return out;
}

// ---- virtual_server ----

const tunnelled = (m: LvsMethod | undefined): boolean => m?.method === "TUN";

/** A server of a virtual server for the family and port rules. */
interface Server {
  readonly keyword: "real_server" | "sorry_server";
  readonly addr: ServerAddress;
  readonly method: LvsMethod;
  readonly at: BlockMeta;
  readonly key: string | undefined;
}

function serversOf(vs: VirtualServer): Server[] {
  const out: Server[] = vs.real_server.map((rs) => ({
    keyword: "real_server",
    addr: rs.header,
    method: rs.lvs_method,
    at: rs,
    key: undefined,
  }));
  if (vs.sorry_server !== undefined) {
    out.push({
      keyword: "sorry_server",
      addr: vs.sorry_server,
      method: vs.sorry_server_lvs_method ?? vs.lvs_method,
      at: vs,
      key: "sorry_server",
    });
  }
  return out;
}

/** Normalise one virtual server; false when it must be dropped. */
function normaliseVs(vs: VirtualServer, c: Context): boolean {
  const { ctx } = c;
  const name = describeVs(vs.header);
  const warn = (msg: string, key?: string) =>
    ctx.sink.warn(`${name}: ${msg}`, ctx.at(vs, key), key ?? "virtual_server");
  const error = (msg: string, key?: string) =>
    ctx.sink.error(`${name}: ${msg}`, ctx.at(vs, key), key ?? "virtual_server");

  // §1.6 step 1: group linking.
  let group: VirtualServerGroup | undefined;
  if (vs.header.kind === "group") {
    group = c.groups.get(vs.header.group);
    if (group === undefined) {
      error(
        `virtual_server_group ${vs.header.group} is not defined (or was ignored), so this virtual server is ignored; define the group or fix the name`,
      );
      return false;
    }
  }

  // Forwarding methods are needed by the family rules: inherit them first (step 7).
  const servers = vs.real_server;
  for (let i = 0; i < servers.length; i++) {
    inherit(servers[i] as RealServer, "lvs_method", vs.lvs_method);
  }
  if (vs.sorry_server === undefined) {
    for (const key of ["sorry_server_inhibit", "sorry_server_lvs_method"] as const) {
      if (!written(vs, key)) continue;
      warn(`${key} has no effect without sorry_server; it is ignored`, key);
      reject(vs, key, key === "sorry_server_inhibit" ? false : undefined);
    }
  } else if (vs.sorry_server_lvs_method === undefined) {
    vs.sorry_server_lvs_method = copyPlain(vs.lvs_method);
  }

  // Step 2: address family.
  normaliseFamily(vs, group, c, name);

  if (vs.real_server.length === 0) {
    warn("no real_server is left, so the virtual server is ignored; add a real_server block");
    return false;
  }

  // Step 3: ha_suspend needs addresses.
  const hasFwmark = vs.header.kind === "fwmark" ||
    (group?.entry.some((e) => e.kind === "fwmark") ?? false);
  if (vs.ha_suspend && hasFwmark) {
    warn("ha_suspend cannot be used with fwmarks; it is turned off", "ha_suspend");
    reject(vs, "ha_suspend", false);
  }

  // Steps 4–5: protocol and one-packet scheduling.
  if (vs.header.kind === "fwmark") {
    if (vs.protocol !== undefined) {
      warn(
        "protocol specified for fwmark - protocol will be ignored; remove 'protocol'",
        "protocol",
      );
      reject(vs, "protocol", undefined);
    }
  } else {
    if (vs.protocol === undefined) {
      warn("no protocol set; using UDP - write 'protocol TCP', 'UDP' or 'SCTP'");
      vs.protocol = "UDP";
    }
    if (vs.ops && vs.protocol !== "UDP") {
      warn(
        `ops (one-packet scheduling) needs protocol UDP, not ${vs.protocol}; it is turned off`,
        "ops",
      );
      reject(vs, "ops", false);
    }
  }

  // Step 4: persistence.
  const gran = vs.persistence_granularity;
  const family = vs.ip_family === undefined ? undefined : vs.ip_family === "inet" ? 4 : 6;
  if (gran !== undefined && family !== undefined && gran.family !== family) {
    error(
      `persistence_granularity '${
        persistenceGranularity.print(gran).join(" ")
      }' is for IPv${gran.family} but the virtual server is IPv${family}; it is ignored - ${
        family === 4 ? "write a netmask such as 255.255.255.0" : "write a prefix length such as 64"
      }`,
      "persistence_granularity",
    );
    reject(vs, "persistence_granularity", undefined);
  }
  const portless = vs.header.kind === "ip"
    ? vs.header.port === 0
    : (group?.entry.some((e) => e.kind === "range" && e.port === 0) ?? false);
  if (vs.persistence_timeout === undefined) {
    if (portless) {
      warn(
        `a virtual service without a port must be persistent; using persistence_timeout ${DEFAULT_PERSISTENCE_S}`,
      );
      vs.persistence_timeout = DEFAULT_PERSISTENCE_S;
    } else if (vs.persistence_granularity !== undefined) {
      vs.persistence_timeout = DEFAULT_PERSISTENCE_S;
    }
  }

  // Step 6: scheduler and its flags; the forwarding method default.
  if (!written(vs, "lvs_sched")) warn("no lvs_sched set; using 'wlc'");
  if (!written(vs, "lvs_method")) warn("no lvs_method set; using NAT");
  normaliseSchedFlags(vs, c, name);

  // Step 7: real-server inheritance.
  inherit(vs, "smtp_alert", c.vsSmtpAlert);
  for (let i = 0; i < vs.real_server.length; i++) {
    inheritRealServer(vs.real_server[i] as RealServer, vs, c);
  }

  // Step 7: duplicate real servers, first as written (as keepalived compares them)...
  dropDuplicateServers(vs, c, name);

  // Step 10: ports (group services take the port of each entry when IPVS is programmed).
  let portsChanged = false;
  if (vs.header.kind !== "group") {
    const servers = serversOf(vs);
    for (let i = 0; i < servers.length; i++) {
      if (normalisePort(servers[i] as Server, vs, c, name)) portsChanged = true;
    }
  }

  // ...then with the effective ports, which may make two servers the same.
  if (portsChanged) dropDuplicateServers(vs, c, name);

  // Step 8: a sorry server that is also a real server shares its inhibit setting.
  const sorry = vs.sorry_server;
  if (sorry !== undefined) {
    const twin = vs.real_server.find((rs) =>
      rs.header.ip === sorry.ip && rs.header.port === sorry.port
    );
    if (twin !== undefined) vs.sorry_server_inhibit = twin.inhibit_on_failure;
  }

  // Step 9: quorum and hysteresis.
  let total = 0;
  for (let i = 0; i < vs.real_server.length; i++) total += (vs.real_server[i] as RealServer).weight;
  if (total === 0) {
    // Told without the configured quorum, which cannot be printed back as 0.
    if (vs.quorum > 0) warn("every real server has weight 0, so quorum is 0", "quorum");
    reject(vs, "quorum", 0);
  } else if (vs.quorum > total) {
    warn(
      `quorum ${vs.quorum} exceeds the total weight ${total} of the real servers; using ${total}`,
      "quorum",
    );
    vs.quorum = total;
  }
  if (vs.hysteresis > 0 && vs.hysteresis >= vs.quorum) {
    const h = Math.max(vs.quorum - 1, 0);
    warn(`hysteresis ${vs.hysteresis} must be below quorum ${vs.quorum}; using ${h}`, "hysteresis");
    vs.hysteresis = h;
  }

  // Step 11: checkers.
  for (let i = 0; i < vs.real_server.length; i++) {
    normaliseCheckers(vs.real_server[i] as RealServer, vs, c);
  }
  return true;
}

/** Step 2: derive the service family and drop servers that cannot match it. */
function normaliseFamily(
  vs: VirtualServer,
  group: VirtualServerGroup | undefined,
  c: Context,
  name: string,
): void {
  const { ctx } = c;
  const servers = serversOf(vs);
  const writtenFamily: Family | undefined = vs.ip_family === undefined
    ? undefined
    : vs.ip_family === "inet"
    ? 4
    : 6;
  let family: Family | undefined;
  let fixed: Family | undefined;
  if (vs.header.kind === "ip") fixed = familyOf(vs.header.ip);
  else if (group !== undefined) {
    const fams = groupFamilies(group);
    if (fams.size === 1) fixed = [...fams][0];
    else if (fams.size === 2) {
      // Mixed groups need every server tunnelled (spec/lvs.md §1.2).
      const direct = servers.filter((s) => !tunnelled(s.method));
      for (const s of direct) {
        ctx.sink.error(
          `${name}: the group has IPv4 and IPv6 entries, so every server must use lvs_method TUN; ${
            describeServer(s.keyword, s.addr)
          } does not and is ignored`,
          ctx.at(s.at, s.key),
          s.keyword,
        );
      }
      dropServers(vs, direct);
      if (writtenFamily !== undefined) {
        ctx.sink.error(
          `${name}: ip_family cannot be used with a group that has IPv4 and IPv6 entries; it is ignored`,
          ctx.at(vs, "ip_family"),
          "ip_family",
        );
        reject(vs, "ip_family", undefined);
      }
      return;
    }
  }
  if (fixed !== undefined) {
    if (writtenFamily !== undefined && writtenFamily !== fixed) {
      ctx.sink.error(
        `${name}: ip_family ${vs.ip_family} conflicts with the virtual server's IPv${fixed} addresses; it is ignored`,
        ctx.at(vs, "ip_family"),
        "ip_family",
      );
    }
    family = fixed;
  } else {
    // fwmark services (and fwmark-only groups) take the family from ip_family, the
    // persistence granularity, the non-tunnelled servers, or uniform tunnelled ones.
    const direct = servers.find((s) => !tunnelled(s.method));
    const fams = new Set(servers.map((s) => familyOf(s.addr.ip)));
    family = writtenFamily ?? vs.persistence_granularity?.family ??
      (direct ? familyOf(direct.addr.ip) : fams.size === 1 ? [...fams][0] : 4);
  }
  vs.ip_family = family === 4 ? "inet" : "inet6";
  const mismatched = servers.filter((s) => !tunnelled(s.method) && familyOf(s.addr.ip) !== family);
  for (const s of mismatched) {
    ctx.sink.error(
      `${name}: ${describeServer(s.keyword, s.addr)} is IPv${
        familyOf(s.addr.ip)
      } but the virtual server is IPv${family}; it is ignored (only TUN servers may differ)`,
      ctx.at(s.at, s.key),
      s.keyword,
    );
  }
  dropServers(vs, mismatched);
}

/** Remove the second of two real servers with the same address and port. */
function dropDuplicateServers(vs: VirtualServer, c: Context, name: string): void {
  const seen = new Map<string, RealServer>();
  vs.real_server = keepIf(vs.real_server, (rs) => {
    const key = `${rs.header.ip}|${rs.header.port}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, rs);
      return true;
    }
    c.ctx.sink.warn(
      `${name}: ${
        describeServer("real_server", rs.header)
      } is given twice (first at ${first.$at.file}: Line ${first.$at.line}); this one is ignored`,
      rs.$at,
      "real_server",
    );
    return false;
  });
}

function dropServers(vs: VirtualServer, gone: readonly Server[]): void {
  if (gone.length === 0) return;
  vs.real_server = vs.real_server.filter((rs) => !gone.some((s) => s.at === rs));
  if (gone.some((s) => s.keyword === "sorry_server")) {
    reject(vs, "sorry_server", undefined);
    reject(vs, "sorry_server_lvs_method", undefined);
    reject(vs, "sorry_server_inhibit", false);
  }
}

const SCHED_FLAGS = ["sh-port", "sh-fallback", "mh-port", "mh-fallback"] as const;

/**
 * sh-/mh- flags need the sh or mh scheduler. keepalived only honours them when
 * `lvs_sched` comes earlier in the block; kad looks at the block as a whole.
 */
function normaliseSchedFlags(vs: VirtualServer, c: Context, name: string): void {
  const sched = vs.lvs_sched;
  for (const f of SCHED_FLAGS) {
    if (!vs[f]) continue;
    const [prefix, what] = f.split("-") as [string, string];
    if (sched !== "sh" && sched !== "mh") {
      c.ctx.sink.error(
        `${name}: '${f}' only applies to the sh and mh schedulers (lvs_sched is '${sched}'); it is ignored`,
        c.ctx.at(vs, f),
        f,
      );
      reject(vs, f, false);
    } else if (prefix !== sched) {
      c.ctx.sink.warn(
        `${name}: '${f}' is meant for the ${prefix} scheduler; with '${sched}' it acts as '${sched}-${what}'`,
        c.ctx.at(vs, f),
        f,
      );
    }
  }
}

/*
 * The inheritance below, which runs for every real server and checker, spells out each
 * field rather than calling inherit(): a store through a computed key that has seen many
 * block shapes is several times slower than a plain property store. The values are
 * numbers, booleans and strings, so there is nothing to copy.
 */

function inheritRealServer(rs: RealServer, vs: VirtualServer, c: Context): void {
  if (!written(rs, "weight")) rs.weight = vs.weight;
  if (!written(rs, "alpha")) rs.alpha = vs.alpha;
  if (!written(rs, "inhibit_on_failure")) rs.inhibit_on_failure = vs.inhibit_on_failure;
  if (!written(rs, "delay_loop")) rs.delay_loop = vs.delay_loop;
  if (!written(rs, "connect_timeout")) rs.connect_timeout = vs.connect_timeout;
  if (vs.retry !== undefined && !written(rs, "retry")) rs.retry = vs.retry;
  if (vs.delay_before_retry !== undefined && !written(rs, "delay_before_retry")) {
    rs.delay_before_retry = vs.delay_before_retry;
  }
  if (vs.warmup !== undefined && !written(rs, "warmup")) rs.warmup = vs.warmup;
  if (vs.virtualhost !== undefined && !written(rs, "virtualhost")) {
    rs.virtualhost = vs.virtualhost;
  }
  if (!written(rs, "smtp_alert")) rs.smtp_alert = c.rsSmtpAlert;
}

/**
 * Step 10 for one real or sorry server of an address or fwmark service; whether the port
 * changed.
 */
function normalisePort(s: Server, vs: VirtualServer, c: Context, name: string): boolean {
  const a = s.addr;
  const before = a.port;
  const vsPort = vs.header.kind === "ip" ? vs.header.port : 0;
  if (s.method.method === "NAT") {
    if (a.port === 0) a.port = vsPort;
    return a.port !== before;
  }
  const where = c.ctx.at(s.at, s.key);
  if (vs.header.kind === "fwmark") {
    if (a.port !== 0) {
      c.ctx.sink.warn(
        `${name}: ${
          describeServer(s.keyword, a)
        } uses ${s.method.method}, which cannot change the port; the port is ignored`,
        where,
        s.keyword,
      );
      a.port = 0;
    }
    return a.port !== before;
  }
  if (a.port !== 0 && a.port !== vsPort) {
    c.ctx.sink.warn(
      `${name}: ${
        describeServer(s.keyword, a)
      } uses ${s.method.method}, which cannot change the port; using the virtual server's port ${vsPort}`,
      where,
      s.keyword,
    );
  }
  a.port = vsPort;
  return a.port !== before;
}

// ---- checkers (spec/lvs.md §2.1, §2.2) ----

type Scheduled =
  | TcpCheck
  | HttpCheck
  | SslCheck
  | SmtpCheck
  | DnsCheck
  | MiscCheck
  | UdpCheck
  | PingCheck;
type Connecting =
  | TcpCheck
  | HttpCheck
  | SslCheck
  | SmtpCheck
  | DnsCheck
  | UdpCheck
  | PingCheck
  | SmtpHost;

function inheritScheduling(
  ck: Scheduled,
  rs: RealServer,
  c: Context,
  dnsRetryDelay: boolean,
): void {
  if (!written(ck, "delay_loop")) ck.delay_loop = rs.delay_loop;
  if (!written(ck, "alpha")) ck.alpha = rs.alpha;
  if (!written(ck, "log_all_failures")) ck.log_all_failures = c.logAllFailures;
  if (rs.retry !== undefined && !written(ck, "retry")) ck.retry = rs.retry;
  if (!written(ck, "delay_before_retry")) {
    if (rs.delay_before_retry !== undefined) ck.delay_before_retry = rs.delay_before_retry;
    else if (dnsRetryDelay) ck.delay_before_retry = ck.delay_loop;
  }
  if (!written(ck, "warmup")) ck.warmup = rs.warmup ?? ck.delay_loop;
}

/**
 * Connection defaults and checks of one checker (or SMTP host); false when the checker
 * cannot run and must be dropped. The default port is the real server's effective port.
 */
function inheritConnection(
  ck: Connecting,
  keyword: string,
  rs: RealServer,
  c: Context,
  timeoutUs: number,
  needsPort: boolean,
): boolean {
  const { ctx } = c;
  if (!written(ck, "connect_timeout")) ck.connect_timeout = timeoutUs;
  if (ck.connect_ip === undefined) ck.connect_ip = rs.header.ip;
  if (ck.connect_port === undefined && rs.header.port !== 0) ck.connect_port = rs.header.port;
  if (needsPort && ck.connect_port === undefined) {
    ctx.sink.warn(
      `${keyword} of ${
        describeServer("real_server", rs.header)
      } has no port to connect to; add 'connect_port N'`,
      ck.$at,
      keyword,
    );
  }
  if (ck.bindto !== undefined && familyOf(ck.bindto) !== familyOf(ck.connect_ip)) {
    ctx.sink.error(
      `${keyword} of ${
        describeServer("real_server", rs.header)
      }: bindto ${ck.bindto} and the target ${ck.connect_ip} are different address families; bindto is ignored`,
      ctx.at(ck, "bindto"),
      "bindto",
    );
    reject(ck, "bindto", undefined);
  }
  // Only an IPv6 target can be link-local: IPv4 ones need not be parsed again.
  const target = familyOf(ck.connect_ip) === 6 ? parseIp(ck.connect_ip) : undefined;
  if (target !== undefined && isLinkLocal6(target) && ck.bind_if === undefined) {
    ctx.sink.error(
      `${keyword} of ${
        describeServer("real_server", rs.header)
      } targets the IPv6 link-local address ${ck.connect_ip} and needs 'bind_if IFNAME'; the checker is ignored`,
      ck.$at,
      keyword,
    );
    return false;
  }
  return true;
}

/** Scheduling and connection defaults of the checkers of one type; drops those that cannot run. */
function connecting<T extends Scheduled & Connecting>(
  list: T[],
  keyword: string,
  rs: RealServer,
  c: Context,
  dns: boolean,
  port: boolean,
): T[] {
  if (list.length === 0) return list;
  return keepIf(list, (ck) => {
    inheritScheduling(ck, rs, c, dns);
    return inheritConnection(ck, keyword, rs, c, rs.connect_timeout, port);
  });
}

function normaliseCheckers(rs: RealServer, vs: VirtualServer, c: Context): void {
  const { ctx } = c;
  rs.TCP_CHECK = connecting(rs.TCP_CHECK, "TCP_CHECK", rs, c, false, true);
  rs.HTTP_GET = connecting(rs.HTTP_GET, "HTTP_GET", rs, c, false, true);
  rs.SSL_GET = connecting(rs.SSL_GET, "SSL_GET", rs, c, false, true);
  // `sni_name` also turns SNI on (spec/lvs.md §2.5).
  for (let i = 0; i < rs.HTTP_GET.length; i++) {
    const h = rs.HTTP_GET[i] as HttpCheck;
    if (h.sni_name !== undefined) inherit(h, "enable_sni", true);
  }
  for (let i = 0; i < rs.SSL_GET.length; i++) {
    const h = rs.SSL_GET[i] as SslCheck;
    if (h.sni_name !== undefined) inherit(h, "enable_sni", true);
  }
  rs.DNS_CHECK = connecting(rs.DNS_CHECK, "DNS_CHECK", rs, c, true, true);
  rs.UDP_CHECK = connecting(rs.UDP_CHECK, "UDP_CHECK", rs, c, false, true);
  rs.PING_CHECK = connecting(rs.PING_CHECK, "PING_CHECK", rs, c, false, false);
  rs.SMTP_CHECK = connecting(rs.SMTP_CHECK, "SMTP_CHECK", rs, c, false, true);
  for (let i = 0; i < rs.SMTP_CHECK.length; i++) {
    const smtp = rs.SMTP_CHECK[i] as SmtpCheck;
    smtp.host = keepIf(
      smtp.host,
      (h) => inheritConnection(h, "SMTP_CHECK host", rs, c, smtp.connect_timeout, true),
    );
  }

  for (let i = 0; i < rs.MISC_CHECK.length; i++) {
    const m = rs.MISC_CHECK[i] as MiscCheck;
    inheritScheduling(m, rs, c, false);
    // keepalived bounds the script by the virtual server's delay_loop, not the checker's.
    if (m.misc_timeout === 0) m.misc_timeout = vs.delay_loop;
    if (m.user !== undefined && m.misc_path !== undefined) {
      m.misc_path.user = m.user.user;
      if (m.user.group !== undefined) m.misc_path.group = m.user.group;
      else delete m.misc_path.group;
    }
  }

  if (rs.FILE_CHECK.length > 0) {
    rs.FILE_CHECK = keepIf(rs.FILE_CHECK, (f) => {
      if (c.trackFiles === undefined || c.trackFiles.has(f.track_file as string)) return true;
      ctx.sink.error(
        `FILE_CHECK of ${
          describeServer("real_server", rs.header)
        } names track_file '${f.track_file}', which is not defined; the checker is ignored`,
        ctx.at(f, "track_file"),
        "track_file",
      );
      return false;
    });
  }

  if (rs.BFD_CHECK.length > 0) {
    rs.BFD_CHECK = keepIf(rs.BFD_CHECK, (b) => {
      inherit(b, "alpha", rs.alpha);
      const toChecker = c.bfd.get(b.name as string);
      if (toChecker === true) return true;
      ctx.sink.error(
        toChecker === undefined
          ? `BFD_CHECK of ${
            describeServer("real_server", rs.header)
          } names bfd_instance '${b.name}', which is not defined (or was disabled); the checker is ignored`
          : `BFD_CHECK of ${
            describeServer("real_server", rs.header)
          } names bfd_instance '${b.name}', which sends its events to VRRP only; add 'checker' to it`,
        ctx.at(b, "name"),
        "name",
      );
      return false;
    });
  }
}
