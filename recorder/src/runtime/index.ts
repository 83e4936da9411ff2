// Public surface of the flow runtime (re-exported by @flowtape/recorder).
export {
  acp,
  action,
  checkpoint,
  compute,
  decision,
  decisionEdge,
  defineFlow,
  extractJsonObject,
  isDefinedFlow,
  shell,
  validateFlow,
  type AcpDecisionDefinition,
  type AcpNodeDefinition,
  type AcpSessionOptions,
  type ActionNodeDefinition,
  type AgentCommand,
  type CheckpointNodeDefinition,
  type ComputeNodeDefinition,
  type DecisionNodeDefinition,
  type DirectFlowEdge,
  type FlowDefinition,
  type FlowEdge,
  type FlowNodeCommon,
  type FlowNodeContext,
  type FlowNodeDefinition,
  type FlowNodeResult,
  type FunctionActionNodeDefinition,
  type MaybePromise,
  type PermissionPolicy,
  type PromptBlock,
  type PromptInput,
  type ShellActionNodeDefinition,
  type SwitchFlowEdge,
} from './definition.ts';
export type { RecordedSession } from './acp-node.ts';
export {
  parseMcpServers,
  type McpRemoteServerInput,
  type McpServer,
  type McpServerInput,
  type McpServersInput,
  type McpStdioServerInput,
} from './mcp-servers.ts';
export { runFlow, resumeFlow, type IdFactory, type ResumeOptions, type ResumeState, type RunOptions, type RunResult, type RunStatus } from './run.ts';
export { flowSnapshot } from './snapshot.ts';
export type { FlowShellExecution, FlowShellResult, ShellActionExecution, ShellActionResult, ShellRunner } from './shell.ts';
export { FlowDefinitionError, NodeError, ResumeError, RunOptionsError } from './errors.ts';
export { systemClock, type Clock, type LifecycleEvent, type LifecycleEventType, type LifecycleObserver } from './lifecycle.ts';
