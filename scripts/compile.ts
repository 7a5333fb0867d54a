/**
 * Build the single kad binary with `deno compile` (deno task compile). It needs Deno's
 * `denort` runtime: on machines that can download it, deno fetches it; elsewhere point
 * DENORT_BIN at a denort binary (deno honours that variable). Compiled BPF objects under
 * bpf/build/ are embedded when present. Output: dist/kad.
 */
const deno = Deno.execPath();
const root = new URL("..", import.meta.url).pathname;
const args = ["compile", "-A", "--config", `${root}deno.json`, "--output", `${root}dist/kad`];
try {
  if (Deno.statSync(`${root}bpf/build`).isDirectory) args.push("--include", `${root}bpf/build`);
} catch {
  // No BPF objects built yet: nothing to embed.
}
args.push(`${root}main.ts`);
const denort = Deno.env.get("DENORT_BIN");
console.log(`deno ${args.join(" ")}${denort ? ` (DENORT_BIN=${denort})` : ""}`);
const { code } = await new Deno.Command(deno, { args, stdout: "inherit", stderr: "inherit" })
  .output();
if (code !== 0) {
  console.error(
    "compile failed. deno compile needs the denort runtime: if it cannot be downloaded here, " +
      "set DENORT_BIN to a denort binary of the same version (" + Deno.version.deno +
      ") and retry; " +
      "'deno task bundle' builds dist/kad.js, which runs with 'deno run -A dist/kad.js'",
  );
}
Deno.exit(code);
