/**
 * Tests for lib/config/preprocess.ts: physical lines, conditionals, definitions,
 * built-ins, ~SEQ/~LST, includes and brace splitting (spec/vrrp.md §4.1, §4.4–§4.7).
 */
import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { DiagClass, type Diagnostic, DiagnosticSink } from "../../lib/config/diagnostic.ts";
import {
  expandBraces,
  matchSegment,
  MAX_INCLUDE_DEPTH,
  preprocess,
  type PreprocessOptions,
  preprocessText,
} from "../../lib/config/preprocess.ts";
import { type ConfigFs, denoFs, memoryFs } from "../../lib/config/source.ts";

const MAIN = "/etc/keepalived/keepalived.conf";
const ENV: Record<string, string> = { HOME: "/root", IFACE: "eth0" };

interface Run {
  raws: string[];
  lines: ReturnType<typeof preprocess>["lines"];
  files: string[];
  diags: Diagnostic[];
  msgs: string[];
}

function runFs(fs: ConfigFs, main = MAIN, opts: Partial<PreprocessOptions> = {}): Run {
  const sink = new DiagnosticSink();
  const r = preprocess(main, {
    fs,
    sink,
    configId: "lb1",
    env: (n) => ENV[n],
    random: () => 0.5,
    ...opts,
  });
  return {
    raws: r.lines.map((l) => l.raw),
    lines: r.lines,
    files: r.files,
    diags: sink.items,
    msgs: sink.items.map((d) => `${d.class}: ${d.message}`),
  };
}

function run(
  files: Record<string, string | Uint8Array>,
  opts: Partial<PreprocessOptions> = {},
  modes: Record<string, number> = {},
): Run {
  return runFs(memoryFs(files, modes), MAIN, opts);
}

/** Preprocess one main file's text. */
function pp(text: string, opts: Partial<PreprocessOptions> = {}): Run {
  return run({ [MAIN]: text }, opts);
}

function only(r: Run, cls: DiagClass): Diagnostic[] {
  return r.diags.filter((d) => d.class === cls);
}

function oneDiag(r: Run, cls: DiagClass, includes: string): Diagnostic {
  const found = r.diags.filter((d) => d.class === cls && d.message.includes(includes));
  assertEquals(
    found.length,
    1,
    `expected one ${cls} containing '${includes}', got ${r.msgs.join(" | ")}`,
  );
  return found[0] as Diagnostic;
}

// ---- physical lines ------------------------------------------------------------------

Deno.test("lines carry file, line and column of where they came from", () => {
  const r = pp("global_defs {\n\n   router_id lb1\n}\n");
  assertEquals(r.raws, ["global_defs", "{", "router_id lb1", "}"]);
  assertEquals(r.lines.map((l) => l.loc), [
    { file: MAIN, line: 1, column: 1 },
    { file: MAIN, line: 1, column: 13 },
    { file: MAIN, line: 3, column: 4 },
    { file: MAIN, line: 4, column: 1 },
  ]);
  assertEquals(r.lines[2]?.tokens.map((t) => [t.text, t.column]), [["router_id", 4], ["lb1", 14]]);
  assertEquals(r.diags, []);
  assertEquals(r.files, [MAIN]);
});

Deno.test("CRLF line endings are accepted", () => {
  const r = pp("a 1\r\nb 2 # c\r\n\r\nc\r\n");
  assertEquals(r.raws, ["a 1", "b 2", "c"]);
  assertEquals(r.lines[2]?.loc.line, 4);
  assertEquals(r.diags, []);
});

Deno.test("a UTF-8 byte order mark is skipped", () => {
  assertEquals(pp("\ufeffglobal_defs\n").raws, ["global_defs"]);
});

Deno.test("a line of 1023 bytes plus newline is accepted", () => {
  const long = "x " + "y".repeat(1021);
  const r = pp(`${long}\nafter\n`);
  assertEquals(r.raws, [long, "after"]);
  assertEquals(r.diags, []);
});

Deno.test("a line longer than 1024 bytes is reported and ignored, as keepalived", () => {
  const r = pp(`before\nx ${"y".repeat(1022)}\nafter\n`);
  assertEquals(r.raws, ["before", "after"]);
  const d = oneDiag(r, DiagClass.GENERAL_ERROR, "line too long");
  assertEquals(d.message, "line too long (1025 bytes, the limit is 1024) - ignoring");
  assertEquals(d.loc, { file: MAIN, line: 2, column: 1 });
});

Deno.test("line length is counted in bytes, not characters", () => {
  const r = pp(`x ${"é".repeat(600)}\nok\n`);
  assertEquals(r.raws, ["ok"]);
  oneDiag(r, DiagClass.GENERAL_ERROR, "line too long (1203 bytes");
});

Deno.test("a line with a NUL byte is reported and ignored", () => {
  const r = pp("a\nb\0c\nd\n");
  assertEquals(r.raws, ["a", "d"]);
  const d = oneDiag(r, DiagClass.GENERAL_ERROR, "NUL");
  assertEquals(d.message, "line 2 contains a NUL byte - ignoring");
  assertEquals(d.loc, { file: MAIN, line: 2, column: 2 });
});

Deno.test("a line that is not valid UTF-8 is reported and ignored", () => {
  const bytes = new Uint8Array([0x61, 0x0a, 0x62, 0xff, 0xfe, 0x0a, 0x63, 0x0a]);
  const r = run({ [MAIN]: bytes });
  assertEquals(r.raws, ["a", "c"]);
  const d = oneDiag(r, DiagClass.GENERAL_ERROR, "not valid UTF-8");
  assertEquals(d.loc?.line, 2);
});

Deno.test("binary garbage: 20 bad lines, then one 'file looks binary' error and reading stops", () => {
  const lines: number[] = [];
  for (let i = 0; i < 30; i++) lines.push(0x00, 0xff, 0x80, 0x41 + i, 0x0a);
  const after = new TextEncoder().encode("valid_after_garbage\n");
  const r = run({ [MAIN]: new Uint8Array([...lines, ...after]) });
  assertEquals(r.raws, []);
  assertEquals(r.diags.length, 21);
  const last = r.diags[20] as Diagnostic;
  assertStringIncludes(last.message, "file looks binary");
  assertEquals(last.loc?.line, 20);
});

