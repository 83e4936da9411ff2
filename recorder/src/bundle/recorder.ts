/**
 * The bundle writer: a LifecycleObserver that turns runtime events into a v1 bundle. It is the only code that
 * writes bundle files. Discipline:
 *  - trace first: projections, records and the manifest are written (temp file + rename) only from a state folded
 *    from lines already on disk, and only after artifacts and session lines the trace references have landed;
 *  - one ordered queue per appended file, one write per batch, append-mode descriptors; in shared mode a
 *    proper-lockfile lock per batch, and every seq of every appended file (trace and session events) is allocated
 *    under it; a shared writer does not join a bundle whose exclusive writer is alive;
 *  - snapshots throttled (their cost is bounded to a small share of the run whatever its length), always written
 *    when the run waits or ends; `complete: true` only after everything is flushed and fsynced;
 *  - a redaction hook over every byte before it is written; in deterministic mode no absolute paths, pids or
 *    hostnames (paths are replaced by placeholders).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  BUNDLE_FILES,
  type ArtifactRef,
  type Manifest,
  type Outcome,
  type ProjectionState,
  type TraceEvent,
  type ValueRef,
} from '@flowtape/schema';
import type { LifecycleEvent } from '../runtime/lifecycle.ts';
import { ArtifactStore } from './artifacts.ts';
import { BundleSessions } from './bundle-sessions.ts';
import { foldersAbove, prepareBundleFolder, refuseExistingBundle, writeFirstManifest } from './bundle-start.ts';
import type { CheckedPaths } from './confine.ts';
import { finishBundle } from './complete.ts';
import { CredentialWatch, type HeldTraffic } from './credentials.ts';
import { joinedRunId, readResumedBundle, refuseLinkedBundle, type OpenAttempt } from './existing-bundle.ts';
import { recordLifecycleEvent, type EventRecording } from './lifecycle-events.ts';
import { appendTraceEvent, artifactEvent, traceEvent } from './trace-events.ts';
import { buildManifest, ENDED } from './manifest.ts';
import { RecorderError, type CloseOptions, type Recorder, type RecorderOptions, type RecorderSummary } from './recorder-api.ts';
import { RecorderRedaction } from './recorder-redaction.ts';
import { secretsFromEnv } from './redact.ts';
import type { SessionWriter } from './session-writer.ts';
import { Snapshots, type SnapshotKind } from './snapshots.ts';
import { closeObservers, notifyObservers } from './trace-observers.ts';
import { TraceWriter, type UnsequencedEvent } from './trace-writer.ts';
import { DEFAULT_INLINE_LIMIT, ValueEncoder } from './values.ts';

export { RecorderError, type CloseOptions, type Recorder, type RecorderOptions, type RecorderSummary, type TraceObserver } from './recorder-api.ts';

const LOCKFILE = '.flowtape.lock';

/** Creates the writer for one bundle directory. Nothing is written until the first event. */
export function createRecorder(bundleDir: string, options: RecorderOptions = {}): Recorder {
  return new BundleRecorder(resolve(bundleDir), options);
}

class BundleRecorder implements Recorder, EventRecording {
  readonly bundleDir: string;
  readonly options: RecorderOptions;
  readonly deterministic: boolean;
  private readonly replayOf: Manifest['replayOf'];
  private permissionPolicy: Manifest['permissionPolicy'];
  private readonly warnings: string[] = [];
  readonly trace: TraceWriter;
  readonly artifacts: ArtifactStore;
  readonly encoder: ValueEncoder;
  readonly sessions: BundleSessions;
  readonly snapshots: Snapshots;
  /** Another process may append to this bundle (shared writer, resume); otherwise this is its one writer. */
  readonly shared: boolean;
  readonly openAttempts = new Map<string, OpenAttempt>();
  readonly redaction: RecorderRedaction;
  readonly credentials: CredentialWatch | undefined;
  /** Artifacts referenced by the event being built: their `artifact.written` events go next to it. */
  private pendingArtifacts: Array<{ artifact: ArtifactRef; role: string }> = [];
  runId: string | undefined;
  createdAt: string | undefined;
  lastAt = new Date(0).toISOString();
  private lastAtMs = 0;
  runStartMs: number | undefined;
  drivesRun = false;
  private runEnded = false;
  waiting = false;
  private sideError: Error | undefined;
  private closed: Promise<RecorderSummary> | undefined;
  private dirsReady = false;
  /** The bundle paths this writer checked or made: not checked on disk again (confine.ts). */
  readonly checked: CheckedPaths = new Set();
  /** This writer wrote flow.json (the run started here): it fsyncs it at close. */
  wroteFlow = false;
  flowName: string | undefined;
  /** The folder already held a bundle: nothing of this writer may be written into it. */
  private occupied = false;
  /** The folders holding the folders made for this bundle: fsynced at close so that their names are durable. */
  madeParents: string[] = [];

