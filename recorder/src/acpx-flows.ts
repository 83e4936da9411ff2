// The module a flow's `import … from 'acpx/flows'` resolves to when flowtape runs it (`flowtape run` maps the
// specifier here; `@flowtape/recorder/acpx-flows` names it directly). Its names match acpx 0.19's `acpx/flows` so a
// flow written for acpx ports unchanged: the authoring functions are flowtape's own runtime (the same instances as
// `@flowtape/recorder`), the JSON helpers keep acpx's semantics (any JSON value, throw when there is none).
//
// Not provided, on purpose:
//   - FlowRunner (and its FlowRunnerOptions, FlowRunResult, FlowRunState, FlowStepRecord, FlowSessionBinding,
//     ResolvedFlowAgent types): acpx's program API for running flows, not something a flow file uses; with flowtape
//     a program calls runFlow / record from `@flowtape/recorder`.
//   - flowRunsBaseDir: acpx's run store (`~/.acpx/flows/runs`); flowtape writes bundles where `--out` says
//     (default `.flowtape/runs` under the working directory), so there is no equivalent home-relative answer.
import type { MaybePromise } from './runtime/index.ts';

export { acp, action, checkpoint, compute, decision, decisionEdge, defineFlow, shell } from './runtime/index.ts';
export { extractJsonObject, parseJsonObject, parseStrictJsonObject, type JsonObjectParseMode } from './runtime/json-output.ts';

export type {
  AcpDecisionDefinition as DecisionDefinition,
  AcpNodeDefinition,
  ActionNodeDefinition,
  CheckpointNodeDefinition,
  ComputeNodeDefinition,
  FlowDefinition,
  FlowEdge,
  FlowNodeCommon,
  FlowNodeContext,
  FlowNodeDefinition,
  FlowShellExecution,
  FlowShellResult,
  FunctionActionNodeDefinition,
  ShellActionExecution,
  ShellActionNodeDefinition,
  ShellActionResult,
} from './runtime/index.ts';

/** acpx's `run` block of a flow definition; flowtape accepts it and ignores it (runs are named by id). */
export interface FlowRunDefinition<TInput = unknown> {
  title?: string | ((context: { input: TInput; flowName: string; flowPath?: string }) => MaybePromise<string | undefined>);
}

/** acpx's `permissions` block; flowtape accepts it and ignores it (ACP permissions are answered by policy). */
export interface FlowPermissionRequirements {
  requiredMode: 'approve-all' | 'approve-reads' | 'deny-all';
  requireExplicitGrant?: boolean;
  reason?: string;
}
