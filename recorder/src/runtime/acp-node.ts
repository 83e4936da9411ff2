// ACP nodes: one agent process per flowtape session. Shared sessions (same handle, agent and cwd) live for the
// whole run; isolated ones for one attempt. Every raw message is forwarded as `acp.traffic`; every agent is
// closed when its attempt (isolated) or the run (shared) ends — also on failure, timeout and cancellation.
import { resolve } from 'node:path';
import type { SessionNotification } from '@agentclientprotocol/sdk';
import { contentText } from '@flowtape/schema';
import type { TurnUsage } from '@flowtape/schema';
import { AcpAgent, AcpError, type AcpTrafficRecord } from '../acp/client.ts';
import { DEFAULT_PERMISSION_POLICY } from '../acp/permissions.ts';
import type { AcpNodeDefinition, AgentCommand, FlowDefinition, FlowNodeContext, PermissionPolicy } from './definition.ts';
import { agentLabel, splitCommand } from './command.ts';
import { NodeError, toErrorInfo } from './errors.ts';
import type { LifecycleEvent } from './lifecycle.ts';
import { parseMcpServers, type McpServer } from './mcp-servers.ts';
import { UsageMeter } from './usage-meter.ts';
import { agentError, checkMcpSupport, keepsSession, promptToText } from './acp-node-errors.ts';
import type { RecordedSession } from './recorded-sessions.ts';

export { checkRecordedSessions, type RecordedSession } from './recorded-sessions.ts';

/** What the ACP part needs from the attempt that runs the node (implemented by the runtime's Attempt). */
export interface AcpAttempt {
  readonly nodeId: string;
  readonly attemptId: string;
  readonly signal: AbortSignal;
  /** Emits an attempt-scoped event (dropped once the attempt has its outcome). */
  emit(event: LifecycleEvent): void;
  /** Set while a prompt is in flight, so an interrupted attempt can close the turn in the trace. */
  openTurn: { sessionId: string; text(): string; usage(): TurnUsage | undefined } | undefined;
}

export interface AcpNodeHost {
  flow: FlowDefinition;
  cwd: string;
  agentCommand: AgentCommand | undefined;
  agentFor: ((handle: string, command: string[] | undefined) => AgentCommand) | undefined;
  agents: Record<string, AgentCommand> | undefined;
  permissionPolicy: PermissionPolicy | undefined;
  auth: string | undefined;
  agentEnv: Record<string, string> | undefined;
  /** The run's MCP servers (already parsed); a flow's or node's list replaces them. */
  mcpServers: McpServer[] | undefined;
  /** How long an aborted prompt waits for the agent's answer to session/cancel. */
  cancelGraceMs: number;
  sessionId(index: number, handle: string): string;
  /** Emits a run-level event (acp.traffic), dropped once the run has ended. */
  emit(event: LifecycleEvent): void;
}

interface Session {
  /** Decided once the agent is started when a recorded session may be continued ('' until then). */
  sessionId: string;
  readonly handle: string;
  readonly key: string;
  readonly mode: 'shared' | 'isolated';
  readonly argv: string[];
  readonly cwd: string;
  readonly mcpServers: McpServer[];
  agent: AcpAgent | undefined;
  acpSessionId: string;
  /** The attempt the traffic belongs to (undefined between turns). */
  attemptId: string | undefined;
  text: string;
  collecting: boolean;
  /** Traffic held back while `sessionId` is undecided (the handshake of an agent continuing a recorded session). */
  held?: AcpTrafficRecord[];
  continued?: 'session/resume' | 'session/load';
  replaces?: { sessionId: string; reason: string };
  /** Whether session.bound was emitted (continued/replaces are told once). */
  boundOnce?: boolean;
  readonly usage: UsageMeter;
}

export class AcpNodeRunner {
  /** flowtape sessions opened so far in this run (continues from a resume state). */
  sessionCount: number;
  private readonly shared = new Map<string, Session>();
  private readonly agents = new Set<AcpAgent>();
  /**
   * Agent starts not yet settled: close() waits for them so none is left running. A start is aborted (its agent
   * killed: SIGTERM, SIGKILL after the close grace) by its attempt's signal and by close(), so that wait is short.
   */
  private readonly starting = new Set<Promise<unknown>>();
  private readonly stopStarts = new AbortController();
  private readonly closing = new Set<Promise<void>>();
  private closed = false;

