/**
 * Tests for lib/config/shell_words.ts: shell-like splitting of script keywords
 * (spec/vrrp.md §4.1).
 */
import { assertEquals, assertThrows } from "../_assert.ts";
import { shellWords } from "../../lib/config/shell_words.ts";

Deno.test("shellWords() splits at any whitespace", () => {
  assertEquals(shellWords("  /usr/bin/notify\tA  B\n"), ["/usr/bin/notify", "A", "B"]);
  assertEquals(shellWords(""), []);
  assertEquals(shellWords(" \t "), []);
});

Deno.test("shellWords() lets double and single quotes group words", () => {
  assertEquals(shellWords(`/bin/x "a b" 'c d'`), ["/bin/x", "a b", "c d"]);
  assertEquals(shellWords(`"it's" 'say "hi"'`), ["it's", 'say "hi"']);
});

Deno.test("shellWords() joins adjacent quoted and unquoted parts into one word", () => {
  assertEquals(shellWords(`a"b c"d'e f'g`), ["ab cde fg"]);
  assertEquals(shellWords(`--opt="x y"`), ["--opt=x y"]);
});

Deno.test("shellWords() keeps an empty quoted word", () => {
  assertEquals(shellWords(`a "" ''`), ["a", "", ""]);
});

Deno.test("shellWords() decodes the single-letter escapes", () => {
  assertEquals(shellWords("\\a\\b\\E\\f\\n\\r\\t\\v"), ["\x07\b\x1b\f\n\r\t\v"]);
});

Deno.test("shellWords() decodes \\\\, \\\" and \\' and an escaped blank", () => {
  assertEquals(shellWords(`a\\\\b \\"q\\" \\'s\\' x\\ y`), ["a\\b", '"q"', "'s'", "x y"]);
});

Deno.test("shellWords() decodes octal escapes of up to three digits", () => {
  assertEquals(shellWords("\\101\\0\\12x\\1234"), ["A\0\nxS4"]);
  assertEquals(shellWords("\\777"), ["\xff"]);
});

Deno.test("shellWords() decodes hex escapes of up to two digits", () => {
  assertEquals(shellWords("\\x41\\x4a2\\xf"), ["AJ2\x0f"]);
  assertEquals(shellWords("\\xg"), ["xg"]);
});

Deno.test("shellWords() decodes \\cC as a control character", () => {
  assertEquals(shellWords("\\ca\\cZ\\c["), ["\x01\x1a\x1b"]);
  assertEquals(shellWords("\\c"), ["c"]);
});

Deno.test("shellWords() decodes escapes inside both kinds of quotes, as keepalived", () => {
  assertEquals(shellWords(`"a\\tb" 'c\\nd' "e\\"f"`), ["a\tb", "c\nd", 'e"f']);
});

Deno.test("shellWords() throws a RangeError naming an unterminated double quote", () => {
  const e = assertThrows(() => shellWords(`/bin/x "a b`), RangeError);
  assertEquals(
    e.message,
    `Unterminated double quote at column 8 in '/bin/x "a b' - add the closing "`,
  );
});

Deno.test("shellWords() throws a RangeError naming an unterminated single quote", () => {
  assertThrows(() => shellWords(`x 'abc`), RangeError, "Unterminated single quote at column 3");
});

Deno.test("shellWords() throws a RangeError for a lone trailing backslash", () => {
  assertThrows(() => shellWords(`x \\`), RangeError, "Trailing backslash");
});

Deno.test("shellWords() splits a typical notify line", () => {
  assertEquals(shellWords(`/usr/bin/notify "VI 1" 'a b'c`), ["/usr/bin/notify", "VI 1", "a bc"]);
});
