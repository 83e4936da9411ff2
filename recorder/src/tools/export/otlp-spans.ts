/**
 * The one span builder: trace events in order → OpenTelemetry spans (the SDK's ReadableSpan, handed to its OTLP
 * exporters and serializers), following the GenAI semantic conventions. Both exports use it: `flowtape export otlp`
 * feeds it a bundle's trace, live export feeds it the events as the recorder commits them — so both give the same
 * spans. Spans are complete when handed out (an attempt's span at its outcome, the run's at its end), with times
 * from the trace, never from a clock.
 *
 *   invoke_workflow <flow>            the run (root)                        otlp-span-workflow.ts
 *   └─ <nodeType> <nodeId>            one per node attempt; a link to the   otlp-span-attempt.ts
 *      │                              attempt whose edge led here
 *      ├─ invoke_agent <agent>        one per ACP turn                      otlp-span-turn.ts
 *      │  └─ execute_tool <title>     one per tool call of that turn
 *      └─ shell|function <nodeId>     the action of an action node          otlp-span-action.ts
 *
 * This module only follows the trace: what is open (the run, attempts, their turns and actions) and what closes it.
 */
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { isKnownEventType, type ErrorInfo, type EventOf, type ReducibleEvent, type TraceEvent } from '@flowtape/schema';
import { RunSpans } from './otlp-run-spans.ts';
import type { SessionSource } from './otlp-sessions.ts';
import { actionSpan } from './otlp-span-action.ts';
import { attemptSpan, type EdgeInto } from './otlp-span-attempt.ts';
import { turnSpans, type TurnContext } from './otlp-span-turn.ts';
import { workflowSpan } from './otlp-span-workflow.ts';

export { FLOWTAPE_ATTRS } from './otlp-attributes.ts';

export interface SpanBuilderOptions {
  resource: Resource;
  scope: { name: string; version?: string };
  sessions: SessionSource;
  /** Message content (prompts, responses, tool arguments and results) on spans: off unless asked for. */
  includeContent?: boolean;
}

interface OpenTurn {
  event: EventOf<'acp.prompt_sent'>;
  sessionId?: string;
}

interface OpenAttempt {
  started: EventOf<'node.started'>;
  spanId: string;
  sessionId?: string;
  turns: OpenTurn[];
  action?: EventOf<'action.started'>;
  /** The edge that led here, from the attempt that chose it. */
  cameFrom?: EdgeInto;
  /** Spans of turns and actions finished in this attempt: handed out with the attempt's own span. */
  children: ReadableSpan[];
}

const RUN_ENDS = new Set(['run.completed', 'run.failed', 'run.timed_out', 'run.cancelled']);
const NOTHING: ReadableSpan[] = [];

/** Incremental: `add` each event in trace order, collect what it returns, then `finish` once. */
export class OtlpSpanBuilder {
  private run: RunSpans | undefined;
  private runStarted: EventOf<'run.started'> | undefined;
  private firstSeq: number | undefined;
  private lastEvent: ReducibleEvent | undefined;
  private readonly attempts = new Map<string, OpenAttempt>();
  /** The last edge into each node, waiting for that node's next attempt. */
  private readonly edgesInto = new Map<string, EdgeInto>();
  private readonly sessionHandles = new Map<string, { handle: string; acpSessionId?: string }>();
  private rootDone = false;
  /** The attempt that ended last: the edge it takes comes next, and needs its span id again. */
  private lastEnded: { attemptId: string; spanId: string } | undefined;

  constructor(private readonly options: SpanBuilderOptions) {}

