// Loads one bundle through a BundleBackend into a BundleModel, tolerating everything the format allows to go
// wrong: a missing or invalid manifest (the default layout is tried), a missing flow (the graph is built
// from the trace), torn and invalid lines, unknown event types, seq gaps. A newer major version stops with
// one clear message. Live bundles are followed by polling the trace's tail with byte ranges.
// The manifest and flow are read by bundle-documents.ts, the lines folded by trace-folder.ts.
import { BUNDLE_FILES, type BundleBackend as SchemaBackend, type FlowSnapshot } from '@flowtape/schema';
import type { BundleBackend } from '../backend/types.ts';
import { textSourceOf, type TextSource } from '../backend/text-chunks.ts';
import { nodeStartsOf, sessionsOf, type BundleIssue, type BundleModel } from './bundle-model.ts';
import { Timeline, TimelineBuilder } from './timeline.ts';
import { NEEDS_SCHEMAS, isIssue, parseTraceLine, splitComplete, streamLines, type TraceIssue } from './trace-reader.ts';
import type { DeferredDocument } from './documents.ts';
import { loadSchemas } from './lazy-schemas.ts';
import { describe, readFlow, readManifest } from './bundle-documents.ts';
import { TraceFolder, missingTrace, tornIssue, unknownTypesIssue } from './trace-folder.ts';

const decoder = new TextDecoder();

export function schemaBackend(backend: BundleBackend): SchemaBackend {
  return {
    readText: async (path) => {
      const bytes = await backend.read(path);
      return bytes === undefined ? undefined : decoder.decode(bytes);
    },
    readStream: (path) => backend.stream(path),
  };
}

export interface LoadProgress {
  events: number;
  phase: 'manifest' | 'trace' | 'done';
}

export interface LoadOptions {
  onProgress?: (progress: LoadProgress) => void;
  /**
   * Called with the model so far while a large trace streams in (first after ~PARTIAL_FIRST_MS, then every
   * PARTIAL_EVERY_MS), so the bundle is on screen and steppable before the last line is read.
   */
  onPartial?: (model: BundleModel) => void;
  /** Called with flow.json as soon as it is read, before the trace (the graph can be laid out meanwhile). */
  onFlow?: (flow: FlowSnapshot) => void;
  /** How to let the browser run other tasks between slices of a long read (default: yieldToBrowser). */
  yieldTo?: () => Promise<void>;
  /** The clock partial models are timed by (default: performance.now; tests pass their own). */
  now?: () => number;
}

const PARTIAL_FIRST_MS = 150;
/** Lines folded between two reads of the clock (a line takes a few µs: the slices still end within a millisecond). */
const CLOCK_EVERY = 32;
const PARTIAL_EVERY_MS = 600;
/**
 * A partial model copies the events read so far (the one on screen must not grow under React), so each one is
 * published only once the trace has grown by this factor since the last: the copies add up to a few times the
 * trace, not the trace times the number of partials (quadratic on a 1M-event trace).
 */
const PARTIAL_GROWTH = 1.5;
/**
 * No partial model is published when the whole trace is expected sooner than this (judged by the bytes read so far
 * against the file's size, at the rate they were read): a partial costs a full render of every panel and is replaced
 * by the whole model a moment later, so near the end it only delays the whole trace on screen. On a loaded machine a
 * 100k-event load published a second partial PARTIAL_EVERY_MS after the first, with most of the trace read; on a
 * quiet one its first partial came ~130 ms before the end. Without partials the render they cost was ~30 ms of CPU
 * per 100k-event load (bench:viewer, main thread CPU).
 */
const PARTIAL_MIN_AHEAD_MS = 300;

/**
 * Whether the end of the trace is expected within PARTIAL_MIN_AHEAD_MS, `elapsed` ms after its first byte, with `read`
 * of its `size` bytes read. An unknown size, or one the bytes read already passed (a length that was not the body's),
 * says nothing: partials are then timed as before.
 */
export function endIsNear(size: number | undefined, read: number, elapsed: number): boolean {
  if (size === undefined || read <= 0 || read > size) return false;
  return (elapsed * (size - read)) / read < PARTIAL_MIN_AHEAD_MS;
}

