/**
 * The command line end to end: `./kad` as a user runs it. Help and version, the
 * registered subcommands, and `check-config` on good input and on every kind of bad input
 * the issue lists — each must give a clear diagnostic with a location and a non-zero exit,
 * never a stack trace or a hang.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";

const root = new URL("..", import.meta.url).pathname;
const KAD = `${root}kad`;

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

async function kad(args: string[], env: Record<string, string> = {}): Promise<Out> {
  const p = new Deno.Command(KAD, {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
    signal: AbortSignal.timeout(30_000),
  });
  const r = await p.output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

function assertNoStackTrace(o: Out): void {
  const all = o.stdout + o.stderr;
  assert(!/^\s+at .*:\d+:\d+\)?$/m.test(all), `stack trace in output:\n${all}`);
  assert(!all.includes("internal error"), `internal error in output:\n${all}`);
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "kad-cli-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const GOOD = `global_defs {
    router_id lb1
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    authentication {
        auth_type PASS
        auth_pass hunter2
    }
    virtual_ipaddress {
        192.0.2.100/24 dev eth0
    }
}
`;

Deno.test("kad --help lists the registered subcommands and the global options", async () => {
  const o = await kad(["--help"]);
  assertEquals(o.code, 0);
  for (
    const s of [
      "check-config",
      "genhash",
      "gre-attach",
      "run",
      "dump",
      "rotate-key",
      "-f, --use-file",
      "-i, --config-id",
      "-l, --log-console",
      "-D, --log-detail",
    ]
  ) {
    assertStringIncludes(o.stdout, s);
  }
});

Deno.test("kad --version and kad help <command>", async () => {
  const v = await kad(["--version"]);
  assertEquals(v.code, 0);
  const version = JSON.parse(await Deno.readTextFile(`${root}deno.json`)).version as string;
  assertEquals(v.stdout.trim(), version);
  const h = await kad(["help", "check-config"]);
  assertEquals(h.code, 0);
  assertStringIncludes(h.stdout, "--print <FORMAT>");
  assertStringIncludes(h.stdout, "Exit status");
});

Deno.test("an unknown subcommand or option is a usage error with a hint, not a stack trace", async () => {
  const a = await kad(["frobnicate"]);
  assertEquals(a.code, 1);
  assertStringIncludes(a.stderr, "unknown command 'frobnicate'");
  const b = await kad(["check-config", "--prnt", "toml"]);
  assertEquals(b.code, 1);
  assertStringIncludes(b.stderr, "unknown option '--prnt'");
  const c = await kad(["check-config", "--print", "yaml"]);
  assertEquals(c.code, 1);
  assertStringIncludes(c.stderr, "use one of keepalived, toml, json");
  for (const o of [a, b, c]) assertNoStackTrace(o);
});

Deno.test("check-config on a clean file exits 0 silently; -f works before and after the subcommand", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/k.conf`, GOOD);
    const a = await kad(["check-config", "--no-host-checks", "-f", `${dir}/k.conf`]);
    assertEquals([a.code, a.stderr], [0, ""]);
    const b = await kad(["-f", `${dir}/k.conf`, "check-config", "--no-host-checks"]);
    assertEquals([b.code, b.stderr], [0, ""]);
  });
});

Deno.test("check-config reports in keepalived's shape and --json follows docs/check-config.md", async () => {
  await withDir(async (dir) => {
    const f = `${dir}/k.conf`;
    await Deno.writeTextFile(f, GOOD.replace("priority 150", "priorty 150"));
    const t = await kad(["check-config", "--no-host-checks", "-f", f]);
    assertEquals(t.code, 5);
    assertStringIncludes(
      t.stderr,
      `(${f}: Line 8) [col 5] warning: Unknown keyword 'priorty' in vrrp_instance; did you mean 'priority'?`,
    );
    const j = await kad(["check-config", "--no-host-checks", "--json", "-f", f]);
    assertEquals(j.code, 5);
    assertEquals(j.stderr, "");
    const report = JSON.parse(j.stdout);
    assertEquals(Object.keys(report).sort(), [
      "diagnostics",
      "dropped",
      "errors",
      "file",
      "files",
      "status",
      "version",
      "warnings",
    ]);
    assertEquals([report.version, report.status, report.errors, report.warnings], [1, 5, 0, 1]);
    assertEquals(report.diagnostics[0], {
      severity: "warning",
      class: "UNKNOWN_KEYWORD",
      message: "Unknown keyword 'priorty' in vrrp_instance; did you mean 'priority'?",
      file: f,
      line: 8,
      column: 5,
      keyword: "priorty",
    });
  });
});

Deno.test("--print writes each format with secrets masked, and printed output checks clean", async () => {
  await withDir(async (dir) => {
    const f = `${dir}/k.conf`;
    await Deno.writeTextFile(f, GOOD);
    for (const [fmt, ext] of [["keepalived", "conf"], ["toml", "toml"]] as const) {
      const o = await kad(["check-config", "--no-host-checks", "--print", fmt, "-f", f]);
      assertEquals(o.code, 0, o.stderr);
      assert(!o.stdout.includes("hunter2"), `secret in ${fmt} output`);
      assertStringIncludes(o.stdout, "********");
      // Reading the printed configuration back gives the same printed configuration.
      const again = `${dir}/again.${ext}`;
      await Deno.writeTextFile(again, o.stdout.replace("********", "hunter2"));
      const o2 = await kad(["check-config", "--no-host-checks", "--print", fmt, "-f", again]);
      assertEquals(o2.code, 0, o2.stderr);
      assertEquals(o2.stdout, o.stdout);
    }
    const j = await kad(["check-config", "--no-host-checks", "--print", "json", "-f", f]);
    assertEquals(j.code, 0);
    const model = JSON.parse(j.stdout);
    assertEquals(model.vrrp_instance[0].priority, 150);
    assert(!j.stdout.includes("hunter2"));
  });
});

Deno.test("check-config: a missing file exits 4 with a message naming the path", async () => {
  const o = await kad(["check-config", "-f", "/nonexistent/keepalived.conf"]);
  assertEquals(o.code, 4);
  assertStringIncludes(o.stderr, "'/nonexistent/keepalived.conf' not found");
  assertNoStackTrace(o);
});

/** Bad inputs from the issue: each file's text, and what the diagnostic must say. */
const BAD: Array<[string, string | Uint8Array, RegExp]> = [
  [
    "binary garbage",
    new Uint8Array(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)),
    /binary|UTF-8|NUL/,
  ],
  ["a NUL byte inside a line", "global_defs {\n router_id a\0b\n}\n", /Line 2\).*NUL/],
  [
    "a 1 MB line",
    "global_defs {\n router_id " + "x".repeat(1 << 20) + "\n}\n",
    /Line 2\).*line too long/,
  ],
  ["10,000 nested braces on one line", "{".repeat(10_000) + "\n", /Line 1\).*line too long/],
  ["10,000 nested blocks", "global_defs {\n".repeat(10_000), /nested deeper than 64/],
  [
    "an extra }",
    "global_defs {\n router_id a\n}\n}\nvrrp_script s {\n script /bin/true\n}\n",
    /Line 4\).*Extra '\}'/,
  ],
  [
    "an unterminated quote",
    'global_defs {\n router_id "abc\n}\n',
    /Line 2\).*[Uu]nterminated quote/,
  ],
  ["an unterminated block", "global_defs {\n router_id a\n", /Line 1\).*global_defs/],
  [
    "an undefined $NAME",
    "global_defs {\n router_id $NOPE\n}\n",
    /Line 2\).*undefined definition '\$NOPE'/,
  ],
  [
    "${_ENV} of an unset variable",
    "global_defs {\n router_id x${_ENV KAD_TEST_UNSET_VAR}\n}\n",
    /Line 2\).*KAD_TEST_UNSET_VAR/,
  ],
  ["~SEQ with bad bounds", "~SEQ(i, 1, 0, 5) global_defs { router_id r$i }\n", /Line 1\).*SEQ/],
  [
    "a missing include file",
    "include /nonexistent/kad-missing.conf\n",
    /Line 1\).*kad-missing\.conf/,
  ],
];

