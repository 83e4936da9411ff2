/**
 * The one reducer of flowtape: trace events → projections. It is pure — the next state depends only on the
 * previous state and the event, nothing is mutated, no clock or randomness is read — and it is used by the
 * recorder (to write projections), the viewer (the state at any cursor), `verify` (projections must equal the
 * fold of the trace) and `repair` (to rebuild them).
 *
 * The state is persistent (see persistent.ts): folding one event costs the same whatever the run's length,
 * and earlier states remain valid and share memory with later ones. A `Projector` folds many events in place —
 * the collections, the state object and the steps it made since it last handed out a state are changed rather
 * than copied — and hands out immutable states whenever asked; `reduce` and `project` are built on it.
 */
import { PMap, PVec, type Edit } from './persistent.ts';
import { SCHEMA_IDS } from './ids.ts';
import type { ErrorInfo, RunStatus, ValueRef } from './common.ts';
import { isKnownEventType, type EventOf, type TraceEnvelope, type TraceEvent } from './events.ts';
import type { LiveProjection, RunProjection, Step, StepStatus, StepsProjection, Turn } from './projections.ts';
import { addTotals, turnTotals, type UsageTotals } from './usage.ts';

export interface NodeSummary {
  readonly nodeId: string;
  readonly attempts: number;
  readonly lastAttemptId: string;
  readonly status: StepStatus;
  readonly totalDurationMs: number;
  /** All attempts' usage, folded (no context window: it belongs to a session). */
  readonly usage?: UsageTotals;
}

export interface SessionSummary {
  readonly sessionId: string;
  readonly handle: string;
  /** Absent when the session could not be started. */
  readonly acpSessionId?: string;
  readonly mode: 'shared' | 'isolated';
  readonly attemptIds: readonly string[];
  /** Why the session could not be started (`session.failed`). */
  readonly error?: ErrorInfo;
  readonly usage?: UsageTotals;
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
  /** Every turn's usage, folded (absent until a turn reports usage). */
  readonly usage?: UsageTotals;
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

/** The next state while a Projector builds it: owned by the Projector until it hands it out. */
type Draft = { -readonly [K in keyof ProjectionState]: ProjectionState[K] };

/** The state after `event`. Pure: `state` and everything in it stay as they were. */
export function reduce(state: ProjectionState, event: ReducibleEvent): ProjectionState {
  return new Projector(state).add(event).state();
}

/** Folds a whole trace. */
export function project(events: Iterable<ReducibleEvent>, from: ProjectionState = initialState()): ProjectionState {
  const projector = new Projector(from);
  for (const event of events) projector.add(event);
  return projector.state();
}

/**
 * Folds events one by one, as `reduce` would, without copying what it changes: what it made since it last handed
 * out a state is changed in place. `state()` hands out the state so far, which never changes afterwards (the next
 * `add` copies what it touches once). An event the reducer cannot apply (a malformed line) throws, and leaves the
 * Projector at the state before it, as `reduce` leaves its input.
 */
export class Projector {
  private draft: Draft;
  /** Owner token of what this Projector may change in place; replaced when a state is handed out. */
  private edit: Edit;
  /** Whether `draft` itself is this Projector's (not handed out). */
  private owned = false;
  /** Steps at this index and above were made (or copied) since the last hand-out: they may be changed in place. */
  private ownedStepsFrom = Infinity;
  /** Other steps copied since the last hand-out. */
  private ownedSteps: Set<number> | undefined;
  /** Arrays made since the last hand-out (a session's attempt ids): appended to in place. */
  private ownedArrays: Set<readonly unknown[]> | undefined;

  constructor(from: ProjectionState = initialState()) {
    this.draft = from as Draft;
    this.edit = {};
  }

  /** Folds `event` into the state. */
  add(event: ReducibleEvent): this {
    if (!foldsInPlace(event)) return this.addCarefully(event);
    if (!this.owned) {
      this.draft = { ...this.draft };
      this.owned = true;
    }
    step(this, this.draft, event);
    return this;
  }

  /** The seq of the last event folded (without handing out the state). */
  get seq(): number {
    return this.draft.seq;
  }

  /**
   * The state so far, to read at once: unlike `state()` it hands nothing out, so it changes with the next `add`.
   * Keep or share it only through `state()`.
   */
  peek(): ProjectionState {
    return this.draft;
  }

