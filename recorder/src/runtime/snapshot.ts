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

function nodeSpec(id: string, node: FlowNodeDefinition): NodeSpec {
  const base = {
    id,
    ...(node.title !== undefined ? { title: node.title } : {}),
    ...(node.description !== undefined || node.statusDetail !== undefined ? { description: node.description ?? node.statusDetail } : {}),
    ...(node.timeoutMs ? { timeoutMs: node.timeoutMs } : {}),
    ...(node.heartbeatMs ? { heartbeatMs: node.heartbeatMs } : {}),
  };
  switch (node.nodeType) {
    case 'acp': {
      const isolated = node.session?.isolated === true;
      // An acpx-style decision's prompt is generated: show its question (and choices) instead of the generator.
      const asked = agentDecisions.get(node);
      const prompt = asked ? asked.question : node.prompt;
      const promptText = typeof prompt === 'string' ? prompt : sourceOf(prompt);
      const promptSource = asked && promptText !== undefined ? `${promptText}\n[choices: ${asked.choices.join(', ')}]` : promptText;
      return {
        ...base,
        nodeType: 'acp',
        sessionHandle: node.session?.handle ?? (isolated ? 'isolated' : 'main'),
        sessionMode: isolated ? 'isolated' : 'shared',
        ...(node.agentCommand !== undefined ? { agentCommand: splitCommand(node.agentCommand) } : {}),
        ...(node.permissionPolicy !== undefined ? { permissionPolicy: node.permissionPolicy } : {}),
        ...(promptSource !== undefined ? { promptSource } : {}),
      };
    }
    case 'compute': {
      const source = sourceOf(node.run);
      return { ...base, nodeType: 'compute', ...(source !== undefined ? { source } : {}) };
    }
    case 'action': {
      if ('run' in node) {
        const source = sourceOf(node.run);
        return { ...base, nodeType: 'action', actionType: 'function', ...(source !== undefined ? { source } : {}) };
      }
      if (typeof node.exec === 'function') {
        const source = sourceOf(node.exec);
        return { ...base, nodeType: 'action', actionType: 'shell', ...(source !== undefined ? { source } : {}) };
      }
      return { ...base, nodeType: 'action', actionType: 'shell', command: commandText(node.exec.command, node.exec.args) };
    }
    case 'checkpoint':
      return { ...base, nodeType: 'checkpoint', ...(node.summary !== undefined ? { message: node.summary } : {}) };
    case 'decision': {
      const source = sourceOf(node.run);
      return { ...base, nodeType: 'decision', choices: [...node.choices], ...(source !== undefined ? { source } : {}) };
    }
  }
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
    nodes: Object.entries(flow.nodes).map(([id, node]) => nodeSpec(id, node)),
    edges: flow.edges.map(edgeSpec),
    ...(flow.metadata !== undefined ? { metadata: flow.metadata } : {}),
  };
}
