// The turns on an agent's sessions: a prompt sent and its answer awaited, or cancelled (on abort, time-out, or by the
// permission policy: session/cancel, then a bounded wait for the agent to answer it); and the permission requests
// that come during a turn, answered by that turn's policy, or `cancelled` once the client cancelled (as ACP requires).
import {
  RequestError,
  type ClientConnection,
  type PromptResponse,
  type RequestPermissionRequest,
  type RequestPermissionResponse,
  type SessionNotification,
  type ToolKind,
} from '@agentclientprotocol/sdk';
import { brokenAnswer } from './agent-failure.ts';
import type { PromptOptions } from './client-options.ts';
import { AcpError, clip } from './errors.ts';
import { decidePermission, DEFAULT_PERMISSION_POLICY, type PermissionPolicy } from './permissions.ts';
import { interruption, settle, type Settled } from './settle.ts';
import { turnInFlight, type TurnInFlight } from './turn-in-flight.ts';

/** What the turns need of the agent's connection. */
export interface TurnConnection {
  connection: ClientConnection;
  /** How long a cancelled prompt waits for the agent's answer to session/cancel. */
  cancelGraceMs: number;
  /** The agent's policy, for a turn that brings none. */
  permissionPolicy: PermissionPolicy | undefined;
  assertUsable(method: string): void;
  toAcpError(error: unknown, method: string): Promise<AcpError>;
  /** ACP's auth_required as the one-line refusal that says how to log in; any other error as it is. */
  asAuthRequired(error: unknown, method: string): unknown;
}

export class SessionTurns {
  private readonly toolKinds = new Map<string, ToolKind>();
  private readonly cancelling = new Map<string, number>();
  /** The prompt in flight per ACP session, so a permission answer can cancel its turn. */
  private readonly turns = new Map<string, TurnInFlight>();

  constructor(private readonly agent: TurnConnection) {}

  /** Remembers the kind of each tool call, which a permission request about it may not repeat. */
  noteUpdate(notification: SessionNotification): void {
    const update = notification.update;
    if ((update.sessionUpdate === 'tool_call' || update.sessionUpdate === 'tool_call_update') && update.kind) {
      this.toolKinds.set(`${notification.sessionId}\u0000${update.toolCallId}`, update.kind);
    }
  }

  /**
   * Sends one text prompt and resolves with the agent's stop reason once the turn is over, and the answer's
   * `usage` exactly as sent (not checked: the caller keeps what is valid).
   */
  async prompt(sessionId: string, text: string, options: PromptOptions = {}): Promise<{ stopReason: string; usage?: unknown }> {
    const method = 'session/prompt';
    this.agent.assertUsable(method);
    const { signal, timeoutMs } = options;
    if (signal?.aborted) throw new AcpError('cancelled', 'prompt cancelled before it was sent', { method });
    const response = this.agent.connection.agent.request('session/prompt', { sessionId, prompt: [{ type: 'text', text }] });
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
        const error = await this.agent.toAcpError(first.error, method);
        throw /auth|log ?in|credential/i.test(error.rpcMessage ?? '') ? this.agent.asAuthRequired(error, method) : error;
      }
      if (first.kind === 'value') return finishTurn(first.value, method);
      return await this.cancelTurn(sessionId, answer, first.kind, timeoutMs);
    } finally {
      interrupt.dispose();
      if (this.turns.get(sessionId) === turn) this.turns.delete(sessionId);
    }
  }

  answerPermission(request: RequestPermissionRequest): RequestPermissionResponse {
    const cancelled: RequestPermissionResponse = { outcome: { outcome: 'cancelled' } };
    if (this.cancelling.has(request.sessionId)) return cancelled;
    const turn = this.turns.get(request.sessionId);
    const decision = decidePermission(
      turn?.policy ?? this.agent.permissionPolicy ?? DEFAULT_PERMISSION_POLICY,
      request,
      this.toolKinds.get(`${request.sessionId}\u0000${request.toolCall?.toolCallId}`),
    );
    if (decision.kind === 'answer') return decision.response;
    // No answer the policy allows: cancel the turn for real — session/cancel goes out before this answer — rather
    // than answer `cancelled` to a turn that goes on.
    if (turn && turn.policyDetail === undefined) {
      turn.policyDetail = decision.detail;
      this.sendCancel(request.sessionId, turn.answer);
      turn.stop();
    }
    return cancelled;
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
    this.agent.connection.agent.notify('session/cancel', { sessionId }).catch(() => {});
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
    const grace = this.agent.cancelGraceMs;
    const limit = interruption(undefined, grace);
    const outcome = await Promise.race([answer, limit.promise]).finally(() => limit.dispose());

    if (outcome.kind === 'error' && !(outcome.error instanceof RequestError)) throw await this.agent.toAcpError(outcome.error, method);
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
}

function finishTurn(response: PromptResponse, method: string): { stopReason: string; usage?: unknown } {
  if (typeof response?.stopReason !== 'string') throw brokenAnswer(method, 'an answer without a stopReason');
  const usage = (response as { usage?: unknown }).usage; // ACP's `usage` on the answer is still unstable: not in the stable type
  return usage === undefined || usage === null ? { stopReason: response.stopReason } : { stopReason: response.stopReason, usage };
}
