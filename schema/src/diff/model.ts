/**
 * The comparable model of one run, built while its trace streams by: one small record per attempt (dropped once
 * compared), the run's own record, the flow definition keyed by node id. Nothing here keeps the trace.
 */
import type { ValueRef } from '../common.ts';
import type { TraceEvent } from '../events.ts';
import { isKnownEventType } from '../event-types.ts';
import type { FlowSnapshot } from '../flow.ts';
import { isSwitchEdge } from '../flow-edges.ts';
import type { ReducibleEvent } from '../reducer.ts';
import type { UsageTotals } from '../usage.ts';
import { addTurnUsage } from '../usage-fold.ts';
import type { Normalizer } from './normalize.ts';

/** An artifact as the diff sees it before its content is loaded. */
export interface ArtifactMark {
  $artifact: string;
  path: string;
  size: number;
  mediaType: string;
}

export function isArtifactMark(value: unknown): value is ArtifactMark {
  return typeof value === 'object' && value !== null && typeof (value as ArtifactMark).$artifact === 'string';
}

/** A ValueRef as a plain value: the inline value, or a mark to compare artifacts by content. */
export function refValue(ref: ValueRef | undefined): unknown {
  if (ref === undefined) return undefined;
  if ('inline' in ref) return ref.inline;
  return {
    $artifact: `sha256:${ref.artifact.sha256}`,
    path: ref.artifact.path,
    size: ref.artifact.size,
    mediaType: ref.artifact.mediaType,
  } satisfies ArtifactMark;
}

export interface AttemptModel {
  nodeId: string;
  attempt: number;
  nodeType?: string;
  outcome: string | null;
  input?: unknown;
  output?: unknown;
  error?: unknown;
  next?: unknown;
  session?: string;
  turns: unknown[];
  action?: Record<string, unknown>;
  artifacts: Record<string, unknown>;
  unknownEvents?: string[];
  /** Not behaviour: compared in the usage section (see usageModel). */
  usage?: UsageTotals;
}

/**
 * Usage totals as the diff compares them: costs keyed by currency (`/cost/USD`), so a change reads as one amount
 * and two currencies never meet.
 */
export function usageModel(usage: UsageTotals | undefined): Record<string, unknown> | undefined {
  if (!usage) return undefined;
  return {
    turns: usage.turns,
    ...(usage.tokens ? { tokens: usage.tokens } : {}),
    ...(usage.cost ? { cost: Object.fromEntries(usage.cost.map((c) => [c.currency, c.amount])) } : {}),
    ...(usage.context ? { context: usage.context } : {}),
  };
}

interface OpenAttempt {
  id: string;
  model: AttemptModel;
  ended: boolean;
}

/** The error fields that say what went wrong; stacks carry paths and line numbers that change with every build. */
function errorValue(error: { message: string; code?: string; name?: string } | undefined): unknown {
  if (!error) return undefined;
  return { message: error.message, ...(error.code ? { code: error.code } : {}), ...(error.name ? { name: error.name } : {}) };
}

export interface RunModel {
  flowName?: string;
  input?: unknown;
  runTimeoutMs?: number;
  status: string;
  output?: unknown;
  error?: unknown;
  abandoned?: boolean;
  waits: string[];
  resumes: number;
}

/** Folds one side's trace into attempt records; attempts come out (finalized) once nothing more can change them. */
export class RunAccumulator {
  readonly run: RunModel = { status: 'running', waits: [], resumes: 0 };
  readonly nodeCounts = new Map<string, number>();
  /** flowtape session id → diff key (`handle`, `handle#2`, …): session ids are volatile, handles are not. */
  readonly sessionKeys = new Map<string, string>();
  readonly sessionIds: string[] = [];
  private readonly handleCounts = new Map<string, number>();
  private readonly open = new Map<string, OpenAttempt>();
  readonly warnings: string[] = [];
  /** Every turn's usage, folded (the run's totals). */
  usage: UsageTotals | undefined;
  started = 0;
  events = 0;

  constructor(
    private readonly label: string,
    private readonly normalizer: Normalizer,
  ) {}

