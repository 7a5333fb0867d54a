/**
 * The XDP objects embedded in lib/net/xdp_objects.ts must be what bpf/*.c compiles to today
 * (scripts/build_bpf.ts), so the module cannot go stale. Needs clang, llvm and libbpf-dev.
 */
import { assert, assertEquals } from "../_assert.ts";
import { checkModule } from "../../scripts/build_bpf.ts";
import { XDP_OBJECTS, xdpObject, type XdpObjectName } from "../../lib/net/xdp_objects.ts";

Deno.test("the embedded XDP objects match a fresh build of bpf/*.c", async () => {
  const problem = await checkModule();
  assertEquals(problem, undefined);
});

Deno.test("each embedded object decodes to an ELF file of the recorded size and SHA-256", async () => {
  for (const name of Object.keys(XDP_OBJECTS) as XdpObjectName[]) {
    const bytes = xdpObject(name);
    assertEquals(bytes.length, XDP_OBJECTS[name].size, name);
    assertEquals([...bytes.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], `${name} is not ELF`);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(bytes)));
    const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
    assertEquals(hex, XDP_OBJECTS[name].sha256, name);
  }
  assert("gre_keepalive" in XDP_OBJECTS && "xdp_pass" in XDP_OBJECTS);
});
