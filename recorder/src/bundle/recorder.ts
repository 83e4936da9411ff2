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
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { hostname, homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  BUNDLE_FILES,
  SCHEMA_IDS,
  checkTraceEvent,
  parseNdjsonText,
  Projector,
  sessionFiles,
  toLiveProjection,
  toRunProjection,
  toStepsProjection,
  type ArtifactRef,
  type ErrorInfo,
  type JsonValue,
  type Manifest,
  type Outcome,
  type ProjectionState,
  type RunStatus,
  type SessionBinding,
  type TraceEvent,
  type UsageTotals,
  type ValueRef,
} from '@flowtape/schema';
import type { LifecycleEvent, LifecycleObserver } from '../runtime/lifecycle.ts';
import { ArtifactStore } from './artifacts.ts';
import { appendedFile, ensureFolder, refuseLinks } from './confine.ts';
import { syncPath, writeFileAtomicSync } from './fsio.ts';
import { CredentialWatch, type HeldTraffic } from './credentials.ts';
import { composeHooks, mcpServersForBinding, redactMcpInMessage, replacingHook, secretsFromEnv, type RedactHook, type Replacement } from './redact.ts';
import { SessionWriter } from './session-writer.ts';
import { TraceExistsError, TraceWriter, type UnsequencedEvent } from './trace-writer.ts';
import { DEFAULT_INLINE_LIMIT, ValueEncoder } from './values.ts';

export interface RecorderOptions {
  /** Lock every batch (proper-lockfile): another process may append to the same bundle. */
  shared?: boolean;
  /** Continue an existing bundle (a resumed run): implies `shared`, reads the runId from the manifest. */
  resume?: boolean;
  /**
   * Resume only: the trace seq the resume state was read at. `run.resumed` is appended only if, under the lock,
   * the run still waits and the trace still ends there; otherwise the writer refuses it (AppendRefusedError).
   */
  resumeAfterSeq?: number;
  /** Samples and goldens: no pids, hostnames or absolute paths in the bundle. */
  deterministic?: boolean;
  /**
   * Applied to every text before it is written. Default: values of environment variables named like secrets
   * (`*TOKEN*`, `*SECRET*`, `*KEY*`, `*PASSWORD*`, `*AUTH*`, …) become `[redacted:NAME]`, and so do the variables an
   * agent names for its credentials (its `env_var` auth methods), whatever their name. `false` turns redaction off.
   */
  redact?: RedactHook | false;
  /** The environment the default redaction reads: the agents' (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Extra literal replacements (applied with the default redaction). */
  replacements?: Replacement[];
  /** Values whose JSON is at most this many bytes are stored inline (default 2048). */
  inlineLimit?: number;
  /** Minimum time between two throttled snapshots (default 1000 ms). */
  snapshotIntervalMs?: number;
  /** Recorded as flow.json `flowFile` (the flow file the run came from, for `flowtape resume`). */
  flowFile?: string;
  /** Recorded as manifest `replayOf` (`flowtape replay`: the run this one replays). */
  replayOf?: Manifest['replayOf'];
  /** Recorded as manifest `permissionPolicy` (the run's own, `--permission`); a resume keeps the recorded one. */
  permissionPolicy?: Manifest['permissionPolicy'];
  /** Called once when writing fails (disk full, permissions): the bundle cannot be completed. */
  onError?: (error: Error) => void;
  /** Non-fatal problems (a duplicate outcome, a torn line removed under the lock). */
  onWarning?: (message: string) => void;
  /** Consumers of the trace as it is committed (live OpenTelemetry export). */
  traceObservers?: readonly TraceObserver[];
}

/**
 * Sees every event this writer commits to trace.ndjson, in order, right after the lines are on disk (session lines
 * and artifacts they reference are already written). Called inside the writer: it must be quick and must not throw.
 */
export interface TraceObserver {
  onCommitted(events: readonly TraceEvent[]): void;
  /** The last event is committed: finish within bounded time; the warnings it returns are kept in the manifest. */
  close(): Promise<string[]>;
}

export interface RecorderSummary {
  bundleDir: string;
  runId: string;
  status: RunStatus;
  lastSeq: number;
  complete: boolean;
  warnings: string[];
  /** Every turn's usage (tokens, cost per currency), folded over the whole trace; absent when none was reported. */
  usage?: UsageTotals;
}

export interface CloseOptions {
  /** The runtime failed without emitting a final event: record this as the run's failure. */
  error?: ErrorInfo;
}

export interface Recorder extends LifecycleObserver {
  readonly bundleDir: string;
  /** Everything queued so far is on disk, with a fresh snapshot (for watchers and tests). */
  flush(): Promise<void>;
  /** Ends the bundle: closes attempts and the run if the runtime did not, flushes, fsyncs, marks it complete. */
  close(options?: CloseOptions): Promise<RecorderSummary>;
}

export class RecorderError extends Error {
  override name = 'RecorderError';
}