Deno.test("binary garbage of invalid UTF-8 without NUL bytes also stops after 20 lines", () => {
  const bytes: number[] = [];
  for (let i = 0; i < 25; i++) bytes.push(0xc3, 0x28, 0x0a);
  const r = run({ [MAIN]: new Uint8Array(bytes) });
  assertEquals(r.diags.filter((d) => d.message.includes("not valid UTF-8")).length, 20);
  oneDiag(r, DiagClass.GENERAL_ERROR, "file looks binary");
});

Deno.test("an empty file gives no lines and no diagnostics", () => {
  const r = pp("");
  assertEquals([r.raws, r.diags], [[], []]);
});

// ---- comments and quotes ------------------------------------------------------------

Deno.test("comments start at # or ! outside double quotes", () => {
  const r = pp('a 1 # c\nb "x#y!z" ! c\n! all\n# all\n');
  assertEquals(r.raws, ["a 1", 'b "x#y!z"']);
  assertEquals(r.lines[1]?.tokens[1], { text: "x#y!z", quoted: true, column: 3 });
});

Deno.test("single quotes do not protect a comment (verified: 'ab#cd' → 'ab)", () => {
  assertEquals(pp("auth_pass 'ab#cd'\n").raws, ["auth_pass 'ab"]);
});

Deno.test("\\# and \\! outside double quotes are literal # and !", () => {
  const r = pp("auth_pass a\\#b\\!c # comment\n");
  assertEquals(r.raws, ["auth_pass a#b!c"]);
  assertEquals(r.lines[0]?.tokens[1]?.text, "a#b!c");
});

Deno.test("an unterminated quote is reported once as UNMATCHED_QUOTE", () => {
  const r = pp('notify "/bin/x a\nnext\n');
  const d = oneDiag(r, DiagClass.UNMATCHED_QUOTE, "Unterminated quote");
  assertEquals(d.loc?.line, 1);
  assertEquals(r.raws, ['notify "/bin/x a', "next"]);
  assertEquals(r.lines[0]?.tokens.map((t) => t.text), ["notify"]);
});

Deno.test("a trailing backslash on an ordinary line stays literal (verified: '32\\')", () => {
  const r = pp("virtual_ipaddress {\n  192.0.2.100/32 \\\n}\n");
  assertEquals(r.raws, ["virtual_ipaddress", "{", "192.0.2.100/32\\", "}"]);
});

// ---- braces -----------------------------------------------------------------------------

Deno.test("braces split a line into separate logical lines with their columns", () => {
  const r = pp("vrrp_instance VI_1 { state MASTER } x\n");
  assertEquals(r.raws, ["vrrp_instance VI_1", "{", "state MASTER", "}", "x"]);
  assertEquals(r.lines.map((l) => l.loc.column), [1, 20, 22, 35, 37]);
});

Deno.test("braces inside double quotes do not split", () => {
  const r = pp('script "/bin/x {a}" {\n');
  assertEquals(r.raws, ['script "/bin/x {a}"', "{"]);
});

Deno.test("the remainder after a brace is processed again for @ID conditionals", () => {
  const r = pp("a { @lb1 kept\nb { @other dropped\n");
  assertEquals(r.raws, ["a", "{", "kept", "b", "{"]);
});

Deno.test("a definition may hold braces; they split after substitution", () => {
  assertEquals(pp("$B=x { y 1 }\n$B\n").raws, ["x", "{", "y 1", "}"]);
});

Deno.test("the remainder after a brace is not substituted twice", () => {
  const r = pp("a { $UNDEF }\n");
  assertEquals(r.raws, ["a", "{", "$UNDEF", "}"]);
  assertEquals(only(r, DiagClass.WARNING).length, 1);
});

// ---- @ conditionals -------------------------------------------------------------------------

Deno.test("@ID keeps a line only for the matching config-id, @^ID only for others", () => {
  const r = pp("@lb1 a 1\n@lb2 b 2\n@^lb1 c 3\n@^lb2 d 4\n@lb1   e\t5\n");
  assertEquals(r.raws, ["a 1", "d 4", "e\t5"]);
  assertEquals(r.lines[0]?.loc.column, 6);
  assertEquals(r.diags, []);
});

Deno.test("without a config-id @ID lines are dropped and @^ID lines kept", () => {
  assertEquals(pp("@lb1 a\n@^lb1 b\n", { configId: "" }).raws, ["b"]);
});

Deno.test("an @ID line with nothing after the id is dropped", () => {
  assertEquals(pp("@lb1\n@^x\nz\n").raws, ["z"]);
});

Deno.test("@ID applies before definitions, so definitions can be per host", () => {
  const r = pp("@lb1 $P=150\n@lb2 $P=100\npriority $P\n");
  assertEquals(r.raws, ["priority 150"]);
});

Deno.test("[quirk] a substitution producing @ID is not evaluated again (verified)", () => {
  const r = pp("$IF_MAIN=@lb1\n$IF_MAIN priority 240\n");
  assertEquals(r.raws, ["@lb1 priority 240"]);
  assertEquals(r.lines[0]?.tokens[0]?.text, "@lb1");
});

// ---- definitions ------------------------------------------------------------------------

Deno.test("a definition is used as $NAME before a blank, ',' or ')' and at line end", () => {
  const r = pp("$X=5\na $X\nb $X,$X)\nc$X\n");
  assertEquals(r.raws, ["a 5", "b 5,5)", "c5"]);
  assertEquals(r.diags, []);
});

Deno.test("${NAME} is substituted anywhere", () => {
  assertEquals(pp("$N=10\naddr 192.0.2.${N}/24\n").raws, ["addr 192.0.2.10/24"]);
});

Deno.test("$NAME followed by other characters is not substituted, with a hint", () => {
  const r = pp("$N=10\naddr 192.0.2.$N/24\n");
  assertEquals(r.raws, ["addr 192.0.2.$N/24"]);
  oneDiag(r, DiagClass.WARNING, "write ${N}");
});

Deno.test("a definition name must not have a blank before '='", () => {
  const r = pp("$X =5\n");
  assertEquals(r.raws, ["$X =5"]);
});

Deno.test("blanks after '=' are skipped and an empty value is allowed", () => {
  const r = pp("$A=   v w\n$E=\nx ${A}.${E}.\n");
  assertEquals(r.raws, ["x v w.."]);
});

