// Auto-layout of a flow graph: a plain function (no React), dagre underneath.
// Loops are found first (DFS back edges from the start node) and left out of the rank assignment, so the
// forward path reads top to bottom and loops are drawn as edges going back up.
import dagre from '@dagrejs/dagre';

export interface LayoutNodeInput {
  id: string;
  width: number;
  height: number;
}

export interface LayoutEdgeInput {
  id: string;
  from: string;
  to: string;
  /** Text drawn on the edge (switch case); reserves room between ranks. */
  label?: string;
}

export interface LayoutResult {
  /** Top-left corner of each node (xyflow's convention). */
  positions: Map<string, { x: number; y: number }>;
  /** Ids of edges that close a loop (target is an ancestor on the DFS path from the start). */
  backEdges: Set<string>;
  width: number;
  height: number;
}

export interface LayoutOptions {
  /** The node the run starts at; defaults to the first node. */
  start?: string;
  direction?: 'TB' | 'LR';
}

/** Edges that close a cycle, by iterative DFS from `start` and then from any node not yet reached. */
export function findBackEdges(nodeIds: readonly string[], edges: readonly LayoutEdgeInput[], start?: string): Set<string> {
  const out = new Map<string, LayoutEdgeInput[]>();
  for (const e of edges) {
    const list = out.get(e.from);
    if (list) list.push(e);
    else out.set(e.from, [e]);
  }
  const state = new Map<string, 1 | 2>(); // 1 = on stack, 2 = done
  const back = new Set<string>();
  const roots = start !== undefined && nodeIds.includes(start) ? [start, ...nodeIds] : [...nodeIds];
  for (const root of roots) {
    if (state.has(root)) continue;
    const stack: Array<{ id: string; i: number }> = [{ id: root, i: 0 }];
    state.set(root, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const next = out.get(top.id)?.[top.i++];
      if (!next) {
        state.set(top.id, 2);
        stack.pop();
        continue;
      }
      const s = state.get(next.to);
      if (s === 1) back.add(next.id);
      else if (s === undefined) {
        state.set(next.to, 1);
        stack.push({ id: next.to, i: 0 });
      }
    }
  }
  return back;
}

export function layoutGraph(
  nodes: readonly LayoutNodeInput[],
  edges: readonly LayoutEdgeInput[],
  options: LayoutOptions = {},
): LayoutResult {
  const ids = nodes.map((n) => n.id);
  const known = new Set(ids);
  const valid = edges.filter((e) => known.has(e.from) && known.has(e.to));
  const backEdges = findBackEdges(ids, valid, options.start);

  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: options.direction ?? 'TB', nodesep: 48, ranksep: 64, edgesep: 16, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: n.width, height: n.height });
  for (const e of valid) {
    if (backEdges.has(e.id) || e.from === e.to) continue;
    g.setEdge(e.from, e.to, e.label ? { width: Math.min(160, 8 + e.label.length * 7), height: 20, labelpos: 'c' } : {}, e.id);
  }
  dagre.layout(g);

  const positions = new Map<string, { x: number; y: number }>();
  let width = 0;
  let height = 0;
  for (const n of nodes) {
    const laid = g.node(n.id) as { x?: number; y?: number } | undefined;
    const x = (laid?.x ?? 0) - n.width / 2;
    const y = (laid?.y ?? 0) - n.height / 2;
    positions.set(n.id, { x, y });
    width = Math.max(width, x + n.width);
    height = Math.max(height, y + n.height);
  }
  return { positions, backEdges, width, height };
}
