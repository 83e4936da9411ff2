// Where the viewer can open the bundle a replay replays: a run of the same runs root (`flowtape view <root>`) whose
// run id is the replay's `replayOf.runId` and that is not itself a replay (a deterministic replay keeps the source's
// run id). Elsewhere (one bundle served, a dropped folder, a zip) the header shows the id only.
import { useEffect, useState } from 'react';
import type { RunSummary } from '../../server/summary.ts';

/** The run-list id of the replayed bundle among `runs`, if exactly one fits. */
export function sourceRunOf(runs: readonly RunSummary[], replayedRunId: string, current: string | undefined): string | undefined {
  const fits = runs.filter((r) => r.runId === replayedRunId && r.replayOf === undefined && r.id !== current);
  return fits.length === 1 ? fits[0]!.id : undefined;
}

/** The link to the replayed bundle, when the page is a run of a served runs root (`?run=`) and that root holds it. */
export function useSourceHref(replayedRunId: string | undefined): string | undefined {
  const [href, setHref] = useState<string | undefined>();
  useEffect(() => {
    const current = new URLSearchParams(location.search).get('run') ?? undefined;
    if (replayedRunId === undefined || current === undefined) return;
    let live = true;
    fetch('/api/runs', { cache: 'no-store' })
      .then((res) => (res.ok ? (res.json() as Promise<{ runs: RunSummary[] }>) : undefined))
      .then((body) => {
        const id = body ? sourceRunOf(body.runs, replayedRunId, current) : undefined;
        if (live && id !== undefined) setHref(`/?run=${encodeURIComponent(id)}`);
      })
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [replayedRunId]);
  return href;
}
