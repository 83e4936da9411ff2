// The run list of a static site with several runs (`flowtape view --static <runs-root>`), from its site index.
import type { SiteBundle } from '../backend/static.ts';
import type { RunSummary } from '../../server/summary.ts';

/** A run-list row for a bundle of the site (what the server's summary would say, from the site index). */
export function siteRunSummary(b: SiteBundle): RunSummary {
  const durationMs = b.startedAt && b.endedAt ? Date.parse(b.endedAt) - Date.parse(b.startedAt) : undefined;
  return {
    id: b.id, runId: b.runId, flow: b.flow, status: b.status, complete: b.complete, startedAt: b.startedAt, endedAt: b.endedAt, events: b.events,
    ...(durationMs !== undefined && Number.isFinite(durationMs) ? { durationMs } : {}),
  };
}