Deno.test("a redefinition replaces the value, also of a built-in", () => {
  const r = pp("$A=1\na $A\n$A=2\na $A\n$_HASH=hash\nh ${_HASH}\n");
  assertEquals(r.raws, ["a 1", "a 2", "h hash"]);
});

Deno.test("values are resolved at use time and rescanned", () => {
  const r = pp("$A=${B}-$C\n$B=b\n$C=c\nv $A\n$B=bb\nv $A\n");
  assertEquals(r.raws, ["v b-c", "v bb-c"]);
});

Deno.test("an undefined $NAME is left literal with a warning (verified: $UNDEF stays)", () => {
  const r = pp("x $UNDEF y\n");
  assertEquals(r.raws, ["x $UNDEF y"]);
  const d = oneDiag(r, DiagClass.WARNING, "undefined");
  assertEquals(
    d.message,
    "undefined definition '$UNDEF' left as written; define it with $UNDEF=value",
  );
  assertEquals(d.loc, { file: MAIN, line: 1, column: 3 });
});

Deno.test("an undefined $NAME inside double quotes (a script's shell variable) is not warned about", () => {
  const r = pp("notify_master \"/bin/sh -c 'echo $STATE $1'\" $X\n");
  assertEquals(r.raws, ["notify_master \"/bin/sh -c 'echo $STATE $1'\" $X"]);
  assertEquals(r.msgs, [
    "WARNING: undefined definition '$X' left as written; define it with $X=value",
  ]);
});

Deno.test("a $ that starts no definition name is left alone silently", () => {
  const r = pp("x $1 $ a$$ $.\n");
  assertEquals(r.raws, ["x $1 $ a$$ $."]);
  assertEquals(r.diags, []);
});

Deno.test("an unresolved ${…} is split at its braces, as keepalived does", () => {
  const r = pp("x ${1}\n");
  assertEquals(r.raws, ["x $", "{", "1", "}"]);
});

Deno.test("parameters given to a user definition leave it as written", () => {
  const r = pp("$A=1\nx ${A 2}\n");
  assertEquals(r.raws[0], "x $");
  oneDiag(r, DiagClass.WARNING, "takes no parameters");
});

Deno.test("a definition loop is an error and the line is dropped, without hanging", () => {
  const r = pp("$A=$B\n$B=$A\nloop $A\nnext\n");
  assertEquals(r.raws, ["next"]);
  const d = oneDiag(r, DiagClass.GENERAL_ERROR, "Definition loop");
  assertStringIncludes(d.message, "$A → $B → $A");
  assertEquals(d.loc?.line, 3);
});

Deno.test("a definition that refers to itself is a loop", () => {
  const r = pp("$A=${A}\nx $A\n");
  assertEquals(r.raws, []);
  oneDiag(r, DiagClass.GENERAL_ERROR, "Definition loop $A → $A");
});

Deno.test("a growing self-reference stops at the 1024-byte line limit", () => {
  const r = pp("$A=xx $A\nv $A\nnext\n");
  assertEquals(r.raws, ["next"]);
  oneDiag(r, DiagClass.GENERAL_ERROR, "longer than 1024 bytes");
});

Deno.test("a substitution longer than the line limit is reported and the line dropped", () => {
  const r = pp(`$L=${"z".repeat(600)}\nv $L $L\nv $L\n`);
  assertEquals(r.raws, [`v ${"z".repeat(600)}`]);
  oneDiag(r, DiagClass.GENERAL_ERROR, "longer than 1024 bytes");
});

Deno.test("the line is decommented again after substitution (verified: 3${_HASH} → 3)", () => {
  const r = pp('$C=# gone\nv 3${_HASH}\nq "a${_HASH}b${_BANG}"\nw x $C\n');
  assertEquals(r.raws, ["v 3", 'q "a#b!"', "w x"]);
  assertEquals(r.lines[1]?.tokens[1]?.text, "a#b!");
});

Deno.test("an escaped \\# survives substitution as a literal #", () => {
  assertEquals(pp("$X=5\nv a\\#b $X\n").raws, ["v a#b 5"]);
  assertEquals(pp("$X=a\\#b\nv $X\n").raws, ["v a#b"]);
});

Deno.test("a multi-line definition used alone expands to several lines", () => {
  const r = pp("$M=a 1 \\\n   b 2 \\\n c 3\nx\n$M\ny\n");
  assertEquals(r.raws, ["x", "a 1", "b 2", "c 3", "y"]);
  assertEquals(r.lines.map((l) => l.loc.line), [4, 5, 5, 5, 6]);
});

Deno.test("multi-line definition lines are substituted when used", () => {
  const r = pp("$M=ip ${A} \\\nport $B\n$A=1\n$B=2\n$M\n$A=3\n$M\n");
  assertEquals(r.raws, ["ip 1", "port 2", "ip 3", "port 2"]);
});

Deno.test("an empty line ends a multi-line definition; comment-only lines are skipped", () => {
  const r = pp("$M=a \\\n# note\n  \nb \\\n\nnot_in_m\n$M\n");
  assertEquals(r.raws, ["not_in_m", "a", "b"]);
});

Deno.test("$NAME=\\ followed by one line is an ordinary definition", () => {
  const r = pp("$M=\\\nonly\nv $M x\n");
  assertEquals(r.raws, ["v only x"]);
});

Deno.test("a multi-line definition at the end of a line continues on the next lines", () => {
  const r = pp("$M=a \\\nb\npre $M\n");
  assertEquals(r.raws, ["pre a", "b"]);
});

Deno.test("a multi-line definition in the middle of a line is left with a warning", () => {
  const r = pp("$M=a \\\nb\npre $M post\n");
  assertEquals(r.raws, ["pre $M post"]);
  oneDiag(r, DiagClass.WARNING, "only expanded at the end of a line");
});

Deno.test("a multi-line definition that uses itself stops at the nesting limit", () => {
  const r = pp("$M=a \\\n$M\n$M\nnext\n");
  assertEquals(r.raws.filter((x) => x === "a").length, 33);
  assertEquals(r.raws[r.raws.length - 1], "next");
  oneDiag(r, DiagClass.GENERAL_ERROR, "nested deeper than 32 levels");
});

Deno.test("definitions carry from a file into the files it includes and back", () => {
  const r = run({
    [MAIN]: "$A=1\ninclude inc.conf\nmain $A $B\n",
    "/etc/keepalived/inc.conf": "inc $A\n$A=2\n$B=3\n",
  });
  assertEquals(r.raws, ["inc 1", "main 2 3"]);
});

