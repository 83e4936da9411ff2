// The flow runtime: runs a flow node by node and reports everything through a LifecycleObserver. It knows nothing
// of bundles. Guarantees: every attempt gets exactly one `node.outcome` (also when interrupted by its timeout,
// the run timeout or cancellation), attempt-scoped events only between `node.started` and `node.outcome`, one
// final run event, and every process it started (shell commands, agents) is gone before that final event.
import { resolve as resolvePath } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ErrorInfo, NodeType, Outcome } from '@flowtape/schema';
import { holdWatchdog } from '../acp/watchdog.ts';
import { AcpNodeRunner, checkRecordedSessions, type RecordedSession } from './acp-node.ts';
import { Attempt, NodeContext, type Stop } from './attempt.ts';
import { commandText } from './command.ts';
import {
  isDefinedFlow,
  validateFlow,
  type AgentCommand,
  type CheckpointNodeDefinition,
  type DecisionNodeDefinition,
  type FlowDefinition,
  type FlowNodeDefinition,
  type FlowNodeResult,
  type FunctionActionNodeDefinition,
  type PermissionPolicy,
  type ShellActionNodeDefinition,
} from './definition.ts';
import { NodeError, ResumeError, RunOptionsError, toErrorInfo } from './errors.ts';
import { systemClock, type Clock, type LifecycleEvent, type LifecycleObserver } from './lifecycle.ts';
import { parseMcpServers, type McpServer, type McpServersInput } from './mcp-servers.ts';
import { compileEdges, reachableFrom, route, type CompiledEdge } from './routing.ts';
import { runShellCommand, type ShellActionExecution, type ShellRunner } from './shell.ts';
import { flowSnapshot } from './snapshot.ts';

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

const DEFAULT_GRACE_MS = 5_000;
const ACP_CANCEL_GRACE_MS = 2_000;
/** The event loop gets a turn at least this often (ms) during long runs of synchronous nodes. */
const YIELD_EVERY_MS = 10;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

class FlowRun {
  readonly outputs: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  readonly results: Record<string, FlowNodeResult> = Object.create(null) as Record<string, FlowNodeResult>;
  readonly attempts = new Map<string, number>();
  readonly services: Record<string, unknown>;
  private readonly shellRunner: ShellRunner | undefined;
  readonly cwd: string;
  readonly acp: AcpNodeRunner;
  resumeInput: unknown;
  private readonly observer: LifecycleObserver | undefined;
  private readonly clock: Clock;
  private readonly edges: Map<string, CompiledEdge>;
  private readonly runTimeoutMs: number | undefined;
  private readonly graceMs: number;
  private readonly withStack: boolean;
  private current: Attempt | undefined;
  private stop: Stop | undefined;
  private ending = false;
  private ended = false;
  private observerFailed = false;
  private readonly startedAt: number;
  private lastYield = performance.now();
  private runTimer: NodeJS.Timeout | undefined;
  private readonly onAbort: () => void;
  /** Keeps one process watchdog (started with the first shell command or agent) for the whole run. */
  private releaseWatchdog: (() => Promise<void>) | undefined;

  constructor(
    readonly flow: FlowDefinition,
    readonly runId: string,
    readonly input: unknown,
    private readonly options: RunOptions,
    sessionCount: number,
    recordedSessions: readonly RecordedSession[] = [],
  ) {
    this.observer = options.observer;
    this.clock = options.clock ?? systemClock;
    this.cwd = resolvePath(options.cwd);
    this.services = options.services ?? {};
    this.shellRunner = options.shellRunner;
    this.edges = compileEdges(flow);
    this.runTimeoutMs = options.runTimeoutMs ?? flow.runTimeoutMs;
    this.graceMs = options.interruptGraceMs ?? DEFAULT_GRACE_MS;
    this.withStack = options.deterministic !== true;
    this.startedAt = this.clock.now();
    const sessionId = options.idFactory?.sessionId;
    this.acp = new AcpNodeRunner(
      {
        flow,
        cwd: this.cwd,
        agentCommand: options.agentCommand,
        agentFor: options.agentFor,
        agents: options.agents,
        permissionPolicy: options.permissionPolicy,
        auth: options.auth,
        agentEnv: options.agentEnv,
        mcpServers: options.mcpServers === undefined ? undefined : mcpServersOf(options.mcpServers),
        cancelGraceMs: Math.min(ACP_CANCEL_GRACE_MS, Math.max(0, this.graceMs - 500)),
        sessionId: sessionId ? (index, handle) => sessionId(index, handle) : (index) => `s${index}`,
        emit: (event) => this.emit(event),
      },
      sessionCount,
      recordedSessions,
    );
    this.onAbort = () => {
      const reason = options.signal?.reason;
      this.stopRun('cancelled', typeof reason === 'string' && reason !== '' ? reason : 'abort');
    };
  }

