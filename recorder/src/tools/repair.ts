/**
 * `flowtape repair`: makes a bundle whose writer died readable by every tool again.
 *  - drops a torn final line (a writer killed mid-append) from the trace and from each session's events, and
 *    never a complete line: a last line that lacks only its newline but parses is kept and terminated;
 *  - when the run was abandoned (not complete, still `running`, and no writer alive), appends a `node.outcome`
 *    `interrupted` for every open attempt and a `run.failed` with `abandoned: true`;
 *  - rebuilds the projections, the session records and the manifest from the trace with the reducer.
 * It works under the bundle's lock (proper-lockfile, the lock the recorder takes for shared writes) and refuses to
 * touch a bundle whose writer is alive. Running it twice changes nothing the second time.
 */
import { closeSync, constants, fsyncSync } from 'node:fs';
import { open, readdir, readFile, stat, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';
import {
  BUNDLE_FILES,
  ConversationBuilder,
  FORMAT_MAJOR,
  MAX_LINE_BYTES,
  Manifest,
  SCHEMA_IDS,
  SessionBinding,
  SessionEventLine,
  TraceEvent,
  checkSchemaId,
  checkTraceEvent,
  describeZodError,
  initialState,
  readNdjson,
  readTrace,
  reduce,
  sessionFiles,
  toLiveProjection,
  toRunProjection,
  toStepsProjection,
  type ProjectionState,
  type RunStatus,
} from '@flowtape/schema';
import { FsBundleBackend } from './fs-backend.ts';
import { O_NOFOLLOW, appendedFile, checkWritable, refuseLinks, writableFile } from '../bundle/confine.ts';
import { openAppendSync, writeAllSync, writeFileAtomicSync } from '../bundle/fsio.ts';
import { jsonEqual } from './diff-core.ts';

/** The lock file the recorder uses for shared writes (`recorder/src/bundle/recorder.ts`). */
export const BUNDLE_LOCKFILE = '.flowtape.lock';
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
  /** Attempts given an `interrupted` outcome. */
  interrupted: string[];
  /** The run was marked abandoned by this repair. */
  abandoned: boolean;
  status: RunStatus;
  lastSeq: number;
  /** Files rewritten (projections, records, manifest) whose content changed. */
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
    interrupted: [],
    abandoned: false,
    status: 'running',
    lastSeq: 0,
    rewritten: [],
    warnings: [],
    changed: false,
  };
  const backend = new FsBundleBackend(bundleDir);
  // Nothing is changed in a bundle holding a symlink (or a hard-linked file repair would cut or append to): its
  // writes would land outside it. Every write below is confined again on its own.
  refuseLinks(bundleDir, location, appendedFile(BUNDLE_FILES.trace));
  const old = await readOldManifest(bundleDir, report);
  const files = old?.files ?? {
    flow: BUNDLE_FILES.flow,
    trace: BUNDLE_FILES.trace,
    run: BUNDLE_FILES.run,
    live: BUNDLE_FILES.live,
    steps: BUNDLE_FILES.steps,
  };
  const tracePath = await existing(writableFile(bundleDir, files.trace, 'in-place'));
  if (!tracePath) throw new RepairError(`${location}: ${files.trace}: missing; nothing to rebuild from`);

  await fixTail(tracePath, files.trace, (line) => checkTraceEvent(safeParse(line), 0).ok, report, options);

  // Fold the trace.
  let state = initialState();
  let lastAt: string | undefined;
  let abandonedInTrace = false;
  const source = await backend.readStream(files.trace);
  for await (const { event } of readTrace(source!, {
    file: files.trace,
    onIssue: (issue) => report.warnings.push(issue.message),
  })) {
    state = reduce(state, event);
    lastAt = event.at;
    if (event.type === 'run.failed' && (event as { payload: { abandoned?: boolean } }).payload.abandoned) abandonedInTrace = true;
  }
  if (state.seq === 0) throw new RepairError(`${location}: ${files.trace}: no readable event; nothing to rebuild from`);

  // An abandoned run: still running per its trace, not complete, and its writer is gone.
  if (state.status === 'running' && !old?.complete) {
    const alive = writerAlive(old);
    if (alive.alive && !options.force) {
      throw new RepairError(`${location}: ${alive.reason}; not repairing a live run (use --force if that process is not the writer)`);
    }
    const at = lastAt ?? new Date().toISOString();
    const endMs = Date.parse(at);
    const appended: TraceEvent[] = [];
    let seq = state.seq;
    const runId = state.runId ?? old?.runId ?? 'unknown-run';
    for (const step of state.steps) {
      if (step.status !== 'running') continue;
      appended.push(
        TraceEvent.parse({
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
        }),
      );
      report.interrupted.push(step.attemptId);
    }
    const who = old?.writer.pid !== undefined ? ` (pid ${old.writer.pid})` : '';
    appended.push(
      TraceEvent.parse({
        seq: ++seq,
        at,
        runId,
        scope: 'run',
        type: 'run.failed',
        payload: {
          error: { message: `the run was abandoned: its writer${who} stopped before the end`, code: 'abandoned' },
          ...(state.startedAt ? { durationMs: Math.max(0, endMs - Date.parse(state.startedAt)) } : {}),
          abandoned: true,
        },
      }),
    );
    for (const event of appended) state = reduce(state, event);
    abandonedInTrace = true;
    report.abandoned = true;
    if (!options.dryRun) appendLines(bundleDir, files.trace, appended.map((e) => JSON.stringify(e) + '\n').join(''));
    report.changed = true;
  }
  report.status = state.status;
  report.lastSeq = state.seq;

  // Sessions: torn tails, then records rebuilt from the events.
  const sessionIds = await sessionDirs(bundleDir, state, old);
  for (const sessionId of sessionIds) await repairSession(backend, sessionId, state, report, options);

  // Projections and the manifest.
  const write = async (path: string, text: string) => {
    const current = await readFile(writableFile(bundleDir, path, 'replace'), 'utf8').catch(() => undefined);
    // Same content (whatever its indentation): leave the file alone, so a second repair changes nothing.
    if (current !== undefined && sameJson(current, JSON.parse(text))) return;
    report.rewritten.push(path);
    report.changed = true;
    if (!options.dryRun) writeFileAtomicSync(bundleDir, path, text, true);
  };
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
    createdAt: old?.createdAt ?? state.startedAt ?? lastAt,
    updatedAt: state.updatedAt ?? lastAt,
    ...(state.endedAt ? { endedAt: state.endedAt } : {}),
    lastSeq: state.seq,
    files,
    sessions: sessionIds.map((sessionId) => ({ sessionId, path: sessionFiles(sessionId).dir })),
    writer: old?.writer ?? { name: 'flowtape', version: 'unknown' },
    ...(abandonedInTrace || old?.abandoned ? { abandoned: true } : {}),
    ...(old?.origin ? { origin: old.origin } : {}),
  });
  await write(BUNDLE_FILES.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  return report;
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

/**
 * A final line without its newline: kept (and terminated) when it is a complete record, cut when it is torn.
 * Complete lines are never touched.
 */
async function fixTail(
  file: string,
  name: string,
  isComplete: (line: string) => boolean,
  report: RepairReport,
  options: RepairOptions,
): Promise<void> {
  // Never through a symlink, and never a file with another hard link: cutting it would cut that file too.
  const handle = await open(file, (options.dryRun ? constants.O_RDONLY : constants.O_RDWR) | O_NOFOLLOW);
  try {
    const st = await handle.stat();
    if (!options.dryRun) checkWritable(st, name, 'in-place');
    const { size } = st;
    if (size === 0) return;
    const lastNewline = await findLastNewline(handle, size);
    const tailStart = lastNewline + 1;
    if (tailStart >= size) return;
    if (size - tailStart > MAX_LINE_BYTES) {
      // Longer than any reader takes: not read into memory to decide whether it is whole, and never cut unseen.
      report.warnings.push(
        `${name}: the last line has no newline and is ${size - tailStart} bytes, over the ${MAX_LINE_BYTES / 1024 / 1024} MiB line limit; left in place`,
      );
      return;
    }
    const tail = Buffer.alloc(size - tailStart);
    await handle.read(tail, 0, tail.length, tailStart);
    const text = tail.toString('utf8');
    if (text.trim() === '') return;
    if (isComplete(text)) {
      report.terminatedLines.push(name);
      report.changed = true;
      if (!options.dryRun) {
        await handle.write('\n', size);
        await handle.sync();
      }
      return;
    }
    report.tornLines.push({ file: name, bytes: tail.length });
    report.changed = true;
    if (!options.dryRun) {
      await handle.truncate(tailStart);
      await handle.sync();
    }
  } finally {
    await handle.close();
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

/** Sessions named by the trace, the old manifest or a directory under sessions/ (in that order, no duplicates). */
async function sessionDirs(bundleDir: string, state: ProjectionState, old: Manifest | undefined): Promise<string[]> {
  const ids = new Set<string>(state.sessions.keys());
  for (const s of old?.sessions ?? []) ids.add(s.sessionId);
  const entries = await readdir(join(bundleDir, BUNDLE_FILES.sessionsDir), { withFileTypes: true }).catch(() => []);
  for (const entry of entries) if (entry.isDirectory() && /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(entry.name)) ids.add(entry.name);
  return [...ids].sort();
}

async function repairSession(
  backend: FsBundleBackend,
  sessionId: string,
  state: ProjectionState,
  report: RepairReport,
  options: RepairOptions,
): Promise<void> {
  const files = sessionFiles(sessionId);
  const eventsPath = await existing(writableFile(backend.dir, files.events, 'in-place'));
  if (!eventsPath) {
    report.warnings.push(`${files.events}: missing`);
    return;
  }
  await fixTail(eventsPath, files.events, (line) => SessionEventLine.safeParse(safeParse(line)).success, report, options);
  const builder = new ConversationBuilder();
  let lastAt: string | undefined;
  for await (const { line, value } of readNdjson((await backend.readStream(files.events))!, {
    file: files.events,
    onIssue: (issue) => report.warnings.push(issue.message),
  })) {
    const parsed = SessionEventLine.safeParse(value);
    if (!parsed.success) {
      report.warnings.push(`${files.events}:${line}: not a valid session event (left in place)`);
      continue;
    }
    builder.add(parsed.data);
    lastAt = parsed.data.at;
  }
  const summary = state.sessions.get(sessionId);
  let binding: SessionBinding | undefined;
  const bindingText = await backend.readText(files.binding);
  if (bindingText !== undefined) {
    const parsed = SessionBinding.safeParse(safeParse(bindingText));
    if (parsed.success) binding = parsed.data;
  }
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
    lastSeq: builder.lastSeq,
    updatedAt: lastAt ?? binding?.createdAt ?? state.updatedAt,
    messages: builder.messages,
  };
  const text = `${JSON.stringify(record, null, 2)}\n`;
  const file = writableFile(backend.dir, files.record, 'replace');
  const current = safeParse((await readFile(file, 'utf8').catch(() => undefined)) ?? '') as Partial<typeof record> | undefined;
  // The record's own `updatedAt` is the writer's clock: an up-to-date record is left as it is.
  if (current && current.lastSeq === record.lastSeq && current.sessionId === sessionId && sameJson(JSON.stringify(current.messages), record.messages)) {
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
