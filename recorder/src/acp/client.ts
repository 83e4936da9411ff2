// The ACP client: spawns an agent process, talks ACP to it over stdio with the SDK's client side, records
// every raw message, serves fs requests inside the run directory, answers permission requests by policy,
// and turns every failure into a one-line AcpError. It never leaves the agent process (group) behind.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { stat } from 'node:fs/promises';
import {
  client as clientApp,
  ndJsonStream,
  RequestError,
  type AgentCapabilities,
  type AuthMethod,
  type ClientConnection,
  type McpServer,
  type NewSessionResponse,
  type RequestPermissionRequest,
  type RequestPermissionResponse,
} from '@agentclientprotocol/sdk';
import { brokenAnswer, failureError, refusalDetail, type AgentFailure } from './agent-failure.ts';
import { authenticate, authRequired, initialize, type AgentIdentity } from './agent-handshake.ts';
import { AgentObservers } from './agent-observers.ts';
import { wireRecord, type AcpAgentOptions, type PromptOptions } from './client-options.ts';
import { AcpError, clip } from './errors.ts';
import { FsJail } from './fs-jail.ts';
import { isSessionNotification, readIncomingLine } from './incoming-line.ts';
import { killAllAgentsSync, trackAgent, untrackAgent } from './live-agents.ts';
import { signalGroup } from './process.ts';
import { SessionTurns } from './session-turns.ts';
import { delay, interruption, settle } from './settle.ts';
import { StderrTail } from './stderr-tail.ts';
import { stopAgentProcess } from './stop-agent.ts';
import {
  AGENT_OUTPUT_CAP_BYTES,
  LineTooLongError,
  tapIncoming,
  tapLines,
  tapOutgoing,
  utf8Prefix,
  type CappedLines,
  type IncomingStream,
  type LineVerdict,
} from './traffic.ts';
import { spawnWatched } from './watchdog.ts';

export { AcpError, type AcpErrorCode } from './errors.ts';
export type { PermissionPolicy } from './permissions.ts';
export type { AcpAgentOptions, AcpTrafficRecord, PromptOptions } from './client-options.ts';

const maxLineBytes = 32 * 1024 * 1024;
/** How long a refusal waits for stderr lines the agent wrote just before it. */
const stderrSettleMs = 50;

export class AcpAgent {
  private info: AgentIdentity = { protocolVersion: 0, authMethods: [] };

  private readonly child: ChildProcessWithoutNullStreams;
  private readonly connection: ClientConnection;
  private readonly options: AcpAgentOptions;
  private readonly jail: FsJail;
  private readonly observers: AgentObservers;
  private failure: AgentFailure | undefined;
  private failureSet!: () => void;
  private readonly failed: Promise<void>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;
  private closePromise: Promise<void> | undefined;
  /** The last bytes of stderr, recorded or not, for the hint in an exit error. */
  private readonly stderrTail = new StderrTail();
  private readonly stderrLines: CappedLines;
  private readonly incoming: IncomingStream;
  private readonly streamsClosed: Promise<void>;
  private readonly turns: SessionTurns;
  private stdoutEnded = false;
  /** Unregisters the agent's group from the watchdog (which kills it should this process die first). */
  private readonly unwatch: () => Promise<void>;
  private authenticatedWith: string | undefined;

  /** The agent's process id (the leader of its process group). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** From the initialize answer. */
  get agentInfo(): { name: string; version?: string; title?: string } | undefined {
    return this.info.agentInfo;
  }

  get protocolVersion(): number {
    return this.info.protocolVersion;
  }

  get agentCapabilities(): AgentCapabilities | undefined {
    return this.info.agentCapabilities;
  }

  get authMethods(): readonly AuthMethod[] {
    return this.info.authMethods;
  }

  /** The auth method flowtape authenticated with, if any. */
  get authMethodId(): string | undefined {
    return this.authenticatedWith;
  }

  /** Spawns the agent and initializes the connection (client capabilities: fs read and write). */
  static async start(options: AcpAgentOptions): Promise<AcpAgent> {
    const { signal } = options;
    const cancelled = (): AcpError => new AcpError('cancelled', 'agent start cancelled during initialize', { method: 'initialize' });
    const info = await stat(options.cwd).catch(() => undefined);
    if (!info?.isDirectory()) throw new AcpError('invalid_cwd', `run directory does not exist: ${options.cwd}`);
    if (signal?.aborted) throw new AcpError('cancelled', 'agent start cancelled before the agent was spawned');
    const agent = new AcpAgent(options);
    // Killing the agent fails the pending initialize, so start() settles once the agent is gone.
    const onAbort = (): void => void agent.close({ force: true });
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await agent.spawned();
      await agent.initialize();
      if (signal?.aborted) throw cancelled();
      await agent.authenticate();
      if (signal?.aborted) throw cancelled();
    } catch (error) {
      await agent.close();
      const failure = signal?.aborted ? cancelled() : error;
      if (failure instanceof AcpError && agent.pid !== undefined) failure.pid = agent.pid;
      if (failure instanceof AcpError && agent.agentInfo) failure.agentName = agent.agentInfo.name;
      throw failure;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return agent;
  }

