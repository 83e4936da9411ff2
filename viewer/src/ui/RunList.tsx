// The run list of a runs-root: every run (virtualized, no cap), sortable by any column, filtered by status and
// flow, searchable (run id, flow, status, error), newest first by default. Two runs picked with their boxes open
// the compare page.
import { useDeferredValue, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { RunSummary } from '../../server/summary.ts';
import { facets, filterRuns, runQueryFromSearch, runQuerySearch, sortRuns, statusOf, type RunColumn, type RunQuery } from '../model/run-list.ts';
import { formatDuration, formatTime } from './format.ts';
import { Shown } from './Shown.tsx';
import { revealBidi } from './bidi.ts';
import { HelpButton } from './KeyboardHelp.tsx';
import '../run-list.css';

const ROW = 30;

const COLUMNS: Array<[RunColumn, string]> = [['status', 'status'], ['flow', 'flow'], ['run', 'run'], ['started', 'started'], ['duration', 'duration'], ['events', 'events']];

/** What an empty runs root says: how to record a run into it, and how to see it. */
export function NoRunsYet({ root }: { root: string }) {
  return (
    <div className="empty empty-how" data-testid="runs-empty">
      <p><b>No runs in <code><Shown text={root} /></code> yet</b> (a run is a directory with a <code>manifest.json</code>, at any depth).</p>
      <p>Record one into it, then press <b>refresh</b>:</p>
      <pre><Shown text={`flowtape run my.flow.ts --out ${root}`} /></pre>
      <p className="muted">Or open a single bundle: <code>flowtape view &lt;bundle | bundle.zip&gt;</code>.</p>
    </div>
  );
}

export function RunList({ title, runs, hrefOf, onOpen, onRefresh, compareHref, empty }: {
  title: string;
  runs: RunSummary[];
  hrefOf?: (run: RunSummary) => string;
  onOpen?: (run: RunSummary) => void;
  /** Re-reads the list (new runs, runs that finished). */
  onRefresh?: () => void;
  /** Where the compare page of two runs is (runs served by `flowtape view`); no picking without it. */
  compareHref?: (a: RunSummary, b: RunSummary) => string;
  /** Shown when there is no run at all (what to do about it). */
  empty?: ReactNode;
}) {
  const [query, setQuery] = useState<RunQuery>(() => runQueryFromSearch(location.search));
  const [picked, setPicked] = useState<string[]>([]);
  const text = useDeferredValue(query.text);
  useEffect(() => {
    // The sort, filters and search live in the address bar: a reload or a shared link shows the same rows.
    const search = runQuerySearch({ ...query, text }, location.search);
    if (search !== location.search) history.replaceState(history.state, '', `${location.pathname}${search}${location.hash}`);
  }, [query, text]);
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
        <HelpButton />
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
      {runs.length === 0 && (empty ?? <div className="empty">No bundles (directories with a manifest.json) below this directory.</div>)}
      {runs.length > 0 && shown.length === 0 && (
        <div className="empty" data-testid="run-none">
          No run matches{query.text ? <> “<Shown text={query.text} />”</> : ''}{query.status ? <> with status <Shown text={query.status} /></> : ''}{query.flow ? <> of flow <Shown text={query.flow} /></> : ''}.{' '}
          <button type="button" className="link" data-testid="run-clear" onClick={() => setQuery((q) => ({ ...q, text: '', status: '', flow: '' }))}>Clear the search and filters</button>
        </div>
      )}
    </div>
  );
}
