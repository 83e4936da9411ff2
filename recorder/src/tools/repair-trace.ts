// The trace as `flowtape repair` reads it: folded by the reducer up to what stays, with what a lost flow.json, binding
// or artifact would be rebuilt from.
import { edgeKey, FlowSnapshot, initialState, Projector, readTrace, SCHEMA_IDS, type ProjectionState, type TraceEvent } from '@flowtape/schema';
import type { RepairReport } from './repair.ts';
import { readRange } from './repair-files.ts';
import { collectArtifacts } from './verify.ts';

export interface TraceFold {
  state: ProjectionState;
  lastAt: string | undefined;
  /** The first line whose seq is not above the one before it. */
  backwards: { line: number; seq: number; previous: number } | undefined;
  abandonedInTrace: boolean;
  /** The event that created each session (`session.bound` or `session.failed`): a lost binding.json comes from it. */
  sessionEvents: Map<string, TraceEvent>;
  /** Artifact path → the trace line that first references it. */
  artifacts: Map<string, number>;
  /** What the trace says about each node, in order of first start (for a lost flow.json). */
  nodes: Map<string, { nodeType: string; mode?: 'shared' | 'isolated'; handle?: string; actionType?: string }>;
  edges: Map<string, { from: string; to: string }>;
}

/** Folds the trace up to `keep` bytes (a torn tail that will be cut is not read). */
export async function foldTrace(tracePath: string, keep: number, file: string, report: RepairReport): Promise<TraceFold> {
  const fold: TraceFold = {
    state: initialState(),
    lastAt: undefined,
    backwards: undefined,
    abandonedInTrace: false,
    sessionEvents: new Map(),
    artifacts: new Map(),
    nodes: new Map(),
    edges: new Map(),
  };
  const projector = new Projector(fold.state);
  for await (const { line, event, known } of readTrace(readRange(tracePath, keep), {
    file,
    onIssue: (issue) => report.warnings.push(issue.message),
  })) {
    if (event.seq <= projector.seq) fold.backwards ??= { line, seq: event.seq, previous: projector.seq };
    projector.add(event);
    fold.lastAt = event.at;
    if (!known) continue;
    const e = event as TraceEvent;
    collectArtifacts(e.payload, (ref) => {
      if (!fold.artifacts.has(ref.path)) fold.artifacts.set(ref.path, line);
    });
    switch (e.type) {
      case 'run.failed':
        if (e.payload.abandoned) fold.abandonedInTrace = true;
        break;
      case 'node.started':
        if (e.nodeId && !fold.nodes.has(e.nodeId)) fold.nodes.set(e.nodeId, { nodeType: e.payload.nodeType });
        break;
      case 'session.bound':
      case 'session.failed': {
        if (e.sessionId && !fold.sessionEvents.has(e.sessionId)) fold.sessionEvents.set(e.sessionId, e);
        const node = e.nodeId ? fold.nodes.get(e.nodeId) : undefined;
        if (node && node.mode === undefined) Object.assign(node, { mode: e.payload.mode, handle: e.payload.handle });
        break;
      }
      case 'action.started': {
        const node = e.nodeId ? fold.nodes.get(e.nodeId) : undefined;
        if (node) node.actionType ??= e.payload.actionType;
        break;
      }
      case 'edge.taken':
        fold.edges.set(edgeKey(e.payload.from, e.payload.to), { from: e.payload.from, to: e.payload.to });
        break;
    }
  }
  fold.state = projector.state();
  return fold;
}

/** A flow.json for a bundle that lost it: the nodes that ran and the edges taken, marked as rebuilt. */
export function flowFromTrace(fold: TraceFold, state: ProjectionState, file: string, refuse: (message: string) => never): FlowSnapshot {
  const ids = [...fold.nodes.keys()];
  if (ids.length === 0) refuse(`${file}: missing, and the trace names no node to rebuild it from`);
  const nodes = [...fold.nodes].map(([id, node]) => {
    if (node.nodeType === 'acp') {
      const mode = node.mode ?? 'shared';
      return { id, nodeType: 'acp', sessionMode: mode, sessionHandle: node.handle ?? (mode === 'isolated' ? 'isolated' : 'main') };
    }
    if (node.nodeType === 'action') return { id, nodeType: 'action', actionType: node.actionType === 'shell' ? 'shell' : 'function' };
    return { id, nodeType: node.nodeType };
  });
  return FlowSnapshot.parse({
    schema: SCHEMA_IDS.flow,
    name: state.flowName ?? 'unknown',
    description: `Rebuilt by flowtape repair from the trace (${file} was missing): only the nodes that ran and the edges taken.`,
    startAt: ids[0],
    nodes,
    edges: [...fold.edges.values()].filter((e) => fold.nodes.has(e.from) && fold.nodes.has(e.to)),
  });
}