  /** Recorded shared sessions not continued yet (after a resume). */
  private readonly recorded: RecordedSession[];

  constructor(
    private readonly host: AcpNodeHost,
    sessionCount = 0,
    recorded: readonly RecordedSession[] = [],
  ) {
    this.sessionCount = sessionCount;
    this.recorded = [...recorded];
  }

  /** The shared sessions whose agent is still usable, for a resume to continue (called before close()). */
  openSharedSessions(): RecordedSession[] {
    const open: RecordedSession[] = [];
    for (const session of this.shared.values()) {
      const agent = session.agent;
      if (!agent?.usable || session.acpSessionId === '') continue;
      open.push({
        sessionId: session.sessionId,
        handle: session.handle,
        agentCommand: session.argv,
        cwd: session.cwd,
        acpSessionId: session.acpSessionId,
        ...(agent.authMethodId !== undefined ? { authMethodId: agent.authMethodId } : {}),
      });
    }
    return open;
  }

  /** Runs one attempt of an ACP node; resolves with the node output. */
  async execute(node: AcpNodeDefinition, attempt: AcpAttempt, context: FlowNodeContext): Promise<unknown> {
    const isolated = node.session?.isolated === true;
    const handle = node.session?.handle ?? (isolated ? 'isolated' : 'main');
    const argv = this.resolveAgent(node, attempt.nodeId, handle);
    const cwd = await this.resolveCwd(node, context);
    const promptText = promptToText(typeof node.prompt === 'string' ? node.prompt : await node.prompt(context), attempt.nodeId);
    const policy = node.permissionPolicy ?? this.host.flow.permissionPolicy ?? this.host.permissionPolicy ?? DEFAULT_PERMISSION_POLICY;
    const auth = node.auth ?? this.host.flow.auth ?? this.host.auth;
    const mcpServers = this.mcpServersFor(node, attempt.nodeId);
    // Nodes share a session only when everything the session was opened with is the same.
    const key = JSON.stringify([handle, cwd, auth ?? '', argv, mcpServers]);

    let session = isolated ? undefined : this.shared.get(key);
    let reused = session !== undefined;
    if (!session) {
      const recorded = isolated ? undefined : this.takeRecorded(handle, argv, cwd, auth);
      // A resumed session logs in as it did before unless a method is given (a method id is no secret; the
      // credentials it needs come from the environment, as they did).
      const login = auth ?? recorded?.authMethodId;
      session = await this.open({ handle, key, mode: isolated ? 'isolated' : 'shared', argv, cwd, policy, auth: login, mcpServers }, attempt, recorded);
      if (!isolated) this.shared.set(key, session);
      // A continued session is the recorded one, reused by this attempt (its binding stays as first written).
      reused = session.continued !== undefined;
    }
    const agent = session.agent!;
    attempt.emit({
      type: 'session.bound',
      nodeId: attempt.nodeId,
      attemptId: attempt.attemptId,
      sessionId: session.sessionId,
      handle,
      acpSessionId: session.acpSessionId,
      mode: session.mode,
      reused,
      agentCommand: argv,
      cwd,
      ...(agent.agentInfo ? { agent: { name: agent.agentInfo.name, ...(agent.agentInfo.version ? { version: agent.agentInfo.version } : {}) } } : {}),
      protocolVersion: agent.protocolVersion,
      ...(agent.authMethodId !== undefined ? { authMethodId: agent.authMethodId } : {}),
      ...(session.continued !== undefined && session.boundOnce !== true ? { continued: session.continued } : {}),
      ...(session.replaces !== undefined && session.boundOnce !== true ? { replaces: session.replaces } : {}),
      ...(session.mcpServers.length > 0 ? { mcpServers: session.mcpServers } : {}),
    });
    session.boundOnce = true;
    try {
      // Like acpx: the node sees the agent's text trimmed (the trace keeps it as sent).
      const text = (await this.turn(session, promptText, attempt, policy)).trim();
      if (!node.parse) return text;
      try {
        return await node.parse(text, context);
      } catch (error) {
        throw new NodeError('parse_failed', `node "${attempt.nodeId}": parse failed: ${error instanceof Error ? error.message : String(error)}`, 'failed', { cause: error });
      }
    } finally {
      if (isolated) await this.discard(session);
    }
  }

