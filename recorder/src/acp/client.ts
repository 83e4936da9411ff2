// The ACP client: spawns an agent process, talks ACP to it over stdio with the SDK's client side, records
// every raw message, serves fs requests inside the run directory, answers permission requests by policy,
// and turns every failure into a one-line AcpError. It never leaves the agent process (group) behind.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { stat } from 'node:fs/promises';
import {
  client as clientApp,
  ndJsonStream,
  PROTOCOL_VERSION,
  RequestError,
  type AgentCapabilities,
  type AuthMethod,
  type ClientConnection,
  type InitializeResponse,
  type McpServer,
  type NewSessionResponse,
  type PromptResponse,
  type RequestPermissionRequest,
  type RequestPermissionResponse,
  type SessionNotification,
  type ToolKind,
} from '@agentclientprotocol/sdk';
import { AUTH_HINT, chooseAuthMethod, describeMethods } from './auth.ts';
import { wireRecord, type AcpAgentOptions, type AcpTrafficRecord, type PromptOptions } from './client-options.ts';
import { AcpError, clip, renderData } from './errors.ts';
import { FsJail } from './fs-jail.ts';
import { decidePermission, DEFAULT_PERMISSION_POLICY } from './permissions.ts';
import { isGroupAlive, signalGroup, waitUntilGone } from './process.ts';
import { delay, interruption, settle, type Settled } from './settle.ts';
import { StderrTail } from './stderr-tail.ts';
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
  type Omitted,
} from './traffic.ts';
import { turnInFlight, type TurnInFlight } from './turn-in-flight.ts';
import { spawnWatched } from './watchdog.ts';

export { AcpError, type AcpErrorCode } from './errors.ts';
export type { PermissionPolicy } from './permissions.ts';
export type { AcpAgentOptions, AcpTrafficRecord, PromptOptions } from './client-options.ts';

type Failure =
  | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'protocol'; detail: string }
  | { kind: 'closed' };

const maxLineBytes = 32 * 1024 * 1024;
/** How long a refusal waits for stderr lines the agent wrote just before it. */
const stderrSettleMs = 50;
/** ACP's JSON-RPC error code for "authentication required". */
const AUTH_REQUIRED = -32000;
const live = new Set<AcpAgent>();
let exitHookInstalled = false;

export class AcpAgent {
  private info: { agentInfo?: { name: string; version?: string; title?: string }; protocolVersion: number; agentCapabilities?: AgentCapabilities; authMethods: AuthMethod[] } = { protocolVersion: 0, authMethods: [] };

  private readonly child: ChildProcessWithoutNullStreams;
  private readonly connection: ClientConnection;
  private readonly options: AcpAgentOptions;
  private readonly jail: FsJail;
  private failure: Failure | undefined;
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
  private readonly toolKinds = new Map<string, ToolKind>();
  private readonly cancelling = new Map<string, number>();
  /** The prompt in flight per ACP session, so a permission answer can cancel its turn. */
  private readonly turns = new Map<string, TurnInFlight>();
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
    this.stderrLines = tapLines(this.child.stderr, AGENT_OUTPUT_CAP_BYTES, (text) => this.traffic({ direction: 'stderr', text }));

