/**
 * What the rtnetlink object modules (addresses, routes, rules) share: the address-family
 * byte of their headers, dumping and parsing one kind of object, and the leftover removal
 * of spec/vrrp.md §3.3 step 3 (absent objects are fine, other failures are collected).
 *
 * Owns no message layout of its own and must not decide when kernel objects change.
 */
import { type Family, formatIp } from "./ipaddr.ts";
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  type Attributes,
  isAbsent,
  type MessageBuilder,
  type Netlink,
  type NetlinkMessage,
  parseAttributes,
  parseMessages,
} from "./netlink.ts";

/** What a cleanup did: what it removed and what failed (each failure names itself). */
export interface CleanupReport {
  readonly removed: string[];
  readonly failed: Error[];
}

/** The header's address-family byte: AF_INET or AF_INET6, AF_UNSPEC for both. */
export function familyByte(family: Family | undefined): number {
  return family === undefined ? AF_UNSPEC : family === 4 ? AF_INET : AF_INET6;
}

/** `e` as an Error, for collecting failures that may be thrown as anything. */
export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * A built message as it would be received: lets a module's own parser read back what its
 * encoder asks the kernel for, to compare with what the kernel reports.
 */
export function receivedForm(b: MessageBuilder): NetlinkMessage {
  const m = parseMessages(b.finish(0))[0];
  if (m === undefined) throw new Error("a built netlink message did not parse back");
  return m;
}

/** Builds a message, reporting a bad name or address (a RangeError) as `operation` failing. */
export function buildRequest(operation: string, make: () => MessageBuilder): MessageBuilder {
  try {
    return make();
  } catch (e) {
    if (e instanceof RangeError) throw new RangeError(`${operation} failed: ${e.message}`);
    throw e;
  }
}

/** An IPv4/IPv6 object message: its family, its attributes and a reader of address ones. */
export interface FamilyMessage {
  readonly family: Family;
  readonly attrs: Attributes;
  /** The address in attribute `type`; undefined when absent or not of the family's size. */
  ip(type: number): string | undefined;
}

/**
 * Opens a message whose fixed header (`headerLength` bytes) starts with the address
 * family; undefined for a short header or a family other than IPv4/IPv6.
 */
export function familyMessage(m: NetlinkMessage, headerLength: number): FamilyMessage | undefined {
  if (m.body.length < headerLength) return undefined;
  const af = m.body[0];
  if (af !== AF_INET && af !== AF_INET6) return undefined;
  const family: Family = af === AF_INET ? 4 : 6;
  const attrs = parseAttributes(m.body, headerLength);
  const size = family === 4 ? 4 : 16;
  const ip = (type: number) => {
    const b = attrs.get(type);
    return b !== undefined && b.length === size ? formatIp({ family, bytes: b }) : undefined;
  };
  return { family, attrs, ip };
}

/**
 * Dumps with `request` and parses each `newType` message with `parse`, keeping those it
 * understands and `keep` accepts.
 */
export function dumpParsed<T>(
  nl: Netlink,
  request: () => MessageBuilder,
  operation: string,
  newType: number,
  parse: (m: NetlinkMessage) => T | undefined,
  keep: (t: T) => boolean = () => true,
): T[] {
  const out: T[] = [];
  for (const m of nl.dump(request, operation)) {
    if (m.type !== newType) continue;
    const t = parse(m);
    if (t !== undefined && keep(t)) out.push(t);
  }
  return out;
}

/**
 * Calls `remove` on each entry (spec/vrrp.md §3.3 step 3); it returns the text of what it
 * removed, or undefined when there was nothing to remove. An absent object or interface is
 * fine; other failures are collected into `report`, not thrown.
 */
export function removeEach<E>(
  entries: readonly E[],
  remove: (entry: E) => string | undefined,
  report: CleanupReport = { removed: [], failed: [] },
): CleanupReport {
  for (const entry of entries) {
    try {
      const text = remove(entry);
      if (text !== undefined) report.removed.push(text);
    } catch (e) {
      if (isAbsent(e)) continue;
      report.failed.push(asError(e));
    }
  }
  return report;
}
