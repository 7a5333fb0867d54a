/**
 * A throw-away qemu guest running Debian's own kernel, for the tests that need kernel
 * features this machine's kernel lacks (gre/ip6gre tunnels; spec/kernel-vm.md). One call
 * boots the guest, runs one shell command in it and powers it off.
 *
 * - Kernel: the package behind `linux-image-amd64`, fetched with `apt-get download` and
 *   unpacked into a cache outside the repository (KAD_VM_CACHE, default /var/cache/kad-vm),
 *   with `depmod` run there and the uncompressed ELF kernel cut out of vmlinuz (it boots
 *   through its PVH entry, skipping the emulated decompression). Never installed on the host.
 * - Initramfs: built for every run: static busybox as /init, the modules that reach the
 *   host's files (virtio, 9p, overlay, virtio console) in dependency order.
 * - Files: the host's / read-only over virtio-9p with a tmpfs overlay (every host binary,
 *   deno included, runs in the guest; guest writes vanish), the kernel's modules bound at
 *   /lib/modules/VERSION, and the folders in `shares` read-write at the same paths.
 * - Output: stdout and stderr of the command through two virtio-serial ports into files
 *   (byte-exact); the kernel console into a third file, shown when something goes wrong.
 *   The exit status comes back through the read-write control folder.
 * - Acceleration: KVM only when the CPU shows vmx/svm and kvm_pvm is not loaded; else TCG.
 *
 * Everything a guest cannot do is an exception: a missing host tool, a kernel that does not
 * boot, a command that never reports its exit status. Nothing here is skipped silently.
 * It touches only the cache folder and temporary folders it creates and removes.
 */

const CACHE = Deno.env.get("KAD_VM_CACHE") ?? "/var/cache/kad-vm";
/** Modules the initramfs loads to reach the host's files, by name. */
const INITRD_MODULES = ["virtio_pci", "9pnet_virtio", "9p", "overlay", "virtio_console"];
const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
/** The 6.1 kernel's largest 9p message size. */
const MSIZE = 512000;

/** Host packages the guest tests need (the lead's Makefile installs them). */
export const VM_HOST_PACKAGES = ["qemu-system-x86", "busybox-static", "kmod", "xz-utils"];

export interface KernelFiles {
  readonly package: string;
  readonly version: string;
  /** The uncompressed ELF kernel. */
  readonly vmlinux: string;
  /** The unpacked package root (lib/modules/VERSION inside, with modules.dep). */
  readonly root: string;
}

export interface GuestOptions {
  /** A shell script, run by /bin/sh in the guest. */
  readonly script: string;
  /** Its working directory (default: this process's). */
  readonly cwd?: string;
  /** Host folders shared read-write, at the same path in the guest. */
  readonly shares?: readonly string[];
  /** Extra environment variables for the script. */
  readonly env?: Readonly<Record<string, string>>;
  readonly memoryMiB?: number;
  readonly cpus?: number;
  /** Kill the guest and fail after this long (default 10 minutes). */
  readonly timeoutMs?: number;
  /** Progress messages (default: none). */
  readonly log?: (msg: string) => void;
}

export interface GuestResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The kernel console (serial port). */
  readonly console: string;
  readonly accel: "kvm" | "tcg";
  readonly elapsedMs: number;
}

/** A guest that did not run its command to completion. */
export class GuestError extends Error {
  override name = "GuestError";
}

const decoder = new TextDecoder();

async function sh(
  cmd: string,
  args: string[],
  opts: { cwd?: string; stdin?: Uint8Array } = {},
): Promise<string> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
      stdin: opts.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new GuestError(
        `'${cmd}' is not installed; the VM tests need the Debian packages ${
          VM_HOST_PACKAGES.join(", ")
        }`,
      );
    }
    throw e;
  }
  if (opts.stdin) {
    const w = child.stdin.getWriter();
    await w.write(opts.stdin);
    await w.close();
  }
  const out = await child.output();
  if (!out.success) {
    throw new GuestError(
      `'${cmd} ${args.join(" ")}' failed (status ${out.code}): ${
        decoder.decode(out.stderr).trim()
      }`,
    );
  }
  return decoder.decode(out.stdout);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** The concrete kernel package behind linux-image-amd64 (e.g. linux-image-6.1.0-56-amd64). */
