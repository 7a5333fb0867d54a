/**
 * `kad genhash` and the `genhash` program name: fetch pages the way HTTP_GET/SSL_GET do and
 * print the digest keepalived's checker compares (spec/lvs.md §3, docs/genhash.md). Both
 * entry points share one option model and the engine in lib/check/; this file owns option
 * parsing (commander for `kad genhash`, a getopt_long-style parser for the `genhash` name),
 * name resolution and output formatting. It must not parse HTTP or touch sockets itself.
 */
import { errorText } from "../lib/runtime/error_text.ts";
import { writeStderr, writeStdout } from "../lib/runtime/output.ts";
import type { Command } from "@commander-js/extra-typings";
import { lookup } from "node:dns/promises";
import { digestHex } from "../lib/check/digest.ts";
import { hexDump } from "../lib/check/hexdump.ts";
import { httpFetch, type HttpFetchResult } from "../lib/check/http_fetch.ts";
import {
  hostHeader,
  type HttpProtocol,
  httpRequestBytes,
  parseHttpProtocol,
} from "../lib/check/http_request.ts";
import {
  HEADER_BUFFER_SIZE,
  HttpResponseReader,
  type HttpResponseSummary,
} from "../lib/check/http_response.ts";
import { formatIp, type IpAddress, parseIp } from "../lib/net/ipaddr.ts";
import { basename, invokedPath } from "../lib/runtime/invocation.ts";

/** Exit status: every URL gave a digest. */
export const EXIT_OK = 0;
/** Exit status: bad command line (keepalived's too). */
export const EXIT_USAGE = 1;
/** Exit status: a URL failed (keepalived's genhash exits 0 here; docs/genhash.md). */
export const EXIT_FETCH_FAILED = 2;

/** keepalived's default timeout: UINT_MAX microseconds (spec/lvs.md §3.2). */
const DEFAULT_TIMEOUT_MS = 4294967.295;
const MAX_TIMEOUT_S = 4294;

export type GenhashOutput = "digest" | "json" | "config";

/** A validated command line. */
export interface GenhashOptions {
  /** `-s` as typed: an IP literal or a host name. */
  readonly server: string;
  readonly port: number;
  /** Every `-u`, in order. */
  readonly urls: readonly string[];
  readonly ssl: boolean;
  readonly sni: boolean;
  readonly virtualhost: string | undefined;
  readonly protocol: HttpProtocol;
  readonly timeoutMs: number;
  readonly fwmark: number;
  readonly verbose: boolean;
  readonly output: GenhashOutput;
}

/** Option values as either parser collected them, before validation. */
interface RawOptions {
  server?: string | undefined;
  port?: string | undefined;
  urls: string[];
  ssl: boolean;
  sni: boolean;
  virtualhost?: string | undefined;
  protocol?: string | undefined;
  timeout?: string | undefined;
  fwmark?: string | undefined;
  verbose: boolean;
  json: boolean;
  config: boolean;
}

/** A command line problem: reported with the usage text and exit status 1. */
export class GenhashUsageError extends Error {
  override name = "GenhashUsageError";
}

// strtoul-style unsigned decimal as keepalived accepts it: leading blanks, optional '+'.
const UNSIGNED = /^[ \t\n\v\f\r]*\+?([0-9]+)$/;

function parseUnsigned(text: string, max: number): number | undefined {
  const m = UNSIGNED.exec(text);
  if (!m) return undefined;
  const v = Number(m[1]);
  return v <= max ? v : undefined;
}

