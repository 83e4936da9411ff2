/** Reading a state: look-ups, and the three projection files (projections/run.json, live.json, steps.json). */
import { SCHEMA_IDS } from '../ids.ts';
import type { LiveProjection, RunProjection, Step, StepsProjection } from '../projections.ts';
import { edgeEnds } from './edge-key.ts';
import type { NodeSummary, ProjectionState } from './state.ts';

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
    // The summaries themselves, as steps.json lists the steps themselves: a state's are never changed once handed
    // out, and copying every one cost a long run's close more than serializing them.
    nodes: state.nodes.valueList(),
    edges: edgeList(state),
    ...(state.usage ? { usage: state.usage, sessionUsage: sessionUsage(state) } : {}),
  };
}

/**
 * The edges taken. An edge whose count has not changed since an earlier render of this run's states is the object
 * rendered then (PMap.mapMemo): the recorder renders run.json at every snapshot, and making every edge anew (an
 * object and two strings each) cost a long run's snapshots seconds.
 */
function edgeList(state: ProjectionState): RunProjection['edges'] {
  return state.edges.mapMemo(edgeOf);
}

/** Edge `key`, taken `count` times. */
function edgeOf(count: number, key: string): RunProjection['edges'][number] {
  const { from, to } = edgeEnds(key);
  return { from, to, count };
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
