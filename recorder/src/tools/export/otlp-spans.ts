/**
 * The one span builder: trace events in order → OpenTelemetry spans (the SDK's ReadableSpan, handed to its OTLP
 * exporters and serializers), following the GenAI semantic conventions. Both exports use it: `flowtape export otlp`
 * feeds it a bundle's trace, live export feeds it the events as the recorder commits them — so both give the same
 * spans. Spans are complete when handed out (an attempt's span at its outcome, the run's at its end), with times
 * from the trace, never from a clock.
 *
 *   invoke_workflow <flow>            the run (root)
 *   └─ <nodeType> <nodeId>            one per node attempt; a link to the attempt whose edge led here
 *      ├─ invoke_agent <agent>        one per ACP turn (tokens, stop reason, session)
 *      │  └─ execute_tool <title>     one per tool call the agent reported in that turn
 *      └─ shell|function <nodeId>     the action of an action node (exit code)
 */
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type Link, type SpanContext } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import {
  ATTR_ERROR_TYPE,
  ATTR_EXCEPTION_MESSAGE,
  ATTR_EXCEPTION_STACKTRACE,
  ATTR_EXCEPTION_TYPE,
} from '@opentelemetry/semantic-conventions';
import {
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_AGENT_VERSION,
  ATTR_GEN_AI_CONVERSATION_ID,
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_TOOL_CALL_ARGUMENTS,
  ATTR_GEN_AI_TOOL_CALL_ID,
  ATTR_GEN_AI_TOOL_CALL_RESULT,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_TOOL_TYPE,
  ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
  ATTR_GEN_AI_WORKFLOW_NAME,
  ATTR_PROCESS_COMMAND_LINE,
  ATTR_PROCESS_EXIT_CODE,
  GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
  GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT,
  GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW,
} from '@opentelemetry/semantic-conventions/incubating';
import { isKnownEventType, type ErrorInfo, type EventOf, type ReducibleEvent, type TraceEvent, type ValueRef } from '@flowtape/schema';
import { hrDuration, hrTimeOf, spanIdFor, traceIdFor } from './otlp-ids.ts';
import type { SessionSource, ToolCallView } from './otlp-sessions.ts';

/** flowtape's own attributes: the way back from a span to its bundle. */
export const FLOWTAPE_ATTRS = {
  runId: 'flowtape.run.id',
  runStatus: 'flowtape.run.status',
  seqFrom: 'flowtape.seq.from',
  seqTo: 'flowtape.seq.to',
  nodeId: 'flowtape.node.id',
  nodeType: 'flowtape.node.type',
  attemptId: 'flowtape.attempt.id',
  attempt: 'flowtape.attempt.number',
  outcome: 'flowtape.outcome',
  sessionId: 'flowtape.session.id',
  sessionHandle: 'flowtape.session.handle',
  sessionEventsFrom: 'flowtape.session.events.from',
  sessionEventsTo: 'flowtape.session.events.to',
  toolKind: 'flowtape.tool.kind',
  toolStatus: 'flowtape.tool.status',
  actionType: 'flowtape.action.type',
  signal: 'flowtape.action.signal',
  edgeFrom: 'flowtape.edge.from',
  edgeTo: 'flowtape.edge.to',
  edgeOn: 'flowtape.edge.on',
  edgeValue: 'flowtape.edge.value',
  edgeCase: 'flowtape.edge.case',
  edgeDefault: 'flowtape.edge.default',
  costAmount: 'flowtape.usage.cost.amount',
  costCurrency: 'flowtape.usage.cost.currency',
} as const;

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

interface OpenAction {
  event: EventOf<'action.started'>;
}

interface OpenAttempt {
  started: EventOf<'node.started'>;
  spanId: string;
  sessionId?: string;
  turns: OpenTurn[];
  action?: OpenAction;
  /** The edge that led here, from the attempt that chose it. */
  cameFrom?: { event: EventOf<'edge.taken'>; spanId: string };
  /** Spans of turns and actions finished in this attempt: handed out with the attempt's own span. */
  children: ReadableSpan[];
}

