/**
 * Loading a configuration: file → preprocessor → block tree → typed model, for
 * keepalived.conf syntax and for TOML (chosen by the `.toml` extension). Every problem is
 * reported to the sink; loading itself never throws for bad input.
 */
import { DiagClass, DiagnosticSink, type SourceLoc } from "./diagnostic.ts";
import type { LogicalLine, Node } from "./ast.ts";
import { type ConfigFs, denoFs } from "./source.ts";
import {
  preprocess,
  type PreprocessOptions,
  type PreprocessResult,
  preprocessText,
} from "./preprocess.ts";
import { TreeBuilder } from "./tree.ts";
import { BlockParser, emptyBlock, parseBlock } from "./schema.ts";
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
export function modelFromNodes(
  nodes: readonly Node[],
  file: string,
  sink: DiagnosticSink,
): KadConfig {
  const at: SourceLoc = { file, line: 0, column: 0 };
  return parseBlock(rootSchema, nodes, at, sink);
}

/**
 * The model of keepalived.conf text, built while the preprocessor reads it: each logical
 * line goes straight to the tree builder, and each complete top-level block straight to
 * the schema, so neither every line nor the whole tree is ever held (in a large
 * configuration, that is most of the memory and of the garbage collector's work).
 *
 * The stages run interleaved, but their diagnostics are held back and come out in stage
 * order (preprocessor, tree, schema), as if each stage had run over the whole file.
 * `read` runs the preprocessor with the given line callback.
 */
function loadStreaming(
  read: (onLine: (line: LogicalLine) => void) => PreprocessResult,
  file: string,
  sink: DiagnosticSink,
): { config: KadConfig; files: string[] } {
  const treeSink = new DiagnosticSink(sink.limit);
  const modelSink = new DiagnosticSink(sink.limit);
  const config = emptyBlock(rootSchema, { file, line: 0, column: 0 });
  const parser = new BlockParser(rootSchema, config, modelSink);
  const tree = new TreeBuilder(treeSink, (node) => parser.add(node));
  const pp = read((line) => tree.add(line));
  tree.finish();
  replay(treeSink, sink);
  replay(modelSink, sink);
  parser.finish(sink);
  return { config, files: pp.files };
}

/** Report the diagnostics `held` collected to `sink`, in order. */
function replay(held: DiagnosticSink, sink: DiagnosticSink): void {
  for (const d of held.items) sink.report(d.class, d.message, d.loc, d.keyword);
  // `held` dropped these because it was full, so `sink` (with the same limit) is full by
  // now as well: they are only counted, as `sink` would have.
  for (let i = 0; i < held.dropped; i++) sink.report(DiagClass.WARNING, "", undefined);
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
  const m = loadStreaming(
    (onLine) => preprocess(path, preprocessOptions(opts, fs, sink, onLine)),
    path,
    sink,
  );
  return { config: m.config, files: m.files, sink };
}

/** What the preprocessor needs from the load options (one place for their defaults). */
function preprocessOptions(
  opts: LoadOptions,
  fs: PreprocessOptions["fs"],
  sink: DiagnosticSink,
  onLine: (line: LogicalLine) => void,
): PreprocessOptions {
  return {
    fs,
    sink,
    configId: opts.configId ?? defaultConfigId(),
    env: opts.env ?? envReader(),
    ...(opts.random ? { random: opts.random } : {}),
    ...(opts.allConfig !== undefined ? { allConfig: opts.allConfig } : {}),
    onLine,
  };
}

/** Load keepalived.conf text (tests, fuzzing, benchmarks). */
export function loadConfigText(text: string, fileName: string, opts: LoadOptions = {}): LoadResult {
  const sink = opts.sink ?? new DiagnosticSink();
  const m = loadStreaming(
    (onLine) =>
      preprocessText(text, fileName, preprocessOptions(opts, opts.fs ?? denoFs, sink, onLine)),
    fileName,
    sink,
  );
  return { config: m.config, files: m.files, sink };
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
    sink.report(
      DiagClass.FILE_NOT_FOUND,
      `configuration file '${path}' not found; check the path given to -f`,
      loc,
    );
  } else if (e instanceof Deno.errors.PermissionDenied) {
    sink.report(
      DiagClass.FATAL,
      `configuration file '${path}' cannot be read (permission denied); run as root or fix its mode`,
      loc,
    );
  } else if (e instanceof TypeError) {
    sink.report(DiagClass.FATAL, `configuration file '${path}' is not valid UTF-8 text`, loc);
  } else {
    sink.report(
      DiagClass.FATAL,
      `configuration file '${path}' cannot be read: ${(e as Error).message}`,
      loc,
    );
  }
}