async function kernelPackage(): Promise<string> {
  const find = async () => {
    const out = await sh("apt-cache", ["depends", "linux-image-amd64"]).catch(() => "");
    return /Depends:\s*(linux-image-[0-9][^\s]*)/.exec(out)?.[1];
  };
  let pkg = await find();
  if (pkg === undefined) {
    await sh("apt-get", ["update", "-qq"]);
    pkg = await find();
  }
  if (pkg === undefined) {
    throw new GuestError("apt-cache knows no package behind 'linux-image-amd64'");
  }
  return pkg;
}

function findBytes(hay: Uint8Array, needle: readonly number[]): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Download, unpack and index Debian's kernel once; later calls reuse the cache. */
export async function prepareKernel(log: (msg: string) => void = () => {}): Promise<KernelFiles> {
  const pkg = await kernelPackage();
  const dir = `${CACHE}/${pkg}`;
  const describe = (): KernelFiles => {
    const versions = [...Deno.readDirSync(`${dir}/root/lib/modules`)].map((e) => e.name);
    if (versions.length !== 1) throw new GuestError(`${dir} holds ${versions.length} kernels`);
    return {
      package: pkg,
      version: versions[0] as string,
      vmlinux: `${dir}/vmlinux`,
      root: `${dir}/root`,
    };
  };
  if (await exists(`${dir}/ready`)) return describe();

  log(`preparing ${pkg} in ${CACHE} (download and unpack, once)`);
  await Deno.mkdir(CACHE, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: CACHE, prefix: `.${pkg}-` });
  try {
    await sh("apt-get", ["download", "-qq", pkg], { cwd: tmp });
    const deb = [...Deno.readDirSync(tmp)].find((e) => e.name.endsWith(".deb"))?.name;
    if (deb === undefined) throw new GuestError(`apt-get download ${pkg} left no .deb`);
    await sh("dpkg", ["-x", `${tmp}/${deb}`, `${tmp}/root`]);
    await Deno.remove(`${tmp}/${deb}`);
    const versions = [...Deno.readDirSync(`${tmp}/root/lib/modules`)].map((e) => e.name);
    const version = versions[0];
    if (version === undefined || versions.length !== 1) {
      throw new GuestError(`${pkg} does not hold exactly one kernel`);
    }
    await sh("depmod", ["-b", `${tmp}/root`, version]);
    const vmlinuz = await Deno.readFile(`${tmp}/root/boot/vmlinuz-${version}`);
    const at = findBytes(vmlinuz, XZ_MAGIC);
    if (at < 0) throw new GuestError(`vmlinuz-${version} has no xz stream`);
    const elf = await shBytes("xz", ["-dc", "--single-stream"], vmlinuz.subarray(at));
    if (elf[0] !== 0x7f || elf[1] !== 0x45 || elf[2] !== 0x4c || elf[3] !== 0x46) {
      throw new GuestError(`the xz stream in vmlinuz-${version} is not an ELF kernel`);
    }
    await Deno.writeFile(`${tmp}/vmlinux`, elf);
    await Deno.writeTextFile(`${tmp}/ready`, `${pkg} ${version}\n`);
    try {
      await Deno.rename(tmp, dir);
    } catch (e) {
      // Another run prepared it meanwhile: keep theirs.
      if (!(await exists(`${dir}/ready`))) throw e;
      await Deno.remove(tmp, { recursive: true });
    }
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  // Older kernels are of no further use.
  for (const e of Deno.readDirSync(CACHE)) {
    if (e.name.startsWith("linux-image-") && e.name !== pkg) {
      await Deno.remove(`${CACHE}/${e.name}`, { recursive: true }).catch(() => {});
    }
  }
  return describe();
}