  private constructor(options: AcpAgentOptions) {
    this.options = options;
    this.jail = new FsJail(options.cwd);
    this.observers = new AgentObservers(options);
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
    this.stderrLines = tapLines(this.child.stderr, AGENT_OUTPUT_CAP_BYTES, (text) => this.observers.traffic({ direction: 'stderr', text }));

    this.incoming = tapIncoming(this.child.stdout, {
      onLine: (line) => this.onIncomingLine(line),
      onTooLong: (error: LineTooLongError) => this.protocolFailure(`agent wrote ${error.message} to stdout`),
      onEnd: () => this.onStdoutEnd(),
    }, maxLineBytes);
    const output = tapOutgoing(this.child.stdin, (line) => this.observers.traffic(wireRecord('outgoing', line, JSON.parse(line))));

    // The SDK answers the agent's requests through these handlers. session/update notifications never reach
    // it: onIncomingLine delivers them straight off the wire (see there).
    const app = clientApp({ name: 'flowtape' })
      .onRequest('session/request_permission', ({ params }) => this.onPermissionRequest(params))
      .onRequest('fs/read_text_file', async ({ params }) => ({
        content: await this.jail.readTextFile(params.path, params.line, params.limit),
      }))
      .onRequest('fs/write_text_file', async ({ params }) => {
        await this.jail.writeTextFile(params.path, params.content);
        return {};
      });
    this.connection = app.connect(ndJsonStream(output, this.incoming.readable, { maxMessageBytes: maxLineBytes }));
    this.turns = new SessionTurns({
      connection: this.connection,
      cancelGraceMs: options.cancelGraceMs ?? 3_000,
      permissionPolicy: options.permissionPolicy,
      assertUsable: (method) => this.assertUsable(method),
      toAcpError: (error, method) => this.toAcpError(error, method),
      asAuthRequired: (error, method) => this.asAuthRequired(error, method),
    });
    void this.connection.closed.then(() => this.onConnectionClosed());
    trackAgent(this);
  }

  /**
   * Opens a session; the agent works in `cwd` (fs requests are still served inside the run directory only) with the
   * MCP servers given, sent as they are.
   */
  async newSession(cwd: string, mcpServers: McpServer[] = []): Promise<{ sessionId: string }> {
    const method = 'session/new';
    let response: NewSessionResponse;
    try {
      response = await this.send<NewSessionResponse>(method, () => this.connection.agent.request('session/new', { cwd, mcpServers }));
    } catch (error) {
      throw this.asAuthRequired(error, method);
    }
    if (typeof response?.sessionId !== 'string' || response.sessionId === '') {
      throw brokenAnswer(method, 'an answer without a sessionId');
    }
    return { sessionId: response.sessionId };
  }

  /**
   * How this agent can continue a session recorded earlier (by another process): `session/resume` when it
   * advertises `sessionCapabilities.resume` (no history replayed), else `session/load` when it advertises
   * `loadSession` (the agent replays the history as session/update notifications before answering), else none.
   */
  get continuation(): 'session/resume' | 'session/load' | undefined {
    const capabilities = this.info.agentCapabilities;
    if (capabilities?.sessionCapabilities?.resume) return 'session/resume';
    if (capabilities?.loadSession === true) return 'session/load';
    return undefined;
  }

  /** Whether requests can still be sent (the agent has not exited, been closed or broken the protocol). */
  get usable(): boolean {
    return this.failure === undefined;
  }

  /** Continues the agent's session `sessionId` with `via` (see `continuation`); rejects like newSession. */
  async continueSession(via: 'session/resume' | 'session/load', sessionId: string, cwd: string, mcpServers: McpServer[] = []): Promise<void> {
    await this.send(via, () =>
      via === 'session/resume'
        ? this.connection.agent.request('session/resume', { sessionId, cwd, mcpServers })
        : this.connection.agent.request('session/load', { sessionId, cwd, mcpServers }));
  }

