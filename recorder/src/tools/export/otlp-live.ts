/**
 * Live OpenTelemetry export: a TraceObserver of the bundle writer that turns committed trace events into spans
 * (the same span builder as `flowtape export otlp`, reading sessions from the same bundle) and hands them to the
 * SDK's BatchSpanProcessor as attempts finish. Export happens in the background, batched; the run never waits for
 * it except for a bounded final flush, and never fails because of it: an unreachable collector becomes a warning
 * the writer keeps in the bundle's manifest.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { TraceEvent } from '@flowtape/schema';
import type { TraceObserver } from '../../bundle/recorder.ts';
import { createSpanExporter, flowtapeResource, FLOWTAPE_SCOPE, type OtlpTarget } from './otlp-exporter.ts';
import { BundleSessionSource } from './otlp-sessions.ts';
import { OtlpSpanBuilder } from './otlp-spans.ts';

export interface LiveOtlpOptions extends OtlpTarget {
  includeContent?: boolean;
  env?: Record<string, string | undefined>;
  /** Another exporter (tests, embedding): wins over endpoint and file. */
  exporter?: SpanExporter;
  /** The longest the end of the run waits for the last spans to leave (default 2000 ms). */
  flushTimeoutMs?: number;
  /** How often a batch leaves during the run (default 1000 ms). */
  batchDelayMs?: number;
}

/** Counts what the exporter delivered and remembers why it could not: the warning at the end says both. */
class ReportingExporter implements SpanExporter {
  delivered = 0;
  failed = 0;
  reasons = new Set<string>();

  constructor(private readonly inner: SpanExporter) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    try {
      this.inner.export(spans, (result) => {
        if (result.code === ExportResultCode.SUCCESS) this.delivered += spans.length;
        else {
          this.failed += spans.length;
          this.reasons.add(result.error?.message?.split('\n')[0] ?? 'the collector refused the spans');
        }
        resultCallback(result);
      });
    } catch (error) {
      this.failed += spans.length;
      this.reasons.add((error as Error).message ?? String(error));
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

function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * The observer for one bundle. Resolves the exporter first, so a bad endpoint or protocol is refused before the
 * run starts (an OtlpConfigError), not discovered at its end.
 */
export async function createLiveOtlp(bundleDir: string, options: LiveOtlpOptions = {}): Promise<TraceObserver> {
  const env = options.env ?? process.env;
  const flushTimeoutMs = options.flushTimeoutMs ?? 2000;
  const chosen = options.exporter
    ? { exporter: options.exporter, target: 'exporter' }
    : await createSpanExporter({ ...options, timeoutMs: options.timeoutMs ?? flushTimeoutMs }, env);
  const exporter = new ReportingExporter(chosen.exporter);
  const processor = new BatchSpanProcessor(exporter, {
    scheduledDelayMillis: options.batchDelayMs ?? 1000,
    exportTimeoutMillis: flushTimeoutMs,
  });
  const builder = new OtlpSpanBuilder({
    resource: flowtapeResource(env),
    scope: FLOWTAPE_SCOPE,
    sessions: new BundleSessionSource(bundleDir),
    ...(options.includeContent ? { includeContent: true } : {}),
  });
  let produced = 0;
  let problem: string | undefined;
  const hand = (spans: ReadableSpan[]) => {
    for (const span of spans) {
      produced++;
      processor.onEnd(span);
    }
  };
  return {
    onCommitted(events: readonly TraceEvent[]) {
      if (problem) return;
      try {
        for (const event of events) hand(builder.add(event));
      } catch (error) {
        // A span that cannot be built must not break the run: export stops, the bundle says why.
        problem = `OpenTelemetry live export stopped: ${(error as Error).message ?? String(error)}`;
      }
    },
    async close() {
      if (!problem) {
        try {
          hand(builder.finish());
        } catch (error) {
          problem = `OpenTelemetry live export stopped: ${(error as Error).message ?? String(error)}`;
        }
      }
      const flushed = await within(processor.shutdown().catch(() => {}), flushTimeoutMs + 500);
      const warnings: string[] = [];
      if (problem) warnings.push(problem);
      const missing = produced - exporter.delivered;
      if (missing > 0 || flushed === 'timeout') {
        const why = [...exporter.reasons].slice(0, 3).join('; ') || (flushed === 'timeout' ? `no answer within ${flushTimeoutMs} ms` : 'spans dropped');
        warnings.push(`OpenTelemetry export to ${chosen.target}: ${missing} of ${produced} spans not delivered (${why}); export the bundle later with \`flowtape export otlp\``);
      }
      return warnings;
    },
  };
}
