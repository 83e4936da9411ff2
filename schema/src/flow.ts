import { z } from 'zod';
import { SCHEMA_IDS } from './ids.ts';
import { JsonValue, NodeId } from './common.ts';

const nodeBase = {
  id: NodeId,
  title: z.string().optional(),
  description: z.string().optional(),
  timeoutMs: z.number().int().positive().optional(),
  heartbeatMs: z.number().int().positive().optional(),
};

export const AcpNodeSpec = z
  .object({
    ...nodeBase,
    nodeType: z.literal('acp'),
    sessionHandle: z.string().optional().describe('Nodes with the same handle share one ACP session.'),
    sessionMode: z.enum(['shared', 'isolated']).describe('`isolated`: a new session for every attempt.'),
    agentCommand: z.array(z.string()).optional().describe('argv of the agent, when the node names its own.'),
    permissionPolicy: z.enum(['approve-all', 'approve-reads', 'deny']).optional(),
    promptSource: z.string().optional().describe('The prompt template or the source of the prompt function.'),
  })
  .describe('A turn of an ACP agent.');

export const ComputeNodeSpec = z.object({ ...nodeBase, nodeType: z.literal('compute'), source: z.string().optional() });

export const ActionNodeSpec = z.object({
  ...nodeBase,
  nodeType: z.literal('action'),
  actionType: z.enum(['shell', 'function']),
  command: z.string().optional().describe('Shell command text, for static shell actions.'),
  source: z.string().optional(),
});

export const CheckpointNodeSpec = z
  .object({ ...nodeBase, nodeType: z.literal('checkpoint'), message: z.string().optional() })
  .describe('Leaves the run `waiting` until `flowtape resume`.');

export const DecisionNodeSpec = z.object({
  ...nodeBase,
  nodeType: z.literal('decision'),
  choices: z.array(z.string()).optional(),
  source: z.string().optional(),
});

export const NodeSpec = z.discriminatedUnion('nodeType', [
  AcpNodeSpec,
  ComputeNodeSpec,
  ActionNodeSpec,
  CheckpointNodeSpec,
  DecisionNodeSpec,
]);
export type NodeSpec = z.infer<typeof NodeSpec>;

export const DirectEdge = z.object({ from: NodeId, to: NodeId });
export const SwitchEdge = z.object({
  from: NodeId,
  switch: z.object({
    on: z.string().describe('`$.field` of the node output, or `$result.outcome` / `$result.<field>`.'),
    cases: z.record(z.string(), NodeId).describe('Switch value (as a string) → target node.'),
    default: NodeId.optional(),
  }),
});
export const EdgeSpec = z.union([DirectEdge, SwitchEdge]);
export type EdgeSpec = z.infer<typeof EdgeSpec>;
export type SwitchEdge = z.infer<typeof SwitchEdge>;

export const FlowSnapshot = z
  .object({
    schema: z.literal(SCHEMA_IDS.flow),
    name: z.string().min(1),
    description: z.string().optional(),
    startAt: NodeId,
    runTimeoutMs: z.number().int().positive().optional(),
    nodes: z.array(NodeSpec),
    edges: z.array(EdgeSpec),
    metadata: z.record(z.string(), JsonValue).optional().describe('Free-form labels from the flow author.'),
    flowFile: z
      .string()
      .optional()
      .describe(
        'The flow file the run was started from (`flowtape resume` loads it again): relative to the run cwd when inside it.',
      ),
  })
  .meta({ title: 'flow.json', description: 'The flow definition as it was when the run started.' });
export type FlowSnapshot = z.infer<typeof FlowSnapshot>;

// Without zod (the viewer's graph and the diff model use it): flow-edges.ts.
export { isSwitchEdge } from './flow-edges.ts';
