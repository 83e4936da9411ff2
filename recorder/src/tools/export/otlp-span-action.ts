/** The action of an action node as a span: `shell <nodeId>` or `function <nodeId>`, with the command and exit code. */
import { SpanKind, type Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ATTR_PROCESS_COMMAND_LINE, ATTR_PROCESS_EXIT_CODE } from '@opentelemetry/semantic-conventions/incubating';
import type { EventOf } from '@flowtape/schema';
import { FLOWTAPE_ATTRS } from './otlp-attributes.ts';
import type { RunSpans, SpanError } from './otlp-run-spans.ts';

/**
 * `completed` undefined: the action never finished (its attempt ended first, interrupted); it ends at `at`/`seq`
 * with an error status.
 */
export function actionSpan(
  run: RunSpans,
  attempt: EventOf<'node.started'>,
  parentSpanId: string,
  started: EventOf<'action.started'>,
  completed: EventOf<'action.completed'> | undefined,
  at?: string,
  seq?: number,
): ReadableSpan {
  const payload = completed?.payload;
  const command = started.payload.command;
  const attributes: Attributes = run.attributes(started.seq, completed?.seq ?? seq ?? started.seq);
  attributes[FLOWTAPE_ATTRS.actionType] = started.payload.actionType;
  attributes[FLOWTAPE_ATTRS.nodeId] = attempt.nodeId!;
  attributes[FLOWTAPE_ATTRS.attemptId] = attempt.attemptId!;
  if (command !== undefined) attributes[ATTR_PROCESS_COMMAND_LINE] = Array.isArray(command) ? command.join(' ') : command;
  if (payload?.exitCode !== undefined && payload.exitCode !== null) attributes[ATTR_PROCESS_EXIT_CODE] = payload.exitCode;
  if (payload?.signal) attributes[FLOWTAPE_ATTRS.signal] = payload.signal;
  const end = completed?.at ?? at ?? started.at;
  let error: SpanError | undefined;
  if (!payload) error = { message: 'the action did not finish', info: { message: 'the action did not finish', code: 'interrupted' }, at: end };
  else if (!payload.ok) error = { message: payload.error?.message ?? `exit code ${String(payload.exitCode)}`, ...(payload.error ? { info: payload.error } : {}), at: end };
  return run.span({
    name: `${started.payload.actionType} ${attempt.nodeId}`,
    kind: SpanKind.INTERNAL,
    spanId: run.spanId(`action:${started.seq}`),
    parentSpanId,
    start: started.at,
    end,
    attributes,
    ...(error ? { error } : {}),
  });
}
