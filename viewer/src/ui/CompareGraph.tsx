// The flow graph of a compare page: one layout (a's flow plus what only b's declares), both runs' paths overlaid
// (edges taken by a, by b, or by both), each node with its status and attempts in a and in b, and the nodes whose
// behaviour differs marked. A click selects the node's first attempt.
import { memo, useCallback, useMemo } from 'react';
import { BaseEdge, type Edge, type EdgeProps, type Node, type NodeProps } from '@xyflow/react';
import { buildStructure, edgeCount, type GraphEdge, type GraphNode } from '../model/graph-view.ts';
import { onlyIn, unionFlow, type CompareModel } from '../model/compare.ts';
import { CardFrame, CardTitle, FlowCanvas, StatusLine, edgePath, flowEdge } from './NodeCardParts.tsx';

interface SideState {
  status?: string;
  attempts: number;
  durationMs?: number;
}

interface CmpCardData extends Record<string, unknown> {
  node: GraphNode;
  a: SideState;
  b: SideState;
  differs: boolean;
  /** Drawn from one run only: neither the other run's flow nor its trace has the node. */
  only?: 'a' | 'b';
  selected: boolean;
}

type CmpCard = Node<CmpCardData, 'cmpcard'>;

interface CmpEdgeData extends Record<string, unknown> {
  edge: GraphEdge;
  a: number;
  b: number;
  back: boolean;
}

type CmpEdge = Edge<CmpEdgeData, 'cmpedge'>;

function SideLine({ name, side }: { name: string; side: SideState }) {
  const status = side.status ?? 'not run';
  return (
    <div className={`cmp-side side-${name}`} data-testid={`node-side-${name}`} data-status={status} data-attempts={side.attempts}>
      <b>{name}</b> <StatusLine status={side.status ?? 'pending'} label={status} attempts={side.attempts} durationMs={side.durationMs} />
    </div>
  );
}

const CompareCard = memo(function CompareCard({ data }: NodeProps<CmpCard>) {
  const { node, a, b, differs, only, selected } = data;
  return (
    <CardFrame className={`card cmp-card type-${node.nodeType}${differs ? ' differs' : ''}${only ? ` only-${only}` : ''}${selected ? ' selected' : ''}`}
      attrs={{ 'data-testid': `cmp-node-${node.id}`, 'data-id': node.id, 'data-differs': differs ? 'true' : 'false', 'data-only': only ?? '' }}
      title={only ? `only in ${only}: the other run's flow and trace do not have this node` : undefined}>
      <CardTitle text={node.title ?? node.id}>
        {only && <span className={`only-badge only-${only}`} data-testid="only-badge">only {only}</span>}
        {differs && <span className="differs-badge" title="behaviour differs between a and b">≠</span>}
      </CardTitle>
      <SideLine name="a" side={a} />
      <SideLine name="b" side={b} />
    </CardFrame>
  );
});

const CompareEdgeView = memo(function CompareEdgeView(props: EdgeProps<CmpEdge>) {
  const { data, markerEnd } = props;
  const [path] = edgePath(props, data?.back ?? false);
  const a = data?.a ?? 0;
  const b = data?.b ?? 0;
  const taken = a > 0 && b > 0 ? 'both' : a > 0 ? 'a' : b > 0 ? 'b' : 'none';
  return <BaseEdge path={path} markerEnd={markerEnd} className={`flow-edge cmp-edge taken-${taken}`} />;
});

const nodeTypes = { cmpcard: CompareCard };
const edgeTypes = { cmpedge: CompareEdgeView };

const EDGE_COLOR: Record<string, `#${string}`> = { both: '#7a4fd0', a: '#2f6fdf', b: '#d9822b', none: '#b6b9c0' };

export function CompareGraph({ model, selected, onSelect }: { model: CompareModel; selected?: string; onSelect: (attemptId: string) => void }) {
  const structure = useMemo(
    () => buildStructure(unionFlow(model.a.flow, model.b.flow), [model.a.timeline.final, model.b.timeline.final]),
    [model],
  );
  const only = useMemo(() => onlyIn(model), [model]);
  const selectedNode = selected?.replace(/#\d+$/, '');
  const nodes = useMemo(() => structure.nodes.map((node): CmpCard => {
    const side = (which: 'a' | 'b'): SideState => {
      const summary = model[which].timeline.final.nodes.get(node.id);
      return { status: summary?.status, attempts: summary?.attempts ?? 0, durationMs: summary && summary.totalDurationMs > 0 ? summary.totalDurationMs : undefined };
    };
    return {
      id: node.id,
      type: 'cmpcard',
      position: structure.positions.get(node.id) ?? { x: 0, y: 0 },
      data: { node, a: side('a'), b: side('b'), differs: model.differing.has(node.id), only: only.get(node.id), selected: selectedNode === node.id },
      draggable: false,
      connectable: false,
    };
  }), [structure, model, only, selectedNode]);
  const edges = useMemo(() => structure.edges.map((edge): CmpEdge => {
    const a = edgeCount(model.a.timeline.final, edge);
    const b = edgeCount(model.b.timeline.final, edge);
    const back = structure.backEdges.has(edge.id);
    const taken = a > 0 && b > 0 ? 'both' : a > 0 ? 'a' : b > 0 ? 'b' : 'none';
    return flowEdge(edge, 'cmpedge', back, { edge, a, b, back }, EDGE_COLOR[taken]!, taken !== 'none');
  }), [structure, model]);
  const onNodeClick = useCallback((_: unknown, node: CmpCard) => {
    const first = model.attempts.find((id) => id.replace(/#\d+$/, '') === node.id);
    if (first) onSelect(first);
  }, [model, onSelect]);
  return (
    <FlowCanvas<CmpCard, CmpEdge> className="graph cmp-graph" testId="compare-graph" nodes={nodes} edges={edges} nodeTypes={nodeTypes} edgeTypes={edgeTypes}
      onNodeClick={onNodeClick}>
      <div className="cmp-legend muted">
        path: <span className="legend-both">both</span> <span className="legend-a">only a</span> <span className="legend-b">only b</span> · <span className="differs-badge">≠</span> behaviour differs · <span className="only-badge only-b">only b</span> node of one run
      </div>
    </FlowCanvas>
  );
}
