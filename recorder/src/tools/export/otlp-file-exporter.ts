/**
 * A SpanExporter that writes OTLP JSON to a file instead of a collector: one ExportTraceServiceRequest per line,
 * serialized by the SDK's own JsonTraceSerializer — the format a Collector's `otlpjsonfile` receiver reads (and
 * that any OTLP/HTTP JSON endpoint accepts line by line). The file is created when the exporter shuts down, with
 * every batch in it, and never replaces an existing file.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

export class OtlpFileExporter implements SpanExporter {
  private readonly lines: Uint8Array[] = [];
  private done = false;

  constructor(readonly path: string) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.done) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error(`${this.path}: the exporter was shut down`) });
      return;
    }
    const body = JsonTraceSerializer.serializeRequest(spans);
    if (body) this.lines.push(body);
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  async forceFlush(): Promise<void> {}

  /** Writes the file; fails (EEXIST) rather than replace one that exists. */
  async shutdown(): Promise<void> {
    if (this.done) return;
    this.done = true;
    const fd = openSync(this.path, 'wx');
    try {
      const newline = new Uint8Array([0x0a]);
      for (const line of this.lines) {
        writeSync(fd, line);
        writeSync(fd, newline);
      }
    } finally {
      closeSync(fd);
    }
  }
}
