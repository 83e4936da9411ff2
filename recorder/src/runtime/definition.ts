// The flow authoring API. Names and shapes follow acpx's `acpx/flows` (defineFlow, acp, compute, action, shell,
// checkpoint, decision, decisionEdge) so an acpx `*.flow.ts` file ports by changing its import; additions are
// marked "flowtape:" below. This file holds the types; the builders are in flow-builders.ts (they only validate and
// tag, keeping the author's object) and the validation in flow-validation.ts, both re-exported here.
import type { ErrorInfo, JsonValue, NodeType, Outcome } from '@flowtape/schema';
import type { McpServersInput } from './mcp-servers.ts';
import type { FlowShellExecution, FlowShellResult, ShellActionExecution, ShellActionResult } from './shell.ts';

export type MaybePromise<T> = T | Promise<T>;

/** How an ACP agent's permission requests are answered (same values as the ACP client's policy). */
export type PermissionPolicy = 'approve-all' | 'approve-reads' | 'deny';

/** An agent command: argv, or one string split like a shell would (quotes respected, no expansion). */
export type AgentCommand = string | readonly string[];

/** The latest result of a node, readable by later nodes (`context.results`) and by `$result.*` switches. */
export interface FlowNodeResult {
  attemptId: string;
  nodeId: string;
  nodeType: NodeType;
  outcome: Outcome;
  durationMs: number;
  output?: unknown;
  error?: ErrorInfo;
}

/** What a node's functions receive. One object per attempt; `outputs` and `results` are live, shared views. */
export interface FlowNodeContext<TInput = any> {
  /** The run input. */
  input: TInput;
  /** The output of the latest successful attempt of every earlier node, by node id. */
  outputs: Record<string, any>;
  /** The latest result (ok or not) of every earlier node, by node id. */
  results: Record<string, FlowNodeResult>;
  /** Whatever the caller passed as `services` to runFlow. */
  services: Record<string, unknown>;
  /** flowtape: this attempt. */
  nodeId: string;
  attemptId: string;
  /** 1 for the first run of the node, 2 for `node#2`, … */
  attempt: number;
  /** Aborts when this attempt times out or the run is cancelled / times out. */
  signal: AbortSignal;
  /** The run's working directory. */
  cwd: string;
  runId: string;
  /** flowtape: the input given to the latest `resumeFlow` (undefined before any resume). */
  resume: any;
  /** acpx: runs a command from inside a node function; stopped when the attempt is interrupted. */
  runShell(execution: FlowShellExecution): Promise<FlowShellResult>;
}

export interface FlowNodeCommon {
  /** The attempt is interrupted (outcome `timed_out`) after this many milliseconds (0 or absent: no limit). */
  timeoutMs?: number;
  /** A `node.heartbeat` event every this many milliseconds while the attempt runs (0 or absent: none). */
  heartbeatMs?: number;
  /** acpx: a status line; flowtape shows it as the node's description when `description` is absent. */
  statusDetail?: string;
  /** flowtape: display title and description for the flow graph. */
  title?: string;
  description?: string;
}

/** acpx allows a prompt of content blocks; flowtape sends their text. */
export type PromptBlock = { type: 'text'; text: string } | { type: string; [key: string]: unknown };
export type PromptInput = string | readonly PromptBlock[];

export interface AcpSessionOptions {
  /** Nodes with the same handle (and agent and cwd) share one ACP session. Default `main`. */
  handle?: string;
  /** A fresh agent process and session for every attempt. */
  isolated?: boolean;
}

export interface AcpNodeDefinition extends FlowNodeCommon {
  nodeType: 'acp';
  /** flowtape: a plain string is allowed besides acpx's function. */
  prompt: string | ((context: FlowNodeContext) => MaybePromise<PromptInput>);
  /** The node output is `parse(text)`, or the agent's text when absent (trimmed, like acpx). */
  parse?: (text: string, context: FlowNodeContext) => MaybePromise<unknown>;
  session?: AcpSessionOptions;
  /** acpx: an agent name, resolved through runFlow's `agents` option. */
  profile?: string;
  /** flowtape: the agent to run for this node (wins over profile, the flow's and the run's agent). */
  agentCommand?: AgentCommand;
  /** The agent's working directory (default: the run cwd); relative paths resolve against the run cwd. */
  cwd?: string | ((context: FlowNodeContext) => MaybePromise<string | undefined>);
  /** flowtape: overrides the run's permission policy for the session this node opens. */
  permissionPolicy?: PermissionPolicy;
  /** flowtape: the ACP auth method to log in with (one the agent advertises); wins over the flow's and the run's. */
  auth?: string;
  /**
   * flowtape: the MCP servers of the session this node opens (sent in `session/new`). Replaces the flow's and the
   * run's list — `[]` means none — rather than merging with it. Nodes share a session only with the same servers.
   */
  mcpServers?: McpServersInput;
}

