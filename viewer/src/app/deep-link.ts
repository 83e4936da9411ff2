// The view in the address bar: a deep link (run, seq, node, attempt, session, tab, the events tab's filters) read when a
// bundle is opened, and written back as the view changes, so a reload or a shared link lands on the same view.
import { defaultFilters, type EventFilters, type Store, type Tab, type ViewState } from '../model/store.ts';

export interface DeepLink {
  run?: string;
  seq?: number;
  node?: string;
  /** The attempt picked in the inspector, and the session shown in the session tab. */
  attempt?: string;
  session?: string;
  tab?: Tab;
  /** The events tab's filters, where they are not the default. */
  filters?: Partial<EventFilters>;
}

/** The events tab's filters in the address bar: `events.source=`, `events.scope=`, … (`events.text` is the search). */
const FILTER_KEYS = Object.keys(defaultFilters) as Array<keyof EventFilters>;
const filterParam = (key: keyof EventFilters) => `events.${key}`;

export function readDeepLink(search: string = location.search): DeepLink {
  const q = new URLSearchParams(search);
  const seq = q.get('seq');
  const tab = q.get('tab');
  return {
    run: q.get('run') ?? undefined,
    seq: seq !== null && /^\d+$/.test(seq) ? Number(seq) : undefined,
    node: q.get('node') || undefined,
    attempt: q.get('attempt') || undefined,
    session: q.get('session') || undefined,
    tab: tab === 'node' || tab === 'session' || tab === 'events' ? tab : undefined,
    filters: Object.fromEntries(FILTER_KEYS.flatMap((k) => { const v = q.get(filterParam(k)); return v === null ? [] : [[k, v]]; })),
  };
}

/**
 * Writes run/seq/node/attempt/session/tab and the events filters into the address bar (replaceState, throttled), so a
 * reload lands on the same view. Not while the trace is still being read: each partial model moves the cursor to the
 * head, so each write came in the middle of the load (a replaceState: ~10–20 ms of the main thread in a profile of a
 * 100k-event load) and replaced a deep link's seq with a head the next partial left behind. The first write comes
 * with the whole model.
 */
export function syncUrl(store: Store<ViewState>, run: string | undefined): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const write = () => {
    timer = undefined;
    const s = store.getState();
    if (!s.model || s.model.loading) return;
    const q = new URLSearchParams(location.search);
    if (run !== undefined) q.set('run', run);
    const e = s.cursor > 0 ? s.model.timeline.events[s.cursor - 1] : undefined;
    q.set('seq', String(e?.seq ?? 0));
    for (const name of ['node', 'attempt', 'session'] as const) {
      const value = s[name];
      if (value) q.set(name, value);
      else q.delete(name);
    }
    if (s.tab !== 'node') q.set('tab', s.tab);
    else q.delete('tab');
    for (const k of FILTER_KEYS) {
      if (s.filters[k] !== defaultFilters[k]) q.set(filterParam(k), s.filters[k]);
      else q.delete(filterParam(k));
    }
    const url = `${location.pathname}?${q.toString()}${location.hash}`;
    if (url !== `${location.pathname}${location.search}${location.hash}`) history.replaceState(history.state, '', url);
  };
  const unsubscribe = store.subscribe(() => {
    if (timer === undefined) timer = setTimeout(write, 120);
  });
  return () => {
    unsubscribe();
    if (timer !== undefined) clearTimeout(timer);
  };
}
