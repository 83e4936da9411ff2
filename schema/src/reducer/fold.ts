/** The fold of one event into the state a Projector is building: what each event type changes. */
import type { RunStatus } from '../common.ts';
import type { EventOf, TraceEvent } from '../events.ts';
import { isKnownEventType } from '../event-types.ts';
import { AppendList } from '../persistent.ts';
import type { Step, Turn } from '../projections.ts';
import type { UsageTotals } from '../usage.ts';
import { addTotals, turnTotals } from '../usage-fold.ts';
import type { Projector } from './projector.ts';
import { edgeKey } from './edge-key.ts';
import { CAP, type Draft, type NodeSummary, type ProjectionState, type ReducibleEvent, type SessionSummary } from './state.ts';
import { successionProblem } from './succession.ts';

/**
 * The turns and artifacts of a step that has none: one shared, frozen array. Every change replaces a step's array
 * (`[...turns, turn]`), so sharing it is safe, and a long run keeps two fewer objects per step.
 */
const NONE = Object.freeze([]) as never[];

export function step(projector: Projector, next: Draft, event: ReducibleEvent): void {
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
    case 'node.heartbeat': {
      const step = stepOf(p, next, known);
      if (step) {
        step.heartbeats = step.heartbeats + 1;
        step.lastHeartbeatAt = known.at;
      }
      return;
    }
    case 'node.outcome':
      return finishStep(p, next, known);
    case 'edge.taken': {
      const { from, to, branch } = known.payload;
      next.edges = next.edges.update(edgeKey(from, to), countOneMore, p.token);
      if (known.attemptId) {
        const step = stepOf(p, next, known);
        if (step) step.next = branch ? { to, branch } : { to };
      }
      return;
    }
    case 'session.bound':
    case 'session.failed':
      return bindSession(p, next, known);
    case 'session.usage': {
      // Late usage: the session's and the run's, no attempt's (it came after the session's last turn).
      const late = turnTotals(known.payload.usage);
      const session = known.sessionId === undefined ? undefined : next.sessions.get(known.sessionId);
      if (!late || !session) return;
      next.usage = addTotals(next.usage, late, false);
      next.sessions = next.sessions.set(session.sessionId, p.ownSession({ ...session, usage: addTotals(session.usage, late, true) }), p.token);
      return;
    }
    case 'acp.prompt_sent': {
      const step = stepOf(p, next, known);
      if (step) {
        step.sessionId = step.sessionId ?? known.sessionId;
        // A new array (sized to its turns, as a push would not leave it), which the turn's end may then change.
        step.turns = p.ownTurns([
          ...step.turns,
          { promptSeq: known.seq, sessionEventSeq: known.payload.sessionEventSeq, messageIndex: known.payload.messageIndex },
        ]);
      }
      return;
    }
    case 'acp.turn_finished': {
      const turnUsage = known.payload.usage === undefined ? undefined : turnTotals(known.payload.usage);
      if (turnUsage) foldUsage(p, next, known, turnUsage);
      const step = stepOf(p, next, known);
      if (step) {
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
        const turns = step.turns;
        if (last && last.stopReason === undefined) {
          // The prompt's turn replaced: in the array its prompt made when this Projector owns it, else in a copy.
          const owned = p.ownedTurns(turns);
          if (owned) owned[owned.length - 1] = finished;
          else step.turns = p.ownTurns(turns.with(-1, finished));
        } else step.turns = p.ownTurns([...turns, finished]);
        if (turnUsage) step.usage = addTotals(step.usage, turnUsage, true);
      }
      return;
    }
    case 'action.started': {
      const step = stepOf(p, next, known);
      if (step) step.action = { actionType: known.payload.actionType, command: known.payload.command, cwd: known.payload.cwd };
      return;
    }
    case 'action.completed': {
      const { output: _output, ...receipt } = known.payload;
      const step = stepOf(p, next, known);
      if (step) step.action = { ...step.action, ...receipt };
      return;
    }
    case 'artifact.written': {
      if (!known.attemptId) return;
      const step = stepOf(p, next, known);
      if (step) step.artifacts = [...step.artifacts, { role: known.payload.role, artifact: known.payload.artifact }];
      return;
    }
  }
}

/** An edge's count after one more taking (one function, not a closure made per edge.taken). */
const countOneMore = (count: number | undefined): number => (count ?? 0) + 1;

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
  p.pushStep(next, new NewStep(event, nodeId, attemptId));
  // A look-up, then a set: an updater closure per attempt cost more than finding the node twice.
  const current = next.nodes.get(nodeId);
  const summary: NodeSummary = { nodeId, attempts: (current?.attempts ?? 0) + 1, lastAttemptId: attemptId, status: 'running', totalDurationMs: current?.totalDurationMs ?? 0 };
  next.nodes = next.nodes.set(nodeId, p.ownNode(withUsage(summary, current?.usage)), p.token);
  next.activeAttemptId = attemptId;
}

/**
 * A step as its start makes it: the keys of the literal `{ attemptId, nodeId, …, artifacts }` in that order, as a
 * plain object (its prototype is Object's). Made by a constructor, not a literal, because V8 then gives the objects
 * room for the keys its first instances gained later (the outcome's, `next`): a step keeps them in one object of
 * 160 bytes, where a literal's grew a separate property array (216 bytes, two objects, one more copied by each
 * scavenge). Keys added later still come after these, in the order they are set.
 */
