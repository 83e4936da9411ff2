/**
 * How each lifecycle event of the runtime becomes trace events (and session lines, bindings, artifacts): the
 * recorder's translation table, one case per event type. The writing itself (queues, snapshots, close) is the
 * recorder's (recorder.ts), reached through EventRecording; the event objects and their text are built in
 * trace-events.ts.
 */
import { BUNDLE_FILES, SCHEMA_IDS, type JsonValue, type Outcome, type SessionBinding } from '@flowtape/schema';
import type { LifecycleEvent } from '../runtime/lifecycle.ts';
import type { CredentialWatch, HeldTraffic } from './credentials.ts';
import { edgePayloadJson, outcomePayloadJson, startedPayloadJson } from './event-json.ts';
import type { OpenAttempt } from './existing-bundle.ts';
import { writeFileAtomicSync } from './fsio.ts';
import type { RecorderOptions } from './recorder-api.ts';
import type { RecorderRedaction } from './recorder-redaction.ts';
import { mcpServersForBinding, redactMcpInMessage } from './redact.ts';
import type { SessionWriter } from './session-writer.ts';
import type { SnapshotKind } from './snapshots.ts';
import type { UnsequencedEvent } from './trace-writer.ts';
import type { ValueEncoder } from './values.ts';

const FLOW_INDENTED_UP_TO = 1000;

/** What the translation reads and calls on its recorder. */
export interface EventRecording {
  readonly bundleDir: string;
  readonly options: RecorderOptions;
  readonly deterministic: boolean;
  /** Another process may append to this bundle (shared writer, resume). */
  readonly shared: boolean;
  readonly redaction: RecorderRedaction;
  readonly encoder: ValueEncoder;
  readonly credentials: CredentialWatch | undefined;
  readonly openAttempts: Map<string, OpenAttempt>;
  runId: string | undefined;
  flowName: string | undefined;
  createdAt: string | undefined;
  runStartMs: number | undefined;
  drivesRun: boolean;
  waiting: boolean;
  wroteFlow: boolean;
  emit(
    type: UnsequencedEvent['type'],
    payload: object | (() => object),
    envelope?: { nodeId?: string; attemptId?: string; sessionId?: string },
    artifacts?: 'before' | 'after',
    afterSeq?: number,
    /** The payload's JSON text, when the caller built it (exactly `JSON.stringify(payload)`; event-json.ts). */
    payloadJson?: string,
  ): void;
  endRun(type: 'run.completed' | 'run.failed' | 'run.timed_out' | 'run.cancelled', payload: object): void;
  closeOpenAttempts(outcome: Outcome, atMs: number, why: string): void;
  scheduleSnapshot(kind: SnapshotKind): void;
  refuseExisting(): void;
  writeFirstManifest(): void;
  session(sessionId: string): SessionWriter;
  writeTraffic(sessionId: string, lines: readonly HeldTraffic[]): void;
  releaseTraffic(sessionId: string): void;
  warn(message: string): void;
}

