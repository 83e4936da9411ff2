/**
 * `flowtape export otlp`: bundles → OTLP traces after the fact. One trace per run, built by the same span builder
 * live export uses, sent through the SDK's exporters (or written as OTLP JSON lines).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BUNDLE_FILES, BundleFormatError, loadManifest, loadTrace, type ReadIssue } from '@flowtape/schema';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { openBundle, ZipBundleBackend } from '../fs-backend.ts';
import { listRuns } from '../list-runs.ts';
import { createSpanExporter, flowtapeResource, FLOWTAPE_SCOPE, type OtlpTarget } from './otlp-exporter.ts';
import { OtlpFileExporter } from './otlp-file-exporter.ts';
import { BundleSessionSource, zipFiles } from './otlp-sessions.ts';
import { OtlpSpanBuilder } from './otlp-spans.ts';
import { traceIdFor } from './otlp-ids.ts';

export interface OtlpExportOptions extends OtlpTarget {
  includeContent?: boolean;
  env?: Record<string, string | undefined>;
  /** Another exporter (tests, embedding): wins over endpoint and file. */
  exporter?: SpanExporter;
  /** One line per run exported, for progress on stderr. */
  onProgress?: (message: string) => void;
}

export interface OtlpRunReport {
  bundle: string;
  runId: string;
  traceId: string;
  spans: number;
  /** Lines of the trace that could not be read (the spans show what could). */
  issues: string[];
}

export interface OtlpExportReport {
  target: string;
  runs: OtlpRunReport[];
  spans: number;
}

export class OtlpExportError extends Error {
  override name = 'OtlpExportError';
}

/** Spans per export request: keeps each request well under collectors' default size limits. */
const REQUEST_SPANS = 2000;

/** The spans of one bundle (a folder or a packed .zip), in the order the builder completes them. */
export async function bundleSpans(location: string, options: { includeContent?: boolean; env?: Record<string, string | undefined> } = {}) {
  const spans: ReadableSpan[] = [];
  const { runId, issues } = await eachSpanBatch(location, options, Number.POSITIVE_INFINITY, async (batch) => {
    for (const span of batch) spans.push(span);
  });
  return { runId, spans, issues };
}

/**
 * Builds a bundle's spans and hands them on `size` at a time as they are built, so a long run's spans never all
 * wait in memory together. Returns the run id, the number of spans and the trace lines that could not be read.
 */
async function eachSpanBatch(
  location: string,
  options: { includeContent?: boolean; env?: Record<string, string | undefined> },
  size: number,
  onBatch: (spans: ReadableSpan[]) => Promise<void>,
): Promise<{ runId: string; count: number; issues: string[] }> {
  const backend = await openBundle(location);
  const manifest = await loadManifest(backend);
  const builder = new OtlpSpanBuilder({
    resource: flowtapeResource(options.env),
    scope: FLOWTAPE_SCOPE,
    sessions: new BundleSessionSource(backend instanceof ZipBundleBackend ? zipFiles(backend) : location),
    ...(options.includeContent ? { includeContent: true } : {}),
  });
  const issues: string[] = [];
  let batch: ReadableSpan[] = [];
  let count = 0;
  const take = async (spans: readonly ReadableSpan[]) => {
    for (let i = 0; i < spans.length; i++) batch.push(spans[i]!);
    count += spans.length;
    if (batch.length >= size) {
      const full = batch;
      batch = [];
      await onBatch(full);
    }
  };
  const onIssue = (issue: ReadIssue) => issues.push(issue.message);
  for await (const { event } of loadTrace(backend, manifest, { onIssue })) {
    const done = builder.add(event);
    if (done.length > 0) await take(done);
  }
  await take(builder.finish());
  if (batch.length > 0) await onBatch(batch);
  return { runId: manifest.runId, count, issues };
}

function send(exporter: SpanExporter, spans: ReadableSpan[]): Promise<void> {
  return new Promise((resolve, reject) => {
    exporter.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) resolve();
      else reject(new OtlpExportError(`export failed: ${result.error?.message ?? 'the collector refused the spans'}`));
    });
  });
}

/** The bundles a path names: itself when it is a bundle (a folder or a .zip), else the bundles right below it. */
async function bundlesAt(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new BundleFormatError(`${path}: no such bundle or runs root`, path);
  if (info.isFile()) return [path];
  if (!info.isDirectory()) throw new BundleFormatError(`${path}: not a bundle, a .zip or a runs root`, path);
  if (await stat(join(path, BUNDLE_FILES.manifest)).then(() => true, () => false)) return [path];
  const runs = await listRuns(path);
  if (runs.length === 0) throw new BundleFormatError(`${path}: no bundles here (no */manifest.json)`, path);
  return runs.map((run) => run.path);
}

export async function exportOtlp(path: string, options: OtlpExportOptions = {}): Promise<OtlpExportReport> {
  const bundles = await bundlesAt(path);
  const chosen = options.exporter
    ? { exporter: options.exporter, target: 'exporter' }
    : await createSpanExporter(options, options.env ?? process.env);
  const report: OtlpExportReport = { target: chosen.target, runs: [], spans: 0 };
  try {
    for (const bundle of bundles) {
      const { runId, count, issues } = await eachSpanBatch(bundle, options, REQUEST_SPANS, (spans) => send(chosen.exporter, spans));
      report.runs.push({ bundle, runId, traceId: traceIdFor(runId), spans: count, issues });
      report.spans += count;
      options.onProgress?.(`${bundle}: ${count} spans, trace ${traceIdFor(runId)}`);
    }
  } catch (error) {
    // A file exporter writes its file at shutdown: after a failure, no half file.
    if (!(chosen.exporter instanceof OtlpFileExporter)) await chosen.exporter.shutdown().catch(() => {});
    throw error;
  }
  await chosen.exporter.shutdown();
  return report;
}
