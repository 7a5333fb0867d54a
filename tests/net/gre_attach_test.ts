/**
 * `kad gre-attach` as a process inside a network namespace (needs root): attach, status,
 * attach again, replace and detach on a veth (this kernel has no gre devices: `--force`;
 * the real tunnels are tested in tests/vm/), and the errors a user meets.
 */
import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { Lab, type Netns } from "../harness/netns.ts";
import { xdpObject } from "../../lib/net/xdp_objects.ts";
import { checkPrivileges, explain, GreXdpError, loadRefused } from "../../lib/net/gre_xdp.ts";
import { LibbpfError } from "../../ffi/libbpf.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const opts = { sanitizeOps: false, sanitizeResources: false };

interface Result {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function kad(ns: Netns, ...args: string[]): Promise<Result> {
  const r = await ns.run([
    Deno.execPath(),
    "run",
    "-A",
    "tests/net/_gre_cli.ts",
    "gre-attach",
    ...args,
  ], {
    cwd: ROOT,
    timeoutMs: 30_000,
  });
  return { code: r.code, out: r.stdout, err: r.stderr };
}

async function ok(ns: Netns, ...args: string[]): Promise<string> {
  const r = await kad(ns, ...args);
  assertEquals(r.code, 0, `gre-attach ${args.join(" ")}: ${r.err}`);
  return r.out;
}

interface StatusJson {
  interfaces: Array<{
    interface: string;
    attached: boolean;
    kad: boolean;
    program: string | null;
    programId: number | null;
    programName: string | null;
    mode: string | null;
    counters: { replied: number; passed: number; malformed: number } | null;
  }>;
}

async function statusOf(ns: Netns, iface: string) {
  const s = JSON.parse(await ok(ns, "--status", iface, "--json")) as StatusJson;
  assertEquals(s.interfaces.length, 1);
  return s.interfaces[0] as StatusJson["interfaces"][number];
}

/** Put a program that is not kad's on `iface` (generic mode). */
async function foreign(ns: Netns, iface: string): Promise<void> {
  const file = await Deno.makeTempFile({ suffix: ".o" });
  try {
    await Deno.writeFile(file, xdpObject("xdp_pass"));
    await ns.ip(["link", "set", "dev", iface, "xdpgeneric", "obj", file, "sec", "xdp"]);
  } finally {
    await Deno.remove(file);
  }
}

async function setup(hint: string) {
  const lab = await Lab.create(hint);
  const ns = await lab.namespace();
  const pair = await lab.vethPair(ns, ns, { nameA: "kgva", nameB: "kgvb" });
  return { lab, ns, a: pair.a.ifname, b: pair.b.ifname };
}

Deno.test("attach, status, attach again and detach on a veth in a namespace", opts, async () => {
  const { lab, ns, a } = await setup("greattach");
  try {
    const out = await ok(ns, a, "--force");
    assertStringIncludes(out, `${a}: attached the gre keepalive program (id `);
    assertStringIncludes(out, "native mode"); // auto: veth has native XDP
    const s1 = await statusOf(ns, a);
    assertEquals([s1.attached, s1.kad, s1.program, s1.programName, s1.mode], [
      true,
      true,
      "gre",
      "kad_gre",
      "native",
    ]);
    assert(s1.counters !== null, "no counters");

    const again = await ok(ns, a, "--force");
    assertStringIncludes(again, "was already attached");
    assertEquals(
      (await statusOf(ns, a)).programId,
      s1.programId,
      "attaching twice changed the program",
    );

    const all = await ok(ns, "--status");
    assertStringIncludes(all, `${a} (other, ifindex `);
    assertStringIncludes(all, `gre keepalive program id ${s1.programId}, native mode`);

    assertStringIncludes(
      await ok(ns, "--detach", a),
      `${a}: detached 'kad_gre' (id ${s1.programId}`,
    );
    assertEquals((await statusOf(ns, a)).attached, false);
    assertStringIncludes(await ok(ns, "--detach", a), "nothing to do");
    assertStringIncludes(
      await ok(ns, "--status"),
      "no interface has kad's keepalive program attached",
    );
  } finally {
    await lab.close();
  }
});

Deno.test(
  "another XDP program is kept unless --replace; --detach leaves it unless --force",
  opts,
  async () => {
    const { lab, ns, b } = await setup("grereplace");
    try {
      await foreign(ns, b);
      const busy = await kad(ns, b, "--force");
      assertEquals(busy.code, 1);
      assertStringIncludes(busy.err, `interface '${b}' already has XDP program 'kad_xdp_pass'`);
      const keep = await kad(ns, "--detach", b);
      assertEquals(keep.code, 1);
      assertStringIncludes(keep.err, "which is not kad's");
      assertEquals((await statusOf(ns, b)).programName, "kad_xdp_pass");

      assertStringIncludes(
        await ok(ns, b, "--force", "--replace", "--program", "gre6"),
        "replaced the XDP program",
      );
      const s = await statusOf(ns, b);
      assertEquals([s.program, s.mode], ["gre6", "generic"]); // auto keeps the replaced program's mode

      const wrongMode = await kad(ns, b, "--force", "--program", "gre6", "--mode", "native");
      assertEquals(wrongMode.code, 1);
      assertStringIncludes(wrongMode.err, "use --replace to attach it in native mode");
      await ok(ns, b, "--force", "--program", "gre6", "--mode", "native", "--replace");
      assertEquals((await statusOf(ns, b)).mode, "native");

      await ok(ns, "--detach", b);
      await foreign(ns, b);
      assertStringIncludes(await ok(ns, "--detach", b, "--force"), "detached 'kad_xdp_pass'");
      assertEquals((await statusOf(ns, b)).attached, false);
    } finally {
      await lab.close();
    }
  },
);

Deno.test("clear errors: no such interface, not a tunnel, not root", opts, async () => {
  const { lab, ns, a } = await setup("greerrors");
  try {
    const none = await kad(ns, "kgnosuch0");
    assertEquals([none.code, none.err.trim()], [
      1,
      "kad gre-attach: no such interface 'kgnosuch0'; 'ip link show' lists the interfaces",
    ]);
    const veth = await kad(ns, a);
    assertEquals(veth.code, 1);
    assertStringIncludes(veth.err, `interface '${a}' is not a gre or ip6gre tunnel (link type 1)`);
    const r = await ns.run(
      [
        "setpriv",
        "--bounding-set",
        "-all",
        "--",
        Deno.execPath(),
        "run",
        "-A",
        "tests/net/_gre_cli.ts",
        "gre-attach",
        a,
        "--force",
      ],
      { cwd: ROOT, timeoutMs: 30_000 },
    );
    assertEquals([r.code, r.stderr.trim()], [
      1,
      "kad gre-attach: this needs root (CAP_NET_ADMIN and CAP_BPF); run kad as root",
    ]);
    assertEquals((await statusOf(ns, a)).attached, false);
  } finally {
    await lab.close();
  }
});

Deno.test("command line mistakes exit with status 2 and say what to do", opts, async () => {
  const cases: Array<[string[], string]> = [
    [[], "give the tunnel device to attach to"],
    [["--detach"], "--detach needs the interface"],
    [["--status", "--detach", "gre1"], "--detach and --status cannot be combined"],
    [["gre1", "--program", "gre6"], "--program 'gre6' needs --force"],
    [["gre1", "--json"], "--json only applies to --status and --selftest"],
    [["--selftest", "gre1"], "--selftest takes no interface"],
    [["--status", "--mode", "generic"], "--mode only applies when attaching"],
    [
      ["gre1", "--mode", "turbo"],
      "argument 'turbo' is invalid. Allowed choices are auto, generic, native",
    ],
  ];
  for (const [args, msg] of cases) {
    const r = await runHere(
      [Deno.execPath(), "run", "-A", "tests/net/_gre_cli.ts", "gre-attach", ...args],
      { cwd: ROOT, timeoutMs: 30_000 },
    );
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assertStringIncludes(r.stderr, msg);
  }
});

async function runHere(cmd: readonly string[], o: { cwd: string; timeoutMs: number }) {
  const out = await new Deno.Command(cmd[0] as string, {
    args: cmd.slice(1),
    cwd: o.cwd,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(o.timeoutMs),
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

Deno.test(
  "--selftest runs the built-in packets through the programs and reports JSON",
  opts,
  async () => {
    const r = await runHere(
      [Deno.execPath(), "run", "-A", "tests/net/_gre_cli.ts", "gre-attach", "--selftest", "--json"],
      { cwd: ROOT, timeoutMs: 30_000 },
    );
    assertEquals(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      version: number;
      ok: boolean;
      cases: Array<{ action: string; expect: string; ok: boolean }>;
    };
    assertEquals([report.version, report.ok], [1, true]);
    assert(report.cases.length >= 30, `${report.cases.length} cases`);
    for (const c of report.cases) {
      assertEquals(
        c.action,
        c.expect === "reply" ? "XDP_TX" : "XDP_PASS",
      );
    }
  },
);

Deno.test("kernel refusals become user errors: permission, no bpf(), anything else", () => {
  const perm = explain(
    new LibbpfError("bpf_object__load", 1, "Operation not permitted"),
    "loading",
  );
  assertEquals([perm.code, perm.message], [
    "not-root",
    "loading: permission denied; this needs root (CAP_NET_ADMIN and CAP_BPF)",
  ]);
  const nosys = explain(
    new LibbpfError("bpf_object__load", 38, "Function not implemented"),
    "loading",
  );
  assertEquals(nosys.code, "no-xdp");
  assertStringIncludes(nosys.message, "CONFIG_BPF_SYSCALL");
  assertEquals(
    explain(new LibbpfError("bpf_xdp_attach", 22, "Invalid argument"), "x").code,
    "failed",
  );
  const mine = new GreXdpError("busy", "kept");
  assertEquals(explain(mine, "x"), mine);
});

Deno.test("a program the verifier refused: the error quotes its last line and carries the log", () => {
  const log = ["0: R1=ctx() R10=fp0", "1: (71) r0 = *(u8 *)(r2 +0)", "invalid access to packet"];
  const e = loadRefused("gre", new LibbpfError("bpf_object__load", 13, "Permission denied", log));
  assertEquals(e.code, "no-xdp");
  assertStringIncludes(e.message, "the verifier said: invalid access to packet");
  assertEquals(e.kernelLog, log);
  const quiet = loadRefused("gre", new LibbpfError("bpf_object__load", 22, "Invalid argument"));
  assertEquals(quiet.kernelLog, []);
  assert(!quiet.message.includes("the verifier said"), quiet.message);
});

Deno.test("privileges are read from CapEff: NET_ADMIN plus BPF or SYS_ADMIN", () => {
  const status = (hex: string) => `Name:\tkad\nCapEff:\t${hex}\n`;
  checkPrivileges(status("000001ffffffffff")); // root
  checkPrivileges(status("0000008000001000")); // CAP_BPF + CAP_NET_ADMIN
  checkPrivileges(status("0000000000201000")); // CAP_SYS_ADMIN + CAP_NET_ADMIN
  for (const hex of ["0000000000000000", "0000008000000000", "0000000000001000"]) {
    let code = "";
    try {
      checkPrivileges(status(hex));
    } catch (e) {
      code = e instanceof GreXdpError ? e.code : String(e);
    }
    assertEquals(code, "not-root", hex);
  }
});
