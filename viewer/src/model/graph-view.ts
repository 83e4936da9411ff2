// The flow graph as the UI draws it: static structure (from flow.json, or from the trace when the flow is
// missing) laid out once per model, and the run overlay at a cursor (pure functions of the reducer state).
import { isSwitchEdge, type FlowSnapshot, type NodeSpec, type NodeType, type ProjectionState, type StepStatus, type UsageTotals } from '@flowtape/schema';
import { layoutGraph } from '../layout/layout.ts';
import type { BundleModel } from './bundle-model.ts';

export const NODE_WIDTH = 230;
export const NODE_HEIGHT = 78;

export interface GraphNode {
  id: string;
  nodeType: NodeType | 'unknown';
  title?: string;
  spec?: NodeSpec;
  /** Not in flow.json: seen only in the trace. */
  undeclared: boolean;
  isStart: boolean;
}

export interface GraphEdge {
  id: string;
  from: string;
  to: string;
  /** Switch cases (and `default`) that lead along this edge. */
  cases: string[];
  /** The switch expression, for switch edges. */
  on?: string;
  /** Taken in the run but not declared in flow.json. */
  undeclared: boolean;
}

export interface GraphStructure {
  nodes: GraphNode[];
  edges: GraphEdge[];
  positions: Map<string, { x: number; y: number }>;
  backEdges: Set<string>;
}

const structureCache = new WeakMap<object, GraphStructure>();

function edgeKey(from: string, to: string): string {
  return `${from}\u2192${to}`;
}

/** What a run's final state tells about the graph: the nodes it ran and the edges it took. */
type Seen = Pick<ProjectionState, 'steps' | 'nodes' | 'edges'>;

/** The graph of a flow plus what one run (or several, overlaid on one page) ran and took beyond it. */
export function buildStructure(flow: FlowSnapshot | undefined, runs: Seen | readonly Seen[]): GraphStructure {
  const finals: readonly Seen[] = Array.isArray(runs) ? runs : [runs as Seen];
  const nodes: GraphNode[] = [];
  const seen = new Set<string>();
  for (const spec of flow?.nodes ?? []) {
    if (seen.has(spec.id)) continue;
    seen.add(spec.id);
    nodes.push({ id: spec.id, nodeType: spec.nodeType, title: spec.title, spec, undeclared: false, isStart: spec.id === flow?.startAt });
  }
  const stepTypes = new Map<string, NodeType>();
  for (const final of finals) for (const step of final.steps) if (!stepTypes.has(step.nodeId)) stepTypes.set(step.nodeId, step.nodeType);
  for (const final of finals) {
    for (const nodeId of final.nodes.keys()) {
      if (seen.has(nodeId)) continue;
      seen.add(nodeId);
      nodes.push({ id: nodeId, nodeType: stepTypes.get(nodeId) ?? 'unknown', undeclared: flow !== undefined, isStart: !flow && nodes.length === 0 });
    }
  }

  const edges = new Map<string, GraphEdge>();
  const addEdge = (from: string, to: string, undeclared: boolean, caseKey?: string, on?: string) => {
    const key = edgeKey(from, to);
    let edge = edges.get(key);
    if (!edge) edges.set(key, (edge = { id: key, from, to, cases: [], on, undeclared }));
    if (caseKey !== undefined && !edge.cases.includes(caseKey)) edge.cases.push(caseKey);
  };
  for (const e of flow?.edges ?? []) {
    if (isSwitchEdge(e)) {
      for (const [caseKey, to] of Object.entries(e.switch.cases)) addEdge(e.from, to, false, caseKey, e.switch.on);
      if (e.switch.default !== undefined) addEdge(e.from, e.switch.default, false, 'default', e.switch.on);
    } else {
      addEdge(e.from, e.to, false);
    }
  }
  for (const final of finals) {
    for (const key of final.edges.keys()) {
      const [from, to] = key.split('\u2192') as [string, string];
      if (!edges.has(key) && seen.has(from) && seen.has(to)) addEdge(from, to, true);
    }
  }
  const edgeList = [...edges.values()];
  const layout = layoutGraph(
    nodes.map((n) => ({ id: n.id, width: NODE_WIDTH, height: NODE_HEIGHT })),
    edgeList.map((e) => ({ id: e.id, from: e.from, to: e.to, label: e.cases.join(' | ') || undefined })),
    { start: flow?.startAt ?? nodes[0]?.id },
  );
  return { nodes, edges: edgeList, positions: layout.positions, backEdges: layout.backEdges };
}

/** The structure of a model's graph, computed once per flow + set of nodes seen. */
export function graphStructure(model: BundleModel): GraphStructure {
  const final = model.timeline.final;
  const key = model.flow ?? model.timeline;
  const cached = structureCache.get(key);
  // A live run may reveal nodes or edges that flow.json does not declare; rebuild only then.
  if (cached && cached.nodes.length >= final.nodes.size && (model.flow || cached.edges.length >= final.edges.size)
    && [...final.nodes.keys()].every((id) => cached.positions.has(id))) {
    return cached;
  }
  const built = buildStructure(model.flow, final);
  structureCache.set(key, built);
  return built;
}

export interface NodeOverlay {
  status?: StepStatus;
  attempts: number;
  durationMs?: number;
  /** The run is at this node right now (its latest attempt is running). */
  active: boolean;
  /** The run ended (or waits) here. */
  stopped?: 'completed' | 'failed' | 'timed_out' | 'cancelled' | 'waiting';
  /** The event at the cursor concerns this node. */
  current: boolean;
  /** Tokens and cost of the node's attempts so far (the reducer's fold; replaced, never mutated). */
  usage?: UsageTotals;
}

export function nodeOverlay(state: ProjectionState, nodeId: string, currentNodeId: string | undefined): NodeOverlay {
  const summary = state.nodes.get(nodeId);
  const last = state.steps.last();
  let stopped: NodeOverlay['stopped'];
  if (state.status === 'waiting' && state.waitingAt === nodeId) stopped = 'waiting';
  else if (state.status !== 'running' && state.status !== 'waiting' && last?.nodeId === nodeId) stopped = state.status;
  return {
    status: summary?.status,
    attempts: summary?.attempts ?? 0,
    durationMs: summary && summary.totalDurationMs > 0 ? summary.totalDurationMs : undefined,
    active: summary?.status === 'running',
    stopped,
    current: currentNodeId === nodeId,
    ...(summary?.usage ? { usage: summary.usage } : {}),
  };
}

export function edgeCount(state: ProjectionState, edge: GraphEdge): number {
  return state.edges.get(edgeKey(edge.from, edge.to)) ?? 0;
}
