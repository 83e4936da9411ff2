// The flow runtime: runs a flow node by node and reports everything through a LifecycleObserver. It knows nothing
// of bundles. Guarantees: every attempt gets exactly one `node.outcome` (also when interrupted by its timeout,
// the run timeout or cancellation), attempt-scoped events only between `node.started` and `node.outcome`, one
// final run event, and every process it started (shell commands, agents) is gone before that final event. What each
// node type runs is in node-work.ts.
import { resolve as resolvePath } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ErrorInfo, Outcome } from '@flowtape/schema';
import { holdWatchdog } from '../acp/watchdog.ts';
import type { ActionHost } from './action-nodes.ts';
import { AcpNodeRunner, type RecordedSession } from './acp-node.ts';
import { Attempt, clearTimers, type AttemptTimers, type Stop } from './attempt.ts';
import type { CheckpointNodeDefinition, FlowDefinition, FlowNodeDefinition, FlowNodeResult } from './definition.ts';
import { NodeError, toErrorInfo } from './errors.ts';
import { systemClock, type Clock, type LifecycleEvent, type LifecycleObserver } from './lifecycle.ts';
import { isThenable, startNodeWork, type NodeWorkHost } from './node-work.ts';
import { compileEdges, route, type CompiledEdge } from './routing.ts';
import { mcpServersOf, type ResumeState, type RunOptions, type RunResult, type RunStatus } from './run-options.ts';
import type { ShellRunner } from './shell.ts';

const DEFAULT_GRACE_MS = 5_000;
const ACP_CANCEL_GRACE_MS = 2_000;
/** The event loop gets a turn at least this often (ms) during long runs of synchronous nodes. */
const YIELD_EVERY_MS = 10;

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** One run of a flow, from its first node (or a resumed checkpoint) to its one final run event. */
export class FlowRun implements NodeWorkHost {
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

  /** What the action nodes read from their run. */
  get actionHost(): ActionHost {
    return { run: this, now: () => this.clock.now(), cwd: this.cwd, withStack: this.withStack, shellRunner: this.shellRunner };
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
        // Awaited even when the node was synchronous (a plain value): every node after the first then runs from a
        // resumed loop, so what a node's error stack shows does not depend on when the loop last yielded.
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
    const { nodeId, attemptId } = result;
    // One literal per shape (no spread of a temporary object): this runs for every node.
    this.emit(
      next.branch
        ? { type: 'edge.taken', nodeId, attemptId, from: nodeId, to: next.to, branch: next.branch }
        : { type: 'edge.taken', nodeId, attemptId, from: nodeId, to: next.to },
    );
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

  // An attempt goes in small steps, so that a synchronous node (most compute nodes) needs no async function of its
  // own (its frame and promise were ~1.2 KB per node), and so that the optimizing compiler gets small functions: one
  // async function holding all of it cost ~35 ms of compile time in a process's first runs.

  /** One attempt of `node`: its result, or a promise of it when the node's work is asynchronous. */
  private runAttempt(nodeId: string, node: FlowNodeDefinition): FlowNodeResult | Promise<FlowNodeResult> {
    const attempt = this.startAttempt(nodeId, node);
    const timers = node.timeoutMs || node.heartbeatMs ? attempt.armTimers(node, this.clock) : undefined;
    let value: unknown;
    try {
      if (attempt.interrupted) throw attempt.interrupted.error;
      value = startNodeWork(this, node, attempt);
    } catch (error) {
      this.stopWork(attempt, timers);
      return this.afterWork(node, attempt, undefined, true, error);
    }
    if (isThenable(value)) return this.awaitWork(node, attempt, value, timers);
    this.stopWork(attempt, timers);
    return this.afterWork(node, attempt, value, false, undefined);
  }

  /** Counts the attempt, emits node.started and makes it the current one. */
  private startAttempt(nodeId: string, node: FlowNodeDefinition): Attempt {
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
    return attempt;
  }

  private async awaitWork(node: FlowNodeDefinition, attempt: Attempt, work: PromiseLike<unknown>, timers: AttemptTimers | undefined): Promise<FlowNodeResult> {
    let output: unknown;
    let failure: unknown;
    let failed = false;
    try {
      output = await attempt.race(work);
    } catch (error) {
      failed = true;
      failure = error;
    } finally {
      this.stopWork(attempt, timers);
    }
    return this.afterWork(node, attempt, output, failed, failure);
  }

  /** The node's work is over (or given up on): its timers go, and it is no longer the current attempt. */
  private stopWork(attempt: Attempt, timers: AttemptTimers | undefined): void {
    if (timers) clearTimers(timers);
    attempt.dispose();
    this.current = undefined;
  }

  /** The outcome, once the commands the node started (if any) are gone. */
  private afterWork(node: FlowNodeDefinition, attempt: Attempt, output: unknown, failed: boolean, failure: unknown): FlowNodeResult | Promise<FlowNodeResult> {
    if (attempt.owned && attempt.owned.size > 0) return attempt.awaitOwned(this.graceMs).then(() => this.settle(node, attempt, output, failed, failure));
    return this.settle(node, attempt, output, failed, failure);
  }

  /** The attempt's outcome: kept in the run's results and emitted (node.outcome). */
  private settle(node: FlowNodeDefinition, attempt: Attempt, output: unknown, failed: boolean, failure: unknown): FlowNodeResult {
    const { nodeId, attemptId } = attempt;
    let outcome: Outcome = 'ok';
    let error: ErrorInfo | undefined;
    if (attempt.interrupted) {
      outcome = attempt.interrupted.outcome;
      error = toErrorInfo(attempt.interrupted.error, attempt.interrupted.outcome);
    } else if (failed) {
      outcome = failure instanceof NodeError ? failure.outcome : 'failed';
      error = toErrorInfo(failure, 'node_failed', this.withStack);
    }
    const durationMs = Math.max(0, this.clock.now() - attempt.startedAt);
    attempt.closeOpen(error, this.clock);
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
    const withOutput = 'output' in result;
    this.emit(
      error
        ? withOutput
          ? { type: 'node.outcome', nodeId, attemptId, outcome, durationMs, output: result.output, error }
          : { type: 'node.outcome', nodeId, attemptId, outcome, durationMs, error }
        : withOutput
          ? { type: 'node.outcome', nodeId, attemptId, outcome, durationMs, output: result.output }
          : { type: 'node.outcome', nodeId, attemptId, outcome, durationMs },
    );
    return result;
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
