/**
 * The request bytes of HTTP_GET/SSL_GET and genhash (spec/lvs.md §2.5.1): request line,
 * `User-Agent: KeepAliveClient`, `Connection: close` for 1.0C and 1.1, and the Host header
 * (the virtual host, else `IP:port` with IPv6 in brackets). Pure; it must not do I/O.
 */

/** `http_protocol` values: 1.0, 1.0 with `Connection: close`, 1.1. */
export type HttpProtocol = "1.0" | "1.0C" | "1.1";

/** The user agent keepalived's checkers and genhash send. */
export const USER_AGENT = "KeepAliveClient";

/** Parse `1.0`, `1.0c`/`1.0C` or `1.1`; undefined for anything else. */
export function parseHttpProtocol(text: string): HttpProtocol | undefined {
  switch (text) {
    case "1.0":
      return "1.0";
    case "1.0c":
    case "1.0C":
      return "1.0C";
    case "1.1":
      return "1.1";
    default:
      return undefined;
  }
}

/**
 * The Host header value: the virtual host as written (no port), else the destination
 * address and port, always with the port, IPv6 literals bracketed.
 */
export function hostHeader(address: string, port: number, virtualhost?: string): string {
  if (virtualhost !== undefined) return virtualhost;
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

export interface HttpRequestSpec {
  /** Request target, sent verbatim. */
  readonly path: string;
  readonly protocol: HttpProtocol;
  /** Host header value (see `hostHeader`). */
  readonly host: string;
}

/** The request text, CRLF line ends, ending with the empty line. */
export function httpRequestText(spec: HttpRequestSpec): string {
  const minor = spec.protocol === "1.1" ? 1 : 0;
  const close = spec.protocol === "1.0" ? "" : "Connection: close\r\n";
  return `GET ${spec.path} HTTP/1.${minor}\r\n` +
    `User-Agent: ${USER_AGENT}\r\n` +
    close +
    `Host: ${spec.host}\r\n` +
    "\r\n";
}

/** The request as bytes (UTF-8, which is what a command line argument arrives as). */
export function httpRequestBytes(spec: HttpRequestSpec): Uint8Array {
  return new TextEncoder().encode(httpRequestText(spec));
}
