import { assert, assertEquals, assertStringIncludes, assertThrows } from "../_assert.ts";
import {
  EMPTY_KEY_STATE,
  KEY_STATE_MAX_BYTES,
  KeyStateError,
  recordActivate,
  recordAdd,
} from "../../lib/config/key_state.ts";
import {
  isOwnKeyPath,
  ownKeyDir,
  ownKeyPath,
  readKeyState,
  removeOwnKey,
  storeOwnKey,
  writeKeyState,
} from "../../lib/runtime/key_state_file.ts";

async function withDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kad-keystate-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("key state file: absent is empty; written atomically with mode 0600 and read back", () =>
  withDir((dir) => {
    const path = `${dir}/lib/kad/auth-keys.json`;
    assertEquals(readKeyState(path), EMPTY_KEY_STATE);
    const s = recordActivate(
      recordAdd(EMPTY_KEY_STATE, "VI_1", { id: 2, keyFile: "/etc/kad/k2", origin: "file" }),
      "VI_1",
      2,
    );
    writeKeyState(path, s);
    assertEquals(readKeyState(path), s);
    assertEquals(Deno.statSync(path).mode! & 0o777, 0o600);
    assertEquals(Deno.statSync(`${dir}/lib/kad`).mode! & 0o777, 0o700);
    // Nothing else is left in the directory (the temporary file was renamed).
    assertEquals([...Deno.readDirSync(`${dir}/lib/kad`)].map((e) => e.name), ["auth-keys.json"]);
    // A second write replaces the first; a group-readable old file becomes 0600 again.
    Deno.chmodSync(path, 0o644);
    writeKeyState(path, EMPTY_KEY_STATE);
    assertEquals(readKeyState(path), EMPTY_KEY_STATE);
    assertEquals(Deno.statSync(path).mode! & 0o777, 0o600);
  }));

Deno.test("key state file: unusable files are refused naming the file and the fix", () =>
  withDir((dir) => {
    const path = `${dir}/auth-keys.json`;
    const refuse = (part: string) => {
      const e = assertThrows(() => readKeyState(path), KeyStateError);
      assertStringIncludes(e.message, `key state file '${path}' ${part}`);
      assertStringIncludes(e.message, "move it away");
    };
    Deno.writeTextFileSync(path, '{"kad_key_state":1,"instances":{"VI_1":{"retired":[1]}');
    refuse("is not valid JSON");
    Deno.writeFileSync(path, new Uint8Array([0x7b, 0xff, 0x7d]));
    refuse("is not UTF-8 text");
    Deno.writeTextFileSync(path, " ".repeat(KEY_STATE_MAX_BYTES + 1));
    refuse(`is too large (${KEY_STATE_MAX_BYTES + 1} bytes`);
    Deno.removeSync(path);
    Deno.mkdirSync(path);
    refuse("is not a regular file");
  }));

Deno.test("key state file: a failed write says why and leaves the old file", () =>
  withDir((dir) => {
    const path = `${dir}/auth-keys.json`;
    writeKeyState(path, recordActivate(EMPTY_KEY_STATE, "VI_1", 3));
    const before = Deno.readTextFileSync(path);
    // The directory cannot hold a new file: the temporary file cannot be created.
    Deno.chmodSync(dir, 0o500);
    try {
      if (Deno.uid() === 0) {
        // root ignores directory modes: make the temporary file's path a non-empty directory.
        Deno.mkdirSync(`${path}.${Deno.pid}.tmp/x`, { recursive: true });
      }
      const e = assertThrows(() => writeKeyState(path, EMPTY_KEY_STATE), Error);
      assertStringIncludes(e.message, `key state file '${path}' cannot be written`);
      assertStringIncludes(e.message, "--key-state");
    } finally {
      Deno.chmodSync(dir, 0o700);
      if (Deno.uid() === 0) Deno.removeSync(`${path}.${Deno.pid}.tmp`, { recursive: true });
    }
    assertEquals(Deno.readTextFileSync(path), before);
  }));

Deno.test("key state file: kad's own key files for keys given on stdin", () =>
  withDir((dir) => {
    const state = `${dir}/auth-keys.json`;
    assertEquals(ownKeyDir(state), `${dir}/auth-keys.d`);
    const key = new Uint8Array(32).map((_, i) => i);
    const path = storeOwnKey(state, "VI/1 x", 7, key);
    assertEquals(path, `${dir}/auth-keys.d/VI%2F1%20x.7.key`);
    assertEquals(path, ownKeyPath(state, "VI/1 x", 7));
    // The content is a key file as the configuration reads it: hex:DIGITS and a newline.
    const text = Deno.readTextFileSync(path);
    assertEquals(text, `hex:${[...key].map((b) => b.toString(16).padStart(2, "0")).join("")}\n`);
    assertEquals(Deno.statSync(path).mode! & 0o777, 0o600);
    assertEquals(Deno.statSync(ownKeyDir(state)).mode! & 0o777, 0o700);
    // The caller's bytes are left alone (the caller wipes them).
    assertEquals(key[31], 31);
    assert(isOwnKeyPath(state, path));
    // Only kad's own files are ever deleted.
    const foreign = `${dir}/operator.key`;
    Deno.writeTextFileSync(foreign, "x".repeat(32));
    for (const p of [foreign, `${dir}/auth-keys.d/../operator.key`, `${dir}/auth-keys.d/x`]) {
      assertEquals(isOwnKeyPath(state, p), false, p);
      removeOwnKey(state, p);
    }
    assert(Deno.statSync(foreign).isFile);
    removeOwnKey(state, path);
    assertThrows(() => Deno.statSync(path), Deno.errors.NotFound);
    removeOwnKey(state, path);
  }));
