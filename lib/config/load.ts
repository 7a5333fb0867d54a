/**
 * Loading a configuration: file → preprocessor → block tree → typed model, for
 * keepalived.conf syntax and for TOML (chosen by the `.toml` extension). Every problem is
 * reported to the sink; loading itself never throws for bad input.
 */
import { DiagClass, DiagnosticSink, type SourceLoc } from "./diagnostic.ts";
import type { Node } from "./ast.ts";
import { type ConfigFs, denoFs } from "./source.ts";
import { preprocess, preprocessText } from "./preprocess.ts";
import { buildTree } from "./tree.ts";
import { parseBlock } from "./schema.ts";
import { type KadConfig, rootSchema } from "./schema/root.ts";
import { tomlToNodes } from "./toml.ts";

export interface LoadOptions {
  /** Value for `@ID` lines and `${_INSTANCE}` (keepalived's `-i`); default: host name before the first dot. */
  configId?: string;
  fs?: ConfigFs;
  env?: (name: string) => string | undefined;
  random?: () => number;
  /** keepalived's `-e`: every include check on. */
  allConfig?: boolean;
  sink?: DiagnosticSink;
}

export interface LoadResult {
  config: KadConfig;
  /** Every file read, main file first. */
  files: string[];
  sink: DiagnosticSink;
}

/** The default config-id: the host name up to the first dot (spec/vrrp.md §4.5). */
export function defaultConfigId(): string {
  let host = "";
  try {
    host = Deno.hostname();
  } catch {
    host = "";
  }
  return host.split(".")[0] ?? "";
}

function envReader(): (name: string) => string | undefined {
  return (name) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  };
}

/** Whether a path names a TOML configuration. */
export function isTomlPath(path: string): boolean {
  return path.toLowerCase().endsWith(".toml");
}

/** Build the model from a block tree (shared by both syntaxes). */
export function modelFromNodes(nodes: readonly Node[], file: string, sink: DiagnosticSink): KadConfig {
  const at: SourceLoc = { file, line: 0, column: 0 };
  return parseBlock(rootSchema, nodes, at, sink);
}

/** Load a configuration file of either syntax. */
export function loadConfig(path: string, opts: LoadOptions = {}): LoadResult {
  const sink = opts.sink ?? new DiagnosticSink();
  const fs = opts.fs ?? denoFs;
  if (isTomlPath(path)) {
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(fs.readFile(path));
    } catch (e) {
      reportReadError(path, e, sink);
      return { config: modelFromNodes([], path, sink), files: [path], sink };
    }
    return loadTomlText(text, path, { ...opts, sink });
  }
  const pp = preprocess(path, {
    fs,
    sink,
    configId: opts.configId ?? defaultConfigId(),
    env: opts.env ?? envReader(),
    ...(opts.random ? { random: opts.random } : {}),
    ...(opts.allConfig !== undefined ? { allConfig: opts.allConfig } : {}),
  });
  const nodes = buildTree(pp.lines, sink);
  return { config: modelFromNodes(nodes, path, sink), files: pp.files, sink };
}

/** Load keepalived.conf text (tests, fuzzing, benchmarks). */
export function loadConfigText(text: string, fileName: string, opts: LoadOptions = {}): LoadResult {
  const sink = opts.sink ?? new DiagnosticSink();
  const pp = preprocessText(text, fileName, {
    fs: opts.fs ?? denoFs,
    sink,
    configId: opts.configId ?? defaultConfigId(),
    env: opts.env ?? envReader(),
    ...(opts.random ? { random: opts.random } : {}),
    ...(opts.allConfig !== undefined ? { allConfig: opts.allConfig } : {}),
  });
  const nodes = buildTree(pp.lines, sink);
  return { config: modelFromNodes(nodes, fileName, sink), files: pp.files, sink };
}

/** Load TOML text. */
export function loadTomlText(text: string, fileName: string, opts: LoadOptions = {}): LoadResult {
  const sink = opts.sink ?? new DiagnosticSink();
  const nodes = tomlToNodes(text, fileName, sink);
  return { config: modelFromNodes(nodes, fileName, sink), files: [fileName], sink };
}

function reportReadError(path: string, e: unknown, sink: DiagnosticSink): void {
  const loc: SourceLoc = { file: path, line: 0, column: 0 };
  if (e instanceof Deno.errors.NotFound) {
    sink.report(DiagClass.FILE_NOT_FOUND, `configuration file '${path}' not found; check the path given to -f`, loc);
  } else if (e instanceof Deno.errors.PermissionDenied) {
    sink.report(DiagClass.FATAL, `configuration file '${path}' cannot be read (permission denied); run as root or fix its mode`, loc);
  } else if (e instanceof TypeError) {
    sink.report(DiagClass.FATAL, `configuration file '${path}' is not valid UTF-8 text`, loc);
  } else {
    sink.report(DiagClass.FATAL, `configuration file '${path}' cannot be read: ${(e as Error).message}`, loc);
  }
}
