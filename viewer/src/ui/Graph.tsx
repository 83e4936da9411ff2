// The flow graph with the run overlaid at the cursor. Node and edge types live at module level, nodes are
// memoised, and per-node data objects are reused while their values are unchanged, so a cursor step only
// re-renders the cards whose status changed.
import { memo, useCallback, useMemo, useRef } from 'react';
import { BaseEdge, EdgeLabelRenderer, type Edge, type EdgeProps, type Node, type NodeProps } from '@xyflow/react';
import { edgeCount, graphStructure, nodeOverlay, type GraphEdge, type GraphNode, type NodeOverlay } from '../model/graph-view.ts';
import { useStore, useView } from './store-context.tsx';
import { useCursorState, useFocusNode } from './hooks.ts';
import { Shown } from './Shown.tsx';
import { CardFrame, CardTitle, FlowCanvas, StatusLine, edgePath, flowEdge } from './NodeCardParts.tsx';
import { revealBidi } from './bidi.ts';
import { usageBrief, usageText } from './usage-text.ts';

interface CardData extends Record<string, unknown> {
  node: GraphNode;
  overlay: NodeOverlay;
  selected: boolean;
}

type CardNode = Node<CardData, 'card'>;

interface FlowEdgeData extends Record<string, unknown> {
  edge: GraphEdge;
  count: number;
  back: boolean;
}

type FlowEdge = Edge<FlowEdgeData, 'flow'>;

const TYPE_LABEL: Record<string, string> = {
  acp: 'ACP',
  compute: 'compute',
  action: 'action',
  checkpoint: 'checkpoint',
  decision: 'decision',
  unknown: 'node',
};

const STOP_LABEL: Record<string, string> = {
  completed: 'run completed here',
  failed: 'run failed here',
  timed_out: 'run timed out here',
  cancelled: 'run cancelled here',
  waiting: 'run waits here',
};

const NodeCard = memo(function NodeCard({ data }: NodeProps<CardNode>) {
  const { node, overlay, selected } = data;
  const status = overlay.status ?? 'pending';
  const actionKind = node.spec?.nodeType === 'action' ? node.spec.actionType : undefined;
  const brief = usageBrief(overlay.usage);
  return (
    <CardFrame
      className={`card type-${node.nodeType} status-${status}${selected ? ' selected' : ''}${overlay.current ? ' current' : ''}${overlay.stopped ? ' stopped' : ''}`}
      attrs={{ 'data-testid': `node-${node.id}`, 'data-id': node.id, 'data-status': status, 'data-attempts': overlay.attempts, 'data-stopped': overlay.stopped ?? '' }}
      title={revealBidi(node.spec?.description ?? node.title ?? node.id)}
    >
      <div className="card-head">
        <span className={`type-badge type-${node.nodeType}`}><Shown text={`${TYPE_LABEL[node.nodeType] ?? node.nodeType}${actionKind ? ` · ${actionKind}` : ''}`} /></span>
        {node.isStart && <span className="start-badge">start</span>}
        {node.undeclared && <span className="warn-badge" title="not in flow.json">undeclared</span>}
        {brief && <span className="card-usage" data-testid="card-usage" title={revealBidi(usageText(overlay.usage) ?? brief)}><Shown text={brief} /></span>}
      </div>
      <CardTitle text={node.title ?? node.id} />
      <div className="card-foot"><StatusLine status={status} label={overlay.notRun ? 'not run' : status} attempts={overlay.attempts} durationMs={overlay.durationMs} /></div>
      {overlay.stopped && <div className={`stop-marker stop-${overlay.stopped}`} data-testid="stop-marker">{STOP_LABEL[overlay.stopped]}</div>}
    </CardFrame>
  );
});

