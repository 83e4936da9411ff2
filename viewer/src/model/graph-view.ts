// The flow graph as the UI draws it: static structure (from flow.json, or from the trace when the flow is
// missing) laid out once per model, and the run overlay at a cursor (pure functions of the reducer state).
import { edgeKey, type FlowSnapshot, type ProjectionState, type StepStatus, type UsageTotals } from '@flowtape/schema';
import { layoutGraph } from '../layout/layout.ts';
import { laidOutAhead, layoutKey } from '../layout/layout-ahead.ts';
import type { BundleModel } from './bundle-model.ts';
import { graphShape, type GraphEdge, type GraphNode, type Seen } from './graph-shape.ts';

export { NODE_HEIGHT, NODE_WIDTH, type GraphEdge, type GraphNode } from './graph-shape.ts';

export interface GraphStructure {
  nodes: GraphNode[];
  edges: GraphEdge[];
  positions: Map<string, { x: number; y: number }>;
  backEdges: Set<string>;
}

const structureCache = new WeakMap<object, GraphStructure>();

/** The graph of a flow plus what one run (or several, overlaid on one page) ran and took beyond it, laid out. */
export function buildStructure(flow: FlowSnapshot | undefined, runs: Seen | readonly Seen[]): GraphStructure {
  const { nodes, edges, layout } = graphShape(flow, runs);
  // Laid out in the worker while the trace loaded, when the shape is still the one flow.json gave.
  const ahead = laidOutAhead(layoutKey(layout.nodes, layout.edges, layout.options));
  if (ahead) performance.mark('flowtape:layout-ahead'); // for the tests: the worker's layout was used
  const laid = ahead ?? layoutGraph(layout.nodes, layout.edges, layout.options);
  return { nodes, edges, positions: laid.positions, backEdges: laid.backEdges };
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
  /** The run is over at the cursor and never started this node: "not run", not "pending" (nothing is to come). */
  notRun: boolean;
  /** Tokens and cost of the node's attempts so far (the reducer's fold; replaced, never mutated). */
  usage?: UsageTotals;
}

/** Run statuses after which no node starts (a waiting run resumes: its nodes not run yet are still to come). */
const ENDED_AT_CURSOR: ReadonlySet<string> = new Set(['completed', 'failed', 'timed_out', 'cancelled']);

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
    notRun: summary === undefined && ENDED_AT_CURSOR.has(state.status),
    ...(summary?.usage ? { usage: summary.usage } : {}),
  };
}

export function edgeCount(state: ProjectionState, edge: GraphEdge): number {
  return state.edges.get(edgeKey(edge.from, edge.to)) ?? 0;
}
