// The ACP client: talks ACP over the stdio of an agent process (agent-process.ts) with the SDK's client side, records
// every raw message, serves fs requests inside the run directory, answers permission requests by policy, and turns
// every failure into a one-line AcpError. It never leaves the agent process (group) behind.
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
import { brokenAnswer, refusalDetail } from './agent-failure.ts';
import { authenticate, authRequired, initialize, type AgentIdentity } from './agent-handshake.ts';
import { AgentObservers } from './agent-observers.ts';
import { AgentProcess } from './agent-process.ts';
import { wireRecord, type AcpAgentOptions, type PromptOptions } from './client-options.ts';
import { AcpError, clip } from './errors.ts';
import { FsJail } from './fs-jail.ts';
import { isSessionNotification, readIncomingLine } from './incoming-line.ts';
import { killAllAgentsSync } from './live-agents.ts';
import { SessionTurns } from './session-turns.ts';
import { delay, interruption, settle } from './settle.ts';
import { AGENT_LINE_MAX_BYTES, AGENT_OUTPUT_CAP_BYTES, tapOutgoing, utf8Prefix, type LineVerdict } from './traffic.ts';

export { AcpError, type AcpErrorCode } from './errors.ts';
export type { PermissionPolicy } from './permissions.ts';
export type { AcpAgentOptions, AcpTrafficRecord, PromptOptions } from './client-options.ts';

/** How long a refusal waits for stderr lines the agent wrote just before it. */
const stderrSettleMs = 50;

export class AcpAgent {
  private info: AgentIdentity = { protocolVersion: 0, authMethods: [] };

  private readonly process: AgentProcess;
  private readonly connection: ClientConnection;
  private readonly options: AcpAgentOptions;
  private readonly jail: FsJail;
  private readonly observers: AgentObservers;
  private closePromise: Promise<void> | undefined;
  private readonly turns: SessionTurns;
  private authenticatedWith: string | undefined;

  /** The agent's process id (the leader of its process group). */
  get pid(): number | undefined {
    return this.process.pid;
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
      await agent.process.spawned();
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
    this.process = new AgentProcess(options, this.observers, {
      onLine: (line) => this.onIncomingLine(line),
      onProtocolFailure: (detail) => this.protocolFailure(detail),
    });
    const output = tapOutgoing(this.process.child.stdin, (line) => this.observers.traffic(wireRecord('outgoing', line, JSON.parse(line))));

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
    this.connection = app.connect(ndJsonStream(output, this.process.incoming.readable, { maxMessageBytes: AGENT_LINE_MAX_BYTES }));
    this.turns = new SessionTurns({
      connection: this.connection,
      cancelGraceMs: options.cancelGraceMs ?? 3_000,
      permissionPolicy: options.permissionPolicy,
      assertUsable: (method) => this.assertUsable(method),
      toAcpError: (error, method) => this.toAcpError(error, method),
      asAuthRequired: (error, method) => this.asAuthRequired(error, method),
    });
    void this.connection.closed.then(() => this.onConnectionClosed());
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
    return this.process.failure === undefined;
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
    await this.process.failed;
    return this.process.failureError(method, false);
  }

  private assertUsable(method: string): void {
    if (this.process.failure) throw this.process.failureError(method, true);
  }

  /** The end of a refusal's message: the error's data and, unless `withStderr` is false, the agent's last stderr. */
  private refusalDetail(rpcData: unknown, withStderr = true): string {
    return refusalDetail(rpcData, withStderr ? this.process.stderrHint() : undefined);
  }

  // ---- incoming traffic ----------------------------------------------------------------------------------

  private onIncomingLine(line: string): LineVerdict {
    const incoming = readIncomingLine(line);
    if (incoming.kind === 'blank') return 'skip';
    const usable = this.process.failure?.kind !== 'protocol';
    if (incoming.kind === 'garbage') {
      // Only this line of garbage is recorded (the tap stops after it), and at most the cap of it.
      const text = utf8Prefix(line, AGENT_OUTPUT_CAP_BYTES);
      this.observers.traffic({ direction: 'incoming', text });
      // Counted from the UTF-8 of the decoded line, with its newline: exact unless it had a CR or invalid UTF-8.
      if (text.length < line.length) this.process.incoming.omitted.add(Buffer.from(`${line.slice(text.length)}\n`, 'utf8'), 'cap');
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

  /** The agent broke the protocol: fail everything pending at once and shut the agent down. */
  private protocolFailure(detail: string): void {
    this.process.setFailure({ kind: 'protocol', detail });
    // The session is over: whatever the agent writes from now on is counted, not recorded.
    this.process.stopRecording();
    // Lines before the bad one are already queued in the SDK: let them be delivered, then close.
    setImmediate(() => this.connection.close());
    this.close().catch(() => {});
  }

  private onConnectionClosed(): void {
    // Normally an exit or a protocol error explains the close (or close() came first); if nothing does soon, say so
    // and shut down.
    if (this.process.failure) return;
    setTimeout(() => {
      if (this.process.failure) return;
      this.protocolFailure('the connection closed unexpectedly');
    }, 1_000).unref();
  }

  private async shutdown(force: boolean): Promise<void> {
    await this.process.stop(force, this.options.closeGraceMs ?? 2_000);
    this.connection.close();
    await this.process.release();
  }

  /** Kills the agent's process group at once, if it is still running. */
  killSync(): void {
    this.process.killSync();
  }

  /** @internal Kills every agent still running when this process exits (synchronous, last resort). */
  static killAllSync(): void {
    killAllAgentsSync();
  }
}