  /** The state so far: immutable from now on. */
  state(): ProjectionState {
    if (this.owned) {
      this.owned = false;
      this.edit = {};
      this.ownedStepsFrom = Infinity;
      this.ownedSteps = undefined;
      this.ownedArrays = undefined;
    }
    return this.draft;
  }

  /** An event that may throw half-way: everything it touches is copied, so the state before it stays whole. */
  private addCarefully(event: ReducibleEvent): this {
    const before = this.state();
    try {
      this.draft = { ...before };
      this.owned = true;
      step(this, this.draft, event);
    } catch (err) {
      this.draft = before as Draft;
      this.state();
      throw err;
    }
    return this;
  }

  /** @internal The owner token for the collections of the state being built. */
  get token(): Edit {
    return this.edit;
  }

  /** @internal Step `index` of the draft, to change in place (copied first when it was handed out). */
  ownStep(next: Draft, index: number): Step {
    const current = next.steps.get(index)!;
    if (index >= this.ownedStepsFrom || this.ownedSteps?.has(index)) return current;
    const copy = { ...current };
    next.steps = next.steps.set(index, copy, this.edit);
    (this.ownedSteps ??= new Set()).add(index);
    return copy;
  }

  /**
   * @internal `array` with `item` appended: in place when this Projector made the array since the last hand-out,
   * else a copy it owns. A session's attempt ids grow with the run; copying them at every binding made a long run's
   * fold quadratic.
   */
  append<T>(array: readonly T[] | undefined, item: T): T[] {
    if (array !== undefined && this.ownedArrays?.has(array)) {
      (array as T[]).push(item);
      return array as T[];
    }
    const copy = array === undefined ? [item] : [...array, item];
    (this.ownedArrays ??= new Set()).add(copy);
    return copy;
  }

  /** @internal Appends a step the Projector owns. */
  pushStep(next: Draft, created: Step): void {
    if (this.ownedStepsFrom === Infinity) this.ownedStepsFrom = next.steps.size;
    next.steps = next.steps.push(created, this.edit);
  }
}

/**
 * Whether `event` has the shape the fold reads without throwing (every line a reader accepted has it). Any other
 * event is folded carefully: a reducer case reading a missing payload throws part-way.
 */
function foldsInPlace(event: ReducibleEvent): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const { seq, type, payload, attemptId, nodeId, sessionId } = event as Partial<TraceEvent>;
  if (typeof seq !== 'number' || typeof type !== 'string' || typeof payload !== 'object' || payload === null) return false;
  if ((attemptId !== undefined && typeof attemptId !== 'string') || (nodeId !== undefined && typeof nodeId !== 'string')) return false;
  if (sessionId !== undefined && typeof sessionId !== 'string') return false;
  if (type === 'acp.turn_finished') {
    const range = (payload as { sessionEvents?: unknown }).sessionEvents;
    if (typeof range !== 'object' || range === null) return false;
  }
  return true;
}

function step(projector: Projector, next: Draft, event: ReducibleEvent): void {
  const state = next as ProjectionState;
  const problem = successionProblem(state, event);
  next.seq = event.seq;
  next.eventCount = state.eventCount + 1;
  next.updatedAt = event.at;
  if (next.runId === undefined) next.runId = event.runId;
  if (problem !== undefined) anomaly(next, `seq ${event.seq}: ${problem}`);
  if (!isKnownEventType(event.type)) {
    next.unknownEventCount++;
    const types = next.unknownEventTypes;
    if (!types.includes(event.type) && types.length < CAP) next.unknownEventTypes = [...types, event.type];
    return;
  }
  apply(projector, next, event as TraceEvent);
}

