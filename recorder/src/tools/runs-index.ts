/**
 * `flowtape index <runs-root>`: a columnar summary of many runs for DuckDB, ClickHouse or any engine that reads
 * NDJSON — `runs.ndjson` (one row per run) and `attempts.ndjson` (one row per node attempt). Rows come from the
 * one reducer folding each bundle's trace, never from a second reading of it; the bundles are only read.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  BUNDLE_FILES,
  BundleFormatError,
  initialState,
  loadManifest,
  loadTrace,
  reduce,
  toRunProjection,
  toStepsProjection,
  type UsageTotals,
} from '@flowtape/schema';
import { FsBundleBackend } from './fs-backend.ts';
import { listRuns } from './list-runs.ts';

export class IndexError extends Error {
  override name = 'IndexError';
}

/** Flat usage columns: tokens per kind, and the cost when it is in one currency (else null, see costs). */
function usageColumns(usage: UsageTotals | undefined) {
  const tokens = usage?.tokens;
  const single = usage?.cost?.length === 1 ? usage.cost[0]! : undefined;
  return {
    inputTokens: tokens?.inputTokens ?? null,
    outputTokens: tokens?.outputTokens ?? null,
    totalTokens: tokens?.totalTokens ?? null,
    cachedReadTokens: tokens?.cachedReadTokens ?? null,
    costAmount: single?.amount ?? null,
    costCurrency: single?.currency ?? null,
    costs: usage?.cost ?? [],
  };
}

export interface RunRow {
  runId: string;
  flowName: string;
  status: string;
  complete: boolean;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  attempts: number;
  failedAttempts: number;
  /** The node of the latest attempt: where the run ended or waits. */
  lastNodeId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  events: number;
  bundle: string;
}

export interface AttemptRow {
  runId: string;
  flowName: string;
  attemptId: string;
  nodeId: string;
  nodeType: string;
  attempt: number;
  status: string;
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  turns: number;
  errorCode: string | null;
  errorMessage: string | null;
  /** The node the attempt's edge led to, and the switch case that chose it. */
  nextNodeId: string | null;
  nextCase: string | null;
  startSeq: number;
  endSeq: number | null;
}

export interface IndexReport {
  output: string;
  files: { runs: string; attempts: string };
  runs: number;
  attempts: number;
  /** Bundles that could not be read, one line each (they have no rows). */
  skipped: string[];
}

const FAILED = new Set(['failed', 'timed_out', 'cancelled', 'interrupted']);

async function indexBundle(bundle: string) {
  const backend = new FsBundleBackend(bundle);
  const manifest = await loadManifest(backend);
  let state = initialState();
  for await (const { event } of loadTrace(backend, manifest)) state = reduce(state, event);
  const run = toRunProjection(state);
  const steps = toStepsProjection(state).steps;
  const flowName = run.flowName ?? manifest.flowName;
  const runId = run.runId ?? manifest.runId;
  const runRow = {
    runId,
    flowName,
    status: run.status,
    complete: manifest.complete,
    startedAt: run.startedAt ?? null,
    endedAt: run.endedAt ?? null,
    durationMs: run.durationMs ?? null,
    attempts: steps.length,
    failedAttempts: steps.filter((s) => FAILED.has(s.status)).length,
    lastNodeId: run.lastNodeId ?? null,
    errorCode: run.error?.code ?? null,
    errorMessage: run.error?.message ?? null,
    events: run.eventCount,
    ...usageColumns(run.usage),
    bundle,
  };
  const attemptRows = steps.map((step) => ({
    runId,
    flowName,
    attemptId: step.attemptId,
    nodeId: step.nodeId,
    nodeType: step.nodeType,
    attempt: step.attempt,
    status: step.status,
    startedAt: step.startedAt,
    endedAt: step.endedAt ?? null,
    durationMs: step.durationMs ?? null,
    turns: step.turns.length,
    errorCode: step.error?.code ?? null,
    errorMessage: step.error?.message ?? null,
    nextNodeId: step.next?.to ?? null,
    nextCase: step.next?.branch?.caseKey ?? (step.next?.branch?.isDefault ? 'default' : null),
    startSeq: step.startSeq,
    endSeq: step.endSeq ?? null,
    ...usageColumns(step.usage),
  }));
  return { runRow, attemptRows };
}

/** The output folder: a missing path or an empty folder, never one with files in it. */
function prepareOutput(output: string): void {
  if (existsSync(output)) {
    if (!statSync(output).isDirectory()) throw new IndexError(`${output}: exists and is not a folder`);
    if (readdirSync(output).length > 0) throw new IndexError(`${output}: not empty (index writes into a new or empty folder)`);
  } else {
    mkdirSync(output, { recursive: true });
  }
}

export async function indexRuns(root: string, options: { output: string; onProgress?: (line: string) => void }): Promise<IndexReport> {
  if (!existsSync(root)) throw new BundleFormatError(`${root}: no such runs root`, root);
  const listed = existsSync(join(root, BUNDLE_FILES.manifest)) ? [{ path: root }] : await listRuns(root);
  if (listed.length === 0) throw new IndexError(`${root}: no bundles here (no */manifest.json)`);
  prepareOutput(options.output);
  const files = { runs: join(options.output, 'runs.ndjson'), attempts: join(options.output, 'attempts.ndjson') };
  const runsFd = openSync(files.runs, 'wx');
  const attemptsFd = openSync(files.attempts, 'wx');
  const report: IndexReport = { output: options.output, files, runs: 0, attempts: 0, skipped: [] };
  try {
    for (const { path } of listed) {
      let rows;
      try {
        rows = await indexBundle(path);
      } catch (error) {
        report.skipped.push(`${path}: ${(error as Error).message.split('\n')[0]}`);
        continue;
      }
      writeSync(runsFd, `${JSON.stringify(rows.runRow)}\n`);
      if (rows.attemptRows.length > 0) writeSync(attemptsFd, rows.attemptRows.map((row) => `${JSON.stringify(row)}\n`).join(''));
      report.runs++;
      report.attempts += rows.attemptRows.length;
      options.onProgress?.(`${path}: ${rows.attemptRows.length} attempts`);
    }
  } finally {
    closeSync(runsFd);
    closeSync(attemptsFd);
  }
  return report;
}
