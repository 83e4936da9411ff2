// Runs one shell action: spawns the command in its own process group, captures stdout/stderr as text, and on
// abort or deadline stops the whole group (SIGTERM, then SIGKILL) and waits for it, so nothing is left behind.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { spawnWatched } from '../acp/watchdog.ts';
import { NodeError } from './errors.ts';

/** What a shell node runs (acpx's ShellActionExecution). */
export interface ShellActionExecution {
  command: string;
  args?: string[];
  /** Relative to the run cwd. */
  cwd?: string;
  /** Added to the environment of this process. */
  env?: Record<string, string>;
  stdin?: string;
  /** Run through a shell (`true`: /bin/sh, or the given shell). Needed for `command` strings like `a | b`. */
  shell?: boolean | string;
  /** A non-zero exit code is not a failure. */
  allowNonZeroExit?: boolean;
  /** The command's own deadline: the node ends `timed_out`. */
  timeoutMs?: number;
  /** Per-stream capture limit in UTF-8 bytes; exceeding it stops the command and fails the node. */
  maxBufferBytes?: number;
}

export interface ShellActionResult {
  command: string;
  args: string[];
  cwd: string;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved in arrival order. */
  combinedOutput: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
  /** The command's own `timeoutMs` expired. */
  timedOut: boolean;
  /** The caller's signal aborted the command. */
  aborted: boolean;
  /** The capture limit was exceeded (`maxBufferBytes`). */
  overflowed: boolean;
}

/** What `context.runShell` takes (acpx's FlowShellExecution): a non-zero exit is reported, never thrown. */
export type FlowShellExecution = Omit<ShellActionExecution, 'allowNonZeroExit'>;
export type FlowShellResult = ShellActionResult;

export interface RunShellOptions {
  cwd: string;
  signal?: AbortSignal;
  /** Between SIGTERM and SIGKILL. */
  killGraceMs?: number;
}

/** Something that runs a shell action in place of spawning it (a replay answers from the recording). */
export type ShellRunner = (
  exec: ShellActionExecution,
  options: { cwd: string; signal: AbortSignal; nodeId: string; attemptId: string },
) => Promise<ShellActionResult>;

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

/** Spawns the command and resolves when it is over (never rejects except when it cannot be started). */
export function runShellCommand(exec: ShellActionExecution, options: RunShellOptions): Promise<ShellActionResult> {
  const args = exec.args ?? [];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new NodeError('cancelled', `shell: "${exec.command}" not started: the attempt was already interrupted`));
      return;
    }
    // Under the watchdog, which kills the command's group should this process die before the command ends.
    const { child, unwatch } = spawnWatched(() => spawn(exec.command, args, {
      cwd: options.cwd,
      env: exec.env ? { ...process.env, ...exec.env } : process.env,
      shell: exec.shell ?? false,
      detached: true,
      stdio: [exec.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    }));
    const out = child.stdout!;
    const err = child.stderr!;
    let stdout = '';
    let stderr = '';
    let combinedOutput = '';
    let outBytes = 0;
    let errBytes = 0;
    let timedOut = false;
    let aborted = false;
    let overflowed = false;
    let killTimer: NodeJS.Timeout | undefined;
    let deadline: NodeJS.Timeout | undefined;
    let done = false;

    const stop = (): void => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      signalGroup(child.pid, 'SIGTERM');
      killTimer ??= setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), options.killGraceMs ?? 1_000);
    };
    const onAbort = (): void => {
      aborted = true;
      stop();
    };
    const cleanup = (): void => {
      done = true;
      if (killTimer) clearTimeout(killTimer);
      if (deadline) clearTimeout(deadline);
      options.signal?.removeEventListener('abort', onAbort);
    };

    child.once('error', (error: NodeJS.ErrnoException) => {
      if (done) return;
      cleanup();
      const why = error.code === 'ENOENT' ? 'command not found' : error.code === 'EACCES' ? 'not executable' : error.message;
      reject(new NodeError('spawn_failed', `shell: cannot run "${exec.command}" in ${options.cwd}: ${why}`));
    });

    const limit = exec.maxBufferBytes;
    out.setEncoding('utf8');
    err.setEncoding('utf8');
    out.on('data', (chunk: string) => {
      if (limit !== undefined && (outBytes += Buffer.byteLength(chunk)) > limit) {
        overflowed = true;
        stop();
        return;
      }
      stdout += chunk;
      combinedOutput += chunk;
    });
    err.on('data', (chunk: string) => {
      if (limit !== undefined && (errBytes += Buffer.byteLength(chunk)) > limit) {
        overflowed = true;
        stop();
        return;
      }
      stderr += chunk;
      combinedOutput += chunk;
    });
    if (exec.stdin !== undefined && child.stdin) {
      child.stdin.on('error', () => {}); // EPIPE when the command does not read its input
      child.stdin.end(exec.stdin);
    }

    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (exec.timeoutMs !== undefined) {
      deadline = setTimeout(() => {
        timedOut = true;
        stop();
      }, exec.timeoutMs);
    }

    // 'close' waits for the pipes; a leftover grandchild could hold them open, so 'exit' bounds that wait.
    let exitTimer: NodeJS.Timeout | undefined;
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      if (done) return;
      if (exitTimer) clearTimeout(exitTimer);
      cleanup();
      // Whatever the command left running in its group goes too.
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
      const result: ShellActionResult = {
        command: exec.command,
        args,
        cwd: options.cwd,
        stdout,
        stderr,
        combinedOutput,
        exitCode,
        signal,
        durationMs: performance.now() - started,
        timedOut,
        aborted,
        overflowed,
      };
      void unwatch().then(() => resolve(result));
    };
    child.once('exit', (code, signal) => {
      exitTimer = setTimeout(() => {
        out.destroy();
        err.destroy();
        finish(code, signal);
      }, 500);
    });
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => finish(code, signal));
  });
}
