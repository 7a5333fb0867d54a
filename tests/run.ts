/**
 * The whole check suite, as `make test` runs it: format check, lint, type-check and every
 * test, then one plain closing line `N passed, M failed` (what CI counts). Each of the
 * three static checks counts as one test. Exit status 0 only when nothing failed.
 */
const deno = Deno.execPath();
const root = new URL("..", import.meta.url).pathname;
let passed = 0;
let failed = 0;

/** Runs `deno <args>`; returns how it ended ("" for success). */
async function step(name: string, args: string[]): Promise<string> {
  console.log(`==> ${name}: deno ${args.join(" ")}`);
  const { code, signal } = await new Deno.Command(deno, {
    args,
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
    env: { NO_COLOR: "1" },
  }).output();
  if (signal !== null) return `killed by ${signal}`;
  return code === 0 ? "" : `exit status ${code}`;
}

for (
  const [name, args] of [
    ["format", ["fmt", "--check"]],
    ["lint", ["lint"]],
    ["type-check", [
      "check",
      "main.ts",
      "commands/",
      "lib/",
      "ffi/",
      "tests/",
      "bench/",
      "scripts/",
    ]],
  ] as const
) {
  if (await step(name, [...args]) === "") passed++;
  else {
    failed++;
    console.log(`FAILED: ${name}`);
  }
}

const junit = await Deno.makeTempFile({ suffix: ".xml" });
const filter = Deno.args.length > 0 ? Deno.args : ["tests/"];
const ended = await step("tests", ["test", "-A", "--parallel", `--junit-path=${junit}`, ...filter]);
const xml = await Deno.readTextFile(junit).catch(() => "");
await Deno.remove(junit).catch(() => {});
// One <testcase> per test (steps are nested testcases of their own); a failure has a
// <failure> child. Count leaf test cases only.
const cases = xml.match(/<testcase\b[\s\S]*?(?:\/>|<\/testcase>)/g) ?? [];
let testFailed = 0;
for (const c of cases) if (/<failure\b/.test(c)) testFailed++;
if (cases.length === 0) {
  // deno writes the report at the end: a test process that crashed leaves none.
  console.log(`FAILED: no test report: the test process ended with ${ended || "success"}`);
  failed++;
}
passed += cases.length - testFailed;
failed += testFailed;
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(failed === 0 ? 0 : 1);