export interface ComputeNodeDefinition extends FlowNodeCommon {
  nodeType: 'compute';
  run: (context: FlowNodeContext) => MaybePromise<unknown>;
}

export interface FunctionActionNodeDefinition extends FlowNodeCommon {
  nodeType: 'action';
  run: (context: FlowNodeContext) => MaybePromise<unknown>;
}

export interface ShellActionNodeDefinition extends FlowNodeCommon {
  nodeType: 'action';
  /** flowtape: a static execution object is allowed besides acpx's function. */
  exec: ShellActionExecution | ((context: FlowNodeContext) => MaybePromise<ShellActionExecution>);
  /** The node output is `parse(result)`, or `{ exitCode, signal, stdout, stderr }` when absent. */
  parse?: (result: ShellActionResult, context: FlowNodeContext) => MaybePromise<unknown>;
}

export type ActionNodeDefinition = FunctionActionNodeDefinition | ShellActionNodeDefinition;

export interface CheckpointNodeDefinition extends FlowNodeCommon {
  nodeType: 'checkpoint';
  /** Shown while the run waits (the `run.waiting` message). */
  summary?: string;
  /** Its result is the checkpoint's output; default `{ checkpoint: <nodeId>, summary }`. */
  run?: (context: FlowNodeContext) => MaybePromise<unknown>;
}

/** flowtape: a decision made by code; its output is `{ [field]: choice }` (field default `route`). */
export interface DecisionNodeDefinition<TChoice extends string = string> extends FlowNodeCommon {
  nodeType: 'decision';
  choices: readonly TChoice[];
  field?: string;
  /** Returns one of `choices`, or an object whose `field` is one of them (kept whole as the output). */
  run: (context: FlowNodeContext) => MaybePromise<TChoice | Record<string, unknown>>;
}

export type FlowNodeDefinition =
  | AcpNodeDefinition
  | ComputeNodeDefinition
  | ActionNodeDefinition
  | CheckpointNodeDefinition
  | DecisionNodeDefinition;

export interface DirectFlowEdge {
  from: string;
  to: string;
}
export interface SwitchFlowEdge {
  from: string;
  switch: {
    /** `$.a.b` (the node output; `$output.a.b` too), `$result.outcome` / `$result.<field>`, `$resume.<field>`. */
    on: string;
    /** Switch value as a string (`String(value)`) → target node. */
    cases: Record<string, string>;
    /** flowtape: taken when no case matches (acpx has no default: a missing case fails the run). */
    default?: string;
  };
}
export type FlowEdge = DirectFlowEdge | SwitchFlowEdge;

export interface FlowDefinition {
  name: string;
  description?: string;
  startAt: string;
  nodes: Record<string, FlowNodeDefinition>;
  edges: FlowEdge[];
  /** flowtape: the run ends `timed_out` after this many milliseconds (runFlow's `runTimeoutMs` overrides it). */
  runTimeoutMs?: number;
  /** flowtape: the agent for ACP nodes that name none (wins over runFlow's default `agentCommand`). */
  agentCommand?: AgentCommand;
  /** flowtape: default permission policy of this flow's ACP sessions. */
  permissionPolicy?: PermissionPolicy;
  /** flowtape: the ACP auth method of this flow's sessions (wins over runFlow's `auth`, the CLI's --auth). */
  auth?: string;
  /** flowtape: the MCP servers of this flow's ACP sessions (replaces runFlow's `mcpServers`, the CLI's --mcp-config). */
  mcpServers?: McpServersInput;
  /** flowtape: free-form labels, copied to flow.json. */
  metadata?: Record<string, JsonValue>;
  /** acpx: accepted and ignored (flowtape names runs by id). */
  run?: { title?: unknown };
  /** acpx: accepted and ignored (flowtape answers permissions by policy). */
  permissions?: unknown;
}

export * from './flow-builders.ts';
export { nodeProblem, validateFlow } from './flow-validation.ts';
