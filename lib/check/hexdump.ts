/**
 * The hex dump format of genhash's `-v` output (keepalived's `dump_buffer`, spec/lvs.md
 * §3.5): 16 bytes a line, a decimal offset padded to 4 digits, ` -` after the 8th byte, then
 * the bytes as ASCII. Pure text formatting; it must not write anywhere.
 */

const HEX = "0123456789abcdef";

/**
 * Format `bytes` as dump lines, each ending in `\n`; empty input gives "". Offsets restart
 * at 0000 for every call, as keepalived's do for every dump.
 */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    let hex = "";
    let ascii = "";
    for (let i = 0; i < 16; i++) {
      const b = bytes[off + i];
      if (b === undefined) {
        hex += "   ";
        ascii += " ";
      } else {
        hex += " " + HEX[b >> 4] + HEX[b & 15];
        ascii += b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : ".";
      }
      if (i === 7) hex += " -";
    }
    lines.push(`${String(off).padStart(4, "0")} ${hex}   ${ascii}\n`);
  }
  return lines.join("");
}
