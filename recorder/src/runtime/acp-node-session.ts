// An ACP node's session as the runner keeps it: its agent, the attempt its traffic belongs to, the agent's text of
// the turn in progress and its usage; and the parts of its events every session event repeats.
import type { SessionNotification } from '@agentclientprotocol/sdk';
import { contentText } from '@flowtape/schema';
import type { AcpAgent, AcpTrafficRecord } from '../acp/client.ts';
import type { LifecycleEvent } from './lifecycle.ts';
import type { McpServer } from './mcp-servers.ts';
import type { UsageMeter } from './usage-meter.ts';

export interface Session {
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

/** What a session/update adds to the session: the agent's text of the turn in progress, its usage. */
export function collect(session: Session, notification: SessionNotification): void {
  const update = notification.update;
  // Usage counts between turns too (a late cost update, or the baseline of a loaded session).
  if (update.sessionUpdate === 'usage_update') session.usage.onUpdate(update as unknown as Record<string, unknown>);
  if (!session.collecting) return;
  // The same rule as record.json's, so the node output and the record agree (a resource link is a Markdown link).
  if (update.sessionUpdate === 'agent_message_chunk') session.text += contentText(update.content);
}

/** The agent as session.bound and session.failed name it: from its initialize answer, when it gave one. */
export function agentIdentity(agent: AcpAgent | undefined): { agent?: { name: string; version?: string } } {
  const info = agent?.agentInfo;
  return info ? { agent: { name: info.name, ...(info.version ? { version: info.version } : {}) } } : {};
}

/** One message of the session's raw traffic as an `acp.traffic` event, with the attempt that caused it. */
export function trafficEvent(session: Session, record: AcpTrafficRecord): LifecycleEvent {
  return {
    type: 'acp.traffic',
    sessionId: session.sessionId,
    ...(session.attemptId !== undefined ? { attemptId: session.attemptId } : {}),
    direction: record.direction,
    ...(record.message !== undefined ? { message: record.message } : {}),
    ...(record.raw !== undefined ? { raw: record.raw } : {}),
    ...(record.json !== undefined ? { json: record.json } : {}),
    ...(record.text !== undefined ? { text: record.text } : {}),
    ...(record.omitted !== undefined ? { omitted: record.omitted } : {}),
  };
}
