// Says that a bundle is a replay (`flowtape replay`, manifest `replayOf`): of which recorded run, and from which node
// on it ran live. Shown in the run header; absent for any other bundle.
import type { Manifest } from '@flowtape/schema';
import { Shown } from './Shown.tsx';

export function ReplayBadge({ replayOf }: { replayOf: Manifest['replayOf'] }) {
  if (!replayOf) return null;
  return (
    <span className="muted replay-badge" data-testid="replay-of" title={`replayed against run ${replayOf.runId} (trace sha256 ${replayOf.traceSha256})`}>
      replay of <code><Shown text={replayOf.runId} /></code>
      {replayOf.from !== undefined && <> · live from <Shown text={replayOf.from} /></>}
    </span>
  );
}
