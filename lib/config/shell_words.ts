/**
 * Shell-like word splitting for script keywords (`notify*`, `script`, `*_fifo_script`,
 * `startup_script`, `shutdown_script`, `misc_path`; spec/vrrp.md §4.1).
 *
 * Owns the re-splitting of a logical line's raw text: both `"` and `'` quote, adjacent
 * quoted and unquoted parts join into one word, and backslash escapes are decoded
 * everywhere (also inside single quotes, as keepalived does). It does not run anything
 * and knows nothing of keywords.
 */

const ESCAPES: Readonly<Record<string, string>> = {
  a: "\x07",
  b: "\b",
  E: "\x1b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

function isSpace(c: string): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r";
}

function isOctal(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "7";
}

function hexValue(c: string | undefined): number {
  if (c === undefined) return -1;
  if (c >= "0" && c <= "9") return c.charCodeAt(0) - 0x30;
  if (c >= "a" && c <= "f") return c.charCodeAt(0) - 0x57;
  if (c >= "A" && c <= "F") return c.charCodeAt(0) - 0x37;
  return -1;
}

/**
 * Split `raw` into words with shell-like rules. Escapes: `\a \b \E \f \n \r \t \v`,
 * `\nnn` (octal, up to 3 digits), `\xHH` (up to 2 hex digits), `\cC` (control character
 * C & 0x1f); any other escaped character stands for itself (`\\`, `\"`, `\'`, `\ `).
 * Throws a RangeError for an unterminated quote or a trailing lone backslash.
 *
 * @example
 * ```ts
 * shellWords(`/usr/bin/notify "VI 1" 'a b'c`); // ["/usr/bin/notify", "VI 1", "a bc"]
 * shellWords("a\\tb");                                // ["a\tb"]
 * ```
 */
export function shellWords(raw: string): string[] {
  const words: string[] = [];
  const n = raw.length;
  let i = 0;
  for (;;) {
    while (i < n && isSpace(raw[i] as string)) i++;
    if (i >= n) break;
    let word = "";
    let quote: string | null = null;
    let quoteAt = -1;
    while (i < n) {
      const c = raw[i] as string;
      if (c === "\\") {
        i++;
        if (i >= n) {
          throw new RangeError(
            `Trailing backslash in '${raw}' - remove it or escape it as '\\\\'`,
          );
        }
        const e = raw[i] as string;
        const h = hexValue(raw[i + 1]);
        if (e === "x" && h >= 0) {
          let v = h;
          i += 2;
          const h2 = hexValue(raw[i]);
          if (h2 >= 0) {
            v = v * 16 + h2;
            i++;
          }
          word += String.fromCharCode(v);
        } else if (e === "c" && i + 1 < n) {
          word += String.fromCharCode((raw.charCodeAt(i + 1)) & 0x1f);
          i += 2;
        } else if (isOctal(e)) {
          let v = 0;
          let k = 0;
          while (k < 3 && isOctal(raw[i])) {
            v = v * 8 + (raw.charCodeAt(i) - 0x30);
            i++;
            k++;
          }
          word += String.fromCharCode(v & 0xff);
        } else {
          word += ESCAPES[e] ?? e;
          i++;
        }
        continue;
      }
      if (quote !== null) {
        if (c === quote) quote = null;
        else word += c;
        i++;
        continue;
      }
      if (c === '"' || c === "'") {
        quote = c;
        quoteAt = i;
        i++;
        continue;
      }
      if (isSpace(c)) break;
      word += c;
      i++;
    }
    if (quote !== null) {
      throw new RangeError(
        `Unterminated ${quote === '"' ? "double" : "single"} quote at column ${
          quoteAt + 1
        } in '${raw}' - add the closing ${quote}`,
      );
    }
    words.push(word);
  }
  return words;
}
