// The parts the run graph (Graph.tsx) and the compare graph (CompareGraph.tsx) draw alike: a node card's frame
// with its connection points, its title, a status line, the edge and its path, and the canvas with its settings (a
// read-only view: nothing is dragged, connected or deleted).
import type { ReactNode } from 'react';
import { Handle, Position, ReactFlow, getSmoothStepPath, type Edge, type EdgeProps, type Node, type ReactFlowProps } from '@xyflow/react';
import type { GraphEdge } from '../model/graph-view.ts';
import { formatDuration } from './format.ts';
import { Shown } from './Shown.tsx';

/** A card with the four handles edges attach to: top/bottom for forward edges, right for back edges. */
export function CardFrame({ className, attrs, title, children }: {
  className: string;
  /** data-* attributes (test ids, status) and the like, put on the card's element. */
  attrs: Record<string, string | number | undefined>;
  title?: string;
  children: ReactNode;
}) {
  return (
    <div className={className} title={title} {...attrs}>
      <Handle type="target" position={Position.Top} id="in" isConnectable={false} />
      <Handle type="target" position={Position.Right} id="back-in" isConnectable={false} />
      {children}
      <Handle type="source" position={Position.Bottom} id="out" isConnectable={false} />
      <Handle type="source" position={Position.Right} id="back-out" isConnectable={false} />
    </div>
  );
}

export function CardTitle({ text, children }: { text: string; children?: ReactNode }) {
  return <div className="card-title"><Shown text={text} />{children}</div>;
}

/** Status dot and word, attempts (when more than one) and total duration. */
export function StatusLine({ status, label = status, attempts, durationMs }: { status: string; label?: string; attempts: number; durationMs?: number }) {
  return (
    <>
      <span className={`status-dot status-${status}`} />
      <span className="status-text">{label}</span>
      {attempts > 1 && <span className="attempts" title="attempts">×{attempts}</span>}
      {durationMs !== undefined && <span className="duration">{formatDuration(durationMs)}</span>}
    </>
  );
}

/** The drawn path of an edge (back edges loop out further) and where its label goes. */
export function edgePath(props: EdgeProps, back: boolean): [path: string, labelX: number, labelY: number] {
  const { sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition } = props;
  const [path, labelX, labelY] = getSmoothStepPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, borderRadius: 10, offset: back ? 40 : 20 });
  return [path, labelX, labelY];
}

/** React Flow as a read-only picture that follows the system's light or dark scheme. */
const READ_ONLY_FLOW = {
  nodesDraggable: false,
  nodesConnectable: false,
  nodesFocusable: false,
  edgesFocusable: false,
  elementsSelectable: false,
  disableKeyboardA11y: true,
  deleteKeyCode: null,
  selectionKeyCode: null,
  multiSelectionKeyCode: null,
  zoomActivationKeyCode: null,
  panActivationKeyCode: null,
  fitView: true,
  fitViewOptions: { padding: 0.15, maxZoom: 1.2 },
  minZoom: 0.1,
  colorMode: 'system',
} satisfies Partial<ReactFlowProps>;

/** What a graph gives its canvas: its cards and edges, how to draw them, and what a click on a card does. */
type CanvasFlowProps<N extends Node, E extends Edge> = Pick<ReactFlowProps<N, E>, 'nodes' | 'edges' | 'nodeTypes' | 'edgeTypes' | 'onNodeClick' | 'onlyRenderVisibleElements'>;

/** The graph's box with React Flow in it, read-only (READ_ONLY_FLOW), and what the graph draws beside it (a legend). */
export function FlowCanvas<N extends Node, E extends Edge>({ className, testId, children, ...flow }: CanvasFlowProps<N, E> & {
  className: string;
  testId: string;
  children?: ReactNode;
}) {
  return (
    <div className={className} data-testid={testId}>
      <ArrowMarkers edges={flow.edges} />
      <ReactFlow<N, E> {...flow} {...READ_ONLY_FLOW} />
      {children}
    </div>
  );
}

/**
 * Edges name their arrowheads by id (ARROW_PREFIX + the colour's hex digits), drawn here like React Flow's closed arrow.
 * Given marker objects instead, React Flow sorts their ids with localeCompare, and the first locale comparison of a
 * page builds ICU's collator: 10–50 ms on the main thread while the first partial model mounts.
 */
const ARROW_PREFIX = 'flowtape-arrow-';

function ArrowMarkers({ edges }: { edges?: readonly Edge[] }) {
  const ids = [...new Set((edges ?? []).map((e) => e.markerEnd).filter((m): m is string => typeof m === 'string' && m.startsWith(ARROW_PREFIX)))];
  if (ids.length === 0) return null;
  return (
    <svg className="flow-markers" aria-hidden="true" width="0" height="0">
      <defs>
        {ids.map((id) => {
          const color = `#${id.slice(ARROW_PREFIX.length)}`;
          return (
            <marker key={id} id={id} className="react-flow__arrowhead" markerWidth="16" markerHeight="16" viewBox="-10 -10 20 20"
              markerUnits="strokeWidth" orient="auto-start-reverse" refX="0" refY="0">
              <polyline className="arrowclosed" style={{ strokeWidth: 1, stroke: color, fill: color }} strokeLinecap="round" strokeLinejoin="round"
                points="-5,-4 0,0 -5,4 -5,-4" />
            </marker>
          );
        })}
      </defs>
    </svg>
  );
}

/** A React Flow edge along a graph edge: forward edges leave at the bottom, back edges loop round the right side. */
export function flowEdge<T extends Record<string, unknown>, K extends string>(edge: GraphEdge, type: K, back: boolean, data: T, color: `#${string}`, taken: boolean): Edge<T, K> {
  return {
    id: edge.id,
    source: edge.from,
    target: edge.to,
    type,
    sourceHandle: back ? 'back-out' : 'out',
    targetHandle: back ? 'back-in' : 'in',
    data,
    markerEnd: `${ARROW_PREFIX}${color.slice(1)}`,
    // A taken edge is drawn over the others.
    zIndex: taken ? 1 : 0,
  };
}
