/**
 * Trace events in, spans out to a collector: the span builder feeding the SDK's BatchSpanProcessor, with an
 * exporter that counts what was delivered. Batched and in the background; `close` flushes within a bounded time
 * and says, as warnings, what could not be delivered and why. Live export runs it (on its worker thread, or in
 * the run's thread with a custom exporter).
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ReducibleEvent } from '@flowtape/schema';
import { createSpanExporter, flowtapeResource, FLOWTAPE_SCOPE, type OtlpTarget } from './otlp-exporter.ts';
import { OutageExporter, outageNotice, outageWarnings } from './otlp-outages.ts';
import { BundleSessionSource } from './otlp-sessions.ts';
import { OtlpSpanBuilder } from './otlp-spans.ts';

export interface SpanStreamOptions extends OtlpTarget {
  includeContent?: boolean;
  env?: Record<string, string | undefined>;
  /** Another exporter (tests, embedding): wins over endpoint and file. */
  exporter?: SpanExporter;
  /** The longest the end of the run waits for the last spans to leave (default 2000 ms). */
  flushTimeoutMs?: number;
  /** How often a batch leaves during the run (default 1000 ms). */
  batchDelayMs?: number;
  /**
   * Events up to this seq were exported already, by the process that wrote them (a resumed run's part before the
   * checkpoint): folded for what they open, their spans not sent again. The run's root span is sent again at the
   * end, with the same id and its final status.
   */
  exportedThroughSeq?: number;
  /**
   * Told, during the run, when the collector goes away and when it comes back (one line each). Not after close()
   * starts: the warnings it returns then say the same.
   */
  onNotice?: (line: string) => void;
}

export interface SpanStream {
  /**
   * Folds events in order (calls are queued: each waits for the one before). When many spans wait for the
   * exporter it waits for a batch to leave first, so a burst never overflows the processor's queue; while exports
   * fail it does not wait (spans that cannot leave are counted, not held).
   */
  add(events: readonly unknown[]): Promise<void>;
  /** Flushes (bounded) and shuts down; the warnings say what was not delivered. */
  close(): Promise<string[]>;
}

/** Counts what the exporter delivered and remembers why it could not: the warning at the end says both. */
class ReportingExporter implements SpanExporter {
  delivered = 0;
  reasons = new Set<string>();
  /** Whether the last export failed: spans that cannot leave now are counted, not waited for. */
  failing = false;

  constructor(private readonly inner: SpanExporter) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    try {
      this.inner.export(spans, (result) => {
        this.failing = result.code !== ExportResultCode.SUCCESS;
        if (result.code === ExportResultCode.SUCCESS) this.delivered += spans.length;
        else this.reasons.add(result.error?.message?.split('\n')[0] ?? 'the collector refused the spans');
        resultCallback(result);
      });
    } catch (error) {
      this.reasons.add((error as Error).message ?? String(error));
      this.failing = true;
      resultCallback({ code: ExportResultCode.FAILED, error: error as Error });
    }
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** Spans handed to the processor before waiting for the batches to leave: half its queue (two batches). */
const BACKPRESSURE_SPANS = 4096;

function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export async function createSpanStream(bundleDir: string, options: SpanStreamOptions = {}): Promise<SpanStream> {
  const env = options.env ?? process.env;
  const flushTimeoutMs = options.flushTimeoutMs ?? 2000;
  const chosen = options.exporter
    ? { exporter: options.exporter, target: 'exporter' }
    : await createSpanExporter({ ...options, timeoutMs: options.timeoutMs ?? flushTimeoutMs }, env);
  let closing = false;
  const { onNotice } = options;
  if (onNotice && chosen.exporter instanceof OutageExporter) {
    chosen.exporter.onChange = (change) => {
      if (!closing) onNotice(outageNotice(chosen.target, change));
    };
  }
  const exporter = new ReportingExporter(chosen.exporter);
  const processor = new BatchSpanProcessor(exporter, {
    scheduledDelayMillis: options.batchDelayMs ?? 1000,
    exportTimeoutMillis: flushTimeoutMs,
    // A run's spans: the queue holds a long stretch of them if the collector is slow (default 2048).
    maxQueueSize: 8192,
    // Larger requests than the default 512 spans: a quarter of the requests for a long run (about 1 MB each).
    maxExportBatchSize: 2048,
  });
  const builder = new OtlpSpanBuilder({
    resource: flowtapeResource(env),
    scope: FLOWTAPE_SCOPE,
    sessions: new BundleSessionSource(bundleDir),
    ...(options.includeContent ? { includeContent: true } : {}),
  });
  const exportedThroughSeq = options.exportedThroughSeq ?? 0;
  let produced = 0;
  let sinceFlush = 0;
  let problem: string | undefined;
  let queue: Promise<void> = Promise.resolve();
  /** Hands spans to the processor; true when enough are waiting that a batch should leave before more come. */
  const hand = (spans: readonly ReadableSpan[]): boolean => {
    for (let i = 0; i < spans.length; i++) processor.onEnd(spans[i]!);
    produced += spans.length;
    sinceFlush += spans.length;
    return sinceFlush >= BACKPRESSURE_SPANS && !exporter.failing;
  };
  const drain = async () => {
    sinceFlush = 0;
    await processor.forceFlush().catch(() => {});
  };
  const fold = async (events: readonly unknown[]) => {
    if (problem) return;
    try {
      // No await per event: only when a batch has to leave first.
      for (let i = 0; i < events.length; i++) {
        const event = events[i] as ReducibleEvent;
        const spans = builder.add(event);
        if (spans.length > 0 && event.seq > exportedThroughSeq && hand(spans)) await drain();
      }
    } catch (error) {
      // A span that cannot be built must not break the run: export stops, the bundle says why.
      problem = `OpenTelemetry live export stopped: ${(error as Error).message ?? String(error)}`;
    }
  };
  return {
    add(events) {
      queue = queue.then(() => fold(events));
      return queue;
    },
    async close() {
      closing = true;
      await queue;
      if (!problem) {
        try {
          hand(builder.finish());
        } catch (error) {
          problem = `OpenTelemetry live export stopped: ${(error as Error).message ?? String(error)}`;
        }
      }
      const flushed = await within(processor.shutdown().catch(() => {}), flushTimeoutMs + 500);
      // A last batch still retrying past the budget: its retries end now, so nothing outlives the run.
      if (flushed === 'timeout') void exporter.shutdown().catch(() => {});
      const warnings: string[] = [];
      if (problem) warnings.push(problem);
      if (chosen.exporter instanceof OutageExporter) warnings.push(...outageWarnings(chosen.target, chosen.exporter.outages));
      const missing = produced - exporter.delivered;
      if (missing > 0 || flushed === 'timeout') {
        const why = [...exporter.reasons].slice(0, 3).join('; ') || (flushed === 'timeout' ? `no answer within ${flushTimeoutMs} ms` : 'spans dropped');
        warnings.push(`OpenTelemetry export to ${chosen.target}: ${missing} of ${produced} spans not delivered (${why}); export the bundle later with \`flowtape export otlp\``);
      }
      return warnings;
    },
  };
}
