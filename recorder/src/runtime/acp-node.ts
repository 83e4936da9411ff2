// ACP nodes: one agent process per flowtape session. Shared sessions (same handle, agent and cwd) live for the
// whole run; isolated ones for one attempt. Every raw message is forwarded as `acp.traffic`; every agent is
// closed when its attempt (isolated) or the run (shared) ends — also on failure, timeout and cancellation.
import { basename, resolve } from 'node:path';
import type { SessionNotification } from '@agentclientprotocol/sdk';
import type { TurnUsage } from '@flowtape/schema';
import { AcpAgent, AcpError, type AcpTrafficRecord } from '../acp/client.ts';
import type { AcpNodeDefinition, AgentCommand, FlowDefinition, FlowNodeContext, PermissionPolicy, PromptInput } from './definition.ts';
import { splitCommand } from './command.ts';
import { NodeError } from './errors.ts';
import type { LifecycleEvent } from './lifecycle.ts';
import { UsageMeter } from './usage-meter.ts';

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
  agents: Record<string, AgentCommand> | undefined;
  permissionPolicy: PermissionPolicy | undefined;
  auth: string | undefined;
  agentEnv: Record<string, string> | undefined;
  /** How long an aborted prompt waits for the agent's answer to session/cancel. */
  cancelGraceMs: number;
  sessionId(index: number, handle: string): string;
  /** Emits a run-level event (acp.traffic), dropped once the run has ended. */
  emit(event: LifecycleEvent): void;
}

interface Session {
  readonly sessionId: string;
  readonly handle: string;
  readonly key: string;
  readonly mode: 'shared' | 'isolated';
  readonly argv: string[];
  readonly cwd: string;
  agent: AcpAgent | undefined;
  acpSessionId: string;
  /** The attempt the traffic belongs to (undefined between turns). */
  attemptId: string | undefined;
  text: string;
  collecting: boolean;
  readonly usage: UsageMeter;
}

