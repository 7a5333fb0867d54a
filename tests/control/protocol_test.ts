/**
 * The control protocol codec (lib/control/protocol.ts), without a socket: requests that
 * parse, every way a request is refused (each with its error code and the request id when
 * it could be read), replies both ways, and the line framing with its size cap.
 */
import { assert, assertEquals, assertMatch, assertThrows } from "../_assert.ts";
import {
  encodeError,
  encodeReply,
  encodeRequest,
  LineReader,
  MAX_REQUEST_BYTES,
  type ParsedRequest,
  parseReply,
  parseRequest,
  ProtocolError,
} from "../../lib/control/protocol.ts";

const enc = new TextEncoder();
const parse = (text: string): ParsedRequest => parseRequest(enc.encode(text));

function refused(text: string | Uint8Array, code: string, id: unknown = null): string {
  const r = typeof text === "string" ? parse(text) : parseRequest(text);
  assert(!r.ok, `'${String(text).slice(0, 80)}' should be refused`);
  assertEquals(r.error.code, code);
  assertEquals(r.id, id);
  return r.error.message;
}

Deno.test("a request parses into its version, id, command and arguments", () => {
  const r = parse('{"v":1,"id":7,"cmd":"dump","instance":"VI_1"}');
  assert(r.ok);
  assertEquals(r.request, { v: 1, id: 7, cmd: "dump", args: { instance: "VI_1" } });
});

Deno.test("the id may be a string, an integer, null or absent (null)", () => {
  for (const [text, id] of [['"abc"', "abc"], ["-3", -3], ["null", null]] as const) {
    const r = parse(`{"v":1,"id":${text},"cmd":"ping"}`);
    assert(r.ok);
    assertEquals(r.request.id, id);
  }
  const r = parse('{"v":1,"cmd":"ping"}');
  assert(r.ok);
  assertEquals(r.request.id, null);
});

Deno.test("malformed JSON is refused as malformed_json, naming the problem and an example", () => {
  const m = refused('{"v":1,"id":4,"cmd":"ping"', "malformed_json");
  assertMatch(m, /not valid JSON/);
  assertMatch(m, /"cmd":"help"/);
  refused("hello", "malformed_json");
});

Deno.test("bytes that are not UTF-8 are refused as malformed_json", () => {
  const m = refused(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), "malformed_json");
  assertMatch(m, /UTF-8/);
});

Deno.test("JSON that is not an object, and an empty line, are invalid requests", () => {
  for (const t of ["[1,2]", "42", '"ping"', "null", "true"]) refused(t, "invalid_request");
  assertMatch(refused("   ", "invalid_request"), /empty/);
});

Deno.test("an id that is not a string, an integer or null is an invalid request", () => {
  for (const t of ["1.5", "{}", "[1]", "true", JSON.stringify("x".repeat(257))]) {
    assertMatch(refused(`{"v":1,"id":${t},"cmd":"ping"}`, "invalid_request"), /"id"/);
  }
});

Deno.test("a request without a version is invalid and says how to give one", () => {
  assertMatch(refused('{"id":9,"cmd":"ping"}', "invalid_request", 9), /"v":1/);
});

Deno.test("another protocol version is unsupported_version, with the id kept", () => {
  const m = refused('{"v":2,"id":"a","cmd":"ping"}', "unsupported_version", "a");
  assertMatch(m, /version 2 is not supported/);
  refused('{"v":"1","id":3,"cmd":"ping"}', "unsupported_version", 3);
  refused('{"v":0,"cmd":"ping"}', "unsupported_version");
});

Deno.test("a missing, empty or non-string command is an invalid request", () => {
  for (const c of ["", '"cmd":""', '"cmd":5', '"cmd":null']) {
    const body = c === "" ? '{"v":1,"id":1}' : `{"v":1,"id":1,${c}}`;
    assertMatch(refused(body, "invalid_request", 1), /"cmd":"help"/);
  }
});

