// The events tab: the raw trace (or one session's raw ACP traffic) in a virtualized list, filtered by scope,
// type, node and text. The trace row at the cursor is highlighted; later rows are dimmed; clicking a trace
// row moves the cursor there. Bundle text goes through <Shown>/revealBidi (bidi controls visible) and JSON
// through the depth-limited json()/jsonLine(), so a value nested 100,000 levels deep neither throws nor hides.
import { useCallback, useDeferredValue, useEffect, useMemo, useRef } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { isKnownEventType, type ReducibleEvent } from '@flowtape/schema';
import type { Timeline } from '../model/timeline.ts';
import type { SessionData, SessionEventRow } from '../model/sessions.ts';
import { defaultFilters, moves, type EventFilters } from '../model/store.ts';
import { useStore, useView } from './store-context.tsx';
import { useAsync, type Resources } from './resources.tsx';
import { TextBlock } from './ValueView.tsx';
import { formatClock, formatCount, json, jsonLine } from './format.ts';
import { Shown } from './Shown.tsx';
import { revealBidi } from './bidi.ts';
import { turnUsage, usageText } from './usage-text.ts';

const ROW_HEIGHT = 24;

interface Facets {
  scopes: string[];
  types: string[];
  nodes: string[];
}

const facetCache = new WeakMap<object, Facets>();
const textCache = new WeakMap<object, string[]>();

function traceFacets(t: Timeline): Facets {
  let f = facetCache.get(t);
  if (!f) {
    const scopes = new Set<string>();
    const types = new Set<string>();
    const nodes = new Set<string>();
    for (const e of t.events) {
      scopes.add(e.scope);
      types.add(e.type);
      if (e.nodeId) nodes.add(e.nodeId);
    }
    f = { scopes: [...scopes].sort(), types: [...types].sort(), nodes: [...nodes].sort() };
    facetCache.set(t, f);
  }
  return f;
}

/** What a session line is: its JSON-RPC method, with the session/update kind, or the response/stderr marker. */
export function sessionLineType(row: SessionEventRow): string {
  const m = row.event.message as Record<string, unknown> | undefined;
  if (row.event.direction === 'stderr' || !m) return 'stderr';
  if (typeof m.method === 'string') {
    const update = (m.params as { update?: { sessionUpdate?: unknown } } | undefined)?.update?.sessionUpdate;
    return typeof update === 'string' ? `${m.method}:${update}` : m.method;
  }
  return 'error' in m ? 'response:error' : 'response';
}

