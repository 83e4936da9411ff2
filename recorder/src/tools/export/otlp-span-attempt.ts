/**
 * A node attempt as a span: `<nodeType> <nodeId>` under the run's root, its outcome (an error status when it
 * failed, timed out, was cancelled or interrupted), and the edge that led to it — a link to the attempt that chose
 * it, and the case that fired also on the span itself, where span search finds it.
 */
import { SpanKind, type Attributes, type Link } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { ErrorInfo, EventOf } from '@flowtape/schema';
import { FLOWTAPE_ATTRS } from './otlp-attributes.ts';
import type { RunSpans } from './otlp-run-spans.ts';

export interface EdgeInto {
  event: EventOf<'edge.taken'>;
  /** The span of the attempt (or the run) that took the edge. */
  spanId: string;
}

const ERROR_OUTCOMES = new Set(['failed', 'timed_out', 'cancelled', 'interrupted']);

/** `outcome` undefined: the attempt was still open when the input ended; it ends at `at`/`seq`. */
export function attemptSpan(
  run: RunSpans,
  started: EventOf<'node.started'>,
  spanId: string,
  sessionId: string | undefined,
  cameFrom: EdgeInto | undefined,
  end: { at: string; seq: number; outcome: string | undefined; error: ErrorInfo | undefined },
): ReadableSpan {
  const { outcome } = end;
  const attributes: Attributes = run.attributes(started.seq, end.seq);
  attributes[FLOWTAPE_ATTRS.nodeId] = started.nodeId!;
  attributes[FLOWTAPE_ATTRS.nodeType] = started.payload.nodeType;
  attributes[FLOWTAPE_ATTRS.attemptId] = started.attemptId!;
  attributes[FLOWTAPE_ATTRS.attempt] = started.payload.attempt;
  attributes[FLOWTAPE_ATTRS.outcome] = outcome ?? 'open';
  if (sessionId) attributes[FLOWTAPE_ATTRS.sessionId] = sessionId;
  const links = cameFrom ? [edgeLink(run, cameFrom, attributes)] : undefined;
  const failed = outcome !== undefined && ERROR_OUTCOMES.has(outcome);
  return run.span({
    name: `${started.payload.nodeType} ${started.nodeId}`,
    kind: SpanKind.INTERNAL,
    spanId,
    parentSpanId: run.rootSpanId,
    start: started.at,
    end: end.at,
    attributes,
    ...(links ? { links } : {}),
    ...(failed ? { error: { message: end.error?.message ?? `the attempt ${outcome}`, info: end.error ?? { message: outcome, code: outcome }, at: end.at } } : {}),
  });
}

/** The link to the attempt whose edge led here; the edge's own attributes are copied onto the attempt's span. */
function edgeLink(run: RunSpans, cameFrom: EdgeInto, onSpan: Attributes): Link {
  const edge = cameFrom.event.payload;
  const attributes: Attributes = {
    [FLOWTAPE_ATTRS.edgeFrom]: edge.from,
    [FLOWTAPE_ATTRS.edgeTo]: edge.to,
    [FLOWTAPE_ATTRS.seqFrom]: cameFrom.event.seq,
    [FLOWTAPE_ATTRS.seqTo]: cameFrom.event.seq,
  };
  onSpan[FLOWTAPE_ATTRS.edgeFrom] = edge.from;
  const branch = edge.branch;
  if (branch) {
    const value = JSON.stringify(branch.value);
    attributes[FLOWTAPE_ATTRS.edgeOn] = onSpan[FLOWTAPE_ATTRS.edgeOn] = branch.on;
    attributes[FLOWTAPE_ATTRS.edgeValue] = onSpan[FLOWTAPE_ATTRS.edgeValue] = value;
    if (branch.caseKey !== undefined) attributes[FLOWTAPE_ATTRS.edgeCase] = onSpan[FLOWTAPE_ATTRS.edgeCase] = branch.caseKey;
    if (branch.isDefault) attributes[FLOWTAPE_ATTRS.edgeDefault] = onSpan[FLOWTAPE_ATTRS.edgeDefault] = true;
  }
  return { context: run.context(cameFrom.spanId), attributes, droppedAttributesCount: 0 };
}
