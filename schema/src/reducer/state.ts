/** The reducer's state: what a fold of the trace knows at one cursor (see ../reducer.ts). */
import { AppendList, PMap, PVec } from '../persistent.ts';
import type { ErrorInfo, RunStatus, ValueRef } from '../common.ts';
import type { TraceEnvelope, TraceEvent } from '../events.ts';
import type { Step, StepStatus } from '../projections.ts';
import type { UsageTotals } from '../usage.ts';

export interface NodeSummary {
  readonly nodeId: string;
  readonly attempts: number;
  readonly lastAttemptId: string;
  readonly status: StepStatus;
  readonly totalDurationMs: number;
  /** All attempts' usage, folded (no context window: it belongs to a session). */
  readonly usage?: UsageTotals;
}

export interface SessionSummary {
  readonly sessionId: string;
  readonly handle: string;
  /** Absent when the session could not be started. */
  readonly acpSessionId?: string;
  readonly mode: 'shared' | 'isolated';
  /** Shares its storage with the same session's list in earlier states (see AppendList). */
  readonly attemptIds: AppendList<string>;
  /** Why the session could not be started (`session.failed`). */
  readonly error?: ErrorInfo;
  readonly usage?: UsageTotals;
}

export interface ProjectionState {
  readonly seq: number;
  readonly runId?: string;
  readonly flowName?: string;
  readonly status: RunStatus;
  readonly startedAt?: string;
  readonly updatedAt?: string;
  readonly endedAt?: string;
  readonly durationMs?: number;
  readonly input?: ValueRef;
  readonly output?: ValueRef;
  readonly error?: ErrorInfo;
  readonly waitingAt?: string;
  readonly activeAttemptId?: string;
  readonly eventCount: number;
  readonly unknownEventCount: number;
  readonly unknownEventTypes: readonly string[];
  readonly anomalies: readonly string[];
  /** Every attempt, in order of start. */
  readonly steps: PVec<Step>;
  /** attemptId → index in `steps`. */
  readonly stepIndex: PMap<number>;
  readonly nodes: PMap<NodeSummary>;
  /** `edgeKey(from, to)` (`from→to`) → times taken. */
  readonly edges: PMap<number>;
  readonly sessions: PMap<SessionSummary>;
  /** Every turn's usage, folded (absent until a turn reports usage). */
  readonly usage?: UsageTotals;
}

/** Any line the reducer may be given: a known event, or the envelope of a type it does not know. */
export type ReducibleEvent = TraceEvent | TraceEnvelope;

/** At most this many anomalies and unknown event types are kept. */
export const CAP = 20;

export function initialState(): ProjectionState {
  return {
    seq: 0,
    status: 'running',
    eventCount: 0,
    unknownEventCount: 0,
    unknownEventTypes: [],
    anomalies: [],
    steps: PVec.empty(),
    stepIndex: PMap.empty(),
    nodes: PMap.empty(),
    edges: PMap.empty(),
    sessions: PMap.empty(),
  };
}

/** The next state while a Projector builds it: owned by the Projector until it hands it out. */
export type Draft = { -readonly [K in keyof ProjectionState]: ProjectionState[K] };