  constructor(bundleDir: string, options: RecorderOptions) {
    this.bundleDir = bundleDir;
    this.options = options;
    this.deterministic = options.deterministic ?? false;
    this.replayOf = options.replayOf;
    this.permissionPolicy = options.permissionPolicy;
    const shared = (options.shared ?? false) || (options.resume ?? false);
    this.shared = shared;
    if (options.madeFolder !== undefined) this.madeFolders(resolve(options.madeFolder));
    const env = options.env ?? process.env;
    const secrets = [...(options.redact === false ? [] : secretsFromEnv(env)), ...(options.replacements ?? [])];
    this.redaction = new RecorderRedaction(secrets, typeof options.redact === 'function' ? options.redact : undefined, this.deterministic);
    this.credentials = options.redact === false ? undefined : new CredentialWatch(env, (learnt) => this.redaction.learn(learnt));
    const existing = options.resume || (shared && existsSync(join(bundleDir, BUNDLE_FILES.manifest)));
    // Someone else's bundle: refuse one with symlinks (or a hard-linked file we would append to) up front; every
    // write is confined again on its own (confine.ts).
    if (existing) refuseLinkedBundle(bundleDir);
    if (options.resume) {
      const resumed = readResumedBundle(bundleDir);
      this.runId = resumed.runId;
      if (resumed.createdAt !== undefined) this.createdAt = resumed.createdAt;
      this.permissionPolicy ??= resumed.permissionPolicy;
      for (const [attemptId, open] of resumed.openAttempts) this.openAttempts.set(attemptId, open);
      if (resumed.runStartMs !== undefined) this.runStartMs = resumed.runStartMs;
      this.runEnded = resumed.runEnded;
      this.waiting = resumed.waiting;
    } else if (existing) this.runId = joinedRunId(bundleDir) ?? this.runId;
    this.artifacts = new ArtifactStore(bundleDir);
    this.sessions = new BundleSessions(bundleDir, {
      shared,
      redact: (text) => this.redaction.hook(text, 'json'),
      warn: (message) => this.warn(message),
      storeBlob: this.artifacts.storeBlob,
      underLock: (flush) =>
        this.trace.task(() => {
          flush();
          this.throwIfFailed();
        }),
      fail: (error) => this.fail(error),
    });
    this.snapshots = new Snapshots(this, { task: (fn) => this.trace.task(fn), fail: (error) => this.fail(error) }, options.snapshotIntervalMs ?? 1000);
    this.encoder = new ValueEncoder(
      this.artifacts,
      (text, kind) => this.redaction.hook(text, kind),
      options.inlineLimit ?? DEFAULT_INLINE_LIMIT,
      (artifact, role) => this.pendingArtifacts.push({ artifact, role }),
    );
    this.trace = new TraceWriter({
      path: join(bundleDir, BUNDLE_FILES.trace),
      shared,
      lockTarget: bundleDir,
      lockfilePath: join(bundleDir, LOCKFILE),
      exclusiveCreate: !shared,
      redact: (text) => this.redaction.hook(text, 'json'),
      passesThrough: () => this.redaction.passesThrough,
      beforeWrite: () => this.beforeTraceWrite(),
      onCommit: (lastSeq, committed) => {
        this.snapshots.onCommit(lastSeq);
        if (options.traceObservers) notifyObservers(options.traceObservers, committed, (m) => this.warn(m));
      },
      onWarning: (message) => this.warn(message),
      onError: (error) => this.fail(error),
    });
  }

  // ——— LifecycleObserver ———

  onEvent(event: LifecycleEvent, at: number): void {
    try {
      if (this.closed) {
        this.warn(`${event.type} after close: not recorded`);
        return;
      }
      if (this.occupied) return;
      this.ensureDirs();
      const atMs = Number.isFinite(at) ? at : this.lastAtMs;
      // Many events share a millisecond: format it once.
      if (atMs !== this.lastAtMs) this.lastAt = new Date(atMs).toISOString();
      this.lastAtMs = atMs;
      recordLifecycleEvent(this, event, this.lastAt, this.lastAtMs);
    } catch (error) {
      this.fail(error);
    }
  }