function sessionFacets(d: SessionData): Facets {
  let f = facetCache.get(d);
  if (!f) {
    const types = new Set<string>();
    const nodes = new Set<string>();
    for (const r of d.events) {
      types.add(sessionLineType(r));
      if (r.event.attemptId) nodes.add(r.event.attemptId.replace(/#\d+$/, ''));
    }
    f = { scopes: ['outgoing', 'incoming', 'stderr'], types: [...types].sort(), nodes: [...nodes].sort() };
    facetCache.set(d, f);
  }
  return f;
}

function lowerTexts<T>(key: object, items: readonly T[]): string[] {
  let texts = textCache.get(key);
  if (!texts) {
    texts = items.map((x) => jsonLine(x).toLowerCase());
    textCache.set(key, texts);
  }
  return texts;
}

function filterTrace(t: Timeline, f: EventFilters): number[] | undefined {
  if (!f.scope && !f.type && !f.node && !f.text) return undefined;
  const needle = f.text.trim().toLowerCase();
  const texts = needle ? lowerTexts(t, t.events) : undefined;
  const out: number[] = [];
  const events = t.events;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (f.scope && e.scope !== f.scope) continue;
    if (f.type && e.type !== f.type) continue;
    if (f.node && e.nodeId !== f.node) continue;
    if (texts && !texts[i]!.includes(needle)) continue;
    out.push(i);
  }
  return out;
}

function filterSession(d: SessionData, f: EventFilters): number[] | undefined {
  if (!f.scope && !f.type && !f.node && !f.text) return undefined;
  const needle = f.text.trim().toLowerCase();
  const texts = needle ? lowerTexts(d.events, d.events.map((r) => r.event)) : undefined;
  const out: number[] = [];
  d.events.forEach((r, i) => {
    if (f.scope && r.event.direction !== f.scope) return;
    if (f.type && sessionLineType(r) !== f.type) return;
    if (f.node && r.event.attemptId?.replace(/#\d+$/, '') !== f.node) return;
    if (texts && !texts[i]!.includes(needle)) return;
    out.push(i);
  });
  return out;
}

function summary(e: ReducibleEvent): string {
  const p = e.payload as Record<string, unknown>;
  switch (e.type) {
    case 'node.outcome': return `${String(p.outcome)}${p.error ? ` — ${String((p.error as { message?: unknown }).message)}` : ''}`;
    case 'edge.taken': {
      const b = p.branch as { on?: string; value?: unknown; caseKey?: string } | undefined;
      return `${String(p.from)} → ${String(p.to)}${b ? ` (${b.on} = ${jsonLine(b.value)})` : ''}`;
    }
    case 'acp.turn_finished': return `stop ${String(p.stopReason)}`;
    case 'session.usage': return `late usage: ${usageText(turnUsage(p.usage)) ?? 'none valid'}`;
    case 'action.completed': return `ok=${String(p.ok)}${p.exitCode !== undefined ? ` exit ${String(p.exitCode)}` : ''}`;
    case 'artifact.written': return `${String(p.role)} ${String((p.artifact as { path?: string } | undefined)?.path ?? '')}`;
    case 'run.failed': return String((p.error as { message?: unknown } | undefined)?.message ?? '');
    default: return '';
  }
}

function Filters({ facets, filters, source, sessions }: { facets: Facets; filters: EventFilters; source: string; sessions: string[] }) {
  const store = useStore();
  const set = (patch: Partial<EventFilters>) => store.setState((s) => ({ filters: { ...s.filters, ...patch } }));
  return (
    <div className="filters" data-testid="event-filters">
      <select data-testid="filter-source" value={source} onChange={(e) => set({ ...defaultFilters, source: e.target.value })} title="source">
        <option value="trace">trace.ndjson</option>
        {sessions.map((id) => <option key={id} value={id}>session {revealBidi(id)} (raw ACP)</option>)}
      </select>
      <select data-testid="filter-scope" value={filters.scope} onChange={(e) => set({ scope: e.target.value })} title={source === 'trace' ? 'scope' : 'direction'}>
        <option value="">{source === 'trace' ? 'all scopes' : 'all directions'}</option>
        {facets.scopes.map((x) => <option key={x} value={x}>{revealBidi(x)}</option>)}
      </select>
      <select data-testid="filter-type" value={filters.type} onChange={(e) => set({ type: e.target.value })} title="type">
        <option value="">all types</option>
        {facets.types.map((x) => <option key={x} value={x}>{revealBidi(x)}</option>)}
      </select>
      <select data-testid="filter-node" value={filters.node} onChange={(e) => set({ node: e.target.value })} title="node">
        <option value="">all nodes</option>
        {facets.nodes.map((x) => <option key={x} value={x}>{revealBidi(x)}</option>)}
      </select>
      <input data-testid="filter-text" type="search" placeholder="search…" value={filters.text} onChange={(e) => set({ text: e.target.value })} />
    </div>
  );
}

function TraceEvents({ filters }: { filters: EventFilters }) {
  const store = useStore();
  const model = useView((s) => s.model)!;
  const cursor = useView((s) => s.cursor);
  const t = model.timeline;
  const deferred = useDeferredValue(filters);
  const rows = useMemo(() => filterTrace(t, deferred), [t, deferred]);
  const count = rows ? rows.length : t.length;
  const parentRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count, getScrollElement: () => parentRef.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });
  // Keep the cursor's row in view.
  const cursorRow = useMemo(() => {
    if (cursor === 0) return -1;
    if (!rows) return cursor - 1;
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (rows[mid]! <= cursor - 1) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }, [rows, cursor]);
  useEffect(() => {
    if (cursorRow >= 0) virtualizer.scrollToIndex(cursorRow, { align: 'auto' });
  }, [cursorRow, virtualizer]);
  const current = cursor > 0 ? t.events[cursor - 1] : undefined;
  return (
    <>
      <div className="events-count" data-testid="events-count" data-count={count} data-total={t.length}>
        {formatCount(count)} of {formatCount(t.length)} events
      </div>
      <div className="event-list" ref={parentRef} data-testid="event-list">
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((item) => {
            const index = rows ? rows[item.index]! : item.index;
            const e = t.events[index]!;
            const cls = (index === cursor - 1 ? ' current' : index >= cursor ? ' future' : '') + (isKnownEventType(e.type) ? '' : ' unknown');
            return (
              <div
                key={index}
                className={`event-row${cls}`}
                data-testid="event-row"
                data-seq={e.seq}
                data-type={e.type}
                style={{ height: ROW_HEIGHT, transform: `translateY(${item.start}px)` }}
                onClick={() => store.setState((s) => moves.seek(s, index + 1))}
              >
                <span className="c-seq">{e.seq}</span>
                <span className="c-time">{formatClock(e.at)}</span>
                <span className={`c-scope scope-${e.scope}`}><Shown text={e.scope} /></span>
                <span className="c-type" title={isKnownEventType(e.type) ? undefined : 'a type this viewer does not know: shown raw'}><Shown text={e.type} /></span>
                <span className="c-node"><Shown text={e.attemptId ?? e.nodeId} /></span>
                <span className="c-sum"><Shown text={isKnownEventType(e.type) ? summary(e) : 'unknown type'} /></span>
              </div>
            );
          })}
        </div>
      </div>
      <div className="event-detail" data-testid="event-detail">
        {current ? <TextBlock text={json(current)} className="json" /> : <span className="muted">before the first event</span>}
      </div>
    </>
  );
}