  /** ACP's auth_required from an agent flowtape did not log in, as the refusal that says how to (agent-handshake.ts). */
  private asAuthRequired(error: unknown, method: string): unknown {
    return this.authenticatedWith === undefined ? authRequired(error, method, this.info.authMethods, (rpcData) => this.refusalDetail(rpcData, false)) : error;
  }

  /**
   * Sends one text prompt and resolves with the agent's stop reason once the turn is over, and the answer's
   * `usage` exactly as sent (not checked: the caller keeps what is valid).
   */
  prompt(sessionId: string, text: string, options: PromptOptions = {}): Promise<{ stopReason: string; usage?: unknown }> {
    return this.turns.prompt(sessionId, text, options);
  }

  /**
   * Ends stdin, waits for the agent to exit, then SIGTERM and SIGKILL to its process group. With `force` (an agent
   * given up on) SIGTERM goes at once, SIGKILL closeGraceMs later. Idempotent: a second call joins the first.
   */
  close(options: { force?: boolean } = {}): Promise<void> {
    this.closePromise ??= this.shutdown(options.force === true);
    return this.closePromise;
  }

  // ---- startup -------------------------------------------------------------------------------------------

  private spawned(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.child.once('spawn', resolve);
      this.child.once('error', (error: NodeJS.ErrnoException) => {
        this.setFailure({ kind: 'closed' });
        const command = this.options.command;
        if (error.code === 'ENOENT') reject(new AcpError('agent_missing', `agent command not found: ${command}`));
        else if (error.code === 'EACCES') reject(new AcpError('agent_missing', `agent command is not executable: ${command}`));
        else reject(new AcpError('agent_missing', `cannot start agent command ${command}: ${error.message}`));
      });
    });
  }

  private async initialize(): Promise<void> {
    this.info = await initialize(this.connection, this.send, this.options.clientInfo);
  }

  private async authenticate(): Promise<void> {
    this.authenticatedWith = await authenticate(this.connection, this.send, this.info.authMethods, this.options, (rpcData) => this.refusalDetail(rpcData));
  }

  // ---- requests ------------------------------------------------------------------------------------------

  /** A request with the client's limit for answers other than a prompt's. */
  private readonly send = <T>(method: string, request: () => Promise<T>): Promise<T> =>
    this.request<T>(method, this.options.requestTimeoutMs ?? 60_000, request);

  /** Sends a request with a time limit, mapping every failure to an AcpError. */
  private async request<T>(method: string, timeoutMs: number, send: () => Promise<T>): Promise<T> {
    this.assertUsable(method);
    const response = send();
    response.catch(() => {});
    const interrupt = interruption(undefined, timeoutMs);
    try {
      const first = await Promise.race([settle(response), interrupt.promise]);
      if (first.kind === 'value') return first.value;
      if (first.kind === 'error') throw await this.toAcpError(first.error, method);
      throw new AcpError('timeout', `agent did not answer ${method} within ${timeoutMs} ms`, { method });
    } finally {
      interrupt.dispose();
    }
  }

  /** Maps a rejected request to an AcpError: the agent's JSON-RPC error, or why the connection broke. */
  private async toAcpError(error: unknown, method: string): Promise<AcpError> {
    if (error instanceof AcpError) return error;
    if (error instanceof RequestError) {
      // stderr is another pipe: a line written just before the answer may not have been read yet.
      await delay(stderrSettleMs);
      return new AcpError('rpc_error', `agent refused ${method}: ${clip(error.message)}${this.refusalDetail(error.data)}`, {
        rpcCode: error.code, rpcMessage: error.message, rpcData: error.data, method,
      });
    }
    await this.failed;
    return this.failureError(method, false);
  }

  private assertUsable(method: string): void {
    if (this.failure) throw this.failureError(method, true);
  }

  private failureError(method: string, before: boolean): AcpError {
    return failureError(this.failure, method, before, this.failure?.kind === 'exit' ? this.stderrTail.hint() : undefined);
  }

  /** The end of a refusal's message: the error's data and, unless `withStderr` is false, the agent's last stderr. */
  private refusalDetail(rpcData: unknown, withStderr = true): string {
    return refusalDetail(rpcData, withStderr ? this.stderrTail.hint() : undefined);
  }

  // ---- incoming traffic ----------------------------------------------------------------------------------

  private onIncomingLine(line: string): LineVerdict {
    const incoming = readIncomingLine(line);
    if (incoming.kind === 'blank') return 'skip';
    const usable = this.failure?.kind !== 'protocol';
    if (incoming.kind === 'garbage') {
      // Only this line of garbage is recorded (the tap stops after it), and at most the cap of it.
      const text = utf8Prefix(line, AGENT_OUTPUT_CAP_BYTES);
      this.observers.traffic({ direction: 'incoming', text });
      // Counted from the UTF-8 of the decoded line, with its newline: exact unless it had a CR or invalid UTF-8.
      if (text.length < line.length) this.incoming.omitted.add(Buffer.from(`${line.slice(text.length)}\n`, 'utf8'), 'cap');
      this.protocolFailure(`non-JSON line on stdout: ${JSON.stringify(clip(line, 120))}`);
      return 'stop';
    }
    this.observers.traffic(wireRecord('incoming', line, incoming.message));
    if (incoming.kind === 'not-json-rpc') {
      this.protocolFailure(`not a JSON-RPC 2.0 message on stdout: ${clip(line, 120)}`);
      return 'stop';
    }
    if (!usable) return 'stop';
    // session/update is delivered here, in wire order and exactly as sent (checked for shape only, so update
    // kinds newer than the SDK pass through): every update is delivered before anything that follows it on
    // the wire is handled, such as the prompt's answer or a permission request about the tool call.
    if (incoming.kind === 'session-update') {
      this.onSessionUpdate((JSON.parse(line) as { params?: unknown }).params); // a copy: observers may keep both
      return 'skip';
    }
    return 'forward';
  }

  private onSessionUpdate(notification: unknown): void {
    if (!isSessionNotification(notification)) return; // malformed: recorded as traffic, nothing to deliver
    this.turns.noteUpdate(notification);
    this.observers.update(notification);
  }

  private onPermissionRequest(request: RequestPermissionRequest): RequestPermissionResponse {
    const response = this.turns.answerPermission(request);
    this.observers.permission(request, response);
    return response;
  }

  // ---- failures and shutdown -----------------------------------------------------------------------------

  private setFailure(failure: AgentFailure): void {
    if (this.failure) return;
    this.failure = failure;
    this.failureSet();
  }

  /** The agent broke the protocol: fail everything pending at once and shut the agent down. */
  private protocolFailure(detail: string): void {
    this.setFailure({ kind: 'protocol', detail });
    // The session is over: whatever the agent writes from now on is counted, not recorded.
    this.stopRecording();
    // Lines before the bad one are already queued in the SDK: let them be delivered, then close.
    setImmediate(() => this.connection.close());
    this.close().catch(() => {});
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.exitInfo = { code, signal };
    this.setFailure(this.closePromise ? { kind: 'closed' } : { kind: 'exit', code, signal });
    // Something the agent started may still hold its stdout open: do not let pending requests wait on it.
    setTimeout(() => {
      if (this.stdoutEnded) return;
      signalGroup(this.child.pid!, 'SIGKILL');
      this.child.stdout.destroy();
    }, 500).unref();
  }

  private onStdoutEnd(): void {
    this.stdoutEnded = true;
    // An agent that closed its stdout but keeps running is of no use: classify it and shut it down.
    setTimeout(() => {
      if (this.exitInfo) return;
      this.protocolFailure('agent closed its stdout');
    }, 1_000).unref();
  }

  private onConnectionClosed(): void {
    // Normally an exit or a protocol error explains the close; if nothing does soon, say so and shut down.
    setTimeout(() => {
      if (this.failure) return;
      this.protocolFailure('the connection closed unexpectedly');
    }, 1_000).unref();
  }

  private async shutdown(force: boolean): Promise<void> {
    this.setFailure({ kind: 'closed' });
    await stopAgentProcess(
      { child: this.child, hasExited: () => this.exitInfo !== undefined, exited: this.exited, streamsClosed: this.streamsClosed, stopRecording: () => this.stopRecording() },
      force,
      this.options.closeGraceMs ?? 2_000,
    );
    this.stopRecording();
    this.connection.close();
    this.child.stdout.destroy();
    this.child.stderr.destroy();
    this.observers.omitted('stdout', this.incoming.omitted);
    this.observers.omitted('stderr', this.stderrLines.omitted);
    untrackAgent(this);
    await this.unwatch();
  }

  /** The session is closed: nothing more from the agent's stdout or stderr is recorded, only counted. */
  private stopRecording(): void {
    this.incoming.stop();
    this.stderrLines.stop();
  }

  /** Kills the agent's process group at once, if it is still running (on this process's exit: live-agents.ts). */
  killSync(): void {
    if (this.child.pid !== undefined && !this.exitInfo) signalGroup(this.child.pid, 'SIGKILL');
  }

  /** @internal Kills every agent still running when this process exits (synchronous, last resort). */
  static killAllSync(): void {
    killAllAgentsSync();
  }
}