  /** Folds one event; returns the attempts it finalized. */
  add(event: ReducibleEvent): AttemptModel[] {
    this.events++;
    if (!isKnownEventType(event.type)) {
      const open = event.attemptId ? this.open.get(event.attemptId) : undefined;
      if (open) (open.model.unknownEvents ??= []).push(event.type);
      return [];
    }
    const e = event as TraceEvent;
    switch (e.type) {
      case 'run.started':
        this.normalizer.addToken(e.runId, '<run-id>');
        this.normalizer.addPath(e.payload.cwd, '<cwd>');
        this.run.flowName = e.payload.flowName;
        this.run.input = this.value(refValue(e.payload.input));
        this.run.runTimeoutMs = e.payload.runTimeoutMs;
        return [];
      case 'run.waiting':
        this.run.status = 'waiting';
        this.run.waits.push(e.payload.checkpoint);
        return [];
      case 'run.resumed':
        this.run.status = 'running';
        this.run.resumes++;
        return [];
      case 'run.completed':
        this.run.status = 'completed';
        this.run.output = this.value(refValue(e.payload.output));
        return this.finalize(false);
      case 'run.failed':
        this.run.status = 'failed';
        this.run.error = this.value(errorValue(e.payload.error));
        if (e.payload.abandoned) this.run.abandoned = true;
        return this.finalize(false);
      case 'run.timed_out':
        this.run.status = 'timed_out';
        return this.finalize(false);
      case 'run.cancelled':
        this.run.status = 'cancelled';
        return this.finalize(false);
      case 'node.started': {
        const done = this.finalize(false);
        const { nodeId, attemptId } = e;
        if (!nodeId || !attemptId) return done;
        this.started++;
        this.nodeCounts.set(nodeId, (this.nodeCounts.get(nodeId) ?? 0) + 1);
        this.open.set(attemptId, {
          id: attemptId,
          ended: false,
          model: {
            nodeId,
            attempt: e.payload.attempt,
            nodeType: e.payload.nodeType,
            outcome: null,
            input: refValue(e.payload.input),
            turns: [],
            artifacts: {},
          },
        });
        return done;
      }
      case 'node.heartbeat':
        return [];
      case 'session.bound': {
        if (e.sessionId && !this.sessionKeys.has(e.sessionId)) {
          const n = (this.handleCounts.get(e.payload.handle) ?? 0) + 1;
          this.handleCounts.set(e.payload.handle, n);
          this.sessionKeys.set(e.sessionId, n === 1 ? e.payload.handle : `${e.payload.handle}#${n}`);
          this.sessionIds.push(e.sessionId);
          this.normalizer.addToken(e.sessionId, '<session>');
          this.normalizer.addToken(e.payload.acpSessionId, '<acp-session>');
        }
        const attempt = this.attempt(e);
        if (attempt && e.sessionId) attempt.session = this.sessionKeys.get(e.sessionId);
        return [];
      }
      default:
        break;
    }
    const attempt = this.attempt(e);
    if (!attempt) return [];
    switch (e.type) {
      case 'node.outcome':
        attempt.outcome = e.payload.outcome;
        attempt.output = refValue(e.payload.output);
        attempt.error = errorValue(e.payload.error);
        this.open.get(e.attemptId!)!.ended = true;
        break;
      case 'edge.taken':
        attempt.next = e.payload.branch ? { to: e.payload.to, branch: e.payload.branch } : { to: e.payload.to };
        break;
      case 'acp.prompt_sent':
        attempt.turns.push({ prompt: refValue(e.payload.prompt) });
        break;
      case 'acp.turn_finished': {
        const last = attempt.turns.at(-1) as Record<string, unknown> | undefined;
        const finished = {
          stopReason: e.payload.stopReason,
          response: refValue(e.payload.response),
          error: errorValue(e.payload.error),
        };
        if (last && !('stopReason' in last)) Object.assign(last, finished);
        else attempt.turns.push(finished);
        if (e.payload.usage !== undefined) {
          attempt.usage = addTurnUsage(attempt.usage, e.payload.usage, true);
          this.usage = addTurnUsage(this.usage, e.payload.usage, false);
        }
        break;
      }
      case 'action.started':
        attempt.action = { actionType: e.payload.actionType, command: e.payload.command, cwd: e.payload.cwd };
        break;
      case 'action.completed':
        attempt.action = {
          ...attempt.action,
          actionType: e.payload.actionType,
          ok: e.payload.ok,
          exitCode: e.payload.exitCode,
          signal: e.payload.signal,
          stdout: refValue(e.payload.stdout),
          stderr: refValue(e.payload.stderr),
          output: refValue(e.payload.output),
          error: errorValue(e.payload.error),
        };
        break;
      case 'artifact.written': {
        let role = e.payload.role;
        for (let n = 2; role in attempt.artifacts; n++) role = `${e.payload.role}#${n}`;
        attempt.artifacts[role] = refValue({ artifact: e.payload.artifact });
        break;
      }
      default:
        break;
    }
    return [];
  }

  /** Everything still open: at the end of the trace. */
  end(): AttemptModel[] {
    return this.finalize(true);
  }

  private attempt(e: ReducibleEvent): AttemptModel | undefined {
    if (!e.attemptId) return undefined;
    const open = this.open.get(e.attemptId);
    if (open) return open.model;
    if (this.warnings.length < 20) {
      this.warnings.push(`${this.label}: trace seq ${e.seq}: ${e.type} for attempt ${e.attemptId}, which is not open (not compared)`);
    }
    return undefined;
  }

  private finalize(all: boolean): AttemptModel[] {
    const out: AttemptModel[] = [];
    for (const [id, open] of this.open) {
      if (!open.ended && !all) continue;
      this.open.delete(id);
      out.push(this.value(open.model) as AttemptModel);
    }
    return out;
  }

  value(value: unknown): unknown {
    return this.normalizer.value(value);
  }
}

/** The flow definition as a comparable object: nodes by id, edges by `from->to` (`from->switch` for switches). */
export function flowModel(flow: FlowSnapshot, normalizer: Normalizer): Record<string, unknown> {
  const nodes: Record<string, unknown> = {};
  for (const { id, ...spec } of flow.nodes) nodes[id] = spec;
  const edges: Record<string, unknown> = {};
  for (const edge of flow.edges) {
    let key = isSwitchEdge(edge) ? `${edge.from}->switch` : `${edge.from}->${edge.to}`;
    for (let n = 2; key in edges; n++) key = `${key.replace(/#\d+$/, '')}#${n}`;
    edges[key] = isSwitchEdge(edge) ? edge.switch : edge.to;
  }
  return normalizer.value({
    name: flow.name,
    description: flow.description,
    startAt: flow.startAt,
    runTimeoutMs: flow.runTimeoutMs,
    metadata: flow.metadata,
    nodes,
    edges,
  }) as Record<string, unknown>;
}