  /** Closes every agent of the run (and any still starting). Bounded; never throws. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopStarts.abort();
    const within = <T>(promise: Promise<T>, ms: number): Promise<unknown> =>
      Promise.race([promise, new Promise((r) => setTimeout(r, ms).unref())]);
    if (this.starting.size > 0) await within(Promise.allSettled([...this.starting]), 15_000);
    // Waited for as a whole (not only the agents' closes): a session's late usage is emitted after its agent is gone.
    const discarding = [...this.shared.values()].map((session) => this.discard(session));
    this.shared.clear();
    for (const agent of this.agents) this.closing.add(agent.close().catch(() => {}));
    this.agents.clear();
    await within(Promise.allSettled([...this.closing, ...discarding]), 15_000);
  }

  private resolveAgent(node: AcpNodeDefinition, nodeId: string, handle: string): string[] {
    const fromProfile = node.profile !== undefined ? this.host.agents?.[node.profile] : undefined;
    const chosen = node.agentCommand ?? fromProfile ?? this.host.flow.agentCommand ?? this.host.agentCommand;
    const command = this.host.agentFor ? this.host.agentFor(handle, chosen === undefined ? undefined : splitCommand(chosen)) : chosen;
    const argv = command === undefined ? [] : splitCommand(command);
    if (argv.length === 0 || argv[0] === '') {
      const profile = node.profile !== undefined ? ` (profile "${node.profile}" is not configured)` : '';
      throw new NodeError(
        'agent_not_configured',
        `node "${nodeId}": no agent command${profile}: set agentCommand on the node or the flow, or pass an agent (--agent)`,
      );
    }
    return argv;
  }

  /** The node's servers, else the flow's, else the run's: a list replaces the one below it, never merges. */
  private mcpServersFor(node: AcpNodeDefinition, nodeId: string): McpServer[] {
    const own = node.mcpServers ?? this.host.flow.mcpServers;
    if (own === undefined) return this.host.mcpServers ?? [];
    const parsed = parseMcpServers(own);
    if ('problem' in parsed) throw new NodeError('invalid_mcp_servers', `node "${nodeId}": ${parsed.problem}`);
    return parsed.servers;
  }

  private async resolveCwd(node: AcpNodeDefinition, context: FlowNodeContext): Promise<string> {
    const cwd = typeof node.cwd === 'function' ? await node.cwd(context) : node.cwd;
    return cwd === undefined ? this.host.cwd : resolve(this.host.cwd, cwd);
  }