const FlowEdgeView = memo(function FlowEdgeView(props: EdgeProps<FlowEdge>) {
  const { data, markerEnd } = props;
  const back = data?.back ?? false;
  const [path, labelX, labelY] = edgePath(props, back);
  const count = data?.count ?? 0;
  const label = data?.edge.cases.join(' | ');
  const cls = `flow-edge${count > 0 ? ' taken' : ''}${back ? ' back' : ''}${data?.edge.undeclared ? ' undeclared' : ''}`;
  return (
    <>
      <BaseEdge path={path} markerEnd={markerEnd} className={cls} />
      {(label || count > 1) && (
        <EdgeLabelRenderer>
          <div
            className={`edge-label${count > 0 ? ' taken' : ''}`}
            data-testid={`edge-label-${data?.edge.from}-${data?.edge.to}`}
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
            title={data?.edge.on ? revealBidi(`switch on ${data.edge.on}`) : undefined}
          >
            <Shown text={label} />
            {count > 1 && <span className="edge-count">×{count}</span>}
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  );
});

const nodeTypes = { card: NodeCard };
const edgeTypes = { flow: FlowEdgeView };

function shallowSameOverlay(a: NodeOverlay, b: NodeOverlay): boolean {
  return a.status === b.status && a.attempts === b.attempts && a.durationMs === b.durationMs
    && a.active === b.active && a.stopped === b.stopped && a.current === b.current && a.notRun === b.notRun && a.usage === b.usage;
}

/**
 * The list shown before when every item in it is the same object as in `next`: a partial model or a cursor step that
 * changes no card then hands React Flow the same array, and it does not reconcile its nodes or edges again.
 */
function sameOr<T>(shown: { current: T[] }, next: T[]): T[] {
  const prev = shown.current;
  if (prev.length !== next.length || next.some((item, i) => item !== prev[i])) shown.current = next;
  return shown.current;
}

export function Graph() {
  const model = useView((s) => s.model)!;
  const state = useCursorState();
  const focus = useFocusNode();
  const store = useStore();
  const structure = useMemo(() => graphStructure(model), [model]);
  const cache = useRef(new Map<string, CardNode>());
  const edgeCache = useRef(new Map<string, FlowEdge>());
  const shownNodes = useRef<CardNode[]>([]);
  const shownEdges = useRef<FlowEdge[]>([]);
  const currentNodeId = useView((s) => (s.cursor > 0 ? s.model?.timeline.events[s.cursor - 1]?.nodeId : undefined));

  const nodes = useMemo(() => sameOr(shownNodes, structure.nodes.map((node): CardNode => {
    const overlay = nodeOverlay(state, node.id, currentNodeId);
    const selected = focus.nodeId === node.id;
    const prev = cache.current.get(node.id);
    const position = structure.positions.get(node.id) ?? { x: 0, y: 0 };
    if (prev && prev.data.node === node && prev.data.selected === selected && prev.position === position && shallowSameOverlay(prev.data.overlay, overlay)) {
      return prev;
    }
    const next: CardNode = { id: node.id, type: 'card', position, data: { node, overlay, selected }, draggable: false, connectable: false };
    cache.current.set(node.id, next);
    return next;
  })), [structure, state, focus.nodeId, currentNodeId]);

  const edges = useMemo(() => sameOr(shownEdges, structure.edges.map((edge): FlowEdge => {
    const count = edgeCount(state, edge);
    const back = structure.backEdges.has(edge.id);
    const prev = edgeCache.current.get(edge.id);
    if (prev && prev.data?.edge === edge && prev.data.count === count && prev.data.back === back) return prev;
    const next: FlowEdge = flowEdge(edge, 'flow', back, { edge, count, back }, count > 0 ? '#2f6fdf' : '#b6b9c0', count > 0);
    edgeCache.current.set(edge.id, next);
    return next;
  })), [structure, state]);

  const onNodeClick = useCallback((_: unknown, node: CardNode) => {
    store.setState((s) => ({ node: s.node === node.id ? undefined : node.id, attempt: undefined, session: undefined }));
  }, [store]);

  return (
    <FlowCanvas<CardNode, FlowEdge> className="graph" testId="graph" nodes={nodes} edges={edges} nodeTypes={nodeTypes} edgeTypes={edgeTypes}
      onNodeClick={onNodeClick} onlyRenderVisibleElements />
  );
}
