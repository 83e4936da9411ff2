/**
 * Reading a bundle through a small backend interface, so the same code reads from a directory (Node), over HTTP
 * (the viewer server), or from a dropped folder or zip (the browser). Nothing here knows where bytes come from.
 */
import { BUNDLE_FILES, Manifest, sessionFiles } from './manifest.ts';
import { FlowSnapshot } from './flow.ts';
import { SessionBinding, SessionEventLine, SessionRecord } from './session.ts';
import { parseRawLine, readLines, readNdjson, type ByteSource, type NdjsonIssue } from './ndjson.ts';
import { BundleFormatError, checkTraceEvent, describeZodError, parseDocument, tooDeep } from './validate.ts';
import type { ReducibleEvent } from './reducer.ts';

export interface BundleBackend {
  /** The whole file as text, or undefined when it does not exist. */
  readText(path: string): Promise<string | undefined>;
  /** The file as a stream, or undefined when it does not exist. */
  readStream(path: string): Promise<ByteSource | undefined>;
}

export interface ReadIssue {
  file: string;
  line?: number;
  problem: NdjsonIssue['problem'] | 'invalid_event' | 'seq_gap';
  message: string;
  /** `line_too_long`: the line's length in UTF-8 bytes. */
  bytes?: number;
}

async function readJson(backend: BundleBackend, path: string): Promise<unknown> {
  const text = await backend.readText(path);
  if (text === undefined) throw new BundleFormatError(`${path}: missing`, path);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BundleFormatError(`${path}: not valid JSON (${(error as Error).message.split('\n')[0]})`, path);
  }
}

/** Reads and validates `manifest.json`; a newer major version throws NewerFormatError. */
export async function loadManifest(backend: BundleBackend): Promise<Manifest> {
  return parseDocument(Manifest, await readJson(backend, BUNDLE_FILES.manifest), BUNDLE_FILES.manifest);
}

export async function loadFlow(backend: BundleBackend, manifest: Manifest): Promise<FlowSnapshot> {
  return parseDocument(FlowSnapshot, await readJson(backend, manifest.files.flow), manifest.files.flow);
}

export async function loadSessionBinding(backend: BundleBackend, sessionId: string): Promise<SessionBinding> {
  const path = sessionFiles(sessionId).binding;
  return parseDocument(SessionBinding, await readJson(backend, path), path);
}

export async function loadSessionRecord(backend: BundleBackend, sessionId: string): Promise<SessionRecord> {
  const path = sessionFiles(sessionId).record;
  return parseDocument(SessionRecord, await readJson(backend, path), path);
}

export interface TraceLine {
  line: number;
  event: ReducibleEvent;
  known: boolean;
}

export interface ReadTraceOptions {
  file?: string;
  depth?: 'full' | 'envelope';
  onIssue?: (issue: ReadIssue) => void;
}

/**
 * Streams trace events with their line numbers. Torn tails, bad lines, invalid events and seq gaps become
 * issues; valid events keep flowing, so a damaged trace still shows everything that could be read.
 */
export async function* readTrace(source: ByteSource, options: ReadTraceOptions = {}): AsyncGenerator<TraceLine> {
  const file = options.file ?? BUNDLE_FILES.trace;
  const onIssue = options.onIssue ?? (() => {});
  let expected = 1;
  const ndjson = { file, onIssue: (issue: NdjsonIssue) => onIssue({ file, ...issue }) };
  // Lines straight from readLines, parsed here: an async generator in between (readNdjson) cost an async step per line.
  for await (const raw of readLines(source)) {
    const parsed = parseRawLine(raw, ndjson);
    if (!parsed) continue;
    const { line, value } = parsed;
    const checked = checkTraceEvent(value, line, file, options.depth);
    if (!checked.ok) {
      onIssue({ file, line, problem: 'invalid_event', message: checked.error.message });
      continue;
    }
    const { seq } = checked.event;
    if (seq !== expected) {
      onIssue({ file, line, problem: 'seq_gap', message: `${file}:${line}: seq ${seq} where ${expected} was expected` });
    }
    expected = seq + 1;
    yield { line, event: checked.event, known: checked.known };
  }
}

export async function* loadTrace(backend: BundleBackend, manifest: Manifest, options: ReadTraceOptions = {}) {
  const file = manifest.files.trace;
  const source = await backend.readStream(file);
  if (!source) throw new BundleFormatError(`${file}: missing`, file);
  yield* readTrace(source, { ...options, file });
}

export interface SessionEventItem {
  line: number;
  event: SessionEventLine;
}

export async function* loadSessionEvents(
  backend: BundleBackend,
  sessionId: string,
  onIssue: (issue: ReadIssue) => void = () => {},
): AsyncGenerator<SessionEventItem> {
  const file = sessionFiles(sessionId).events;
  const source = await backend.readStream(file);
  if (!source) throw new BundleFormatError(`${file}: missing`, file);
  for await (const { line, value } of readNdjson(source, { file, onIssue: (issue) => onIssue({ file, ...issue }) })) {
    let result: ReturnType<typeof SessionEventLine.safeParse>;
    try {
      result = SessionEventLine.safeParse(value);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      onIssue({ file, line, problem: 'invalid_event', message: tooDeep(file, line).message });
      continue;
    }
    if (!result.success) {
      onIssue({ file, line, problem: 'invalid_event', message: describeZodError(result.error, file, line).message });
      continue;
    }
    yield { line, event: result.data };
  }
}
