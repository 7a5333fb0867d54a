/**
 * The health-checker blocks of a real_server (spec/lvs.md §2): TCP_CHECK, HTTP_GET,
 * SSL_GET (with `url { … }`), SMTP_CHECK (with the deprecated `host { … }`), DNS_CHECK,
 * MISC_CHECK, UDP_CHECK, PING_CHECK, FILE_CHECK and BFD_CHECK, with the common connection
 * and scheduling keywords of §2.1 and the per-type defaults of §2.2.
 *
 * Block-local rules (a url needs a path, a regex must compile) live here; inheritance
 * from the real and virtual server is lib/config/schema/lvs_normalise.ts. Nothing here
 * runs a check.
 */
import {
  type BlockMeta,
  blocks,
  defineBlock,
  type InferSchema,
  optional,
  type ValidateContext,
  value,
} from "../schema.ts";
import {
  flag,
  ifname,
  int,
  ip,
  oneOf,
  optBool,
  script,
  seconds,
  text,
  UINT32_MAX,
  unnamed,
  word,
  wordList,
} from "../types.ts";
import {
  DNS_TYPES,
  dnsName,
  hexString,
  httpProtocol,
  INT32_MAX,
  md5Digest,
  optionalWord,
  reversibleWeight,
  runAs,
  statusCodes,
} from "./lvs_types.ts";
import { BFD_NAME_MAX } from "./bfd.ts";
import { keepIf } from "./lvs_normalise.ts";

/** Upper bound of kad's polling timers (keepalived's is larger than any useful value). */
export const TIMER_MAX_S = 4294967295;
/** The longest connect_timeout: 4294.967295 s (spec/lvs.md §1.4). */
export const CONNECT_TIMEOUT_MAX_S = 4294.967295;
export const DEFAULT_DELAY_LOOP_US = 60_000_000;
export const DEFAULT_CONNECT_TIMEOUT_US = 5_000_000;

/** A timer that must be positive (delay_loop). */
export const positiveTimer = seconds(0.000001, TIMER_MAX_S);
/** A timer that may be zero (delay_before_retry, warmup). */
export const timer = seconds(0, TIMER_MAX_S);
export const connectTimeout = seconds(0.000001, CONNECT_TIMEOUT_MAX_S);

/** Connection keywords (spec/lvs.md §2.1): every checker but MISC, FILE and BFD. */
export const connectionFields = {
  connect_ip: optional(ip(), { doc: "address to check (default: the real server's)" }),
  connect_port: optional(int(1, 65535), { doc: "port to check (default: the real server's)" }),
  bindto: optional(ip(), { doc: "source address of the check" }),
  bind_port: optional(int(1, 65535), { doc: "source port of the check" }),
  bind_if: optional(ifname, {
    doc: "interface to send the check from (needed for IPv6 link-local targets)",
  }),
  connect_timeout: value(connectTimeout, DEFAULT_CONNECT_TIMEOUT_US, {
    doc: "seconds to wait for the connection and each reply (default: the real server's)",
  }),
  fwmark: value(int(0, UINT32_MAX), 0, {
    doc: "firewall mark set on the check's socket (0: none)",
  }),
};

/**
 * Scheduling keywords (spec/lvs.md §2.1) with the type's defaults (§2.2). delay_loop,
 * warmup and alpha are replaced by the inherited values when not written.
 */
function schedulingFields(retry: number, delayBeforeRetryUs: number, dbrDoc: string) {
  return {
    retry: value(int(0, UINT32_MAX), retry, {
      doc: `failed attempts retried before the check fails (default: real server's, else ${retry})`,
    }),
    delay_before_retry: value(timer, delayBeforeRetryUs, {
      doc: `seconds between retries (default: real server's, else ${dbrDoc})`,
    }),
    warmup: value(timer, DEFAULT_DELAY_LOOP_US, {
      doc: "maximum random delay before the first check (default: real server's, else delay_loop)",
    }),
    delay_loop: value(positiveTimer, DEFAULT_DELAY_LOOP_US, {
      doc: "seconds between checks (default: real server's, else virtual server's, else 60)",
    }),
    alpha: value(optBool, false, { doc: "start in the failed state (default: real server's)" }),
    log_all_failures: value(optBool, false, {
      doc: "log every failure while up (default: global checker_log_all_failures)",
    }),
  };
}

