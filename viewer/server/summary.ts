// One line of the run list, read from a bundle's manifest (validated by the schema) and its run projection.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BUNDLE_FILES, Manifest, NewerFormatError, RunProjection, parseDocument } from '@flowtape/schema';

export interface RunSummary {
  /** The bundle's path relative to the served root ('' when the root is the bundle). */
  id: string;
  runId?: string;
  flow?: string;
  status?: string;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  complete?: boolean;
  events?: number;
  /** A replay's source run id (manifest `replayOf.runId`): the viewer links a replay to its source by it. */
  replayOf?: string;
  /** Why the bundle could not be summarised (it may still open, showing what can be read). */
  error?: string;
  /** The run's own error (a failed run's message), from its run projection: searchable in the list. */
  runError?: string;
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8'));
}

export async function summarizeRun(dir: string, id: string): Promise<RunSummary> {
  let manifest: Manifest;
  try {
    manifest = parseDocument(Manifest, await readJson(join(dir, BUNDLE_FILES.manifest)), BUNDLE_FILES.manifest);
  } catch (err) {
    const message = err instanceof NewerFormatError || (err as Error).name === 'BundleFormatError'
      ? (err as Error).message
      : `${BUNDLE_FILES.manifest}: ${(err as Error).message}`;
    return { id, error: message };
  }
  const summary: RunSummary = {
    id,
    runId: manifest.runId,
    flow: manifest.flowName,
    status: manifest.status,
    startedAt: manifest.createdAt,
    endedAt: manifest.endedAt,
    complete: manifest.complete,
    events: manifest.lastSeq,
    ...(manifest.replayOf ? { replayOf: manifest.replayOf.runId } : {}),
  };
  try {
    const run = parseDocument(RunProjection, await readJson(join(dir, manifest.files.run)), manifest.files.run);
    summary.startedAt = run.startedAt ?? summary.startedAt;
    summary.durationMs = run.durationMs;
    if (run.error) summary.runError = run.error.message.length > 500 ? `${run.error.message.slice(0, 500)}…` : run.error.message;
  } catch {
    // The projection is derived data: the manifest alone is enough for the list.
  }
  if (summary.durationMs === undefined && summary.startedAt && summary.endedAt) {
    summary.durationMs = Date.parse(summary.endedAt) - Date.parse(summary.startedAt);
  }
  return summary;
}

/**
 * Summaries kept between requests: a runs-root of 10,000 runs is read once, and afterwards only the runs whose
 * manifest or run projection changed (size or mtime) are read again: a refresh costs two stats per run.
 */
const cached = new Map<string, { stamp: string; summary: RunSummary }>();
const MAX_CACHED = 200_000;

async function stampOf(dir: string): Promise<string> {
  const part = async (file: string) => {
    try {
      const st = await stat(join(dir, file));
      return `${st.size}:${st.mtimeMs}`;
    } catch {
      return '-';
    }
  };
  // The default layout's projection path: a manifest that moves it changes its own stamp too.
  return `${await part(BUNDLE_FILES.manifest)}|${await part(BUNDLE_FILES.run)}`;
}

/** Drops every kept summary (the benchmark's cold runs; a process serves one root, so the cache is per process). */
export function forgetSummaries(): void {
  cached.clear();
}

export async function summarizeRunCached(dir: string, id: string): Promise<RunSummary> {
  const stamp = await stampOf(dir);
  const hit = cached.get(dir);
  if (hit && hit.stamp === stamp) return hit.summary.id === id ? hit.summary : { ...hit.summary, id };
  const summary = await summarizeRun(dir, id);
  if (cached.size >= MAX_CACHED) cached.clear();
  cached.set(dir, { stamp, summary });
  return summary;
}