  emit(event: LifecycleEvent): void {
    if (this.ended) return;
    try {
      this.observer?.onEvent(event, this.clock.now());
    } catch (error) {
      // The observer contract says it never throws; if it does, the run still ends properly (warned once).
      if (this.observerFailed) return;
      this.observerFailed = true;
      process.emitWarning(`flowtape: lifecycle observer threw on ${event.type}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Starts the run timer and listens to the abort signal (an already aborted signal stops the run at once). */
  arm(): void {
    if (this.runTimeoutMs !== undefined) {
      const ms = this.runTimeoutMs;
      this.runTimer = setTimeout(() => this.stopRun('timed_out', `run timeout ${ms} ms`, ms), ms);
    }
    const signal = this.options.signal;
    if (signal) {
      if (signal.aborted) this.onAbort();
      else signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  private stopRun(outcome: 'cancelled' | 'timed_out', reason: string, timeoutMs?: number): void {
    if (this.stop || this.ending) return;
    const error =
      outcome === 'cancelled'
        ? new NodeError('cancelled', `run cancelled (${reason})`)
        : new NodeError('run_timeout', `run timed out after ${timeoutMs} ms`, 'timed_out');
    this.stop = { outcome, reason, error, ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
    this.current?.interrupt(this.stop);
  }

  // ---- the loop ---------------------------------------------------------------------------------------------

  /** Runs from `first`, or (on resume) follows the checkpoint's edge first. */
  async execute(start: { node: string } | { after: FlowNodeResult }): Promise<RunResult> {
    this.releaseWatchdog = holdWatchdog();
    try {
      let current: string;
      if ('node' in start) current = start.node;
      else {
        const next = this.follow(start.after);
        if (typeof next !== 'string') return await next;
        current = next;
      }
      for (;;) {
        if (this.stop) return await this.finishStopped();
        const node = this.flow.nodes[current]!;
        const result = await this.runAttempt(current, node);
        if (this.stop) return await this.finishStopped();
        if (node.nodeType === 'checkpoint' && result.outcome === 'ok') return await this.finishWaiting(current, node, result);
        const next = this.follow(result);
        if (typeof next !== 'string') return await next;
        current = next;
        if (performance.now() - this.lastYield >= YIELD_EVERY_MS) {
          await yieldToLoop();
          this.lastYield = performance.now();
        }
      }
    } catch (error) {
      // Only a runtime bug gets here; the run still ends with one final event and no processes left.
      return await this.finish('failed', { error: toErrorInfo(error, 'runtime_error', this.withStack) });
    }
  }

  /** The next node id, or the run's end. Emits edge.taken. */
  private follow(result: FlowNodeResult): string | Promise<RunResult> {
    let next;
    try {
      next = route(this.edges, result.nodeId, result, this.resumeInput);
    } catch (error) {
      return this.finish('failed', { error: toErrorInfo(error, 'routing_error') });
    }
    if (next.kind === 'end') {
      if (result.outcome === 'ok') return this.finish('completed', { output: result.output });
      return this.finish('failed', { error: this.unroutedError(result) });
    }
    if (next.kind === 'unrouted') return this.finish('failed', { error: this.unroutedError(result) });
    this.emit({
      type: 'edge.taken',
      nodeId: result.nodeId,
      attemptId: result.attemptId,
      from: result.nodeId,
      to: next.to,
      ...(next.branch ? { branch: next.branch } : {}),
    });
    return next.to;
  }

  private unroutedError(result: FlowNodeResult): ErrorInfo {
    const cause = result.error?.message ?? result.outcome;
    const message = cause.startsWith(`node "${result.nodeId}"`)
      ? cause
      : `node "${result.nodeId}" ${result.outcome === 'timed_out' ? 'timed out' : result.outcome === 'failed' ? 'failed' : result.outcome}: ${cause}`;
    return { message, code: result.error?.code ?? result.outcome };
  }

  // ---- attempts -----------------------------------------------------------------------------------------

  private async runAttempt(nodeId: string, node: FlowNodeDefinition): Promise<FlowNodeResult> {
    const n = (this.attempts.get(nodeId) ?? 0) + 1;
    this.attempts.set(nodeId, n);
    const attemptId = `${nodeId}#${n}`;
    const startedAt = this.clock.now();
    this.emit({ type: 'node.started', nodeId, attemptId, nodeType: node.nodeType, attempt: n });
    const grace = node.nodeType === 'acp' || (node.nodeType === 'action' && 'exec' in node) ? this.graceMs : 0;
    const attempt = new Attempt(this, nodeId, attemptId, n, startedAt, grace);
    this.current = attempt;
    // The run may have been stopped by the observer of node.started itself.
    if (this.stop) attempt.interrupt(this.stop);

    let timer: NodeJS.Timeout | undefined;
    let beat: NodeJS.Timeout | undefined;
    if (node.timeoutMs) {
      const ms = node.timeoutMs;
      timer = setTimeout(
        () => attempt.interrupt({ outcome: 'timed_out', reason: 'node timeout', error: new NodeError('node_timeout', `node "${nodeId}" timed out after ${ms} ms`, 'timed_out') }),
        ms,
      );
    }
    if (node.heartbeatMs) {
      beat = setInterval(() => attempt.emit({ type: 'node.heartbeat', nodeId, attemptId, elapsedMs: Math.max(0, this.clock.now() - startedAt) }), node.heartbeatMs);
    }

    let output: unknown;
    let failure: unknown;
    let failed = false;
    try {
      if (attempt.interrupted) throw attempt.interrupted.error;
      const value = this.executeNode(node, attempt);
      output = isThenable(value) ? await attempt.race(value) : value;
    } catch (error) {
      failed = true;
      failure = error;
    } finally {
      if (timer) clearTimeout(timer);
      if (beat) clearInterval(beat);
      attempt.dispose();
      this.current = undefined;
    }

    if (attempt.owned && attempt.owned.size > 0) {
      // A function may return (or be interrupted) before the commands it started have exited: stop and wait.
      attempt.release();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...attempt.owned]), new Promise((r) => (timer = setTimeout(r, this.graceMs)))]);
      clearTimeout(timer);
    }
    let outcome: Outcome = 'ok';
    let error: ErrorInfo | undefined;
    if (attempt.interrupted) {
      outcome = attempt.interrupted.outcome;
      error = toErrorInfo(attempt.interrupted.error, attempt.interrupted.outcome);
    } else if (failed) {
      outcome = failure instanceof NodeError ? failure.outcome : 'failed';
      error = toErrorInfo(failure, 'node_failed', this.withStack);
    }
    const durationMs = Math.max(0, this.clock.now() - startedAt);
    this.closeOpen(attempt, error);
    attempt.settled = true;

    const result: FlowNodeResult = { attemptId, nodeId, nodeType: node.nodeType, outcome, durationMs };
    if (outcome === 'ok') {
      result.output = output;
      this.outputs[nodeId] = output;
    } else {
      result.error = error!;
      if (failure instanceof NodeError && failure.output !== undefined) result.output = failure.output;
    }
    this.results[nodeId] = result;
    this.emit({
      type: 'node.outcome',
      nodeId,
      attemptId,
      outcome,
      durationMs,
      ...('output' in result ? { output: result.output } : {}),
      ...(error ? { error } : {}),
    });
    return result;
  }

  /** An interrupted attempt may leave an action or an ACP turn open: close them before its outcome. */
  private closeOpen(attempt: Attempt, error: ErrorInfo | undefined): void {
    const failure = error ?? { message: 'the attempt ended before this finished', code: 'interrupted' };
    if (attempt.openAction) {
      const { actionType, startedAt } = attempt.openAction;
      attempt.openAction = undefined;
      this.emit({
        type: 'action.completed',
        nodeId: attempt.nodeId,
        attemptId: attempt.attemptId,
        actionType,
        ok: false,
        durationMs: Math.max(0, this.clock.now() - startedAt),
        error: failure,
      });
    }
    if (attempt.openTurn) {
      const { sessionId, text, usage: turnUsage } = attempt.openTurn;
      attempt.openTurn = undefined;
      const usage = turnUsage();
      this.emit({
        type: 'acp.turn_finished',
        nodeId: attempt.nodeId,
        attemptId: attempt.attemptId,
        sessionId,
        stopReason: null,
        response: text(),
        error: failure,
        ...(usage ? { usage } : {}),
      });
    }
  }

  /** The node's work: a value for synchronous functions, a promise otherwise. */
  private executeNode(node: FlowNodeDefinition, attempt: Attempt): unknown {
    switch (node.nodeType) {
      case 'compute':
        return node.run(new NodeContext(this, attempt));
      case 'action':
        return 'exec' in node ? this.shellAction(node, attempt) : this.functionAction(node, attempt);
      case 'decision':
        return this.decide(node, attempt);
      case 'checkpoint':
        return this.checkpoint(node, attempt);
      case 'acp':
        return this.acp.execute(node, attempt, new NodeContext(this, attempt));
      default:
        throw new NodeError('unknown_node_type', `node "${attempt.nodeId}": unknown nodeType ${JSON.stringify((node as { nodeType: unknown }).nodeType)}`);
    }
  }

  private checkpoint(node: CheckpointNodeDefinition, attempt: Attempt): unknown {
    if (node.run) return node.run(new NodeContext(this, attempt));
    return { checkpoint: attempt.nodeId, summary: node.summary ?? attempt.nodeId };
  }

  private decide(node: DecisionNodeDefinition, attempt: Attempt): unknown {
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
    const value = node.run(new NodeContext(this, attempt));
    return isThenable(value) ? Promise.resolve(value).then(check) : check(value);
  }

  private async functionAction(node: FunctionActionNodeDefinition, attempt: Attempt): Promise<unknown> {
    const startedAt = this.clock.now();
    attempt.emit({ type: 'action.started', nodeId: attempt.nodeId, attemptId: attempt.attemptId, actionType: 'function' });
    attempt.openAction = { actionType: 'function', startedAt };
    let output: unknown;
    try {
      output = await node.run(new NodeContext(this, attempt));
    } catch (error) {
      if (attempt.openAction && !attempt.settled) {
        attempt.openAction = undefined;
        attempt.emit({
          type: 'action.completed',
          nodeId: attempt.nodeId,
          attemptId: attempt.attemptId,
          actionType: 'function',
          ok: false,
          durationMs: Math.max(0, this.clock.now() - startedAt),
          error: toErrorInfo(attempt.interrupted?.error ?? error, 'action_failed', this.withStack),
        });
      }
      throw error;
    }
    if (attempt.openAction && !attempt.settled) {
      attempt.openAction = undefined;
      attempt.emit({
        type: 'action.completed',
        nodeId: attempt.nodeId,
        attemptId: attempt.attemptId,
        actionType: 'function',
        ok: !attempt.interrupted,
        durationMs: Math.max(0, this.clock.now() - startedAt),
        ...(attempt.interrupted ? { error: toErrorInfo(attempt.interrupted.error, attempt.interrupted.outcome) } : { output }),
      });
    }
    return output;
  }

  private async shellAction(node: ShellActionNodeDefinition, attempt: Attempt): Promise<unknown> {
    const context = new NodeContext(this, attempt);
    const exec: ShellActionExecution = typeof node.exec === 'function' ? await node.exec(context) : node.exec;
    if (typeof exec !== 'object' || exec === null || typeof exec.command !== 'string' || exec.command === '') {
      throw new NodeError('invalid_exec', `node "${attempt.nodeId}": exec must give { command: string, args?: string[], … }`);
    }
    const cwd = exec.cwd === undefined ? this.cwd : resolvePath(this.cwd, exec.cwd);
    const startedAt = this.clock.now();
    const args = exec.args ?? [];
    attempt.emit({
      type: 'action.started',
      nodeId: attempt.nodeId,
      attemptId: attempt.attemptId,
      actionType: 'shell',
      command: args.length > 0 ? [exec.command, ...args] : exec.command,
      cwd,
    });
    attempt.openAction = { actionType: 'shell', startedAt };
    let result;
    try {
      result = this.shellRunner
        ? await this.shellRunner(exec, { cwd, signal: attempt.signal, nodeId: attempt.nodeId, attemptId: attempt.attemptId })
        : await runShellCommand(exec, { cwd, signal: attempt.signal });
    } catch (error) {
      if (attempt.openAction && !attempt.settled) {
        attempt.openAction = undefined;
        attempt.emit({
          type: 'action.completed',
          nodeId: attempt.nodeId,
          attemptId: attempt.attemptId,
          actionType: 'shell',
          ok: false,
          durationMs: Math.max(0, this.clock.now() - startedAt),
          error: toErrorInfo(error, 'spawn_failed'),
        });
      }
      throw error;
    }
    const shown = commandText(exec.command, args);
    let failure: NodeError | undefined;
    if (result.aborted) failure = attempt.interrupted?.error ?? new NodeError('cancelled', `shell: "${shown}" was stopped`);
    else if (result.timedOut) failure = new NodeError('shell_timeout', `shell: "${shown}" did not finish within ${exec.timeoutMs} ms`, 'timed_out');
    else if (result.overflowed) failure = new NodeError('max_buffer', `shell: "${shown}" wrote more than ${exec.maxBufferBytes} bytes to one stream`);
    else if (result.signal !== null) failure = new NodeError('killed', `shell: "${shown}" was killed by ${result.signal}`);
    else if (result.exitCode !== 0 && !exec.allowNonZeroExit) {
      const hint = lastLine(result.stderr);
      failure = new NodeError('exit_code', `shell: "${shown}" exited with code ${result.exitCode}${hint ? `: ${hint}` : ''}`);
    }
    const summary = { exitCode: result.exitCode, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
    if (attempt.openAction && !attempt.settled) {
      attempt.openAction = undefined;
      attempt.emit({
        type: 'action.completed',
        nodeId: attempt.nodeId,
        attemptId: attempt.attemptId,
        actionType: 'shell',
        ok: failure === undefined,
        durationMs: Math.max(0, this.clock.now() - startedAt),
        exitCode: result.exitCode,
        signal: result.signal,
        stdout: result.stdout,
        stderr: result.stderr,
        ...(failure ? { error: toErrorInfo(failure, 'shell_failed') } : {}),
      });
    }
    if (failure) {
      failure.output = summary;
      throw failure;
    }
    return node.parse ? await node.parse(result, context) : summary;
  }

  // ---- endings ------------------------------------------------------------------------------------------

  private finishStopped(): Promise<RunResult> {
    const stop = this.stop!;
    return this.finish(stop.outcome, { error: toErrorInfo(stop.error, stop.outcome), reason: stop.reason, ...(stop.timeoutMs !== undefined ? { timeoutMs: stop.timeoutMs } : {}) });
  }

  private finishWaiting(nodeId: string, node: CheckpointNodeDefinition, result: FlowNodeResult): Promise<RunResult> {
    const out = result.output as { summary?: unknown } | undefined;
    const message = node.summary ?? (typeof out?.summary === 'string' ? out.summary : undefined);
    const resumeState: ResumeState = {
      version: 1,
      runId: this.runId,
      flowName: this.flow.name,
      input: this.input,
      checkpoint: nodeId,
      outputs: { ...this.outputs },
      results: { ...this.results },
      attempts: Object.fromEntries(this.attempts),
      sessionCount: this.acp.sessionCount,
      ...(this.resumeInput !== undefined ? { resume: this.resumeInput } : {}),
    };
    const sessions = this.acp.openSharedSessions();
    if (sessions.length > 0) resumeState.sessions = sessions;
    return this.finish('waiting', { resumeState, checkpoint: nodeId, ...(message !== undefined ? { message } : {}) });
  }

  /** Tears down (timers, listener, agents), then emits the one final run event. */
  private async finish(
    status: RunStatus,
    details: { output?: unknown; error?: ErrorInfo; resumeState?: ResumeState; checkpoint?: string; message?: string; reason?: string; timeoutMs?: number },
  ): Promise<RunResult> {
    this.ending = true;
    if (this.runTimer) clearTimeout(this.runTimer);
    this.options.signal?.removeEventListener('abort', this.onAbort);
    await this.acp.close();
    await this.releaseWatchdog?.(); // the last of the run's processes: gone before the final event, like the others
    const durationMs = Math.max(0, this.clock.now() - this.startedAt);
    switch (status) {
      case 'completed':
        this.emit({ type: 'run.completed', output: details.output, durationMs });
        break;
      case 'failed':
        this.emit({ type: 'run.failed', error: details.error!, durationMs });
        break;
      case 'timed_out':
        this.emit({ type: 'run.timed_out', timeoutMs: details.timeoutMs!, durationMs });
        break;
      case 'cancelled':
        this.emit({ type: 'run.cancelled', reason: details.reason ?? 'abort', durationMs });
        break;
      case 'waiting':
        this.emit({
          type: 'run.waiting',
          checkpoint: details.checkpoint!,
          ...(details.message !== undefined ? { message: details.message } : {}),
          ...(details.resumeState?.sessions ? { sessions: details.resumeState.sessions.map((session) => session.sessionId) } : {}),
        });
        break;
    }
    this.ended = true;
    return {
      runId: this.runId,
      status,
      durationMs,
      ...(status === 'completed' ? { output: details.output } : {}),
      ...(details.error ? { error: details.error } : {}),
      ...(details.resumeState ? { resumeState: details.resumeState } : {}),
    };
  }
}

function lastLine(text: string): string | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const line = lines.at(-1);
  return line === undefined ? undefined : line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

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

function checkRunId(runId: string): string {
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

function mcpServersOf(value: unknown): McpServer[] {
  const parsed = parseMcpServers(value);
  if ('problem' in parsed) throw new RunOptionsError(`run options: ${parsed.problem}`);
  return parsed.servers;
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
