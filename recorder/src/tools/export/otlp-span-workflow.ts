/** The run's own span, the root of its trace: `invoke_workflow <flow>`, with the run's status. */
import { SpanKind, type Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ATTR_GEN_AI_OPERATION_NAME, ATTR_GEN_AI_WORKFLOW_NAME, GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW } from '@opentelemetry/semantic-conventions/incubating';
import type { EventOf, ReducibleEvent, TraceEvent } from '@flowtape/schema';
import { FLOWTAPE_ATTRS } from './otlp-attributes.ts';
import type { RunSpans, SpanError } from './otlp-run-spans.ts';

/**
 * `end` is the event that ended the run, or undefined when the input ended first (a run waiting at a checkpoint,
 * a bundle cut short): then the span ends at the last event read.
 */
export function workflowSpan(
  run: RunSpans,
  started: EventOf<'run.started'> | undefined,
  firstSeq: number,
  end: TraceEvent | undefined,
  lastEvent: ReducibleEvent,
): ReadableSpan {
  const last = end ?? lastEvent;
  const flowName = started?.payload.flowName ?? 'flow';
  const status = end ? end.type.slice('run.'.length) : lastEvent.type === 'run.waiting' ? 'waiting' : 'running';
  const attributes: Attributes = run.attributes(firstSeq, last.seq);
  attributes[ATTR_GEN_AI_OPERATION_NAME] = GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW;
  attributes[ATTR_GEN_AI_WORKFLOW_NAME] = flowName;
  attributes[FLOWTAPE_ATTRS.runStatus] = status;
  const error = end ? runError(end) : undefined;
  return run.span({
    name: `${GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW} ${flowName}`,
    kind: SpanKind.INTERNAL,
    spanId: run.rootSpanId,
    start: started?.at ?? last.at,
    end: last.at,
    attributes,
    ...(error ? { error } : {}),
  });
}

function runError(end: TraceEvent): SpanError | undefined {
  switch (end.type) {
    case 'run.failed':
      return { message: end.payload.error.message, info: end.payload.error, at: end.at };
    case 'run.timed_out':
      return { message: `the run timed out after ${end.payload.timeoutMs} ms`, info: { message: 'timed out', code: 'timed_out' }, at: end.at };
    case 'run.cancelled':
      return { message: `the run was cancelled (${end.payload.reason})`, info: { message: end.payload.reason, code: 'cancelled' }, at: end.at };
    default:
      return undefined;
  }
}
