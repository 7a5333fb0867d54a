/**
 * auth_hmac key bytes from the configuration (lib/config/hmac_keys.ts, spec/vrrp.md §2.3.10):
 * inline and hex: keys, key files (content like an inline value, trailing CR/LF stripped,
 * size and length limits, group/other permissions), systemd credentials through
 * `${_ENV CREDENTIALS_DIRECTORY}`, and problems that name the file and the fix but never the
 * key.
 */
import { assert, assertEquals } from "../_assert.ts";
import { loadConfigText } from "../../lib/config/load.ts";
import { decodeKeyFile, resolveHmacKeys, wipeKeys } from "../../lib/config/hmac_keys.ts";
import { type ConfigFs, memoryFs } from "../../lib/config/source.ts";

const K32 = "k".repeat(32);
const HEX32 = "0123456789abcdef".repeat(4);

function conf(keys: string, active = 1): string {
  return `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress {
    192.0.2.100
  }
  auth_hmac {
${keys}
    active_key ${active}
  }
}
`;
}

function resolve(text: string, fs: ConfigFs, env: Record<string, string> = {}) {
  const r = loadConfigText(text, "/etc/keepalived/keepalived.conf", {
    configId: "t",
    fs,
    env: (n) => env[n],
  });
  const errors = r.sink.items.filter((d) => d.severity === "error").map((d) => d.message);
  assertEquals(errors, []);
  return resolveHmacKeys(r.config, fs);
}

const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

Deno.test("inline, hex: and file: keys give their bytes; files are read like inline values", () => {
  const fs = memoryFs(
    {
      "/etc/keepalived/k3": `${"f".repeat(40)}\r\n\n`,
      "/etc/keepalived/keys/k4": `hex:${HEX32}\n`,
    },
    { "/etc/keepalived/k3": 0o600, "/etc/keepalived/keys/k4": 0o400 },
  );
  const r = resolve(
    conf(`    key 1 ${K32}\n    key 2 hex:${HEX32}\n    key 3 file:k3\n    key 4 file:keys/k4`),
    fs,
  );
  assertEquals(r.problems, []);
  const keys = r.keys.get("VI_1")!;
  assertEquals(text(keys.get(1)), K32);
  assertEquals(keys.get(2)!.length, 32);
  assertEquals(keys.get(2)![0], 0x01);
  assertEquals(text(keys.get(3)), "f".repeat(40), "trailing CR/LF stripped, relative path");
  assertEquals(keys.get(4), keys.get(2), "a hex: file decodes like an inline hex: key");
  wipeKeys(r.keys);
  assert(keys.get(1)!.every((b) => b === 0), "wipeKeys zeroes the bytes");
});

Deno.test("a systemd credential path (${_ENV CREDENTIALS_DIRECTORY}) is read", () => {
  const fs = memoryFs({ "/run/credentials/keepalived.service/vrrp-key": `${K32}\n` }, {
    "/run/credentials/keepalived.service/vrrp-key": 0o400,
  });
  const r = resolve(conf("    key 1 file:${_ENV CREDENTIALS_DIRECTORY}/vrrp-key"), fs, {
    CREDENTIALS_DIRECTORY: "/run/credentials/keepalived.service",
  });
  assertEquals(r.problems, []);
  assertEquals(text(r.keys.get("VI_1")!.get(1)), K32);
});

Deno.test("key file problems name the instance, key id, file and fix, never the key", () => {
  const secret = "s".repeat(20);
  const fs = memoryFs(
    {
      "/etc/keepalived/short": secret,
      "/etc/keepalived/big": "x".repeat(139),
      "/etc/keepalived/badhex": "hex:zz",
      "/etc/keepalived/open": K32,
      "/etc/keepalived/locked": K32,
    },
    { "/etc/keepalived/open": 0o644, "/etc/keepalived/locked": 0o000 },
  );
  const r = resolve(
    conf(
      [
        "    key 1 file:/etc/keepalived/missing",
        "    key 2 file:/etc/keepalived/short",
        "    key 3 file:/etc/keepalived/big",
        "    key 4 file:/etc/keepalived/badhex",
        "    key 5 file:/etc/keepalived/open",
        "    key 6 file:/etc/keepalived/locked",
        "    key 7 file:/etc/keepalived",
      ].join("\n"),
      5,
    ),
    fs,
  );
  const msgs = r.problems.map((p) => `${p.severity}: ${p.message}`);
  const expect = [
    "error: vrrp_instance VI_1 auth_hmac key 1: key file '/etc/keepalived/missing' cannot be read (it does not exist); create it (mode 0600)",
    "error: vrrp_instance VI_1 auth_hmac key 2: key file '/etc/keepalived/short' gives a 20-byte key; keys must be 32 to 64 bytes",
    "error: vrrp_instance VI_1 auth_hmac key 3: key file '/etc/keepalived/big' is too large (139 bytes; a key file holds at most 138",
    "error: vrrp_instance VI_1 auth_hmac key 4: key file '/etc/keepalived/badhex' holds a hex: key that is not valid",
    "warning: vrrp_instance VI_1 auth_hmac key 5: key file '/etc/keepalived/open' is accessible by group or others (mode 0644); make it private with 'chmod 600 /etc/keepalived/open'",
    "error: vrrp_instance VI_1 auth_hmac key 6: key file '/etc/keepalived/locked' cannot be read (permission denied)",
    "error: vrrp_instance VI_1 auth_hmac key 7: key file '/etc/keepalived' cannot be read (it is a directory)",
  ];
  assertEquals(msgs.length, expect.length, msgs.join("\n"));
  for (let i = 0; i < expect.length; i++) {
    assert(msgs[i]!.startsWith(expect[i]!), `got: ${msgs[i]}\nwant: ${expect[i]}`);
  }
  assert(!msgs.join("\n").includes(secret), "a problem shows the key");
  assert(r.problems.every((p) => p.loc?.file === "/etc/keepalived/keepalived.conf"));
  // Only the usable keys are returned (the open one is used, with its warning).
  assertEquals([...r.keys.get("VI_1")!.keys()], [5]);
});

Deno.test("decodeKeyFile: only trailing CR/LF are stripped; 138 bytes is the largest content", () => {
  const enc = new TextEncoder();
  const keep = decodeKeyFile(enc.encode(` ${K32}\t\n`));
  assert("bytes" in keep);
  assertEquals(keep.bytes.length, 34, "blanks are part of the key");
  assert("problem" in decodeKeyFile(enc.encode(`hex:${"ab".repeat(67)}`)), "hex of 138 bytes");
  const big = decodeKeyFile(enc.encode("a".repeat(64) + "\n".repeat(74)));
  assert("bytes" in big && big.bytes.length === 64);
});