// ---- built-in definitions -------------------------------------------------------------

Deno.test("${_PWD} is the directory of the file being read", () => {
  const r = run({
    [MAIN]: "p ${_PWD}\ninclude sub/x.conf\n",
    "/etc/keepalived/sub/x.conf": "q ${_PWD}\n",
  });
  assertEquals(r.raws, ["p /etc/keepalived", "q /etc/keepalived/sub"]);
});

Deno.test("${_PWD} of a relative file name uses the cwd option", () => {
  const sink = new DiagnosticSink();
  const r = preprocessText("p ${_PWD}\n", "conf/k.conf", {
    fs: memoryFs({}),
    sink,
    configId: "",
    env: () => undefined,
    cwd: "/srv",
  });
  assertEquals(r.lines.map((l) => l.raw), ["p /srv/conf"]);
});

Deno.test("${_INSTANCE} is the config-id", () => {
  assertEquals(pp("i ${_INSTANCE}\n").raws, ["i lb1"]);
});

Deno.test("${_RANDOM} gives an integer in [0, 32767] by default", () => {
  assertEquals(pp("r ${_RANDOM}\n", { random: () => 0 }).raws, ["r 0"]);
  assertEquals(pp("r ${_RANDOM}\n", { random: () => 0.5 }).raws, ["r 16384"]);
  assertEquals(pp("r ${_RANDOM}\n", { random: () => 0.99999999 }).raws, ["r 32767"]);
});

Deno.test("${_RANDOM MIN MAX} stays within [MIN, MAX]", () => {
  assertEquals(pp("r ${_RANDOM 10 20}\n", { random: () => 0 }).raws, ["r 10"]);
  assertEquals(pp("r ${_RANDOM 10 20}\n", { random: () => 0.9999 }).raws, ["r 20"]);
  assertEquals(pp("r ${_RANDOM 7}\n", { random: () => 0.99999999 }).raws, ["r 32767"]);
  assertEquals(pp("r ${_RANDOM 7}\n", { random: () => 0 }).raws, ["r 7"]);
});

Deno.test("${_RANDOM 5 2} is an error and uses MIN", () => {
  const r = pp("r ${_RANDOM 5 2}\n");
  assertEquals(r.raws, ["r 5"]);
  oneDiag(r, DiagClass.GENERAL_ERROR, "MIN 5 is greater than MAX 2");
});

Deno.test("${_RANDOM} with a non-numeric parameter is left as written", () => {
  const r = pp("r ${_RANDOM x}\n");
  assertEquals(r.raws[0], "r $");
  oneDiag(r, DiagClass.WARNING, "takes numbers");
});

Deno.test("${_RANDOM} with too many parameters is an error", () => {
  const r = pp("r ${_RANDOM 1 1 9}\n");
  assertEquals(r.raws, ["r 1"]);
  oneDiag(r, DiagClass.GENERAL_ERROR, "Too many parameters");
});

Deno.test("${_ENV NAME} gives the environment variable", () => {
  assertEquals(pp("interface ${_ENV IFACE}\n").raws, ["interface eth0"]);
});

Deno.test("${_ENV NAME} of an unset variable gives '' with a warning naming it (verified)", () => {
  const r = pp("x ${_ENV NOPE}y\n");
  assertEquals(r.raws, ["x y"]);
  const d = oneDiag(r, DiagClass.WARNING, "NOPE");
  assertStringIncludes(d.message, "Environment variable 'NOPE' is not set");
});

Deno.test("${_ENV} needs exactly one name", () => {
  const r = pp("x ${_ENV} ${_ENV A B}\n");
  assertEquals(r.raws, ["x"]);
  assertEquals(only(r, DiagClass.GENERAL_ERROR).length, 2);
});

Deno.test("${NAME } with a trailing blank is not a reference", () => {
  const r = pp("x ${_ENV HOME }\n");
  assertEquals(r.raws[0], "x $");
  assertEquals(r.diags, []);
});

// ---- ~SEQ / ~LST --------------------------------------------------------------------------

Deno.test("~SEQ(VAR, END) counts from 1, or from -1 for negative END", () => {
  assertEquals(pp("~SEQ(i, 3) v $i\n").raws, ["v 1", "v 2", "v 3"]);
  assertEquals(pp("~SEQ(i, 0) v $i\n").raws, ["v 1", "v 0"]);
  assertEquals(pp("~SEQ(i, -2) v $i\n").raws, ["v -1", "v -2"]);
});

Deno.test("~SEQ(VAR, START, END) steps by ±1", () => {
  assertEquals(pp("~SEQ(i, 5, 3) v ${i}\n").raws, ["v 5", "v 4", "v 3"]);
  assertEquals(pp("~SEQ(i,2,2) v ${i}\n").raws, ["v 2"]);
});

Deno.test("~SEQ(VAR, START, STEP, END) uses the step", () => {
  assertEquals(pp("~SEQ(i, 1, 2, 6) v $i\n").raws, ["v 1", "v 3", "v 5"]);
  assertEquals(pp("~SEQ(i, 10, -5, 0) v $i\n").raws, ["v 10", "v 5", "v 0"]);
});

Deno.test("~SEQ values are parsed like strtol base 0: hex and octal", () => {
  assertEquals(pp("~SEQ(i, 0x10, 0x11) v $i\n").raws, ["v 16", "v 17"]);
  assertEquals(pp("~SEQ(i, 010) v $i\n").raws.length, 8);
});

Deno.test("~SEQx formats in lower-case hex without 0x", () => {
  assertEquals(pp("~SEQx(i, 9, 12) fe80::$i\n").raws, ["fe80::9", "fe80::a", "fe80::b", "fe80::c"]);
});

Deno.test("~SEQ lines carry the location of the ~SEQ line", () => {
  const r = pp("a\n~SEQ(i, 2)   v $i\n");
  assertEquals(r.lines.map((l) => [l.loc.line, l.loc.column]), [[1, 1], [2, 14], [2, 14]]);
});

