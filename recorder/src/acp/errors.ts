// One error type for everything that can go wrong talking to an agent, with a machine-readable code and a
// one-line message meant for people.
import { terminalSafe } from '@flowtape/schema';

export type AcpErrorCode =
  | 'agent_missing' // the agent command could not be started (not found, not executable)
  | 'agent_exited' // the agent process ended (or was closed) while we needed it
  | 'protocol_error' // the agent broke the protocol (non-JSON line on stdout, malformed answer)
  | 'rpc_error' // the agent answered a request with a JSON-RPC error
  | 'timeout' // the agent did not answer in time
  | 'cancelled' // the caller aborted the prompt
  | 'permission_cancelled' // the permission policy rejected a tool call the agent offered no way to reject: turn cancelled
  | 'invalid_cwd' // the run directory does not exist or is not a directory
  | 'auth_required'; // the agent needs a login flowtape could not give it (no, several or a refused method)

export interface AcpErrorDetails {
  rpcCode?: number | undefined;
  /** The JSON-RPC error's own `message`, as the agent sent it. */
  rpcMessage?: string | undefined;
  rpcData?: unknown;
  /** The ACP method in flight when the error happened, e.g. `session/prompt`. */
  method?: string | undefined;
  exitCode?: number | null | undefined;
  signal?: NodeJS.Signals | null | undefined;
  /** For `cancelled` (and `timeout`, `permission_cancelled`): the stop reason the agent answered with, if it answered within the grace period. */
  stopReason?: string | undefined;
}

export class AcpError extends Error {
  override name = 'AcpError';
  readonly code: AcpErrorCode;
  readonly rpcCode?: number;
  readonly rpcMessage?: string;
  readonly rpcData?: unknown;
  readonly method?: string;
  readonly exitCode?: number | null;
  readonly signal?: NodeJS.Signals | null;
  readonly stopReason?: string;
  /** The agent's process id, when a process was started (it is gone by the time start() rejects). */
  pid?: number;
  /** The agent's `agentInfo` name, when it answered `initialize` (set by start(), whose agent the caller never gets). */
  agentName?: string;

  constructor(code: AcpErrorCode, message: string, details: AcpErrorDetails = {}) {
    super(message);
    this.code = code;
    if (details.rpcCode !== undefined) this.rpcCode = details.rpcCode;
    if (details.rpcMessage !== undefined) this.rpcMessage = details.rpcMessage;
    if (details.rpcData !== undefined) this.rpcData = details.rpcData;
    if (details.method !== undefined) this.method = details.method;
    if (details.exitCode !== undefined) this.exitCode = details.exitCode;
    if (details.signal !== undefined) this.signal = details.signal;
    if (details.stopReason !== undefined) this.stopReason = details.stopReason;
  }
}

/** Shortens agent-provided text for a one-line message (whitespace runs made one space, controls shown escaped). */
export function clip(text: string, max = 160): string {
  const flat = terminalSafe(text.replace(/\s+/g, ' ').trim());
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/**
 * A JSON-RPC error's `data`, short and safe for one line: a string as it is, anything else as JSON; clipped, with
 * controls escaped. Undefined when there is nothing to show.
 */
export function renderData(data: unknown, max = 200): string | undefined {
  if (data === undefined || data === null) return undefined;
  let text: string | undefined;
  try {
    text = typeof data === 'string' ? data : JSON.stringify(data);
  } catch {
    text = undefined; // a cycle or a BigInt: not something an agent sent over JSON
  }
  if (text === undefined || text.trim() === '' || text === '{}' || text === '[]') return undefined;
  return clip(text, max);
}