  private async open(
    spec: {
      handle: string; key: string; mode: 'shared' | 'isolated'; argv: string[]; cwd: string;
      policy: PermissionPolicy | undefined; auth: string | undefined; mcpServers: McpServer[];
    },
    attempt: AcpAttempt,
    recorded?: RecordedSession,
  ): Promise<Session> {
    const newId = (): string => this.host.sessionId(++this.sessionCount, spec.handle);
    const session: Session = {
      // Continuing a recorded session: which session the handshake belongs to is known once the agent says what it
      // can do, so its traffic is held back until then.
      sessionId: recorded ? '' : newId(),
      ...(recorded ? { held: [] } : {}),
      handle: spec.handle,
      key: spec.key,
      mode: spec.mode,
      argv: spec.argv,
      cwd: spec.cwd,
      mcpServers: spec.mcpServers,
      agent: undefined,
      acpSessionId: '',
      attemptId: attempt.attemptId,
      text: '',
      collecting: false,
      usage: new UsageMeter(),
    };
    const [command, ...args] = spec.argv as [string, ...string[]];
    const label = agentLabel(spec.argv);
    const started = AcpAgent.start({
      command,
      args,
      cwd: spec.cwd,
      ...(this.host.agentEnv ? { env: this.host.agentEnv } : {}),
      ...(spec.policy ? { permissionPolicy: spec.policy } : {}),
      ...(spec.auth !== undefined ? { authMethodId: spec.auth } : {}),
      cancelGraceMs: this.host.cancelGraceMs,
      signal: AbortSignal.any([attempt.signal, this.stopStarts.signal]),
      onTraffic: (record) => this.traffic(session, record),
      onUpdate: (notification) => collect(session, notification),
    });
    this.starting.add(started);
    void started.then(
      (agent) => {
        this.starting.delete(started);
        // Started after its attempt or the run gave up on it: nobody will use it.
        if (this.closed || attempt.signal.aborted) this.closing.add(agent.close().catch(() => {}));
        else this.agents.add(agent);
      },
      () => this.starting.delete(started),
    );
    try {
      session.agent = await untilAborted(started, attempt.signal);
      checkMcpSupport(session.agent, spec.mcpServers, label, attempt.nodeId);
      if (recorded) await this.continueRecorded(session, recorded, newId, attempt.signal);
      if (session.continued === undefined) {
        session.acpSessionId = (await untilAborted(session.agent.newSession(spec.cwd, spec.mcpServers), attempt.signal)).sessionId;
      }
    } catch (error) {
      if (session.sessionId === '' || session.continued !== undefined) {
        // The failure is told on a session of its own: the recorded one stays as it was.
        session.continued = undefined;
        this.decide(session, newId());
      }
      session.attemptId = undefined;
      const agent = session.agent;
      // Given up on mid-handshake (timeout, cancel): no point waiting for a graceful exit.
      if (agent) await this.discard(session, { force: attempt.signal.aborted });
      const failure = agentError(error, agent?.agentInfo?.name ?? label, attempt.nodeId);
      // The handshake stays inspectable: the session is recorded as failed, with whatever traffic it had.
      attempt.emit({
        type: 'session.failed',
        nodeId: attempt.nodeId,
        attemptId: attempt.attemptId,
        sessionId: session.sessionId,
        handle: spec.handle,
        mode: spec.mode,
        agentCommand: spec.argv,
        cwd: spec.cwd,
        ...(agent?.agentInfo ? { agent: { name: agent.agentInfo.name, ...(agent.agentInfo.version ? { version: agent.agentInfo.version } : {}) } } : {}),
        ...(agent?.protocolVersion !== undefined ? { protocolVersion: agent.protocolVersion } : {}),
        ...(spec.mcpServers.length > 0 ? { mcpServers: spec.mcpServers } : {}),
        // Shortened like the attempt's outcome will be, so both say the same.
        error: { message: toErrorInfo(failure, failure.code).message, code: failure.code },
      });
      throw failure;
    }
    session.attemptId = undefined;
    return session;
  }

  /** The recorded session a node of this handle, agent, cwd (and auth method, if one is asked for) continues. */
  private takeRecorded(handle: string, argv: string[], cwd: string, auth: string | undefined): RecordedSession | undefined {
    const index = this.recorded.findIndex(
      (r) =>
        r.handle === handle &&
        r.agentCommand.length === argv.length &&
        r.agentCommand.every((arg, i) => arg === argv[i]) &&
        (r.cwd === undefined || r.cwd === cwd) &&
        (auth === undefined || r.authMethodId === auth),
    );
    return index < 0 ? undefined : this.recorded.splice(index, 1)[0];
  }

  /**
   * Continues `recorded` with the new agent: `session/resume` or `session/load` when it advertises one, the
   * handshake then belonging to the recorded session. Otherwise, or when the agent refuses, the session is a new
   * one that says which session it replaces and why. Failures other than a refusal propagate.
   */
  private async continueRecorded(session: Session, recorded: RecordedSession, newId: () => string, signal: AbortSignal): Promise<void> {
    const agent = session.agent!;
    const via = agent.continuation;
    if (via === undefined) {
      session.replaces = { sessionId: recorded.sessionId, reason: 'the agent advertises neither session/resume nor session/load' };
      this.decide(session, newId());
      return;
    }
    this.decide(session, recorded.sessionId);
    session.continued = via;
    try {
      await untilAborted(agent.continueSession(via, recorded.acpSessionId, session.cwd, session.mcpServers), signal);
      session.acpSessionId = recorded.acpSessionId;
    } catch (error) {
      if (!(error instanceof AcpError && error.code === 'rpc_error' && agent.usable)) throw error;
      session.continued = undefined;
      session.replaces = { sessionId: recorded.sessionId, reason: error.message };
      this.decide(session, newId());
    }
  }

  /** Gives the session its id and releases the traffic held back until then. */
  private decide(session: Session, sessionId: string): void {
    session.sessionId = sessionId;
    const held = session.held ?? [];
    session.held = undefined;
    for (const record of held) this.traffic(session, record);
  }