Deno.test("~SEQ with a zero step, a step pointing away or a bad value is an error", () => {
  for (
    const [line, why] of [
      ["~SEQ(i, 1, 0, 5) v", "the step is 0"],
      ["~SEQ(i, 1, -1, 5) v", "points away"],
      ["~SEQ(i, 5, 1, 1) v", "points away"],
      ["~SEQ(i, x) v", "'x' is not an integer"],
      ["~SEQ(i, ) v", "'' is not an integer"],
      ["~SEQ(i) v", "expected (VAR, END)"],
      ["~SEQ(i, 1, 2, 3, 4) v", "too many values"],
      ["~SEQ(1i, 3) v", "not a definition name"],
      ["~SEQ i, 3 v", "expected '('"],
      ["~SEQ(i, 3 v", "missing ')'"],
      ["~SEQx(i, -1, 2) v", "non-negative"],
      ["~SEQ(i, 1, 1000000) v", "more than the limit"],
      ["~SEQ(i, 99999999999999999999) v", "not an integer"],
    ]
  ) {
    const r = pp(`${line}\nnext\n`);
    assertEquals(r.raws, ["next"], line);
    const d = oneDiag(r, DiagClass.GENERAL_ERROR, why as string);
    assertStringIncludes(d.message, "Invalid ~SEQ specification");
    assertEquals(d.loc?.line, 1);
  }
});

Deno.test("~SEQ parameters may use definitions, but not multi-line ones", () => {
  assertEquals(pp("$N=3\n~SEQ(i, $N) v $i\n").raws, ["v 1", "v 2", "v 3"]);
  const r = pp("$M=a \\\nb\n~SEQ(i, $M) v\nnext\n");
  assertEquals(r.raws, ["next"]);
  oneDiag(r, DiagClass.GENERAL_ERROR, "cannot be used here");
});

Deno.test("several ~SEQ/~LST prefixes nest, leftmost outermost", () => {
  const r = pp("~SEQ(a, 1, 2) ~LST(b, x, y) v $a $b\n");
  assertEquals(r.raws, ["v 1 x", "v 1 y", "v 2 x", "v 2 y"]);
});

Deno.test("an inner ~SEQ may use the outer variable in its parameters", () => {
  const r = pp("~SEQ(a, 2) ~SEQ(b, 1, $a) v ${a}.$b\n");
  assertEquals(r.raws, ["v 1.1", "v 2.1", "v 2.2"]);
});

Deno.test("a ~SEQ variable stays defined afterwards", () => {
  assertEquals(pp("~SEQ(i, 2) v $i\nlast $i\n").raws, ["v 1", "v 2", "last 2"]);
});

Deno.test("a ~SEQ line may produce blocks", () => {
  const r = pp("~SEQ(i, 2) vrrp_instance VI_$i { virtual_router_id $i }\n");
  assertEquals(r.raws, [
    "vrrp_instance VI_1",
    "{",
    "virtual_router_id 1",
    "}",
    "vrrp_instance VI_2",
    "{",
    "virtual_router_id 2",
    "}",
  ]);
});

Deno.test("a ~SEQ line may use a multi-line definition", () => {
  const r = pp("$M=a $i \\\nb $i\n~SEQ(i, 2) $M\n");
  assertEquals(r.raws, ["a 1", "b 1", "a 2", "b 2"]);
});

Deno.test("a definition whose value starts ~SEQ is expanded", () => {
  assertEquals(pp("$S=~SEQ(i, 2)\n$S v $i\n").raws, ["v 1", "v 2"]);
});

Deno.test("~LST(VAR, v1, v2, …) repeats with each value", () => {
  assertEquals(pp("~LST(if, eth0, eth1) interface $if\n").raws, [
    "interface eth0",
    "interface eth1",
  ]);
});

Deno.test("~LST with sets assigns several variables; missing values are empty", () => {
  const r = pp("~LST({A, B}, {1, 2}, {3}, {4,5}) v ${A}:$B\n");
  assertEquals(r.raws, ["v 1:2", "v 3:", "v 4:5"]);
});

Deno.test("~LST parameters may use definitions", () => {
  assertEquals(pp("$L=a, b\n~LST(x, $L) v $x\n").raws, ["v a", "v b"]);
});

Deno.test("~LST errors: too many values, bad syntax, bad names", () => {
  for (
    const [line, why] of [
      ["~LST({A}, {1, 2}) v", "a set has 2 values for 1 names"],
      ["~LST(A) v", "expected ',' and values"],
      ["~LST({A B}, 1) v", "expected ',' or '}'"],
      ["~LST({A}, {1 2}) v", "expected ',' or '}' in a set"],
      ["~LST(9x, 1) v", "not a definition name"],
      ["~LST x v", "expected '('"],
    ]
  ) {
    const r = pp(`${line}\nnext\n`);
    assertEquals(r.raws, ["next"], line);
    const d = oneDiag(r, DiagClass.GENERAL_ERROR, why as string);
    assertStringIncludes(d.message, "Invalid ~LST specification");
  }
});

Deno.test("~SEQ nesting is limited, not unbounded", () => {
  const r = pp(`${"~SEQ(a, 1) ".repeat(40)}v\nnext\n`);
  assertEquals(r.raws, ["next"]);
  oneDiag(r, DiagClass.GENERAL_ERROR, "nested deeper than 32 levels");
});

Deno.test("a configuration that expands past the line limit is stopped with FATAL", () => {
  const r = pp("~SEQ(a, 100000) ~SEQ(b, 100000) v\nnot_reached\n", { maxLines: 5000 });
  oneDiag(r, DiagClass.FATAL, "expands to more than 5000 lines");
  assert(r.raws.length < 5000);
  assert(!r.raws.includes("not_reached"));
});

// ---- include ------------------------------------------------------------------------------

Deno.test("include reads a file relative to the including file's directory", () => {
  const r = run({
    [MAIN]: "a\ninclude conf.d/x.conf\nb\n",
    "/etc/keepalived/conf.d/x.conf": "x1\ninclude ../y.conf\n",
    "/etc/keepalived/y.conf": "\ny1\n",
  });
  assertEquals(r.raws, ["a", "x1", "y1", "b"]);
  assertEquals(r.lines.map((l) => `${l.loc.file}:${l.loc.line}`), [
    `${MAIN}:1`,
    "/etc/keepalived/conf.d/x.conf:1",
    "/etc/keepalived/conf.d/../y.conf:2",
    `${MAIN}:3`,
  ]);
  assertEquals(r.files, [
    MAIN,
    "/etc/keepalived/conf.d/x.conf",
    "/etc/keepalived/conf.d/../y.conf",
  ]);
  assertEquals(r.diags, []);
});