// ---- HTTP_GET / SSL_GET (spec/lvs.md §2.5) ----

/** PCRE2 option names keepalived accepts in `regex_options`. */
export const REGEX_OPTIONS = [
  "allow_empty_class",
  "alt_bsux",
  "auto_callout",
  "caseless",
  "dollar_endonly",
  "dotall",
  "dupnames",
  "extended",
  "firstline",
  "match_unset_backref",
  "multiline",
  "never_ucp",
  "never_utf",
  "no_auto_capture",
  "no_auto_possess",
  "no_dotstar_anchor",
  "no_start_optimize",
  "ucp",
  "ungreedy",
  "utf",
  "never_backslash_c",
  "alt_circumflex",
  "alt_verbnames",
  "use_offset_limit",
] as const;

/** The PCRE2 options that map onto JavaScript RegExp flags. */
const REGEX_FLAG: Readonly<Record<string, string>> = {
  caseless: "i",
  multiline: "m",
  dotall: "s",
  utf: "u",
};

/**
 * PCRE2 options that only tune matching speed or forbid constructs; JavaScript patterns
 * behave the same without them.
 */
const REGEX_NEUTRAL = new Set([
  "auto_callout",
  "no_auto_possess",
  "no_dotstar_anchor",
  "no_start_optimize",
  "never_ucp",
  "never_utf",
  "never_backslash_c",
  "alt_verbnames",
  "use_offset_limit",
]);

function flagOf(option: string): string | undefined {
  return Object.hasOwn(REGEX_FLAG, option) ? REGEX_FLAG[option] : undefined;
}

/** The JavaScript RegExp flags for a url's `regex_options`. */
export function regexFlags(options: readonly string[]): string {
  const flags = new Set(options.map(flagOf).filter((f) => f !== undefined));
  return [...flags].sort().join("");
}

function urlSchema(ssl: boolean) {
  return defineBlock({
    name: "url",
    fields: {
      path: optional(word({ what: "path" }), { doc: "request target, sent verbatim (required)" }),
      digest: optional(md5Digest, { doc: "MD5 of the response body (as printed by genhash)" }),
      status_code: value(statusCodes, [{ from: 200, to: 299 }], {
        doc: "accepted status codes and ranges (default 200-299)",
      }),
      virtualhost: optional(word({ what: "host name" }), { doc: "Host header for this url" }),
      regex: optional(text("regular expression"), { doc: "pattern the body must match" }),
      regex_no_match: value(flag, false, { doc: "fail when the body matches the regex instead" }),
      regex_options: value(wordList("option names"), [], {
        doc: "caseless, multiline, dotall, utf (other PCRE2 names are accepted)",
      }),
      regex_min_offset: value(int(0, UINT32_MAX), 0, {
        doc: "earliest body offset a match may start at",
      }),
      regex_max_offset: optional(int(0, UINT32_MAX), {
        doc: "latest body offset a match may start at",
      }),
      ...(ssl ? { tls_compliant: value(optBool, false, { doc: "send TLS close_notify" }) } : {}),
    },
    ignored: { regex_stack: "PCRE2 JIT stack sizes do not apply to kad's regular expressions" },
    validate(u, ctx) {
      for (let i = 0; i < u.regex_options.length; i++) {
        const o = u.regex_options[i] as string;
        if (!(REGEX_OPTIONS as readonly string[]).includes(o)) {
          ctx.sink.warn(
            `regex_options '${o}' is not a known option and is ignored; known: ${
              REGEX_OPTIONS.join(", ")
            }`,
            ctx.at(u, "regex_options"),
            "regex_options",
          );
        } else if (flagOf(o) === undefined && !REGEX_NEUTRAL.has(o)) {
          ctx.sink.warn(
            `regex_options '${o}' has no equivalent in kad's regular expressions and is ignored`,
            ctx.at(u, "regex_options"),
            "regex_options",
          );
        }
      }
      if (u.regex !== undefined) {
        try {
          new RegExp(u.regex, regexFlags(u.regex_options));
        } catch (e) {
          ctx.sink.error(
            `regex '${u.regex}' cannot be used: ${
              (e as Error).message
            }; kad uses JavaScript regular expressions, so rewrite PCRE-only syntax`,
            ctx.at(u, "regex"),
            "regex",
          );
          u.regex = undefined;
        }
      }
      if (u.regex_max_offset !== undefined && u.regex_max_offset < u.regex_min_offset) {
        ctx.sink.error(
          `regex_max_offset ${u.regex_max_offset} is below regex_min_offset ${u.regex_min_offset}; no match could ever start`,
          ctx.at(u, "regex_max_offset"),
          "regex_max_offset",
        );
      }
    },
  });
}