function apply(p: Projector, next: Draft, known: TraceEvent): void {
  switch (known.type) {
    case 'run.started':
      next.status = 'running';
      next.flowName = known.payload.flowName;
      next.startedAt = known.at;
      next.input = known.payload.input;
      return;
    case 'run.waiting':
      next.status = 'waiting';
      next.waitingAt = known.payload.checkpoint;
      return;
    case 'run.resumed':
      next.status = 'running';
      next.waitingAt = undefined;
      next.endedAt = undefined;
      return;
    case 'run.completed':
      endRun(next, known, 'completed');
      next.output = known.payload.output;
      return;
    case 'run.failed':
      endRun(next, known, 'failed');
      next.error = known.payload.error;
      return;
    case 'run.timed_out':
      endRun(next, known, 'timed_out');
      next.error = { message: `run timed out after ${known.payload.timeoutMs} ms`, code: 'run_timeout' };
      return;
    case 'run.cancelled':
      endRun(next, known, 'cancelled');
      next.error = { message: `run cancelled (${known.payload.reason})`, code: 'cancelled' };
      return;
    case 'node.started':
      return startStep(p, next, known);
    case 'node.heartbeat':
      return updateStep(p, next, known, (step) => {
        step.heartbeats = step.heartbeats + 1;
        step.lastHeartbeatAt = known.at;
      });
    case 'node.outcome':
      return finishStep(p, next, known);
    case 'edge.taken': {
      const { from, to, branch } = known.payload;
      next.edges = next.edges.update(`${from}\u2192${to}`, (count) => (count ?? 0) + 1, p.token);
      if (known.attemptId) {
        updateStep(p, next, known, (step) => {
          step.next = branch ? { to, branch } : { to };
        });
      }
      return;
    }
    case 'session.bound': {
      const sessionId = known.sessionId;
      if (!sessionId) return anomaly(next, `seq ${known.seq}: session.bound without sessionId`);
      const attemptId = known.attemptId;
      next.sessions = next.sessions.update(sessionId, (current) => ({
        sessionId,
        handle: known.payload.handle,
        acpSessionId: known.payload.acpSessionId,
        mode: known.payload.mode,
        attemptIds: attemptId ? p.append(current?.attemptIds, attemptId) : (current?.attemptIds ?? []),
        ...(current?.usage ? { usage: current.usage } : {}),
      }), p.token);
      if (attemptId) {
        updateStep(p, next, known, (step) => {
          step.sessionId = sessionId;
        });
      }
      return;
    }
    case 'session.failed': {
      const sessionId = known.sessionId;
      if (!sessionId) return anomaly(next, `seq ${known.seq}: session.failed without sessionId`);
      const attemptId = known.attemptId;
      next.sessions = next.sessions.update(sessionId, (current) => ({
        sessionId,
        handle: known.payload.handle,
        ...(current?.acpSessionId !== undefined ? { acpSessionId: current.acpSessionId } : {}),
        mode: known.payload.mode,
        attemptIds: attemptId ? p.append(current?.attemptIds, attemptId) : (current?.attemptIds ?? []),
        error: known.payload.error,
        ...(current?.usage ? { usage: current.usage } : {}),
      }), p.token);
      if (attemptId) {
        updateStep(p, next, known, (step) => {
          step.sessionId = sessionId;
        });
      }
      return;
    }
    case 'session.usage': {
      // Late usage: the session's and the run's, no attempt's (it came after the session's last turn).
      const late = turnTotals(known.payload.usage);
      const session = known.sessionId === undefined ? undefined : next.sessions.get(known.sessionId);
      if (!late || !session) return;
      next.usage = addTotals(next.usage, late, false);
      next.sessions = next.sessions.set(session.sessionId, { ...session, usage: addTotals(session.usage, late, true) }, p.token);
      return;
    }
    case 'acp.prompt_sent':
      return updateStep(p, next, known, (step) => {
        step.sessionId = step.sessionId ?? known.sessionId;
        step.turns = [
          ...step.turns,
          { promptSeq: known.seq, sessionEventSeq: known.payload.sessionEventSeq, messageIndex: known.payload.messageIndex },
        ];
      });
    case 'acp.turn_finished': {
      const turnUsage = known.payload.usage === undefined ? undefined : turnTotals(known.payload.usage);
      if (turnUsage) foldUsage(p, next, known, turnUsage);
      return updateStep(p, next, known, (step) => {
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
          usage: known.payload.usage,
        };
        step.turns = last && last.stopReason === undefined ? step.turns.with(-1, finished) : [...step.turns, finished];
        if (turnUsage) step.usage = addTotals(step.usage, turnUsage, true);
      });
    }
    case 'action.started':
      return updateStep(p, next, known, (step) => {
        step.action = { actionType: known.payload.actionType, command: known.payload.command, cwd: known.payload.cwd };
      });
    case 'action.completed': {
      const { output: _output, ...receipt } = known.payload;
      return updateStep(p, next, known, (step) => {
        step.action = { ...step.action, ...receipt };
      });
    }
    case 'artifact.written':
      if (!known.attemptId) return;
      return updateStep(p, next, known, (step) => {
        step.artifacts = [...step.artifacts, { role: known.payload.role, artifact: known.payload.artifact }];
      });
  }
}

