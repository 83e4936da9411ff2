// The run list as data: sorting by any column, filtering by status and flow, and text search over run id, flow
// name, status and error. Pure functions over the server's summaries; the UI only renders what they return.
import type { RunSummary } from '../../server/summary.ts';

export type RunColumn = 'status' | 'flow' | 'run' | 'started' | 'duration' | 'events';
export type SortDir = 'asc' | 'desc';

export interface RunQuery {
  sort: RunColumn;
  dir: SortDir;
  /** '' = any. */
  status: string;
  flow: string;
  text: string;
}

export const defaultRunQuery: RunQuery = { sort: 'started', dir: 'desc', status: '', flow: '', text: '' };

/** The status a row shows: an unreadable bundle is `unreadable`. */
export function statusOf(r: RunSummary): string {
  return r.error ? 'unreadable' : r.status ?? 'unknown';
}

function key(r: RunSummary, column: RunColumn): string | number | undefined {
  switch (column) {
    case 'status': return statusOf(r);
    case 'flow': return r.flow;
    case 'run': return r.id || r.runId;
    case 'started': return r.startedAt;
    case 'duration': return r.durationMs;
    case 'events': return r.events;
  }
}

/** Sorted copy; rows without a value go last whatever the direction, ties by id. */
export function sortRuns(runs: readonly RunSummary[], column: RunColumn, dir: SortDir): RunSummary[] {
  const sign = dir === 'asc' ? 1 : -1;
  return [...runs].sort((a, b) => {
    const ka = key(a, column);
    const kb = key(b, column);
    if (ka === undefined || kb === undefined) {
      if (ka !== kb) return ka === undefined ? 1 : -1;
    } else if (ka !== kb) {
      const c = typeof ka === 'number' && typeof kb === 'number' ? ka - kb : String(ka).localeCompare(String(kb));
      if (c !== 0) return sign * c;
    }
    return a.id.localeCompare(b.id);
  });
}

export function filterRuns(runs: readonly RunSummary[], q: Pick<RunQuery, 'status' | 'flow' | 'text'>): RunSummary[] {
  const text = q.text.trim().toLowerCase();
  return runs.filter((r) =>
    (q.status === '' || statusOf(r) === q.status)
    && (q.flow === '' || r.flow === q.flow)
    && (text === '' || [r.id, r.runId, r.flow, r.status, r.error, r.runError].some((v) => v?.toLowerCase().includes(text))));
}

/** The values the status and flow filters offer, with their counts, most frequent first. */
export function facets(runs: readonly RunSummary[]): { status: Array<[string, number]>; flow: Array<[string, number]> } {
  const status = new Map<string, number>();
  const flow = new Map<string, number>();
  for (const r of runs) {
    status.set(statusOf(r), (status.get(statusOf(r)) ?? 0) + 1);
    if (r.flow !== undefined) flow.set(r.flow, (flow.get(r.flow) ?? 0) + 1);
  }
  const order = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return { status: order(status), flow: order(flow) };
}

/** Sorted and filtered in one go (the list's rows). */
export function queryRuns(runs: readonly RunSummary[], q: RunQuery): RunSummary[] {
  return sortRuns(filterRuns(runs, q), q.sort, q.dir);
}

const COLUMNS: readonly RunColumn[] = ['status', 'flow', 'run', 'started', 'duration', 'events'];

/**
 * The query kept in the address bar (`sort`, `dir`, `status`, `flow`, `q`; defaults left out), so a reload or a
 * shared link shows the same rows. Unknown values fall back to the default.
 */
export function runQueryFromSearch(search: string): RunQuery {
  const p = new URLSearchParams(search);
  const sort = p.get('sort');
  const dir = p.get('dir');
  return {
    sort: COLUMNS.includes(sort as RunColumn) ? (sort as RunColumn) : defaultRunQuery.sort,
    dir: dir === 'asc' || dir === 'desc' ? dir : defaultRunQuery.dir,
    status: p.get('status') ?? '',
    flow: p.get('flow') ?? '',
    text: p.get('q') ?? '',
  };
}

/** `search` with the query's parameters set (and defaults removed); other parameters are kept. */
export function runQuerySearch(q: RunQuery, search = ''): string {
  const p = new URLSearchParams(search);
  const put = (name: string, value: string, fallback: string) => (value === fallback ? p.delete(name) : p.set(name, value));
  put('sort', q.sort, defaultRunQuery.sort);
  put('dir', q.dir, defaultRunQuery.dir);
  put('status', q.status, '');
  put('flow', q.flow, '');
  put('q', q.text, '');
  const s = p.toString();
  return s ? `?${s}` : '';
}
