/**
 * The one reducer of flowtape: trace events → projections. It is pure — the next state depends only on the
 * previous state and the event, nothing is mutated, no clock or randomness is read — and it is used by the
 * recorder (to write projections), the viewer (the state at any cursor), `verify` (projections must equal the
 * fold of the trace) and `repair` (to rebuild them).
 *
 * The state is persistent (see persistent.ts): folding one event costs the same whatever the run's length,
 * and earlier states remain valid and share memory with later ones.
 */
import { PMap, PVec } from './persistent.ts';
import { SCHEMA_IDS } from './ids.ts';
import type { ErrorInfo, RunStatus, ValueRef } from './common.ts';
import { isKnownEventType, type EventOf, type TraceEnvelope, type TraceEvent } from './events.ts';
import type { LiveProjection, RunProjection, Step, StepStatus, StepsProjection, Turn } from './projections.ts';

export interface NodeSummary {
  readonly nodeId: string;
  readonly attempts: number;
  readonly lastAttemptId: string;
  readonly status: StepStatus;
  readonly totalDurationMs: number;
}

export interface SessionSummary {
  readonly sessionId: string;
  readonly handle: string;
  readonly acpSessionId: string;
  readonly mode: 'shared' | 'isolated';
  readonly attemptIds: readonly string[];
}

export interface ProjectionState {
  readonly seq: number;
  readonly runId?: string;
  readonly flowName?: string;
  readonly status: RunStatus;
  readonly startedAt?: string;
  readonly updatedAt?: string;
  readonly endedAt?: string;
  readonly durationMs?: number;
  readonly input?: ValueRef;
  readonly output?: ValueRef;
  readonly error?: ErrorInfo;
  readonly waitingAt?: string;
  readonly activeAttemptId?: string;
  readonly eventCount: number;
  readonly unknownEventCount: number;
  readonly unknownEventTypes: readonly string[];
  readonly anomalies: readonly string[];
  /** Every attempt, in order of start. */
  readonly steps: PVec<Step>;
  /** attemptId → index in `steps`. */
  readonly stepIndex: PMap<number>;
  readonly nodes: PMap<NodeSummary>;
  /** `from→to` → times taken. */
  readonly edges: PMap<number>;
  readonly sessions: PMap<SessionSummary>;
}

/** Any line the reducer may be given: a known event, or the envelope of a type it does not know. */
export type ReducibleEvent = TraceEvent | TraceEnvelope;

const CAP = 20;

export function initialState(): ProjectionState {
  return {
    seq: 0,
    status: 'running',
    eventCount: 0,
    unknownEventCount: 0,
    unknownEventTypes: [],
    anomalies: [],
    steps: PVec.empty(),
    stepIndex: PMap.empty(),
    nodes: PMap.empty(),
    edges: PMap.empty(),
    sessions: PMap.empty(),
  };
}

