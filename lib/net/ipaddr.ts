/**
 * IP address text ↔ bytes, pure. Parsing follows inet_pton (what keepalived uses): IPv4
 * dotted quad with four decimal parts and no leading zeros; IPv6 with `::` compression and an
 * optional trailing dotted quad. Printing is canonical (RFC 5952 for IPv6).
 */

export type Family = 4 | 6;

export interface IpAddress {
  readonly family: Family;
  readonly bytes: Uint8Array;
}

/**
 * Parse a dotted-quad IPv4 address; undefined if malformed. A character scanner rather than
 * split + regex: configurations hold tens of thousands of addresses, parsed cold.
 */
export function parseIPv4(text: string): Uint8Array | undefined {
  const n = text.length;
  if (n < 7 || n > 15) return undefined;
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 46; // a virtual '.' ends the last part
    if (c === 46) {
      if (digits === 0 || part > 3) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return undefined; // no leading zeros, as inet_pton
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return undefined;
    } else {
      return undefined;
    }
  }
  return part === 4 ? out : undefined;
}

/** Parse an IPv6 address; undefined if malformed. */
export function parseIPv6(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const out = new Uint8Array(16);
  let head = text;
  let tail = "";
  const dbl = text.indexOf("::");
  if (dbl >= 0) {
    if (text.indexOf("::", dbl + 1) >= 0) return undefined;
    head = text.slice(0, dbl);
    tail = text.slice(dbl + 2);
  }
  const parseGroups = (s: string, allowV4: boolean): number[] | undefined => {
    if (s === "") return [];
    const groups = s.split(":");
    const words: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] as string;
      if (allowV4 && i === groups.length - 1 && g.includes(".")) {
        const v4 = parseIPv4(g);
        if (!v4) return undefined;
        words.push(
          ((v4[0] as number) << 8) | (v4[1] as number),
          ((v4[2] as number) << 8) | (v4[3] as number),
        );
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      words.push(parseInt(g, 16));
    }
    return words;
  };
  const h = parseGroups(head, dbl < 0);
  const t = parseGroups(tail, true);
  if (!h || !t) return undefined;
  const words = h.length + t.length;
  if (dbl < 0 ? words !== 8 : words > 7) return undefined;
  const all = [...h, ...new Array<number>(8 - words).fill(0), ...t];
  for (let i = 0; i < 8; i++) {
    out[2 * i] = (all[i] as number) >> 8;
    out[2 * i + 1] = (all[i] as number) & 0xff;
  }
  return out;
}

/** Parse either family. */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(":")) {
    const b = parseIPv6(text);
    return b ? { family: 6, bytes: b } : undefined;
  }
  const b = parseIPv4(text);
  return b ? { family: 4, bytes: b } : undefined;
}

/** Canonical text of an address. */
export function formatIp(a: IpAddress): string {
  return a.family === 4 ? formatIPv4(a.bytes) : formatIPv6(a.bytes);
}

export function formatIPv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

export function formatIPv6(b: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push(((b[2 * i] as number) << 8) | (b[2 * i + 1] as number));
  // RFC 5952 §4.2: compress the longest run (≥ 2) of zero words, the first if tied.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (x: number) => x.toString(16);
  if (bestStart < 0) return w.map(hex).join(":");
  const left = w.slice(0, bestStart).map(hex).join(":");
  const right = w.slice(bestStart + bestLen).map(hex).join(":");
  return `${left}::${right}`;
}

/** True when two byte strings (addresses) are the same. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Orders addresses as unsigned big-endian numbers (negative, 0 or positive; shorter first). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  }
  return a.length - b.length;
}

/** True for 224.0.0.0/4 or ff00::/8. */
export function isMulticast(a: IpAddress): boolean {
  return a.family === 4 ? ((a.bytes[0] as number) & 0xf0) === 0xe0 : a.bytes[0] === 0xff;
}

/** True for fe80::/10. */
export function isLinkLocal6(a: IpAddress): boolean {
  return a.family === 6 && a.bytes[0] === 0xfe && ((a.bytes[1] as number) & 0xc0) === 0x80;
}

/** True when the bits after `prefix` are all zero. */
export function hostBitsZero(a: IpAddress, prefix: number): boolean {
  for (let bit = prefix; bit < a.bytes.length * 8; bit++) {
    if (((a.bytes[bit >> 3] as number) >> (7 - (bit & 7))) & 1) return false;
  }
  return true;
}
