// The run list of a runs-root: every run (virtualized, no cap), searchable, newest first.
import { useDeferredValue, useMemo, useRef, useState } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { RunSummary } from '../../server/summary.ts';
import { formatDuration, formatTime } from './format.ts';
import { Shown } from './Shown.tsx';
import { revealBidi } from './bidi.ts';

const ROW = 30;

export function RunList({ title, runs, hrefOf, onOpen, onRefresh }: {
  title: string;
  runs: RunSummary[];
  hrefOf?: (run: RunSummary) => string;
  onOpen?: (run: RunSummary) => void;
  /** Re-reads the list (new runs, runs that finished). */
  onRefresh?: () => void;
}) {
  const [query, setQuery] = useState('');
  const q = useDeferredValue(query.trim().toLowerCase());
  const sorted = useMemo(() => [...runs].sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? '') || a.id.localeCompare(b.id)), [runs]);
  const shown = useMemo(() => (q ? sorted.filter((r) => [r.id, r.runId, r.flow, r.status, r.error].some((v) => v?.toLowerCase().includes(q))) : sorted), [sorted, q]);
  const parentRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count: shown.length, getScrollElement: () => parentRef.current, estimateSize: () => ROW, overscan: 10 });
  return (
    <div className="run-list" data-testid="run-list" data-ready="true">
      <div className="run-list-head">
        <h2><Shown text={title} /></h2>
        <input type="search" data-testid="run-search" placeholder="search runs (id, flow, status)…" value={query} onChange={(e) => setQuery(e.target.value)} autoFocus />
        {onRefresh && <button type="button" data-testid="run-refresh" onClick={onRefresh}>refresh</button>}
        <span className="muted" data-testid="run-count">{shown.length.toLocaleString()} of {runs.length.toLocaleString()} runs</span>
      </div>
      <div className="run-row run-row-head">
        <span>status</span><span>flow</span><span>run</span><span>started</span><span>duration</span><span>events</span>
      </div>
      <div className="run-rows" ref={parentRef}>
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((item) => {
            const r = shown[item.index]!;
            const href = hrefOf?.(r);
            return (
              <a
                key={r.id}
                className="run-row"
                data-testid="run-row"
                data-run={r.id}
                href={href ?? '#'}
                onClick={onOpen ? (e) => { e.preventDefault(); onOpen(r); } : undefined}
                style={{ height: ROW, transform: `translateY(${item.start}px)` }}
              >
                <span className={`run-status status-${r.status ?? 'unknown'}`}>{r.error ? 'unreadable' : <Shown text={r.status} />}{r.complete === false && r.status !== 'waiting' ? ' …' : ''}</span>
                <span><Shown text={r.flow ?? '—'} /></span>
                <span className="mono" title={r.error && revealBidi(r.error)}><Shown text={r.id || r.runId} />{r.error ? <span className="error-text"> <Shown text={r.error} /></span> : null}</span>
                <span>{formatTime(r.startedAt)}</span>
                <span>{formatDuration(r.durationMs)}</span>
                <span>{r.events?.toLocaleString() ?? ''}</span>
              </a>
            );
          })}
        </div>
      </div>
      {runs.length === 0 && <div className="empty">No bundles (directories with a manifest.json) below this directory.</div>}
    </div>
  );
}
