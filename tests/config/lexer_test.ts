/**
 * Tests for lib/config/lexer.ts: comments, quotes, brace splitting and tokens of one line
 * (spec/vrrp.md §4.1).
 */
import { assertEquals } from "../_assert.ts";
import {
  decomment,
  lexLine,
  splitAtBrace,
  splitBraces,
  tokenize,
  unescapeComments,
} from "../../lib/config/lexer.ts";

const raws = (line: string) => lexLine(line, "k.conf", 1).lines.map((l) => l.raw);
const words = (text: string) => tokenize(text, 1).tokens.map((t) => t.text);

Deno.test("decomment() removes a # comment and the blanks around the line", () => {
  const d = decomment("   priority 100   # the backup");
  assertEquals(d.text, "priority 100");
  assertEquals(d.offset, 3);
  assertEquals(d.unterminatedQuote, false);
});

Deno.test("decomment() treats ! like # as a comment start", () => {
  assertEquals(decomment("state MASTER ! primary").text, "state MASTER");
  assertEquals(decomment("! whole line").text, "");
  assertEquals(decomment("#whole line").text, "");
});

Deno.test("decomment() keeps # and ! inside double quotes", () => {
  assertEquals(decomment('auth_pass "ab#cd!ef" # c').text, 'auth_pass "ab#cd!ef"');
});

Deno.test("decomment() does not protect comments with single quotes (verified: 'ab#cd' → 'ab)", () => {
  assertEquals(decomment("auth_pass 'ab#cd'").text, "auth_pass 'ab");
});

Deno.test("decomment() leaves \\# and \\! escaped for unescapeComments()", () => {
  const d = decomment("a \\#b \\!c # real");
  assertEquals(d.text, "a \\#b \\!c");
  assertEquals(unescapeComments(d.text), "a #b !c");
});

Deno.test("unescapeComments() leaves backslashes inside double quotes alone", () => {
  assertEquals(unescapeComments('x "a\\#b" c\\#d'), 'x "a\\#b" c#d');
  assertEquals(unescapeComments("no escapes"), "no escapes");
  assertEquals(unescapeComments("a\\nb"), "a\\nb");
});

Deno.test("decomment() reports a double quote left open and keeps # after it", () => {
  const d = decomment('notify "abc # not a comment');
  assertEquals(d.text, 'notify "abc # not a comment');
  assertEquals(d.unterminatedQuote, true);
});

Deno.test("decomment() keeps a trailing backslash and removes the blanks before it", () => {
  assertEquals(decomment("$M=a   \\").text, "$M=a\\");
  assertEquals(decomment("  \\  ").text, "\\  ".trimEnd());
});

Deno.test("decomment() keeps the trailing backslash of a comment, as keepalived", () => {
  assertEquals(decomment("x # comment \\").text, "x\\");
});

Deno.test("decomment() works on a range of a longer text", () => {
  const text = "first\n  second # c\nthird";
  const d = decomment(text, 6, 18);
  assertEquals(d.text, "second");
  assertEquals(d.offset, 2);
});

Deno.test("a trailing backslash on an ordinary line stays literal (verified: '32\\')", () => {
  const lines = lexLine("192.0.2.100/32 \\", "k.conf", 7).lines;
  assertEquals(lines.map((l) => l.tokens.map((t) => t.text)), [["192.0.2.100/32\\"]]);
});

Deno.test("tokenize() splits at blanks and tabs with 1-based columns", () => {
  const t = tokenize("virtual_router_id\t51  x", 3).tokens;
  assertEquals(t, [
    { text: "virtual_router_id", quoted: false, column: 3 },
    { text: "51", quoted: false, column: 21 },
    { text: "x", quoted: false, column: 25 },
  ]);
});

Deno.test("tokenize() makes a double-quoted word one token without its quotes", () => {
  const t = tokenize('notify "/usr/bin/x arg" y', 1).tokens;
  assertEquals(t[1], { text: "/usr/bin/x arg", quoted: true, column: 8 });
  assertEquals(t[2]?.text, "y");
});

