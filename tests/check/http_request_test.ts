import { assertEquals } from "../_assert.ts";
import {
  hostHeader,
  httpRequestBytes,
  httpRequestText,
  parseHttpProtocol,
} from "../../lib/check/http_request.ts";

Deno.test("the HTTP/1.0 request carries User-Agent and Host with IP:port, no Connection header", () => {
  assertEquals(
    httpRequestText({ path: "/plain", protocol: "1.0", host: hostHeader("127.0.0.1", 18080) }),
    "GET /plain HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:18080\r\n\r\n",
  );
});

Deno.test("1.1 and 1.0C add Connection: close; IPv6 hosts are bracketed; port always present", () => {
  assertEquals(
    httpRequestText({ path: "/plain", protocol: "1.1", host: hostHeader("::1", 18080) }),
    "GET /plain HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [::1]:18080\r\n\r\n",
  );
  assertEquals(
    httpRequestText({
      path: "/plain",
      protocol: "1.0C",
      host: hostHeader("127.0.0.1", 80, "www.example.com"),
    }),
    "GET /plain HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.com\r\n\r\n",
  );
  assertEquals(hostHeader("192.0.2.1", 80), "192.0.2.1:80");
  assertEquals(hostHeader("192.0.2.1", 443, ""), "");
});

Deno.test("the path is sent verbatim, as UTF-8 bytes", () => {
  const bytes = httpRequestBytes({ path: "/a b?q=é", protocol: "1.0", host: "h" });
  assertEquals(
    new TextDecoder().decode(bytes),
    "GET /a b?q=é HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: h\r\n\r\n",
  );
  // "é" is two bytes on the wire.
  assertEquals(bytes.length, 64);
});

Deno.test("parseHttpProtocol accepts 1.0, 1.0c, 1.0C and 1.1 only", () => {
  assertEquals(parseHttpProtocol("1.0"), "1.0");
  assertEquals(parseHttpProtocol("1.0c"), "1.0C");
  assertEquals(parseHttpProtocol("1.0C"), "1.0C");
  assertEquals(parseHttpProtocol("1.1"), "1.1");
  for (const bad of ["", "1", "1.0k", "2.0", "1.1c", " 1.0", "HTTP/1.0"]) {
    assertEquals(parseHttpProtocol(bad), undefined, bad);
  }
});
