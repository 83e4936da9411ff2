// One attempt of one node (its signal, interruption and grace period) and the context its functions receive.
import { resolve as resolvePath } from 'node:path';
import type { AcpAttempt } from './acp-node.ts';
import type { ErrorInfo } from '@flowtape/schema';
import type { FlowNodeContext, FlowNodeResult } from './definition.ts';
import { NodeError } from './errors.ts';
import type { Clock, LifecycleEvent } from './lifecycle.ts';
import { runShellCommand, type FlowShellExecution, type FlowShellResult } from './shell.ts';

/** Why an attempt was interrupted. */
export type Stop = { outcome: 'cancelled' | 'timed_out'; reason: string; error: NodeError; timeoutMs?: number };

/** An attempt's timers (Attempt.armTimers), for the nodes that set a timeout or a heartbeat. */
export interface AttemptTimers {
  timeout?: NodeJS.Timeout;
  beat?: NodeJS.Timeout;
}

export function clearTimers(timers: AttemptTimers): void {
  clearTimeout(timers.timeout);
  clearInterval(timers.beat);
}

/** One attempt of one node. */
export class Attempt implements AcpAttempt {
  interrupted: Stop | undefined;
  settled = false;
  openAction: { actionType: 'shell' | 'function'; startedAt: number } | undefined;
  openTurn: AcpAttempt['openTurn'];
  /** Processes started through context.runShell: the outcome waits for them to be gone (bounded). */
  owned: Set<Promise<unknown>> | undefined;
  private controller: AbortController | undefined;
  private rejectRace: ((error: unknown) => void) | undefined;
  private graceTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly run: { emit(event: LifecycleEvent): void },
    readonly nodeId: string,
    readonly attemptId: string,
    readonly attempt: number,
    readonly startedAt: number,
    private readonly graceMs: number,
  ) {}

  /** Created on first use: nodes that never look at it cost nothing. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.interrupted) this.controller.abort(this.interrupted.error);
    }
    return this.controller.signal;
  }

  emit(event: LifecycleEvent): void {
    if (!this.settled) this.run.emit(event);
  }

  interrupt(stop: Stop): void {
    if (this.settled || this.interrupted) return;
    this.interrupted = stop;
    this.controller?.abort(stop.error);
    if (this.rejectRace) this.startGrace();
  }

  /** Settles with `work`, or — once interrupted — at the latest after the grace period. */
  race<T>(work: PromiseLike<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.rejectRace = reject;
      work.then(resolve, reject);
      if (this.interrupted) this.startGrace();
    });
  }

  private startGrace(): void {
    const stop = this.interrupted!;
    this.graceTimer ??= setTimeout(() => this.rejectRace?.(stop.error), this.graceMs);
  }

  /** The node's timeout and heartbeat (only for nodes that set them): the run clears them when the work is over. */
  armTimers(node: { timeoutMs?: number | undefined; heartbeatMs?: number | undefined }, clock: Clock): AttemptTimers {
    const { nodeId, attemptId, startedAt } = this;
    const timers: AttemptTimers = {};
    if (node.timeoutMs) {
      const ms = node.timeoutMs;
      timers.timeout = setTimeout(
        () => this.interrupt({ outcome: 'timed_out', reason: 'node timeout', error: new NodeError('node_timeout', `node "${nodeId}" timed out after ${ms} ms`, 'timed_out') }),
        ms,
      );
    }
    if (node.heartbeatMs) {
      timers.beat = setInterval(() => this.emit({ type: 'node.heartbeat', nodeId, attemptId, elapsedMs: Math.max(0, clock.now() - startedAt) }), node.heartbeatMs);
    }
    return timers;
  }

  /** A function may return (or be interrupted) before the commands it started have exited: stop them, wait (bounded). */
  async awaitOwned(graceMs: number): Promise<void> {
    this.release();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...(this.owned ?? [])]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }

  /** An interrupted attempt may leave an action or an ACP turn open: closes them (before its outcome). */
  closeOpen(error: ErrorInfo | undefined, clock: Clock): void {
    // Nothing open (nearly every attempt): no error object to make.
    if (!this.openAction && !this.openTurn) return;
    const failure = error ?? { message: 'the attempt ended before this finished', code: 'interrupted' };
    if (this.openAction) {
      const { actionType, startedAt } = this.openAction;
      this.openAction = undefined;
      this.emit({
        type: 'action.completed',
        nodeId: this.nodeId,
        attemptId: this.attemptId,
        actionType,
        ok: false,
        durationMs: Math.max(0, clock.now() - startedAt),
        error: failure,
      });
    }
    if (this.openTurn) {
      const { sessionId, text, usage: turnUsage } = this.openTurn;
      this.openTurn = undefined;
      const usage = turnUsage();
      this.emit({
        type: 'acp.turn_finished',
        nodeId: this.nodeId,
        attemptId: this.attemptId,
        sessionId,
        stopReason: null,
        response: text(),
        error: failure,
        ...(usage ? { usage } : {}),
      });
    }
  }

  /** Aborts the signal of an attempt that is over, so whatever still listens to it (runShell commands) stops. */
  release(): void {
    if (this.controller && !this.controller.signal.aborted) this.controller.abort(new NodeError('attempt_ended', `attempt ${this.attemptId} is over`));
  }

  dispose(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.rejectRace = undefined;
  }
}

/** What a node context reads from its run. */
export interface RunScope {
  readonly input: unknown;
  readonly outputs: Record<string, unknown>;
  readonly results: Record<string, FlowNodeResult>;
  readonly services: Record<string, unknown>;
  readonly cwd: string;
  readonly runId: string;
  readonly resumeInput: unknown;
}

/** The context handed to node functions. `signal` is a getter so the AbortController is made only when used. */
export class NodeContext implements FlowNodeContext {
  readonly input: unknown;
  readonly outputs: Record<string, unknown>;
  readonly results: Record<string, FlowNodeResult>;
  readonly services: Record<string, unknown>;
  readonly nodeId: string;
  readonly attemptId: string;
  readonly attempt: number;
  readonly cwd: string;
  readonly runId: string;
  readonly resume: any;
  readonly #attempt: Attempt;

  constructor(run: RunScope, attempt: Attempt) {
    this.input = run.input;
    this.outputs = run.outputs;
    this.results = run.results;
    this.services = run.services;
    this.nodeId = attempt.nodeId;
    this.attemptId = attempt.attemptId;
    this.attempt = attempt.attempt;
    this.cwd = run.cwd;
    this.runId = run.runId;
    this.resume = run.resumeInput;
    this.#attempt = attempt;
  }

  get signal(): AbortSignal {
    return this.#attempt.signal;
  }

  /** acpx: runs a command inside a node function (stopped with the attempt; rejects when the attempt is
   *  interrupted). Its receipt is part of the function action, not a separate action. A getter, so that
   *  destructuring (`({ runShell }) => …`) keeps it bound and contexts that never use it allocate nothing. */
  get runShell(): (execution: FlowShellExecution) => Promise<FlowShellResult> {
    const attempt = this.#attempt;
    const base = this.cwd;
    return async (execution) => {
      const cwd = execution.cwd === undefined ? base : resolvePath(base, execution.cwd);
      const running = runShellCommand(execution, { cwd, signal: attempt.signal });
      const owned = (attempt.owned ??= new Set());
      owned.add(running);
      const result = await running.finally(() => owned.delete(running));
      if (result.aborted) throw attempt.interrupted?.error ?? new NodeError('cancelled', `shell: "${execution.command}" was stopped`);
      return result;
    };
  }
}
