/**
 * A bundle this writer joins (shared mode) or continues (resume) is someone else's: what it says is read here, and
 * what would make writing to it unsafe is refused here, before anything is written.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_FILES, checkTraceEvent, parseNdjsonText, Projector, type Manifest } from '@flowtape/schema';
import { appendedFile, refuseLinks } from './confine.ts';
import { RecorderError } from './recorder-api.ts';

/** An attempt without an outcome yet. */
export interface OpenAttempt {
  nodeId: string;
  startedAtMs: number;
}

/** Refuses a bundle with symlinks (or a hard-linked file we would append to); every write is confined again on its own. */
export function refuseLinkedBundle(bundleDir: string): void {
  try {
    refuseLinks(bundleDir, bundleDir, appendedFile(BUNDLE_FILES.trace));
  } catch (error) {
    throw new RecorderError((error as Error).message);
  }
}

/** Another process's bundle (shared mode): its events carry that run's id (undefined: not readable yet). */
export function joinedRunId(bundleDir: string): string | undefined {
  let manifest: { runId?: unknown; writer?: unknown };
  try {
    manifest = JSON.parse(readFileSync(join(bundleDir, BUNDLE_FILES.manifest), 'utf8')) as typeof manifest;
  } catch {
    // Not readable yet: run.started (or the owner's first snapshot) will name the run.
    return undefined;
  }
  refuseExclusiveWriter(bundleDir, manifest.writer);
  return typeof manifest.runId === 'string' ? manifest.runId : undefined;
}

/**
 * A bundle whose manifest names a live exclusive writer (`flowtape run`, which does not take the lock) is not
 * joined: our lines would race its unlocked appends. Unknown liveness (no pid, another host) counts as alive.
 */
export function refuseExclusiveWriter(bundleDir: string, writer: unknown): void {
  const w = (typeof writer === 'object' && writer !== null ? writer : {}) as { exclusive?: unknown; pid?: unknown; hostname?: unknown };
  if (w.exclusive !== true) return;
  const pid = typeof w.pid === 'number' ? w.pid : undefined;
  const host = typeof w.hostname === 'string' ? w.hostname : undefined;
  const who = pid === undefined ? 'pid unknown' : `pid ${pid}${host ? ` on ${host}` : ''}`;
  let alive = true;
  if (pid !== undefined && (host === undefined || host === hostname()) && pid !== process.pid) {
    try {
      process.kill(pid, 0);
    } catch (error) {
      alive = (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  if (alive) {
    throw new RecorderError(`${bundleDir}: its exclusive writer (${who}) is alive: a shared writer may not join it until that run ends`);
  }
}

/** What a resumed bundle says about the run this writer continues. */
export interface ResumedBundle {
  runId: string;
  createdAt?: string;
  permissionPolicy?: Manifest['permissionPolicy'];
  /** Attempts still open in the trace (a checkpoint waiting for its resume): they get their outcome from this process. */
  openAttempts: Map<string, OpenAttempt>;
  runStartMs?: number;
  runEnded: boolean;
  waiting: boolean;
}

/** Resume: the runId (and the run's state) come from the bundle being continued. */
export function readResumedBundle(bundleDir: string): ResumedBundle {
  const file = join(bundleDir, BUNDLE_FILES.manifest);
  let manifest: { runId?: unknown; createdAt?: unknown; writer?: unknown; permissionPolicy?: unknown };
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8')) as typeof manifest;
  } catch (error) {
    throw new RecorderError(`${file}: cannot resume this bundle (${(error as Error).message.split('\n')[0]})`);
  }
  refuseExclusiveWriter(bundleDir, manifest.writer);
  if (typeof manifest.runId !== 'string') throw new RecorderError(`${file}: /runId: missing, cannot resume`);
  const tracePath = join(bundleDir, BUNDLE_FILES.trace);
  let text = '';
  try {
    text = readFileSync(tracePath, 'utf8');
  } catch (error) {
    throw new RecorderError(`${tracePath}: cannot resume this bundle (${(error as Error).message.split('\n')[0]})`);
  }
  const projector = new Projector();
  for (const { value, line } of parseNdjsonText(text, { file: BUNDLE_FILES.trace })) {
    const checked = checkTraceEvent(value, line);
    if (checked.ok) projector.add(checked.event);
  }
  const state = projector.state();
  const openAttempts = new Map<string, OpenAttempt>();
  for (const step of state.steps) {
    if (step.status === 'running') openAttempts.set(step.attemptId, { nodeId: step.nodeId, startedAtMs: Date.parse(step.startedAt) });
  }
  return {
    runId: manifest.runId,
    ...(typeof manifest.createdAt === 'string' ? { createdAt: manifest.createdAt } : {}),
    ...(typeof manifest.permissionPolicy === 'string' ? { permissionPolicy: manifest.permissionPolicy as Manifest['permissionPolicy'] } : {}),
    openAttempts,
    ...(state.startedAt ? { runStartMs: Date.parse(state.startedAt) } : {}),
    runEnded: state.status !== 'running' && state.status !== 'waiting',
    waiting: state.status === 'waiting',
  };
}
