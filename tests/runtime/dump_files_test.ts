/**
 * Where keepalived's dump files go (lib/runtime/dump_files.ts, spec/vrrp.md §6.3): the
 * `<tmpdir>` rule, `state_dump_file`/`stats_dump_file`/`json_dump_file` as a directory,
 * an absolute file or a relative name, `data_use_instance` naming (data dump only, as
 * keepalived 2.2.7 does: checked by running it, `keepalived.kcapns_inst1.data`), and the
 * atomic mode-0600 write.
 */
import { assert, assertEquals } from "../_assert.ts";
import {
  dataDumpPath,
  dumpDirectory,
  type DumpNaming,
  jsonDumpPath,
  placeDumpFile,
  statsDumpPath,
  withInstanceSuffix,
  writeDumpFile,
} from "../../lib/runtime/dump_files.ts";
import { dirOf } from "../../lib/runtime/private_file.ts";
import { dumpNaming } from "../../lib/runtime/daemon.ts";
import { loadConfigText } from "../../lib/config/load.ts";

const base: DumpNaming = { tmpdir: "/tmp", dataUseInstance: false };

Deno.test("unset, the files are keepalived.data/.stats/.json in <tmpdir>", () => {
  assertEquals(
    [dataDumpPath(base), statsDumpPath(base), jsonDumpPath(base)],
    ["/tmp/keepalived.data", "/tmp/keepalived.stats", "/tmp/keepalived.json"],
  );
  const t = { ...base, tmpdir: "/var/run/kad" };
  assertEquals(dataDumpPath(t), "/var/run/kad/keepalived.data");
});

Deno.test("a configured path: directory/, absolute file, or a relative name's last part in <tmpdir>", () => {
  assertEquals(
    placeDumpFile("/srv/dumps/", "/tmp", "keepalived.data"),
    "/srv/dumps/keepalived.data",
  );
  assertEquals(
    placeDumpFile("/srv/dumps/state.txt", "/tmp", "keepalived.data"),
    "/srv/dumps/state.txt",
  );
  assertEquals(placeDumpFile("rel/dir/dd.txt", "/tmp", "keepalived.data"), "/tmp/dd.txt");
  assertEquals(placeDumpFile("dd", "/x/", "keepalived.data"), "/x/dd");
  assertEquals(placeDumpFile(undefined, "/x", "keepalived.json"), "/x/keepalived.json");
  assertEquals(
    statsDumpPath({ ...base, statsDumpFile: "/srv/s.stats" }),
    "/srv/s.stats",
  );
  assertEquals(jsonDumpPath({ ...base, jsonDumpFile: "/srv/" }), "/srv/keepalived.json");
});

Deno.test("data_use_instance inserts .<netns>_<instance> (or one of them) before the extension", () => {
  assertEquals(
    withInstanceSuffix("/tmp/keepalived.data", "ns1", "inst"),
    "/tmp/keepalived.ns1_inst.data",
  );
  assertEquals(
    withInstanceSuffix("/tmp/keepalived.data", "ns1", undefined),
    "/tmp/keepalived.ns1.data",
  );
  assertEquals(
    withInstanceSuffix("/tmp/keepalived.data", undefined, "inst"),
    "/tmp/keepalived.inst.data",
  );
  assertEquals(
    withInstanceSuffix("/tmp/keepalived.data", undefined, undefined),
    "/tmp/keepalived.data",
  );
  assertEquals(withInstanceSuffix("/srv/noext", "a", "b"), "/srv/noext.a_b");
  assertEquals(withInstanceSuffix("/srv/.hidden", "a", undefined), "/srv/.hidden.a");
  assertEquals(withInstanceSuffix("/srv.d/noext", "a", undefined), "/srv.d/noext.a");
});

Deno.test("data_use_instance names the data dump only, also with state_dump_file", () => {
  const n: DumpNaming = { ...base, dataUseInstance: true, netns: "kcapns", instance: "inst1" };
  assertEquals(dataDumpPath(n), "/tmp/keepalived.kcapns_inst1.data");
  assertEquals(statsDumpPath(n), "/tmp/keepalived.stats");
  assertEquals(jsonDumpPath(n), "/tmp/keepalived.json");
  assertEquals(dataDumpPath({ ...n, stateDumpFile: "/srv/my.dump" }), "/srv/my.kcapns_inst1.dump");
  assertEquals(dataDumpPath({ ...n, dataUseInstance: false }), "/tmp/keepalived.data");
});

Deno.test("the daemon takes the names from global_defs and the top-level instance keyword", () => {
  const r = loadConfigText(
    `instance inst1
global_defs {
  data_use_instance
  state_dump_file /srv/dumps/
  json_dump_file k.json
}
`,
    "t.conf",
    { configId: "x" },
  );
  const n = dumpNaming(r.config, "/tmp");
  assertEquals(
    [dataDumpPath(n), statsDumpPath(n), jsonDumpPath(n)],
    ["/srv/dumps/keepalived.inst1.data", "/tmp/keepalived.stats", "/tmp/k.json"],
  );
});

Deno.test("<tmpdir> is $TMPDIR only when it is an absolute path to a directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kad-dump-" });
  try {
    assertEquals(dumpDirectory(dir), dir);
    assertEquals(dumpDirectory(`${dir}/`), dir);
    assertEquals(dumpDirectory(`${dir}/missing`), "/tmp");
    assertEquals(dumpDirectory("relative/dir"), "/tmp");
    await Deno.writeTextFile(`${dir}/file`, "");
    assertEquals(dumpDirectory(`${dir}/file`), "/tmp");
    assertEquals(dumpDirectory(undefined), "/tmp");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dump files are written whole, mode 0600 whatever the umask, replacing the old one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kad-dump-" });
  const path = `${dir}/keepalived.stats`;
  const old = Deno.umask(0o000);
  try {
    await Deno.writeTextFile(path, "old", { mode: 0o644 });
    writeDumpFile(path, "new contents\n");
    assertEquals(await Deno.readTextFile(path), "new contents\n");
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assertEquals(names, ["keepalived.stats"], "no temporary file is left behind");
    let failed = false;
    try {
      writeDumpFile(`${dir}/missing/keepalived.stats`, "x");
    } catch {
      failed = true;
    }
    assert(failed, "a path that cannot be written throws for the caller to log");

    // Another user's link at the temporary name is removed, never written through.
    const victim = `${dir}/victim`;
    await Deno.writeTextFile(victim, "precious");
    await Deno.symlink(victim, `${path}.${Deno.pid}.tmp`);
    writeDumpFile(path, "newer\n");
    assertEquals(await Deno.readTextFile(victim), "precious");
    assertEquals(await Deno.readTextFile(path), "newer\n");
    assertEquals((await Deno.lstat(path)).isSymlink, false);
  } finally {
    Deno.umask(old);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dirOf: the directory of a path, '.' without a slash, '/' at the root", () => {
  assertEquals(dirOf("/run/kad/kad.sock"), "/run/kad");
  assertEquals(dirOf("/kad.sock"), "/");
  assertEquals(dirOf("auth-keys.json"), ".");
});