Deno.test("ok and error members belong in replies, not requests", () => {
  refused('{"v":1,"id":1,"cmd":"ping","ok":true}', "invalid_request", 1);
  refused('{"v":1,"id":1,"cmd":"ping","error":{}}', "invalid_request", 1);
});

Deno.test("a line over the cap is refused as request_too_large", () => {
  const big = enc.encode(`{"v":1,"cmd":"ping","pad":"${"x".repeat(MAX_REQUEST_BYTES)}"}`);
  assertMatch(refused(big, "request_too_large"), /65536 bytes/);
});

Deno.test("replies: success members next to v/id/ok, errors with details beside code", () => {
  assertEquals(
    JSON.parse(encodeReply(3, { pong: true })),
    { v: 1, id: 3, ok: true, pong: true },
  );
  assert(encodeReply(null, {}).endsWith("}\n"));
  assertThrows(() => encodeReply(1, { ok: false }), TypeError, "protocol");
  assertEquals(
    JSON.parse(encodeError("x", { code: "not_found", message: "no", details: { instances: [] } })),
    { v: 1, id: "x", ok: false, error: { code: "not_found", message: "no", instances: [] } },
  );
});

Deno.test("a client's request encodes and the server's parser reads it back", () => {
  const line = encodeRequest(5, "dump", { instance: "VI_2" });
  assert(line.endsWith("\n"));
  const r = parse(line.trimEnd());
  assert(r.ok);
  assertEquals(r.request, { v: 1, id: 5, cmd: "dump", args: { instance: "VI_2" } });
  assertThrows(() => encodeRequest(1, "x", { v: 2 }), TypeError, "argument");
});

Deno.test("parseReply reads successes and errors and rejects what is not a reply", () => {
  assertEquals(parseReply('{"v":1,"id":1,"ok":true,"pong":true}'), {
    ok: true,
    id: 1,
    result: { pong: true },
  });
  const e = parseReply(
    '{"v":1,"id":2,"ok":false,"error":{"code":"not_found","message":"m","x":1}}',
  );
  assertEquals(e, {
    ok: false,
    id: 2,
    error: { code: "not_found", message: "m", details: { x: 1 } },
  });
  const odd = parseReply('{"v":1,"id":2,"ok":false,"error":{"code":"weird"}}');
  assert(!odd.ok);
  assertEquals(odd.error.code, "internal_error");
  assertThrows(() => parseReply("nope"), ProtocolError, "not JSON");
  assertThrows(() => parseReply("[]"), ProtocolError, "not a JSON object");
  assertThrows(() => parseReply('{"v":2,"ok":true}'), ProtocolError, "version");
  assertThrows(() => parseReply('{"v":1,"id":1}'), ProtocolError, "neither");
});

Deno.test("LineReader joins chunks, splits lines and drops a CR before the newline", () => {
  const r = new LineReader();
  assertEquals(r.push(enc.encode('{"a"')).lines.length, 0);
  assertEquals(r.buffered, 4);
  const out = r.push(enc.encode(':1}\r\n{"b":2}\n{"c"'));
  assertEquals(out.lines.map((l) => new TextDecoder().decode(l)), ['{"a":1}', '{"b":2}']);
  assertEquals(out.overflow, false);
  assertEquals(new TextDecoder().decode(r.end()), '{"c"');
  assertEquals(r.end(), undefined);
});

Deno.test("LineReader reports overflow for too many bytes without a newline", () => {
  const r = new LineReader(10);
  assertEquals(r.push(enc.encode("12345")).overflow, false);
  assertEquals(r.push(enc.encode("678901")).overflow, true);
  assertEquals(r.buffered, 0);
  // A complete but over-long line overflows too; the short line before it still counts.
  const r2 = new LineReader(10);
  const out = r2.push(enc.encode("ok\n" + "x".repeat(11) + "\n"));
  assertEquals(out.lines.length, 1);
  assertEquals(out.overflow, true);
  // Exactly the cap is fine.
  assertEquals(new LineReader(10).push(enc.encode("x".repeat(10) + "\n")).lines.length, 1);
});
