// The flow graph's shape: its nodes and edges from flow.json, plus what runs took beyond it, and the inputs of its
// layout. No dagre here (graph-view.ts lays out), so the loader can ask for the layout ahead (layoutFlowAhead)
// without loading the layout code on the main thread.
import { edgeEnds, edgeKey, isSwitchEdge, type FlowSnapshot, type NodeSpec, type NodeType, type ProjectionState } from '@flowtape/schema';
import type { LayoutEdgeInput, LayoutNodeInput, LayoutOptions } from '../layout/layout.ts';
import { layoutAhead } from '../layout/layout-ahead.ts';

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

/** The graph's nodes and edges, and what dagre is given to lay them out. */
export interface GraphShape {
  nodes: GraphNode[];
  edges: GraphEdge[];
  layout: { nodes: LayoutNodeInput[]; edges: LayoutEdgeInput[]; options: LayoutOptions };
}

/** What a run's final state tells about the graph: the nodes it ran and the edges it took. */
export type Seen = Pick<ProjectionState, 'steps' | 'nodes' | 'edges'>;

/** The graph of a flow plus what one run (or several, overlaid on one page) ran and took beyond it. */
export function graphShape(flow: FlowSnapshot | undefined, runs: Seen | readonly Seen[]): GraphShape {
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
      const { from, to } = edgeEnds(key);
      if (!edges.has(key) && seen.has(from) && seen.has(to)) addEdge(from, to, true);
    }
  }
  const edgeList = [...edges.values()];
  return {
    nodes,
    edges: edgeList,
    layout: {
      nodes: nodes.map((n) => ({ id: n.id, width: NODE_WIDTH, height: NODE_HEIGHT })),
      edges: edgeList.map((e) => ({ id: e.id, from: e.from, to: e.to, label: e.cases.join(' | ') || undefined })),
      options: { start: flow?.startAt ?? nodes[0]?.id },
    },
  };
}

/** Lays out, in a worker, the graph of `flow` as a run that stays within it will show it (called once flow.json is read). */
export function layoutFlowAhead(flow: FlowSnapshot): void {
  const { layout } = graphShape(flow, []);
  layoutAhead(layout.nodes, layout.edges, layout.options);
}

