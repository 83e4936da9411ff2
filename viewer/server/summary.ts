// One line of the run list: read from a bundle's manifest (and run projection when present).
// Provisional: replaced by the schema's Manifest parser once @flowtape/schema lands.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface RunSummary {
  /** The bundle's path relative to the served root ('' when the root is the bundle). */
  id: string;
  runId?: string;
  flow?: string;
  status?: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  complete?: boolean;
  error?: string;
}

export async function summarizeRun(dir: string, id: string): Promise<RunSummary> {
  try {
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    return {
      id,
      runId: typeof manifest.runId === 'string' ? manifest.runId : undefined,
      flow: typeof manifest.flowName === 'string' ? manifest.flowName : undefined,
      status: typeof manifest.status === 'string' ? manifest.status : undefined,
    };
  } catch (err) {
    return { id, error: `manifest.json: ${(err as Error).message}` };
  }
}
