/**
 * `flowtape repair`: makes a bundle whose writer died readable by every tool again.
 *  - drops a torn final line (a writer killed mid-append) from the trace and from each session's events, and
 *    never a complete line: a last line that lacks only its newline but parses is kept and terminated;
 *  - when the writer died between writing the manifest (which it does before the first trace line) and that line,
 *    rebuilds `run.started` from the manifest;
 *  - when the run was abandoned (the trace folds to `running` and no writer is alive, or the manifest said complete
 *    although the trace lost its end), appends a `session.failed` for every session whose writer died during the
 *    agent handshake (traffic on disk, no `session.bound`), a `node.outcome` `interrupted` for every open attempt
 *    and a `run.failed` with `abandoned: true`;
 *  - rebuilds the projections, the session bindings and records, the manifest and (when it is missing) flow.json
 *    from the trace with the reducer.
 * Everything is checked before anything is written: a directory or FIFO where a file should be, session traffic or
 * an artifact the trace needs but that is gone (neither can be rebuilt), a trace whose seqs go backwards (repair
 * would number its events after a seq that is not the highest) make it refuse with one line naming the file.
 * It works under the bundle's lock (proper-lockfile, the lock the recorder takes for shared writes) and refuses to
 * touch a bundle whose writer is alive. One repair reaches the state a second one leaves unchanged.
 */
import { closeSync, constants, createReadStream, existsSync, fsyncSync } from 'node:fs';
import { open, readdir, readFile, stat, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';
import {
  BUNDLE_FILES,
  ConversationBuilder,
  FORMAT_MAJOR,
  FlowSnapshot,
  MAX_LINE_BYTES,
  Manifest,
  SCHEMA_IDS,
  SessionBinding,
  SessionEventLine,
  TraceEvent,
  checkSchemaId,
  checkTraceEvent,
  describeZodError,
  getStep,
  initialState,
  readNdjson,
  readTrace,
  Projector,
  reduce,
  sessionFiles,
  toLiveProjection,
  toRunProjection,
  toStepsProjection,
  type ArtifactRef,
  type ByteSource,
  type McpServerBinding,
  type ProjectionState,
  type RunStatus,
} from '@flowtape/schema';
import { FsBundleBackend, fileKind } from './fs-backend.ts';
import { O_NOFOLLOW, appendedFile, checkWritable, ensureFolder, refuseLinks, writableFile } from '../bundle/confine.ts';
import { openAppendSync, writeAllSync, writeFileAtomicSync } from '../bundle/fsio.ts';
import { jsonEqual } from '@flowtape/schema/diff';
import { collectArtifacts } from './verify.ts';
import { artifactRef, decodeBase64 } from '../bundle/artifacts.ts';
import { mcpServersForBinding } from '../bundle/redact.ts';

/** The lock file the recorder uses for shared writes (`recorder/src/bundle/recorder.ts`). */
export const BUNDLE_LOCKFILE = '.flowtape.lock';
const ENDED: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'timed_out', 'cancelled']);
const SESSION_DIR = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export class RepairError extends Error {
  override name = 'RepairError';
}

export interface RepairOptions {
  /** Treat the writer as dead even when its pid is alive or unknown (e.g. a pid reused after a reboot). */
  force?: boolean;
  /** Report what would change without writing. */
  dryRun?: boolean;
  /** How long to wait for the bundle lock (ms, default 5000). */
  lockWaitMs?: number;
}

export interface RepairReport {
  bundleDir: string;
  /** Torn final lines removed: file and bytes. */
  tornLines: Array<{ file: string; bytes: number }>;
  /** Final lines that lacked only their newline and were kept. */
  terminatedLines: string[];
  /** Sessions whose writer died during the agent handshake (no `session.bound`), recorded as failed. */
  failedSessions: string[];
  /** Attempts given an `interrupted` outcome. */
  interrupted: string[];
  /** The run was marked abandoned by this repair. */
  abandoned: boolean;
  /**
   * The writer died after writing the manifest but before its first trace line was whole: `run.started` was rebuilt
   * from manifest.json (run id, flow name, start time; the input was not recorded).
   */
  rebuiltStart: boolean;
  status: RunStatus;
  lastSeq: number;
  /** Files rewritten (projections, records, bindings, manifest, a missing flow.json) whose content changed. */
  rewritten: string[];
  /** Problems left in place (invalid complete lines, seq gaps): `verify` reports them. */
  warnings: string[];
  changed: boolean;
}

export async function repairBundle(location: string, options: RepairOptions = {}): Promise<RepairReport> {
  const bundleDir = resolve(location);
  let st;
  try {
    st = await stat(bundleDir);
  } catch {
    throw new RepairError(`${location}: no such bundle directory`);
  }
  if (!st.isDirectory()) throw new RepairError(`${location}: not a bundle directory (repair works on directories, not zips)`);
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(bundleDir, {
      lockfilePath: join(bundleDir, BUNDLE_LOCKFILE),
      realpath: false,
      stale: 10_000,
      retries: { retries: Math.ceil((options.lockWaitMs ?? 5000) / 100), minTimeout: 100, maxTimeout: 100, factor: 1 },
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new RepairError(`${location}: the bundle is locked by another process (a live writer); not repairing`);
    }
    throw error;
  }
  try {
    return await repairLocked(bundleDir, location, options);
  } finally {
    await release().catch(() => {});
  }
}

