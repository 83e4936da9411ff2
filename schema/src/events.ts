import { z } from 'zod';
import {
  ActionType,
  ArtifactRef,
  AttemptId,
  ErrorInfo,
  IsoTime,
  JsonValue,
  NodeId,
  NodeType,
  Outcome,
  RunId,
  SeqRange,
  SessionId,
  ValueRef,
} from './common.ts';
import { TurnUsage } from './usage.ts';

/** Fields every trace line has. */
const envelope = {
  seq: z.number().int().positive().describe('1, 2, 3… contiguous per bundle, also across processes.'),
  at: IsoTime,
  runId: RunId,
  nodeId: NodeId.optional(),
  attemptId: AttemptId.optional(),
  sessionId: SessionId.optional(),
};

export const Scope = z.enum(['run', 'node', 'edge', 'session', 'acp', 'action', 'artifact']);
export type Scope = z.infer<typeof Scope>;

function defineEvent<const T extends string, const S extends Scope, P extends z.ZodType>(
  type: T,
  scope: S,
  payload: P,
  description: string,
) {
  return z
    .object({ ...envelope, scope: z.literal(scope), type: z.literal(type), payload })
    .meta({ title: type, description });
}

const durationMs = z.number().nonnegative().describe('Wall-clock milliseconds.');

export const RunStarted = defineEvent(
  'run.started',
  'run',
  z.object({
    flowName: z.string(),
    input: ValueRef.optional(),
    runTimeoutMs: z.number().int().positive().optional(),
    cwd: z.string().optional().describe('Working directory of the run (volatile: differs between machines).'),
    deterministic: z.boolean().optional().describe('Clock and ids were injected (samples, goldens).'),
  }),
  'The run began. Always seq 1.',
);
export const RunWaiting = defineEvent(
  'run.waiting',
  'run',
  z.object({
    checkpoint: NodeId,
    message: z.string().optional(),
    sessions: z
      .array(SessionId)
      .optional()
      .describe('Shared sessions still usable when the run stopped: `flowtape resume` continues them (see `session.bound` `continued`).'),
  }),
  'A checkpoint was reached; the run stops here until `flowtape resume`.',
);
export const RunResumed = defineEvent(
  'run.resumed',
  'run',
  z.object({ checkpoint: NodeId, input: ValueRef.optional() }),
  'A waiting run continues after its checkpoint (possibly in another process). Only right after `run.waiting` at the same checkpoint (see "The end of a run").',
);
export const RunCompleted = defineEvent(
  'run.completed',
  'run',
  z.object({ output: ValueRef.optional(), durationMs }),
  'The run reached a node with no outgoing edge.',
);
export const RunFailed = defineEvent(
  'run.failed',
  'run',
  z.object({
    error: ErrorInfo,
    durationMs: durationMs.optional(),
    abandoned: z.boolean().optional().describe('The writer died; added by `flowtape repair`.'),
  }),
  'A node failed with no edge to route its failure, or the runtime itself failed.',
);
export const RunTimedOut = defineEvent(
  'run.timed_out',
  'run',
  z.object({ timeoutMs: z.number().int().positive(), durationMs }),
  'The run timeout elapsed.',
);
export const RunCancelled = defineEvent(
  'run.cancelled',
  'run',
  z.object({ reason: z.string().describe('`SIGINT`, `SIGTERM`, `abort`, …'), durationMs }),
  'The run was cancelled (AbortSignal or a signal).',
);

export const NodeStarted = defineEvent(
  'node.started',
  'node',
  z.object({
    nodeType: NodeType,
    attempt: z.number().int().positive().describe('1 for the first run of the node, 2 for `node#2`, …'),
    input: ValueRef.optional(),
  }),
  'An attempt of a node began. `nodeId` and `attemptId` are set.',
);
export const NodeHeartbeat = defineEvent(
  'node.heartbeat',
  'node',
  z.object({ elapsedMs: durationMs }),
  'A long attempt is still alive (every `heartbeatMs`).',
);
export const NodeOutcome = defineEvent(
  'node.outcome',
  'node',
  z.object({
    outcome: Outcome,
    durationMs,
    output: ValueRef.optional(),
    error: ErrorInfo.optional(),
  }),
  'Exactly one per attempt, also when the attempt was interrupted.',
);

export const EdgeTaken = defineEvent(
  'edge.taken',
  'edge',
  z.object({
    from: NodeId,
    to: NodeId,
    branch: z
      .object({
        on: z.string().describe('The switch expression, e.g. `$.verdict` or `$result.outcome`.'),
        value: JsonValue.describe('The value the expression read.'),
        caseKey: z.string().optional().describe('The case that matched; absent when `default` was taken.'),
        isDefault: z.boolean().optional(),
      })
      .optional()
      .describe('Why this edge: present for switch edges.'),
  }),
  'The runtime moved from one node to the next. `attemptId` is the attempt that chose the edge.',
);

