/**
 * The spans of one run as the SDK's ReadableSpan: ids derived from the run, times from the trace (never a clock),
 * errors as the span's status plus an `exception` event. One object per span, with no copies: the span kinds
 * (otlp-span-*.ts) hand over attribute objects they made for it.
 */
import { SpanStatusCode, TraceFlags, type Attributes, type HrTime, type Link, type SpanContext, type SpanKind } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import { ATTR_ERROR_TYPE, ATTR_EXCEPTION_MESSAGE, ATTR_EXCEPTION_STACKTRACE, ATTR_EXCEPTION_TYPE } from '@opentelemetry/semantic-conventions';
import type { ErrorInfo } from '@flowtape/schema';
import { FLOWTAPE_ATTRS } from './otlp-attributes.ts';
import { hrDuration, hrTimeOf, spanIdFor, traceIdFor } from './otlp-ids.ts';

export interface SpanError {
  message: string;
  info?: ErrorInfo;
  at: string;
}

export interface SpanFields {
  name: string;
  kind: SpanKind;
  spanId: string;
  parentSpanId?: string;
  /** ISO times of the trace. */
  start: string;
  end: string;
  /** Owned by the span from here on (not copied). */
  attributes: Attributes;
  error?: SpanError;
  links?: Link[];
}

/** Shared by every span without links or events: exporters only read them. */
const NO_LINKS: Link[] = [];
const NO_EVENTS: TimedEvent[] = [];
const UNSET = { code: SpanStatusCode.UNSET } as const;

/** A finished span: a plain record with the one method ReadableSpan asks for on its prototype, not per span. */
class FinishedSpan implements ReadableSpan {
  readonly ended = true;
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;

  constructor(
    readonly name: string,
    readonly kind: SpanKind,
    private readonly context: SpanContext,
    readonly parentSpanContext: SpanContext | undefined,
    readonly startTime: HrTime,
    readonly endTime: HrTime,
    readonly duration: HrTime,
    readonly status: ReadableSpan['status'],
    readonly attributes: Attributes,
    readonly links: Link[],
    readonly events: TimedEvent[],
    readonly resource: Resource,
    readonly instrumentationScope: InstrumentationScope,
  ) {}

  spanContext(): SpanContext {
    return this.context;
  }
}

export class RunSpans {
  readonly traceId: string;
  readonly rootSpanId: string;
  private readonly rootContext: SpanContext;

  constructor(
    readonly runId: string,
    private readonly resource: Resource,
    private readonly scope: InstrumentationScope,
  ) {
    this.traceId = traceIdFor(runId);
    this.rootSpanId = this.spanId('run');
    this.rootContext = this.context(this.rootSpanId);
  }

  /** The id of a span named by a key unique within the run (`attempt:<id>`, `turn:<seq>`, …). */
  spanId(key: string): string {
    return spanIdFor(this.runId, key);
  }

  context(spanId: string): SpanContext {
    if (spanId === this.rootSpanId && this.rootContext) return this.rootContext;
    return { traceId: this.traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: false };
  }

  /** The attributes every span starts with: its run and the trace lines it came from. */
  attributes(seqFrom: number, seqTo: number): Attributes {
    return { [FLOWTAPE_ATTRS.runId]: this.runId, [FLOWTAPE_ATTRS.seqFrom]: seqFrom, [FLOWTAPE_ATTRS.seqTo]: seqTo };
  }

  span(fields: SpanFields): ReadableSpan {
    const startTime = hrTimeOf(fields.start);
    let endTime = fields.end === fields.start ? startTime : hrTimeOf(fields.end);
    if (endTime[0] < startTime[0] || (endTime[0] === startTime[0] && endTime[1] < startTime[1])) endTime = startTime;
    let status: ReadableSpan['status'] = UNSET;
    let events = NO_EVENTS;
    const error = fields.error;
    if (error) {
      status = { code: SpanStatusCode.ERROR, message: error.message };
      const info = error.info;
      const type = info?.code ?? info?.name ?? 'error';
      fields.attributes[ATTR_ERROR_TYPE] = type;
      const attributes: Attributes = { [ATTR_EXCEPTION_TYPE]: type, [ATTR_EXCEPTION_MESSAGE]: info?.message ?? error.message };
      if (info?.stack) attributes[ATTR_EXCEPTION_STACKTRACE] = info.stack;
      events = [{ name: 'exception', time: hrTimeOf(error.at), attributes, droppedAttributesCount: 0 }];
    }
    return new FinishedSpan(
      fields.name,
      fields.kind,
      this.context(fields.spanId),
      fields.parentSpanId === undefined ? undefined : this.context(fields.parentSpanId),
      startTime,
      endTime,
      hrDuration(startTime, endTime),
      status,
      fields.attributes,
      fields.links ?? NO_LINKS,
      events,
      this.resource,
      this.scope,
    );
  }
}