export function reduce(state: ProjectionState, event: ReducibleEvent): ProjectionState {
  const base: ProjectionState = {
    ...state,
    seq: event.seq,
    eventCount: state.eventCount + 1,
    updatedAt: event.at,
    runId: state.runId ?? event.runId,
  };
  if (!isKnownEventType(event.type)) {
    const types = base.unknownEventTypes;
    return {
      ...base,
      unknownEventCount: state.unknownEventCount + 1,
      unknownEventTypes: types.includes(event.type) || types.length >= CAP ? types : [...types, event.type],
    };
  }
  const known = event as TraceEvent;
  switch (known.type) {
    case 'run.started':
      return {
        ...base,
        status: 'running',
        flowName: known.payload.flowName,
        startedAt: known.at,
        input: known.payload.input,
      };
    case 'run.waiting':
      return { ...base, status: 'waiting', waitingAt: known.payload.checkpoint };
    case 'run.resumed':
      return { ...base, status: 'running', waitingAt: undefined, endedAt: undefined };
    case 'run.completed':
      return endRun(base, known, 'completed', { output: known.payload.output });
    case 'run.failed':
      return endRun(base, known, 'failed', { error: known.payload.error });
    case 'run.timed_out':
      return endRun(base, known, 'timed_out', {
        error: { message: `run timed out after ${known.payload.timeoutMs} ms`, code: 'run_timeout' },
      });
    case 'run.cancelled':
      return endRun(base, known, 'cancelled', {
        error: { message: `run cancelled (${known.payload.reason})`, code: 'cancelled' },
      });
    case 'node.started':
      return startStep(base, known);
    case 'node.heartbeat':
      return updateStep(base, known, (step) => ({
        ...step,
        heartbeats: step.heartbeats + 1,
        lastHeartbeatAt: known.at,
      }));
    case 'node.outcome':
      return finishStep(base, known);
    case 'edge.taken': {
      const { from, to, branch } = known.payload;
      const key = `${from}\u2192${to}`;
      const next = { ...base, edges: base.edges.update(key, (count) => (count ?? 0) + 1) };
      if (!known.attemptId) return next;
      return updateStep(next, known, (step) => ({ ...step, next: branch ? { to, branch } : { to } }));
    }
    case 'session.bound': {
      const sessionId = known.sessionId;
      if (!sessionId) return anomaly(base, `seq ${known.seq}: session.bound without sessionId`);
      const attemptId = known.attemptId;
      const sessions = base.sessions.update(sessionId, (current) => ({
        sessionId,
        handle: known.payload.handle,
        acpSessionId: known.payload.acpSessionId,
        mode: known.payload.mode,
        attemptIds: attemptId ? [...(current?.attemptIds ?? []), attemptId] : (current?.attemptIds ?? []),
      }));
      const next = { ...base, sessions };
      if (!attemptId) return next;
      return updateStep(next, known, (step) => ({ ...step, sessionId }));
    }
    case 'acp.prompt_sent':
      return updateStep(base, known, (step) => ({
        ...step,
        sessionId: step.sessionId ?? known.sessionId,
        turns: [
          ...step.turns,
          {
            promptSeq: known.seq,
            sessionEventSeq: known.payload.sessionEventSeq,
            messageIndex: known.payload.messageIndex,
          },
        ],
      }));
    case 'acp.turn_finished':
      return updateStep(base, known, (step) => {
        const last = step.turns.at(-1);
        const finished: Turn = {
          promptSeq: last?.promptSeq ?? known.seq,
          sessionEventSeq: last?.sessionEventSeq ?? known.payload.sessionEvents.from,
          messageIndex: last?.messageIndex ?? known.payload.messages?.from ?? 0,
          stopReason: known.payload.stopReason,
          sessionEvents: known.payload.sessionEvents,
          messages: known.payload.messages,
          response: known.payload.response,
          error: known.payload.error,
        };
        const turns = last && last.stopReason === undefined ? step.turns.with(-1, finished) : [...step.turns, finished];
        return { ...step, turns };
      });
    case 'action.started':
      return updateStep(base, known, (step) => ({
        ...step,
        action: { actionType: known.payload.actionType, command: known.payload.command, cwd: known.payload.cwd },
      }));
    case 'action.completed': {
      const { output: _output, ...receipt } = known.payload;
      return updateStep(base, known, (step) => ({ ...step, action: { ...step.action, ...receipt } }));
    }
    case 'artifact.written':
      if (!known.attemptId) return base;
      return updateStep(base, known, (step) => ({
        ...step,
        artifacts: [...step.artifacts, { role: known.payload.role, artifact: known.payload.artifact }],
      }));
  }
}

/** Folds a whole trace. */
export function project(events: Iterable<ReducibleEvent>, from: ProjectionState = initialState()): ProjectionState {
  let state = from;
  for (const event of events) state = reduce(state, event);
  return state;
}

function endRun(
  state: ProjectionState,
  event: EventOf<'run.completed' | 'run.failed' | 'run.timed_out' | 'run.cancelled'>,
  status: RunStatus,
  extra: Partial<ProjectionState>,
): ProjectionState {
  return {
    ...state,
    ...extra,
    status,
    endedAt: event.at,
    durationMs: event.payload.durationMs,
    waitingAt: undefined,
    activeAttemptId: undefined,
  };
}

function startStep(state: ProjectionState, event: EventOf<'node.started'>): ProjectionState {
  const { nodeId, attemptId } = event;
  if (!nodeId || !attemptId) return anomaly(state, `seq ${event.seq}: node.started without nodeId/attemptId`);
  if (state.stepIndex.has(attemptId)) return anomaly(state, `seq ${event.seq}: attempt ${attemptId} started twice`);
  const step: Step = {
    attemptId,
    nodeId,
    attempt: event.payload.attempt,
    nodeType: event.payload.nodeType,
    status: 'running',
    startedAt: event.at,
    startSeq: event.seq,
    heartbeats: 0,
    input: event.payload.input,
    turns: [],
    artifacts: [],
  };
  return {
    ...state,
    steps: state.steps.push(step),
    stepIndex: state.stepIndex.set(attemptId, state.steps.size),
    nodes: state.nodes.update(nodeId, (current) => ({
      nodeId,
      attempts: (current?.attempts ?? 0) + 1,
      lastAttemptId: attemptId,
      status: 'running',
      totalDurationMs: current?.totalDurationMs ?? 0,
    })),
    activeAttemptId: attemptId,
  };
}