  async flush(): Promise<void> {
    this.scheduleSnapshot('periodic');
    // Session lines are written from a trace task: under the lock in shared mode.
    await this.trace.task(() => this.flushSessions());
    this.throwIfFailed();
  }

  close(options: CloseOptions = {}): Promise<RecorderSummary> {
    this.closed ??= this.doClose(options);
    return this.closed;
  }

  // ——— events ———

  /**
   * Queues one trace event. `artifact.written` events for artifacts its values went to are queued before it, or
   * after it when the event opens the scope they belong to (`run.started` must be seq 1; a step must exist before
   * artifacts attach to it). A payload given as a function is built when the event's batch is written, after the
   * session lines it names got their seqs. `afterSeq`: see RecorderOptions.resumeAfterSeq. `payloadJson`: the
   * payload's text when the caller built it (event-json.ts).
   */
  emit(
    type: UnsequencedEvent['type'],
    payload: object | (() => object),
    envelope: { nodeId?: string; attemptId?: string; sessionId?: string } = {},
    artifacts: 'before' | 'after' = 'before',
    afterSeq?: number,
    payloadJson?: string,
  ): void {
    const runId = this.runId ?? 'unknown-run';
    const at = this.lastAt;
    // The hot path (a compute node: no artifact) allocates only the event itself.
    const pending = this.pendingArtifacts;
    if (pending.length > 0) this.pendingArtifacts = [];
    if (artifacts === 'before') for (const written of pending) this.trace.append(artifactEvent(at, runId, envelope, written));
    if (typeof payload === 'function') this.trace.appendLate(() => traceEvent(at, runId, envelope, type, payload()));
    else appendTraceEvent(this.trace, traceEvent(at, runId, envelope, type, payload), afterSeq, payloadJson);
    if (artifacts === 'after') for (const written of pending) this.trace.append(artifactEvent(at, runId, envelope, written));
  }

  endRun(type: 'run.completed' | 'run.failed' | 'run.timed_out' | 'run.cancelled', payload: object): void {
    if (this.runEnded) {
      this.warn(`${type} after the run had ended: not recorded`);
      return;
    }
    this.runEnded = true;
    this.waiting = false;
    this.emit(type, payload);
    this.scheduleSnapshot('forced');
  }

  /** Exactly one outcome per attempt: attempts still open when the run stops get one here. */
  closeOpenAttempts(outcome: Outcome, atMs: number, why: string): void {
    for (const [attemptId, open] of this.openAttempts) {
      this.warn(`${attemptId} had no outcome when ${why}: recorded as ${outcome}`);
      this.emit(
        'node.outcome',
        {
          outcome,
          durationMs: Math.max(0, atMs - open.startedAtMs),
          error: { message: `attempt ${attemptId} was still running when ${why}`, code: 'no_outcome' },
        },
        { nodeId: open.nodeId, attemptId },
      );
    }
    this.openAttempts.clear();
  }

  writeTraffic(sessionId: string, lines: readonly HeldTraffic[]): void {
    this.sessions.traffic(sessionId, lines);
  }

  /** A session's traffic held back until its agent's first answer (credentials.ts) is written now. */
  releaseTraffic(sessionId: string): void {
    if (this.credentials) this.writeTraffic(sessionId, this.credentials.release(sessionId));
  }

  session(sessionId: string): SessionWriter {
    return this.sessions.get(sessionId);
  }

  // ——— writing ———

  private ensureDirs(): void {
    if (this.dirsReady) return;
    prepareBundleFolder(this.bundleDir, this.checked, (made) => this.madeFolders(made));
    this.dirsReady = true;
  }

  /**
   * The folders from `made` down to the bundle folder were just made: their names are fsynced at close (madeParents),
   * and the exclusive writer does not lstat what it writes in the new bundle folder (no symlink can be there;
   * confine.ts, CheckedPaths). It still looks for a bundle there (refuseExisting): another run may have been started
   * into the same folder at the same moment.
   */
  private madeFolders(made: string): void {
    const parents = foldersAbove(this.bundleDir, made);
    if (parents === undefined) return;
    this.madeParents = parents;
    if (!this.shared) this.checked.add('');
  }

