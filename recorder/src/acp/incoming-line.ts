// What a line the agent wrote on its stdout is: blank, garbage (not JSON), JSON that is not a JSON-RPC 2.0 message,
// a session/update notification (which the client delivers itself, in wire order), or a message for the SDK.
import type { SessionNotification } from '@agentclientprotocol/sdk';

export type IncomingLine =
  | { kind: 'blank' }
  | { kind: 'garbage' }
  | { kind: 'not-json-rpc'; message: unknown }
  | { kind: 'session-update'; message: unknown }
  | { kind: 'json-rpc'; message: unknown };

export function readIncomingLine(line: string): IncomingLine {
  if (line.trim() === '') return { kind: 'blank' };
  let message: unknown;
  try {
    message = JSON.parse(line);
  } catch {
    return { kind: 'garbage' };
  }
  const m = message as { jsonrpc?: unknown; method?: unknown; id?: unknown };
  if (typeof message !== 'object' || message === null || Array.isArray(message) || m.jsonrpc !== '2.0') return { kind: 'not-json-rpc', message };
  return m.method === 'session/update' && !('id' in m) ? { kind: 'session-update', message } : { kind: 'json-rpc', message };
}

/** A notification's params checked for shape only, so update kinds newer than the SDK pass through. */
export function isSessionNotification(value: unknown): value is SessionNotification {
  const v = value as { sessionId?: unknown; update?: { sessionUpdate?: unknown } } | null;
  return typeof v === 'object' && v !== null && typeof v.sessionId === 'string'
    && typeof v.update === 'object' && v.update !== null && typeof v.update.sessionUpdate === 'string';
}
