// What a caller tells the ACP client (AcpAgent.start, prompt) and what it hears back about the wire (traffic).
import type { RequestPermissionRequest, RequestPermissionResponse, SessionNotification } from '@agentclientprotocol/sdk';
import type { PermissionPolicy } from './permissions.ts';

export interface AcpTrafficRecord {
  direction: 'outgoing' | 'incoming' | 'stderr';
  /** The parsed JSON-RPC message (outgoing/incoming). */
  message?: unknown;
  /**
   * The line exactly as it crossed stdio, when serialising `message` again would not give it back: integers beyond
   * 2^53, `1e400`, `-0`, duplicate keys, other spacing or escapes. Absent when `JSON.stringify(message)` is the line.
   */
  raw?: string;
  /**
   * The line, when it is exactly `JSON.stringify(message)` (then `raw` is absent): the message's JSON text, so a
   * writer need not serialise the message again.
   */
  json?: string;
  /** A stderr line, or an incoming stdout line that was not valid JSON (garbage), cut at AGENT_OUTPUT_CAP_BYTES. */
  text?: string;
  /**
   * Set on the summary the client reports when it closes, once per stream that had output it did not record: the
   * bytes and lines it counted instead (past the cap, or written after the session closed). `text` says so.
   */
  omitted?: { bytes: number; lines: number };
}

/** A JSON-RPC line as traffic: the parsed message, and the line itself when the message does not serialise back to it. */
export function wireRecord(direction: 'outgoing' | 'incoming', line: string, message: unknown): AcpTrafficRecord {
  return JSON.stringify(message) === line ? { direction, message, json: line } : { direction, message, raw: line };
}

export interface AcpAgentOptions {
  /** Agent command, spawned with stdio pipes (resolved like child_process.spawn: PATH, or relative to cwd). */
  command: string;
  args?: string[];
  /** The run's directory: the agent's working directory, and fs/* requests are served inside it ONLY. */
  cwd: string;
  /** Added to (or, with inheritEnv false, instead of) this process's environment. */
  env?: Record<string, string>;
  /** Whether the agent inherits this process's environment (default true). */
  inheritEnv?: boolean;
  /** Default 'approve-reads' (permissions.ts says what each policy answers). */
  permissionPolicy?: PermissionPolicy;
  onTraffic?: (record: AcpTrafficRecord) => void;
  /**
   * Every session/update, in wire order, exactly as sent (checked for shape only, so update kinds newer than
   * this SDK pass through). Each is delivered before anything after it on the wire is handled, so all updates
   * of a turn have been delivered when prompt() resolves.
   */
  onUpdate?: (notification: SessionNotification) => void;
  onPermission?: (request: RequestPermissionRequest, response: RequestPermissionResponse) => void;
  /** Limit for initialize and session/new answers (default 60 000 ms). Prompts are bounded by their own options. */
  requestTimeoutMs?: number;
  /** How long a cancelled prompt waits for the agent's answer to session/cancel (default 3 000 ms). */
  cancelGraceMs?: number;
  /** How long close() waits for the agent to exit after its stdin ends, and again after SIGTERM, before SIGKILL (default 2 000 ms). */
  closeGraceMs?: number;
  /**
   * Aborting it while start() is still spawning or initializing the agent kills the agent at once (SIGTERM to its
   * process group, SIGKILL closeGraceMs later) and start() rejects with 'cancelled' once it is gone — a caller that
   * gives up on a start (a node timeout, a cancelled run) never waits for an agent that does not answer.
   */
  signal?: AbortSignal;
  /** Sent in initialize. */
  clientInfo?: { name: string; version: string };
  /**
   * The ACP auth method to `authenticate` with after `initialize` (must be advertised). Without it, a method is
   * chosen from the environment when exactly one advertised method has credentials there (see auth.ts).
   */
  authMethodId?: string;
}

export interface PromptOptions {
  /** Aborting sends session/cancel, waits up to cancelGraceMs for the agent's answer, then rejects with 'cancelled'. */
  signal?: AbortSignal;
  /** Like an abort, but rejects with 'timeout'. */
  timeoutMs?: number;
  /** Answers this turn's permission requests (default: the agent's `permissionPolicy`): nodes sharing a session keep their own. */
  permissionPolicy?: PermissionPolicy;
}
