/**
 * How spans are sent to a collector that may come and go. It wraps the SDK's OTLP/HTTP exporter and takes the place
 * of the SDK's retrying transport, whose back-off timers cannot be cancelled: after a run against a dead collector
 * they kept the process alive for up to the request timeout. Here:
 *
 * - A collector that has not answered once in this run and refuses the connection (no one listening, no such host)
 *   is down: its batch fails at once, with no retry and no waiting.
 * - Any other passing failure (a refused connection once the collector had answered, as when it restarts; a reset;
 *   a time-out; HTTP 429, 502, 503, 504) is retried after 250 ms, 500 ms, 1 s, … (or the collector's Retry-After)
 *   while the request's time lasts (`timeoutMillis`, retries included, as OTEL_EXPORTER_OTLP_TIMEOUT means).
 * - A batch that still fails starts an outage: for a cool-down (1 s, doubling to 30 s while the collector stays
 *   away) later batches fail at once, without a connection; the first batch after it tries again, and its
 *   delivery ends the outage. So live export goes on after a collector restart, and a dead one costs nothing.
 * - shutdown() ends every retry still waiting: nothing is left to keep the process alive after it.
 *
 * Each outage is remembered (when, why, how many spans it dropped) for the one warning line it gets at the end, and
 * `onChange` hears when one starts and ends (the CLI says so on stderr at the time, not only after the run).
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { UNREACHABLE_CODES } from './otlp-probe.ts';

/** The SDK's ExportResponse and IExporterTransport (@opentelemetry/otlp-exporter-base), as far as used here. */
type ExportResponse =
  | { status: 'success'; data?: Uint8Array }
  | { status: 'failure'; error: Error }
  | { status: 'retryable'; retryInMillis?: number; error?: Error };
interface Transport {
  send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse>;
  shutdown(): void;
}

export const RETRY_FIRST_DELAY_MS = 250;
export const COOL_DOWN_FIRST_MS = 1000;
export const COOL_DOWN_MAX_MS = 30_000;

export interface Outage {
  /** Epoch ms: the failure that started it, and the delivery that ended it (none: it lasted to the end). */
  since: number;
  until?: number;
  reason: string;
  /** Spans not delivered during it. */
  spans: number;
}

/** An outage starting (its first failed batch) or ending (the first batch delivered after it). */
export interface OutageChange {
  kind: 'started' | 'ended';
  outage: Outage;
}

interface OpenOutage extends Outage {
  error: Error;
  coolDownMs: number;
  retryAt: number;
}

export class OutageExporter implements SpanExporter {
  /** Every outage of this exporter, in order; the last may still be open. */
  readonly outages: Outage[] = [];
  private current: OpenOutage | undefined;
  /** Whether the collector has answered once: until then a refused connection means it is not there at all. */
  private answered = false;
  private closed = false;
  /** Retries waiting for their delay: shutdown ends them at once. */
  private readonly waits = new Set<() => void>();
  /** Told when an outage starts and ends (set by whoever reports them). */
  onChange: ((change: OutageChange) => void) | undefined;

