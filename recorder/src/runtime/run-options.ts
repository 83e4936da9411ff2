// What a run is given (RunOptions, ResumeOptions, a ResumeState to continue from) and what it returns (RunResult).
import type { ErrorInfo } from '@flowtape/schema';
import type { RecordedSession } from './acp-node.ts';
import type { AgentCommand, FlowNodeResult, PermissionPolicy } from './definition.ts';
import { RunOptionsError } from './errors.ts';
import type { Clock, LifecycleObserver } from './lifecycle.ts';
import { parseMcpServers, type McpServer, type McpServersInput } from './mcp-servers.ts';
import type { ShellRunner } from './shell.ts';

export type RunStatus = 'completed' | 'failed' | 'timed_out' | 'cancelled' | 'waiting';

/** Ids the runtime allocates; injectable so samples and goldens are reproducible. */
export interface IdFactory {
  /** The run id (must be letters, digits, `_ . : -`). */
  runId?(flowName: string, startedAt: number): string;
  /** flowtape's session id for the `index`-th session of the run (from 1): filesystem-safe. Default `s<index>`. */
  sessionId?(index: number, handle: string): string;
}

export interface RunOptions {
  /** The run's working directory: shell commands and agents run here; relative node cwds resolve against it. */
  cwd: string;
  observer?: LifecycleObserver;
  clock?: Clock;
  /** Aborting cancels the run: the running attempt ends `cancelled`, then `run.cancelled`. A string reason (e.g.
   *  `SIGINT`) is recorded as the cancel reason. */
  signal?: AbortSignal;
  /** The default agent for ACP nodes that name none (the CLI's `--agent`). */
  agentCommand?: AgentCommand;
  /** acpx profiles: agent name → command, for ACP nodes with `profile`. */
  agents?: Record<string, AgentCommand>;
  /**
   * Wins over every other agent choice: the agent of each ACP session, by session handle (`flowtape replay` points
   * every session at the replay agent). Called with the command the node would otherwise use, if any.
   */
  agentFor?: (handle: string, command: string[] | undefined) => AgentCommand;
  /**
   * Runs shell actions instead of spawning them (`flowtape replay` returns the recorded output). Absent: the
   * command runs. The runtime still emits action.started/completed and judges the result as for a real run.
   */
  shellRunner?: ShellRunner;
  /** Default permission policy of ACP sessions (the client's default is `approve-reads`). */
  permissionPolicy?: PermissionPolicy;
  /** The ACP auth method for agents that advertise it (the CLI's `--auth`); a flow's or node's `auth` wins. */
  auth?: string;
  /** Extra environment for agent processes. */
  agentEnv?: Record<string, string>;
  /** MCP servers for ACP sessions (the CLI's --mcp-config); a flow's or node's `mcpServers` replaces them. */
  mcpServers?: McpServersInput;
  runId?: string;
  /** Overrides the flow's runTimeoutMs. */
  runTimeoutMs?: number;
  /** Recorded in run.started; makes the default run id reproducible and leaves stacks out of errors. */
  deterministic?: boolean;
  idFactory?: IdFactory;
  /** Passed to node functions as `context.services`. */
  services?: Record<string, unknown>;
  /** How long an interrupted shell or ACP attempt may take to wind down before its outcome is recorded
   *  (default 5000 ms; function nodes get no grace beyond their own synchronous abort handling). */
  interruptGraceMs?: number;
}

export interface ResumeOptions extends RunOptions {
  /**
   * Awaited right after `run.resumed` is emitted, before anything else happens (no timer, no node, no edge): the
   * bundle writer commits the resume here, under the bundle lock. When it rejects (another process resumed the run
   * first), resumeFlow rejects with its error and runs nothing.
   */
  claim?: () => Promise<void>;
}

/**
 * Everything needed to continue a run that stopped at a checkpoint, in this process or another. Plain JSON
 * when the node outputs are. The recorder can rebuild it from the trace: `input` from run.started, `outputs`
 * and `results` from the latest ok / any node.outcome per node, `attempts` from the node.started counts,
 * `checkpoint` from run.waiting, `sessionCount` from the distinct session ids, `resume` from the latest
 * run.resumed.
 */
export interface ResumeState {
  version: 1;
  runId: string;
  flowName: string;
  /** The run input. */
  input: unknown;
  /** The checkpoint node the run is waiting at (its latest attempt is the one that stopped the run). */
  checkpoint: string;
  /** Output of the latest successful attempt per node id. */
  outputs: Record<string, unknown>;
  /** Latest result per node id (optional: without it, `$result.*` after a resume sees only outputs). */
  results?: Record<string, FlowNodeResult>;
  /** Attempts made per node id, so numbering continues (`node#3` after `node#2`). */
  attempts: Record<string, number>;
  /** Sessions opened so far, so new session ids do not collide with recorded ones. */
  sessionCount: number;
  /** The input of the previous resume, if this run was resumed before. */
  resume?: unknown;
  /**
   * Shared ACP sessions still usable when the run stopped to wait: the first node of the same handle, agent and cwd
   * after the resume continues the agent's session (session/resume or session/load) instead of starting anew.
   */
  sessions?: RecordedSession[];
  /**
   * The agent command every ACP session of the run used, when there was exactly one: a resume given no agent
   * (`flowtape resume <bundle>` without `--agent`) uses it, so it goes on with the agent the run started with.
   */
  agentCommand?: string[];
}

export interface RunResult {
  runId: string;
  status: RunStatus;
  /** The output of the last node, when completed. */
  output?: unknown;
  error?: ErrorInfo;
  /** When waiting at a checkpoint. */
  resumeState?: ResumeState;
  durationMs: number;
}

/** The MCP servers of the run options, checked (a RunOptionsError names the problem). */
export function mcpServersOf(value: unknown): McpServer[] {
  const parsed = parseMcpServers(value);
  if ('problem' in parsed) throw new RunOptionsError(`run options: ${parsed.problem}`);
  return parsed.servers;
}