export const SessionBound = defineEvent(
  'session.bound',
  'session',
  z.object({
    handle: z.string().describe('The session handle of the node (nodes with the same handle share a session).'),
    acpSessionId: z.string().describe("The agent's own session id."),
    mode: z.enum(['shared', 'isolated']),
    reused: z.boolean().describe('True when an existing session was reused by this attempt.'),
    agentCommand: z.array(z.string()),
    path: z.string().describe('`sessions/<sessionId>`'),
    continued: z
      .enum(['session/resume', 'session/load'])
      .optional()
      .describe(
        'After a resume, a new agent process continued this recorded session with this request (`reused` is true). History an agent replays during `session/load` is in events.ndjson but not added again to record.json.',
      ),
    replaces: z
      .object({ sessionId: SessionId, reason: z.string() })
      .optional()
      .describe('After a resume, this new session was opened in place of a recorded one that could not be continued, and why.'),
  }),
  'An attempt was bound to an ACP session (new or reused).',
);
export const SessionFailed = defineEvent(
  'session.failed',
  'session',
  z.object({
    handle: z.string().describe('The session handle of the node.'),
    mode: z.enum(['shared', 'isolated']),
    agentCommand: z.array(z.string()),
    path: z.string().describe('`sessions/<sessionId>`: its events.ndjson holds the traffic up to the failure.'),
    error: ErrorInfo.describe('Why the session could not be started (agent missing, exited, refused `session/new`).'),
  }),
  'The agent of a new session failed before `session/new` succeeded; the attempt fails next.',
);

export const SessionUsage = defineEvent(
  'session.usage',
  'session',
  z.object({
    usage: TurnUsage.describe(
      "What the agent reported after the session's last turn (`usage_update` notifications that came after the last answer): `cost` is the part of the session's cumulative cost no turn accounted for, `context` the last context window.",
    ),
  }),
  "Usage reported after a session's last turn, recorded when flowtape closes the session (before the run's final event): it counts in the session's and the run's totals, no attempt's or node's.",
);

export const AcpPromptSent = defineEvent(
  'acp.prompt_sent',
  'acp',
  z.object({
    prompt: ValueRef,
    messageIndex: z.number().int().nonnegative().describe('Index of the user message in record.json.'),
    sessionEventSeq: z.number().int().positive().describe('Seq of the `session/prompt` request in events.ndjson.'),
  }),
  'A `session/prompt` request was sent to the agent.',
);
export const AcpTurnFinished = defineEvent(
  'acp.turn_finished',
  'acp',
  z.object({
    stopReason: z.string().nullable().describe('ACP stop reason, or null when the turn ended in an error.'),
    sessionEvents: SeqRange.describe('The events.ndjson seqs of this turn.'),
    messages: SeqRange.optional().describe('The record.json message indexes of this turn.'),
    response: ValueRef.optional().describe('The agent text of the turn.'),
    error: ErrorInfo.optional(),
    usage: TurnUsage.optional().describe('Tokens, context window and cost the agent reported for this turn (absent when it reported none).'),
  }),
  'The prompt was answered (or failed).',
);

export const ActionStarted = defineEvent(
  'action.started',
  'action',
  z.object({
    actionType: ActionType,
    command: z.union([z.string(), z.array(z.string())]).optional(),
    cwd: z.string().optional(),
  }),
  'A shell or function action began.',
);
export const ActionCompleted = defineEvent(
  'action.completed',
  'action',
  z.object({
    actionType: ActionType,
    ok: z.boolean(),
    durationMs,
    exitCode: z.number().int().nullable().optional(),
    signal: z.string().nullable().optional(),
    stdout: ValueRef.optional(),
    stderr: ValueRef.optional(),
    output: ValueRef.optional(),
    error: ErrorInfo.optional(),
  }),
  'The receipt of a shell or function action.',
);

export const ArtifactWritten = defineEvent(
  'artifact.written',
  'artifact',
  z.object({
    artifact: ArtifactRef,
    role: z.string().describe('`prompt`, `response`, `stdout`, `stderr`, `output`, `input`, …'),
  }),
  'An artifact file was written (content-addressed; a second write of the same bytes reuses it).',
);

export const TRACE_EVENT_SCHEMAS = [
  RunStarted,
  RunWaiting,
  RunResumed,
  RunCompleted,
  RunFailed,
  RunTimedOut,
  RunCancelled,
  NodeStarted,
  NodeHeartbeat,
  NodeOutcome,
  EdgeTaken,
  SessionBound,
  SessionFailed,
  SessionUsage,
  AcpPromptSent,
  AcpTurnFinished,
  ActionStarted,
  ActionCompleted,
  ArtifactWritten,
] as const;

export const TraceEvent = z
  .discriminatedUnion('type', TRACE_EVENT_SCHEMAS)
  .meta({ title: 'trace.ndjson line', description: 'One line of trace.ndjson: the envelope and a typed payload.' });
export type TraceEvent = z.infer<typeof TraceEvent>;
export type TraceEventType = TraceEvent['type'];
export type EventOf<T extends TraceEventType> = Extract<TraceEvent, { type: T }>;
export type PayloadOf<T extends TraceEventType> = EventOf<T>['payload'];

export const TRACE_EVENT_TYPES: readonly TraceEventType[] = TRACE_EVENT_SCHEMAS.map((s) => s.shape.type.value);

/** The envelope alone: what a reader can rely on for an event type it does not know (a newer minor version). */
export const TraceEnvelope = z.object({
  ...envelope,
  scope: z.string(),
  type: z.string().min(1),
  payload: z.record(z.string(), z.unknown()),
});
export type TraceEnvelope = z.infer<typeof TraceEnvelope>;

// The same list without zod (for the reducer and the viewer), checked equal to TRACE_EVENT_TYPES by a test.
export { KNOWN_EVENT_TYPES, isKnownEventType } from './event-types.ts';

/** The scope of every known type is its prefix: `node.outcome` → `node`. */
export function scopeOf(type: TraceEventType): Scope {
  return type.slice(0, type.indexOf('.')) as Scope;
}
