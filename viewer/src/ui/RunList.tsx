// The run list of a runs-root: every run (virtualized, no cap), sortable by any column, filtered by status and
// flow, searchable (run id, flow, status, error), newest first by default. Two runs picked with their boxes open
// the compare page.
import { useDeferredValue, useMemo, useRef, useState } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { RunSummary } from '../../server/summary.ts';
import { defaultRunQuery, facets, filterRuns, sortRuns, statusOf, type RunColumn, type RunQuery } from '../model/run-list.ts';
import { formatDuration, formatTime } from './format.ts';
import { Shown } from './Shown.tsx';
import { revealBidi } from './bidi.ts';
import '../run-list.css';

const ROW = 30;

const COLUMNS: Array<[RunColumn, string]> = [['status', 'status'], ['flow', 'flow'], ['run', 'run'], ['started', 'started'], ['duration', 'duration'], ['events', 'events']];

export function RunList({ title, runs, hrefOf, onOpen, onRefresh, compareHref }: {
  title: string;
  runs: RunSummary[];
  hrefOf?: (run: RunSummary) => string;
  onOpen?: (run: RunSummary) => void;
  /** Re-reads the list (new runs, runs that finished). */
  onRefresh?: () => void;
  /** Where the compare page of two runs is (runs served by `flowtape view`); no picking without it. */
  compareHref?: (a: RunSummary, b: RunSummary) => string;
}) {
  const [query, setQuery] = useState<RunQuery>(defaultRunQuery);
  const [picked, setPicked] = useState<string[]>([]);
  const text = useDeferredValue(query.text);
  const sorted = useMemo(() => sortRuns(runs, query.sort, query.dir), [runs, query.sort, query.dir]);
  const shown = useMemo(() => filterRuns(sorted, { status: query.status, flow: query.flow, text }), [sorted, query.status, query.flow, text]);
  const options = useMemo(() => facets(runs), [runs]);
  const parentRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count: shown.length, getScrollElement: () => parentRef.current, estimateSize: () => ROW, overscan: 10 });
  const set = (patch: Partial<RunQuery>) => setQuery((q) => ({ ...q, ...patch }));
  const sortBy = (column: RunColumn) => set({ sort: column, dir: query.sort === column ? (query.dir === 'asc' ? 'desc' : 'asc') : column === 'started' || column === 'duration' || column === 'events' ? 'desc' : 'asc' });
  const toggle = (id: string) => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p, id].slice(-2)));
  const pickedRuns = picked.map((id) => runs.find((r) => r.id === id)).filter((r): r is RunSummary => r !== undefined);
  return (
    <div className={`run-list${compareHref ? ' pickable' : ''}`} data-testid="run-list" data-ready="true">
      <div className="run-list-head">
        <h2><Shown text={title} /></h2>
        <input type="search" data-testid="run-search" placeholder="search runs (id, flow, status, error)…" value={query.text} onChange={(e) => set({ text: e.target.value })} autoFocus />
        <select data-testid="run-filter-status" value={query.status} onChange={(e) => set({ status: e.target.value })}>
          <option value="">any status</option>
          {options.status.map(([s, n]) => <option key={s} value={s}>{revealBidi(`${s} (${n.toLocaleString('en-US')})`)}</option>)}
        </select>
        <select data-testid="run-filter-flow" value={query.flow} onChange={(e) => set({ flow: e.target.value })}>
          <option value="">any flow</option>
          {options.flow.map(([f, n]) => <option key={f} value={f}>{revealBidi(`${f} (${n.toLocaleString('en-US')})`)}</option>)}
        </select>
        {onRefresh && <button type="button" data-testid="run-refresh" onClick={onRefresh}>refresh</button>}
        {compareHref && (
          pickedRuns.length === 2
            ? <a className="button" data-testid="run-compare" href={compareHref(pickedRuns[0]!, pickedRuns[1]!)}>compare the 2 picked runs</a>
            : <span className="muted" data-testid="run-compare-hint">pick two runs to compare</span>
        )}
        <span className="muted" data-testid="run-count">{shown.length.toLocaleString()} of {runs.length.toLocaleString()} runs</span>
      </div>
      <div className="run-row run-row-head">
        {COLUMNS.map(([column, label]) => (
          <button key={column} type="button" className={`sort${query.sort === column ? ' active' : ''}`} data-testid={`run-sort-${column}`}
            aria-sort={query.sort === column ? (query.dir === 'asc' ? 'ascending' : 'descending') : 'none'} onClick={() => sortBy(column)}>
            {label}{query.sort === column ? (query.dir === 'asc' ? ' ▲' : ' ▼') : ''}
          </button>
        ))}
      </div>
      <div className="run-rows" ref={parentRef}>
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((item) => {
            const r = shown[item.index]!;
            const href = hrefOf?.(r);
            return (
              <div key={r.id} className="run-item" style={{ height: ROW, transform: `translateY(${item.start}px)` }}>
                {compareHref && (
                  <input type="checkbox" className="run-pick" data-testid="run-pick" aria-label={revealBidi(`pick ${r.id} to compare`)}
                    checked={picked.includes(r.id)} onChange={() => toggle(r.id)} />
                )}
                <a
                  className="run-row"
                  data-testid="run-row"
                  data-run={r.id}
                  data-status={statusOf(r)}
                  href={href ?? '#'}
                  onClick={onOpen ? (e) => { e.preventDefault(); onOpen(r); } : undefined}
                  style={{ height: ROW }}
                >
                  <span className={`run-status status-${r.status ?? 'unknown'}`}>{r.error ? 'unreadable' : <Shown text={r.status} />}{r.complete === false && r.status !== 'waiting' ? ' …' : ''}</span>
                  <span><Shown text={r.flow ?? '—'} /></span>
                  <span className="mono" title={r.error && revealBidi(r.error)}><Shown text={r.id || r.runId} />{r.error ? <span className="error-text"> <Shown text={r.error} /></span> : null}{r.runError ? <span className="muted run-error" data-testid="run-error"> <Shown text={r.runError} /></span> : null}</span>
                  <span>{formatTime(r.startedAt)}</span>
                  <span>{formatDuration(r.durationMs)}</span>
                  <span>{r.events?.toLocaleString() ?? ''}</span>
                </a>
              </div>
            );
          })}
        </div>
      </div>
      {runs.length === 0 && <div className="empty">No bundles (directories with a manifest.json) below this directory.</div>}
      {runs.length > 0 && shown.length === 0 && <div className="empty" data-testid="run-none">No run matches: clear the search or the filters.</div>}
    </div>
  );
}
