// flow.json: the serialisable picture of a flow definition (functions as their source text). Deterministic: the
// same definition always gives the same snapshot.
import { SCHEMA_IDS, type EdgeSpec, type FlowSnapshot, type NodeSpec } from '@flowtape/schema';
import { agentDecisions, type FlowDefinition, type FlowNodeDefinition } from './definition.ts';
import { commandText, splitCommand } from './command.ts';

/** Function sources longer than this are cut (with a marker) so flow.json stays small. */
export const MAX_SOURCE_CHARS = 4000;

export function sourceOf(fn: unknown): string | undefined {
  if (typeof fn !== 'function') return undefined;
  const text = Function.prototype.toString.call(fn) as string;
  return text.length > MAX_SOURCE_CHARS ? `${text.slice(0, MAX_SOURCE_CHARS)}\n/* … ${text.length - MAX_SOURCE_CHARS} more characters */` : text;
}

function optional(spec: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) spec[key] = value;
}

/**
 * A node's spec, its keys in a fixed order (id, the common optional fields, nodeType, then the type's own). Built by
 * assignment, not by spreading conditional objects: each spread is a runtime call, and the seven of them made this
 * the costliest part of starting a run (about 5 µs per node, paid for every node of the flow whether it runs or not).
 */
function nodeSpec(id: string, node: FlowNodeDefinition): NodeSpec {
  const spec: Record<string, unknown> = { id };
  if (node.title !== undefined) spec.title = node.title;
  if (node.description !== undefined || node.statusDetail !== undefined) spec.description = node.description ?? node.statusDetail;
  if (node.timeoutMs) spec.timeoutMs = node.timeoutMs;
  if (node.heartbeatMs) spec.heartbeatMs = node.heartbeatMs;
  switch (node.nodeType) {
    case 'acp': {
      const isolated = node.session?.isolated === true;
      // An acpx-style decision's prompt is generated: show its question (and choices) instead of the generator.
      const asked = agentDecisions.get(node);
      const prompt = asked ? asked.question : node.prompt;
      const promptText = typeof prompt === 'string' ? prompt : sourceOf(prompt);
      const promptSource = asked && promptText !== undefined ? `${promptText}\n[choices: ${asked.choices.join(', ')}]` : promptText;
      spec.nodeType = 'acp';
      spec.sessionHandle = node.session?.handle ?? (isolated ? 'isolated' : 'main');
      spec.sessionMode = isolated ? 'isolated' : 'shared';
      if (node.agentCommand !== undefined) spec.agentCommand = splitCommand(node.agentCommand);
      optional(spec, 'permissionPolicy', node.permissionPolicy);
      optional(spec, 'promptSource', promptSource);
      break;
    }
    case 'compute':
      spec.nodeType = 'compute';
      optional(spec, 'source', sourceOf(node.run));
      break;
    case 'action':
      spec.nodeType = 'action';
      if ('run' in node) {
        spec.actionType = 'function';
        optional(spec, 'source', sourceOf(node.run));
      } else if (typeof node.exec === 'function') {
        spec.actionType = 'shell';
        optional(spec, 'source', sourceOf(node.exec));
      } else {
        spec.actionType = 'shell';
        spec.command = commandText(node.exec.command, node.exec.args);
      }
      break;
    case 'checkpoint':
      spec.nodeType = 'checkpoint';
      optional(spec, 'message', node.summary);
      break;
    case 'decision':
      spec.nodeType = 'decision';
      spec.choices = [...node.choices];
      optional(spec, 'source', sourceOf(node.run));
      break;
  }
  return spec as NodeSpec;
}

function edgeSpec(edge: FlowDefinition['edges'][number]): EdgeSpec {
  if ('to' in edge) return { from: edge.from, to: edge.to };
  const { on, cases, default: fallback } = edge.switch;
  return { from: edge.from, switch: { on, cases: { ...cases }, ...(fallback !== undefined ? { default: fallback } : {}) } };
}

/** The FlowSnapshot (flow.json) of a flow definition. */
export function flowSnapshot(flow: FlowDefinition): FlowSnapshot {
  return {
    schema: SCHEMA_IDS.flow,
    name: flow.name,
    ...(flow.description !== undefined ? { description: flow.description } : {}),
    startAt: flow.startAt,
    ...(flow.runTimeoutMs !== undefined ? { runTimeoutMs: flow.runTimeoutMs } : {}),
    // Keys rather than entries: no [id, node] pair per node, at every run's start.
    nodes: Object.keys(flow.nodes).map((id) => nodeSpec(id, flow.nodes[id]!)),
    edges: flow.edges.map(edgeSpec),
    ...(flow.metadata !== undefined ? { metadata: flow.metadata } : {}),
  };
}
