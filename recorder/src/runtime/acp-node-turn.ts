// A turn of an ACP node: one prompt on its session, and what the trace says of it (acp.prompt_sent, then
// acp.turn_finished with the agent's text, stop reason, usage, or the error it ended with).
import { AcpError } from '../acp/client.ts';
import type { AcpAttempt } from './acp-node.ts';
import { agentError, keepsSession } from './acp-node-errors.ts';
import type { Session } from './acp-node-session.ts';
import { agentLabel } from './command.ts';
import type { PermissionPolicy } from './definition.ts';
import { NodeError } from './errors.ts';

/**
 * One turn on the session: the prompt sent with the node's own policy, the agent's text of the turn collected, and
 * `acp.turn_finished` emitted however it ends. A failure that leaves the session unusable discards it.
 */
export async function runTurn(
  session: Session,
  prompt: string,
  attempt: AcpAttempt,
  policy: PermissionPolicy,
  discard: (session: Session) => Promise<void>,
): Promise<string> {
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
    if (!keepsSession(failure, agent)) await discard(session);
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
