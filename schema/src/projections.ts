import { z } from 'zod';
import { SCHEMA_IDS } from './ids.ts';
import {
  ActionType,
  ArtifactRef,
  AttemptId,
  ErrorInfo,
  IsoTime,
  JsonValue,
  NodeId,
  NodeType,
  RunId,
  RunStatus,
  SeqRange,
  SessionId,
  ValueRef,
} from './common.ts';
import { TurnUsage, UsageTotals } from './usage.ts';

const seq = z.number().int().nonnegative().describe('The last trace seq folded into this projection.');

export const StepStatus = z.enum(['running', 'ok', 'failed', 'timed_out', 'cancelled', 'interrupted']);
export type StepStatus = z.infer<typeof StepStatus>;

export const Turn = z.object({
  promptSeq: z.number().int().positive().describe('Trace seq of `acp.prompt_sent`.'),
  sessionEventSeq: z.number().int().positive(),
  messageIndex: z.number().int().nonnegative(),
  stopReason: z.string().nullable().optional(),
  sessionEvents: SeqRange.optional(),
  messages: SeqRange.optional(),
  response: ValueRef.optional(),
  error: ErrorInfo.optional(),
  usage: TurnUsage.optional(),
});
export type Turn = z.infer<typeof Turn>;

export const ActionReceipt = z.object({
  actionType: ActionType,
  command: z.union([z.string(), z.array(z.string())]).optional(),
  cwd: z.string().optional(),
  ok: z.boolean().optional(),
  exitCode: z.number().int().nullable().optional(),
  signal: z.string().nullable().optional(),
  durationMs: z.number().nonnegative().optional(),
  stdout: ValueRef.optional(),
  stderr: ValueRef.optional(),
  error: ErrorInfo.optional(),
});
export type ActionReceipt = z.infer<typeof ActionReceipt>;

export const Step = z.object({
  attemptId: AttemptId,
  nodeId: NodeId,
  attempt: z.number().int().positive(),
  nodeType: NodeType,
  status: StepStatus,
  startedAt: IsoTime,
  startSeq: z.number().int().positive(),
  endedAt: IsoTime.optional(),
  endSeq: z.number().int().positive().optional(),
  durationMs: z.number().nonnegative().optional(),
  heartbeats: z.number().int().nonnegative(),
  lastHeartbeatAt: IsoTime.optional(),
  input: ValueRef.optional(),
  output: ValueRef.optional(),
  error: ErrorInfo.optional(),
  sessionId: SessionId.optional(),
  turns: z.array(Turn),
  usage: UsageTotals.optional().describe("The attempt's turns' usage, folded (absent when none reported any)."),
  action: ActionReceipt.optional(),
  artifacts: z.array(z.object({ role: z.string(), artifact: ArtifactRef })),
  next: z
    .object({
      to: NodeId,
      branch: z
        .object({
          on: z.string(),
          value: JsonValue,
          caseKey: z.string().optional(),
          isDefault: z.boolean().optional(),
        })
        .optional(),
    })
    .optional()
    .describe('The edge this attempt took.'),
});
export type Step = z.infer<typeof Step>;

export const RunProjection = z
  .object({
    schema: z.literal(SCHEMA_IDS.run),
    seq,
    runId: RunId.optional(),
    flowName: z.string().optional(),
    status: RunStatus,
    startedAt: IsoTime.optional(),
    updatedAt: IsoTime.optional(),
    endedAt: IsoTime.optional(),
    durationMs: z.number().nonnegative().optional(),
    input: ValueRef.optional(),
    output: ValueRef.optional(),
    error: ErrorInfo.optional(),
    waitingAt: NodeId.optional().describe('The checkpoint the run waits at.'),
    lastNodeId: NodeId.optional().describe('The node of the latest attempt: where the run is, or stopped.'),
    attemptCount: z.number().int().nonnegative(),
    eventCount: z.number().int().nonnegative(),
    unknownEventCount: z.number().int().nonnegative().describe('Events of types this reader does not know.'),
    unknownEventTypes: z.array(z.string()).describe('Up to 20 distinct unknown types.'),
    anomalies: z.array(z.string()).describe('Up to 20 inconsistencies found while folding the trace.'),
    nodes: z
      .array(
        z.object({
          nodeId: NodeId,
          attempts: z.number().int().positive(),
          lastAttemptId: AttemptId,
          status: StepStatus,
          totalDurationMs: z.number().nonnegative(),
          usage: UsageTotals.optional().describe("All attempts' usage, folded."),
        }),
      )
      .describe('Per node that ran: attempts and the status of its latest attempt, in order of first start.'),
    edges: z
      .array(z.object({ from: NodeId, to: NodeId, count: z.number().int().positive() }))
      .describe('Edges taken, with how often, in order of first use.'),
    usage: UsageTotals.optional().describe('Usage of every turn of the run, folded (absent when no turn reported any).'),
    sessionUsage: z
      .array(z.object({ sessionId: SessionId, handle: z.string(), usage: UsageTotals }))
      .optional()
      .describe('Per session that reported usage, in order of binding: its turns\' usage, folded.'),
  })
  .meta({ title: 'projections/run.json', description: 'The run summary, folded from the trace.' });
export type RunProjection = z.infer<typeof RunProjection>;

export const LiveProjection = z
  .object({
    schema: z.literal(SCHEMA_IDS.live),
    seq,
    runId: RunId.optional(),
    status: RunStatus,
    updatedAt: IsoTime.optional(),
    activeAttemptId: AttemptId.optional(),
    activeNodeId: NodeId.optional(),
    activeSince: IsoTime.optional(),
    lastHeartbeatAt: IsoTime.optional(),
    waitingAt: NodeId.optional(),
  })
  .meta({ title: 'projections/live.json', description: 'What is happening right now: for watchers of a live run.' });
export type LiveProjection = z.infer<typeof LiveProjection>;

export const StepsProjection = z
  .object({
    schema: z.literal(SCHEMA_IDS.steps),
    seq,
    runId: RunId.optional(),
    steps: z.array(Step),
  })
  .meta({ title: 'projections/steps.json', description: 'Every attempt in order of start, folded from the trace.' });
export type StepsProjection = z.infer<typeof StepsProjection>;
