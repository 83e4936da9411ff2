// Says that a bundle is a replay (`flowtape replay`, manifest `replayOf`): of which recorded run — a link to it when
// the served runs root holds it — and from which node on it ran live. Shown in the run header; absent otherwise.
import type { Manifest } from '@flowtape/schema';
import { Shown } from './Shown.tsx';
import { useSourceHref } from './replay-source.ts';

export function ReplayBadge({ replayOf }: { replayOf: Manifest['replayOf'] }) {
  const href = useSourceHref(replayOf?.runId);
  if (!replayOf) return null;
  const id = <code><Shown text={replayOf.runId} /></code>;
  return (
    <span className="muted replay-badge" data-testid="replay-of" title={`replayed against run ${replayOf.runId} (trace sha256 ${replayOf.traceSha256})`}>
      replay of {href ? <a href={href} data-testid="replay-source">{id}</a> : id}
      {replayOf.from !== undefined && <> · live from <Shown text={replayOf.from} /></>}
    </span>
  );
}
