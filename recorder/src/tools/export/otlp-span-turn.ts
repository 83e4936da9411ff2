/**
 * An ACP turn as spans: `invoke_agent <agent>` (agent identity, session, stop reason, usage tokens, and with
 * content asked for, the messages) and under it one `execute_tool <title>` per tool call the agent reported in
 * the turn, read from the session's events.
 */
import { SpanKind, type Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
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
  GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
  GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT,
} from '@opentelemetry/semantic-conventions/incubating';
import type { EventOf } from '@flowtape/schema';
import { FLOWTAPE_ATTRS } from './otlp-attributes.ts';
import type { RunSpans, SpanError } from './otlp-run-spans.ts';
import type { SessionSource, ToolCallView } from './otlp-sessions.ts';

export interface TurnContext {
  run: RunSpans;
  sessions: SessionSource;
  includeContent: boolean;
  /** The attempt the turn belongs to and its span. */
  attempt: EventOf<'node.started'>;
  attemptSpanId: string;
  sessionId: string | undefined;
  /** The session's handle and ACP session id, from `session.bound`. */
  session: { handle: string; acpSessionId?: string } | undefined;
}

/**
 * The turn's spans, tools before the turn. `finished` undefined: the turn never finished (its attempt ended first);
 * it ends at `at`/`seq` with an error status.
 */
export function turnSpans(
  context: TurnContext,
  sent: EventOf<'acp.prompt_sent'>,
  finished: EventOf<'acp.turn_finished'> | undefined,
  at?: string,
  seq?: number,
): ReadableSpan[] {
  const { run, sessions, sessionId, session } = context;
  const agent = sessionId ? sessions.agent(sessionId) : undefined;
  const spanId = run.spanId(`turn:${sent.seq}`);
  const payload = finished?.payload;
  const attributes: Attributes = run.attributes(sent.seq, finished?.seq ?? seq ?? sent.seq);
  attributes[ATTR_GEN_AI_OPERATION_NAME] = GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT;
  attributes[FLOWTAPE_ATTRS.nodeId] = context.attempt.nodeId!;
  attributes[FLOWTAPE_ATTRS.attemptId] = context.attempt.attemptId!;
  if (agent) attributes[ATTR_GEN_AI_AGENT_NAME] = agent.name;
  if (agent?.version) attributes[ATTR_GEN_AI_AGENT_VERSION] = agent.version;
  if (session?.acpSessionId) attributes[ATTR_GEN_AI_CONVERSATION_ID] = session.acpSessionId;
  if (sessionId) attributes[FLOWTAPE_ATTRS.sessionId] = sessionId;
  if (session) attributes[FLOWTAPE_ATTRS.sessionHandle] = session.handle;
  if (payload?.stopReason) attributes[ATTR_GEN_AI_RESPONSE_FINISH_REASONS] = [payload.stopReason];
  if (payload?.sessionEvents) {
    attributes[FLOWTAPE_ATTRS.sessionEventsFrom] = payload.sessionEvents.from;
    attributes[FLOWTAPE_ATTRS.sessionEventsTo] = payload.sessionEvents.to;
  }
  usageAttributes(attributes, payload?.usage);
  if (context.includeContent) {
    const input = sessions.valueText(sent.payload.prompt);
    if (input !== undefined) attributes[ATTR_GEN_AI_INPUT_MESSAGES] = JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: input }] }]);
    const output = payload?.response ? sessions.valueText(payload.response) : undefined;
    if (output !== undefined) {
      attributes[ATTR_GEN_AI_OUTPUT_MESSAGES] = JSON.stringify([
        { role: 'assistant', parts: [{ type: 'text', content: output }], ...(payload?.stopReason ? { finish_reason: payload.stopReason } : {}) },
      ]);
    }
  }
  const end = finished?.at ?? at ?? sent.at;
  let error: SpanError | undefined;
  if (payload?.error) error = { message: payload.error.message, info: payload.error, at: end };
  else if (!finished) error = { message: 'the turn did not finish', info: { message: 'the turn did not finish', code: 'interrupted' }, at: end };
  const spans: ReadableSpan[] = [];
  if (sessionId && finished && payload?.sessionEvents) {
    for (const call of sessions.toolCalls(sessionId, payload.sessionEvents)) spans.push(toolSpan(context, spanId, sent.seq, finished.seq, call, end));
  }
  spans.push(
    run.span({
      name: `${GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT}${agent ? ` ${agent.name}` : ''}`,
      kind: SpanKind.CLIENT,
      spanId,
      parentSpanId: context.attemptSpanId,
      start: sent.at,
      end,
      attributes,
      ...(error ? { error } : {}),
    }),
  );
  return spans;
}

type Usage = NonNullable<EventOf<'acp.turn_finished'>['payload']['usage']>;

function usageAttributes(attributes: Attributes, usage: Usage | undefined): void {
  const tokens = usage?.tokens;
  if (tokens?.inputTokens !== undefined) attributes[ATTR_GEN_AI_USAGE_INPUT_TOKENS] = tokens.inputTokens;
  if (tokens?.outputTokens !== undefined) attributes[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS] = tokens.outputTokens;
  if (tokens?.cachedReadTokens !== undefined) attributes[ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = tokens.cachedReadTokens;
  if (tokens?.cachedWriteTokens !== undefined) attributes[ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = tokens.cachedWriteTokens;
  if (tokens?.thoughtTokens !== undefined) attributes[ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = tokens.thoughtTokens;
  if (usage?.cost) {
    attributes[FLOWTAPE_ATTRS.costAmount] = usage.cost.amount;
    attributes[FLOWTAPE_ATTRS.costCurrency] = usage.cost.currency;
  }
}

function toolSpan(context: TurnContext, parentSpanId: string, seqFrom: number, seqTo: number, call: ToolCallView, turnEnd: string): ReadableSpan {
  const { run } = context;
  const name = call.title ?? call.toolKind ?? 'tool';
  const attributes: Attributes = run.attributes(seqFrom, seqTo);
  attributes[ATTR_GEN_AI_OPERATION_NAME] = GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL;
  attributes[ATTR_GEN_AI_TOOL_NAME] = name;
  attributes[ATTR_GEN_AI_TOOL_CALL_ID] = call.toolCallId;
  attributes[ATTR_GEN_AI_TOOL_TYPE] = 'function';
  attributes[FLOWTAPE_ATTRS.sessionEventsFrom] = call.sessionEvents.from;
  attributes[FLOWTAPE_ATTRS.sessionEventsTo] = call.sessionEvents.to;
  if (call.toolKind) attributes[FLOWTAPE_ATTRS.toolKind] = call.toolKind;
  if (call.status) attributes[FLOWTAPE_ATTRS.toolStatus] = call.status;
  if (context.includeContent) {
    if (call.rawInput !== undefined) attributes[ATTR_GEN_AI_TOOL_CALL_ARGUMENTS] = JSON.stringify(call.rawInput);
    if (call.rawOutput !== undefined) attributes[ATTR_GEN_AI_TOOL_CALL_RESULT] = JSON.stringify(call.rawOutput);
  }
  const start = call.startAt ?? turnEnd;
  const end = call.endAt ?? turnEnd;
  return run.span({
    name: `${GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL} ${name}`,
    kind: SpanKind.INTERNAL,
    spanId: run.spanId(`tool:${seqFrom}:${call.toolCallId}:${call.sessionEvents.from}`),
    parentSpanId,
    start,
    end,
    attributes,
    ...(call.status === 'failed' ? { error: { message: `tool call ${call.toolCallId} failed`, info: { message: 'tool call failed', code: 'tool_failed' }, at: end } } : {}),
  });
}