Deno.test("include of an absolute path", () => {
  const r = run({ [MAIN]: "include /srv/k.conf\n", "/srv/k.conf": "k\n" });
  assertEquals(r.raws, ["k"]);
});

Deno.test("include globs *, ? and [..] give matches in sorted order, without hidden files", () => {
  const r = run({
    [MAIN]: "include conf.d/*.conf\ninclude conf.d/?.x\ninclude conf.d/[ab].y\n",
    "/etc/keepalived/conf.d/b.conf": "b\n",
    "/etc/keepalived/conf.d/a.conf": "a\n",
    "/etc/keepalived/conf.d/.hidden.conf": "hidden\n",
    "/etc/keepalived/conf.d/c.txt": "c\n",
    "/etc/keepalived/conf.d/1.x": "one\n",
    "/etc/keepalived/conf.d/12.x": "twelve\n",
    "/etc/keepalived/conf.d/b.y": "by\n",
    "/etc/keepalived/conf.d/c.y": "cy\n",
  });
  assertEquals(r.raws, ["a", "b", "one", "by"]);
  assertEquals(r.diags, []);
});

Deno.test("include expands {a,b} in written order, each alternative sorted", () => {
  const r = run({
    [MAIN]: "include {z,a*}.conf\n",
    "/etc/keepalived/z.conf": "z\n",
    "/etc/keepalived/a2.conf": "a2\n",
    "/etc/keepalived/a1.conf": "a1\n",
  });
  assertEquals(r.raws, ["z", "a1", "a2"]);
});

Deno.test("include with wildcards in directory segments", () => {
  const r = run({
    [MAIN]: "include */k.conf\n",
    "/etc/keepalived/b/k.conf": "b\n",
    "/etc/keepalived/a/k.conf": "a\n",
    "/etc/keepalived/c/other.conf": "c\n",
  });
  assertEquals(r.raws, ["a", "b"]);
});

Deno.test("a missing include file is FILE_NOT_FOUND with its line", () => {
  const r = pp("a\ninclude missing.conf\nb\n");
  assertEquals(r.raws, ["a", "b"]);
  const d = oneDiag(r, DiagClass.FILE_NOT_FOUND, "not found");
  assertEquals(d.message, "Included file '/etc/keepalived/missing.conf' not found");
  assertEquals(d.loc?.line, 2);
});

Deno.test("a wildcard matching nothing is silent for include, an error for includew", () => {
  assertEquals(pp("include conf.d/*.conf\n").diags, []);
  const r = pp("includew conf.d/*.conf\n");
  oneDiag(r, DiagClass.FILE_NOT_FOUND, "matches no file");
});

Deno.test("includeb needs every brace alternative to match, else includes nothing", () => {
  const files = { "/etc/keepalived/a.conf": "a\n" };
  assertEquals(run({ ...files, [MAIN]: "include {a,b}.conf\n" }).raws, ["a"]);
  assertEquals(run({ ...files, [MAIN]: "include {a,b}.conf\n" }).diags, []);
  const r = run({ ...files, [MAIN]: "includeb {a,b}.conf\n" });
  assertEquals(r.raws, []);
  oneDiag(r, DiagClass.FILE_NOT_FOUND, "'/etc/keepalived/b.conf' matched nothing");
});

Deno.test("includea turns on every check", () => {
  const r = run({ "/etc/keepalived/a.conf": "a\n", [MAIN]: "includea {a,b*}.conf\n" });
  assertEquals(r.raws, []);
  oneDiag(r, DiagClass.FILE_NOT_FOUND, "brace_match");
});

Deno.test("includem and includer read like include when the file exists", () => {
  const files = { "/etc/keepalived/a.conf": "a\n" };
  assertEquals(run({ ...files, [MAIN]: "includem a.conf\nincluder a.conf\n" }).raws, ["a", "a"]);
});

Deno.test("a directory matched by a literal include is a warning, an error with includer", () => {
  const files = { "/etc/keepalived/d/x.conf": "x\n" };
  const plain = run({ ...files, [MAIN]: "include d\n" });
  oneDiag(plain, DiagClass.WARNING, "is a directory");
  const r = run({ ...files, [MAIN]: "includer d\n" });
  oneDiag(r, DiagClass.FILE_NOT_FOUND, "is a directory");
});

Deno.test("directories matched by a wildcard are skipped silently", () => {
  const r = run({
    [MAIN]: "include conf.d/*\n",
    "/etc/keepalived/conf.d/a.conf": "a\n",
    "/etc/keepalived/conf.d/sub/b.conf": "b\n",
  });
  assertEquals(r.raws, ["a"]);
  assertEquals(r.diags, []);
});

Deno.test("an executable include file is skipped: a warning, an error with includer", () => {
  const files = { [MAIN]: "include x.conf\nincluder x.conf\n", "/etc/keepalived/x.conf": "x\n" };
  const r = run(files, {}, { "/etc/keepalived/x.conf": 0o755 });
  assertEquals(r.raws, []);
  assertEquals(r.msgs.map((m) => m.split(":")[0]), ["WARNING", "FILE_NOT_FOUND"]);
  assertStringIncludes(r.msgs[0] as string, "is not a regular non-executable file - skipping");
  assertStringIncludes(r.msgs[0] as string, "chmod a-x");
});

Deno.test("an unreadable include file is FILE_NOT_FOUND naming permission denied", () => {
  const r = run(
    { [MAIN]: "a\ninclude secret.conf\nb\n", "/etc/keepalived/secret.conf": "s\n" },
    {},
    { "/etc/keepalived/secret.conf": 0o000 },
  );
  assertEquals(r.raws, ["a", "b"]);
  const d = oneDiag(r, DiagClass.FILE_NOT_FOUND, "permission denied");
  assertEquals(d.loc?.line, 2);
});

Deno.test("an include cycle is reported with its chain and not followed", () => {
  const r = run({
    [MAIN]: "m\ninclude a.conf\n",
    "/etc/keepalived/a.conf": "a\ninclude b.conf\n",
    "/etc/keepalived/b.conf": "b\ninclude a.conf\n",
  });
  assertEquals(r.raws, ["m", "a", "b"]);
  const d = oneDiag(r, DiagClass.GENERAL_ERROR, "Include cycle");
  assertStringIncludes(
    d.message,
    "/etc/keepalived/a.conf → /etc/keepalived/b.conf → /etc/keepalived/a.conf",
  );
  assertEquals(d.loc, { file: "/etc/keepalived/b.conf", line: 2, column: 1 });
});

