/**
 * ffi/libbpf.ts against the real kernel: a refused program comes back with the verifier's
 * log, and libbpf may be used from several threads of one process at once (no JavaScript
 * callback is ever installed in libbpf). Needs root, clang and libbpf-dev, as the XDP
 * object build does.
 */
import { assert, assertEquals } from "../_assert.ts";
import { BpfObject, ERRNO, LibbpfError } from "../../ffi/libbpf.ts";
import { CLANG_FLAGS } from "../../scripts/build_bpf.ts";

/** An XDP program that reads the packet without a bounds check: the verifier refuses it. */
const REFUSED_C = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp")
int unchecked(struct xdp_md *ctx) {
  unsigned char *p = (unsigned char *)(long)ctx->data;
  return p[0] == 1 ? XDP_DROP : XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;

async function buildRefused(dir: string): Promise<string> {
  await Deno.writeTextFile(`${dir}/refused.c`, REFUSED_C);
  const out = `${dir}/refused.o`;
  const r = await new Deno.Command("clang", {
    args: [...CLANG_FLAGS, "-c", `${dir}/refused.c`, "-o", out],
    stderr: "piped",
  }).output();
  assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
  return out;
}

Deno.test("a program the verifier refuses fails with EACCES and the kernel's log", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kad-libbpf-" });
  try {
    const obj = BpfObject.openMem(await Deno.readFile(await buildRefused(dir)));
    try {
      let caught: unknown;
      try {
        obj.load();
      } catch (e) {
        caught = e;
      }
      assert(caught instanceof LibbpfError, `expected a LibbpfError, got ${caught}`);
      assertEquals(caught.op, "bpf_object__load");
      assertEquals(caught.errno, ERRNO.EACCES);
      // The verifier names the unchecked read as its reason, on the log's last lines.
      assert(
        caught.kernelLog.some((l) => l.includes("invalid access to packet")),
        caught.kernelLog.join("\n"),
      );
    } finally {
      obj.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("libbpf from four threads of one process at once: every round passes, no crash", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kad-libbpf-" });
  try {
    const refused = await buildRefused(dir);
    const script = new URL("./_libbpf_threads.ts", import.meta.url).pathname;
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, refused, "4", "25"],
      stdout: "piped",
      stderr: "piped",
      // A JavaScript print callback called from a foreign thread crashed or hung this.
      signal: AbortSignal.timeout(120_000),
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assertEquals(r.signal, null, `the process died of ${r.signal}: ${err}`);
    assertEquals(r.code, 0, err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