export const httpUrl = urlSchema(false);
export const sslUrl = urlSchema(true);

function httpFields(ssl: boolean) {
  return {
    ...connectionFields,
    ...schedulingFields(1, 3_000_000, "3"),
    url: blocks(ssl ? sslUrl : httpUrl, unnamed, { doc: "a url to request (at least one)" }),
    virtualhost: optional(word({ what: "host name" }), {
      doc: "Host header (default: real server's)",
    }),
    http_protocol: value(httpProtocol, "1.0", {
      doc: "1.0, 1.0C (1.0 with Connection: close) or 1.1",
    }),
    enable_sni: value(optBool, false, { doc: "send TLS SNI (SSL_GET)" }),
    sni_name: optional(optionalWord("name"), { doc: "TLS SNI name; also enables SNI" }),
    fast_recovery: value(optBool, false, { doc: "check urls back to back while recovering" }),
  };
}

/** Drop urls without a path, as keepalived does (spec/lvs.md §2.5). */
function dropUrlsWithoutPath<U extends { path?: string | undefined } & BlockMeta>(
  c: { url: U[] },
  ctx: ValidateContext,
): void {
  c.url = keepIf(c.url, (u) => {
    if (u.path !== undefined) return true;
    ctx.sink.error("url block has no 'path' and is ignored; add 'path /…'", u.$at, "url");
    return false;
  });
}

export const httpGet = defineBlock({
  name: "HTTP_GET",
  fields: httpFields(false),
  aliases: { nb_get_retry: "deprecated:retry" },
  validate: (c, ctx) => dropUrlsWithoutPath(c, ctx),
});

export const sslGet = defineBlock({
  name: "SSL_GET",
  fields: {
    ...httpFields(true),
    tls_compliant: value(optBool, false, { doc: "send TLS close_notify on shutdown" }),
  },
  aliases: { nb_get_retry: "deprecated:retry" },
  validate: (c, ctx) => dropUrlsWithoutPath(c, ctx),
});

// ---- the other checkers ----

export const tcpCheck = defineBlock({
  name: "TCP_CHECK",
  fields: { ...connectionFields, ...schedulingFields(1, 1_000_000, "1") },
});

export const smtpHost = defineBlock({ name: "host", fields: { ...connectionFields } });

export const smtpCheck = defineBlock({
  name: "SMTP_CHECK",
  fields: {
    ...connectionFields,
    ...schedulingFields(1, 1_000_000, "1"),
    helo_name: value(word({ what: "name" }), "smtpchecker.keepalived.org", {
      doc: "name sent with HELO",
    }),
    host: blocks(smtpHost, unnamed, {
      doc: "deprecated: another target, checked as its own SMTP_CHECK (see smtpTargets)",
    }),
  },
});

export const dnsCheck = defineBlock({
  name: "DNS_CHECK",
  fields: {
    ...connectionFields,
    ...schedulingFields(3, DEFAULT_DELAY_LOOP_US, "delay_loop"),
    type: value(oneOf(DNS_TYPES, { caseInsensitive: true }), "SOA", { doc: "query type" }),
    name: value(dnsName, ".", { doc: "name to query (default: the root)" }),
  },
});

export const miscCheck = defineBlock({
  name: "MISC_CHECK",
  fields: {
    ...schedulingFields(0, 1_000_000, "1"),
    misc_path: optional(script, { doc: "command to run; exit 0 means success (required)" }),
    misc_timeout: value(timer, 0, {
      doc: "seconds before the command is killed (0: the virtual server's delay_loop)",
    }),
    misc_dynamic: value(flag, false, { doc: "exit status 2 to 255 sets the weight to status - 2" }),
    user: optional(runAs, { doc: "user and group to run the command as" }),
  },
});