/** The statuses a terminal event (`run.completed`, `run.failed`, `run.timed_out`, `run.cancelled`) leaves. */
export const ENDED_STATUSES: ReadonlySet<RunStatus> = new Set<RunStatus>(['completed', 'failed', 'timed_out', 'cancelled']);

/** Where a run is, as far as the succession rule is concerned (a ProjectionState is one). */
export interface RunPosition {
  readonly status: RunStatus;
  readonly waitingAt?: string;
}

/**
 * The succession rule (SPEC.md, "The end of a run"): nothing may follow a terminal event; only `run.resumed`
 * naming the same checkpoint may follow `run.waiting`; `run.resumed` follows nothing else. Applies to every line,
 * including event types this reader does not know. Returns why `event` may not come next, or undefined.
 */
export function successionProblem(position: RunPosition, event: { type: string; payload?: unknown }): string | undefined {
  const { status } = position;
  if (ENDED_STATUSES.has(status)) return `${event.type} after the run ended (${status}): nothing may follow a terminal event`;
  if (status === 'waiting') {
    if (event.type !== 'run.resumed') {
      return `${event.type} while the run waits at checkpoint "${position.waitingAt}": only run.resumed may follow run.waiting`;
    }
    const checkpoint = (event.payload as { checkpoint?: unknown } | undefined)?.checkpoint;
    if (checkpoint !== position.waitingAt) return `run.resumed at ${JSON.stringify(checkpoint)} while the run waits at checkpoint "${position.waitingAt}"`;
    return undefined;
  }
  if (event.type === 'run.resumed') return `run.resumed while the run is ${status}: only a run waiting at a checkpoint resumes`;
  return undefined;
}

/** The position after `event` (what `reduce` does to `status` and `waitingAt`, without the rest of the fold). */
export function advancePosition(position: RunPosition, event: { type: string; payload?: unknown }): RunPosition {
  switch (event.type) {
    case 'run.started':
    case 'run.resumed':
      return { status: 'running' };
    case 'run.waiting':
      return { status: 'waiting', waitingAt: String((event.payload as { checkpoint?: unknown } | undefined)?.checkpoint) };
    case 'run.completed':
      return { status: 'completed' };
    case 'run.failed':
      return { status: 'failed' };
    case 'run.timed_out':
      return { status: 'timed_out' };
    case 'run.cancelled':
      return { status: 'cancelled' };
    default:
      return position;
  }
}

function endRun(
  next: Draft,
  event: EventOf<'run.completed' | 'run.failed' | 'run.timed_out' | 'run.cancelled'>,
  status: RunStatus,
): void {
  next.status = status;
  next.endedAt = event.at;
  next.durationMs = event.payload.durationMs;
  next.waitingAt = undefined;
  next.activeAttemptId = undefined;
}

function startStep(p: Projector, next: Draft, event: EventOf<'node.started'>): void {
  const { nodeId, attemptId } = event;
  if (!nodeId || !attemptId) return anomaly(next, `seq ${event.seq}: node.started without nodeId/attemptId`);
  // Indexed first (one walk down the map, which also finds a second start): a second start reads no payload.
  const stepIndex = next.stepIndex.add(attemptId, next.steps.size, p.token);
  if (stepIndex === undefined) return anomaly(next, `seq ${event.seq}: attempt ${attemptId} started twice`);
  next.stepIndex = stepIndex;
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
  p.pushStep(next, step);
  next.nodes = next.nodes.update(
    nodeId,
    (current) =>
      withUsage<NodeSummary>(
        { nodeId, attempts: (current?.attempts ?? 0) + 1, lastAttemptId: attemptId, status: 'running', totalDurationMs: current?.totalDurationMs ?? 0 },
        current?.usage,
      ),
    p.token,
  );
  next.activeAttemptId = attemptId;
}