const WRITER_NAME = 'flowtape';
const WRITER_VERSION = readVersion();
/** The repository root (`…/recorder/src/bundle` → `…`), replaced by `<flowtape>` in deterministic bundles. */
const FLOWTAPE_ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const LOCKFILE = '.flowtape.lock';
const ENDED: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'timed_out', 'cancelled']);

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Creates the writer for one bundle directory. Nothing is written until the first event. */
export function createRecorder(bundleDir: string, options: RecorderOptions = {}): Recorder {
  return new BundleRecorder(resolve(bundleDir), options);
}

interface OpenAttempt {
  nodeId: string;
  startedAtMs: number;
}

class BundleRecorder implements Recorder {
  readonly bundleDir: string;
  private readonly options: RecorderOptions;
  private readonly deterministic: boolean;
  private readonly replayOf: Manifest['replayOf'];
  private permissionPolicy: Manifest['permissionPolicy'];
  private readonly warnings: string[] = [];
  private readonly trace: TraceWriter;
  private readonly artifacts: ArtifactStore;
  private readonly encoder: ValueEncoder;
  private readonly sessions = new Map<string, SessionWriter>();
  /** Another process may append to this bundle (shared writer, resume); otherwise this is its one writer. */
  private readonly shared: boolean;
  private sessionFlushQueued = false;
  private readonly openAttempts = new Map<string, OpenAttempt>();
  private redactHook: RedactHook;
  private userHook: RedactHook;
  /** The literals the default redaction replaces: grows as agents name their credential variables. */
  private readonly secrets: Replacement[];
  private readonly credentials: CredentialWatch | undefined;
  private readonly scrubs: Replacement[] = [];
  /** Artifacts referenced by the event being built: their `artifact.written` events go next to it. */
  private pendingArtifacts: Array<{ artifact: ArtifactRef; role: string }> = [];
  private runId: string | undefined;
  private createdAt: string | undefined;
  private lastAt = new Date(0).toISOString();
  private lastAtMs = 0;
  private runStartMs: number | undefined;
  private drivesRun = false;
  private runEnded = false;
  private waiting = false;
  private snapshotQueued = false;
  private closing = false;
  /** The first throttled snapshot comes one interval after the start. */
  private lastSnapshotAt = performance.now();
  private lastSnapshotCost = 0;
  private sideError: Error | undefined;
  private closed: Promise<RecorderSummary> | undefined;
  private dirsReady = false;
  private flowName: string | undefined;
  /** The folder already held a bundle: nothing of this writer may be written into it. */
  private occupied = false;