  private async turn(session: Session, prompt: string, attempt: AcpAttempt, policy: PermissionPolicy): Promise<string> {
    const agent = session.agent!;
    session.attemptId = attempt.attemptId;
    session.text = '';
    session.collecting = true;
    session.usage.startTurn();
    attempt.openTurn = { sessionId: session.sessionId, text: () => session.text, usage: () => session.usage.finishTurn() };
    attempt.emit({ type: 'acp.prompt_sent', nodeId: attempt.nodeId, attemptId: attempt.attemptId, sessionId: session.sessionId, prompt });
    let stopReason: string | null = null;
    let promptUsage: unknown;
    let failure: unknown;
    try {
      // The node's own policy, even in a session another node opened with another one.
      ({ stopReason, usage: promptUsage } = await agent.prompt(session.acpSessionId, prompt, { signal: attempt.signal, permissionPolicy: policy }));
    } catch (error) {
      failure = error;
    }
    session.collecting = false;
    session.attemptId = undefined;
    attempt.openTurn = undefined;
    const response = session.text;
    const usage = session.usage.finishTurn(promptUsage);
    if (failure !== undefined) {
      const error = agentError(failure, agent.agentInfo?.name ?? agentLabel(session.argv), attempt.nodeId);
      stopReason = failure instanceof AcpError ? (failure.stopReason ?? null) : null;
      attempt.emit({
        type: 'acp.turn_finished',
        nodeId: attempt.nodeId,
        attemptId: attempt.attemptId,
        sessionId: session.sessionId,
        stopReason,
        response,
        error: { message: error.message, code: error.code, name: 'AcpError' },
        ...(usage ? { usage } : {}),
      });
      if (!keepsSession(failure, agent)) await this.discard(session);
      throw error;
    }
    attempt.emit({
      type: 'acp.turn_finished', nodeId: attempt.nodeId, attemptId: attempt.attemptId, sessionId: session.sessionId, stopReason, response,
      ...(usage ? { usage } : {}),
    });
    if (stopReason === 'cancelled') {
      throw new NodeError('turn_cancelled', `node "${attempt.nodeId}": the agent ended the turn as cancelled without being asked to`);
    }
    return response;
  }

  /** Forgets a session and closes its agent (tracked, so close() waits for it). */
  private async discard(session: Session, options: { force?: boolean } = {}): Promise<void> {
    if (this.shared.get(session.key) === session) this.shared.delete(session.key);
    const agent = session.agent;
    if (!agent) return;
    session.agent = undefined;
    this.agents.delete(agent);
    const closing = agent.close(options).catch(() => {});
    this.closing.add(closing);
    await closing;
    this.closing.delete(closing);
    // The agent is gone and its output read: usage it reported after the session's last turn is the session's.
    const late = session.usage.late();
    if (late) this.host.emit({ type: 'session.usage', sessionId: session.sessionId, usage: late });
  }

  private traffic(session: Session, record: AcpTrafficRecord): void {
    if (session.held) {
      // Released (and timestamped) a few milliseconds later, still in order and still with the attempt that caused it.
      session.held.push(record);
      return;
    }
    this.host.emit({
      type: 'acp.traffic',
      sessionId: session.sessionId,
      ...(session.attemptId !== undefined ? { attemptId: session.attemptId } : {}),
      direction: record.direction,
      ...(record.message !== undefined ? { message: record.message } : {}),
      ...(record.raw !== undefined ? { raw: record.raw } : {}),
      ...(record.json !== undefined ? { json: record.json } : {}),
      ...(record.text !== undefined ? { text: record.text } : {}),
      ...(record.omitted !== undefined ? { omitted: record.omitted } : {}),
    });
  }
}

function collect(session: Session, notification: SessionNotification): void {
  const update = notification.update;
  // Usage counts between turns too (a late cost update, or the baseline of a loaded session).
  if (update.sessionUpdate === 'usage_update') session.usage.onUpdate(update as unknown as Record<string, unknown>);
  if (!session.collecting) return;
  // The same rule as record.json's, so the node output and the record agree (a resource link is a Markdown link).
  if (update.sessionUpdate === 'agent_message_chunk') session.text += contentText(update.content);
}

/** Rejects with the signal's reason as soon as it aborts (the underlying work goes on; callers clean it up). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolvePromise, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolvePromise(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}
