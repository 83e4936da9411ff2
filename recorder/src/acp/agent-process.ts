// An ACP agent's process, apart from the protocol it speaks: spawned in a process group of its own under the
// watchdog; its stdout tapped line by line for the connection; its stderr kept (the tail for error hints, the lines
// recorded up to a cap); its exit and the end of its stdout watched; why it can no longer take requests (the
// AgentFailure); and its shutdown. What a stdout line means, and when the protocol is broken, is client.ts's to say.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { failureError, type AgentFailure } from './agent-failure.ts';
import type { AgentObservers } from './agent-observers.ts';
import type { AcpAgentOptions } from './client-options.ts';
import { AcpError } from './errors.ts';
import { trackAgent, untrackAgent } from './live-agents.ts';
import { signalGroup } from './process.ts';
import { StderrTail } from './stderr-tail.ts';
import { stopAgentProcess } from './stop-agent.ts';
import {
  AGENT_LINE_MAX_BYTES,
  AGENT_OUTPUT_CAP_BYTES,
  tapIncoming,
  tapLines,
  type CappedLines,
  type IncomingStream,
  type LineTooLongError,
  type LineVerdict,
} from './traffic.ts';
import { spawnWatched } from './watchdog.ts';

/** What the connection does with the agent's stdout. */
export interface AgentStdoutHandler {
  /** Each line the agent writes to stdout, in order, before the SDK sees it (traffic.ts). */
  onLine(line: string): LineVerdict;
  /** The agent broke the protocol below the level of messages: a line past the limit, or its stdout closed while it runs on. */
  onProtocolFailure(detail: string): void;
}

