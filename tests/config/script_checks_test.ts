import { assertEquals, assertStringIncludes } from "../_assert.ts";
import { DiagClass, DiagnosticSink } from "../../lib/config/diagnostic.ts";
import { loadConfigText } from "../../lib/config/load.ts";
import {
  checkScripts,
  findScripts,
  insecurity,
  type ScriptFileInfo,
  type ScriptHost,
} from "../../lib/config/script_checks.ts";

/** A described file system: path → [type, uid, gid, mode]. Directories are implied secure. */
function fakeHost(
  files: Record<string, ["f" | "d" | "l", number, number, number]>,
  link: Record<string, string> = {},
): ScriptHost {
  const info = (p: string): ScriptFileInfo | undefined => {
    const e = files[p];
    if (!e) return undefined;
    return {
      isFile: e[0] === "f",
      isDirectory: e[0] === "d",
      isSymlink: e[0] === "l",
      uid: e[1],
      gid: e[2],
      mode: e[3],
    };
  };
  return {
    lstat: info,
    realPath: (p) => (link[p] ?? (info(p) ? p : undefined)),
    user: (
      n,
    ) => (n === "root"
      ? { uid: 0, gid: 0 }
      : n === "nobody"
      ? { uid: 65534, gid: 65534 }
      : undefined),
    path: "/usr/bin:/bin",
  };
}

const SECURE = {
  "/": ["d", 0, 0, 0o755],
  "/bin": ["d", 0, 0, 0o755],
  "/bin/check": ["f", 0, 0, 0o755],
  "/tmp": ["d", 0, 0, 0o1777],
  "/tmp/open": ["d", 0, 0, 0o777],
  "/tmp/open/check": ["f", 0, 0, 0o755],
  "/home": ["d", 0, 0, 0o755],
  "/home/u": ["d", 1000, 1000, 0o755],
  "/home/u/check": ["f", 1000, 1000, 0o755],
  "/bin/noexec": ["f", 0, 0, 0o644],
} as const satisfies Record<string, ["f" | "d" | "l", number, number, number]>;

function run(conf: string, host: ScriptHost) {
  const res = loadConfigText(conf, "t.conf", { configId: "x" });
  const sink = new DiagnosticSink();
  const g = res.config.global_defs;
  checkScripts(
    findScripts(res.config),
    {
      enableScriptSecurity: g?.enable_script_security ?? false,
      ...(g?.script_user ? { scriptUser: g.script_user.user } : {}),
      hasVrrp: res.config.vrrp_instance.length > 0,
      hasChecker: res.config.virtual_server.length > 0,
    },
    host,
    sink,
  );
  return sink.items;
}

const INSTANCE = (extra: string) =>
  `vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 192.0.2.1\n }\n${extra}\n}\n`;

Deno.test("findScripts finds notify, track and MISC_CHECK scripts wherever they are", () => {
  const res = loadConfigText(
    `vrrp_script chk {\n script "/bin/check a"\n}\n${
      INSTANCE(' notify_master "/bin/check m"\n track_script {\n chk\n }')
    }` +
      `virtual_server 192.0.2.1 80 {\n protocol TCP\n real_server 192.0.2.2 80 {\n MISC_CHECK {\n misc_path "/bin/check x"\n }\n }\n}\n`,
    "t.conf",
    { configId: "x" },
  );
  const found = findScripts(res.config).map((f) => [f.what, f.checker, f.script.argv.join(" ")]);
  assertEquals(found.sort(), [
    ["MISC_CHECK script", true, "/bin/check x"],
    ["notify_master script", false, "/bin/check m"],
    ["track script chk", false, "/bin/check a"],
  ]);
});

Deno.test("scripts without enable_script_security are a security error (keepalived -t exit 6)", () => {
  const d = run(INSTANCE(' notify_master "/bin/check"'), fakeHost(SECURE));
  assertEquals(d.map((x) => x.class), [DiagClass.SECURITY_ERROR]);
  assertStringIncludes(
    d[0]!.message,
    "SECURITY VIOLATION - scripts are being executed but script_security not enabled",
  );
});

Deno.test("a missing or non-executable script is disabled with keepalived's message", () => {
  const d = run(
    `global_defs {\n enable_script_security\n script_user root\n}\n` +
      INSTANCE(' notify_master "/bin/missing"\n notify_backup "/bin/noexec"'),
    fakeHost(SECURE),
  );
  assertEquals(d.map((x) => x.message.split(";")[0]), [
    "Disabling notify_master script since not found/accessible",
    "Disabling notify_backup script since not found/accessible",
  ]);
});

Deno.test("a root script on a path others can change is insecure and disabled under script security", () => {
  assertEquals(insecurity("/bin/check", fakeHost(SECURE)), undefined);
  assertEquals(
    insecurity("/tmp/open/check", fakeHost(SECURE)),
    "'/tmp/open' is writable by everyone",
  );
  assertEquals(insecurity("/home/u/check", fakeHost(SECURE)), "'/home/u' is not owned by root");
  const d = run(
    `global_defs {\n enable_script_security\n script_user root\n}\n` +
      INSTANCE(' notify_master "/tmp/open/check"'),
    fakeHost(SECURE),
  );
  assertEquals(d.length, 1);
  assertStringIncludes(
    d[0]!.message,
    "Disabling notify_master script due to insecure path ('/tmp/open' is writable by everyone)",
  );
  // Run as an unprivileged user, the same script is acceptable.
  const d2 = run(
    `global_defs {\n enable_script_security\n script_user nobody\n}\n` +
      INSTANCE(' notify_master "/tmp/open/check"'),
    fakeHost(SECURE),
  );
  assertEquals(d2, []);
});

Deno.test("bare command names are searched in PATH", () => {
  const d = run(
    `global_defs {\n enable_script_security\n script_user root\n}\n` +
      INSTANCE(' notify_master "check arg"'),
    fakeHost(SECURE),
  );
  assertEquals(d, []);
});