/** What a live follower needs to continue where loading stopped. */
export interface TailState {
  /** Byte offset after the last complete trace line. */
  offset: number;
  /** Number of the last complete line. */
  lines: number;
  /** Text of the manifest last seen (to notice changes). */
  manifestText?: string;
  /** What the validation worker should check: the trace bytes read, or where to fetch them. */
  validate?: { chunks: Uint8Array[] } | { url: string; bytes: number };
  /** Line number before the first line of `validate` (0 for the whole trace). */
  validateFromLine?: number;
  /** manifest.json and flow.json as used after the structural check alone: zod checks them after load (documents.ts). */
  documents?: DeferredDocument[];
}

export interface Loaded {
  model: BundleModel;
  tail: TailState;
}

/** Lets the browser handle input and paint before more of a long read is processed. */
export function yieldToBrowser(): Promise<void> {
  const sched = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  if (sched?.yield) return sched.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function assemble(
  backend: BundleBackend,
  parts: Omit<BundleModel, 'label' | 'live' | 'sessions' | 'nodeStarts' | 'complete' | 'sessionVersions' | 'version' | 'invalidLines' | 'loading'>
    & Partial<Pick<BundleModel, 'sessionVersions' | 'version' | 'invalidLines' | 'nodeStarts' | 'loading'>>,
): BundleModel {
  const complete = parts.manifest?.complete ?? !backend.live;
  return {
    label: backend.label,
    live: backend.live,
    complete,
    sessions: sessionsOf(parts.manifest, parts.timeline),
    nodeStarts: parts.nodeStarts ?? nodeStartsOf(parts.timeline),
    sessionVersions: parts.sessionVersions ?? new Map(),
    version: parts.version ?? 0,
    invalidLines: parts.invalidLines ?? new Set(),
    loading: parts.loading ?? false,
    ...parts,
  };
}

export async function loadBundle(backend: BundleBackend, options: LoadOptions = {}): Promise<Loaded> {
  const issues: BundleIssue[] = [];
  options.onProgress?.({ events: 0, phase: 'manifest' });
  // The manifest says where the flow and the trace are; they almost always sit at the default paths, so those
  // are requested at the same time (and dropped if the manifest points elsewhere).
  const chunks: Uint8Array[] = [];
  const openTrace = async (path: string): Promise<TextSource | undefined> => {
    if (backend.textStream) return backend.textStream(path);
    const bytes = await backend.stream(path);
    if (!bytes) return undefined;
    // A worker that can fetch the trace itself does so; otherwise it is handed the bytes read here.
    return textSourceOf(backend.urlOf ? bytes : bytes.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        chunks.push(chunk);
        controller.enqueue(chunk);
      },
    })));
  };
  const early = {
    flow: backend.read(BUNDLE_FILES.flow).catch(() => undefined),
    trace: openTrace(BUNDLE_FILES.trace).catch(() => undefined),
  };
  const documents: DeferredDocument[] = [];
  const { manifest, text: manifestText, fatal } = await readManifest(backend, issues, documents);
  const flowFile = manifest?.files.flow ?? BUNDLE_FILES.flow;
  const traceFile = manifest?.files.trace ?? BUNDLE_FILES.trace;
  if (fatal || traceFile !== BUNDLE_FILES.trace) void early.trace.then((s) => s?.cancel());
  if (fatal) {
    return { model: assemble(backend, { timeline: Timeline.empty(), issues, fatal }), tail: { offset: 0, lines: 0, manifestText } };
  }
  const flow = await readFlow(backend, flowFile, issues, flowFile === BUNDLE_FILES.flow ? early.flow : undefined, documents);
  if (flow) options.onFlow?.(flow);

  const builder = new TimelineBuilder();
  const folder = new TraceFolder(builder, traceFile, issues);
  let tail: TailState = { offset: 0, lines: 0, manifestText, documents };
  let source: TextSource | undefined;
  try {
    source = traceFile === BUNDLE_FILES.trace ? await early.trace : await openTrace(traceFile);
  } catch (err) {
    issues.push({ file: traceFile, severity: 'error', message: describe(err, traceFile) });
  }
  if (!source && !issues.some((i) => i.file === traceFile)) {
    issues.push({ file: traceFile, severity: 'error', message: missingTrace(traceFile) });
  }
  // Indexes of node.started events, kept up to date at each partial model and completed at the end.
  const starts: number[] = [];
  let scanned = 0;
  const scanStarts = () => {
    for (; scanned < builder.events.length; scanned++) if (builder.events[scanned]!.type === 'node.started') starts.push(scanned);
  };
  if (source) {
    performance.mark('flowtape:trace-start');
    const now = options.now ?? (() => performance.now());
    const started = now();
    let sinceYield = started;
    let sinceClock = 0;
    let nextPartial = sinceYield + PARTIAL_FIRST_MS;
    let published = 0;
    // Bytes handed to the parser so far, against source.size: how near the end is.
    let bytesRead = 0;
    const counted: TextSource = {
      read: async () => {
        const chunk = await source!.read();
        if (chunk) bytesRead += chunk.bytes;
        return chunk;
      },
      cancel: () => source!.cancel(),
    };
    const publish = () => {
      published = builder.events.length;
      scanStarts();
      options.onPartial?.(assemble(backend, {
        manifest, flow, timeline: builder.snapshot(), issues: issues.slice(), nodeStarts: starts.slice(), loading: true,
      }));
    };
    let tornLine: { line: number; text: string } | undefined;
    try {
      const result = await streamLines(counted, (text, line, terminated) => {
        if (!terminated) {
          // A live bundle may be mid-append: the line is read on the next poll. Otherwise it is torn for good,
          // unless it happens to be a whole JSON line that only lacks its newline.
          if (backend.live && !manifest?.complete) return;
          tornLine = { line, text };
        }
        const waiting = folder.line(text, line);
        if (waiting) return waiting;
        // The clock is read every CLOCK_EVERY lines: at ~0.25 µs a read, reading it per line cost ~25 ms at 100k.
        if (++sinceClock < CLOCK_EVERY) return undefined;
        sinceClock = 0;
        const t = now();
        if (t - sinceYield > 40) {
          options.onProgress?.({ events: builder.events.length, phase: 'trace' });
          if (options.onPartial && t >= nextPartial && builder.events.length >= published * PARTIAL_GROWTH
            && !endIsNear(source!.size, bytesRead, t - started)) {
            publish();
            nextPartial = now() + PARTIAL_EVERY_MS;
          }
          sinceYield = now();
          return (options.yieldTo ?? yieldToBrowser)();
        }
        return undefined;
      });
      tail = {
        offset: result.offset,
        lines: result.lines,
        manifestText,
        validate: backend.urlOf ? { url: backend.urlOf(traceFile), bytes: result.offset } : { chunks },
        documents,
      };
      if (tornLine) {
        const t: { line: number; text: string } = tornLine;
        // parseTraceLine already reported it as invalid JSON; say what it is instead.
        const at = issues.findIndex((i) => i.file === traceFile && i.line === t.line && i.severity === 'error');
        if (at !== -1) issues.splice(at, 1, tornIssue(traceFile, t.line, t.text));
      }
    } catch (err) {
      issues.push({ file: traceFile, severity: 'error', message: `${traceFile}: reading stopped: ${describe(err, traceFile)}` });
    }
  }
  // The builder is done: the whole model takes its arrays as they are (no copy of 100k+ entries).
  const timeline = builder.finish();
  scanStarts();
  performance.mark('flowtape:trace-end');
  const unknown = unknownTypesIssue(timeline, traceFile);
  if (unknown) issues.push(unknown);
  options.onProgress?.({ events: timeline.length, phase: 'done' });
  return { model: assemble(backend, { manifest, flow, timeline, issues, nodeStarts: starts }), tail };
}