const HOST_LABEL = "[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?";
const HOST_NAME = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*\\.?$`);

/** Check the raw options; throws GenhashUsageError with a message naming the option. */
function validate(raw: RawOptions): GenhashOptions {
  if (raw.server === undefined) {
    throw new GenhashUsageError(
      "-s/--server is required: give the server's IP address or host name",
    );
  }
  if (
    parseIp(raw.server) === undefined && (raw.server.length > 253 || !HOST_NAME.test(raw.server))
  ) {
    throw new GenhashUsageError(`server '${raw.server}' is neither an IP address nor a host name`);
  }
  if (raw.port === undefined) throw new GenhashUsageError("-p/--port is required (1 to 65535)");
  const port = parseUnsigned(raw.port, 65535);
  if (port === undefined || port === 0) {
    throw new GenhashUsageError(`invalid port number '${raw.port}' (use 1 to 65535)`);
  }
  if (raw.urls.length === 0) {
    throw new GenhashUsageError(
      "-u/--url is required: give the path to fetch, e.g. -u /index.html",
    );
  }
  let protocol: HttpProtocol = "1.0";
  if (raw.protocol !== undefined) {
    const p = parseHttpProtocol(raw.protocol);
    if (p === undefined) {
      throw new GenhashUsageError(
        `invalid HTTP protocol version '${raw.protocol}' (use 1.0, 1.0c or 1.1)`,
      );
    }
    protocol = p;
  }
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (raw.timeout !== undefined) {
    const t = parseUnsigned(raw.timeout, MAX_TIMEOUT_S);
    if (t === undefined || t === 0) {
      throw new GenhashUsageError(
        `invalid timeout '${raw.timeout}' (use whole seconds from 1 to ${MAX_TIMEOUT_S})`,
      );
    }
    timeoutMs = t * 1000;
  }
  let fwmark = 0;
  if (raw.fwmark !== undefined) {
    const m = parseUnsigned(raw.fwmark, 0xffffffff);
    if (m === undefined) {
      throw new GenhashUsageError(`invalid fwmark '${raw.fwmark}' (use 0 to 4294967295)`);
    }
    fwmark = m;
  }
  if (raw.json && raw.config) {
    throw new GenhashUsageError("--json and --config cannot be used together");
  }
  if (raw.verbose && (raw.json || raw.config)) {
    throw new GenhashUsageError(
      `-v/--verbose cannot be used with --${
        raw.json ? "json" : "config"
      }: the dumps would mix with that output`,
    );
  }
  return {
    server: raw.server,
    port,
    urls: raw.urls,
    ssl: raw.ssl,
    sni: raw.sni,
    virtualhost: raw.virtualhost,
    protocol,
    timeoutMs,
    fwmark,
    verbose: raw.verbose,
    output: raw.json ? "json" : raw.config ? "config" : "digest",
  };
}

/** Where genhash writes; tests capture it. */
export interface GenhashIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** The process's stdout and stderr, written synchronously so the two stay in order. */
export const processIo: GenhashIo = {
  out: writeStdout,
  err: writeStderr,
};

const banner = (title: string) => `-----------------------[${title}]-----------------------\n`;
const BANNER_HEADER = banner("    HTTP Header Buffer    ");
const BANNER_HEADER_ASCII = banner(" HTTP Header Ascii Buffer ");
const BANNER_BODY = banner("        HTML Buffer        ");
const BANNER_HASH = banner("    HTML hash resulting    ");
const BANNER_HASH_FINAL = banner(" HTML hash final resulting ");

/** keepalived's message when the response never completed a header (stderr). */
export const NO_DATA_MESSAGE = "no data received from remote webserver";

/**
 * genhash's message for a failed attempt, worded as keepalived 2.2.7 prints it. "eof" here
 * means the peer closed before a complete header: plain HTTP says "no data" (on stderr);
 * over TLS 2.2.7 says "SSL read error from" after a close_notify, which is what kad assumes
 * (Deno's TLS does not tell whether close_notify arrived; docs/genhash.md).
 */
export function failureMessage(res: HttpFetchResult, ssl: boolean): string {
  switch (res.outcome) {
    case "eof":
      return ssl ? "SSL read error from" : NO_DATA_MESSAGE;
    case "connect-timeout":
      return "Timeout connecting";
    case "connect-failed":
      return "Connection failed";
    case "net-unreachable":
      return "HTTP_CHECK - network unreachable";
    case "connect-error":
      return "Error connecting";
    case "tls-error":
      return "SSL handshake/communication error connecting to";
    case "send-error":
      return "Cannot send get request to";
    case "send-timeout":
      return "Timeout WEB write";
    case "read-timeout":
      if (ssl) return "Timeout SSL read";
      return res.bytesReceived === 0 ? "Timeout WEB read" : "Timeout HTTP read";
    case "read-error":
      return ssl ? "SSL read error from" : "Read error with";
  }
}

/** One URL's result. */
interface UrlResult {
  readonly url: string;
  readonly fetch: HttpFetchResult;
  readonly response: HttpResponseSummary;
  readonly timeUs: number;
}

const latin1 = new TextDecoder("latin1");

/**
 * A gap between chunks longer than this means no data was waiting, so a keepalived read
 * would have returned early (see KeepalivedReads).
 */
const READ_PAUSE_MS = 5;

/**
 * Re-cuts body bytes into the pieces keepalived's reads of at most HEADER_BUFFER_SIZE bytes
 * return, for `-v` (each read gets its own dump, offsets restarting at 0000). A read is
 * full unless the data ran out: the caller flushes the open read when the stream pauses.
 */
class KeepalivedReads {
  #open: Uint8Array[] = [];
  #length = 0;

  /** Add received bytes; returns the reads they completed. */
  push(bytes: Uint8Array): Uint8Array[] {
    const done: Uint8Array[] = [];
    for (let at = 0; at < bytes.length;) {
      const take = Math.min(HEADER_BUFFER_SIZE - this.#length, bytes.length - at);
      // A copy: the engine reuses its read buffer.
      this.#open.push(bytes.slice(at, at + take));
      this.#length += take;
      at += take;
      if (this.#length === HEADER_BUFFER_SIZE) done.push(this.#close());
    }
    return done;
  }

  /** The read still open, if any. */
  flush(): Uint8Array[] {
    return this.#length > 0 ? [this.#close()] : [];
  }

  #close(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const part of this.#open) {
      out.set(part, at);
      at += part.length;
    }
    this.#open = [];
    this.#length = 0;
    return out;
  }
}

/** Fetch one URL, printing keepalived's `-v` dumps as the bytes arrive when verbose. */
async function fetchUrl(
  o: GenhashOptions,
  address: IpAddress,
  url: string,
  io: GenhashIo,
): Promise<UrlResult> {
  const reader = new HttpResponseReader();
  const request = httpRequestBytes({
    path: url,
    protocol: o.protocol,
    host: hostHeader(formatIp(address), o.port, o.virtualhost),
  });
  let headerSeen = false;
  const reads = new KeepalivedReads();
  let lastData = 0;
  const onData = (chunk: Uint8Array): boolean => {
    if (!o.verbose) return !reader.push(chunk).stop;
    // A pause before this chunk means the socket ran dry: keepalived's read ended there.
    const now = performance.now();
    let text = lastData > 0 && now - lastData > READ_PAUSE_MS
      ? reads.flush().map(hexDump).join("")
      : "";
    if (!headerSeen) text += BANNER_HEADER;
    const r = reader.push(chunk);
    let body = r.body;
    if (r.header !== undefined) {
      headerSeen = true;
      text += hexDump(r.header) + BANNER_HEADER_ASCII + latin1.decode(r.header) + "\n";
      const first = body.subarray(0, r.bodyInHeaderRead);
      if (first.length > 0) text += BANNER_BODY + hexDump(first);
      body = body.subarray(first.length);
    }
    for (const piece of reads.push(body)) text += hexDump(piece);
    if (text !== "") io.out(text);
    lastData = performance.now();
    return !r.stop;
  };
  const t0 = performance.now();
  const fetch = await httpFetch({
    address,
    port: o.port,
    tls: o.ssl ? { servername: o.sni ? o.virtualhost : undefined } : undefined,
    fwmark: o.fwmark,
    connectTimeoutMs: o.timeoutMs,
    readTimeoutMs: o.timeoutMs,
    request,
    onData,
  });
  if (o.verbose) {
    const rest = reads.flush().map(hexDump).join("");
    if (rest !== "") io.out(rest);
  }
  const response = reader.finish();
  const timeUs = Math.round((performance.now() - t0) * 1000);
  return { url, fetch, response, timeUs };
}

function succeeded(r: UrlResult): boolean {
  return r.fetch.outcome === "eof" && r.response.headerFound;
}

/** The message of a failed URL, with kad's detail for errors keepalived leaves unexplained. */
function describeFailure(r: UrlResult, ssl: boolean): string {
  // A header too long for the buffer ends reading as "no data", over TLS too.
  if (r.fetch.outcome === "eof" && r.response.overflow) return NO_DATA_MESSAGE;
  const msg = failureMessage(r.fetch, ssl);
  return r.fetch.outcome === "connect-error" && r.fetch.detail !== undefined
    ? `${msg}: ${r.fetch.detail}`
    : msg;
}

/** The result line (digest or message) and whether keepalived writes it to stderr. */
function resultLine(
  r: UrlResult,
  o: GenhashOptions,
): { readonly text: string; readonly stderr: boolean } {
  if (succeeded(r)) {
    return { text: digestHex(r.response.digest ?? new Uint8Array(16)), stderr: false };
  }
  const noData = r.fetch.outcome === "eof" && (!o.ssl || r.response.overflow);
  return { text: describeFailure(r, o.ssl), stderr: noData };
}

function printVerboseEnd(r: UrlResult, o: GenhashOptions, io: GenhashIo): void {
  // keepalived 2.2.7 skips the digest dumps when a TLS read stops on a full header buffer.
  if (r.fetch.outcome === "eof" && !(o.ssl && r.response.overflow)) {
    io.out(
      "\n" + BANNER_HASH + hexDump(r.response.digest ?? new Uint8Array(16)) + BANNER_HASH_FINAL,
    );
  }
  const line = resultLine(r, o);
  (line.stderr ? io.err : io.out)(line.text + "\n");
  io.out(`\nGlobal response time for [${r.url}] = ${r.timeUs} usecs\n`);
}

/** keepalived's output: the digest line, or the failure message where keepalived puts it. */
function printPlain(r: UrlResult, o: GenhashOptions, io: GenhashIo, several: boolean): void {
  const line = resultLine(r, o);
  (line.stderr ? io.err : io.out)(line.text + (several ? `  ${r.url}` : "") + "\n");
}

function jsonLine(r: UrlResult, o: GenhashOptions, address: IpAddress): string {
  const ok = succeeded(r);
  return JSON.stringify({
    url: r.url,
    server: formatIp(address),
    port: o.port,
    tls: o.ssl,
    digest: ok ? digestHex(r.response.digest ?? new Uint8Array(16)) : null,
    status: r.response.headerFound ? r.response.status : null,
    contentLength: r.response.contentLength ?? null,
    headerBytes: r.response.header?.length ?? 0,
    bodyBytes: r.response.bodyBytes,
    hashedBytes: r.response.hashedBytes,
    timeUs: r.timeUs,
    error: ok ? null : describeFailure(r, o.ssl),
  }) + "\n";
}

function configWord(text: string): string {
  return /^[^\s"#!{}]+$/.test(text) ? text : `"${text}"`;
}

/** A `url { … }` block for an HTTP_GET/SSL_GET section (spec/lvs.md §2.5). */
function configBlock(r: UrlResult, o: GenhashOptions): string {
  if (!succeeded(r)) return `# ${r.url}: ${describeFailure(r, o.ssl)}\n`;
  const lines = [`url {`, `    path ${configWord(r.url)}`];
  lines.push(`    digest ${digestHex(r.response.digest ?? new Uint8Array(16))}`);
  const status = r.response.status;
  if (status === 0) {
    lines.push("    # the status line has no valid status code: HTTP_GET will fail this URL");
  } else if (status < 200 || status > 299) lines.push(`    status_code ${status}`);
  if (o.virtualhost !== undefined) lines.push(`    virtualhost ${configWord(o.virtualhost)}`);
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** Resolve `-s`: an IP literal as is, else a host name through the system resolver. */
async function resolveServer(server: string, timeoutMs: number): Promise<IpAddress> {
  const literal = parseIp(server);
  if (literal !== undefined) return literal;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), timeoutMs);
  });
  try {
    const { address } = await Promise.race([lookup(server), timeout]);
    const ip = parseIp(address);
    if (ip === undefined) throw new Error(`resolver returned '${address}'`);
    return ip;
  } catch (e) {
    const code = typeof e === "object" && e !== null && "code" in e ? String(e.code) : "";
    const why = code === "ENOTFOUND" ? "no such host" : errorText(e);
    throw new Error(`cannot resolve server '${server}': ${why}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Run a validated command line; returns the exit status. */
export async function runGenhash(o: GenhashOptions, io: GenhashIo = processIo): Promise<number> {
  let address: IpAddress;
  try {
    address = await resolveServer(o.server, o.timeoutMs);
  } catch (e) {
    const msg = errorText(e);
    if (o.output === "json") {
      for (const url of o.urls) {
        io.out(JSON.stringify({ url, server: o.server, port: o.port, error: msg }) + "\n");
      }
    }
    io.err(msg + "\n");
    return EXIT_FETCH_FAILED;
  }
  let status = EXIT_OK;
  const several = o.urls.length > 1;
  for (const url of o.urls) {
    const r = await fetchUrl(o, address, url, io);
    if (!succeeded(r)) status = EXIT_FETCH_FAILED;
    if (o.verbose) printVerboseEnd(r, o, io);
    else if (o.output === "json") io.out(jsonLine(r, o, address));
    else if (o.output === "config") io.out(configBlock(r, o));
    else printPlain(r, o, io, several);
  }
  return status;
}

// ---------------------------------------------------------------------------------------
// `kad genhash` (commander)

const EXIT_HELP = "\nExit status: 0 every URL gave a digest, 1 bad command line, 2 a URL failed\n" +
  "(keepalived's genhash exits 0 there). See docs/genhash.md.";

/**
 * Let `kad genhash` own every option after its name. The program's options are otherwise
 * recognised anywhere on the line, and its `-v` (version) would swallow genhash's `-v`
 * (verbose); other subcommands keep the usual behaviour.
 */
function routeOptionsAfterGenhash(program: Command): void {
  const parse = program.parseOptions.bind(program);
  program.parseOptions = (args: string[]) => {
    let i = 0;
    for (; i < args.length; i++) {
      const arg = args[i] as string;
      if (arg === "--" || !arg.startsWith("-") || arg === "-") break;
      const opt = program.options.find((op) => op.short === arg || op.long === arg);
      if (opt !== undefined && (opt.required || opt.optional)) i++;
    }
    if (args[i] !== "genhash") return parse(args);
    const head = parse(args.slice(0, i));
    return {
      operands: [...head.operands, "genhash"],
      unknown: [...head.unknown, ...args.slice(i + 1)],
    };
  };
}

/** Register `kad genhash`; `exit` receives the exit status of a run. */
export function registerGenhash(program: Command, exit: (code: number) => void): void {
  routeOptionsAfterGenhash(program);
  program
    .command("genhash")
    .description(
      "print the MD5 digest of a web page exactly as keepalived's HTTP_GET/SSL_GET checkers compute it (keepalived's genhash)",
    )
    .option("-s, --server <ADDRESS>", "server IP address (kad also resolves a host name)")
    .option("-p, --port <PORT>", "server TCP port, 1 to 65535")
    .option(
      "-u, --url <PATH>",
      "path to fetch, sent as is; repeat to fetch several (one line each)",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option("-S, --use-ssl", "connect with TLS (no certificate verification, like SSL_GET)")
    .option("-I, --use-sni", "send the -V name as SNI in the TLS handshake")
    .option("-V, --use-virtualhost <NAME>", "Host header value (default: IP:port)")
    .option(
      "-P, --protocol <VERSION>",
      "HTTP version: 1.0 (default), 1.0c (1.0 with Connection: close) or 1.1",
    )
    .option(
      "-t, --timeout <SECONDS>",
      `connect and read timeout in whole seconds, 1 to ${MAX_TIMEOUT_S}`,
    )
    .option("-m, --fwmark <MARK>", "firewall mark (SO_MARK) for the connection, 0 to 4294967295")
    .option(
      "-v, --verbose",
      "print hex dumps of the header, body and digest, and the response time",
    )
    .option("--json", "print one JSON object per URL: digest, status, byte counts, time")
    .option("--config", "print url { path …; digest … } blocks to paste into keepalived.conf")
    .showHelpAfterError(true)
    .addHelpText("after", EXIT_HELP)
    .action(async (opts, cmd) => {
      let o: GenhashOptions;
      try {
        o = validate({
          server: opts.server,
          port: opts.port,
          urls: opts.url ?? [],
          ssl: opts.useSsl ?? false,
          sni: opts.useSni ?? false,
          virtualhost: opts.useVirtualhost,
          protocol: opts.protocol,
          timeout: opts.timeout,
          fwmark: opts.fwmark,
          verbose: opts.verbose ?? false,
          json: opts.json ?? false,
          config: opts.config ?? false,
        });
      } catch (e) {
        if (!(e instanceof GenhashUsageError)) throw e;
        return cmd.error(`error: ${e.message}`, {
          exitCode: EXIT_USAGE,
          code: "kad.genhash.usage",
        });
      }
      exit(await runGenhash(o));
    });
}

// ---------------------------------------------------------------------------------------
// The `genhash` program name: keepalived's command line (getopt_long rules)

interface OptSpec {
  readonly short?: string;
  readonly long: string;
  readonly arg: boolean;
  readonly help: string;
  /** A continuation line under the option's help. */
  readonly more?: string;
}

/** In keepalived's usage order; `--json` and `--config` are kad's. */
const OPTION_SPECS: readonly OptSpec[] = [
  {
    short: "S",
    long: "use-ssl",
    arg: false,
    help: "Connect with TLS (no certificate verification).",
  },
  {
    short: "I",
    long: "use-sni",
    arg: false,
    help: "Send the -V name as SNI in the TLS handshake.",
  },
  {
    short: "s",
    long: "server",
    arg: true,
    help: "Server IP address (kad also resolves a host name).",
  },
  { short: "p", long: "port", arg: true, help: "Server TCP port." },
  {
    short: "u",
    long: "url",
    arg: true,
    help: "Path to fetch, sent as is; repeat to fetch several.",
  },
  { short: "V", long: "use-virtualhost", arg: true, help: "Host header value (default: IP:port)." },
  {
    short: "v",
    long: "verbose",
    arg: false,
    help: "Print hex dumps of header, body and digest, and the time.",
  },
  { short: "h", long: "help", arg: false, help: "Print this help; exit status 1, as keepalived." },
  { short: "m", long: "fwmark", arg: true, help: "Firewall mark (SO_MARK) for the connection." },
  {
    short: "P",
    long: "protocol",
    arg: true,
    help: "HTTP version: '1.0' (default), '1.0c' or '1.1'.",
    more: "1.0c is 1.0 with 'Connection: close'",
  },
  {
    short: "t",
    long: "timeout",
    arg: true,
    help: `Connect and read timeout, whole seconds (1 to ${MAX_TIMEOUT_S}).`,
  },
  { long: "json", arg: false, help: "kad: one JSON object per URL (digest, status, bytes, time)." },
  {
    long: "config",
    arg: false,
    help: "kad: print url { path ...; digest ... } blocks for keepalived.conf.",
  },
];

/** The usage text of the `genhash` name (stderr), laid out like keepalived's. */
export function genhashUsage(argv0: string): string {
  const lines = [
    `Usage: ${argv0} COMMAND [OPTIONS]`,
    "Commands:",
    "   -s server-address -p port -u url",
    "   -S -s server-address -p port -u url",
    "   -h",
    "",
    "Options:",
    "Long and short forms are equivalent.",
  ];
  for (const s of OPTION_SPECS) {
    const short = s.short !== undefined ? `-${s.short}` : "";
    lines.push(`   ${`--${s.long}`.padEnd(18)}${short.padEnd(9)}${s.help}`);
    if (s.more !== undefined) lines.push(`${" ".repeat(32)}${s.more}`);
  }
  lines.push(
    "",
    "Exit status: 0 every URL gave a digest, 1 bad command line, 2 a URL failed.",
  );
  return lines.join("\n") + "\n";
}

function applyOption(
  raw: RawOptions,
  spec: OptSpec,
  value: string | undefined,
): "help" | undefined {
  switch (spec.long) {
    case "use-ssl":
      raw.ssl = true;
      break;
    case "use-sni":
      raw.sni = true;
      break;
    case "server":
      raw.server = value;
      break;
    case "port":
      raw.port = value;
      break;
    case "url":
      if (value !== undefined) raw.urls.push(value);
      break;
    case "use-virtualhost":
      raw.virtualhost = value;
      break;
    case "verbose":
      raw.verbose = true;
      break;
    case "help":
      return "help";
    case "fwmark":
      raw.fwmark = value;
      break;
    case "protocol":
      raw.protocol = value;
      break;
    case "timeout":
      raw.timeout = value;
      break;
    case "json":
      raw.json = true;
      break;
    case "config":
      raw.config = true;
      break;
  }
  return undefined;
}

function findLong(name: string): OptSpec {
  const exact = OPTION_SPECS.find((s) => s.long === name);
  if (exact !== undefined) return exact;
  // getopt_long accepts any unambiguous prefix of a long option.
  const matches = OPTION_SPECS.filter((s) => s.long.startsWith(name));
  if (matches.length === 1) return matches[0] as OptSpec;
  if (matches.length > 1) {
    throw new GenhashUsageError(
      `Ambiguous option --${name} (could be ${matches.map((s) => `--${s.long}`).join(", ")})`,
    );
  }
  throw new GenhashUsageError(`Unknown option --${name}`);
}

/**
 * Parse keepalived's genhash command line (getopt_long rules: clustered short flags,
 * attached or separate values, `--name=value`, unambiguous long prefixes, `--` ends the
 * options, operands anywhere are an error). Returns "help" for -h.
 */
export function parseGenhashArgv(argv: readonly string[]): GenhashOptions | "help" {
  const raw: RawOptions = {
    urls: [],
    ssl: false,
    sni: false,
    verbose: false,
    json: false,
    config: false,
  };
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const spec = findLong(eq < 0 ? arg.slice(2) : arg.slice(2, eq));
      let value: string | undefined;
      if (spec.arg) {
        if (eq >= 0) value = arg.slice(eq + 1);
        else if (i + 1 < argv.length) value = argv[++i];
        else throw new GenhashUsageError(`Missing parameter for option --${spec.long}`);
      } else if (eq >= 0) {
        throw new GenhashUsageError(
          `Option --${spec.long} takes no value (got '${arg.slice(eq + 1)}')`,
        );
      }
      if (applyOption(raw, spec, value) === "help") return "help";
      continue;
    }
    if (!arg.startsWith("-") || arg === "-") {
      operands.push(arg);
      continue;
    }
    for (let j = 1; j < arg.length; j++) {
      const c = arg[j] as string;
      const spec = OPTION_SPECS.find((s) => s.short === c);
      if (spec === undefined) throw new GenhashUsageError(`Unknown option -${c}`);
      let value: string | undefined;
      if (spec.arg) {
        if (j + 1 < arg.length) value = arg.slice(j + 1);
        else if (i + 1 < argv.length) value = argv[++i];
        else throw new GenhashUsageError(`Missing parameter for option -${c}`);
        j = arg.length;
      }
      if (applyOption(raw, spec, value) === "help") return "help";
    }
  }
  if (operands.length > 0) {
    throw new GenhashUsageError(`Unexpected argument(s): ${operands.join(" ")}`);
  }
  return validate(raw);
}

/** Run keepalived's `genhash` command line; returns the exit status. */
export async function runGenhashArgv(
  argv: readonly string[],
  io: GenhashIo = processIo,
): Promise<number> {
  const path = invokedPath();
  const argv0 = basename(path) === "genhash" ? path : "genhash";
  let parsed: GenhashOptions | "help";
  try {
    parsed = parseGenhashArgv(argv);
  } catch (e) {
    if (!(e instanceof GenhashUsageError)) throw e;
    io.err(`${e.message}\n${genhashUsage(argv0)}`);
    return EXIT_USAGE;
  }
  if (parsed === "help") {
    io.err(genhashUsage(argv0));
    return EXIT_USAGE;
  }
  return await runGenhash(parsed, io);
}