Deno.test("a file including itself is a cycle", () => {
  const r = pp("include keepalived.conf\nx\n");
  assertEquals(r.raws, ["x"]);
  oneDiag(r, DiagClass.GENERAL_ERROR, "Include cycle");
});

Deno.test("include nesting is limited", () => {
  const files: Record<string, string> = { [MAIN]: "include f0.conf\n" };
  for (let i = 0; i < 40; i++) {
    files[`/etc/keepalived/f${i}.conf`] = `f${i}\ninclude f${i + 1}.conf\n`;
  }
  files["/etc/keepalived/f40.conf"] = "f40\n";
  const r = run(files);
  assertEquals(r.raws.length, MAX_INCLUDE_DEPTH - 1);
  oneDiag(r, DiagClass.GENERAL_ERROR, `Includes nested deeper than ${MAX_INCLUDE_DEPTH} levels`);
});

Deno.test("include needs a pattern", () => {
  const r = pp("include\nincludea\n");
  assertEquals(r.raws, []);
  assertEquals(only(r, DiagClass.MISSING_PARAMETER).length, 2);
});

Deno.test("a double-quoted include pattern loses its quotes", () => {
  const r = run({ [MAIN]: 'include "a b.conf"\n', "/etc/keepalived/a b.conf": "ab\n" });
  assertEquals(r.raws, ["ab"]);
});

Deno.test("include works after @ID and with definitions", () => {
  const r = run({
    [MAIN]: "$D=conf.d\n@lb1 include ${D}/x.conf\n@lb2 include ${D}/y.conf\n",
    "/etc/keepalived/conf.d/x.conf": "x\n",
    "/etc/keepalived/conf.d/y.conf": "y\n",
  });
  assertEquals(r.raws, ["x"]);
});

Deno.test("a ~SEQ can include one file per value", () => {
  const r = run({
    [MAIN]: "~SEQ(i, 2) include vi${i}.conf\n",
    "/etc/keepalived/vi1.conf": "one\n",
    "/etc/keepalived/vi2.conf": "two\n",
  });
  assertEquals(r.raws, ["one", "two"]);
});

Deno.test("include_check with no options turns on every check and is passed through", () => {
  const r = pp("global_defs {\n include_check\n}\ninclude conf.d/*.conf\n");
  assertEquals(r.raws, ["global_defs", "{", "include_check", "}"]);
  oneDiag(r, DiagClass.FILE_NOT_FOUND, "matches no file");
});

Deno.test("include_check options set, add and remove checks", () => {
  const wild = "include conf.d/*.conf\n";
  assertEquals(pp(`include_check wildcard_match\n${wild}`).diags.length, 1);
  assertEquals(pp(`include_check\ninclude_check -wildcard_match\n${wild}`).diags.length, 0);
  assertEquals(
    pp(`include_check readable\ninclude_check +wildcard_match\n${wild}`).diags.length,
    1,
  );
});

Deno.test("include_check reports unknown and duplicate options", () => {
  const r = pp("include_check read bogus\ninclude_check +nothing\n");
  oneDiag(r, DiagClass.GENERAL_ERROR, "Duplicate include_check 'bogus'");
  oneDiag(r, DiagClass.GENERAL_ERROR, "Unknown include_check type 'nothing'");
});

Deno.test("include_check set in an included file ends with that file", () => {
  const r = run({
    [MAIN]: "include a.conf\ninclude conf.d/*.conf\n",
    "/etc/keepalived/a.conf": "include_check\ninclude none.d/*.conf\n",
  });
  assertEquals(r.diags.length, 1);
  assertStringIncludes(r.diags[0]?.message ?? "", "none.d");
});

Deno.test("allConfig (-e) turns every include check on", () => {
  const r = pp("include conf.d/*.conf\n", { allConfig: true });
  oneDiag(r, DiagClass.FILE_NOT_FOUND, "matches no file");
});

Deno.test("a missing main file is FILE_NOT_FOUND pointing at -f", () => {
  const r = run({});
  assertEquals(r.lines, []);
  const d = oneDiag(r, DiagClass.FILE_NOT_FOUND, "not found");
  assertEquals(
    d.message,
    `Configuration file '${MAIN}' not found; check the path given to -f`,
  );
  assertEquals(r.files, []);
});

Deno.test("a directory given as the main file is an error", () => {
  const r = runFs(memoryFs({ "/etc/keepalived/x.conf": "x\n" }), "/etc/keepalived");
  oneDiag(r, DiagClass.FILE_NOT_FOUND, "'/etc/keepalived' is a directory");
});

Deno.test("an unreadable main file is an error naming permission denied", () => {
  const r = run({ [MAIN]: "x\n" }, {}, { [MAIN]: 0o200 });
  oneDiag(r, DiagClass.FILE_NOT_FOUND, "permission denied");
});

Deno.test("the main file may be a glob, read in sorted order", () => {
  const fs = memoryFs({ "/k/b.conf": "b\n", "/k/a.conf": "a\n" });
  const r = runFs(fs, "/k/*.conf");
  assertEquals(r.raws, ["a", "b"]);
  assertEquals(r.files, ["/k/a.conf", "/k/b.conf"]);
});

Deno.test("preprocessText() reads includes relative to the given file name", () => {
  const sink = new DiagnosticSink();
  const r = preprocessText("include x.conf\n", "/cfg/main.conf", {
    fs: memoryFs({ "/cfg/x.conf": "x\n" }),
    sink,
    configId: "",
    env: () => undefined,
  });
  assertEquals(r.lines.map((l) => l.raw), ["x"]);
  assertEquals(r.files, ["/cfg/main.conf", "/cfg/x.conf"]);
});

Deno.test("an include directory with glob characters in its name is taken literally", () => {
  const sink = new DiagnosticSink();
  const r = preprocessText("include x.conf\n", "/etc/k[1]/main.conf", {
    fs: memoryFs({ "/etc/k[1]/x.conf": "x\n", "/etc/k1/x.conf": "wrong\n" }),
    sink,
    configId: "",
    env: () => undefined,
  });
  assertEquals(r.lines.map((l) => l.raw), ["x"]);
  assertEquals(sink.items, []);
});

