/**
 * Trace and span ids derived from what a bundle already names (the run id, attempt ids, seqs), so exporting a run
 * twice — or live and then again from the bundle — gives the same ids, and a backend deduplicates or joins them.
 */
import { createHash } from 'node:crypto';
import type { HrTime } from '@opentelemetry/api';

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** 32 hex digits (never all zero: an all-zero id is invalid in OTLP). */
export function traceIdFor(runId: string): string {
  const id = digest(`flowtape.trace\0${runId}`).slice(0, 32);
  return /^0+$/.test(id) ? `${id.slice(0, 31)}1` : id;
}

/** 16 hex digits for one span of a run, named by a key unique within the run (`run`, `attempt:<id>`, …). */
export function spanIdFor(runId: string, key: string): string {
  const id = digest(`flowtape.span\0${runId}\0${key}`).slice(0, 16);
  return /^0+$/.test(id) ? `${id.slice(0, 15)}1` : id;
}

/** An ISO timestamp of the bundle as OpenTelemetry's [seconds, nanoseconds]. */
export function hrTimeOf(iso: string): HrTime {
  const ms = Date.parse(iso);
  const safe = Number.isFinite(ms) ? ms : 0;
  const seconds = Math.floor(safe / 1000);
  return [seconds, (safe - seconds * 1000) * 1_000_000];
}

/** end − start as HrTime (never negative). */
export function hrDuration(start: HrTime, end: HrTime): HrTime {
  let ns = (end[0] - start[0]) * 1e9 + (end[1] - start[1]);
  if (ns < 0) ns = 0;
  const seconds = Math.floor(ns / 1e9);
  return [seconds, ns - seconds * 1e9];
}