function finishStep(p: Projector, next: Draft, event: EventOf<'node.outcome'>): void {
  const { outcome, durationMs, output, error } = event.payload;
  const attemptId = event.attemptId;
  const index = attemptId === undefined ? undefined : indexOf(next, attemptId);
  if (attemptId === undefined || index === undefined) {
    return anomaly(next, `seq ${event.seq}: node.outcome for unknown attempt ${attemptId ?? '(none)'}`);
  }
  const started = next.steps.get(index)!;
  if (started.status !== 'running') return anomaly(next, `seq ${event.seq}: second outcome for attempt ${attemptId}`);
  const nodeId = started.nodeId;
  next.nodes = next.nodes.update(
    nodeId,
    (current) =>
      withUsage<NodeSummary>(
        {
          nodeId,
          attempts: current?.attempts ?? 1,
          lastAttemptId: current?.lastAttemptId ?? attemptId,
          status: current?.lastAttemptId === attemptId || !current ? outcome : current.status,
          totalDurationMs: (current?.totalDurationMs ?? 0) + durationMs,
        },
        current?.usage,
      ),
    p.token,
  );
  // Assigned in this order, as `{ ...step, status, endedAt, … }` would: keys new to the step come last, in order.
  const step = p.ownStep(next, index);
  step.status = outcome;
  step.endedAt = event.at;
  step.endSeq = event.seq;
  step.durationMs = durationMs;
  step.output = output;
  step.error = error;
  if (next.activeAttemptId === attemptId) next.activeAttemptId = undefined;
}

/**
 * Where attempt `attemptId` is in `steps`. Most events name the latest attempt: its index is known without a
 * look-up (attempt ids are unique in `steps`: a second start of one is an anomaly, not a step).
 */
function indexOf(next: Draft, attemptId: string): number | undefined {
  const last = next.steps.size - 1;
  if (last >= 0 && next.steps.get(last)!.attemptId === attemptId) return last;
  return next.stepIndex.get(attemptId);
}

/**
 * Changes the step of `event`'s attempt in place (a step handed out is copied first). Changes assign keys in the
 * order the projection files show them: a key new to the step is appended, as an object spread would.
 */
function updateStep(p: Projector, next: Draft, event: ReducibleEvent, change: (step: Step) => void): void {
  const index = event.attemptId === undefined ? undefined : indexOf(next, event.attemptId);
  if (index === undefined) {
    return anomaly(next, `seq ${event.seq}: ${event.type} for unknown attempt ${event.attemptId ?? '(none)'}`);
  }
  change(p.ownStep(next, index));
}

/**
 * A turn's usage into its node's, its session's and the run's totals (the attempt's is folded with the turn).
 * turnTotals kept only the valid values of the turn (usage.ts), so a hand-made or hostile trace cannot break the fold.
 */
function foldUsage(p: Projector, next: Draft, event: EventOf<'acp.turn_finished'>, usage: UsageTotals): void {
  next.usage = addTotals(next.usage, usage, false);
  const nodeId = event.nodeId;
  const node = nodeId === undefined ? undefined : next.nodes.get(nodeId);
  if (nodeId !== undefined && node) next.nodes = next.nodes.set(nodeId, { ...node, usage: addTotals(node.usage, usage, false) }, p.token);
  const sessionId = event.sessionId;
  const session = sessionId === undefined ? undefined : next.sessions.get(sessionId);
  if (sessionId !== undefined && session) next.sessions = next.sessions.set(sessionId, { ...session, usage: addTotals(session.usage, usage, true) }, p.token);
}

/**
 * `summary` with `usage` last when there is one, as `{ ...summary, ...(usage ? { usage } : {}) }` would make it,
 * without the two objects that spread allocates at every attempt's start and end.
 */
function withUsage<T extends { readonly usage?: UsageTotals }>(summary: T, usage: UsageTotals | undefined): T {
  if (usage) (summary as { usage?: UsageTotals }).usage = usage;
  return summary;
}

function anomaly(next: Draft, message: string): void {
  if (next.anomalies.length < CAP) next.anomalies = [...next.anomalies, message];
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
    ...(state.usage ? { usage: state.usage, sessionUsage: sessionUsage(state) } : {}),
  };
}

function sessionUsage(state: ProjectionState): NonNullable<RunProjection['sessionUsage']> {
  const list: NonNullable<RunProjection['sessionUsage']> = [];
  for (const session of state.sessions.values()) {
    if (session.usage) list.push({ sessionId: session.sessionId, handle: session.handle, usage: session.usage });
  }
  return list;
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
