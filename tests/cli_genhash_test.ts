/**
 * `kad genhash` and the `genhash` program name on bad input: a message naming the option,
 * the usage text, exit status 1 and never a stack trace; and keepalived's getopt_long rules
 * in the `genhash` name's parser.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./_assert.ts";
import { GenhashUsageError, parseGenhashArgv } from "../commands/genhash.ts";
import { KAD, runKad } from "./check/_servers.ts";

const ROOT = new URL("..", import.meta.url).pathname;

function assertUsageError(
  r: { code: number; stdout: string; stderr: string },
  message: string,
  label: string,
) {
  assertEquals(r.code, 1, `${label}: exit status`);
  assertEquals(r.stdout, "", `${label}: stdout`);
  assertStringIncludes(r.stderr, message, label);
  assertStringIncludes(r.stderr, "Usage:", label);
  assert(!/^\s+at /m.test(r.stderr), `${label}: no stack trace`);
}

Deno.test("./kad genhash: bad values, missing and unknown options give message, usage, exit 1", async () => {
  const ok = ["-s", "127.0.0.1", "-p", "80", "-u", "/"];
  const cases: Array<[string[], string]> = [
    [
      ["-s", "not an address", "-p", "80", "-u", "/"],
      "server 'not an address' is neither an IP address nor a host name",
    ],
    [["-s", "", "-p", "80", "-u", "/"], "server '' is neither an IP address nor a host name"],
    [["-s", "127.0.0.1", "-p", "0", "-u", "/"], "invalid port number '0' (use 1 to 65535)"],
    [["-s", "127.0.0.1", "-p", "65536", "-u", "/"], "invalid port number '65536'"],
    [["-s", "127.0.0.1", "-p", "0x50", "-u", "/"], "invalid port number '0x50'"],
    [["-s", "127.0.0.1", "-p", "80x", "-u", "/"], "invalid port number '80x'"],
    [[...ok, "-P", "2.0"], "invalid HTTP protocol version '2.0' (use 1.0, 1.0c or 1.1)"],
    [[...ok, "-m", "-1"], "invalid fwmark '-1' (use 0 to 4294967295)"],
    [[...ok, "-m", "4294967296"], "invalid fwmark '4294967296'"],
    [[...ok, "-m", "0x10"], "invalid fwmark '0x10'"],
    [[...ok, "-t", "0"], "invalid timeout '0' (use whole seconds from 1 to 4294)"],
    [[...ok, "-t", "5000"], "invalid timeout '5000'"],
    [[...ok, "-t", "1.5"], "invalid timeout '1.5'"],
    [["-p", "80", "-u", "/"], "-s/--server is required"],
    [["-s", "127.0.0.1", "-u", "/"], "-p/--port is required"],
    [["-s", "127.0.0.1", "-p", "80"], "-u/--url is required"],
    [[], "-s/--server is required"],
    [[...ok, "-x"], "unknown option '-x'"],
    [[...ok, "--bogus"], "unknown option '--bogus'"],
    [[...ok, "stray"], "too many arguments"],
    [[...ok, "-t"], "argument missing"],
    [[...ok, "--json", "-v"], "-v/--verbose cannot be used with --json"],
    [[...ok, "--json", "--config"], "--json and --config cannot be used together"],
  ];
  const results = await Promise.all(cases.map(([args]) => runKad(["genhash", ...args])));
  results.forEach((r, i) => {
    const [args, message] = cases[i]!;
    assertUsageError(r, message, args.join(" "));
    assertStringIncludes(r.stderr, "Usage: kad genhash", args.join(" "));
  });
});

Deno.test("./kad genhash --help lists keepalived's options and kad's extras, exit 0", async () => {
  const r = await runKad(["genhash", "--help"]);
  assertEquals(r.code, 0);
  for (
    const flag of [
      "-s, --server",
      "-p, --port",
      "-u, --url",
      "-S, --use-ssl",
      "-I, --use-sni",
      "-V, --use-virtualhost",
      "-P, --protocol",
      "-t, --timeout",
      "-m, --fwmark",
      "-v, --verbose",
      "-h, --help",
      "--json",
      "--config",
    ]
  ) assertStringIncludes(r.stdout, flag);
  const top = await runKad(["--help"]);
  assertStringIncludes(top.stdout, "genhash");
  // The program's -v is --version; after `genhash` it means --verbose.
  const version = await runKad(["-v"]);
  const verbose = await runKad(["genhash", "-v"]);
  assertEquals(version.code, 0);
  assertUsageError(verbose, "-s/--server is required", "genhash -v");
});

/** Run main.ts as a program named `genhash`: a symlink to deno, like a compiled kad's link. */
async function runAsGenhash(args: readonly string[]) {
  const dir = await Deno.makeTempDir({ prefix: "kad-genhash-link-" });
  try {
    await Deno.symlink(Deno.execPath(), `${dir}/genhash`);
    const out = await new Deno.Command(`${dir}/genhash`, {
      args: ["run", "--quiet", "-A", "--config", `${ROOT}deno.json`, `${ROOT}main.ts`, ...args],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(20_000),
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr), dir };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("started as `genhash`, kad parses keepalived's command line and prints its usage", async () => {
  const cases: Array<[string[], string]> = [
    [[], "-s/--server is required"],
    [["-x"], "Unknown option -x"],
    [["-s", "127.0.0.1", "-p", "80"], "-u/--url is required"],
    [["-s", "127.0.0.1", "-p", "80", "-u", "/", "-t"], "Missing parameter for option -t"],
    [["-s", "127.0.0.1", "-p", "80", "-u", "/", "a", "b"], "Unexpected argument(s): a b"],
    [["--use", "x"], "Ambiguous option --use (could be --use-ssl, --use-sni, --use-virtualhost)"],
    [["-s", "127.0.0.1", "-p", "0", "-u", "/"], "invalid port number '0'"],
  ];
  const results = await Promise.all(cases.map(([args]) => runAsGenhash(args)));
  results.forEach((r, i) => {
    const [args, message] = cases[i]!;
    assertUsageError(r, message, `genhash ${args.join(" ")}`);
    assertStringIncludes(r.stderr, `Usage: ${r.dir}/genhash COMMAND [OPTIONS]`);
  });
  // -h: keepalived prints the usage on stderr and exits 1.
  const help = await runAsGenhash(["-h"]);
  assertEquals([help.code, help.stdout], [1, ""]);
  assertStringIncludes(help.stderr, "   --use-virtualhost -V       ");
  // A refused connection: keepalived's message, kad's non-zero status.
  const refused = await runAsGenhash(["-s", "127.0.0.1", "-p", "1", "-u", "/"]);
  assertEquals([refused.code, refused.stdout, refused.stderr], [2, "Connection failed\n", ""]);
});

Deno.test("the kad launcher's name travels in KAD_ARGV0 when run from source", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", "--config", `${ROOT}deno.json`, `${ROOT}main.ts`, "-x"],
    env: { KAD_ARGV0: "/usr/local/bin/genhash" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 1);
  assertStringIncludes(
    stderr,
    "Unknown option -x\nUsage: /usr/local/bin/genhash COMMAND [OPTIONS]",
  );
  assert(KAD.endsWith("/kad"));
});

Deno.test("the genhash parser follows getopt_long: clusters, attached values, prefixes, --", () => {
  const o = parseGenhashArgv([
    "-Sv",
    "-s127.0.0.1",
    "--po=8080",
    "-u",
    "/a",
    "--url",
    "/b",
    "-V",
    "h",
    "-I",
  ]);
  assert(o !== "help");
  assertEquals(
    [o.server, o.port, o.urls, o.ssl, o.sni, o.verbose, o.virtualhost, o.protocol, o.fwmark],
    ["127.0.0.1", 8080, ["/a", "/b"], true, true, true, "h", "1.0", 0],
  );
  const p = parseGenhashArgv([
    "-s",
    "::1",
    "-p",
    " 80",
    "-u",
    "-dash-path",
    "-P",
    "1.0c",
    "-t",
    "+7",
    "-m",
    "42",
  ]);
  assert(p !== "help");
  assertEquals([p.port, p.urls, p.protocol, p.timeoutMs, p.fwmark], [
    80,
    ["-dash-path"],
    "1.0C",
    7000,
    42,
  ]);
  assertEquals(parseGenhashArgv(["-s", "1.2.3.4", "-h", "-x"]), "help");
  const json = parseGenhashArgv(["-s", "www.example.com", "-p", "80", "-u", "/", "--json"]);
  assert(json !== "help");
  assertEquals([json.server, json.output, json.timeoutMs], [
    "www.example.com",
    "json",
    4294967.295,
  ]);
  assertThrows(
    () => parseGenhashArgv(["-s", "1.2.3.4", "-p", "80", "--", "-u", "/"]),
    GenhashUsageError,
    "Unexpected argument(s): -u /",
  );
  assertThrows(
    () => parseGenhashArgv(["--verbose=yes"]),
    GenhashUsageError,
    "Option --verbose takes no value",
  );
  assertThrows(
    () => parseGenhashArgv(["--timeout"]),
    GenhashUsageError,
    "Missing parameter for option --timeout",
  );
  assertThrows(
    () => parseGenhashArgv(["-s", "fe80::1%lo", "-p", "1", "-u", "/"]),
    GenhashUsageError,
    "neither an IP",
  );
});
