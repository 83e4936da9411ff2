// The action nodes: a function action and a shell action, each between its action.started and action.completed
// (an attempt interrupted meanwhile leaves the action open: the run closes it before the attempt's outcome).
import { resolve as resolvePath } from 'node:path';
import { NodeContext, type Attempt, type RunScope } from './attempt.ts';
import { commandText } from './command.ts';
import type { FunctionActionNodeDefinition, ShellActionNodeDefinition } from './definition.ts';
import { NodeError, toErrorInfo } from './errors.ts';
import type { LifecycleEvent } from './lifecycle.ts';
import { runShellCommand, type ShellActionExecution, type ShellRunner } from './shell.ts';

/** What an action node reads from its run. */
export interface ActionHost {
  run: RunScope;
  /** The run's clock. */
  now(): number;
  /** The run's working directory. */
  cwd: string;
  /** Errors keep their stack (not in deterministic runs). */
  withStack: boolean;
  shellRunner: ShellRunner | undefined;
}

export async function runFunctionAction(host: ActionHost, node: FunctionActionNodeDefinition, attempt: Attempt): Promise<unknown> {
  const startedAt = host.now();
  attempt.emit({ type: 'action.started', nodeId: attempt.nodeId, attemptId: attempt.attemptId, actionType: 'function' });
  attempt.openAction = { actionType: 'function', startedAt };
  let output: unknown;
  try {
    output = await node.run(new NodeContext(host.run, attempt));
  } catch (error) {
    completeAction(host, attempt, startedAt, { actionType: 'function', ok: false, error: toErrorInfo(attempt.interrupted?.error ?? error, 'action_failed', host.withStack) });
    throw error;
  }
  completeAction(host, attempt, startedAt, {
    actionType: 'function',
    ok: !attempt.interrupted,
    ...(attempt.interrupted ? { error: toErrorInfo(attempt.interrupted.error, attempt.interrupted.outcome) } : { output }),
  });
  return output;
}

export async function runShellAction(host: ActionHost, node: ShellActionNodeDefinition, attempt: Attempt): Promise<unknown> {
  const context = new NodeContext(host.run, attempt);
  const exec: ShellActionExecution = typeof node.exec === 'function' ? await node.exec(context) : node.exec;
  if (typeof exec !== 'object' || exec === null || typeof exec.command !== 'string' || exec.command === '') {
    throw new NodeError('invalid_exec', `node "${attempt.nodeId}": exec must give { command: string, args?: string[], … }`);
  }
  const cwd = exec.cwd === undefined ? host.cwd : resolvePath(host.cwd, exec.cwd);
  const startedAt = host.now();
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
    result = host.shellRunner
      ? await host.shellRunner(exec, { cwd, signal: attempt.signal, nodeId: attempt.nodeId, attemptId: attempt.attemptId })
      : await runShellCommand(exec, { cwd, signal: attempt.signal });
  } catch (error) {
    completeAction(host, attempt, startedAt, { actionType: 'shell', ok: false, error: toErrorInfo(error, 'spawn_failed') });
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
  completeAction(host, attempt, startedAt, {
    actionType: 'shell',
    ok: failure === undefined,
    exitCode: result.exitCode,
    signal: result.signal,
    stdout: result.stdout,
    stderr: result.stderr,
    ...(failure ? { error: toErrorInfo(failure, 'shell_failed') } : {}),
  });
  if (failure) {
    failure.output = summary;
    throw failure;
  }
  return node.parse ? await node.parse(result, context) : summary;
}

type ActionCompleted = Extract<LifecycleEvent, { type: 'action.completed' }>;

/**
 * Emits the action's action.completed, unless the attempt closed it already (interrupted meanwhile: the run closes
 * the open action before the attempt's outcome) or has its outcome.
 */
function completeAction(host: ActionHost, attempt: Attempt, startedAt: number, completed: Omit<ActionCompleted, 'type' | 'nodeId' | 'attemptId' | 'durationMs'>): void {
  if (!attempt.openAction || attempt.settled) return;
  attempt.openAction = undefined;
  // In the order the events always had: their payload is written as it comes.
  const { actionType, ok, ...rest } = completed;
  attempt.emit({ type: 'action.completed', nodeId: attempt.nodeId, attemptId: attempt.attemptId, actionType, ok, durationMs: Math.max(0, host.now() - startedAt), ...rest });
}

function lastLine(text: string): string | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const line = lines.at(-1);
  return line === undefined ? undefined : line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