const ERROR_OUTCOMES = new Set(['failed', 'timed_out', 'cancelled', 'interrupted']);
const RUN_ENDS = new Set(['run.completed', 'run.failed', 'run.timed_out', 'run.cancelled']);

/** Incremental: `add` each event in trace order, collect what it returns, then `finish` once. */
export class OtlpSpanBuilder {
  private runId: string | undefined;
  private traceId = '';
  private rootSpanId = '';
  private runStarted: EventOf<'run.started'> | undefined;
  private firstSeq: number | undefined;
  private lastEvent: ReducibleEvent | undefined;
  private readonly attempts = new Map<string, OpenAttempt>();
  /** The last edge into each node, waiting for that node's next attempt. */
  private readonly edgesInto = new Map<string, { event: EventOf<'edge.taken'>; spanId: string }>();
  private readonly sessionHandles = new Map<string, { handle: string; acpSessionId?: string }>();
  private rootDone = false;

  constructor(private readonly options: SpanBuilderOptions) {}

  /** Folds one trace event; returns the spans it completed (children before their parent). */
  add(event: ReducibleEvent): ReadableSpan[] {
    this.firstSeq ??= event.seq;
    this.lastEvent = event;
    if (!isKnownEventType(event.type)) return [];
    const known = event as TraceEvent;
    if (this.runId === undefined) this.setRun(known.runId);
    switch (known.type) {
      case 'run.started':
        this.runStarted = known;
        return [];
      case 'node.started': {
        const cameFrom = this.edgesInto.get(known.nodeId!);
        this.edgesInto.delete(known.nodeId!);
        this.attempts.set(known.attemptId!, {
          started: known,
          spanId: this.spanId(`attempt:${known.attemptId}`),
          turns: [],
          children: [],
          ...(cameFrom ? { cameFrom } : {}),
        });
        return [];
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
        return [];
      }
      case 'acp.prompt_sent': {
        const attempt = this.attempt(known);
        attempt?.turns.push({ event: known, ...(known.sessionId ? { sessionId: known.sessionId } : {}) });
        return [];
      }
      case 'acp.turn_finished': {
        const attempt = this.attempt(known);
        const turn = attempt?.turns.shift();
        if (attempt && turn) attempt.children.push(...this.turnSpans(attempt, turn, known));
        return [];
      }
      case 'action.started': {
        const attempt = this.attempt(known);
        if (attempt) attempt.action = { event: known };
        return [];
      }
      case 'action.completed': {
        const attempt = this.attempt(known);
        if (attempt?.action) {
          attempt.children.push(this.actionSpan(attempt, attempt.action.event, known));
          attempt.action = undefined;
        }
        return [];
      }
      case 'node.outcome': {
        const attempt = this.attempt(known);
        if (!attempt) return [];
        this.attempts.delete(known.attemptId!);
        return this.closeAttempt(attempt, known.at, known.seq, known.payload.outcome, known.payload.error);
      }
      case 'edge.taken': {
        const chooser = known.attemptId ? this.spanId(`attempt:${known.attemptId}`) : this.rootSpanId;
        this.edgesInto.set(known.payload.to, { event: known, spanId: chooser });
        return [];
      }
      default:
        if (RUN_ENDS.has(known.type)) return this.closeRun(known);
        return [];
    }
  }

  /**
   * The end of the input: attempts still open (a run waiting at a checkpoint, a bundle cut short) and the run's
   * own span end at the last event, with the run's status as an attribute.
   */
  finish(): ReadableSpan[] {
    if (!this.lastEvent || this.runId === undefined) return [];
    const spans: ReadableSpan[] = [];
    for (const attempt of this.attempts.values()) {
      spans.push(...this.closeAttempt(attempt, this.lastEvent.at, this.lastEvent.seq, undefined, undefined));
    }
    this.attempts.clear();
    if (!this.rootDone) spans.push(...this.closeRun(undefined));
    return spans;
  }