  constructor(bundleDir: string, options: RecorderOptions) {
    this.bundleDir = bundleDir;
    this.options = options;
    this.deterministic = options.deterministic ?? false;
    this.replayOf = options.replayOf;
    this.permissionPolicy = options.permissionPolicy;
    const shared = (options.shared ?? false) || (options.resume ?? false);
    this.shared = shared;
    if (this.deterministic) this.addDeterministicScrubs();
    const env = options.env ?? process.env;
    this.secrets = [...(options.redact === false ? [] : secretsFromEnv(env)), ...(options.replacements ?? [])];
    this.userHook = this.secretsHook();
    this.redactHook = this.userHook;
    this.rebuildHook();
    this.credentials = options.redact === false ? undefined : new CredentialWatch(env, (learnt) => {
      this.secrets.push(...learnt);
      this.userHook = this.secretsHook();
      this.rebuildHook();
    });
    const existing = options.resume || (shared && existsSync(join(bundleDir, BUNDLE_FILES.manifest)));
    // Someone else's bundle: refuse one with symlinks (or a hard-linked file we would append to) up front; every
    // write is confined again on its own (confine.ts).
    if (existing) this.refuseLinked();
    if (options.resume) this.loadExisting();
    else if (existing) this.joinExisting();
    this.artifacts = new ArtifactStore(bundleDir);
    this.encoder = new ValueEncoder(
      this.artifacts,
      (text, kind) => this.redactHook(text, kind),
      options.inlineLimit ?? DEFAULT_INLINE_LIMIT,
      (artifact, role) => this.pendingArtifacts.push({ artifact, role }),
    );
    this.trace = new TraceWriter({
      path: join(bundleDir, BUNDLE_FILES.trace),
      shared,
      lockTarget: bundleDir,
      lockfilePath: join(bundleDir, LOCKFILE),
      exclusiveCreate: !shared,
      redact: (text) => this.redactHook(text, 'json'),
      beforeWrite: () => this.beforeTraceWrite(),
      onCommit: (lastSeq, committed) => {
        this.onCommit(lastSeq);
        if (options.traceObservers) this.notifyObservers(committed);
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
      this.handle(event, this.lastAt, this.lastAtMs);
    } catch (error) {
      this.fail(error);
    }
  }

  async flush(): Promise<void> {
    this.scheduleSnapshot(false, true);
    // Session lines are written from a trace task: under the lock in shared mode.
    await this.trace.task(() => this.flushSessions());
    this.throwIfFailed();
  }

  close(options: CloseOptions = {}): Promise<RecorderSummary> {
    this.closed ??= this.doClose(options);
    return this.closed;
  }

  // ——— events ———

  private handle(event: LifecycleEvent, at: string, atMs: number): void {
    switch (event.type) {
      case 'run.started': {
        this.runId = event.runId;
        this.flowName = event.flow.name;
        this.createdAt = at;
        this.runStartMs = atMs;
        this.drivesRun = true;
        if (this.deterministic && event.cwd) this.addScrub(event.cwd, '<cwd>');
        if (!this.shared) this.refuseExisting();
        const flow = this.options.flowFile ? { ...event.flow, flowFile: this.options.flowFile } : event.flow;
        const flowJson = this.redactHook(JSON.stringify(flow, null, 2), 'json');
        writeFileAtomicSync(this.bundleDir, BUNDLE_FILES.flow, `${flowJson}\n`);
        this.writeFirstManifest();
        const input = this.encoder.value(event.input, 'input');
        this.emit(
          'run.started',
          {
            flowName: event.flow.name,
            ...(input ? { input } : {}),
            ...(event.runTimeoutMs ? { runTimeoutMs: event.runTimeoutMs } : {}),
            ...(this.deterministic ? {} : { cwd: event.cwd }),
            ...(event.deterministic ? { deterministic: true } : {}),
          },
          {},
          'after',
        );
        // Projections (and a manifest with a lastSeq) follow at the first throttled snapshot, or the end.
        return;
      }
      case 'run.waiting':
        // Attempts may stay open while waiting (a checkpoint gets its outcome when resumed).
        this.waiting = true;
        this.emit('run.waiting', {
          checkpoint: event.checkpoint,
          ...(event.message ? { message: event.message } : {}),
          ...(event.sessions && event.sessions.length > 0 ? { sessions: event.sessions } : {}),
        });
        this.scheduleSnapshot(true);
        return;
      case 'run.resumed': {
        this.drivesRun = true;
        this.waiting = false;
        this.runStartMs ??= atMs;
        const input = this.encoder.value(event.input, 'input');
        // Only run.resumed may follow run.waiting: the input's artifact.written comes after it. The resume is
        // decided when it is written: under the lock, only if the run still waits where the resume read it.
        const afterSeq = this.options.resumeAfterSeq;
        this.emit('run.resumed', { checkpoint: event.checkpoint, ...(input ? { input } : {}) }, {}, 'after', afterSeq);
        this.scheduleSnapshot(true);
        return;
      }
      case 'run.completed': {
        this.closeOpenAttempts('failed', atMs, 'the run completed');
        const output = this.encoder.value(event.output, 'output');
        this.endRun('run.completed', { ...(output ? { output } : {}), durationMs: event.durationMs });
        return;
      }
      case 'run.failed':
        this.closeOpenAttempts('failed', atMs, 'the run failed');
        this.endRun('run.failed', {
          error: this.encoder.error(event.error ?? { message: 'the run failed' }, !this.deterministic)!,
          durationMs: event.durationMs,
        });
        return;
      case 'run.timed_out':
        this.closeOpenAttempts('timed_out', atMs, 'the run timed out');
        this.endRun('run.timed_out', { timeoutMs: event.timeoutMs, durationMs: event.durationMs });
        return;
      case 'run.cancelled':
        this.closeOpenAttempts('cancelled', atMs, 'the run was cancelled');
        this.endRun('run.cancelled', { reason: event.reason, durationMs: event.durationMs });
        return;
      case 'node.started': {
        if (this.openAttempts.has(event.attemptId)) {
          this.warn(`${event.attemptId} started twice: the second start is not recorded`);
          return;
        }
        this.openAttempts.set(event.attemptId, { nodeId: event.nodeId, startedAtMs: atMs });
        const input = this.encoder.value(event.input, 'input');
        this.emit(
          'node.started',
          { nodeType: event.nodeType, attempt: event.attempt, ...(input ? { input } : {}) },
          scope(event),
          'after',
        );
        return;
      }
      case 'node.heartbeat':
        if (!this.openAttempts.has(event.attemptId)) return;
        this.emit('node.heartbeat', { elapsedMs: event.elapsedMs }, scope(event));
        return;
      case 'node.outcome': {
        if (!this.openAttempts.delete(event.attemptId)) {
          this.warn(`${event.attemptId}: a second outcome (${event.outcome}) is not recorded: exactly one per attempt`);
          return;
        }
        const output = this.encoder.value(event.output, 'output');
        const error = this.encoder.error(event.error, !this.deterministic);
        this.emit(
          'node.outcome',
          { outcome: event.outcome, durationMs: event.durationMs, ...(output ? { output } : {}), ...(error ? { error } : {}) },
          scope(event),
        );
        return;
      }
      case 'edge.taken': {
        const branch = event.branch
          ? {
              on: event.branch.on,
              value: this.encoder.json(event.branch.value),
              ...(event.branch.caseKey !== undefined ? { caseKey: event.branch.caseKey } : {}),
              ...(event.branch.isDefault ? { isDefault: true } : {}),
            }
          : undefined;
        this.emit('edge.taken', { from: event.from, to: event.to, ...(branch ? { branch } : {}) }, scope(event));
        return;
      }
      case 'session.bound': {
        this.releaseTraffic(event.sessionId);
        const session = this.session(event.sessionId);
        session.acpSessionId = event.acpSessionId;
        session.handle = event.handle;
        if (!event.reused) this.writeBinding(session.files.binding, event, at, { acpSessionId: event.acpSessionId });
        this.emit(
          'session.bound',
          {
            handle: event.handle,
            acpSessionId: event.acpSessionId,
            mode: event.mode,
            reused: event.reused,
            agentCommand: event.agentCommand,
            path: session.files.dir,
            ...(event.continued ? { continued: event.continued } : {}),
            ...(event.replaces ? { replaces: event.replaces } : {}),
          },
          { ...scope(event), sessionId: event.sessionId },
        );
        return;
      }
      case 'session.failed': {
        // The agent failed before session/new succeeded: the session is still recorded (binding with the error,
        // its events.ndjson even when empty, the record) so the handshake can be inspected.
        this.releaseTraffic(event.sessionId);
        const session = this.session(event.sessionId);
        session.handle = event.handle;
        session.touchEvents();
        const error = this.encoder.error(event.error, !this.deterministic)!;
        this.writeBinding(session.files.binding, event, at, { error });
        this.emit(
          'session.failed',
          { handle: event.handle, mode: event.mode, agentCommand: event.agentCommand, path: session.files.dir, error },
          { ...scope(event), sessionId: event.sessionId },
        );
        return;
      }
      case 'session.usage': {
        const usage = event.usage.extra ? { ...event.usage, extra: this.encoder.json(event.usage.extra) as Record<string, JsonValue> } : event.usage;
        this.emit('session.usage', { usage }, { sessionId: event.sessionId });
        return;
      }
      case 'acp.traffic': {
        // The MCP servers' env and header values are secrets whatever their length: never on disk.
        const message = event.message === undefined ? undefined : redactMcpInMessage(event.message);
        // The wire text stands for the message only while the message is the one that crossed the wire.
        const json = message === event.message ? event.json : undefined;
        const line: HeldTraffic = [at, event.direction, message, event.text, event.attemptId, event.omitted, event.raw, json];
        this.writeTraffic(event.sessionId, this.credentials ? this.credentials.take(event.sessionId, line) : [line]);
        return;
      }
      case 'acp.prompt_sent': {
        // The session seqs are allocated when the session lines are written (under the lock in shared mode): the
        // event's payload is built then, right before the trace batch that carries it.
        const mark = this.session(event.sessionId).startTurn(event.attemptId);
        const prompt = this.encoder.text(event.prompt, 'prompt', { artifact: true });
        this.emit(
          'acp.prompt_sent',
          () => ({ prompt, messageIndex: mark.value.messageIndex, sessionEventSeq: mark.value.sessionEventSeq }),
          { ...scope(event), sessionId: event.sessionId },
        );
        return;
      }
      case 'acp.turn_finished': {
        const finished = this.session(event.sessionId).finishTurn(event.attemptId);
        const response = this.encoder.text(event.response, 'response', { artifact: true });
        const error = this.encoder.error(event.error, !this.deterministic);
        // Only `extra` holds agent text; the typed fields are numbers and a checked currency code.
        const usage = event.usage?.extra ? { ...event.usage, extra: this.encoder.json(event.usage.extra) as Record<string, JsonValue> } : event.usage;
        this.emit(
          'acp.turn_finished',
          () => {
            const ranges = finished.value;
            return {
              stopReason: event.stopReason,
              sessionEvents: ranges.sessionEvents,
              ...(ranges.messages ? { messages: ranges.messages } : {}),
              response,
              ...(error ? { error } : {}),
              ...(usage ? { usage } : {}),
            };
          },
          { ...scope(event), sessionId: event.sessionId },
        );
        return;
      }
      case 'action.started':
        this.emit(
          'action.started',
          {
            actionType: event.actionType,
            ...(event.command !== undefined ? { command: event.command } : {}),
            ...(event.cwd !== undefined ? { cwd: event.cwd } : {}),
          },
          scope(event),
        );
        return;
      case 'action.completed': {
        const stdout = event.stdout === undefined ? undefined : this.encoder.text(event.stdout, 'stdout');
        const stderr = event.stderr === undefined ? undefined : this.encoder.text(event.stderr, 'stderr');
        const output = this.encoder.value(event.output, 'output');
        const error = this.encoder.error(event.error, !this.deterministic);
        this.emit(
          'action.completed',
          {
            actionType: event.actionType,
            ok: event.ok,
            durationMs: event.durationMs,
            ...(event.exitCode !== undefined ? { exitCode: event.exitCode } : {}),
            ...(event.signal !== undefined ? { signal: event.signal } : {}),
            ...(stdout ? { stdout } : {}),
            ...(stderr ? { stderr } : {}),
            ...(output ? { output } : {}),
            ...(error ? { error } : {}),
          },
          scope(event),
        );
        return;
      }
      default: {
        const unknown = event as { type?: unknown };
        this.warn(`unknown lifecycle event ${String(unknown.type)}: not recorded`);
      }
    }
  }

  /**
   * Queues one trace event. `artifact.written` events for artifacts its values went to are queued before it, or
   * after it when the event opens the scope they belong to (`run.started` must be seq 1; a step must exist before
   * artifacts attach to it). A payload given as a function is built when the event's batch is written, after the
   * session lines it names got their seqs. `afterSeq`: see RecorderOptions.resumeAfterSeq.
   */
  private emit(
    type: UnsequencedEvent['type'],
    payload: object | (() => object),
    envelope: { nodeId?: string; attemptId?: string; sessionId?: string } = {},
    artifacts: 'before' | 'after' = 'before',
    afterSeq?: number,
  ): void {
    const runId = this.runId ?? 'unknown-run';
    const pending = this.pendingArtifacts;
    this.pendingArtifacts = [];
    const artifactEvents = pending.map(
      ({ artifact, role }) =>
        ({
          at: this.lastAt,
          runId,
          ...(envelope.nodeId ? { nodeId: envelope.nodeId } : {}),
          ...(envelope.attemptId ? { attemptId: envelope.attemptId } : {}),
          scope: 'artifact',
          type: 'artifact.written',
          payload: { artifact, role },
        }) as UnsequencedEvent,
    );
    if (artifacts === 'before') for (const a of artifactEvents) this.trace.append(a);
    const at = this.lastAt;
    const event = (body: object) =>
      ({
        at,
        runId,
        ...(envelope.nodeId ? { nodeId: envelope.nodeId } : {}),
        ...(envelope.attemptId ? { attemptId: envelope.attemptId } : {}),
        ...(envelope.sessionId ? { sessionId: envelope.sessionId } : {}),
        scope: type.slice(0, type.indexOf('.')),
        type,
        payload: body,
      }) as UnsequencedEvent;
    if (typeof payload === 'function') this.trace.appendLate(() => event(payload()));
    else this.trace.append(event(payload), afterSeq !== undefined ? { afterSeq } : {});
    if (artifacts === 'after') for (const a of artifactEvents) this.trace.append(a);
  }

  private endRun(type: 'run.completed' | 'run.failed' | 'run.timed_out' | 'run.cancelled', payload: object): void {
    if (this.runEnded) {
      this.warn(`${type} after the run had ended: not recorded`);
      return;
    }
    this.runEnded = true;
    this.waiting = false;
    this.emit(type, payload);
    this.scheduleSnapshot(true);
  }

  /** Exactly one outcome per attempt: attempts still open when the run stops get one here. */
  private closeOpenAttempts(outcome: Outcome, atMs: number, why: string): void {
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

  private writeTraffic(sessionId: string, lines: readonly HeldTraffic[]): void {
    if (lines.length === 0) return;
    const session = this.session(sessionId);
    for (const line of lines) session.traffic(...line);
  }

  /** A session's traffic held back until its agent's first answer (credentials.ts) is written now. */
  private releaseTraffic(sessionId: string): void {
    if (this.credentials) this.writeTraffic(sessionId, this.credentials.release(sessionId));
  }

  /** `binding.json` of a new session: bound (with the agent's session id) or failed (with the error). */
  private writeBinding(
    path: string,
    event: Extract<LifecycleEvent, { type: 'session.bound' | 'session.failed' }>,
    at: string,
    outcome: Pick<SessionBinding, 'acpSessionId' | 'error'>,
  ): void {
    const binding: SessionBinding = {
      schema: SCHEMA_IDS.sessionBinding,
      sessionId: event.sessionId,
      handle: event.handle,
      ...(outcome.acpSessionId !== undefined ? { acpSessionId: outcome.acpSessionId } : {}),
      mode: event.mode,
      agentCommand: event.agentCommand,
      cwd: event.cwd,
      ...(event.protocolVersion !== undefined ? { protocolVersion: event.protocolVersion } : {}),
      ...(event.agent ? { agent: event.agent } : {}),
      ...('authMethodId' in event && event.authMethodId !== undefined ? { authMethodId: event.authMethodId } : {}),
      ...(event.mcpServers && event.mcpServers.length > 0
        ? { mcpServers: mcpServersForBinding(event.mcpServers) }
        : {}),
      createdAt: at,
      boundBy: event.attemptId,
      ...(outcome.error ? { error: outcome.error } : {}),
    };
    const text = this.redactHook(JSON.stringify(binding, null, 2), 'json');
    writeFileAtomicSync(this.bundleDir, path, `${text}\n`);
  }

  private session(sessionId: string): SessionWriter {
    let session = this.sessions.get(sessionId);
    if (!session) {
      session = new SessionWriter(this.bundleDir, sessionId, (text) => this.redactHook(text, 'json'), (m) => this.warn(m), {
        shared: this.shared,
        storeBlob: this.artifacts.storeBlob,
        // Shared mode: session lines are numbered and written only inside a trace batch, under the lock.
        ...(this.shared ? { requestFlush: () => this.requestSessionFlush() } : {}),
      });
      session.dirty = true;
      this.sessions.set(sessionId, session);
    }
    return session;
  }

  // ——— writing ———

  private ensureDirs(): void {
    if (this.dirsReady) return;
    mkdirSync(this.bundleDir, { recursive: true });
    ensureFolder(this.bundleDir, 'projections');
    this.dirsReady = true;
  }

  /**
   * The exclusive writer writes nothing into a folder that already holds a bundle (a manifest or a trace): neither
   * its flow.json nor its manifest is replaced. (Of two runs started into one folder at the same moment, the trace's
   * O_EXCL creation still lets exactly one append.)
   */
  private refuseExisting(): void {
    for (const file of [BUNDLE_FILES.manifest, BUNDLE_FILES.trace]) {
      if (existsSync(join(this.bundleDir, file))) {
        this.occupied = true;
        throw new TraceExistsError(`${join(this.bundleDir, file)} already exists: a bundle is never overwritten (use resume)`);
      }
    }
  }

  /**
   * The manifest is written before the first trace line (SPEC, writing discipline rule 1): from the moment a line
   * can be on disk, the bundle names its writer (pid, host, `exclusive`), so `repair` can always tell a crashed run
   * from a live one, and `verify`, `ls` and the viewer always find a bundle. Written here rather than after the first
   * line because a SIGKILL between that line and the manifest left a trace that no tool would repair.
   * The exclusive writer writes it at once, before the runtime starts any node; a shared writer under the lock,
   * only if the bundle has neither a line nor a manifest yet (another writer may have started it).
   */
  private writeFirstManifest(): void {
    const write = (state: ProjectionState) =>
      writeFileAtomicSync(this.bundleDir, BUNDLE_FILES.manifest, `${JSON.stringify(this.manifest(state, false), null, 2)}\n`);
    if (!this.shared) {
      write(this.trace.state);
      return;
    }
    this.trace
      .task((state) => {
        if (state.seq === 0 && !existsSync(join(this.bundleDir, BUNDLE_FILES.manifest))) write(state);
      })
      .catch((error: unknown) => {
        this.fail(error);
      });
  }

  /** Session lines a trace batch may reference are on disk before the batch. */
  private beforeTraceWrite(): void {
    this.flushSessions();
  }

  /** Numbers and writes every queued session line (inside a trace batch or task: under the lock in shared mode). */
  private flushSessions(): void {
    for (const session of this.sessions.values()) session.flush();
    this.throwIfFailed();
  }

  /** Shared mode: queued session lines are written by a trace task, under the lock (one task at a time). */
  private requestSessionFlush(): void {
    if (this.sessionFlushQueued) return;
    this.sessionFlushQueued = true;
    this.trace
      .task(() => {
        this.sessionFlushQueued = false;
        this.flushSessions();
      })
      .catch((error: unknown) => {
        this.sessionFlushQueued = false;
        this.fail(error);
      });
  }

  private notifyObservers(committed: readonly { readonly event: unknown }[]): void {
    const events = committed.map((item) => item.event as TraceEvent);
    for (const observer of this.options.traceObservers ?? []) {
      try {
        observer.onCommitted(events);
      } catch (error) {
        this.warn(`trace observer failed: ${(error as Error).message ?? String(error)}`);
      }
    }
  }

  private async closeObservers(): Promise<void> {
    for (const observer of this.options.traceObservers ?? []) {
      try {
        for (const warning of await observer.close()) this.warn(warning);
      } catch (error) {
        this.warn(`trace observer failed: ${(error as Error).message ?? String(error)}`);
      }
    }
  }

  private onCommit(lastSeq: number): void {
    if (this.snapshotQueued || lastSeq === 0) return;
    const interval = Math.max(this.options.snapshotIntervalMs ?? 1000, 10 * this.lastSnapshotCost);
    if (performance.now() - this.lastSnapshotAt >= interval) this.scheduleSnapshot(false, true);
  }

  private scheduleSnapshot(force: boolean, fromTimer = false): void {
    if (!force && !fromTimer) return;
    // A queued periodic snapshot may sit before the event that forces this one: only periodic ones coalesce.
    if (this.snapshotQueued && !force) return;
    this.snapshotQueued = true;
    this.trace
      .task((state) => {
        this.snapshotQueued = false;
        // close() writes the final snapshot right after: no need for this one.
        if (!this.closing) this.writeSnapshot(state, false);
      })
      .catch((error: unknown) => {
        this.fail(error);
      });
  }

  /**
   * Projections, session records and the manifest, from a state whose lines are all on disk. The final snapshot
   * leaves the manifest out: close() writes it last, once everything else is durable.
   */
  private writeSnapshot(state: ProjectionState, final: boolean): string[] {
    if (state.seq === 0) return [];
    const started = performance.now();
    // Goldens (deterministic bundles) are read and diffed by people: indented. Other runs: compact, half the bytes
    // to write and fsync.
    const indent = this.deterministic && state.steps.size <= 1000 ? 2 : undefined;
    const doc = (value: unknown) => `${JSON.stringify(value, null, indent)}\n`;
    const written: string[] = [];
    const write = (path: string, value: unknown) => {
      writeFileAtomicSync(this.bundleDir, path, doc(value));
      written.push(path);
    };
    for (const session of this.sessions.values()) {
      if (!session.dirty && !final) continue;
      session.dirty = false;
      session.flush(); // the record never runs ahead of events.ndjson
      write(session.files.record, session.snapshot(this.lastAt));
    }
    write(BUNDLE_FILES.run, toRunProjection(state));
    write(BUNDLE_FILES.live, toLiveProjection(state));
    write(BUNDLE_FILES.steps, toStepsProjection(state));
    if (!final) write(BUNDLE_FILES.manifest, this.manifest(state, false));
    this.lastSnapshotAt = performance.now();
    this.lastSnapshotCost = this.lastSnapshotAt - started;
    return written;
  }

  /** `final`: the manifest written at close, when this writer is done (an exclusive writer no longer holds the bundle). */
  private manifest(state: ProjectionState, complete: boolean, final = false): Manifest {
    const sessionIds = new Set<string>(state.sessions.keys());
    return {
      schema: SCHEMA_IDS.bundle,
      runId: state.runId ?? this.runId ?? 'unknown-run',
      flowName: state.flowName ?? this.flowName ?? 'unknown',
      status: state.status,
      complete,
      createdAt: state.startedAt ?? this.createdAt ?? state.updatedAt ?? this.lastAt,
      updatedAt: state.updatedAt ?? this.lastAt,
      ...(state.endedAt ? { endedAt: state.endedAt } : {}),
      lastSeq: state.seq,
      files: {
        flow: BUNDLE_FILES.flow,
        trace: BUNDLE_FILES.trace,
        run: BUNDLE_FILES.run,
        live: BUNDLE_FILES.live,
        steps: BUNDLE_FILES.steps,
      },
      sessions: [...sessionIds].sort().map((sessionId) => ({ sessionId, path: sessionFiles(sessionId).dir })),
      writer: {
        name: WRITER_NAME,
        version: WRITER_VERSION,
        ...(this.deterministic ? {} : { pid: process.pid, hostname: hostname() }),
        ...(this.shared || final ? {} : { exclusive: true }),
      },
      ...(this.permissionPolicy ? { permissionPolicy: this.permissionPolicy } : {}),
      ...(this.replayOf ? { replayOf: this.replayOf } : {}),
      ...(final && this.warnings.length > 0 ? { warnings: [...this.warnings] } : {}),
    };
  }

  private async doClose(options: CloseOptions): Promise<RecorderSummary> {
    if (!this.dirsReady || this.occupied) {
      // Nothing of this writer reaches the trace: observers only stop (a live export's worker ends).
      await this.closeObservers();
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
    this.closing = true;
    let failure: unknown;
    try {
      await this.trace.task(() => this.flushSessions());
      this.throwIfFailed();
      // Every event is committed: observers finish now, so what they report is in the final manifest.
      await this.closeObservers();
      let snapshot: string[] = [];
      await this.trace.task((state) => {
        snapshot = this.writeSnapshot(state, true);
      });
      // Everything but the manifest becomes durable (fsyncs in parallel: the journal commits them together)…
      const files = [
        BUNDLE_FILES.trace,
        ...[...this.sessions.values()].map((s) => s.files.events).filter((f) => existsSync(join(this.bundleDir, f))),
        ...this.artifacts.written,
        ...snapshot,
      ];
      await Promise.all([...files.map((f) => join(this.bundleDir, f)), ...this.syncedDirs()].map(syncPath));
      // …then the manifest says whether the bundle is complete, and is made durable last.
      await this.trace.task((state) => {
        writeFileAtomicSync(this.bundleDir, BUNDLE_FILES.manifest, `${JSON.stringify(this.manifest(state, ENDED.has(state.status), true), null, 2)}\n`, true);
      });
      await syncPath(this.bundleDir);
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

  private syncedDirs(): string[] {
    const dirs = [this.bundleDir, join(this.bundleDir, 'projections')];
    if (this.artifacts.written.length > 0) dirs.push(join(this.bundleDir, 'artifacts'));
    for (const session of this.sessions.values()) dirs.push(join(this.bundleDir, session.files.dir));
    if (this.sessions.size > 0) dirs.push(join(this.bundleDir, BUNDLE_FILES.sessionsDir));
    return dirs;
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
      this.sideError ?? this.trace.error ?? [...this.sessions.values()].map((s) => s.error).find((e) => e !== undefined);
    if (error) throw error;
  }

  // ——— redaction and deterministic scrubbing ———

  private warn(message: string): void {
    this.warnings.push(message);
    this.options.onWarning?.(message);
  }

  private addDeterministicScrubs(): void {
    this.addScrub(FLOWTAPE_ROOT, '<flowtape>', false);
    this.addScrub(process.execPath, 'node', false);
    this.addScrub(homedir(), '~', false);
    this.addScrub(tmpdir(), '<tmp>', false);
    this.addScrub(process.cwd(), '<cwd>', false);
  }

  private addScrub(path: string, replacement: string, rebuild = true): void {
    if (!path || path === '/' || this.scrubs.some((s) => s.value === path)) return;
    // The run's own cwd wins over the process cwd when they differ.
    const index = this.scrubs.findIndex((s) => s.replacement === replacement);
    if (index !== -1) this.scrubs.splice(index, 1);
    this.scrubs.push({ value: path, replacement });
    if (rebuild) this.rebuildHook();
  }

  private secretsHook(): RedactHook {
    return composeHooks(replacingHook(this.secrets), typeof this.options.redact === 'function' ? this.options.redact : undefined);
  }

  private rebuildHook(): void {
    this.redactHook = composeHooks(this.userHook, this.scrubs.length > 0 ? replacingHook(this.scrubs) : undefined);
  }

  private refuseLinked(): void {
    try {
      refuseLinks(this.bundleDir, this.bundleDir, appendedFile(BUNDLE_FILES.trace));
    } catch (error) {
      throw new RecorderError((error as Error).message);
    }
  }

  /** Another process's bundle (shared mode): its events carry that run's id. */
  private joinExisting(): void {
    let manifest: { runId?: unknown; writer?: unknown };
    try {
      manifest = JSON.parse(readFileSync(join(this.bundleDir, BUNDLE_FILES.manifest), 'utf8')) as typeof manifest;
    } catch {
      // Not readable yet: run.started (or the owner's first snapshot) will name the run.
      return;
    }
    this.refuseExclusiveWriter(manifest.writer);
    if (typeof manifest.runId === 'string') this.runId = manifest.runId;
  }

  /**
   * A bundle whose manifest names a live exclusive writer (`flowtape run`, which does not take the lock) is not
   * joined: our lines would race its unlocked appends. Unknown liveness (no pid, another host) counts as alive.
   */
  private refuseExclusiveWriter(writer: unknown): void {
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
      throw new RecorderError(`${this.bundleDir}: its exclusive writer (${who}) is alive: a shared writer may not join it until that run ends`);
    }
  }

  /** Resume: the runId comes from the bundle being continued. */
  private loadExisting(): void {
    const file = join(this.bundleDir, BUNDLE_FILES.manifest);
    let manifest: { runId?: unknown; createdAt?: unknown; writer?: unknown; permissionPolicy?: unknown };
    try {
      manifest = JSON.parse(readFileSync(file, 'utf8')) as typeof manifest;
    } catch (error) {
      throw new RecorderError(`${file}: cannot resume this bundle (${(error as Error).message.split('\n')[0]})`);
    }
    this.refuseExclusiveWriter(manifest.writer);
    if (typeof manifest.runId !== 'string') throw new RecorderError(`${file}: /runId: missing, cannot resume`);
    this.runId = manifest.runId;
    if (typeof manifest.createdAt === 'string') this.createdAt = manifest.createdAt;
    if (this.permissionPolicy === undefined && typeof manifest.permissionPolicy === 'string') this.permissionPolicy = manifest.permissionPolicy as Manifest['permissionPolicy'];
    // Attempts still open in the trace (a checkpoint waiting for its resume) get their outcome from this process.
    const tracePath = join(this.bundleDir, BUNDLE_FILES.trace);
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
    for (const step of state.steps) {
      if (step.status === 'running') this.openAttempts.set(step.attemptId, { nodeId: step.nodeId, startedAtMs: Date.parse(step.startedAt) });
    }
    if (state.startedAt) this.runStartMs = Date.parse(state.startedAt);
    this.runEnded = state.status !== 'running' && state.status !== 'waiting';
    this.waiting = state.status === 'waiting';
  }
}

function scope(event: { nodeId: string; attemptId: string }): { nodeId: string; attemptId: string } {
  return { nodeId: event.nodeId, attemptId: event.attemptId };
}

export type { ValueRef };