function StartedStep(this: { -readonly [K in keyof Step]: Step[K] }, event: EventOf<'node.started'>, nodeId: string, attemptId: string): void {
  // `this.` itself, not an alias: V8 counts these assignments to size the objects.
  this.attemptId = attemptId;
  this.nodeId = nodeId;
  this.attempt = event.payload.attempt;
  this.nodeType = event.payload.nodeType;
  this.status = 'running';
  this.startedAt = event.at;
  this.startSeq = event.seq;
  this.heartbeats = 0;
  this.input = event.payload.input;
  this.turns = NONE;
  this.artifacts = NONE;
}
StartedStep.prototype = Object.prototype;
const NewStep = StartedStep as unknown as new (event: EventOf<'node.started'>, nodeId: string, attemptId: string) => Step;

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
  const owned = p.ownedNode(nodeId);
  if (owned) {
    // What the summary below would be, changed in place (same keys, so the same order).
    if (owned.lastAttemptId === attemptId) owned.status = outcome;
    owned.totalDurationMs += durationMs;
  } else {
    next.nodes = next.nodes.update(
      nodeId,
      (current) =>
        p.ownNode(
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
        ),
      p.token,
    );
  }
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
 * A session bound to an attempt (`session.bound`), or that could not be started for it (`session.failed`): one
 * summary, keys in the order both have always shown them. A failed session keeps the ACP session id it had (if any)
 * and says why; a bound one takes the payload's and drops an earlier error.
 */
function bindSession(p: Projector, next: Draft, event: EventOf<'session.bound' | 'session.failed'>): void {
  const sessionId = event.sessionId;
  if (!sessionId) return anomaly(next, `seq ${event.seq}: ${event.type} without sessionId`);
  const attemptId = event.attemptId;
  const current = next.sessions.get(sessionId);
  const summary: { -readonly [K in keyof SessionSummary]: SessionSummary[K] } = { sessionId, handle: event.payload.handle } as SessionSummary;
  if (event.type === 'session.bound') summary.acpSessionId = event.payload.acpSessionId;
  else if (current?.acpSessionId !== undefined) summary.acpSessionId = current.acpSessionId;
  summary.mode = event.payload.mode;
  const attemptIds = current?.attemptIds ?? AppendList.empty<string>();
  summary.attemptIds = attemptId ? attemptIds.append(attemptId) : attemptIds;
  if (event.type === 'session.failed') summary.error = event.payload.error;
  if (current?.usage) summary.usage = current.usage;
  next.sessions = next.sessions.set(sessionId, p.ownSession(summary), p.token);
  if (attemptId) {
    const step = stepOf(p, next, event);
    if (step) step.sessionId = sessionId;
  }
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
 * The step of `event`'s attempt, to change in place (a step handed out is copied first), or undefined (and an
 * anomaly) when there is none. Changes assign keys in the order the projection files show them: a key new to the
 * step is appended, as an object spread would. (Returned, not given to a callback: a closure per event was most of
 * an ACP-heavy fold's garbage.)
 */
function stepOf(p: Projector, next: Draft, event: ReducibleEvent): Step | undefined {
  const index = event.attemptId === undefined ? undefined : indexOf(next, event.attemptId);
  if (index === undefined) {
    anomaly(next, `seq ${event.seq}: ${event.type} for unknown attempt ${event.attemptId ?? '(none)'}`);
    return undefined;
  }
  return p.ownStep(next, index);
}

/**
 * A turn's usage into its node's, its session's and the run's totals (the attempt's is folded with the turn).
 * turnTotals kept only the valid values of the turn (usage.ts), so a hand-made or hostile trace cannot break the fold.
 */
function foldUsage(p: Projector, next: Draft, event: EventOf<'acp.turn_finished'>, usage: UsageTotals): void {
  next.usage = addTotals(next.usage, usage, false);
  const nodeId = event.nodeId;
  const owned = nodeId === undefined ? undefined : p.ownedNode(nodeId);
  // In place, `usage` is appended when new, as the spread below would.
  if (owned) owned.usage = addTotals(owned.usage, usage, false);
  else {
    const node = nodeId === undefined ? undefined : next.nodes.get(nodeId);
    if (nodeId !== undefined && node) next.nodes = next.nodes.set(nodeId, p.ownNode({ ...node, usage: addTotals(node.usage, usage, false) }), p.token);
  }
  const sessionId = event.sessionId;
  if (sessionId === undefined) return;
  // In place when this Projector made the summary since its last hand-out (`usage` appended when new, as the
  // spread would): a shared session's every turn made a new summary.
  const ownedSession = p.ownedSession(sessionId);
  if (ownedSession) ownedSession.usage = addTotals(ownedSession.usage, usage, true);
  else {
    const session = next.sessions.get(sessionId);
    if (session) next.sessions = next.sessions.set(sessionId, p.ownSession({ ...session, usage: addTotals(session.usage, usage, true) }), p.token);
  }
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
