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
 * touch a bundle whose writer is alive. A dry run does not take the lock (it writes nothing, so it works on a read-only
 * bundle) but still refuses when a live process holds it. One repair reaches the state a second one leaves unchanged.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  BUNDLE_FILES,
  FORMAT_MAJOR,
  FlowSnapshot,
  Manifest,
  SCHEMA_IDS,
  TraceEvent,
  checkSchemaId,
  checkTraceEvent,
  describeZodError,
  reduce,
  sessionFiles,
  toLiveProjection,
  toRunProjection,
  toStepsProjection,
  type RunStatus,
} from '@flowtape/schema';
import { FsBundleBackend } from './fs-backend.ts';
import { writerAlive } from './writer-alive.ts';
import { lockBundle, refuseIfLocked } from './repair-lock.ts';
import { appendedFile, ensureFolder, refuseLinks, writableFile } from '../bundle/confine.ts';
import { writeFileAtomicSync } from '../bundle/fsio.ts';
import { appendLines, existing, pathExists, safeParse, sameJson } from './repair-files.ts';
import {
  BlobPlan,
  bindingFrom,
  handshakeFailed,
  planSession,
  sessionCandidates,
  writeSession,
  type SessionPlan,
} from './repair-sessions.ts';
import { applyTail, noteTail, planTail, type TailPlan } from './repair-tail.ts';
import { flowFromTrace, foldTrace } from './repair-trace.ts';

export { BUNDLE_LOCKFILE } from './repair-lock.ts';
const ENDED: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'timed_out', 'cancelled']);

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
  const refuse = (message: string): never => {
    throw new RepairError(`${location}: ${message}`);
  };
  const waitMs = options.lockWaitMs ?? 5000;
  // A dry run writes nothing, not even the lock folder: it only checks that no live writer holds the lock.
  if (options.dryRun) {
    await refuseIfLocked(bundleDir, waitMs, refuse);
    return repairLocked(bundleDir, location, options);
  }
  const release = await lockBundle(bundleDir, waitMs, refuse);
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
