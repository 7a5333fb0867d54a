import { assertEquals } from "../_assert.ts";
import { hexDump } from "../../lib/check/hexdump.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("hexDump prints 16 bytes a line with decimal offsets, a dash after 8 and ASCII", () => {
  const header = enc("HTTP/1.1 200 OK\r\nContent-Length: 19\r\nContent-Type: text/plain\r\n\r\n");
  assertEquals(
    hexDump(header),
    "0000  48 54 54 50 2f 31 2e 31 - 20 32 30 30 20 4f 4b 0d   HTTP/1.1 200 OK.\n" +
      "0016  0a 43 6f 6e 74 65 6e 74 - 2d 4c 65 6e 67 74 68 3a   .Content-Length:\n" +
      "0032  20 31 39 0d 0a 43 6f 6e - 74 65 6e 74 2d 54 79 70    19..Content-Typ\n" +
      "0048  65 3a 20 74 65 78 74 2f - 70 6c 61 69 6e 0d 0a 0d   e: text/plain...\n" +
      "0064  0a                      -                           .               \n",
  );
});

Deno.test("hexDump pads a short last line and keeps the dash", () => {
  assertEquals(
    hexDump(enc("Hello, keepalived!\n")),
    "0000  48 65 6c 6c 6f 2c 20 6b - 65 65 70 61 6c 69 76 65   Hello, keepalive\n" +
      "0016  64 21 0a                -                           d!.             \n",
  );
  assertEquals(
    hexDump(enc("abcdefghi")),
    "0000  61 62 63 64 65 66 67 68 - 69                        abcdefghi       \n",
  );
});

Deno.test("hexDump shows bytes outside 0x20..0x7e as dots and prints backslashes", () => {
  const digest = new Uint8Array([
    0xba,
    0x5c,
    0xc6,
    0xd9,
    0xa6,
    0xf5,
    0x78,
    0x10,
    0x71,
    0x57,
    0x20,
    0x36,
    0x9f,
    0xae,
    0x4d,
    0x79,
  ]);
  assertEquals(
    hexDump(digest),
    "0000  ba 5c c6 d9 a6 f5 78 10 - 71 57 20 36 9f ae 4d 79   .\\....x.qW 6..My\n",
  );
  assertEquals(hexDump(new Uint8Array([0x7e, 0x7f, 0x1f, 0x20])).slice(58, 62), "~.. ");
});

Deno.test("hexDump of nothing is empty and offsets grow past 9999 in decimal", () => {
  assertEquals(hexDump(new Uint8Array(0)), "");
  const lines = hexDump(new Uint8Array(10016)).split("\n");
  assertEquals(lines[625]?.slice(0, 6), "10000 ");
  assertEquals(lines[1]?.slice(0, 5), "0016 ");
});
