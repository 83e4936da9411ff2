// What a node's attempt runs, by node type: its work, as a value for synchronous functions or a promise otherwise.
// Separate from the run's loop (flow-run.ts), which only schedules attempts and routes between them: this is where
// the node types differ, and adding one touches only this table.
import { runFunctionAction, runShellAction, type ActionHost } from './action-nodes.ts';
import type { AcpNodeRunner } from './acp-node.ts';
import { NodeContext, type Attempt, type RunScope } from './attempt.ts';
import type { CheckpointNodeDefinition, DecisionNodeDefinition, FlowNodeDefinition } from './definition.ts';
import { NodeError } from './errors.ts';

/** The run as the node types use it (FlowRun): no closure per node, the run itself is passed. */
export interface NodeWorkHost extends RunScope {
  readonly acp: AcpNodeRunner;
  readonly actionHost: ActionHost;
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

/** The node's work: a value for synchronous functions, a promise otherwise. */
export function startNodeWork(run: NodeWorkHost, node: FlowNodeDefinition, attempt: Attempt): unknown {
  switch (node.nodeType) {
    case 'compute':
      return node.run(new NodeContext(run, attempt));
    case 'action':
      return 'exec' in node ? runShellAction(run.actionHost, node, attempt) : runFunctionAction(run.actionHost, node, attempt);
    case 'decision':
      return decide(run, node, attempt);
    case 'checkpoint':
      return checkpoint(run, node, attempt);
    case 'acp':
      return run.acp.execute(node, attempt, new NodeContext(run, attempt));
    default:
      throw new NodeError('unknown_node_type', `node "${attempt.nodeId}": unknown nodeType ${JSON.stringify((node as { nodeType: unknown }).nodeType)}`);
  }
}

function checkpoint(run: RunScope, node: CheckpointNodeDefinition, attempt: Attempt): unknown {
  if (node.run) return node.run(new NodeContext(run, attempt));
  return { checkpoint: attempt.nodeId, summary: node.summary ?? attempt.nodeId };
}

function decide(run: RunScope, node: DecisionNodeDefinition, attempt: Attempt): unknown {
  const field = node.field ?? 'route';
  const check = (value: unknown): unknown => {
    const choice = typeof value === 'string' ? value : typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[field] : undefined;
    if (typeof choice !== 'string' || !node.choices.includes(choice)) {
      throw new NodeError(
        'invalid_choice',
        `node "${attempt.nodeId}": decision returned ${JSON.stringify(choice ?? value)}; expected one of ${node.choices.map((c) => JSON.stringify(c)).join(', ')}`,
      );
    }
    return typeof value === 'string' ? { [field]: value } : value;
  };
  const value = node.run(new NodeContext(run, attempt));
  return isThenable(value) ? Promise.resolve(value).then(check) : check(value);
}
