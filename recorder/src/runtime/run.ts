// The runtime's entry points: runFlow (a run from its start node) and resumeFlow (a run waiting at a checkpoint,
// continued). The run itself is FlowRun (flow-run.ts); what it is given and returns is in run-options.ts.
import type { NodeType } from '@flowtape/schema';
import { isDefinedFlow, validateFlow, type FlowDefinition, type FlowNodeResult } from './definition.ts';
import { checkRecordedSessions } from './acp-node.ts';
import { ResumeError, RunOptionsError } from './errors.ts';
import { FlowRun } from './flow-run.ts';
import { systemClock } from './lifecycle.ts';
import { compileEdges, reachableFrom } from './routing.ts';
import { mcpServersOf, type ResumeOptions, type ResumeState, type RunOptions, type RunResult } from './run-options.ts';
import { flowSnapshot } from './snapshot.ts';

export type { IdFactory, ResumeOptions, ResumeState, RunOptions, RunResult, RunStatus } from './run-options.ts';

// ---- entry points ---------------------------------------------------------------------------------------

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/;

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'flow';
}

function defaultRunId(flowName: string, now: number, deterministic: boolean): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const suffix = deterministic ? '' : `-${Math.random().toString(36).slice(2, 8)}`;
  return `${stamp}-${slug(flowName)}${suffix}`;
}

export function checkRunId(runId: string): string {
  if (!RUN_ID.test(runId)) throw new RunOptionsError(`run id ${JSON.stringify(runId)} is invalid: use letters, digits, _ . : - (max 200)`);
  return runId;
}

function prepare(flow: FlowDefinition, options: RunOptions): void {
  if (!isDefinedFlow(flow)) validateFlow(flow);
  if (typeof options !== 'object' || options === null || typeof options.cwd !== 'string' || options.cwd === '') {
    throw new RunOptionsError('run options: `cwd` (the run\'s working directory) is required');
  }
  const positive = (name: 'runTimeoutMs' | 'interruptGraceMs', value: unknown, allowZero: boolean): void => {
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
      throw new RunOptionsError(`run options: \`${name}\` must be a ${allowZero ? 'non-negative' : 'positive'} integer (got ${JSON.stringify(value)})`);
    }
  };
  positive('runTimeoutMs', options.runTimeoutMs, false);
  positive('interruptGraceMs', options.interruptGraceMs, true);
  if (options.mcpServers !== undefined) mcpServersOf(options.mcpServers);
}

/**
 * Runs `flow` with `input`. Never rejects for anything that happens inside the run (failures, timeouts,
 * cancellation, missing agents all end in a RunResult); throws FlowDefinitionError for an invalid flow before
 * any event is emitted.
 */
export async function runFlow(flow: FlowDefinition, input: unknown, options: RunOptions): Promise<RunResult> {
  prepare(flow, options);
  const clock = options.clock ?? systemClock;
  const runId = checkRunId(
    options.runId ?? options.idFactory?.runId?.(flow.name, clock.now()) ?? defaultRunId(flow.name, clock.now(), options.deterministic === true),
  );
  const run = new FlowRun(flow, runId, input, options, 0);
  const runTimeoutMs = options.runTimeoutMs ?? flow.runTimeoutMs;
  run.emit({
    type: 'run.started',
    runId,
    flow: flowSnapshot(flow),
    input,
    ...(runTimeoutMs !== undefined ? { runTimeoutMs } : {}),
    cwd: run.cwd,
    deterministic: options.deterministic === true,
  });
  run.arm();
  return run.execute({ node: flow.startAt });
}

/**
 * Continues a run that stopped at a checkpoint: emits `run.resumed`, then follows the checkpoint's edge (a
 * `$resume.<path>` switch reads `resumeInput`). Shared ACP sessions listed in the state are continued on first use
 * when their agent can (see AcpNodeRunner); the others open new sessions (with new session ids).
 */
export async function resumeFlow(flow: FlowDefinition, state: ResumeState, resumeInput: unknown, options: ResumeOptions): Promise<RunResult> {
  prepare(flow, options);
  if (typeof state !== 'object' || state === null || state.version !== 1) throw new ResumeError('resume state: unsupported or missing version (expected 1)');
  if (state.flowName !== flow.name) throw new ResumeError(`resume state is for flow "${state.flowName}", not "${flow.name}"`);
  const checkpointNode = Object.hasOwn(flow.nodes, state.checkpoint) ? flow.nodes[state.checkpoint] : undefined;
  if (!checkpointNode || checkpointNode.nodeType !== 'checkpoint') {
    throw new ResumeError(`resume state: "${state.checkpoint}" is not a checkpoint node of flow "${flow.name}"`);
  }
  const attempts = state.attempts ?? {};
  for (const [id, count] of Object.entries(attempts)) {
    if (!Object.hasOwn(flow.nodes, id)) throw new ResumeError(`resume state: node "${id}" is not in flow "${flow.name}" (was the flow changed?)`);
    if (!Number.isInteger(count) || count < 1) throw new ResumeError(`resume state: attempts of "${id}" must be a positive integer`);
  }
  const checkpointAttempts = attempts[state.checkpoint];
  if (checkpointAttempts === undefined) throw new ResumeError(`resume state: no attempt of checkpoint "${state.checkpoint}" recorded`);

  const agentCommand = options.agentCommand ?? recordedAgentCommand(state.agentCommand);
  // Refused now, before run.resumed: failing at the node would end a run that could still have been resumed.
  for (const id of reachableFrom(compileEdges(flow), state.checkpoint)) {
    const node = flow.nodes[id];
    if (node?.nodeType !== 'acp') continue;
    const fromProfile = node.profile !== undefined ? options.agents?.[node.profile] : undefined;
    if (node.agentCommand === undefined && fromProfile === undefined && flow.agentCommand === undefined && agentCommand === undefined && options.agentFor === undefined) {
      throw new ResumeError(`node "${id}" after checkpoint "${state.checkpoint}" needs an agent and none is given: pass --agent (the run recorded none to go on with)`);
    }
  }
  const run = new FlowRun(flow, checkRunId(state.runId), state.input, { ...options, ...(agentCommand ? { agentCommand } : {}) }, state.sessionCount ?? 0, checkRecordedSessions(state.sessions));
  for (const [id, count] of Object.entries(attempts)) run.attempts.set(id, count);
  Object.assign(run.outputs, state.outputs ?? {});
  Object.assign(run.results, state.results ?? {});
  run.resumeInput = resumeInput !== undefined ? resumeInput : state.resume;
  const checkpointType: NodeType = 'checkpoint';
  const after: FlowNodeResult = run.results[state.checkpoint] ?? {
    attemptId: `${state.checkpoint}#${checkpointAttempts}`,
    nodeId: state.checkpoint,
    nodeType: checkpointType,
    outcome: 'ok',
    durationMs: 0,
    output: run.outputs[state.checkpoint],
  };
  run.emit({ type: 'run.resumed', checkpoint: state.checkpoint, ...(resumeInput !== undefined ? { input: resumeInput } : {}) });
  if (options.claim) await options.claim();
  run.arm();
  return run.execute({ after });
}

function recordedAgentCommand(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || !value.every((a) => typeof a === 'string')) {
    throw new ResumeError('resume state: agentCommand must be a non-empty array of strings');
  }
  return value as string[];
}