async function shBytes(cmd: string, args: string[], stdin: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const w = child.stdin.getWriter();
  // xz stops reading at the end of its stream; the rest of the input is not needed.
  const writing = w.write(stdin).then(() => w.close()).catch(() => {});
  const out = await child.output();
  await writing;
  if (!out.success) {
    throw new GuestError(`'${cmd} ${args.join(" ")}' failed: ${decoder.decode(out.stderr).trim()}`);
  }
  return out.stdout;
}

// ---- initramfs ----

/** A cpio "newc" archive (the format the kernel unpacks as initramfs). */
class Cpio {
  readonly #parts: Uint8Array[] = [];
  #ino = 1;

  #entry(name: string, mode: number, data: Uint8Array): void {
    const nameBytes = new TextEncoder().encode(name + "\0");
    const fields = [
      this.#ino++,
      mode,
      0,
      0,
      1,
      0,
      data.length,
      0,
      0,
      0,
      0,
      nameBytes.length,
      0,
    ];
    const header = "070701" + fields.map((f) => f.toString(16).padStart(8, "0")).join("");
    this.#push(new TextEncoder().encode(header));
    this.#push(nameBytes);
    this.#pad();
    this.#push(data);
    this.#pad();
  }

  #size(): number {
    return this.#parts.reduce((n, p) => n + p.length, 0);
  }

  #push(b: Uint8Array): void {
    this.#parts.push(b);
  }

  #pad(): void {
    const rem = this.#size() % 4;
    if (rem) this.#push(new Uint8Array(4 - rem));
  }

  dir(name: string): void {
    this.#entry(name, 0o040755, new Uint8Array(0));
  }

  file(name: string, data: Uint8Array, mode = 0o100644): void {
    this.#entry(name, mode, data);
  }

  bytes(): Uint8Array {
    this.#entry("TRAILER!!!", 0, new Uint8Array(0));
    const out = new Uint8Array(this.#size());
    let o = 0;
    for (const p of this.#parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/** True when an ELF file has a PT_INTERP header (is dynamically linked). */
function isDynamic(elf: Uint8Array): boolean {
  const v = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const phoff = Number(v.getBigUint64(32, true));
  const phentsize = v.getUint16(54, true);
  const phnum = v.getUint16(56, true);
  for (let i = 0; i < phnum; i++) if (v.getUint32(phoff + i * phentsize, true) === 3) return true;
  return false;
}

/** Module files (absolute) to load, in dependency order, for the given module names. */
async function moduleFiles(k: KernelFiles): Promise<string[]> {
  const files: string[] = [];
  for (const m of INITRD_MODULES) {
    const out = await sh("modprobe", ["-d", k.root, "-S", k.version, "--show-depends", m]);
    for (const line of out.split("\n")) {
      const path = /^insmod (\S+)/.exec(line.trim())?.[1];
      if (path !== undefined && !files.includes(path)) files.push(path);
    }
  }
  return files;
}

function q(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

async function buildInitramfs(
  k: KernelFiles,
  control: string,
  shares: readonly string[],
): Promise<Uint8Array> {
  let busybox: Uint8Array;
  try {
    busybox = await Deno.readFile("/bin/busybox");
  } catch {
    throw new GuestError("/bin/busybox is missing; install Debian's 'busybox-static' package");
  }
  if (isDynamic(busybox)) {
    throw new GuestError("/bin/busybox is dynamically linked; install 'busybox-static' instead");
  }
  const cpio = new Cpio();
  for (const d of ["bin", "modules", "proc", "sys", "dev", "host", "newroot", "upper"]) cpio.dir(d);
  cpio.file("bin/busybox", busybox, 0o100755);
  const names: string[] = [];
  for (const f of await moduleFiles(k)) {
    const name = f.slice(f.lastIndexOf("/") + 1);
    names.push(name);
    cpio.file(`modules/${name}`, await Deno.readFile(f));
  }
  const modulesDir = `${k.root}/lib/modules/${k.version}`;
  const mount9p = (tag: string, at: string, extra: string) =>
    `$B mount -t 9p -o trans=virtio,version=9p2000.L,msize=${MSIZE}${extra} ${tag} ${q(at)} ` +
    `|| die "cannot mount ${tag}"`;
  const init = [
    "#!/bin/busybox sh",
    "B=/bin/busybox",
    'die() { echo "kad-vm init: $*"; $B echo o > /proc/sysrq-trigger; $B sleep 60; }',
    "$B mount -t proc proc /proc",
    "$B mount -t sysfs sysfs /sys",
    "$B mount -t devtmpfs devtmpfs /dev",
    `for m in ${names.join(" ")}; do $B insmod /modules/$m || die "insmod $m failed"; done`,
    // The host root is read-only: loose caching is safe and makes reads much faster.
    mount9p("hostroot", "/host", ",ro,cache=loose"),
    "$B mount -t tmpfs -o mode=0755 tmpfs /upper",
    "$B mkdir -p /upper/up /upper/work",
    "$B mount -t overlay overlay -o lowerdir=/host,upperdir=/upper/up,workdir=/upper/work /newroot" +
    ' || die "cannot mount the overlay"',
    `$B mkdir -p /newroot/lib/modules/${k.version}`,
    `$B mount -o bind ${q(`/host${modulesDir}`)} /newroot/lib/modules/${k.version}`,
    ...[control, ...shares].flatMap((s, i) => [
      `$B mkdir -p ${q(`/newroot${s}`)}`,
      mount9p(`share${i}`, `/newroot${s}`, ""),
    ]),
    // PID 1 must become the new root's process, not its parent: the kernel runs modprobe
    // for module autoloading in PID 1's root (spec/kernel-vm.md).
    `exec $B chroot /newroot /bin/sh ${q(`${control}/stage2.sh`)}`,
    "",
  ].join("\n");
  cpio.file("init", new TextEncoder().encode(init), 0o100755);
  return cpio.bytes();
}

function stage2(control: string, cwd: string, env: Readonly<Record<string, string>>): string {
  const exports = Object.entries({
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: Deno.env.get("HOME") ?? "/root",
    NO_COLOR: "1",
    KAD_IN_VM: "1",
    ...env,
  }).map(([k, v]) => `export ${k}=${q(v)}`);
  return [
    ...exports,
    "mount -t proc proc /proc",
    "mount -t sysfs sysfs /sys",
    "mount -t devtmpfs devtmpfs /dev",
    "mkdir -p /dev/pts /dev/shm",
    "mount -t devpts devpts /dev/pts",
    "mount -t tmpfs tmpfs /dev/shm",
    "mount -t tmpfs tmpfs /run",
    "mount -t bpf bpf /sys/fs/bpf",
    "mount -t cgroup2 cgroup2 /sys/fs/cgroup",
    "mount -t debugfs debugfs /sys/kernel/debug",
    "hostname kad-vm",
    "ip link set lo up",
    "out=/dev/null; err=/dev/null",
    "for p in /sys/class/virtio-ports/*; do",
    '  case "$(cat "$p/name")" in',
    '    kad.stdout) out="/dev/${p##*/}";;',
    '    kad.stderr) err="/dev/${p##*/}";;',
    "  esac",
    "done",
    `cd ${q(cwd)} || echo 127 > ${q(`${control}/status`)}`,
    `/bin/sh ${q(`${control}/script.sh`)} > "$out" 2> "$err"`,
    `echo $? > ${q(`${control}/status`)}`,
    "sync",
    "echo o > /proc/sysrq-trigger",
    "sleep 60",
    "",
  ].join("\n");
}

/** KVM only where it really is hardware virtualisation (spec/kernel-vm.md). */
async function accel(): Promise<"kvm" | "tcg"> {
  if (!(await exists("/dev/kvm")) || (await exists("/sys/module/kvm_pvm"))) return "tcg";
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  return /\b(vmx|svm)\b/.test(cpuinfo) ? "kvm" : "tcg";
}

/** Boot a guest, run `script`, return its status and output. */
export async function runInGuest(opts: GuestOptions): Promise<GuestResult> {
  const log = opts.log ?? (() => {});
  const t0 = performance.now();
  const k = await prepareKernel(log);
  const control = await Deno.makeTempDir({ prefix: "kad-vm-" });
  try {
    const cwd = opts.cwd ?? Deno.cwd();
    const shares = opts.shares ?? [];
    await Deno.writeTextFile(`${control}/script.sh`, opts.script);
    await Deno.writeTextFile(`${control}/stage2.sh`, stage2(control, cwd, opts.env ?? {}));
    await Deno.writeFile(`${control}/initrd.cpio`, await buildInitramfs(k, control, shares));
    const how = await accel();
    const cpus = opts.cpus ?? 2;
    const args = [
      "-nodefaults",
      "-no-user-config",
      "-machine",
      "q35",
      "-accel",
      how === "kvm" ? "kvm" : "tcg,thread=multi",
      "-cpu",
      how === "kvm" ? "host" : "max",
      "-smp",
      String(cpus),
      "-m",
      String(opts.memoryMiB ?? 1024),
      "-display",
      "none",
      "-no-reboot",
      "-kernel",
      k.vmlinux,
      "-initrd",
      `${control}/initrd.cpio`,
      "-append",
      "console=ttyS0 panic=-1 quiet loglevel=4",
      "-serial",
      `file:${control}/console.log`,
      "-fsdev",
      "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap",
      "-device",
      "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot",
      ...[control, ...shares].flatMap((s, i) => [
        "-fsdev",
        `local,id=share${i},path=${s},security_model=none,multidevs=remap`,
        "-device",
        `virtio-9p-pci,fsdev=share${i},mount_tag=share${i}`,
      ]),
      "-device",
      "virtio-serial-pci",
      "-chardev",
      `file,id=out,path=${control}/stdout`,
      "-device",
      "virtserialport,chardev=out,name=kad.stdout",
      "-chardev",
      `file,id=err,path=${control}/stderr`,
      "-device",
      "virtserialport,chardev=err,name=kad.stderr",
    ];
    log(`booting ${k.package} (${how}, ${cpus} vCPUs)`);
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("qemu-system-x86_64", {
        args,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new GuestError("qemu-system-x86_64 is not installed; install 'qemu-system-x86'");
      }
      throw e;
    }
    const timeoutMs = opts.timeoutMs ?? 600_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, timeoutMs);
    const qemu = await child.output();
    clearTimeout(timer);
    const read = (f: string) => Deno.readTextFile(`${control}/${f}`).catch(() => "");
    const consoleText = await read("console.log");
    const statusText = (await read("status")).trim();
    const elapsedMs = performance.now() - t0;
    if (timedOut || statusText === "") {
      const why = timedOut
        ? `the guest did not finish within ${Math.round(timeoutMs / 1000)} s`
        : `the guest stopped without reporting an exit status (qemu exit ${qemu.code}: ${
          decoder.decode(qemu.stderr).trim()
        })`;
      throw new GuestError(
        `${why}\n--- guest stderr ---\n${(await read("stderr")).slice(-4000)}` +
          `\n--- kernel console (last lines) ---\n${consoleText.split("\n").slice(-40).join("\n")}`,
      );
    }
    return {
      code: Number(statusText),
      stdout: await read("stdout"),
      stderr: await read("stderr"),
      console: consoleText,
      accel: how,
      elapsedMs,
    };
  } finally {
    await Deno.remove(control, { recursive: true }).catch(() => {});
  }
}
