/**
 * What `kad rotate-key` prints (docs/rotate-key.md): the one JSON document every subcommand
 * writes with `--json` — on success and on failure, with the exit status in it — the exit
 * statuses and their error codes, and the text for people.
 *
 * Pure: a report in, text out. The report never holds key material (key files are named by
 * path only).
 */
import { CLIENT_EXIT } from "../control/protocol.ts";
import { type InstanceView, type KeyUserView, ROTATE_KEY_JSON_VERSION } from "./rotation.ts";

export type RotateCommand = "add" | "activate" | "retire" | "status";

/** Exit statuses of `kad rotate-key`; 0–5 are every control client's (`kad dump`'s too). */
export const ROTATE_EXIT = {
  ...CLIENT_EXIT,
  /** retire: a peer heard within the window still signs with the key. */
  IN_USE: 6,
  /** retire --wait: a peer still signed with the key when the time was up. */
  TIMEOUT: 7,
} as const;

/** `error.code` of a report, one per non-zero exit status. */
export type RotateErrorCode =
  | "refused"
  | "usage"
  | "no_daemon"
  | "permission"
  | "no_answer"
  | "in_use"
  | "timeout";

const EXIT_OF: Readonly<Record<RotateErrorCode, number>> = {
  refused: ROTATE_EXIT.REFUSED,
  usage: ROTATE_EXIT.USAGE,
  no_daemon: ROTATE_EXIT.NO_DAEMON,
  permission: ROTATE_EXIT.PERMISSION,
  no_answer: ROTATE_EXIT.NO_ANSWER,
  in_use: ROTATE_EXIT.IN_USE,
  timeout: ROTATE_EXIT.TIMEOUT,
};

/** The exit status of an error code. */
export function exitOf(code: RotateErrorCode): number {
  return EXIT_OF[code];
}

/** One change an operation made. */
export interface ChangeView {
  readonly instance: string;
  readonly id: number;
  readonly action: "added" | "activated" | "retired";
}

/** Why a command failed. */
export interface ReportError {
  readonly code: RotateErrorCode;
  readonly message: string;
  /** in_use and timeout: the senders still signing with the key. */
  readonly users?: readonly KeyUserView[];
}

/** The `--json` document (docs/rotate-key.md). */
export interface RotateReport {
  readonly kad_rotate_key: typeof ROTATE_KEY_JSON_VERSION;
  readonly command: RotateCommand;
  readonly ok: boolean;
  readonly exit_code: number;
  readonly changed?: readonly ChangeView[];
  readonly waited_s?: number;
  readonly warnings: readonly string[];
  readonly instances?: readonly InstanceView[];
  readonly error?: ReportError;
}

/** A successful report. */
export function okReport(
  command: RotateCommand,
  parts: {
    changed?: readonly ChangeView[];
    waitedS?: number | undefined;
    warnings?: readonly string[];
    instances?: readonly InstanceView[];
  },
): RotateReport {
  return {
    kad_rotate_key: ROTATE_KEY_JSON_VERSION,
    command,
    ok: true,
    exit_code: ROTATE_EXIT.OK,
    ...(command === "status" ? {} : { changed: parts.changed ?? [] }),
    ...(parts.waitedS === undefined ? {} : { waited_s: Math.round(parts.waitedS * 10) / 10 }),
    warnings: parts.warnings ?? [],
    ...(parts.instances === undefined ? {} : { instances: parts.instances }),
  };
}

/** A failed report; its exit status follows from the error code. */
export function failedReport(
  command: RotateCommand,
  error: ReportError,
  parts: {
    waitedS?: number | undefined;
    warnings?: readonly string[];
    instances?: readonly InstanceView[] | undefined;
  } = {},
): RotateReport {
  return {
    kad_rotate_key: ROTATE_KEY_JSON_VERSION,
    command,
    ok: false,
    exit_code: exitOf(error.code),
    ...(parts.waitedS === undefined ? {} : { waited_s: Math.round(parts.waitedS * 10) / 10 }),
    warnings: parts.warnings ?? [],
    ...(parts.instances === undefined ? {} : { instances: parts.instances }),
    error,
  };
}

function pad(s: string, n: number): string {
  return s.length >= n ? `${s} ` : s + " ".repeat(n - s.length);
}

/** The status of one instance, for people. */
export function instanceText(v: InstanceView): string {
  const lines: string[] = [];
  lines.push(
    `${v.instance}: ${v.mode}, anti_replay ${v.anti_replay}, window ${v.window_s} s, active key ${
      v.active_key ?? "none"
    }`,
  );
  lines.push(`  ${pad("KEY", 5)}${pad("USE", 13)}SOURCE`);
  for (const k of v.keys) {
    const source = k.source === "config" ? "configuration" : `key state (${k.key_file})`;
    lines.push(`  ${pad(String(k.id), 5)}${pad(k.active ? "active" : "verify-only", 13)}${source}`);
  }
  if (v.retired.length > 0) {
    lines.push(`  retired by the key state: ${v.retired.join(", ")}`);
  }
  if (v.peers.length === 0) {
    lines.push("  no peer heard (a MASTER hears none: only the MASTER sends adverts)");
  } else {
    const w = Math.max(4, ...v.peers.map((p) => p.address.length)) + 2;
    lines.push(`  ${pad("PEER", w)}${pad("KEY", 5)}${pad("SINCE", 10)}LAST ADVERT`);
    for (const p of v.peers) {
      const since = p.seconds_since === null ? "-" : `${p.seconds_since} s`;
      let last = p.last_outcome;
      if (p.last_key_id !== p.key_id || p.last_seconds_since !== p.seconds_since) {
        last += ` (key ${p.last_key_id ?? "none"}, ${p.last_seconds_since} s ago)`;
      }
      if (!p.recent) last += `, not heard within ${v.window_s} s`;
      lines.push(
        `  ${pad(p.address, w)}${pad(String(p.key_id ?? "-"), 5)}${pad(since, 10)}${last}`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

function changeText(c: ChangeView, waitedS: number | undefined): string {
  switch (c.action) {
    case "added":
      return `${c.instance}: key ${c.id} added; it verifies, and signs once activated ('kad rotate-key activate --id ${c.id}')`;
    case "activated":
      return `${c.instance}: key ${c.id} is active; it signs from the next advert`;
    case "retired":
      return `${c.instance}: key ${c.id} retired${
        waitedS === undefined ? "" : ` (waited ${Math.round(waitedS * 10) / 10} s)`
      }`;
  }
}

/** The users that keep a key, one per line, for the error text. */
function usersText(users: readonly KeyUserView[]): string {
  return users.map((u) =>
    `  ${u.instance}: ${u.address} signed with key ${u.key_id} ${u.seconds_since} s ago\n`
  ).join("");
}

/**
 * A report for people: `out` for stdout (the status or what changed), `err` for stderr
 * (warnings and the error, prefixed `kad rotate-key:`).
 */
export function reportText(r: RotateReport): { out: string; err: string } {
  let out = "";
  let err = "";
  for (const w of r.warnings) err += `kad rotate-key: warning: ${w}\n`;
  if (r.ok) {
    if (r.command === "status") {
      const list = r.instances ?? [];
      out = list.length === 0
        ? "no VRRP instance uses auth_hmac\n"
        : list.map((v) => instanceText(v)).join("\n");
    } else {
      for (const c of r.changed ?? []) out += `${changeText(c, r.waited_s)}\n`;
    }
  } else if (r.error !== undefined) {
    err += `kad rotate-key: ${r.error.message}\n`;
    if (r.error.users !== undefined) err += usersText(r.error.users);
  }
  return { out, err };
}