for (const [what, content, expect] of BAD) {
  Deno.test(`check-config on ${what}: a clear diagnostic and a non-zero exit`, async () => {
    await withDir(async (dir) => {
      const f = `${dir}/k.conf`;
      if (typeof content === "string") await Deno.writeTextFile(f, content);
      else await Deno.writeFile(f, content);
      const o = await kad(["check-config", "--no-host-checks", "-f", f]);
      assert(o.code !== 0, `exit status 0 for ${what}`);
      assertMatch(o.stderr, expect);
      assertNoStackTrace(o);
    });
  });
}

Deno.test("check-config on an include cycle names the chain", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/a.conf`, "include b.conf\n");
    await Deno.writeTextFile(`${dir}/b.conf`, "include a.conf\n");
    const o = await kad(["check-config", "--no-host-checks", "-f", `${dir}/a.conf`]);
    assert(o.code !== 0);
    assertMatch(o.stderr, /b\.conf: Line 1\).*cycle/);
    assertNoStackTrace(o);
  });
});

Deno.test("check-config on an unreadable file (a directory given as the file) fails clearly", async () => {
  await withDir(async (dir) => {
    const o = await kad(["check-config", "--no-host-checks", "-f", dir]);
    assert(o.code !== 0);
    assertStringIncludes(o.stderr, dir);
    assertNoStackTrace(o);
  });
});