function SessionEvents({ data, filters }: { data: SessionData; filters: EventFilters }) {
  const store = useStore();
  const selected = useView((s) => s.sessionEventRow);
  const deferred = useDeferredValue(filters);
  const rows = useMemo(() => filterSession(data, deferred), [data, deferred]);
  const count = rows ? rows.length : data.events.length;
  const parentRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count, getScrollElement: () => parentRef.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });
  const sel = selected !== undefined ? data.events[selected] : undefined;
  return (
    <>
      <div className="events-count" data-testid="events-count" data-count={count} data-total={data.events.length}>
        {formatCount(count)} of {formatCount(data.events.length)} session events
      </div>
      <div className="event-list" ref={parentRef} data-testid="event-list">
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((item) => {
            const index = rows ? rows[item.index]! : item.index;
            const r = data.events[index]!;
            return (
              <div key={index} className={`event-row${index === selected ? ' current' : ''}`} data-testid="event-row" data-seq={r.event.seq}
                data-type={sessionLineType(r)} style={{ height: ROW_HEIGHT, transform: `translateY(${item.start}px)` }}
                onClick={() => store.setState({ sessionEventRow: index })}>
                <span className="c-seq">{r.event.seq}</span>
                <span className="c-time">{formatClock(r.event.at)}</span>
                <span className={`c-scope dir-${r.event.direction}`}>{r.event.direction === 'outgoing' ? '→ agent' : r.event.direction === 'incoming' ? '← agent' : 'stderr'}</span>
                <span className="c-type"><Shown text={sessionLineType(r)} /></span>
                <span className="c-node"><Shown text={r.event.attemptId} /></span>
                <span className="c-sum"><Shown text={r.event.text} /></span>
              </div>
            );
          })}
        </div>
      </div>
      <div className="event-detail" data-testid="event-detail">
        {sel ? <TextBlock text={json(sel.event)} className="json" /> : <span className="muted">click a row to see the message</span>}
      </div>
    </>
  );
}

export function EventsPanel() {
  const model = useView((s) => s.model)!;
  const filters = useView((s) => s.filters);
  const sessions = model.sessions.map((s) => s.sessionId);
  const info = model.sessions.find((s) => s.sessionId === filters.source);
  const version = info ? (model.sessionVersions.get(info.sessionId) ?? 0) : 0;
  const load = useCallback((r: Resources) => r.session(info!, version), [info, version]);
  const data = useAsync(info ? `session:${info.path}@${version}` : undefined, load);
  if (filters.source === 'trace' || !info) {
    return (
      <div className="events-panel" data-testid="events-panel">
        <Filters facets={traceFacets(model.timeline)} filters={filters} source="trace" sessions={sessions} />
        <TraceEvents filters={filters} />
      </div>
    );
  }
  return (
    <div className="events-panel" data-testid="events-panel">
      <Filters facets={data.status === 'ok' ? sessionFacets(data.value) : { scopes: [], types: [], nodes: [] }} filters={filters} source={filters.source} sessions={sessions} />
      {data.status === 'loading' && <div className="muted">loading session events…</div>}
      {data.status === 'error' && <div className="error-text"><Shown text={data.message} /></div>}
      {data.status === 'ok' && <SessionEvents data={data.value} filters={filters} />}
    </div>
  );
}