  // ——— spans ———

  private setRun(runId: string): void {
    this.runId = runId;
    this.traceId = traceIdFor(runId);
    this.rootSpanId = this.spanId('run');
  }

  private spanId(key: string): string {
    return spanIdFor(this.runId!, key);
  }

  private attempt(event: TraceEvent): OpenAttempt | undefined {
    return event.attemptId ? this.attempts.get(event.attemptId) : undefined;
  }

  private context(spanId: string): SpanContext {
    return { traceId: this.traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: false };
  }

  private base(seqFrom: number, seqTo: number): Attributes {
    return { [FLOWTAPE_ATTRS.runId]: this.runId!, [FLOWTAPE_ATTRS.seqFrom]: seqFrom, [FLOWTAPE_ATTRS.seqTo]: seqTo };
  }

  private span(fields: {
    name: string;
    kind: SpanKind;
    spanId: string;
    parentSpanId?: string;
    start: string;
    end: string;
    attributes: Attributes;
    error?: { message: string; info?: ErrorInfo; at: string };
    links?: Link[];
    events?: TimedEvent[];
  }): ReadableSpan {
    const startTime = hrTimeOf(fields.start);
    let endTime = hrTimeOf(fields.end);
    if (endTime[0] < startTime[0] || (endTime[0] === startTime[0] && endTime[1] < startTime[1])) endTime = startTime;
    const events: TimedEvent[] = [...(fields.events ?? [])];
    const attributes: Attributes = { ...fields.attributes };
    let status: ReadableSpan['status'] = { code: SpanStatusCode.UNSET };
    if (fields.error) {
      status = { code: SpanStatusCode.ERROR, message: fields.error.message };
      const info = fields.error.info;
      attributes[ATTR_ERROR_TYPE] = info?.code ?? info?.name ?? 'error';
      events.push({
        name: 'exception',
        time: hrTimeOf(fields.error.at),
        attributes: {
          [ATTR_EXCEPTION_TYPE]: info?.code ?? info?.name ?? 'error',
          [ATTR_EXCEPTION_MESSAGE]: info?.message ?? fields.error.message,
          ...(info?.stack ? { [ATTR_EXCEPTION_STACKTRACE]: info.stack } : {}),
        },
        droppedAttributesCount: 0,
      });
    }
    const context = this.context(fields.spanId);
    return {
      name: fields.name,
      kind: fields.kind,
      spanContext: () => context,
      ...(fields.parentSpanId ? { parentSpanContext: this.context(fields.parentSpanId) } : {}),
      startTime,
      endTime,
      duration: hrDuration(startTime, endTime),
      status,
      attributes,
      links: fields.links ?? [],
      events,
      ended: true,
      resource: this.options.resource,
      instrumentationScope: this.options.scope,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
  }

  private closeRun(end: TraceEvent | undefined): ReadableSpan[] {
    if (this.rootDone) return [];
    this.rootDone = true;
    const last = end ?? this.lastEvent!;
    const flowName = this.runStarted?.payload.flowName ?? 'flow';
    const status = end ? end.type.slice('run.'.length) : this.lastEvent?.type === 'run.waiting' ? 'waiting' : 'running';
    let error: { message: string; info?: ErrorInfo; at: string } | undefined;
    if (end?.type === 'run.failed') error = { message: end.payload.error.message, info: end.payload.error, at: end.at };
    else if (end?.type === 'run.timed_out') error = { message: `the run timed out after ${end.payload.timeoutMs} ms`, info: { message: 'timed out', code: 'timed_out' }, at: end.at };
    else if (end?.type === 'run.cancelled') error = { message: `the run was cancelled (${end.payload.reason})`, info: { message: end.payload.reason, code: 'cancelled' }, at: end.at };
    return [
      this.span({
        name: `${GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW} ${flowName}`,
        kind: SpanKind.INTERNAL,
        spanId: this.rootSpanId,
        start: this.runStarted?.at ?? last.at,
        end: last.at,
        attributes: {
          ...this.base(this.firstSeq ?? 1, last.seq),
          [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW,
          [ATTR_GEN_AI_WORKFLOW_NAME]: flowName,
          [FLOWTAPE_ATTRS.runStatus]: status,
        },
        ...(error ? { error } : {}),
      }),
    ];
  }

  private closeAttempt(attempt: OpenAttempt, at: string, seq: number, outcome: string | undefined, error: ErrorInfo | undefined): ReadableSpan[] {
    const started = attempt.started;
    const spans = [...attempt.children];
    // A turn or action still open when the attempt ended (interrupted): it ends with the attempt.
    for (const turn of attempt.turns) spans.push(...this.turnSpans(attempt, turn, undefined, at, seq));
    if (attempt.action) spans.push(this.actionSpan(attempt, attempt.action.event, undefined, at, seq));
    const links: Link[] = [];
    const attributes: Attributes = {
      ...this.base(started.seq, seq),
      [FLOWTAPE_ATTRS.nodeId]: started.nodeId!,
      [FLOWTAPE_ATTRS.nodeType]: started.payload.nodeType,
      [FLOWTAPE_ATTRS.attemptId]: started.attemptId!,
      [FLOWTAPE_ATTRS.attempt]: started.payload.attempt,
      [FLOWTAPE_ATTRS.outcome]: outcome ?? 'open',
      ...(attempt.sessionId ? { [FLOWTAPE_ATTRS.sessionId]: attempt.sessionId } : {}),
    };
    if (attempt.cameFrom) {
      const edge = attempt.cameFrom.event.payload;
      const edgeAttributes: Attributes = {
        [FLOWTAPE_ATTRS.edgeFrom]: edge.from,
        [FLOWTAPE_ATTRS.edgeTo]: edge.to,
        [FLOWTAPE_ATTRS.seqFrom]: attempt.cameFrom.event.seq,
        [FLOWTAPE_ATTRS.seqTo]: attempt.cameFrom.event.seq,
        ...(edge.branch
          ? {
              [FLOWTAPE_ATTRS.edgeOn]: edge.branch.on,
              [FLOWTAPE_ATTRS.edgeValue]: JSON.stringify(edge.branch.value),
              ...(edge.branch.caseKey !== undefined ? { [FLOWTAPE_ATTRS.edgeCase]: edge.branch.caseKey } : {}),
              ...(edge.branch.isDefault ? { [FLOWTAPE_ATTRS.edgeDefault]: true } : {}),
            }
          : {}),
      };
      links.push({ context: this.context(attempt.cameFrom.spanId), attributes: edgeAttributes, droppedAttributesCount: 0 });
      // The "why" of the branch also on the span itself, where span search finds it.
      for (const key of [FLOWTAPE_ATTRS.edgeFrom, FLOWTAPE_ATTRS.edgeOn, FLOWTAPE_ATTRS.edgeValue, FLOWTAPE_ATTRS.edgeCase, FLOWTAPE_ATTRS.edgeDefault]) {
        if (edgeAttributes[key] !== undefined) attributes[key] = edgeAttributes[key];
      }
    }
    const failed = outcome !== undefined && ERROR_OUTCOMES.has(outcome);
    spans.push(
      this.span({
        name: `${started.payload.nodeType} ${started.nodeId}`,
        kind: SpanKind.INTERNAL,
        spanId: attempt.spanId,
        parentSpanId: this.rootSpanId,
        start: started.at,
        end: at,
        attributes,
        links,
        ...(failed ? { error: { message: error?.message ?? `the attempt ${outcome}`, info: error ?? { message: outcome!, code: outcome }, at } } : {}),
      }),
    );
    return spans;
  }

  private turnSpans(attempt: OpenAttempt, turn: OpenTurn, finished: EventOf<'acp.turn_finished'> | undefined, at?: string, seq?: number): ReadableSpan[] {
    const sent = turn.event;
    const sessionId = turn.sessionId ?? attempt.sessionId;
    const agent = sessionId ? this.options.sessions.agent(sessionId) : undefined;
    const session = sessionId ? this.sessionHandles.get(sessionId) : undefined;
    const spanId = this.spanId(`turn:${sent.seq}`);
    const payload = finished?.payload;
    const tokens = payload?.usage?.tokens;
    const attributes: Attributes = {
      ...this.base(sent.seq, finished?.seq ?? seq ?? sent.seq),
      [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT,
      [FLOWTAPE_ATTRS.nodeId]: attempt.started.nodeId!,
      [FLOWTAPE_ATTRS.attemptId]: attempt.started.attemptId!,
      ...(agent ? { [ATTR_GEN_AI_AGENT_NAME]: agent.name } : {}),
      ...(agent?.version ? { [ATTR_GEN_AI_AGENT_VERSION]: agent.version } : {}),
      ...(session?.acpSessionId ? { [ATTR_GEN_AI_CONVERSATION_ID]: session.acpSessionId } : {}),
      ...(sessionId ? { [FLOWTAPE_ATTRS.sessionId]: sessionId } : {}),
      ...(session ? { [FLOWTAPE_ATTRS.sessionHandle]: session.handle } : {}),
      ...(payload?.stopReason ? { [ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: [payload.stopReason] } : {}),
      ...(payload?.sessionEvents
        ? { [FLOWTAPE_ATTRS.sessionEventsFrom]: payload.sessionEvents.from, [FLOWTAPE_ATTRS.sessionEventsTo]: payload.sessionEvents.to }
        : {}),
      ...(tokens?.inputTokens !== undefined ? { [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: tokens.inputTokens } : {}),
      ...(tokens?.outputTokens !== undefined ? { [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: tokens.outputTokens } : {}),
      ...(tokens?.cachedReadTokens !== undefined ? { [ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: tokens.cachedReadTokens } : {}),
      ...(tokens?.cachedWriteTokens !== undefined ? { [ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS]: tokens.cachedWriteTokens } : {}),
      ...(tokens?.thoughtTokens !== undefined ? { [ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS]: tokens.thoughtTokens } : {}),
      ...(payload?.usage?.cost ? { [FLOWTAPE_ATTRS.costAmount]: payload.usage.cost.amount, [FLOWTAPE_ATTRS.costCurrency]: payload.usage.cost.currency } : {}),
    };
    if (this.options.includeContent) {
      const input = this.text(sent.payload.prompt);
      if (input !== undefined) attributes[ATTR_GEN_AI_INPUT_MESSAGES] = JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: input }] }]);
      const output = payload?.response ? this.text(payload.response) : undefined;
      if (output !== undefined) {
        attributes[ATTR_GEN_AI_OUTPUT_MESSAGES] = JSON.stringify([
          { role: 'assistant', parts: [{ type: 'text', content: output }], ...(payload?.stopReason ? { finish_reason: payload.stopReason } : {}) },
        ]);
      }
    }
    const end = finished?.at ?? at ?? sent.at;
    const error = payload?.error
      ? { message: payload.error.message, info: payload.error, at: end }
      : !finished
        ? { message: 'the turn did not finish', info: { message: 'the turn did not finish', code: 'interrupted' }, at: end }
        : undefined;
    const tools =
      sessionId && payload?.sessionEvents ? this.options.sessions.toolCalls(sessionId, payload.sessionEvents).map((call) => this.toolSpan(spanId, sent.seq, finished!.seq, call, end)) : [];
    return [
      ...tools,
      this.span({
        name: `${GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT}${agent ? ` ${agent.name}` : ''}`,
        kind: SpanKind.CLIENT,
        spanId,
        parentSpanId: attempt.spanId,
        start: sent.at,
        end,
        attributes,
        ...(error ? { error } : {}),
      }),
    ];
  }

  private toolSpan(parentSpanId: string, seqFrom: number, seqTo: number, call: ToolCallView, turnEnd: string): ReadableSpan {
    const name = call.title ?? call.toolKind ?? 'tool';
    const attributes: Attributes = {
      ...this.base(seqFrom, seqTo),
      [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
      [ATTR_GEN_AI_TOOL_NAME]: name,
      [ATTR_GEN_AI_TOOL_CALL_ID]: call.toolCallId,
      [ATTR_GEN_AI_TOOL_TYPE]: 'function',
      [FLOWTAPE_ATTRS.sessionEventsFrom]: call.sessionEvents.from,
      [FLOWTAPE_ATTRS.sessionEventsTo]: call.sessionEvents.to,
      ...(call.toolKind ? { [FLOWTAPE_ATTRS.toolKind]: call.toolKind } : {}),
      ...(call.status ? { [FLOWTAPE_ATTRS.toolStatus]: call.status } : {}),
    };
    if (this.options.includeContent) {
      if (call.rawInput !== undefined) attributes[ATTR_GEN_AI_TOOL_CALL_ARGUMENTS] = JSON.stringify(call.rawInput);
      if (call.rawOutput !== undefined) attributes[ATTR_GEN_AI_TOOL_CALL_RESULT] = JSON.stringify(call.rawOutput);
    }
    const start = call.startAt ?? turnEnd;
    const end = call.endAt ?? turnEnd;
    return this.span({
      name: `${GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL} ${name}`,
      kind: SpanKind.INTERNAL,
      spanId: this.spanId(`tool:${seqFrom}:${call.toolCallId}:${call.sessionEvents.from}`),
      parentSpanId,
      start,
      end,
      attributes,
      ...(call.status === 'failed' ? { error: { message: `tool call ${call.toolCallId} failed`, info: { message: 'tool call failed', code: 'tool_failed' }, at: end } } : {}),
    });
  }

  private actionSpan(attempt: OpenAttempt, started: EventOf<'action.started'>, completed: EventOf<'action.completed'> | undefined, at?: string, seq?: number): ReadableSpan {
    const payload = completed?.payload;
    const command = started.payload.command;
    const attributes: Attributes = {
      ...this.base(started.seq, completed?.seq ?? seq ?? started.seq),
      [FLOWTAPE_ATTRS.actionType]: started.payload.actionType,
      [FLOWTAPE_ATTRS.nodeId]: attempt.started.nodeId!,
      [FLOWTAPE_ATTRS.attemptId]: attempt.started.attemptId!,
      ...(command !== undefined ? { [ATTR_PROCESS_COMMAND_LINE]: Array.isArray(command) ? command.join(' ') : command } : {}),
      ...(payload?.exitCode !== undefined && payload.exitCode !== null ? { [ATTR_PROCESS_EXIT_CODE]: payload.exitCode } : {}),
      ...(payload?.signal ? { [FLOWTAPE_ATTRS.signal]: payload.signal } : {}),
    };
    const end = completed?.at ?? at ?? started.at;
    const error =
      payload && !payload.ok
        ? { message: payload.error?.message ?? `exit code ${String(payload.exitCode)}`, ...(payload.error ? { info: payload.error } : {}), at: end }
        : !payload
          ? { message: 'the action did not finish', info: { message: 'the action did not finish', code: 'interrupted' }, at: end }
          : undefined;
    return this.span({
      name: `${started.payload.actionType} ${attempt.started.nodeId}`,
      kind: SpanKind.INTERNAL,
      spanId: this.spanId(`action:${started.seq}`),
      parentSpanId: attempt.spanId,
      start: started.at,
      end,
      attributes,
      ...(error ? { error } : {}),
    });
  }

  private text(ref: ValueRef): string | undefined {
    return this.options.sessions.valueText(ref);
  }
}