Deno.test("tokenize() does no escape processing inside double quotes", () => {
  assertEquals(words('a "x\\ty"'), ["a", "x\\ty"]);
});

Deno.test("tokenize() ends a word at a double quote", () => {
  assertEquals(words('ab"cd ef"gh'), ["ab", "cd ef", "gh"]);
  assertEquals(words('"a""b"'), ["a", "b"]);
});

Deno.test("tokenize() keeps single quotes as ordinary characters", () => {
  assertEquals(words("a 'b c'"), ["a", "'b", "c'"]);
});

Deno.test("tokenize() gives an empty token for an empty quoted string", () => {
  assertEquals(tokenize('x ""', 1).tokens[1], { text: "", quoted: true, column: 3 });
});

Deno.test("tokenize() flags an unterminated quote and drops the rest of the line", () => {
  const t = tokenize('a b "c d', 1);
  assertEquals(t.unterminatedQuote, true);
  assertEquals(t.tokens.map((x) => x.text), ["a", "b"]);
});

Deno.test("tokenize() of blank text gives no tokens", () => {
  assertEquals(tokenize(" \t ", 1).tokens, []);
});

Deno.test("splitAtBrace() splits before a brace in the middle of a line", () => {
  assertEquals(splitAtBrace("vrrp_instance VI_1 { state MASTER }"), {
    head: "vrrp_instance VI_1",
    rest: "{ state MASTER }",
    restOffset: 19,
  });
});

Deno.test("splitAtBrace() splits after a brace at the start of a line", () => {
  assertEquals(splitAtBrace("{   state MASTER }"), {
    head: "{",
    rest: "state MASTER }",
    restOffset: 4,
  });
  assertEquals(splitAtBrace("}"), { head: "}", rest: null, restOffset: 1 });
  assertEquals(splitAtBrace("} x"), { head: "}", rest: "x", restOffset: 2 });
});

Deno.test("splitAtBrace() ignores braces inside double quotes", () => {
  assertEquals(splitAtBrace('a "{x}" b').rest, null);
  assertEquals(splitAtBrace('a "{x}" {').head, 'a "{x}"');
});

Deno.test("splitAtBrace() does not split after an unterminated quote", () => {
  assertEquals(splitAtBrace('a "b { c').rest, null);
});

Deno.test("splitBraces() splits `name { a b }` into four logical lines", () => {
  assertEquals(splitBraces("name { a b }"), [
    { text: "name", offset: 0 },
    { text: "{", offset: 5 },
    { text: "a b", offset: 7 },
    { text: "}", offset: 11 },
  ]);
  assertEquals(splitBraces("a{b}c").map((p) => p.text), ["a", "{", "b", "}", "c"]);
  assertEquals(splitBraces("}}").map((p) => p.text), ["}", "}"]);
});

Deno.test("lexLine() decomments, unescapes and splits with columns in the physical line", () => {
  const lines = lexLine("  vrrp_instance VI_1 { state \\#x } # c", "k.conf", 4).lines;
  assertEquals(lines.map((l) => l.raw), ["vrrp_instance VI_1", "{", "state #x", "}"]);
  assertEquals(lines.map((l) => l.loc), [
    { file: "k.conf", line: 4, column: 3 },
    { file: "k.conf", line: 4, column: 22 },
    { file: "k.conf", line: 4, column: 24 },
    { file: "k.conf", line: 4, column: 34 },
  ]);
});

Deno.test("lexLine() of a comment line gives no logical lines", () => {
  assertEquals(raws("   # nothing here { }"), []);
});

Deno.test("lexLine() reports an unterminated quote", () => {
  const r = lexLine('notify "x { y', "k.conf", 1);
  assertEquals(r.unterminatedQuote, true);
  assertEquals(r.lines.map((l) => l.raw), ['notify "x { y']);
});

Deno.test("tokenize() can turn \\# into # in unquoted tokens only", () => {
  const t = tokenize('a\\#b "c\\#d"', 1, true).tokens;
  assertEquals(t.map((x) => x.text), ["a#b", "c\\#d"]);
  assertEquals(tokenize("a\\#b", 1).tokens[0]?.text, "a\\#b");
});