async function repairLocked(bundleDir: string, location: string, options: RepairOptions): Promise<RepairReport> {
  const report: RepairReport = {
    bundleDir,
    tornLines: [],
    terminatedLines: [],
    failedSessions: [],
    interrupted: [],
    abandoned: false,
    rebuiltStart: false,
    status: 'running',
    lastSeq: 0,
    rewritten: [],
    warnings: [],
    changed: false,
  };
  const refuse = (message: string): never => {
    throw new RepairError(`${location}: ${message}`);
  };
  // What repair reads or rewrites must be a regular file (directories: a directory) or absent. A FIFO would block a
  // read forever and a directory fails it: refused, naming the path, before anything is read or written.
  const exists = (path: string, want: 'file' | 'dir' = 'file') => pathExists(bundleDir, path, want, refuse);
  const backend = new FsBundleBackend(bundleDir);
  // Nothing is changed in a bundle holding a symlink (or a hard-linked file repair would cut or append to): its
  // writes would land outside it. Every write below is confined again on its own.
  refuseLinks(bundleDir, location, appendedFile(BUNDLE_FILES.trace));
  await exists(BUNDLE_FILES.manifest);
  const old = await readOldManifest(bundleDir, report);
  const files = old?.files ?? {
    flow: BUNDLE_FILES.flow,
    trace: BUNDLE_FILES.trace,
    run: BUNDLE_FILES.run,
    live: BUNDLE_FILES.live,
    steps: BUNDLE_FILES.steps,
  };
  for (const path of [files.trace, files.flow, files.run, files.live, files.steps]) await exists(path);
  const traceFile = writableFile(bundleDir, files.trace, 'in-place');
  const tracePath = await existing(traceFile);
  // The writer writes the manifest before the first trace line (SPEC, writing discipline rule 1). A manifest at seq 0
  // over a trace with no whole line is a run whose writer died in between: its start is rebuilt from the manifest.
  const beforeFirstLine = old !== undefined && old.lastSeq === 0 && !old.complete;
  const nothing = old ? 'nothing to rebuild from' : `and no ${BUNDLE_FILES.manifest}: nothing was recorded here (not a bundle)`;
  if (!tracePath && !beforeFirstLine) refuse(`${files.trace}: missing; ${nothing}`);

  // ——— plan: read only ———
  const traceTail = tracePath
    ? await planTail(tracePath, files.trace, (line) => checkTraceEvent(safeParse(line), 0).ok, report)
    : ({ file: files.trace, path: traceFile, size: 0, keep: 0, action: 'none' } satisfies TailPlan);
  noteTail(traceTail, report);
  const fold = await foldTrace(traceFile, traceTail.keep, files.trace, report);
  let state = fold.state;
  if (state.seq === 0 && !beforeFirstLine) refuse(`${files.trace}: no readable event; ${nothing}`);
  // Events appended after a seq that went backwards would repeat seqs, and the fold of such a trace is no run.
  if (fold.backwards) {
    const { line, seq, previous } = fold.backwards;
    refuse(`${files.trace}:${line}: seq ${seq} after seq ${previous}: the seqs are not increasing; repair does not renumber events (nothing was changed)`);
  }

  // An abandoned run: the trace folds to running and its writer is gone. A manifest that says complete means the
  // writer finished (it is not writing any more): the trace lost its end.
  let abandon: 'writer-gone' | 'trace-lost-end' | undefined;
  if (state.status === 'running') {
    if (old?.complete) {
      abandon = 'trace-lost-end';
    } else {
      const alive = writerAlive(old);
      if (alive.alive && !options.force) {
        refuse(`${alive.reason}; not repairing a live run (use --force if that process is not the writer)`);
      }
      abandon = 'writer-gone';
    }
  }

  // Sessions: named by the trace, the old manifest or a directory under sessions/.
  const flowText = (await exists(files.flow)) ? await readFile(join(bundleDir, ...files.flow.split('/')), 'utf8') : undefined;
  const flow = flowText === undefined ? undefined : FlowSnapshot.safeParse(safeParse(flowText)).data;
  const sessions: SessionPlan[] = [];
  const blobs = new BlobPlan(bundleDir);
  for (const sessionId of await sessionCandidates(bundleDir, state, old)) {
    const plan = await planSession(backend, sessionId, state, fold, exists, abandon !== undefined, report, refuse, blobs);
    if (plan) sessions.push(plan);
  }

  // Artifacts the trace references: never rebuilt, so they must be there.
  for (const [path, line] of fold.artifacts) {
    if (!(await exists(path))) refuse(`${path}: missing (referenced at ${files.trace}:${line}); artifacts cannot be rebuilt from the trace`);
  }

  // ——— the events this repair appends ———
  const appended: TraceEvent[] = [];
  if (abandon) {
    const at = fold.lastAt ?? old?.updatedAt ?? new Date().toISOString();
    const endMs = Date.parse(at);
    const runId = state.runId ?? old?.runId ?? 'unknown-run';
    let seq = state.seq;
    if (state.seq === 0 && old) {
      // What the manifest knows of the start; the input stayed in the dead writer's queue.
      const event = TraceEvent.parse({ seq: ++seq, at: old.createdAt, runId, scope: 'run', type: 'run.started', payload: { flowName: old.flowName } });
      appended.push(event);
      state = reduce(state, event);
      report.rebuiltStart = true;
    }
    for (const plan of sessions) {
      if (plan.fate !== 'failed') continue;
      const event = handshakeFailed(plan, state, flow, ++seq, at, runId);
      appended.push(event);
      state = reduce(state, event);
      fold.sessionEvents.set(plan.sessionId, event);
      plan.binding = bindingFrom(event, plan);
      plan.writeBinding = true;
      report.failedSessions.push(plan.sessionId);
    }
    // The events above are folded already; the outcomes and the run's end below are folded together after.
    const folded = appended.length;
    for (const step of state.steps) {
      if (step.status !== 'running') continue;
      const event = TraceEvent.parse({
        seq: ++seq,
        at,
        runId,
        scope: 'node',
        type: 'node.outcome',
        nodeId: step.nodeId,
        attemptId: step.attemptId,
        payload: {
          outcome: 'interrupted',
          durationMs: Math.max(0, endMs - Date.parse(step.startedAt)),
          error: { message: 'the writer stopped before this attempt ended', code: 'interrupted' },
        },
      });
      appended.push(event);
      report.interrupted.push(step.attemptId);
    }
    const who = old?.writer.pid !== undefined ? ` (pid ${old.writer.pid})` : '';
    const message =
      abandon === 'trace-lost-end'
        ? `the run was abandoned: ${files.trace} ends before the run did, although ${BUNDLE_FILES.manifest} said it was complete`
        : report.rebuiltStart
          ? `the run was abandoned: its writer${who} stopped before its first event was written (run.started was rebuilt from ${BUNDLE_FILES.manifest}; the input was not recorded)`
          : `the run was abandoned: its writer${who} stopped before the end`;
    appended.push(
      TraceEvent.parse({
        seq: ++seq,
        at,
        runId,
        scope: 'run',
        type: 'run.failed',
        payload: {
          error: { message, code: 'abandoned' },
          ...(state.startedAt ? { durationMs: Math.max(0, endMs - Date.parse(state.startedAt)) } : {}),
          abandoned: true,
        },
      }),
    );
    for (const event of appended.slice(folded)) state = reduce(state, event);
    report.abandoned = true;
    report.changed = true;
  }
  report.status = state.status;
  report.lastSeq = state.seq;

  // flow.json is written when the run starts; when it is gone, the nodes and edges the run went through.
  const rebuiltFlow = flowText === undefined ? flowFromTrace(fold, state, files.flow, refuse) : undefined;

  // ——— apply: the trace first, the manifest last ———
  const write = async (path: string, text: string) => {
    const current = await readFile(writableFile(bundleDir, path, 'replace'), 'utf8').catch(() => undefined);
    // Same content (whatever its indentation): leave the file alone, so a second repair changes nothing.
    if (current !== undefined && sameJson(current, JSON.parse(text))) return;
    report.rewritten.push(path);
    report.changed = true;
    if (options.dryRun) return;
    const folder = dirname(path);
    if (folder !== '.') ensureFolder(bundleDir, folder);
    writeFileAtomicSync(bundleDir, path, text, true);
  };
  if (!options.dryRun) {
    await applyTail(traceTail);
    if (appended.length > 0) appendLines(bundleDir, files.trace, appended.map((e) => JSON.stringify(e) + '\n').join(''));
  }
  // Message blobs whose artifact is gone (the writer died between its events line and the file, or a copy that
  // left artifacts/ behind): rebuilt from the base64 in events.ndjson, before the records that name them.
  for (const [path, bytes] of blobs.missing) {
    report.rewritten.push(path);
    report.changed = true;
    if (options.dryRun) continue;
    ensureFolder(bundleDir, BUNDLE_FILES.artifactsDir);
    writeFileAtomicSync(bundleDir, path, bytes, true);
  }
  const listed = sessions.filter((plan) => plan.fate !== 'unlisted');
  for (const plan of listed) await writeSession(backend, plan, state, write, report, options);
  if (rebuiltFlow) {
    report.warnings.push(`${files.flow}: missing; rebuilt from ${files.trace} (only the nodes and edges the run went through)`);
    await write(files.flow, `${JSON.stringify(rebuiltFlow, null, 2)}\n`);
  }
  const indent = state.steps.size <= 1000 ? 2 : undefined;
  const doc = (value: unknown) => `${JSON.stringify(value, null, indent)}\n`;
  await write(files.run, doc(toRunProjection(state)));
  await write(files.live, doc(toLiveProjection(state)));
  await write(files.steps, doc(toStepsProjection(state)));
  const manifest = Manifest.parse({
    schema: SCHEMA_IDS.bundle,
    runId: state.runId ?? old?.runId,
    flowName: state.flowName ?? old?.flowName ?? 'unknown',
    status: state.status,
    complete: ENDED.has(state.status),
    createdAt: old?.createdAt ?? state.startedAt ?? fold.lastAt,
    updatedAt: state.updatedAt ?? fold.lastAt,
    ...(state.endedAt ? { endedAt: state.endedAt } : {}),
    lastSeq: state.seq,
    files,
    sessions: listed.map(({ sessionId }) => ({ sessionId, path: sessionFiles(sessionId).dir })),
    writer: old?.writer ?? { name: 'flowtape', version: 'unknown' },
    ...(fold.abandonedInTrace || report.abandoned || old?.abandoned ? { abandoned: true } : {}),
    ...(old?.origin ? { origin: old.origin } : {}),
  });
  await write(BUNDLE_FILES.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  return report;
}

/**
 * Whether a bundle path exists; something of the wrong kind there (or in place of one of its directories) is
 * refused with one line naming it.
 */
async function pathExists(bundleDir: string, path: string, want: 'file' | 'dir', refuse: (message: string) => never): Promise<boolean> {
  const segments = path.split('/');
  for (let i = 1; i <= segments.length; i++) {
    const kind = i === segments.length ? want : 'dir';
    let info;
    try {
      info = await stat(join(bundleDir, ...segments.slice(0, i)));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw error;
    }
    if (kind === 'file' ? !info.isFile() : !info.isDirectory()) {
      const what = kind === 'file' ? 'a regular file' : 'a directory';
      refuse(`${segments.slice(0, i).join('/')}: ${fileKind(info)} where ${what} should be; move it away and run repair again`);
    }
  }
  return true;
}

interface TraceFold {
  state: ProjectionState;
  lastAt: string | undefined;
  /** The first line whose seq is not above the one before it. */
  backwards: { line: number; seq: number; previous: number } | undefined;
  abandonedInTrace: boolean;
  /** The event that created each session (`session.bound` or `session.failed`): a lost binding.json comes from it. */
  sessionEvents: Map<string, TraceEvent>;
  /** Artifact path → the trace line that first references it. */
  artifacts: Map<string, number>;
  /** What the trace says about each node, in order of first start (for a lost flow.json). */
  nodes: Map<string, { nodeType: string; mode?: 'shared' | 'isolated'; handle?: string; actionType?: string }>;
  edges: Map<string, { from: string; to: string }>;
}

/** Folds the trace up to `keep` bytes (a torn tail that will be cut is not read). */
async function foldTrace(tracePath: string, keep: number, file: string, report: RepairReport): Promise<TraceFold> {
  const fold: TraceFold = {
    state: initialState(),
    lastAt: undefined,
    backwards: undefined,
    abandonedInTrace: false,
    sessionEvents: new Map(),
    artifacts: new Map(),
    nodes: new Map(),
    edges: new Map(),
  };
  const projector = new Projector(fold.state);
  for await (const { line, event, known } of readTrace(readRange(tracePath, keep), {
    file,
    onIssue: (issue) => report.warnings.push(issue.message),
  })) {
    if (event.seq <= projector.seq) fold.backwards ??= { line, seq: event.seq, previous: projector.seq };
    projector.add(event);
    fold.lastAt = event.at;
    if (!known) continue;
    const e = event as TraceEvent;
    collectArtifacts(e.payload, (ref) => {
      if (!fold.artifacts.has(ref.path)) fold.artifacts.set(ref.path, line);
    });
    switch (e.type) {
      case 'run.failed':
        if (e.payload.abandoned) fold.abandonedInTrace = true;
        break;
      case 'node.started':
        if (e.nodeId && !fold.nodes.has(e.nodeId)) fold.nodes.set(e.nodeId, { nodeType: e.payload.nodeType });
        break;
      case 'session.bound':
      case 'session.failed': {
        if (e.sessionId && !fold.sessionEvents.has(e.sessionId)) fold.sessionEvents.set(e.sessionId, e);
        const node = e.nodeId ? fold.nodes.get(e.nodeId) : undefined;
        if (node && node.mode === undefined) Object.assign(node, { mode: e.payload.mode, handle: e.payload.handle });
        break;
      }
      case 'action.started': {
        const node = e.nodeId ? fold.nodes.get(e.nodeId) : undefined;
        if (node) node.actionType ??= e.payload.actionType;
        break;
      }
      case 'edge.taken':
        fold.edges.set(`${e.payload.from}\u2192${e.payload.to}`, { from: e.payload.from, to: e.payload.to });
        break;
    }
  }
  fold.state = projector.state();
  return fold;
}

/** A flow.json for a bundle that lost it: the nodes that ran and the edges taken, marked as rebuilt. */
function flowFromTrace(fold: TraceFold, state: ProjectionState, file: string, refuse: (message: string) => never): FlowSnapshot {
  const ids = [...fold.nodes.keys()];
  if (ids.length === 0) refuse(`${file}: missing, and the trace names no node to rebuild it from`);
  const nodes = [...fold.nodes].map(([id, node]) => {
    if (node.nodeType === 'acp') {
      const mode = node.mode ?? 'shared';
      return { id, nodeType: 'acp', sessionMode: mode, sessionHandle: node.handle ?? (mode === 'isolated' ? 'isolated' : 'main') };
    }
    if (node.nodeType === 'action') return { id, nodeType: 'action', actionType: node.actionType === 'shell' ? 'shell' : 'function' };
    return { id, nodeType: node.nodeType };
  });
  return FlowSnapshot.parse({
    schema: SCHEMA_IDS.flow,
    name: state.flowName ?? 'unknown',
    description: `Rebuilt by flowtape repair from the trace (${file} was missing): only the nodes that ran and the edges taken.`,
    startAt: ids[0],
    nodes,
    edges: [...fold.edges.values()].filter((e) => fold.nodes.has(e.from) && fold.nodes.has(e.to)),
  });
}

interface TailPlan {
  file: string;
  path: string;
  size: number;
  /** Bytes of the file that stay. */
  keep: number;
  action: 'none' | 'terminate' | 'cut';
}

/**
 * A final line without its newline: kept (and terminated) when it is a complete record, cut when it is torn.
 * Complete lines are never touched. Only reads: `applyTail` does it.
 */
async function planTail(path: string, file: string, isComplete: (line: string) => boolean, report: RepairReport): Promise<TailPlan> {
  // Never through a symlink (the kind of the file is checked again where it is changed).
  const handle = await open(path, constants.O_RDONLY | O_NOFOLLOW);
  try {
    const { size } = await handle.stat();
    const plan: TailPlan = { file, path, size, keep: size, action: 'none' };
    if (size === 0) return plan;
    const tailStart = (await findLastNewline(handle, size)) + 1;
    if (tailStart >= size) return plan;
    if (size - tailStart > MAX_LINE_BYTES) {
      // Longer than any reader takes: not read into memory to decide whether it is whole, and never cut unseen.
      report.warnings.push(
        `${file}: the last line has no newline and is ${size - tailStart} bytes, over the ${MAX_LINE_BYTES / 1024 / 1024} MiB line limit; left in place`,
      );
      return plan;
    }
    const tail = Buffer.alloc(size - tailStart);
    await handle.read(tail, 0, tail.length, tailStart);
    const text = tail.toString('utf8');
    if (text.trim() === '') return plan;
    if (isComplete(text)) return { ...plan, action: 'terminate' };
    return { ...plan, keep: tailStart, action: 'cut' };
  } finally {
    await handle.close();
  }
}

function noteTail(plan: TailPlan, report: RepairReport): void {
  if (plan.action === 'none') return;
  report.changed = true;
  if (plan.action === 'terminate') report.terminatedLines.push(plan.file);
  else report.tornLines.push({ file: plan.file, bytes: plan.size - plan.keep });
}

async function applyTail(plan: TailPlan): Promise<void> {
  if (plan.action === 'none') return;
  // Never through a symlink, and never a file with another hard link: cutting it would cut that file too.
  const handle = await open(plan.path, constants.O_RDWR | O_NOFOLLOW);
  try {
    checkWritable(await handle.stat(), plan.file, 'in-place');
    if (plan.action === 'terminate') await handle.write('\n', plan.size);
    else await handle.truncate(plan.keep);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The first `keep` bytes of a file, streamed. */
function readRange(path: string, keep: number): ByteSource {
  return keep === 0 ? [] : createReadStream(path, { start: 0, end: keep - 1, highWaterMark: 64 * 1024 });
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The manifest as it was, if it is readable; a newer major version is refused (repair would downgrade it). */
async function readOldManifest(bundleDir: string, report: RepairReport): Promise<Manifest | undefined> {
  const text = await readFile(join(bundleDir, BUNDLE_FILES.manifest), 'utf8').catch(() => undefined);
  if (text === undefined) {
    report.warnings.push(`${BUNDLE_FILES.manifest}: missing; rebuilt from the trace`);
    return undefined;
  }
  const value = safeParse(text);
  try {
    checkSchemaId(value, SCHEMA_IDS.bundle, BUNDLE_FILES.manifest);
  } catch (error) {
    if ((error as Error).name === 'NewerFormatError') {
      throw new RepairError(`${(error as Error).message} (this repair writes v${FORMAT_MAJOR})`);
    }
  }
  const parsed = Manifest.safeParse(value);
  if (parsed.success) return parsed.data;
  // Its paths are never used then (one may point outside the bundle): the default layout is rebuilt.
  const why = value === undefined ? `${BUNDLE_FILES.manifest}: not valid JSON` : describeZodError(parsed.error, BUNDLE_FILES.manifest).message;
  report.warnings.push(`${why}; rebuilt from the trace`);
  return undefined;
}

function writerAlive(manifest: Manifest | undefined): { alive: boolean; reason: string } {
  const pid = manifest?.writer.pid;
  if (!manifest) return { alive: true, reason: 'manifest.json is missing, so whether the writer is alive is unknown' };
  if (pid === undefined) {
    return { alive: true, reason: 'manifest.json names no writer pid (a deterministic run?), so whether the writer is alive is unknown' };
  }
  if (manifest.writer.hostname && manifest.writer.hostname !== hostname()) {
    return { alive: true, reason: `the writer ran on another host (${manifest.writer.hostname}); whether it is alive is unknown` };
  }
  if (pid === process.pid) return { alive: true, reason: `the writer is this process (pid ${pid})` };
  try {
    process.kill(pid, 0);
    return { alive: true, reason: `the writer (pid ${pid}) is still running` };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPERM') return { alive: true, reason: `the writer (pid ${pid}) is still running` };
    return { alive: false, reason: `the writer (pid ${pid}) is gone` };
  }
}

async function findLastNewline(handle: FileHandle, size: number): Promise<number> {
  const block = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - block.length);
    const { bytesRead } = await handle.read(block, 0, end - start, start);
    const at = block.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (at !== -1) return start + at;
    end = start;
  }
  return -1;
}

function appendLines(bundleDir: string, path: string, text: string): void {
  const fd = openAppendSync(bundleDir, path);
  try {
    writeAllSync(fd, Buffer.from(text, 'utf8'));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `file` when something is there (its kind is checked where it is opened), else undefined. */
async function existing(file: string): Promise<string | undefined> {
  return (await stat(file).catch(() => undefined)) ? file : undefined;
}

/** Sessions named by the trace, the old manifest or a directory under sessions/ (sorted, no duplicates). */
async function sessionCandidates(bundleDir: string, state: ProjectionState, old: Manifest | undefined): Promise<string[]> {
  const ids = new Set<string>(state.sessions.keys());
  for (const s of old?.sessions ?? []) ids.add(s.sessionId);
  const entries = await readdir(join(bundleDir, BUNDLE_FILES.sessionsDir), { withFileTypes: true }).catch(() => []);
  for (const entry of entries) if (entry.isDirectory() && SESSION_DIR.test(entry.name)) ids.add(entry.name);
  return [...ids].sort();
}

/**
 * The artifacts of message blocks (images, audio, embedded blobs): hashed as the recorder stores them, so the rebuilt
 * record.json names the same files; those missing from artifacts/ are kept to be written.
 */
class BlobPlan {
  readonly missing = new Map<string, Buffer>();

  constructor(private readonly bundleDir: string) {}

  readonly store = (base64: string, mediaType: string): ArtifactRef => {
    const bytes = decodeBase64(base64);
    const ref = artifactRef(bytes, mediaType);
    if (!this.missing.has(ref.path) && !existsSync(join(this.bundleDir, ...ref.path.split('/')))) this.missing.set(ref.path, bytes);
    return ref;
  };
}

interface SessionPlan {
  sessionId: string;
  files: ReturnType<typeof sessionFiles>;
  /**
   * `listed`: bound or failed in the trace, or with its binding.json; `failed`: its writer died during the agent
   * handshake (traffic, no binding, no event) and the run is abandoned by this repair: recorded as failed;
   * `unlisted`: the same in a run that ended, left out of the manifest (verify notes it).
   */
  fate: 'listed' | 'failed' | 'unlisted';
  tail: TailPlan | undefined;
  binding: SessionBinding | undefined;
  /** binding.json is missing or invalid: written from the trace. */
  writeBinding: boolean;
  builder: ConversationBuilder;
  firstAt: string | undefined;
  lastAt: string | undefined;
  /** The attempt of the first line that names one (the attempt that opened the session). */
  attemptId: string | undefined;
  agent: { name: string; version?: string } | undefined;
  protocolVersion: number | undefined;
  /** What the client sent the agent to set the session up (the first `session/new`, or `session/load`/`resume`). */
  setup: { cwd?: string; mcpServers?: McpServerBinding[]; authMethodId?: string };
}

async function planSession(
  backend: FsBundleBackend,
  sessionId: string,
  state: ProjectionState,
  fold: TraceFold,
  exists: (path: string, want?: 'file' | 'dir') => Promise<boolean>,
  abandoning: boolean,
  report: RepairReport,
  refuse: (message: string) => never,
  blobs: BlobPlan,
): Promise<SessionPlan | undefined> {
  const files = sessionFiles(sessionId);
  await exists(files.dir, 'dir');
  const hasEvents = await exists(files.events);
  const hasBinding = await exists(files.binding);
  await exists(files.record);
  let binding: SessionBinding | undefined;
  if (hasBinding) {
    const parsed = SessionBinding.safeParse(safeParse((await backend.readText(files.binding)) ?? ''));
    if (parsed.success && parsed.data.sessionId === sessionId) binding = parsed.data;
  }
  const inTrace = state.sessions.has(sessionId);
  const fate = inTrace || binding ? 'listed' : abandoning ? 'failed' : 'unlisted';
  if (fate === 'unlisted') {
    report.warnings.push(`${files.dir}: no binding.json and no session.bound or session.failed event: not listed in ${BUNDLE_FILES.manifest}`);
    return undefined;
  }
  if (fate === 'listed' && !hasEvents) refuse(`${files.events}: missing; a session's traffic cannot be rebuilt from the trace`);
  const plan: SessionPlan = {
    sessionId,
    files,
    fate,
    tail: undefined,
    binding,
    writeBinding: false,
    builder: new ConversationBuilder(blobs.store),
    firstAt: undefined,
    lastAt: undefined,
    attemptId: undefined,
    agent: undefined,
    protocolVersion: undefined,
    setup: {},
  };
  // Written from the trace event and what the traffic says (agent, cwd, MCP servers): after the traffic is read.
  const rebuildBinding = (): void => {
    if (binding || !inTrace) return;
    plan.binding = bindingFrom(fold.sessionEvents.get(sessionId)!, plan);
    plan.writeBinding = true;
  };
  if (!hasEvents) {
    rebuildBinding();
    return plan;
  }
  const eventsPath = writableFile(backend.dir, files.events, 'in-place');
  plan.tail = await planTail(eventsPath, files.events, (line) => SessionEventLine.safeParse(safeParse(line)).success, report);
  noteTail(plan.tail, report);
  let initializeId: unknown;
  for await (const { line, value } of readNdjson(readRange(eventsPath, plan.tail.keep), {
    file: files.events,
    onIssue: (issue) => report.warnings.push(issue.message),
  })) {
    const parsed = SessionEventLine.safeParse(value);
    if (!parsed.success) {
      report.warnings.push(`${files.events}:${line}: not a valid session event (left in place)`);
      continue;
    }
    const event = parsed.data;
    plan.builder.add(event);
    plan.firstAt ??= event.at;
    plan.lastAt = event.at;
    plan.attemptId ??= event.attemptId;
    // The agent's answer to `initialize` says who it is (kept in a failed session's binding).
    const message = event.message as { id?: unknown; method?: unknown; result?: { protocolVersion?: unknown; agentInfo?: { name?: unknown; version?: unknown } } } | undefined;
    if (event.direction === 'outgoing') readSetup(plan, event.message);
    if (event.direction === 'outgoing' && message?.method === 'initialize') initializeId = message.id;
    else if (event.direction === 'incoming' && initializeId !== undefined && message?.id === initializeId && message.result) {
      const { protocolVersion, agentInfo } = message.result;
      if (Number.isInteger(protocolVersion)) plan.protocolVersion = protocolVersion as number;
      if (typeof agentInfo?.name === 'string') {
        plan.agent = { name: agentInfo.name, ...(typeof agentInfo.version === 'string' ? { version: agentInfo.version } : {}) };
      }
    }
  }
  rebuildBinding();
  return plan;
}

/** The `session.failed` of a session whose writer died during the agent handshake; its node from flow.json. */
function handshakeFailed(plan: SessionPlan, state: ProjectionState, flow: FlowSnapshot | undefined, seq: number, at: string, runId: string): TraceEvent {
  const step = plan.attemptId === undefined ? undefined : getStep(state, plan.attemptId);
  const open = step?.status === 'running' ? step : undefined;
  const node = open ? flow?.nodes.find((n) => n.id === open.nodeId) : undefined;
  const spec = node?.nodeType === 'acp' ? node : undefined;
  const mode = spec?.sessionMode ?? 'shared';
  return TraceEvent.parse({
    seq,
    at,
    runId,
    scope: 'session',
    type: 'session.failed',
    ...(open ? { nodeId: open.nodeId, attemptId: open.attemptId } : {}),
    sessionId: plan.sessionId,
    payload: {
      handle: spec?.sessionHandle ?? (mode === 'isolated' ? 'isolated' : 'main'),
      mode,
      agentCommand: spec?.agentCommand ?? [],
      path: plan.files.dir,
      error: { message: 'the writer stopped during the agent handshake, before session/new succeeded', code: 'interrupted' },
    },
  });
}

const SETUP_METHODS: ReadonlySet<unknown> = new Set(['session/new', 'session/load', 'session/resume']);

/**
 * The binding's cwd, MCP servers and auth method from the client's own requests in events.ndjson (as the recorder
 * wrote them: MCP env and header values are redacted there already). Only the first setup request counts: a resumed
 * run's `session/load` continues the session the binding describes.
 */
function readSetup(plan: SessionPlan, value: unknown): void {
  const message = value as { method?: unknown; params?: { cwd?: unknown; mcpServers?: unknown; methodId?: unknown } } | undefined;
  const params = message?.params;
  if (!params || typeof params !== 'object') return;
  if (message.method === 'authenticate' && typeof params.methodId === 'string' && plan.setup.cwd === undefined) {
    plan.setup.authMethodId = params.methodId;
  } else if (SETUP_METHODS.has(message.method) && plan.setup.cwd === undefined && typeof params.cwd === 'string') {
    plan.setup.cwd = params.cwd;
    if (Array.isArray(params.mcpServers) && params.mcpServers.length > 0) plan.setup.mcpServers = mcpServersForBinding(params.mcpServers);
  }
}

/** binding.json from the trace event that created the session (and what the session's traffic says). */
function bindingFrom(event: TraceEvent, plan: SessionPlan): SessionBinding {
  if (event.type !== 'session.bound' && event.type !== 'session.failed') throw new Error(`not a session event: ${event.type}`);
  const payload = event.payload;
  return SessionBinding.parse({
    schema: SCHEMA_IDS.sessionBinding,
    sessionId: plan.sessionId,
    handle: payload.handle,
    ...(event.type === 'session.bound' ? { acpSessionId: event.payload.acpSessionId } : {}),
    mode: payload.mode,
    agentCommand: payload.agentCommand,
    ...(plan.setup.cwd !== undefined ? { cwd: plan.setup.cwd } : {}),
    ...(plan.protocolVersion !== undefined ? { protocolVersion: plan.protocolVersion } : {}),
    ...(plan.agent ? { agent: plan.agent } : {}),
    ...(plan.setup.authMethodId !== undefined ? { authMethodId: plan.setup.authMethodId } : {}),
    ...(plan.setup.mcpServers ? { mcpServers: plan.setup.mcpServers } : {}),
    createdAt: plan.firstAt ?? event.at,
    ...(event.attemptId ? { boundBy: event.attemptId } : {}),
    ...(event.type === 'session.failed' ? { error: event.payload.error } : {}),
  });
}

/** A session's torn tail, events.ndjson of a failed session without traffic, binding.json and record.json. */
async function writeSession(
  backend: FsBundleBackend,
  plan: SessionPlan,
  state: ProjectionState,
  write: (path: string, text: string) => Promise<void>,
  report: RepairReport,
  options: RepairOptions,
): Promise<void> {
  const { files, sessionId, binding } = plan;
  if (!options.dryRun && plan.tail) await applyTail(plan.tail);
  if (!plan.tail) {
    // A failed session keeps an events.ndjson, even empty (as the recorder writes one).
    report.rewritten.push(files.events);
    report.changed = true;
    if (!options.dryRun) {
      ensureFolder(backend.dir, files.dir);
      closeSync(openAppendSync(backend.dir, files.events));
    }
  }
  if (plan.writeBinding && binding) await write(files.binding, `${JSON.stringify(binding, null, 2)}\n`);
  const summary = state.sessions.get(sessionId);
  const handle = binding?.handle ?? summary?.handle;
  // A session that failed to start has no ACP id: its record says so with an empty one.
  const acpSessionId = binding?.acpSessionId ?? summary?.acpSessionId ?? (binding?.error ?? summary?.error ? '' : undefined);
  if (handle === undefined || acpSessionId === undefined) {
    report.warnings.push(`${files.dir}: no binding.json and no session.bound event; record.json not rebuilt`);
    return;
  }
  const record = {
    schema: SCHEMA_IDS.sessionRecord,
    sessionId,
    acpSessionId,
    handle,
    lastSeq: plan.builder.lastSeq,
    updatedAt: plan.lastAt ?? binding?.createdAt ?? state.updatedAt,
    messages: plan.builder.messages,
  };
  const text = `${JSON.stringify(record, null, 2)}\n`;
  const file = writableFile(backend.dir, files.record, 'replace');
  const current = safeParse((await readFile(file, 'utf8').catch(() => undefined)) ?? '') as Partial<typeof record> | undefined;
  // The record's own `updatedAt` is the writer's clock: an up-to-date record is left as it is. Its messages are
  // compared as text, as verify compares them with the conversation rebuilt from the events.
  if (
    current &&
    current.lastSeq === record.lastSeq &&
    current.sessionId === sessionId &&
    current.handle === handle &&
    current.acpSessionId === acpSessionId &&
    JSON.stringify(current.messages) === JSON.stringify(record.messages)
  ) {
    return;
  }
  report.rewritten.push(files.record);
  report.changed = true;
  if (!options.dryRun) writeFileAtomicSync(backend.dir, files.record, text, true);
}

/** Files written by the recorder may be indented differently: compare content, not bytes. */
function sameJson(text: string, value: unknown): boolean {
  const parsed = safeParse(text);
  return parsed !== undefined && jsonEqual(parsed, JSON.parse(JSON.stringify(value)));
}
