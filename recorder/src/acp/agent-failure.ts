// Why an agent can no longer take requests, and the one-line AcpError a request gets for it: the agent exited (with
// the last of its stderr as a hint), broke the protocol, or was closed. Also the short rendering of a refusal's
// detail, shared by every "agent refused …" message.
import { AcpError, renderData } from './errors.ts';

export type AgentFailure =
  | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'protocol'; detail: string }
  | { kind: 'closed' };

/**
 * The error for a request `method` the failure stopped: `before` it was sent (it cannot be), or while it waited for
 * its answer. `stderrHint`: the last lines of the agent's stderr, for an exit.
 */
export function failureError(failure: AgentFailure | undefined, method: string, before: boolean, stderrHint: string | undefined): AcpError {
  const reason = failure ?? { kind: 'closed' as const };
  if (reason.kind === 'closed') {
    return new AcpError('agent_exited', before ? `agent is closed; cannot send ${method}` : `agent was closed during ${method}`, { method });
  }
  if (reason.kind === 'protocol') {
    const what = before ? `agent was shut down after a protocol error; cannot send ${method}` : `agent protocol error during ${method}`;
    return new AcpError('protocol_error', `${what}: ${reason.detail}`, { method });
  }
  const how = reason.signal ? `was killed by ${reason.signal}` : `exited with code ${reason.code}`;
  const text = before ? `agent ${how}; cannot send ${method}` : `agent ${how} during ${method}`;
  return new AcpError('agent_exited', stderrHint ? `${text} (stderr: ${stderrHint})` : text, {
    method, exitCode: reason.code, signal: reason.signal,
  });
}

/** An answer missing what ACP requires of it. */
export function brokenAnswer(method: string, what: string): AcpError {
  return new AcpError('protocol_error', `agent sent ${what} to ${method}`, { method });
}

/**
 * The end of a refusal's message, " (data: …) (stderr: …)": a short rendering of the JSON-RPC error's `data` and
 * the last lines of the agent's stderr, where a real agent often says why (claude-code-acp's "Internal error"
 * had its cause, "cannot be used with root/sudo privileges", only there).
 */
export function refusalDetail(rpcData: unknown, stderrHint: string | undefined): string {
  const data = renderData(rpcData);
  return `${data ? ` (data: ${data})` : ''}${stderrHint ? ` (stderr: ${stderrHint})` : ''}`;
}