const errorCodes = new Set(['agent_missing', 'agent_exited', 'protocol_error', 'rpc_error', 'auth_required', 'timeout', 'cancelled', 'invalid_cwd']);

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

  constructor(
    private readonly host: AcpNodeHost,
    sessionCount = 0,
  ) {
    this.sessionCount = sessionCount;
  }

  /** Runs one attempt of an ACP node; resolves with the node output. */
  async execute(node: AcpNodeDefinition, attempt: AcpAttempt, context: FlowNodeContext): Promise<unknown> {
    const argv = this.resolveAgent(node, attempt.nodeId);
    const cwd = await this.resolveCwd(node, context);
    const promptText = promptToText(typeof node.prompt === 'string' ? node.prompt : await node.prompt(context), attempt.nodeId);
    const isolated = node.session?.isolated === true;
    const handle = node.session?.handle ?? (isolated ? 'isolated' : 'main');
    const policy = node.permissionPolicy ?? this.host.flow.permissionPolicy ?? this.host.permissionPolicy;
    const auth = node.auth ?? this.host.flow.auth ?? this.host.auth;
    const key = `${handle}\u0000${cwd}\u0000${auth ?? ''}\u0000${argv.join('\u0000')}`;

    let session = isolated ? undefined : this.shared.get(key);
    const reused = session !== undefined;
    if (!session) {
      session = await this.open({ handle, key, mode: isolated ? 'isolated' : 'shared', argv, cwd, policy, auth }, attempt);
      if (!isolated) this.shared.set(key, session);
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
    });
    try {
      // Like acpx: the node sees the agent's text trimmed (the trace keeps it as sent).
      const text = (await this.turn(session, promptText, attempt)).trim();
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
    for (const session of this.shared.values()) void this.discard(session);
    this.shared.clear();
    for (const agent of this.agents) this.closing.add(agent.close().catch(() => {}));
    this.agents.clear();
    await within(Promise.allSettled([...this.closing]), 15_000);
  }

  private resolveAgent(node: AcpNodeDefinition, nodeId: string): string[] {
    const fromProfile = node.profile !== undefined ? this.host.agents?.[node.profile] : undefined;
    const command = node.agentCommand ?? fromProfile ?? this.host.flow.agentCommand ?? this.host.agentCommand;
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

  private async resolveCwd(node: AcpNodeDefinition, context: FlowNodeContext): Promise<string> {
    const cwd = typeof node.cwd === 'function' ? await node.cwd(context) : node.cwd;
    return cwd === undefined ? this.host.cwd : resolve(this.host.cwd, cwd);
  }

  private async open(
    spec: { handle: string; key: string; mode: 'shared' | 'isolated'; argv: string[]; cwd: string; policy: PermissionPolicy | undefined; auth: string | undefined },
    attempt: AcpAttempt,
  ): Promise<Session> {
    const index = ++this.sessionCount;
    const session: Session = {
      sessionId: this.host.sessionId(index, spec.handle),
      handle: spec.handle,
      key: spec.key,
      mode: spec.mode,
      argv: spec.argv,
      cwd: spec.cwd,
      agent: undefined,
      acpSessionId: '',
      attemptId: attempt.attemptId,
      text: '',
      collecting: false,
      usage: new UsageMeter(),
    };
    const [command, ...args] = spec.argv as [string, ...string[]];
    const label = basename(command);
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
      session.acpSessionId = (await untilAborted(session.agent.newSession(spec.cwd), attempt.signal)).sessionId;
    } catch (error) {
      session.attemptId = undefined;
      const agent = session.agent;
      // Given up on mid-handshake (timeout, cancel): no point waiting for a graceful exit.
      if (agent) await this.discard(session, { force: attempt.signal.aborted });
      const failure = agentError(error, label, attempt.nodeId);
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
        error: { message: failure.message, code: failure.code },
      });
      throw failure;
    }
    session.attemptId = undefined;
    return session;
  }

  private async turn(session: Session, prompt: string, attempt: AcpAttempt): Promise<string> {
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
      ({ stopReason, usage: promptUsage } = await agent.prompt(session.acpSessionId, prompt, { signal: attempt.signal }));
    } catch (error) {
      failure = error;
    }
    session.collecting = false;
    session.attemptId = undefined;
    attempt.openTurn = undefined;
    const response = session.text;
    const usage = session.usage.finishTurn(promptUsage);
    if (failure !== undefined) {
      const error = agentError(failure, basename(session.argv[0]!), attempt.nodeId);
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
      // A cancelled turn the agent acknowledged leaves a usable session; anything else leaves it in doubt.
      if (!(failure instanceof AcpError && failure.code === 'cancelled' && failure.stopReason !== undefined)) {
        await this.discard(session);
      }
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
  }

  private traffic(session: Session, record: AcpTrafficRecord): void {
    this.host.emit({
      type: 'acp.traffic',
      sessionId: session.sessionId,
      ...(session.attemptId !== undefined ? { attemptId: session.attemptId } : {}),
      direction: record.direction,
      ...(record.message !== undefined ? { message: record.message } : {}),
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
  if (update.sessionUpdate === 'agent_message_chunk' && update.content.type === 'text') session.text += update.content.text;
}

function promptToText(prompt: PromptInput, nodeId: string): string {
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt)) {
    return prompt.map((block) => (block.type === 'text' && typeof block.text === 'string' ? block.text : '')).join('');
  }
  throw new NodeError('invalid_prompt', `node "${nodeId}": prompt must be a string or an array of text blocks`);
}

/** The agent's failure as a NodeError keeping the client's code (`agent_missing`, `rpc_error`, …). */
function agentError(error: unknown, label: string, nodeId: string): NodeError {
  if (error instanceof NodeError) return error;
  if (error instanceof AcpError && errorCodes.has(error.code)) {
    return new NodeError(error.code, `node "${nodeId}": agent ${label}: ${error.message}`, 'failed', { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new NodeError('agent_error', `node "${nodeId}": agent ${label}: ${message}`, 'failed', { cause: error });
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