/**
 * One poll of a live bundle: reads what was appended to the trace since `tail` and the manifest. Returns
 * undefined when nothing changed.
 */
export async function pollBundle(backend: BundleBackend, loaded: Loaded): Promise<Loaded | undefined> {
  const { model, tail } = loaded;
  if (model.fatal) return undefined;
  const traceFile = model.manifest?.files.trace ?? BUNDLE_FILES.trace;
  const manifestBytes = await backend.read(BUNDLE_FILES.manifest);
  const manifestText = manifestBytes ? decoder.decode(manifestBytes) : undefined;
  let manifest = model.manifest;
  const issues = model.issues.filter((i) => !i.message.includes('torn last line') && !i.message.includes('of types this viewer does not know'));
  if (manifestText !== undefined && manifestText !== tail.manifestText) {
    try {
      const { parseDocument, Manifest } = await loadSchemas();
      manifest = parseDocument(Manifest, JSON.parse(manifestText), BUNDLE_FILES.manifest);
    } catch {
      // A manifest is replaced atomically; a bad read is retried on the next poll.
    }
  }
  const appended = await backend.readFrom(traceFile, tail.offset);
  const { complete, used } = appended ? splitComplete(appended) : { complete: '', used: 0 };
  const rest = appended ? appended.subarray(used) : new Uint8Array(0);
  const manifestChanged = manifest !== model.manifest;
  if (used === 0 && !manifestChanged) return undefined;
  // A run writes its manifest just before its first trace line (SPEC, writing discipline): a live bundle opened in
  // between had no trace yet, and has one now.
  if (used > 0) issues.splice(0, issues.length, ...issues.filter((i) => i.message !== missingTrace(traceFile)));

  const builder = new TimelineBuilder(model.timeline);
  const folder = new TraceFolder(builder, traceFile, issues);
  let line = tail.lines;
  const touched = new Set<string>();
  const before = builder.events.length;
  if (complete) {
    const texts = complete.split('\n');
    texts.pop(); // after the final newline
    for (const raw of texts) {
      line++;
      const waiting = folder.line(raw.endsWith('\r') ? raw.slice(0, -1) : raw, line);
      if (waiting) await waiting;
    }
  }
  for (let i = before; i < builder.events.length; i++) {
    const sid = builder.events[i]!.sessionId;
    if (sid) touched.add(sid);
  }
  // A finished bundle whose trace still ends without a newline has a torn last line.
  if (manifest?.complete && rest.length > 0) {
    const text = decoder.decode(rest);
    line++;
    let parsed = parseTraceLine(text, line, traceFile);
    if (parsed === NEEDS_SCHEMAS) {
      await loadSchemas();
      parsed = parseTraceLine(text, line, traceFile);
    }
    if (parsed && parsed !== NEEDS_SCHEMAS && !isIssue(parsed)) folder.line(text, line);
    else issues.push(tornIssue(traceFile, line, text));
  }
  const timeline = builder.finish();
  const unknown = unknownTypesIssue(timeline, traceFile);
  if (unknown) issues.push(unknown);
  let flow = model.flow;
  if (!flow && manifest) flow = await readFlow(backend, manifest.files.flow, []);
  const sessionVersions = new Map(model.sessionVersions);
  for (const id of touched) sessionVersions.set(id, (sessionVersions.get(id) ?? 0) + 1);
  if (manifestChanged) for (const s of manifest?.sessions ?? []) sessionVersions.set(s.sessionId, (sessionVersions.get(s.sessionId) ?? 0) + 1);
  return {
    model: assemble(backend, {
      manifest,
      flow,
      timeline,
      issues,
      sessionVersions,
      version: model.version + 1,
      invalidLines: model.invalidLines,
      nodeStarts: nodeStartsOf(timeline, before, model.nodeStarts.slice()),
    }),
    tail: {
      offset: tail.offset + used,
      lines: line,
      manifestText,
      // The appended lines, for the validation worker (numbered from the line after the previous tail).
      validate: used > 0 && appended ? { chunks: [appended.slice(0, used)] } : undefined,
      validateFromLine: tail.lines,
    },
  };
}

/**
 * Applies the result of full (zod) validation: events that failed it are flagged, reported, and left out of the
 * fold, so the state on screen only ever comes from events that are what the format says.
 */
export function withValidation(model: BundleModel, invalid: readonly TraceIssue[]): BundleModel {
  if (invalid.length === 0) return model;
  const lines = new Set(invalid.map((i) => i.line).filter((l): l is number => l !== undefined));
  const builder = new TimelineBuilder();
  const t = model.timeline;
  for (let i = 0; i < t.length; i++) if (!lines.has(t.lines[i]!)) builder.push(t.events[i]!, t.lines[i]!);
  const timeline = builder.finish();
  const issues = [
    ...model.issues,
    ...invalid.map((i): BundleIssue => ({ file: i.file, line: i.line, severity: 'error', message: `${i.message} — left out of the replay` })),
  ];
  return { ...model, timeline, issues, invalidLines: new Set([...model.invalidLines, ...lines]), nodeStarts: nodeStartsOf(timeline), version: model.version + 1 };
}