    this.incoming = tapIncoming(this.child.stdout, {
      onLine: (line) => this.onIncomingLine(line),
      onTooLong: (error: LineTooLongError) => this.protocolFailure(`agent wrote ${error.message} to stdout`),
      onEnd: () => this.onStdoutEnd(),
    }, maxLineBytes);
    const output = tapOutgoing(this.child.stdin, (line) => this.traffic(wireRecord('outgoing', line, JSON.parse(line))));

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
    void this.connection.closed.then(() => this.onConnectionClosed());
    live.add(this);
    installExitHook();
  }

  /**
   * Opens a session; the agent works in `cwd` (fs requests are still served inside the run directory only) with the
   * MCP servers given, sent as they are.
   */
  async newSession(cwd: string, mcpServers: McpServer[] = []): Promise<{ sessionId: string }> {
    const method = 'session/new';
    let response: NewSessionResponse;
    try {
      response = await this.request<NewSessionResponse>(method, this.options.requestTimeoutMs ?? 60_000, () =>
        this.connection.agent.request('session/new', { cwd, mcpServers }));
    } catch (error) {
      throw this.asAuthRequired(error, method);
    }
    if (typeof response?.sessionId !== 'string' || response.sessionId === '') {
      throw this.brokenAnswer(method, 'an answer without a sessionId');
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
    await this.request(via, this.options.requestTimeoutMs ?? 60_000, () =>
      via === 'session/resume'
        ? this.connection.agent.request('session/resume', { sessionId, cwd, mcpServers })
        : this.connection.agent.request('session/load', { sessionId, cwd, mcpServers }));
  }

  /**
   * ACP's auth_required (-32000) from an agent flowtape did not log in: the refusal says which methods the agent
   * offers and how to pick one. No stderr here: the line already says what to do, and real agents' startup logs
   * would push it past a readable length. Any other error is returned as it is.
   */
  private asAuthRequired(error: unknown, method: string): unknown {
    if (!(error instanceof AcpError) || error.rpcCode !== AUTH_REQUIRED || this.authenticatedWith !== undefined) return error;
    const how = this.info.authMethods.length === 0
      ? 'it offers no auth method flowtape can use: log in with the agent itself first'
      : `it offers ${describeMethods(this.info.authMethods)}; ${AUTH_HINT}`;
    return new AcpError(
      'auth_required',
      `agent refused ${method}: ${clip(error.rpcMessage ?? 'Authentication required')}: the agent needs a login; ${how}${this.refusalDetail(error.rpcData, false)}`,
      { method, rpcCode: error.rpcCode, rpcMessage: error.rpcMessage, rpcData: error.rpcData },
    );
  }

  /**
   * Sends one text prompt and resolves with the agent's stop reason once the turn is over, and the answer's
   * `usage` exactly as sent (not checked: the caller keeps what is valid).
   */
  async prompt(sessionId: string, text: string, options: PromptOptions = {}): Promise<{ stopReason: string; usage?: unknown }> {
    const method = 'session/prompt';
    this.assertUsable(method);
    const { signal, timeoutMs } = options;
    if (signal?.aborted) throw new AcpError('cancelled', 'prompt cancelled before it was sent', { method });
    const response = this.connection.agent.request('session/prompt', { sessionId, prompt: [{ type: 'text', text }] });
    response.catch(() => {});
    const answer = settle(response);
    const interrupt = interruption(signal, timeoutMs);
    const turn = turnInFlight(answer, options.permissionPolicy);
    this.turns.set(sessionId, turn);
    try {
      const first = await Promise.race([answer, interrupt.promise, turn.cancelledByPolicy]);
      // The policy cancelled the turn (session/cancel is sent): whatever the agent answers now ends it that way.
      if (first.kind === 'policy' || turn.policyDetail !== undefined) {
        return await this.cancelTurn(sessionId, answer, 'policy', timeoutMs, turn.policyDetail);
      }
      // Some agents (claude-code-acp) only ask for a login when prompted: the same line as for session/new.
      // JSON-RPC's -32000 is also any server error: on a prompt it counts only when the agent says it is about a login.
      if (first.kind === 'error') {
        const error = await this.toAcpError(first.error, method);
        throw /auth|log ?in|credential/i.test(error.rpcMessage ?? '') ? this.asAuthRequired(error, method) : error;
      }
      if (first.kind === 'value') return await this.finishTurn(first.value, method);
      return await this.cancelTurn(sessionId, answer, first.kind, timeoutMs);
    } finally {
      interrupt.dispose();
      if (this.turns.get(sessionId) === turn) this.turns.delete(sessionId);
    }
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
    const method = 'initialize';
    const response = await this.request<InitializeResponse>(method, this.options.requestTimeoutMs ?? 60_000, () =>
      this.connection.agent.request('initialize', {
        protocolVersion: PROTOCOL_VERSION,
        clientCapabilities: { fs: { readTextFile: true, writeTextFile: true }, terminal: false },
        clientInfo: this.options.clientInfo ?? { name: 'flowtape', version: '0.1.0' },
      }));
    if (typeof response?.protocolVersion !== 'number') throw this.brokenAnswer(method, 'an answer without a protocolVersion');
    const info = response.agentInfo;
    this.info = {
      protocolVersion: response.protocolVersion,
      authMethods: response.authMethods ?? [],
      ...(response.agentCapabilities ? { agentCapabilities: response.agentCapabilities } : {}),
      ...(info && typeof info.name === 'string'
        ? { agentInfo: { name: info.name, ...(info.version ? { version: info.version } : {}), ...(info.title ? { title: info.title } : {}) } }
        : {}),
    };
  }

  /** Sends `authenticate` when a method is named or the environment points at exactly one (auth.ts). */
  private async authenticate(): Promise<void> {
    const env = { ...(this.options.inheritEnv === false ? {} : process.env), ...this.options.env };
    const choice = chooseAuthMethod(this.info.authMethods, this.options.authMethodId, env);
    if (choice.kind === 'none') return;
    if (choice.kind === 'refuse') throw new AcpError('auth_required', choice.message, { method: 'authenticate' });
    const method = 'authenticate';
    try {
      await this.request(method, this.options.requestTimeoutMs ?? 60_000, () =>
        this.connection.agent.request('authenticate', { methodId: choice.methodId }));
    } catch (error) {
      if (error instanceof AcpError && error.code === 'rpc_error') {
        const how = choice.source === 'option' ? 'as asked' : 'chosen from the environment';
        throw new AcpError(
          'auth_required',
          `agent refused authenticate with ${choice.methodId} (${how}): ${clip(error.rpcMessage ?? '')}${this.refusalDetail(error.rpcData)}`,
          { method, rpcCode: error.rpcCode, rpcMessage: error.rpcMessage, rpcData: error.rpcData },
        );
      }
      throw error;
    }
    this.authenticatedWith = choice.methodId;
  }

  // ---- requests ------------------------------------------------------------------------------------------

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

  private async finishTurn(response: PromptResponse, method: string): Promise<{ stopReason: string; usage?: unknown }> {
    if (typeof response?.stopReason !== 'string') throw this.brokenAnswer(method, 'an answer without a stopReason');
    const usage = (response as { usage?: unknown }).usage; // ACP's `usage` on the answer is still unstable: not in the stable type
    return usage === undefined || usage === null ? { stopReason: response.stopReason } : { stopReason: response.stopReason, usage };
  }

  /**
   * Sends `session/cancel`; until the prompt is answered, the session's permission requests are answered `cancelled`
   * (as ACP requires of a client that cancelled).
   */
  private sendCancel(sessionId: string, answer: Promise<Settled<PromptResponse>>): void {
    this.cancelling.set(sessionId, (this.cancelling.get(sessionId) ?? 0) + 1);
    void answer.then(() => {
      const count = (this.cancelling.get(sessionId) ?? 1) - 1;
      if (count > 0) this.cancelling.set(sessionId, count);
      else this.cancelling.delete(sessionId);
    });
    this.connection.agent.notify('session/cancel', { sessionId }).catch(() => {});
  }

  private async cancelTurn(
    sessionId: string,
    answer: Promise<Settled<PromptResponse>>,
    reason: 'aborted' | 'timeout' | 'policy',
    timeoutMs: number | undefined,
    policyDetail?: string,
  ): Promise<never> {
    const method = 'session/prompt';
    // A policy cancel was sent when the permission request came.
    if (reason !== 'policy') this.sendCancel(sessionId, answer);
    const grace = this.options.cancelGraceMs ?? 3_000;
    const limit = interruption(undefined, grace);
    const outcome = await Promise.race([answer, limit.promise]).finally(() => limit.dispose());

    if (outcome.kind === 'error' && !(outcome.error instanceof RequestError)) throw await this.toAcpError(outcome.error, method);
    let stopReason: string | undefined;
    let after: string;
    if (outcome.kind === 'value') {
      stopReason = String(outcome.value?.stopReason);
      after = `the agent stopped with ${stopReason}`;
    } else if (outcome.kind === 'error') {
      after = `the agent answered with an error: ${clip((outcome.error as Error).message)}`;
    } else {
      after = `the agent did not answer session/cancel within ${grace} ms`;
    }
    if (reason === 'timeout') {
      throw new AcpError('timeout', `agent did not finish session/prompt within ${timeoutMs} ms; ${after}`, { method, stopReason });
    }
    if (reason === 'policy') {
      throw new AcpError('permission_cancelled', `${policyDetail}, so flowtape cancelled the turn (session/cancel); ${after}`, { method, stopReason });
    }
    throw new AcpError('cancelled', `prompt cancelled; ${after}`, { method, stopReason });
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

  private brokenAnswer(method: string, what: string): AcpError {
    return new AcpError('protocol_error', `agent sent ${what} to ${method}`, { method });
  }

  private failureError(method: string, before: boolean): AcpError {
    const failure = this.failure ?? { kind: 'closed' as const };
    if (failure.kind === 'closed') {
      return new AcpError('agent_exited', before ? `agent is closed; cannot send ${method}` : `agent was closed during ${method}`, { method });
    }
    if (failure.kind === 'protocol') {
      const what = before ? `agent was shut down after a protocol error; cannot send ${method}` : `agent protocol error during ${method}`;
      return new AcpError('protocol_error', `${what}: ${failure.detail}`, { method });
    }
    const how = failure.signal ? `was killed by ${failure.signal}` : `exited with code ${failure.code}`;
    const hint = this.stderrTail.hint();
    const text = before ? `agent ${how}; cannot send ${method}` : `agent ${how} during ${method}`;
    return new AcpError('agent_exited', hint ? `${text} (stderr: ${hint})` : text, {
      method, exitCode: failure.code, signal: failure.signal,
    });
  }

  /**
   * The end of a refusal's message, " (data: …) (stderr: …)": a short rendering of the JSON-RPC error's `data` and
   * the last lines of the agent's stderr, where a real agent often says why (claude-code-acp's "Internal error"
   * had its cause, "cannot be used with root/sudo privileges", only there).
   */
  private refusalDetail(rpcData: unknown, withStderr = true): string {
    const data = renderData(rpcData);
    const hint = withStderr ? this.stderrTail.hint() : undefined;
    return `${data ? ` (data: ${data})` : ''}${hint ? ` (stderr: ${hint})` : ''}`;
  }

  // ---- incoming traffic ----------------------------------------------------------------------------------

  private onIncomingLine(line: string): LineVerdict {
    if (line.trim() === '') return 'skip';
    const usable = this.failure?.kind !== 'protocol';
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      // Only this line of garbage is recorded (the tap stops after it), and at most the cap of it.
      const text = utf8Prefix(line, AGENT_OUTPUT_CAP_BYTES);
      this.traffic({ direction: 'incoming', text });
      // Counted from the UTF-8 of the decoded line, with its newline: exact unless it had a CR or invalid UTF-8.
      if (text.length < line.length) this.incoming.omitted.add(Buffer.from(`${line.slice(text.length)}\n`, 'utf8'), 'cap');
      this.protocolFailure(`non-JSON line on stdout: ${JSON.stringify(clip(line, 120))}`);
      return 'stop';
    }
    this.traffic(wireRecord('incoming', line, message));
    const m = message as { jsonrpc?: unknown; method?: unknown; id?: unknown };
    if (typeof message !== 'object' || message === null || Array.isArray(message) || m.jsonrpc !== '2.0') {
      this.protocolFailure(`not a JSON-RPC 2.0 message on stdout: ${clip(line, 120)}`);
      return 'stop';
    }
    if (!usable) return 'stop';
    // session/update is delivered here, in wire order and exactly as sent (checked for shape only, so update
    // kinds newer than the SDK pass through): every update is delivered before anything that follows it on
    // the wire is handled, such as the prompt's answer or a permission request about the tool call.
    if (m.method === 'session/update' && !('id' in m)) {
      this.onSessionUpdate((JSON.parse(line) as { params?: unknown }).params); // a copy: observers may keep both
      return 'skip';
    }
    return 'forward';
  }

  private onSessionUpdate(notification: unknown): void {
    if (!isSessionNotification(notification)) return; // malformed: recorded as traffic, nothing to deliver
    const update = notification.update;
    if ((update.sessionUpdate === 'tool_call' || update.sessionUpdate === 'tool_call_update') && update.kind) {
      this.toolKinds.set(`${notification.sessionId}\u0000${update.toolCallId}`, update.kind);
    }
    this.callback(() => this.options.onUpdate?.(notification));
  }

  private onPermissionRequest(request: RequestPermissionRequest): RequestPermissionResponse {
    const cancelled: RequestPermissionResponse = { outcome: { outcome: 'cancelled' } };
    let response = cancelled;
    if (!this.cancelling.has(request.sessionId)) {
      const turn = this.turns.get(request.sessionId);
      const decision = decidePermission(
        turn?.policy ?? this.options.permissionPolicy ?? DEFAULT_PERMISSION_POLICY,
        request,
        this.toolKinds.get(`${request.sessionId}\u0000${request.toolCall?.toolCallId}`),
      );
      if (decision.kind === 'answer') response = decision.response;
      else {
        // No answer the policy allows: cancel the turn for real — session/cancel goes out before this answer — rather
        // than answer `cancelled` to a turn that goes on.
        if (turn && turn.policyDetail === undefined) {
          turn.policyDetail = decision.detail;
          this.sendCancel(request.sessionId, turn.answer);
          turn.stop();
        }
      }
    }
    this.callback(() => this.options.onPermission?.(request, response));
    return response;
  }

  private traffic(record: AcpTrafficRecord): void {
    this.callback(() => this.options.onTraffic?.(record));
  }

  // A throwing observer must not take the connection down with it.
  private callback(call: () => void): void {
    try {
      call();
    } catch (error) {
      process.emitWarning(`flowtape ACP observer threw: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  // ---- failures and shutdown -----------------------------------------------------------------------------

  private setFailure(failure: Failure): void {
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
    const pid = this.child.pid;
    const grace = this.options.closeGraceMs ?? 2_000;
    if (pid !== undefined) {
      if (!this.exitInfo) {
        this.child.stdin.end();
        if (force || !(await this.waitForExit(grace))) {
          // It did not stop when asked: the session is over, what it writes now is not recorded.
          this.stopRecording();
          signalGroup(pid, 'SIGTERM');
          if (!(await this.waitForExit(grace))) {
            signalGroup(pid, 'SIGKILL');
            await this.waitForExit(5_000);
          }
        }
      }
      // The leader is gone; anything left in its group (its children) goes too.
      if (isGroupAlive(pid)) {
        this.stopRecording();
        signalGroup(pid, 'SIGTERM');
        if (!(await waitUntilGone(() => isGroupAlive(pid), grace))) signalGroup(pid, 'SIGKILL');
        await waitUntilGone(() => isGroupAlive(pid), 2_000);
      }
      // What the agent wrote before it exited may still be in the pipes: read it (bounded: a process outside the
      // group may hold them open), then nothing more is recorded.
      await Promise.race([this.streamsClosed, delay(Math.min(grace, 1_000))]);
    }
    this.stopRecording();
    this.connection.close();
    this.child.stdout.destroy();
    this.child.stderr.destroy();
    this.reportOmitted('stdout', this.incoming.omitted);
    this.reportOmitted('stderr', this.stderrLines.omitted);
    live.delete(this);
    await this.unwatch();
  }

  /** The session is closed: nothing more from the agent's stdout or stderr is recorded, only counted. */
  private stopRecording(): void {
    this.incoming.stop();
    this.stderrLines.stop();
  }

  /** One summary line per stream that had output not recorded (the streams are destroyed: the counts are final). */
  private reportOmitted(stream: 'stdout' | 'stderr', omitted: Omitted): void {
    if (omitted.bytes === 0) return;
    this.traffic({
      direction: stream === 'stdout' ? 'incoming' : 'stderr',
      text: omitted.summary(stream),
      omitted: { bytes: omitted.bytes, lines: omitted.lines },
    });
  }

  private async waitForExit(ms: number): Promise<boolean> {
    if (this.exitInfo) return true;
    const limit = interruption(undefined, ms);
    const result = await Promise.race([this.exited.then(() => true), limit.promise.then(() => false)]);
    limit.dispose();
    return result;
  }

  /** @internal Kills every agent still running when this process exits (synchronous, last resort). */
  static killAllSync(): void {
    for (const agent of live) {
      if (agent.child.pid !== undefined && !agent.exitInfo) signalGroup(agent.child.pid, 'SIGKILL');
    }
  }
}

function isSessionNotification(value: unknown): value is SessionNotification {
  const v = value as { sessionId?: unknown; update?: { sessionUpdate?: unknown } } | null;
  return typeof v === 'object' && v !== null && typeof v.sessionId === 'string'
    && typeof v.update === 'object' && v.update !== null && typeof v.update.sessionUpdate === 'string';
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => AcpAgent.killAllSync());
}

