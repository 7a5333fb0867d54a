import { assertEquals } from "../_assert.ts";
import { createHash } from "node:crypto";
import { digestHex } from "../../lib/check/digest.ts";
import {
  extractContentLength,
  extractStatusCode,
  findHeaderEnd,
  HEADER_BUFFER_SIZE,
  HttpResponseReader,
} from "../../lib/check/http_response.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const md5 = (s: string | Uint8Array) => createHash("md5").update(s).digest("hex");
const BODY = "Hello, keepalived!\n";

/** Digest of a response fed in the given chunk sizes (undefined when no header was found). */
function digestOf(response: string | Uint8Array, chunk = Infinity): string | undefined {
  const bytes = typeof response === "string" ? enc(response) : response;
  const r = new HttpResponseReader();
  for (let i = 0; i < bytes.length; i += Math.min(chunk, bytes.length)) {
    if (r.push(bytes.subarray(i, Math.min(bytes.length, i + chunk))).stop) break;
  }
  const s = r.finish();
  return s.headerFound ? digestHex(s.digest!) : undefined;
}

// Each response below was run through keepalived 2.2.7's genhash; the digests are what it
// printed (spec/lvs.md §3.4 lists the first ones).
Deno.test("digest: body after CRLFCRLF, cut to Content-Length, chunk framing included", () => {
  assertEquals(
    digestOf(`HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\n${BODY}`),
    "ba5cc6d9a6f57810715720369fae4d79",
  );
  assertEquals(digestOf(`HTTP/1.0 200 OK\r\n\r\n${BODY}`), "ba5cc6d9a6f57810715720369fae4d79");
  assertEquals(
    digestOf(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n13\r\n${BODY}\r\n0\r\n\r\n`),
    "c29e04234102819fb0e483870903ac5a",
  );
  assertEquals(
    digestOf(`HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n${BODY}`),
    "8b1a9953c4611296a827abf8c47804d7",
  );
  assertEquals(
    digestOf(`HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n${BODY}`),
    "ba5cc6d9a6f57810715720369fae4d79",
  );
  assertEquals(
    digestOf(`HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n${BODY}`),
    "ba5cc6d9a6f57810715720369fae4d79",
  );
  assertEquals(
    digestOf(`HTTP/1.1 404 Not Found\r\n\r\n${BODY}`),
    "ba5cc6d9a6f57810715720369fae4d79",
  );
  assertEquals(digestOf("HTTP/1.1 204 No Content\r\n\r\n"), "d41d8cd98f00b204e9800998ecf8427e");
});

Deno.test("no header end: LF-only headers, an empty or cut response", () => {
  assertEquals(digestOf(`HTTP/1.1 200 OK\nContent-Length: 19\n\n${BODY}`), undefined);
  assertEquals(digestOf(""), undefined);
  assertEquals(digestOf("HTTP/1.1 200 OK\r\nContent-"), undefined);
  // Anything before the first CRLFCRLF is header, even garbage or a bare LF line.
  assertEquals(digestOf("garbage\r\n\r\nabc"), md5("abc"));
  assertEquals(digestOf("HTTP/1.1 200 OK\r\n\n\r\n\r\nabc"), md5("abc"));
  assertEquals(digestOf("HTTP/1.1 200 OK\r\nX: \0\r\n\r\nabc"), md5("abc"));
});

Deno.test("Content-Length is read like strtoul and needs CR, LF or the end after it", () => {
  const cl = (value: string) =>
    digestOf(`HTTP/1.1 200 OK\r\nContent-Length:${value}\r\n\r\n${BODY}`);
  assertEquals(cl(" +5"), md5("Hello"));
  assertEquals(cl(" -0"), md5(""));
  assertEquals(cl("5"), md5("Hello"));
  assertEquals(cl("\t5"), md5("Hello"));
  assertEquals(cl(" -18446744073709551615"), md5("H"));
  assertEquals(cl(" 18446744073709551615"), md5(BODY));
  assertEquals(cl(" 99999999999999999999999"), md5(BODY));
  assertEquals(cl(" -5"), md5(BODY));
  assertEquals(cl(" 5\n"), md5("Hello"));
  assertEquals(cl(" 5\0"), md5("Hello"));
  // Rejected: trailing characters, no digits after a blank, hex.
  assertEquals(cl("   5 "), md5(BODY));
  assertEquals(cl(" 5 6"), md5(BODY));
  assertEquals(cl(" 0x5"), md5(BODY));
  assertEquals(cl(" "), md5(BODY));
  // No digits and nothing skipped: strtoul points at the CR, which is accepted as 0.
  assertEquals(cl(""), md5(""));
  // strtoul skips CR LF as white space and reads the next line.
  assertEquals(cl(" \r\n5"), md5("Hello"));
});

Deno.test("Content-Length is found anywhere in the first buffer, case-sensitively, up to a NUL", () => {
  assertEquals(
    digestOf(`HTTP/1.1 200 OK\r\nX: 1\r\n\r\nContent-Length: 5\r\n${BODY}`),
    md5("Conte"),
  );
  assertEquals(digestOf(`HTTP/1.1 200 OK\r\nX-Content-Length: 5\r\n\r\n${BODY}`), md5("Hello"));
  assertEquals(
    digestOf(`HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\n${BODY}`),
    md5("Hel"),
  );
  assertEquals(digestOf(`HTTP/1.1 200 OK\r\nX: \0\r\nContent-Length: 5\r\n\r\n${BODY}`), md5(BODY));
  assertEquals(
    digestOf(`HTTP/1.1 200 OK\r\nX: 1\r\n\r\nab\0Content-Length: 5\r\n${BODY}`),
    md5(`ab\0Content-Length: 5\r\n${BODY}`),
  );
  assertEquals(digestOf("HTTP/1.1 200 OK\r\n\r\nabcdefContent-Length: 5"), md5("abcde"));
});

Deno.test("the header must end within 4095 bytes; a later Content-Length is not seen", () => {
  const withHeader = (len: number) => {
    const head = "HTTP/1.1 200 OK\r\nX: ";
    return head + "a".repeat(len - head.length - 4) + "\r\n\r\nabc";
  };
  assertEquals(digestOf(withHeader(4094)), md5("abc"));
  assertEquals(digestOf(withHeader(HEADER_BUFFER_SIZE)), md5("abc"));
  assertEquals(digestOf(withHeader(4096)), undefined);
  assertEquals(digestOf(withHeader(4096), 100), undefined);
  assertEquals(digestOf(withHeader(4097)), undefined);
  // Content-Length in the body, ending exactly at, or straddling, the buffer's end.
  const inBody = (at: number) => {
    const head = "HTTP/1.1 200 OK\r\n\r\n";
    const body = "a".repeat(at - head.length) + "Content-Length: 5\r\n" + "z".repeat(100);
    return { response: head + body, body };
  };
  const ends = inBody(4078);
  assertEquals(digestOf(ends.response), md5(ends.body.slice(0, 5)));
  const cut = inBody(4079); // "Content-Length: " fits, the digits do not
  assertEquals(digestOf(cut.response), md5(cut.body));
  const colon = inBody(4080); // the buffer ends right after the colon: read as 0
  assertEquals(digestOf(colon.response), md5(""));
});

Deno.test("the digest does not depend on how the bytes are split into chunks", () => {
  const big = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
  const head = enc("HTTP/1.1 200 OK\r\nContent-Length: 250000\r\n\r\n");
  const response = new Uint8Array(head.length + big.length);
  response.set(head);
  response.set(big, head.length);
  const expected = md5(big.subarray(0, 250_000));
  for (const chunk of [1, 7, 4095, 4096, 65536, Infinity]) {
    assertEquals(digestOf(response, chunk), expected, `chunk ${chunk}`);
  }
  const chunked = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n13\r\n${BODY}\r\n0\r\n\r\n`;
  for (const chunk of [1, 2, 3, 5]) {
    assertEquals(digestOf(chunked, chunk), "c29e04234102819fb0e483870903ac5a");
  }
});

Deno.test("push reports the header once, the hashed body per chunk, and stops on a full buffer", () => {
  const r = new HttpResponseReader();
  const a = r.push(enc("HTTP/1.1 200 OK\r\nContent-Len"));
  assertEquals([a.headerPending, a.header, a.body.length, a.stop], [true, undefined, 0, false]);
  const b = r.push(enc("gth: 3\r\n\r\nab"));
  assertEquals(new TextDecoder().decode(b.header), "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n");
  assertEquals(new TextDecoder().decode(b.body), "ab");
  const c = r.push(enc("cdef"));
  assertEquals([c.header, new TextDecoder().decode(c.body)], [undefined, "c"]);
  assertEquals(r.push(enc("ghi")).body.length, 0);
  const s = r.finish();
  assertEquals(
    [s.headerFound, s.status, s.contentLength, s.bodyBytes, s.hashedBytes, digestHex(s.digest!)],
    [true, 200, 3, 9, 3, md5("abc")],
  );

  const full = new HttpResponseReader();
  assertEquals(full.push(new Uint8Array(4000).fill(0x41)).stop, false);
  assertEquals(full.push(new Uint8Array(95).fill(0x41)).stop, true);
  const f = full.finish();
  assertEquals([f.headerFound, f.overflow, f.status, digestHex(f.digest!)], [
    false,
    true,
    0,
    md5(""),
  ]);
});

Deno.test("a reader without hashing still measures the response", () => {
  const r = new HttpResponseReader({ hash: false });
  r.push(enc(`HTTP/1.1 200 OK\r\n\r\n${BODY}`));
  const s = r.finish();
  assertEquals([s.headerFound, s.bodyBytes, s.hashedBytes, s.digest], [true, 19, 19, undefined]);
});

Deno.test("status code: three digits between the first space and the next space, else 0", () => {
  assertEquals(extractStatusCode(enc("HTTP/1.1 200 OK\r\n\r\n")), 200);
  assertEquals(extractStatusCode(enc("HTTP/1.0 404 Not Found\r\n\r\n")), 404);
  assertEquals(extractStatusCode(enc("HTTP/1.1 200\r\n\r\n")), 0);
  assertEquals(extractStatusCode(enc("HTTP/1.1 2000 OK\r\n\r\n")), 0);
  assertEquals(extractStatusCode(enc("HTTP/1.1 20x OK\r\n\r\n")), 0);
  assertEquals(extractStatusCode(enc("garbage\r\n\r\n")), 0);
});

Deno.test("findHeaderEnd and extractContentLength on their own", () => {
  assertEquals(findHeaderEnd(enc("a\r\n\r\nb")), 5);
  assertEquals(findHeaderEnd(enc("a\n\nb")), -1);
  assertEquals(findHeaderEnd(enc("a\r\n\r\nb\r\n\r\n"), 1), 5);
  assertEquals(findHeaderEnd(enc("a\r\n\r\nb\r\n\r\n"), 2), 10);
  assertEquals(extractContentLength(enc("Content-Length: 42\r\n")), 42);
  assertEquals(extractContentLength(enc("content-length: 42\r\n")), undefined);
  assertEquals(extractContentLength(enc("Content-Length: 42;\r\n")), undefined);
});
