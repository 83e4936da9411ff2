// Lays a flow graph out off the main thread (layout-ahead.ts posts the graph as soon as flow.json is read), so
// dagre's work overlaps the trace's loading instead of delaying the first view of the graph.
import { layoutGraph, type LayoutEdgeInput, type LayoutNodeInput, type LayoutOptions } from './layout.ts';

export interface LayoutRequest {
  key: string;
  nodes: LayoutNodeInput[];
  edges: LayoutEdgeInput[];
  options: LayoutOptions;
}

export interface LayoutResponse {
  key: string;
  positions: Array<[string, number, number]>;
  backEdges: string[];
  width: number;
  height: number;
}

export function answer({ key, nodes, edges, options }: LayoutRequest): LayoutResponse {
  const laid = layoutGraph(nodes, edges, options);
  return {
    key,
    positions: [...laid.positions].map(([id, p]) => [id, p.x, p.y]),
    backEdges: [...laid.backEdges],
    width: laid.width,
    height: laid.height,
  };
}

const scope = globalThis as unknown as { onmessage: ((e: MessageEvent<LayoutRequest>) => void) | null; postMessage(m: LayoutResponse): void; WorkerGlobalScope?: unknown };
if (scope.WorkerGlobalScope !== undefined) scope.onmessage = (e) => scope.postMessage(answer(e.data));