function finishStep(state: ProjectionState, event: EventOf<'node.outcome'>): ProjectionState {
  const { outcome, durationMs, output, error } = event.payload;
  const attemptId = event.attemptId;
  const index = attemptId === undefined ? undefined : state.stepIndex.get(attemptId);
  if (attemptId === undefined || index === undefined) {
    return anomaly(state, `seq ${event.seq}: node.outcome for unknown attempt ${attemptId ?? '(none)'}`);
  }
  const step = state.steps.get(index)!;
  if (step.status !== 'running') {
    return anomaly(state, `seq ${event.seq}: second outcome for attempt ${attemptId}`);
  }
  const nodes = state.nodes.update(step.nodeId, (current) => ({
    nodeId: step.nodeId,
    attempts: current?.attempts ?? 1,
    lastAttemptId: current?.lastAttemptId ?? attemptId,
    status: current?.lastAttemptId === attemptId || !current ? outcome : current.status,
    totalDurationMs: (current?.totalDurationMs ?? 0) + durationMs,
  }));
  return {
    ...state,
    steps: state.steps.set(index, { ...step, status: outcome, endedAt: event.at, endSeq: event.seq, durationMs, output, error }),
    nodes,
    activeAttemptId: state.activeAttemptId === attemptId ? undefined : state.activeAttemptId,
  };
}

function updateStep(
  state: ProjectionState,
  event: ReducibleEvent,
  change: (step: Step) => Step,
): ProjectionState {
  const index = event.attemptId === undefined ? undefined : state.stepIndex.get(event.attemptId);
  if (index === undefined) {
    return anomaly(state, `seq ${event.seq}: ${event.type} for unknown attempt ${event.attemptId ?? '(none)'}`);
  }
  return { ...state, steps: state.steps.set(index, change(state.steps.get(index)!)) };
}

function anomaly(state: ProjectionState, message: string): ProjectionState {
  return state.anomalies.length >= CAP ? state : { ...state, anomalies: [...state.anomalies, message] };
}

/** Status of each node at this state (nodes that never ran are absent). */
export function nodeStatus(state: ProjectionState, nodeId: string): NodeSummary | undefined {
  return state.nodes.get(nodeId);
}

export function getStep(state: ProjectionState, attemptId: string): Step | undefined {
  const index = state.stepIndex.get(attemptId);
  return index === undefined ? undefined : state.steps.get(index);
}

/**
 * The three projection files. Optional fields may hold `undefined`; `JSON.stringify` drops them, so compare
 * projections through their JSON text.
 */
export function toRunProjection(state: ProjectionState): RunProjection {
  const last = state.steps.last();
  return {
    schema: SCHEMA_IDS.run,
    seq: state.seq,
    runId: state.runId,
    flowName: state.flowName,
    status: state.status,
    startedAt: state.startedAt,
    updatedAt: state.updatedAt,
    endedAt: state.endedAt,
    durationMs: state.durationMs,
    input: state.input,
    output: state.output,
    error: state.error,
    waitingAt: state.waitingAt,
    lastNodeId: last?.nodeId,
    attemptCount: state.steps.size,
    eventCount: state.eventCount,
    unknownEventCount: state.unknownEventCount,
    unknownEventTypes: [...state.unknownEventTypes],
    anomalies: [...state.anomalies],
    nodes: [...state.nodes.values()].map((node) => ({ ...node })),
    edges: [...state.edges.entries()].map(([key, count]) => {
      const [from, to] = key.split('\u2192') as [string, string];
      return { from, to, count };
    }),
  };
}

export function toLiveProjection(state: ProjectionState): LiveProjection {
  const active = state.activeAttemptId === undefined ? undefined : getStep(state, state.activeAttemptId);
  return {
    schema: SCHEMA_IDS.live,
    seq: state.seq,
    runId: state.runId,
    status: state.status,
    updatedAt: state.updatedAt,
    activeAttemptId: active?.attemptId,
    activeNodeId: active?.nodeId,
    activeSince: active?.startedAt,
    lastHeartbeatAt: active ? active.lastHeartbeatAt : undefined,
    waitingAt: state.waitingAt,
  };
}

export function toStepsProjection(state: ProjectionState): StepsProjection {
  return {
    schema: SCHEMA_IDS.steps,
    seq: state.seq,
    runId: state.runId,
    steps: state.steps.toArray(),
  };
}