  /** The exclusive writer writes nothing into a folder that already holds a bundle (bundle-start.ts). */
  refuseExisting(): void {
    try {
      refuseExistingBundle(this.bundleDir);
    } catch (error) {
      this.occupied = true;
      throw error;
    }
  }

  /** Before the first trace line (bundle-start.ts). */
  writeFirstManifest(): void {
    writeFirstManifest(this, (error) => this.fail(error));
  }

  /** Session lines a trace batch may reference are on disk before the batch. */
  private beforeTraceWrite(): void {
    this.flushSessions();
  }

  /** Numbers and writes every queued session line (inside a trace batch or task: under the lock in shared mode). */
  flushSessions(): void {
    this.sessions.flush();
    this.throwIfFailed();
  }

  scheduleSnapshot(kind: SnapshotKind): void {
    this.snapshots.schedule(kind);
  }

  /** `final`: the manifest written at close, when this writer is done (an exclusive writer no longer holds the bundle). */
  manifest(state: ProjectionState, complete: boolean, final = false): Manifest {
    const { runId, flowName, createdAt, lastAt, deterministic, shared, permissionPolicy, replayOf, warnings } = this;
    return buildManifest(state, complete, final, { runId, flowName, createdAt, lastAt, deterministic, shared, permissionPolicy, replayOf, warnings });
  }

  private async doClose(options: CloseOptions): Promise<RecorderSummary> {
    if (!this.dirsReady || this.occupied) {
      // Nothing of this writer reaches the trace: observers only stop (a live export's worker ends).
      await closeObservers(this.options.traceObservers ?? [], (m) => this.warn(m));
      // The bundle folder itself was refused (e.g. a symlinked projections/, or it already held a bundle): nothing
      // was written, and that is a failure.
      if (this.sideError) throw new RecorderError(`writing the bundle ${this.bundleDir} failed: ${this.sideError.message}`);
      // No event ever came (an invalid flow refused before its start): nothing to write.
      return { bundleDir: this.bundleDir, runId: this.runId ?? 'unknown-run', status: 'running', lastSeq: 0, complete: false, warnings: [...this.warnings] };
    }
    // Traffic of an agent that never answered: written now, with what is known.
    for (const sessionId of this.credentials?.pending() ?? []) this.releaseTraffic(sessionId);
    if (this.drivesRun && !this.runEnded && !this.waiting) {
      const atMs = this.lastAtMs;
      const error = options.error ?? { message: 'the run ended without a final event', code: 'no_final_event' };
      this.closeOpenAttempts('failed', atMs, 'the runtime stopped');
      this.endRun('run.failed', {
        error: this.encoder.error(error, !this.deterministic)!,
        durationMs: Math.max(0, atMs - (this.runStartMs ?? atMs)),
      });
    }
    this.snapshots.close();
    let failure: unknown;
    try {
      await finishBundle(this, (state) => `${JSON.stringify(this.manifest(state, ENDED.has(state.status), true), null, 2)}\n`);
    } catch (error) {
      failure = error;
    }
    await this.trace.close().catch((error: unknown) => (failure ??= error));
    for (const session of this.sessions.values()) {
      try {
        session.close();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) {
      const message = failure instanceof Error ? failure.message : String(failure);
      throw new RecorderError(`writing the bundle ${this.bundleDir} failed: ${message}`);
    }
    const state = this.trace.state;
    return {
      bundleDir: this.bundleDir,
      runId: state.runId ?? this.runId ?? 'unknown-run',
      status: state.status,
      lastSeq: state.seq,
      complete: ENDED.has(state.status),
      warnings: [...this.warnings],
      ...(state.usage ? { usage: state.usage } : {}),
    };
  }

  /** The first write error: kept for close(), and reported once through `onError` (record() stops the run). */
  private fail(error: unknown): void {
    if (this.sideError) return;
    this.sideError = error instanceof Error ? error : new Error(String(error));
    try {
      this.options.onError?.(this.sideError);
    } catch {
      // a caller's handler must not break the writer
    }
  }

  private throwIfFailed(): void {
    const error =
      this.sideError ?? this.trace.error ?? this.sessions.error();
    if (error) throw error;
  }

  // ——— redaction and deterministic scrubbing ———

  warn(message: string): void {
    this.warnings.push(message);
    this.options.onWarning?.(message);
  }
}


export type { ValueRef };
