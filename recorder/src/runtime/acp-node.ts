// ACP nodes: one agent process per flowtape session. Shared sessions (same handle, agent and cwd) live for the
// whole run; isolated ones for one attempt. Every raw message is forwarded as `acp.traffic`; every agent is
// closed when its attempt (isolated) or the run (shared) ends — also on failure, timeout and cancellation.
import type { TurnUsage } from '@flowtape/schema';
import { AcpAgent, AcpError, type AcpTrafficRecord } from '../acp/client.ts';
import { DEFAULT_PERMISSION_POLICY } from '../acp/permissions.ts';
import { within } from '../acp/settle.ts';
import { agentArgv, mcpServersFor, nodeCwd } from './acp-node-config.ts';
import { agentError, checkMcpSupport, promptToText } from './acp-node-errors.ts';
import { agentIdentity, collect, trafficEvent, type Session } from './acp-node-session.ts';
import { runTurn } from './acp-node-turn.ts';
import { agentLabel } from './command.ts';
import type { AcpNodeDefinition, AgentCommand, FlowDefinition, FlowNodeContext, PermissionPolicy } from './definition.ts';
import { NodeError, toErrorInfo } from './errors.ts';
import type { LifecycleEvent } from './lifecycle.ts';
import type { McpServer } from './mcp-servers.ts';
import type { RecordedSession } from './recorded-sessions.ts';
import { untilAborted } from './until-aborted.ts';
import { UsageMeter } from './usage-meter.ts';

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

/** The longest close() waits for agents to start, then to close (each stop is bounded itself: this is a backstop). */
const CLOSE_LIMIT_MS = 15_000;

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
  /**
   * Aborted by close(), stopping the starts still in flight. Made by the first start: a run that starts no agent
   * (most runs) never makes it, nor the DOMException that abort() builds, in every run's finish.
   */
  private stopStarts: AbortController | undefined;
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
    const argv = agentArgv(this.host, node, attempt.nodeId, handle);
    const cwd = await nodeCwd(this.host, node, context);
    const promptText = promptToText(typeof node.prompt === 'string' ? node.prompt : await node.prompt(context), attempt.nodeId);
    const policy = node.permissionPolicy ?? this.host.flow.permissionPolicy ?? this.host.permissionPolicy ?? DEFAULT_PERMISSION_POLICY;
    const auth = node.auth ?? this.host.flow.auth ?? this.host.auth;
    const mcpServers = mcpServersFor(this.host, node, attempt.nodeId);
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
      ...agentIdentity(agent),
      protocolVersion: agent.protocolVersion,
      ...(agent.authMethodId !== undefined ? { authMethodId: agent.authMethodId } : {}),
      ...(session.continued !== undefined && session.boundOnce !== true ? { continued: session.continued } : {}),
      ...(session.replaces !== undefined && session.boundOnce !== true ? { replaces: session.replaces } : {}),
      ...(session.mcpServers.length > 0 ? { mcpServers: session.mcpServers } : {}),
    });
    session.boundOnce = true;
    try {
      // Like acpx: the node sees the agent's text trimmed (the trace keeps it as sent).
      const text = (await runTurn(session, promptText, attempt, policy, (s) => this.discard(s))).trim();
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
    this.stopStarts?.abort();
    if (this.starting.size > 0) await within(Promise.allSettled([...this.starting]), CLOSE_LIMIT_MS);
    // Waited for as a whole (not only the agents' closes): a session's late usage is emitted after its agent is gone.
    const discarding = [...this.shared.values()].map((session) => this.discard(session));
    this.shared.clear();
    for (const agent of this.agents) this.closing.add(agent.close().catch(() => {}));
    this.agents.clear();
    if (this.closing.size > 0 || discarding.length > 0) await within(Promise.allSettled([...this.closing, ...discarding]), CLOSE_LIMIT_MS);
  }

  /** The signal that stops a start at close() (already aborted for a start that comes after it). */
  private stopSignal(): AbortSignal {
    this.stopStarts ??= new AbortController();
    if (this.closed) this.stopStarts.abort();
    return this.stopStarts.signal;
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
      signal: AbortSignal.any([attempt.signal, this.stopSignal()]),
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
        ...agentIdentity(agent),
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
    this.host.emit(trafficEvent(session, record));
  }
}
