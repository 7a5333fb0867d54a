/**
 * Packet builders for the GRE keepalive tests, written independently of
 * lib/net/gre_keepalive.ts so the two can check each other: IPv4 and IPv6 headers, GRE
 * headers (RFC 2784, RFC 2890), whole keepalives as a peer puts them on the wire (Cisco
 * style over IPv4; over IPv6 with inner protocol 0 or RouterOS's 0x86dd), and a parser that
 * finds the GRE payload of a captured frame. Test support only.
 */

export type Bytes = Uint8Array<ArrayBuffer>;

export function concat(...parts: Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** "192.0.2.1" → 4 bytes. */
export function v4(text: string): Bytes {
  const parts = text.split(".").map(Number);
  if (parts.length !== 4 || parts.some((n) => !(n >= 0 && n <= 255))) {
    throw new TypeError(`'${text}' is not an IPv4 address`);
  }
  return new Uint8Array(parts);
}

/** A full or `::`-compressed IPv6 address → 16 bytes. */
export function v6(text: string): Bytes {
  const [head = "", tail] = text.split("::");
  const h = head === "" ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  if (groups.length !== 8) throw new TypeError(`'${text}' is not an IPv6 address`);
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  });
  return out;
}

/** RFC 1071 checksum of `data`. */
export function inetChecksum(data: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) {
    sum += ((data[i] as number) << 8) | (data[i + 1] ?? 0);
  }
  while (sum >>> 16) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface Ipv4Options {
  readonly ttl?: number;
  readonly id?: number;
  /** Raw option bytes (a multiple of 4). */
  readonly options?: Uint8Array;
  /** Flags and fragment offset field (e.g. 0x4000 = DF, 0x2000 = MF). */
  readonly fragment?: number;
  readonly tos?: number;
}

/** An IPv4 packet with a correct header checksum. */
export function ipv4(
  src: Uint8Array,
  dst: Uint8Array,
  protocol: number,
  payload: Uint8Array,
  o: Ipv4Options = {},
): Bytes {
  const opt = o.options ?? new Uint8Array(0);
  const hlen = 20 + opt.length;
  const h = new Uint8Array(hlen);
  const v = new DataView(h.buffer);
  h[0] = 0x40 | (hlen / 4);
  h[1] = o.tos ?? 0;
  v.setUint16(2, hlen + payload.length);
  v.setUint16(4, o.id ?? 0x1234);
  v.setUint16(6, o.fragment ?? 0);
  h[8] = o.ttl ?? 255;
  h[9] = protocol;
  h.set(src, 12);
  h.set(dst, 16);
  h.set(opt, 20);
  v.setUint16(10, inetChecksum(h));
  return concat(h, payload);
}

/** An IPv6 packet (no extension headers). */
export function ipv6(
  src: Uint8Array,
  dst: Uint8Array,
  nextHeader: number,
  payload: Uint8Array,
  o: { hopLimit?: number; flowLabel?: number } = {},
): Bytes {
  const h = new Uint8Array(40);
  const v = new DataView(h.buffer);
  v.setUint32(0, 0x60000000 | ((o.flowLabel ?? 0) & 0xfffff));
  v.setUint16(4, payload.length);
  h[6] = nextHeader;
  h[7] = o.hopLimit ?? 255;
  h.set(src, 8);
  h.set(dst, 24);
  return concat(h, payload);
}

export interface GreOptions {
  readonly key?: number;
  readonly seq?: number;
  readonly csum?: boolean;
  /** Extra bits for the flags/version word (to build invalid headers). */
  readonly extraFlags?: number;
}

/** A GRE header followed by `payload`. */
export function gre(
  protocol: number,
  payload: Uint8Array = new Uint8Array(0),
  o: GreOptions = {},
): Bytes {
  let flags = o.extraFlags ?? 0;
  const fields: number[] = [];
  if (o.csum) {
    flags |= 0x8000;
    fields.push(0);
  }
  if (o.key !== undefined) {
    flags |= 0x2000;
    fields.push(o.key);
  }
  if (o.seq !== undefined) {
    flags |= 0x1000;
    fields.push(o.seq);
  }
  const h = new Uint8Array(4 + 4 * fields.length);
  const v = new DataView(h.buffer);
  v.setUint16(0, flags);
  v.setUint16(2, protocol);
  fields.forEach((f, i) => v.setUint32(4 + 4 * i, f >>> 0));
  const out = concat(h, payload);
  if (o.csum) new DataView(out.buffer).setUint16(4, inetChecksum(out));
  return out;
}

