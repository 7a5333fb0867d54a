/**
 * Configuration diagnostics: what went wrong, where, and how bad it is.
 *
 * Owns the diagnostic record, keepalived's severity classes (spec/vrrp.md §4.8), the
 * `(<file>: Line N) message` rendering and the mapping from diagnostics to the exit
 * status of `kad check-config`. It must not read files or print anything itself.
 */

/** Where a token, line or value came from. Lines and columns are 1-based. */
export interface SourceLoc {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/**
 * keepalived's configuration error classes, in keepalived's enum order
 * (`lib/parser.h`, spec/vrrp.md §4.8).
 */
export const DiagClass = {
  FILE_NOT_FOUND: "FILE_NOT_FOUND",
  BAD_IF: "BAD_IF",
  FATAL: "FATAL",
  UNKNOWN_KEYWORD: "UNKNOWN_KEYWORD",
  UNEXPECTED_BOB: "UNEXPECTED_BOB",
  MISSING_BOB: "MISSING_BOB",
  UNEXPECTED_EOB: "UNEXPECTED_EOB",
  MISSING_EOB: "MISSING_EOB",
  UNMATCHED_QUOTE: "UNMATCHED_QUOTE",
  MISSING_PARAMETER: "MISSING_PARAMETER",
  INVALID_NUMBER: "INVALID_NUMBER",
  GENERAL_ERROR: "GENERAL_ERROR",
  WARNING: "WARNING",
  DEPRECATED: "DEPRECATED",
  SECURITY_ERROR: "SECURITY_ERROR",
  /**
   * kad's own class for findings keepalived does not report: shown to the operator but
   * not counted in the exit status, so verdicts stay those of `keepalived -t`.
   */
  NOTICE: "NOTICE",
} as const;
export type DiagClass = typeof DiagClass[keyof typeof DiagClass];

export type Severity = "error" | "warning" | "info";

/** One finding about the configuration. */
export interface Diagnostic {
  readonly severity: Severity;
  readonly class: DiagClass;
  readonly message: string;
  /** Absent for findings about the configuration as a whole. */
  readonly loc?: SourceLoc;
  /** The keyword the finding is about, when there is one. */
  readonly keyword?: string;
}

const WARNING_CLASSES: ReadonlySet<DiagClass> = new Set<DiagClass>([
  DiagClass.WARNING,
  DiagClass.DEPRECATED,
  DiagClass.UNKNOWN_KEYWORD,
]);

/** The severity a class is reported with. */
export function severityOf(cls: DiagClass): Severity {
  if (cls === DiagClass.NOTICE) return "info";
  return WARNING_CLASSES.has(cls) ? "warning" : "error";
}

/** Collects diagnostics; handed to every stage of configuration loading. */
export class DiagnosticSink {
  readonly items: Diagnostic[] = [];
  /** Upper bound so a pathological input cannot exhaust memory with messages. */
  readonly limit: number;
  #dropped = 0;

  constructor(limit = 10_000) {
    this.limit = limit;
  }

  report(
    cls: DiagClass,
    message: string,
    loc?: SourceLoc,
    keyword?: string,
  ): void {
    if (this.items.length >= this.limit) {
      this.#dropped++;
      return;
    }
    const d: {
      severity: Severity;
      class: DiagClass;
      message: string;
      loc?: SourceLoc;
      keyword?: string;
    } = { severity: severityOf(cls), class: cls, message };
    if (loc) d.loc = loc;
    if (keyword !== undefined) d.keyword = keyword;
    this.items.push(d);
  }

  error(message: string, loc?: SourceLoc, keyword?: string): void {
    this.report(DiagClass.GENERAL_ERROR, message, loc, keyword);
  }

  warn(message: string, loc?: SourceLoc, keyword?: string): void {
    this.report(DiagClass.WARNING, message, loc, keyword);
  }

  /** How many diagnostics were dropped after `limit` was reached. */
  get dropped(): number {
    return this.#dropped;
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === "error");
  }
}

/**
 * Render a diagnostic in keepalived's shape: `(<file>: Line N) message`, with kad's
 * additions (column and severity) after the location so that `grep 'Line N'` habits work.
 */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.loc ? `(${d.loc.file}: Line ${d.loc.line}) ` : "";
  const col = d.loc && d.loc.column > 0 ? `[col ${d.loc.column}] ` : "";
  return `${where}${col}${d.severity}: ${d.message}`;
}

/**
 * The exit status of `kad check-config` for a set of diagnostics. It uses keepalived's
 * `-t` codes (spec/vrrp.md §4.8) but ranks classes by how serious they are rather than by
 * keepalived's enum order (a documented deliberate difference, docs/check-config.md):
 * 6 security, 4 file not found / bad interface / fatal, 2 missing parameter,
 * 5 any other error or warning, 0 nothing found.
 */
export function exitStatusFor(diags: readonly Diagnostic[]): number {
  let status = 0;
  const rank = (s: number) => [0, 5, 2, 4, 6].indexOf(s);
  for (const d of diags) {
    if (d.severity === "info") continue;
    let s: number;
    switch (d.class) {
      case DiagClass.SECURITY_ERROR:
        s = 6;
        break;
      case DiagClass.FILE_NOT_FOUND:
      case DiagClass.BAD_IF:
      case DiagClass.FATAL:
        s = 4;
        break;
      case DiagClass.MISSING_PARAMETER:
        s = 2;
        break;
      default:
        s = 5;
    }
    if (rank(s) > rank(status)) status = s;
  }
  return status;
}

/** A fatal configuration problem raised as an exception (for callers that must stop). */
export class ConfigError extends Error {
  readonly loc: SourceLoc | undefined;
  readonly keyword: string | undefined;
  readonly diagnostics: readonly Diagnostic[];

  constructor(
    message: string,
    opts: { loc?: SourceLoc; keyword?: string; diagnostics?: readonly Diagnostic[] } = {},
  ) {
    super(message);
    this.name = "ConfigError";
    this.loc = opts.loc;
    this.keyword = opts.keyword;
    this.diagnostics = opts.diagnostics ?? [];
  }
}
