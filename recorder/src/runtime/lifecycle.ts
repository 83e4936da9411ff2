/**
 * The contract between the flow runtime and whoever watches it (the recorder, a progress printer, tests).
 * The runtime knows nothing of bundle files: it reports what happened, with raw values, through an observer.
 * Each event mirrors a trace event type of `@flowtape/schema`; the recorder adds the envelope (seq, at, runId),
 * decides inline-vs-artifact for values, applies redaction and derives session/message ranges.
 */
import type { ErrorInfo, FlowSnapshot, NodeType, Outcome, TurnUsage } from '@flowtape/schema';
import type { McpServer } from './mcp-servers.ts';

interface AttemptScope {
  nodeId: string;
  /** `<nodeId>#<n>` */
  attemptId: string;
}

export type LifecycleEvent =
  | {
      type: 'run.started';
      runId: string;
      flow: FlowSnapshot;
      input: unknown;
      runTimeoutMs?: number;
      cwd: string;
      deterministic: boolean;
    }
  | {
      type: 'run.waiting';
      checkpoint: string;
      message?: string;
      /** Shared sessions still usable, which a resume continues (see ResumeState.sessions). */
      sessions?: string[];
    }
  | { type: 'run.resumed'; checkpoint: string; input?: unknown }
  | { type: 'run.completed'; output: unknown; durationMs: number }
  | { type: 'run.failed'; error: ErrorInfo; durationMs: number }
  | { type: 'run.timed_out'; timeoutMs: number; durationMs: number }
  | { type: 'run.cancelled'; reason: string; durationMs: number }
  | ({ type: 'node.started'; nodeType: NodeType; attempt: number; input?: unknown } & AttemptScope)
  | ({ type: 'node.heartbeat'; elapsedMs: number } & AttemptScope)
  | ({ type: 'node.outcome'; outcome: Outcome; durationMs: number; output?: unknown; error?: ErrorInfo } & AttemptScope)
  | ({
      type: 'edge.taken';
      from: string;
      to: string;
      branch?: { on: string; value: unknown; caseKey?: string; isDefault?: boolean };
    } & AttemptScope)
  | ({
      type: 'session.bound';
      /** flowtape's session id: filesystem-safe, allocated by the runtime before the agent is spawned. */
      sessionId: string;
      handle: string;
      acpSessionId: string;
      mode: 'shared' | 'isolated';
      reused: boolean;
      agentCommand: string[];
      cwd: string;
      agent?: { name: string; version?: string };
      protocolVersion?: number;
      /** The ACP auth method flowtape logged in with before `session/new`, if any. */
      authMethodId?: string;
      /** After a resume: the recorded session was continued with this request (then `reused` is true). */
      continued?: 'session/resume' | 'session/load';
      /** After a resume: a new session opened in place of a recorded one that could not be continued, and why. */
      replaces?: { sessionId: string; reason: string };
      /** The MCP servers sent in `session/new`, as sent (secrets included: the recorder redacts them). */
      mcpServers?: McpServer[];
    } & AttemptScope)
  | ({
      /**
       * The agent of a new session failed before `session/new` succeeded (missing command, exit during
       * initialize, refused session/new). Comes after the session's traffic, before the attempt's outcome.
       */
      type: 'session.failed';
      sessionId: string;
      handle: string;
      mode: 'shared' | 'isolated';
      agentCommand: string[];
      cwd: string;
      agent?: { name: string; version?: string };
      protocolVersion?: number;
      /** The MCP servers the session was to be opened with. */
      mcpServers?: McpServer[];
      error: ErrorInfo;
    } & AttemptScope)
  | {
      /** One raw JSON-RPC message (or stderr / garbage line) that crossed the agent's stdio, in order. */
      type: 'acp.traffic';
      sessionId: string;
      attemptId?: string;
      direction: 'outgoing' | 'incoming' | 'stderr';
      message?: unknown;
      /** The exact line, when `message` does not serialise back to it (see AcpTrafficRecord). */
      raw?: string;
      /** `JSON.stringify(message)`, when the client had it already (the line itself; see AcpTrafficRecord). */
      json?: string;
      text?: string;
      /** On the client's summary of output it counted instead of recording (see AcpTrafficRecord). */
      omitted?: { bytes: number; lines: number };
    }
  | {
      /** Usage the agent reported after the session's last turn, emitted when the session is closed. */
      type: 'session.usage';
      sessionId: string;
      usage: TurnUsage;
    }
  | ({ type: 'acp.prompt_sent'; sessionId: string; prompt: string } & AttemptScope)
  | ({
      type: 'acp.turn_finished';
      sessionId: string;
      stopReason: string | null;
      response: string;
      error?: ErrorInfo;
      /** What the agent reported about tokens, context window and cost during the turn and in its answer. */
      usage?: TurnUsage;
    } & AttemptScope)
  | ({
      type: 'action.started';
      actionType: 'shell' | 'function';
      command?: string | string[];
      cwd?: string;
    } & AttemptScope)
  | ({
      type: 'action.completed';
      actionType: 'shell' | 'function';
      ok: boolean;
      durationMs: number;
      exitCode?: number | null;
      signal?: string | null;
      stdout?: string;
      stderr?: string;
      output?: unknown;
      error?: ErrorInfo;
    } & AttemptScope);

export type LifecycleEventType = LifecycleEvent['type'];

export interface LifecycleObserver {
  /** Called synchronously, in order. Must not throw; must not block (queue work instead). */
  onEvent(event: LifecycleEvent, at: number): void;
}

/** Time source, injectable for deterministic runs. Milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