export function recordLifecycleEvent(r: EventRecording, event: LifecycleEvent, at: string, atMs: number): void {
  switch (event.type) {
    case 'run.started': {
      r.runId = event.runId;
      r.flowName = event.flow.name;
      r.createdAt = at;
      r.runStartMs = atMs;
      r.drivesRun = true;
      if (r.deterministic && event.cwd) r.redaction.addScrub(event.cwd, '<cwd>');
      if (!r.shared) r.refuseExisting();
      const flow = r.options.flowFile ? { ...event.flow, flowFile: r.options.flowFile } : event.flow;
      // Indented for people up to FLOW_INDENTED_UP_TO nodes; a larger flow is written compact (half the bytes).
      const flowJson = r.redaction.hook(JSON.stringify(flow, null, flow.nodes.length <= FLOW_INDENTED_UP_TO ? 2 : undefined), 'json');
      writeFileAtomicSync(r.bundleDir, BUNDLE_FILES.flow, `${flowJson}\n`);
      r.wroteFlow = true;
      r.writeFirstManifest();
      const input = r.encoder.value(event.input, 'input');
      r.emit(
        'run.started',
        {
          flowName: event.flow.name,
          ...(input ? { input } : {}),
          ...(event.runTimeoutMs ? { runTimeoutMs: event.runTimeoutMs } : {}),
          ...(r.deterministic ? {} : { cwd: event.cwd }),
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
      r.waiting = true;
      r.emit('run.waiting', {
        checkpoint: event.checkpoint,
        ...(event.message ? { message: event.message } : {}),
        ...(event.sessions && event.sessions.length > 0 ? { sessions: event.sessions } : {}),
      });
      r.scheduleSnapshot('forced');
      return;
    case 'run.resumed': {
      r.drivesRun = true;
      r.waiting = false;
      r.runStartMs ??= atMs;
      const input = r.encoder.value(event.input, 'input');
      // Only run.resumed may follow run.waiting: the input's artifact.written comes after it. The resume is
      // decided when it is written: under the lock, only if the run still waits where the resume read it.
      const afterSeq = r.options.resumeAfterSeq;
      r.emit('run.resumed', { checkpoint: event.checkpoint, ...(input ? { input } : {}) }, {}, 'after', afterSeq);
      r.scheduleSnapshot('forced');
      return;
    }
    case 'run.completed': {
      r.closeOpenAttempts('failed', atMs, 'the run completed');
      const output = r.encoder.value(event.output, 'output');
      r.endRun('run.completed', { ...(output ? { output } : {}), durationMs: event.durationMs });
      return;
    }
    case 'run.failed':
      r.closeOpenAttempts('failed', atMs, 'the run failed');
      r.endRun('run.failed', {
        error: r.encoder.error(event.error ?? { message: 'the run failed' }, !r.deterministic)!,
        durationMs: event.durationMs,
      });
      return;
    case 'run.timed_out':
      r.closeOpenAttempts('timed_out', atMs, 'the run timed out');
      r.endRun('run.timed_out', { timeoutMs: event.timeoutMs, durationMs: event.durationMs });
      return;
    case 'run.cancelled':
      r.closeOpenAttempts('cancelled', atMs, 'the run was cancelled');
      r.endRun('run.cancelled', { reason: event.reason, durationMs: event.durationMs });
      return;
    case 'node.started': {
      if (r.openAttempts.has(event.attemptId)) {
        r.warn(`${event.attemptId} started twice: the second start is not recorded`);
        return;
      }
      r.openAttempts.set(event.attemptId, { nodeId: event.nodeId, startedAtMs: atMs });
      const input = event.input === undefined ? undefined : r.encoder.value(event.input, 'input');
      // The runtime's event is the envelope (its nodeId and attemptId are read at once, nothing else).
      if (input) r.emit('node.started', { nodeType: event.nodeType, attempt: event.attempt, input }, event, 'after');
      else r.emit('node.started', { nodeType: event.nodeType, attempt: event.attempt }, event, 'after', undefined, startedPayloadJson(event.nodeType, event.attempt));
      return;
    }
    case 'node.heartbeat':
      if (!r.openAttempts.has(event.attemptId)) return;
      r.emit('node.heartbeat', { elapsedMs: event.elapsedMs }, event);
      return;
    case 'node.outcome': {
      if (!r.openAttempts.delete(event.attemptId)) {
        r.warn(`${event.attemptId}: a second outcome (${event.outcome}) is not recorded: exactly one per attempt`);
        return;
      }
      const output = event.output === undefined ? undefined : r.encoder.value(event.output, 'output');
      const outputJson = output === undefined ? '' : r.encoder.lastRefJson;
      const error = event.error === undefined ? undefined : r.encoder.error(event.error, !r.deterministic);
      const payload: { outcome: Outcome; durationMs: number; output?: unknown; error?: unknown } = error
        ? { outcome: event.outcome, durationMs: event.durationMs }
        : output
          ? { outcome: event.outcome, durationMs: event.durationMs, output }
          : { outcome: event.outcome, durationMs: event.durationMs };
      if (error) {
        if (output) payload.output = output;
        payload.error = error;
        r.emit('node.outcome', payload, event);
      } else {
        const json = outputJson === undefined ? undefined : outcomePayloadJson(event.outcome, event.durationMs, outputJson);
        r.emit('node.outcome', payload, event, 'before', undefined, json);
      }
      return;
    }
    case 'edge.taken': {
      const branch = event.branch
        ? {
            on: event.branch.on,
            value: r.encoder.json(event.branch.value),
            ...(event.branch.caseKey !== undefined ? { caseKey: event.branch.caseKey } : {}),
            ...(event.branch.isDefault ? { isDefault: true } : {}),
          }
        : undefined;
      if (branch) r.emit('edge.taken', { from: event.from, to: event.to, branch }, event);
      else r.emit('edge.taken', { from: event.from, to: event.to }, event, 'before', undefined, edgePayloadJson(event.from, event.to));
      return;
    }
    case 'session.bound': {
      r.releaseTraffic(event.sessionId);
      const session = r.session(event.sessionId);
      session.acpSessionId = event.acpSessionId;
      session.handle = event.handle;
      if (!event.reused) writeBinding(r, session.files.binding, event, at, { acpSessionId: event.acpSessionId });
      r.emit(
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
        event,
      );
      return;
    }
    case 'session.failed': {
      // The agent failed before session/new succeeded: the session is still recorded (binding with the error,
      // its events.ndjson even when empty, the record) so the handshake can be inspected.
      r.releaseTraffic(event.sessionId);
      const session = r.session(event.sessionId);
      session.handle = event.handle;
      session.touchEvents();
      const error = r.encoder.error(event.error, !r.deterministic)!;
      writeBinding(r, session.files.binding, event, at, { error });
      r.emit(
        'session.failed',
        { handle: event.handle, mode: event.mode, agentCommand: event.agentCommand, path: session.files.dir, error },
        event,
      );
      return;
    }
    case 'session.usage': {
      const usage = event.usage.extra ? { ...event.usage, extra: r.encoder.json(event.usage.extra) as Record<string, JsonValue> } : event.usage;
      r.emit('session.usage', { usage }, { sessionId: event.sessionId });
      return;
    }
    case 'acp.traffic': {
      // The MCP servers' env and header values are secrets whatever their length: never on disk.
      const message = event.message === undefined ? undefined : redactMcpInMessage(event.message);
      // The wire text stands for the message only while the message is the one that crossed the wire.
      const json = message === event.message ? event.json : undefined;
      const line: HeldTraffic = [at, event.direction, message, event.text, event.attemptId, event.omitted, event.raw, json];
      r.writeTraffic(event.sessionId, r.credentials ? r.credentials.take(event.sessionId, line) : [line]);
      return;
    }
    case 'acp.prompt_sent': {
      // The session seqs are allocated when the session lines are written (under the lock in shared mode): the
      // event's payload is built then, right before the trace batch that carries it.
      const mark = r.session(event.sessionId).startTurn(event.attemptId);
      const prompt = r.encoder.text(event.prompt, 'prompt', { artifact: true });
      r.emit(
        'acp.prompt_sent',
        () => ({ prompt, messageIndex: mark.value.messageIndex, sessionEventSeq: mark.value.sessionEventSeq }),
        event,
      );
      return;
    }
    case 'acp.turn_finished': {
      const finished = r.session(event.sessionId).finishTurn(event.attemptId);
      const response = r.encoder.text(event.response, 'response', { artifact: true });
      const error = r.encoder.error(event.error, !r.deterministic);
      // Only `extra` holds agent text; the typed fields are numbers and a checked currency code.
      const usage = event.usage?.extra ? { ...event.usage, extra: r.encoder.json(event.usage.extra) as Record<string, JsonValue> } : event.usage;
      r.emit(
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
        event,
      );
      return;
    }
    case 'action.started':
      r.emit(
        'action.started',
        {
          actionType: event.actionType,
          ...(event.command !== undefined ? { command: event.command } : {}),
          ...(event.cwd !== undefined ? { cwd: event.cwd } : {}),
        },
        event,
      );
      return;
    case 'action.completed': {
      const stdout = event.stdout === undefined ? undefined : r.encoder.text(event.stdout, 'stdout');
      const stderr = event.stderr === undefined ? undefined : r.encoder.text(event.stderr, 'stderr');
      const output = r.encoder.value(event.output, 'output');
      const error = r.encoder.error(event.error, !r.deterministic);
      r.emit(
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
        event,
      );
      return;
    }
    default: {
      const unknown = event as { type?: unknown };
      r.warn(`unknown lifecycle event ${String(unknown.type)}: not recorded`);
    }
  }
}

/** `binding.json` of a new session: bound (with the agent's session id) or failed (with the error). */
function writeBinding(
r: Pick<EventRecording, 'bundleDir' | 'redaction'>,
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
  const text = r.redaction.hook(JSON.stringify(binding, null, 2), 'json');
  writeFileAtomicSync(r.bundleDir, path, `${text}\n`);
}