export const GRE = 47;
export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;

/** What a Cisco router sends (RFC 2784 GRE over IPv4): returns the wire packet and its inner part. */
export function ciscoKeepalive(
  sender: Uint8Array,
  receiver: Uint8Array,
  o: { key?: number; id?: number } = {},
): { wire: Bytes; inner: Bytes } {
  const greOpt = o.key !== undefined ? { key: o.key } : {};
  const inner = ipv4(receiver, sender, GRE, gre(0, new Uint8Array(0), greOpt), { id: o.id ?? 0 });
  const wire = ipv4(sender, receiver, GRE, gre(ETH_P_IP, inner, greOpt), { id: o.id ?? 0 });
  return { wire, inner };
}

/**
 * An ip6gre keepalive: the GRE part the sender puts after its IPv6 header (an IPv6 raw
 * socket adds that header) and the inner packet. `innerProtocol` 0 is the usual form,
 * 0x86dd what RouterOS sends.
 */
export function ipv6Keepalive(
  sender: Uint8Array,
  receiver: Uint8Array,
  innerProtocol: 0 | 0x86dd,
  flowLabel = 0,
): { grePart: Bytes; inner: Bytes } {
  const inner = ipv6(receiver, sender, GRE, gre(innerProtocol), { flowLabel });
  return { grePart: gre(ETH_P_IPV6, inner), inner };
}

/** The GRE payload of an Ethernet frame carrying IPv4 or IPv6 GRE, with the outer addresses. */
export interface GreFrame {
  readonly family: 4 | 6;
  readonly src: Bytes;
  readonly dst: Bytes;
  readonly greProtocol: number;
  /** The GRE key (RFC 2890), when the K bit is set. */
  readonly key: number | undefined;
  readonly payload: Bytes;
}

/** Parse an Ethernet frame down to its GRE payload (IPv6 extension headers skipped). */
export function parseGreFrame(frame: Uint8Array): GreFrame | undefined {
  if (frame.length < 14) return undefined;
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const ethType = v.getUint16(12);
  let o = 14;
  let family: 4 | 6;
  let src: Bytes;
  let dst: Bytes;
  let end: number;
  if (ethType === ETH_P_IP) {
    if (frame.length < o + 20) return undefined;
    const ihl = ((frame[o] as number) & 0x0f) * 4;
    if (frame[o + 9] !== GRE) return undefined;
    family = 4;
    src = frame.slice(o + 12, o + 16);
    dst = frame.slice(o + 16, o + 20);
    end = o + v.getUint16(o + 2);
    o += ihl;
  } else if (ethType === ETH_P_IPV6) {
    if (frame.length < o + 40) return undefined;
    family = 6;
    src = frame.slice(o + 8, o + 24);
    dst = frame.slice(o + 24, o + 40);
    end = o + 40 + v.getUint16(o + 4);
    let next = frame[o + 6] as number;
    o += 40;
    // Hop-by-hop (0), routing (43), destination options (60: ip6gre's encapsulation limit).
    while (next === 0 || next === 43 || next === 60) {
      if (frame.length < o + 8) return undefined;
      const len = ((frame[o + 1] as number) + 1) * 8;
      next = frame[o] as number;
      o += len;
    }
    if (next !== GRE) return undefined;
  } else {
    return undefined;
  }
  if (frame.length < o + 4 || end > frame.length) return undefined;
  const flags = v.getUint16(o);
  const greProtocol = v.getUint16(o + 2);
  const csum = flags & 0x8000 ? 4 : 0;
  const hasKey = (flags & 0x2000) !== 0;
  const glen = 4 + csum + (hasKey ? 4 : 0) + (flags & 0x1000 ? 4 : 0);
  if (frame.length < o + glen) return undefined;
  const key = hasKey ? v.getUint32(o + 4 + csum) : undefined;
  return { family, src, dst, greProtocol, key, payload: frame.slice(o + glen, end) };
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
}