export const udpCheck = defineBlock({
  name: "UDP_CHECK",
  fields: {
    ...connectionFields,
    ...schedulingFields(1, 1_000_000, "1"),
    payload: optional(hexString(false, false), {
      doc: "datagram to send, in hex (default: 32 bytes of 'keepalived check - ')",
    }),
    require_reply: optional(hexString(true, true), {
      doc: "a reply is required; with hex, its start must match (x = any nibble)",
    }),
    min_reply_length: value(int(0, 65535), 0, { doc: "shortest acceptable reply" }),
    max_reply_length: value(int(0, 65535), 255, { doc: "longest acceptable reply" }),
  },
  validate(c, ctx) {
    if (c.require_reply !== undefined && c.min_reply_length > c.max_reply_length) {
      ctx.sink.error(
        `min_reply_length ${c.min_reply_length} is above max_reply_length ${c.max_reply_length}; no reply could pass`,
        ctx.at(c, "min_reply_length"),
        "min_reply_length",
      );
    }
  },
});

export const pingCheck = defineBlock({
  name: "PING_CHECK",
  fields: { ...connectionFields, ...schedulingFields(1, 1_000_000, "1") },
});

export const fileCheck = defineBlock({
  name: "FILE_CHECK",
  fields: {
    track_file: optional(word({ what: "track_file name" }), {
      doc: "name of a track_file block (required)",
    }),
    weight: optional(reversibleWeight(-INT32_MAX, INT32_MAX), {
      doc: "multiplier of the file's value (default: the track_file's weight)",
    }),
  },
});

export const bfdCheck = defineBlock({
  name: "BFD_CHECK",
  fields: {
    name: optional(word({ what: "bfd_instance name", maxLen: BFD_NAME_MAX }), {
      doc: "name of a bfd_instance (required)",
    }),
    alpha: value(optBool, false, { doc: "start in the failed state (default: real server's)" }),
  },
});

/** The checker fields of a real_server, by keyword. */
export const checkerFields = {
  TCP_CHECK: blocks(tcpCheck, unnamed, { doc: "TCP connect check" }),
  HTTP_GET: blocks(httpGet, unnamed, { doc: "HTTP GET check" }),
  SSL_GET: blocks(sslGet, unnamed, { doc: "HTTPS GET check" }),
  SMTP_CHECK: blocks(smtpCheck, unnamed, { doc: "SMTP HELO check" }),
  DNS_CHECK: blocks(dnsCheck, unnamed, { doc: "DNS query check (UDP)" }),
  MISC_CHECK: blocks(miscCheck, unnamed, { doc: "external command check" }),
  UDP_CHECK: blocks(udpCheck, unnamed, { doc: "UDP datagram check" }),
  PING_CHECK: blocks(pingCheck, unnamed, { doc: "ICMP echo check" }),
  FILE_CHECK: blocks(fileCheck, unnamed, { doc: "weight from a tracked file" }),
  BFD_CHECK: blocks(bfdCheck, unnamed, { doc: "state of a BFD session" }),
};

export type TcpCheck = InferSchema<typeof tcpCheck> & { header: null };
export type HttpCheck = InferSchema<typeof httpGet> & { header: null };
export type SslCheck = InferSchema<typeof sslGet> & { header: null };
export type SmtpCheck = InferSchema<typeof smtpCheck> & { header: null };
export type SmtpHost = InferSchema<typeof smtpHost> & { header: null };
export type DnsCheck = InferSchema<typeof dnsCheck> & { header: null };
export type MiscCheck = InferSchema<typeof miscCheck> & { header: null };
export type UdpCheck = InferSchema<typeof udpCheck> & { header: null };
export type PingCheck = InferSchema<typeof pingCheck> & { header: null };
export type FileCheck = InferSchema<typeof fileCheck> & { header: null };
export type BfdCheck = InferSchema<typeof bfdCheck> & { header: null };

/**
 * The targets an SMTP_CHECK probes (spec/lvs.md §2.7): the block's own connection
 * settings, then one per deprecated `host` block. When the block itself writes no
 * connection keyword, the first host takes its place.
 */
export function smtpTargets(c: SmtpCheck): Array<SmtpCheck | SmtpHost> {
  const ownConnection = Object.keys(connectionFields).some((k) => Object.hasOwn(c.$loc, k));
  if (c.host.length === 0) return [c];
  return ownConnection ? [c, ...c.host] : [...c.host];
}