  /**
   * Folds one trace event; returns the spans it completed (children before their parent). The array returned may
   * be shared: read it, do not keep or change it.
   */
  add(event: ReducibleEvent): ReadableSpan[] {
    this.firstSeq ??= event.seq;
    this.lastEvent = event;
    if (!isKnownEventType(event.type)) return NOTHING;
    const known = event as TraceEvent;
    const run = (this.run ??= new RunSpans(known.runId, this.options.resource, this.options.scope));
    switch (known.type) {
      case 'run.started':
        this.runStarted = known;
        return NOTHING;
      case 'node.started': {
        const cameFrom = this.edgesInto.get(known.nodeId!);
        if (cameFrom) this.edgesInto.delete(known.nodeId!);
        const attempt: OpenAttempt = { started: known, spanId: run.spanId(`attempt:${known.attemptId}`), turns: [], children: [] };
        if (cameFrom) attempt.cameFrom = cameFrom;
        this.attempts.set(known.attemptId!, attempt);
        return NOTHING;
      }
      case 'session.bound':
      case 'session.failed': {
        const attempt = this.attempt(known);
        if (attempt && known.sessionId) attempt.sessionId = known.sessionId;
        if (known.sessionId) {
          this.sessionHandles.set(known.sessionId, {
            handle: known.payload.handle,
            ...(known.type === 'session.bound' ? { acpSessionId: known.payload.acpSessionId } : {}),
          });
        }
        return NOTHING;
      }
      case 'acp.prompt_sent': {
        const attempt = this.attempt(known);
        attempt?.turns.push({ event: known, ...(known.sessionId ? { sessionId: known.sessionId } : {}) });
        return NOTHING;
      }
      case 'acp.turn_finished': {
        const attempt = this.attempt(known);
        const turn = attempt?.turns.shift();
        if (attempt && turn) attempt.children.push(...turnSpans(this.turnContext(attempt, turn), turn.event, known));
        return NOTHING;
      }
      case 'action.started': {
        const attempt = this.attempt(known);
        if (attempt) attempt.action = known;
        return NOTHING;
      }
      case 'action.completed': {
        const attempt = this.attempt(known);
        if (attempt?.action) {
          attempt.children.push(actionSpan(run, attempt.started, attempt.spanId, attempt.action, known));
          attempt.action = undefined;
        }
        return NOTHING;
      }
      case 'node.outcome': {
        const attempt = this.attempt(known);
        if (!attempt) return NOTHING;
        this.attempts.delete(known.attemptId!);
        this.lastEnded = { attemptId: known.attemptId!, spanId: attempt.spanId };
        return this.closeAttempt(attempt, known.at, known.seq, known.payload.outcome, known.payload.error);
      }
      case 'edge.taken': {
        const chooser = !known.attemptId
          ? run.rootSpanId
          : known.attemptId === this.lastEnded?.attemptId
            ? this.lastEnded.spanId
            : run.spanId(`attempt:${known.attemptId}`);
        this.edgesInto.set(known.payload.to, { event: known, spanId: chooser });
        return NOTHING;
      }
      default:
        return RUN_ENDS.has(known.type) ? this.closeRun(known) : NOTHING;
    }
  }

  /**
   * The end of the input: attempts still open (a run waiting at a checkpoint, a bundle cut short) and the run's
   * own span end at the last event, with the run's status as an attribute.
   */
  finish(): ReadableSpan[] {
    if (!this.lastEvent || this.run === undefined) return [];
    const spans: ReadableSpan[] = [];
    for (const attempt of this.attempts.values()) {
      spans.push(...this.closeAttempt(attempt, this.lastEvent.at, this.lastEvent.seq, undefined, undefined));
    }
    this.attempts.clear();
    if (!this.rootDone) spans.push(...this.closeRun(undefined));
    return spans;
  }

  private attempt(event: TraceEvent): OpenAttempt | undefined {
    return event.attemptId ? this.attempts.get(event.attemptId) : undefined;
  }

  private turnContext(attempt: OpenAttempt, turn: OpenTurn): TurnContext {
    const sessionId = turn.sessionId ?? attempt.sessionId;
    return {
      run: this.run!,
      sessions: this.options.sessions,
      includeContent: this.options.includeContent === true,
      attempt: attempt.started,
      attemptSpanId: attempt.spanId,
      sessionId,
      session: sessionId ? this.sessionHandles.get(sessionId) : undefined,
    };
  }

  private closeRun(end: TraceEvent | undefined): ReadableSpan[] {
    if (this.rootDone) return NOTHING;
    this.rootDone = true;
    return [workflowSpan(this.run!, this.runStarted, this.firstSeq ?? 1, end, this.lastEvent!)];
  }

  private closeAttempt(attempt: OpenAttempt, at: string, seq: number, outcome: string | undefined, error: ErrorInfo | undefined): ReadableSpan[] {
    const run = this.run!;
    // The attempt's children go out with it, in the array they were collected in.
    const spans = attempt.children;
    // A turn or action still open when the attempt ended (interrupted): it ends with the attempt.
    for (const turn of attempt.turns) spans.push(...turnSpans(this.turnContext(attempt, turn), turn.event, undefined, at, seq));
    if (attempt.action) spans.push(actionSpan(run, attempt.started, attempt.spanId, attempt.action, undefined, at, seq));
    spans.push(attemptSpan(run, attempt.started, attempt.spanId, attempt.sessionId, attempt.cameFrom, { at, seq, outcome, error }));
    return spans;
  }
}