export class AgentProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** The agent's stdout line by line, for the connection; what is not recorded is counted in `incoming.omitted`. */
  readonly incoming: IncomingStream;
  /** Resolves once the agent has a failure (it exited, broke the protocol or was closed). */
  readonly failed: Promise<void>;
  /** Resolves once the agent (the group's leader) has exited. */
  readonly exited: Promise<void>;
  /** Resolves once its stdio pipes are closed. */
  readonly streamsClosed: Promise<void>;

  private readonly command: string;
  private readonly observers: AgentObservers;
  private currentFailure: AgentFailure | undefined;
  private failureSet!: () => void;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private stdoutEnded = false;
  /** The watch armed when only one of exit and stdout's end has come (onExit, onStdoutEnd); cleared by the other. */
  private halfGone: NodeJS.Timeout | undefined;
  /** The last bytes of stderr, recorded or not, for the hint in an exit error. */
  private readonly stderrTail = new StderrTail();
  private readonly stderrLines: CappedLines;
  /** Unregisters the agent's group from the watchdog (which kills it should this process die first). */
  private readonly unwatch: () => Promise<void>;

  constructor(options: AcpAgentOptions, observers: AgentObservers, stdout: AgentStdoutHandler) {
    this.command = options.command;
    this.observers = observers;
    this.failed = new Promise((resolve) => (this.failureSet = resolve));
    const env = { ...(options.inheritEnv === false ? {} : process.env), ...options.env };
    // Under the watchdog, which kills the agent's group should this process die without closing it.
    ({ child: this.child, unwatch: this.unwatch } = spawnWatched(() =>
      spawn(options.command, options.args ?? [], { cwd: options.cwd, env, stdio: 'pipe', detached: true })));
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.once('exit', (code, signal) => this.onExit(code, signal));
    this.child.on('error', () => {}); // spawn errors are handled by spawned(); later ones (kill) are harmless
    this.child.stdin.on('error', () => {}); // EPIPE once the agent is gone: the pending write rejects instead
    this.streamsClosed = new Promise((resolve) => this.child.once('close', () => resolve()));
    this.child.stderr.on('data', (chunk: Buffer) => this.stderrTail.keep(chunk));
    this.stderrLines = tapLines(this.child.stderr, AGENT_OUTPUT_CAP_BYTES, (text) => observers.traffic({ direction: 'stderr', text }));
    this.incoming = tapIncoming(this.child.stdout, {
      onLine: (line) => stdout.onLine(line),
      onTooLong: (error: LineTooLongError) => stdout.onProtocolFailure(`agent wrote ${error.message} to stdout`),
      onEnd: () => this.onStdoutEnd(stdout),
    }, AGENT_LINE_MAX_BYTES);
    trackAgent(this);
  }

  /** The agent's process id (the leader of its process group). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Why the agent can no longer take requests, once it cannot. */
  get failure(): AgentFailure | undefined {
    return this.currentFailure;
  }

  /** Resolves once the agent is running; rejects with agent_missing when its command cannot be started. */
  spawned(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.child.once('spawn', resolve);
      this.child.once('error', (error: NodeJS.ErrnoException) => {
        this.setFailure({ kind: 'closed' });
        const command = this.command;
        if (error.code === 'ENOENT') reject(new AcpError('agent_missing', `agent command not found: ${command}`));
        else if (error.code === 'EACCES') reject(new AcpError('agent_missing', `agent command is not executable: ${command}`));
        else reject(new AcpError('agent_missing', `cannot start agent command ${command}: ${error.message}`));
      });
    });
  }

  /** The first failure wins: later ones (a close after an exit, an exit after a protocol error) change nothing. */
  setFailure(failure: AgentFailure): void {
    if (this.currentFailure) return;
    this.currentFailure = failure;
    this.failureSet();
  }

  /** The error for a request `method` the failure stopped, `before` it was sent or while it waited (agent-failure.ts). */
  failureError(method: string, before: boolean): AcpError {
    return failureError(this.currentFailure, method, before, this.currentFailure?.kind === 'exit' ? this.stderrTail.hint() : undefined);
  }

  /** The last lines of the agent's stderr on one line, if it wrote any. */
  stderrHint(): string | undefined {
    return this.stderrTail.hint();
  }

  hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** The session is closed: nothing more from the agent's stdout or stderr is recorded, only counted. */
  stopRecording(): void {
    this.incoming.stop();
    this.stderrLines.stop();
  }

  /**
   * Marks the agent closed, then stops its process group (stop-agent.ts: with `force` SIGTERM at once, else after its
   * stdin ends and `grace` ms pass), reading what it wrote before it went; from then on nothing is recorded.
   */
  async stop(force: boolean, grace: number): Promise<void> {
    this.setFailure({ kind: 'closed' });
    await stopAgentProcess(this, force, grace);
    this.stopRecording();
  }

  /** Once stopped and its connection closed: drops its pipes, reports the output not recorded, unregisters it. */
  async release(): Promise<void> {
    this.child.stdout.destroy();
    this.child.stderr.destroy();
    this.observers.omitted('stdout', this.incoming.omitted);
    this.observers.omitted('stderr', this.stderrLines.omitted);
    untrackAgent(this);
    await this.unwatch();
  }

  /** Kills the agent's process group at once, if it is still running (on this process's exit: live-agents.ts). */
  killSync(): void {
    if (this.child.pid !== undefined && !this.exitInfo) signalGroup(this.child.pid, 'SIGKILL');
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.exitInfo = { code, signal };
    // An agent that was closed already has its failure ('closed'): this one counts only for an agent that exited on its own.
    this.setFailure({ kind: 'exit', code, signal });
    clearTimeout(this.halfGone);
    if (this.stdoutEnded) return;
    // Something the agent started may still hold its stdout open: do not let pending requests wait on it.
    this.halfGone = setTimeout(() => {
      signalGroup(this.child.pid!, 'SIGKILL');
      this.child.stdout.destroy();
    }, 500).unref();
  }

  private onStdoutEnd(stdout: AgentStdoutHandler): void {
    this.stdoutEnded = true;
    clearTimeout(this.halfGone);
    if (this.exitInfo) return;
    // An agent that closed its stdout but keeps running is of no use: classify it and shut it down.
    this.halfGone = setTimeout(() => {
      stdout.onProtocolFailure('agent closed its stdout');
    }, 1_000).unref();
  }
}
