import { assertEquals } from "../_assert.ts";
import {
  DiagClass,
  DiagnosticSink,
  exitStatusFor,
  formatDiagnostic,
} from "../../lib/config/diagnostic.ts";

const loc = { file: "/etc/keepalived/keepalived.conf", line: 12, column: 5 };

Deno.test("diagnostics render in keepalived's (<file>: Line N) shape with column and severity", () => {
  const s = new DiagnosticSink();
  s.report(DiagClass.UNKNOWN_KEYWORD, "Unknown keyword 'priorty'", loc, "priorty");
  assertEquals(
    formatDiagnostic(s.items[0]!),
    "(/etc/keepalived/keepalived.conf: Line 12) [col 5] warning: Unknown keyword 'priorty'",
  );
  s.error("no location");
  assertEquals(formatDiagnostic(s.items[1]!), "error: no location");
});

Deno.test("exit status follows keepalived -t codes, ranked by seriousness", () => {
  const d = (cls: DiagClass) => ({ severity: "error" as const, class: cls, message: "m" });
  assertEquals(exitStatusFor([]), 0);
  assertEquals(exitStatusFor([d(DiagClass.WARNING)]), 5);
  assertEquals(exitStatusFor([d(DiagClass.UNKNOWN_KEYWORD)]), 5);
  assertEquals(exitStatusFor([d(DiagClass.MISSING_PARAMETER), d(DiagClass.WARNING)]), 2);
  // keepalived remembers only the largest enum value (FATAL then unknown keyword → 5);
  // kad keeps the most serious finding.
  assertEquals(exitStatusFor([d(DiagClass.FATAL), d(DiagClass.UNKNOWN_KEYWORD)]), 4);
  assertEquals(exitStatusFor([d(DiagClass.FILE_NOT_FOUND)]), 4);
  assertEquals(exitStatusFor([d(DiagClass.SECURITY_ERROR), d(DiagClass.FATAL)]), 6);
});

Deno.test("the sink stops storing after its limit and counts what it dropped", () => {
  const s = new DiagnosticSink(3);
  for (let i = 0; i < 10; i++) s.warn(`w${i}`);
  assertEquals(s.items.length, 3);
  assertEquals(s.dropped, 7);
});