  /**
   * `inner`: the SDK's OTLP/HTTP exporter, whose retrying transport is replaced by this policy (left as it is, should
   * a later SDK be built otherwise: export still works, with the SDK's own retries).
   */
  constructor(private readonly inner: SpanExporter) {
    const delegate = (inner as { _delegate?: { _transport?: Transport & { _transport?: Transport } } })._delegate;
    const http = delegate?._transport?._transport;
    if (delegate && http && typeof http.send === 'function') {
      delegate._transport = { send: (data, timeoutMillis) => this.send(http, data, timeoutMillis), shutdown: () => http.shutdown() };
    }
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    const outage = this.current;
    if (outage && (this.closed || Date.now() < outage.retryAt)) {
      // The collector is away: no connection, no waiting; the batch is counted against the outage.
      outage.spans += spans.length;
      resultCallback({ code: ExportResultCode.FAILED, error: outage.error });
      return;
    }
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS && this.current) this.current.spans += spans.length;
      resultCallback(result);
    });
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    for (const end of [...this.waits]) end();
    await this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  /** One request, retried by the policy above; what the SDK makes of the last answer is its export's result. */
  private async send(http: Transport, data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const deadline = Date.now() + timeoutMillis;
    // A batch sent after a cool-down only probes: one try, and another cool-down if the collector is still away.
    const probe = this.current !== undefined;
    let delay = RETRY_FIRST_DELAY_MS;
    for (;;) {
      const response = await http.send(data, Math.max(1, deadline - Date.now()));
      if (response.status === 'success') {
        this.answered = true;
        this.endOutage();
        return response;
      }
      // An answer that retrying cannot change (400, 401, 413…): this batch only, not an outage.
      if (response.status === 'failure') {
        if (!isNetworkError(response.error)) this.answered = true;
        return response;
      }
      // No error: an HTTP answer (429, 502, 503, 504), so the collector (or its gateway) is there.
      if (response.error === undefined) this.answered = true;
      const error = response.error ?? new Error('the collector was busy or unavailable (HTTP 429, 502, 503 or 504)');
      const nobodyThere = !this.answered && UNREACHABLE_CODES.has((error as NodeJS.ErrnoException).code ?? '');
      const wait = response.retryInMillis === undefined ? delay : Math.max(0, response.retryInMillis);
      if (nobodyThere || probe || this.closed || Date.now() + wait > deadline) {
        this.startOutage(error);
        return { status: 'failure', error };
      }
      await this.wait(wait);
      if (this.closed) {
        this.startOutage(error);
        return { status: 'failure', error };
      }
      delay *= 2;
    }
  }

  private startOutage(error: Error): void {
    const now = Date.now();
    if (this.current) {
      this.current.coolDownMs = Math.min(this.current.coolDownMs * 2, COOL_DOWN_MAX_MS);
      this.current.retryAt = now + this.current.coolDownMs;
      return;
    }
    const reason = error.message.split('\n')[0] || 'the collector refused the spans';
    this.current = { since: now, reason, spans: 0, error, coolDownMs: COOL_DOWN_FIRST_MS, retryAt: now + COOL_DOWN_FIRST_MS };
    this.outages.push(this.current);
    this.onChange?.({ kind: 'started', outage: this.current });
  }

  private endOutage(): void {
    const outage = this.current;
    if (!outage) return;
    outage.until = Date.now();
    this.current = undefined;
    this.onChange?.({ kind: 'ended', outage });
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const end = (): void => {
        clearTimeout(timer);
        this.waits.delete(end);
        resolve();
      };
      // Kept alive (the final flush may be waiting on it), and ended by shutdown: no retry outlives the export.
      const timer = setTimeout(end, ms);
      this.waits.add(end);
    });
  }
}

/** An error of the connection, not an answer of the collector's (which the SDK gives as an OTLPExporterError with a code). */
function isNetworkError(error: Error): boolean {
  return typeof (error as NodeJS.ErrnoException).code === 'string';
}

/** The line said when an outage starts or ends, while the run goes on. */
export function outageNotice(target: string, change: OutageChange): string {
  const { outage } = change;
  if (change.kind === 'started') {
    return `OpenTelemetry export to ${target}: collector unavailable (${outage.reason}); the run goes on and export resumes when it answers (spans in between stay in the bundle only: \`flowtape export otlp\` sends them later)`;
  }
  const seconds = ((outage.until! - outage.since) / 1000).toFixed(1);
  return `OpenTelemetry export to ${target}: collector back after ${seconds} s, export goes on; ${outage.spans} spans were not delivered meanwhile`;
}

/** Outages the collector came back from, one line each (at most a few, then one line for the rest). */
export function outageWarnings(target: string, outages: readonly Outage[], shown = 5): string[] {
  const ended = outages.filter((outage) => outage.until !== undefined);
  const lines = ended.slice(0, shown).map((outage) => {
    const seconds = ((outage.until! - outage.since) / 1000).toFixed(1);
    return `OpenTelemetry export to ${target}: collector unavailable for ${seconds} s from ${new Date(outage.since).toISOString()} (${outage.reason}): ${outage.spans} spans not delivered, export went on after`;
  });
  const rest = ended.slice(shown);
  if (rest.length > 0) {
    lines.push(`OpenTelemetry export to ${target}: ${rest.length} more outages: ${rest.reduce((sum, outage) => sum + outage.spans, 0)} spans not delivered`);
  }
  return lines;
}