// ---- glob helpers ---------------------------------------------------------------------------

Deno.test("expandBraces() expands nested groups in order and honours escapes", () => {
  assertEquals(expandBraces("a{b,c{d,e}}f"), ["abf", "acdf", "acef"]);
  assertEquals(expandBraces("x{1}y"), ["x1y"]);
  assertEquals(expandBraces("\\{a,b}"), ["\\{a,b}"]);
  assertEquals(expandBraces("{a,b"), ["{a,b"]);
  assertEquals(expandBraces("{a,b}{c,d}"), ["ac", "ad", "bc", "bd"]);
  assertEquals(expandBraces("{a,b}{c,d}{e,f}", 4), null);
});

Deno.test("matchSegment() implements *, ?, classes and escapes without backtracking blow-up", () => {
  assert(matchSegment("*.conf", "a.conf"));
  assert(!matchSegment("*.conf", "a.conf.bak"));
  assert(matchSegment("a?c", "abc"));
  assert(matchSegment("[a-c]x", "bx"));
  assert(!matchSegment("[!a-c]x", "bx"));
  assert(matchSegment("[]]", "]"));
  assert(matchSegment("\\*", "*"));
  assert(!matchSegment("\\*", "a"));
  assert(matchSegment("[", "["));
  const t0 = performance.now();
  assert(!matchSegment("*a*a*a*a*a*a*a*b", "a".repeat(5000)));
  assert(performance.now() - t0 < 1000);
});

// ---- memoryFs -------------------------------------------------------------------------------

Deno.test("memoryFs: files, implied directories, modes and errors", () => {
  const fs = memoryFs({ "/a/b/c.conf": "x", "rel/d.conf": new Uint8Array([0x79]) }, {
    "/a/b/c.conf": 0o600,
  });
  assertEquals(fs.stat("/a/b/c.conf"), { isFile: true, isDirectory: false, mode: 0o600 });
  assertEquals(fs.stat("/a//b/"), { isFile: false, isDirectory: true, mode: 0o755 });
  assertEquals(fs.stat("/a/nope"), null);
  assertEquals(fs.readDir("/").sort(), ["a"]);
  assertEquals(fs.readDir("/a/b"), ["c.conf"]);
  assertEquals(fs.readDir(".").sort(), ["rel"]);
  assertEquals(new TextDecoder().decode(fs.readFile("/a/b/../b/c.conf")), "x");
  assertEquals(fs.readFile("rel/d.conf"), new Uint8Array([0x79]));
  let e: unknown;
  try {
    fs.readFile("/a/b");
  } catch (err) {
    e = err;
  }
  assert(e instanceof Deno.errors.IsADirectory);
  try {
    fs.readFile("/missing");
  } catch (err) {
    e = err;
  }
  assert(e instanceof Deno.errors.NotFound);
  try {
    fs.readDir("/a/b/c.conf");
  } catch (err) {
    e = err;
  }
  assert(e instanceof Deno.errors.NotFound);
});

// ---- real file system ---------------------------------------------------------------------

Deno.test("denoFs: real globs, executable files skipped, directories as main file", () => {
  const dir = Deno.makeTempDirSync({ prefix: "kad-pp-" });
  try {
    Deno.mkdirSync(`${dir}/conf.d/sub`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/keepalived.conf`, "main\ninclude conf.d/*.conf\n");
    Deno.writeTextFileSync(`${dir}/conf.d/b.conf`, "b ${_PWD}\n");
    Deno.writeTextFileSync(`${dir}/conf.d/a.conf`, "a\n");
    Deno.writeTextFileSync(`${dir}/conf.d/x.conf`, "exec\n");
    Deno.chmodSync(`${dir}/conf.d/x.conf`, 0o755);
    const r = runFs(denoFs, `${dir}/keepalived.conf`);
    assertEquals(r.raws, ["main", "a", `b ${dir}/conf.d`]);
    assertEquals(r.msgs.length, 1);
    assertStringIncludes(r.msgs[0] as string, "x.conf' is not a regular non-executable file");
    const asDir = runFs(denoFs, `${dir}/conf.d`);
    oneDiag(asDir, DiagClass.FILE_NOT_FOUND, "is a directory");
    const missing = runFs(denoFs, `${dir}/nope.conf`);
    oneDiag(missing, DiagClass.FILE_NOT_FOUND, "check the path given to -f");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("denoFs: a chmod 000 file is still read by root, refused otherwise", () => {
  const dir = Deno.makeTempDirSync({ prefix: "kad-pp-" });
  try {
    Deno.writeTextFileSync(`${dir}/k.conf`, "include secret.conf\n");
    Deno.writeTextFileSync(`${dir}/secret.conf`, "secret\n");
    Deno.chmodSync(`${dir}/secret.conf`, 0o000);
    const r = runFs(denoFs, `${dir}/k.conf`);
    if (Deno.uid() === 0) {
      // root bypasses file modes, as keepalived (running as root) would
      assertEquals(r.raws, ["secret"]);
    } else {
      oneDiag(r, DiagClass.FILE_NOT_FOUND, "permission denied");
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

// ---- scale ----------------------------------------------------------------------------------

Deno.test("1,000 virtual servers × 10 real servers preprocess without quadratic cost", () => {
  let t = "global_defs {\n  router_id lb1 # id\n}\n$PORT=80\n";
  for (let v = 0; v < 1000; v++) {
    t += `virtual_server 10.0.${v >> 8}.${v & 255} $PORT {\n  delay_loop 6\n  lb_algo rr\n`;
    for (let r = 0; r < 10; r++) {
      t += `  real_server 192.168.${v & 255}.${r} 80 {\n    weight 1\n    TCP_CHECK {\n` +
        "      connect_timeout 3\n    }\n  }\n";
    }
    t += "}\n";
  }
  const t0 = performance.now();
  const r = pp(t);
  const ms = performance.now() - t0;
  assertEquals(r.diags, []);
  assertEquals(r.lines.length, 85004);
  assertEquals(r.raws[4], "virtual_server 10.0.0.0 80");
  // generous bound: a quadratic algorithm takes tens of seconds here
  assert(ms < 3000, `took ${ms} ms`);
});
