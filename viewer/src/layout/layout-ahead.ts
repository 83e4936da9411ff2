// Graph layouts computed ahead, in a worker (layout.worker.ts), keyed by what was laid out. The graph's shape is
// known from flow.json alone, long before the trace is read, so the loader asks for its layout then; when the view
// first draws the graph with the same nodes and edges, it takes that layout instead of running dagre itself.
// Without workers, or when the shape changed (nodes the trace revealed), the view lays out as before.
import type { LayoutEdgeInput, LayoutNodeInput, LayoutOptions, LayoutResult } from './layout.ts';
import type { LayoutRequest, LayoutResponse } from './layout.worker.ts';

const done = new Map<string, LayoutResult>();
const asked = new Set<string>();
let worker: Worker | undefined;

/** What identifies a layout: every input dagre sees. */
export function layoutKey(nodes: readonly LayoutNodeInput[], edges: readonly LayoutEdgeInput[], options: LayoutOptions): string {
  return JSON.stringify([nodes.map((n) => [n.id, n.width, n.height]), edges.map((e) => [e.id, e.from, e.to, e.label ?? null]), options.start ?? null, options.direction ?? null]);
}

function getWorker(): Worker | undefined {
  if (worker || typeof Worker === 'undefined') return worker;
  try {
    worker = new Worker(new URL('./layout.worker.ts', import.meta.url), { type: 'module', name: 'flowtape-layout' });
  } catch {
    return undefined;
  }
  worker.onmessage = (e: MessageEvent<LayoutResponse>) => {
    const r = e.data;
    done.set(r.key, { positions: new Map(r.positions.map(([id, x, y]) => [id, { x, y }])), backEdges: new Set(r.backEdges), width: r.width, height: r.height });
  };
  return worker;
}

/** Starts laying the graph out in the worker; the result is kept for laidOutAhead. */
export function layoutAhead(nodes: LayoutNodeInput[], edges: LayoutEdgeInput[], options: LayoutOptions): void {
  const key = layoutKey(nodes, edges, options);
  if (asked.has(key)) return;
  const w = getWorker();
  if (!w) return;
  asked.add(key);
  const request: LayoutRequest = { key, nodes, edges, options };
  w.postMessage(request);
}

/** The layout computed ahead for exactly these inputs, once the worker has answered. */
export function laidOutAhead(key: string): LayoutResult | undefined {
  return done.get(key);
}
