// UI state of one open bundle: the cursor (time travel is UI state), selection, tab, filters, playback.
// A plain external store (getState / setState / subscribe) made by a factory; React reads it through narrow
// selectors (ui/store-context.tsx). The model itself is immutable and swapped whole on live updates.
import type { BundleModel } from './bundle-model.ts';

export type Tab = 'node' | 'session' | 'events';

export interface EventFilters {
  /** 'trace' or a session id (its raw ACP events). */
  source: string;
  scope: string;
  type: string;
  node: string;
  text: string;
}

export interface ViewState {
  model?: BundleModel;
  /** While the bundle loads: events read so far. */
  loading?: { label: string; events: number };
  /** The bundle could not be opened at all (network failure, not a bundle). */
  loadError?: string;
  /** Number of trace events applied: 0 = before the run, model.timeline.length = the end. */
  cursor: number;
  /** Keep the cursor at the newest event while a live bundle grows. */
  follow: boolean;
  playing: boolean;
  /** Events per second while playing. */
  speed: number;
  /** Node pinned by the user (graph click or deep link); otherwise the inspector follows the cursor. */
  node?: string;
  /** Attempt picked in the inspector. */
  attempt?: string;
  tab: Tab;
  /** Session shown in the session tab (defaults to the selected attempt's). */
  session?: string;
  filters: EventFilters;
  /** Selected row of a session-events list (index in that list). */
  sessionEventRow?: number;
}

export const SPEEDS = [2, 5, 10, 50, 200] as const;

export const defaultFilters: EventFilters = { source: 'trace', scope: '', type: '', node: '', text: '' };

export interface Store<S> {
  getState(): S;
  setState(update: Partial<S> | ((s: S) => Partial<S>)): void;
  subscribe(listener: () => void): () => void;
}

export function createStore<S extends object>(initial: S): Store<S> {
  let state = initial;
  const listeners = new Set<() => void>();
  return {
    getState: () => state,
    setState(update) {
      const patch = typeof update === 'function' ? update(state) : update;
      let changed = false;
      for (const key of Object.keys(patch) as Array<keyof S>) {
        if (!Object.is(state[key], patch[key])) {
          changed = true;
          break;
        }
      }
      if (!changed) return;
      state = { ...state, ...patch };
      for (const l of [...listeners]) l();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export function createViewStore(initial: Partial<ViewState> = {}): Store<ViewState> {
  return createStore<ViewState>({
    cursor: 0,
    follow: false,
    playing: false,
    speed: 10,
    tab: 'node',
    filters: defaultFilters,
    ...initial,
  });
}

function clamp(n: number, max: number): number {
  return Math.max(0, Math.min(n, max));
}

/** Cursor moves: pure functions of the state, returning the patch to apply. */
export const moves = {
  seek(s: ViewState, cursor: number): Partial<ViewState> {
    const max = s.model?.timeline.length ?? 0;
    const c = clamp(cursor, max);
    const growing = (s.model?.loading ?? false) || ((s.model?.live ?? false) && !(s.model?.complete ?? true));
    return { cursor: c, follow: c === max && growing };
  },
  step(s: ViewState, delta: number): Partial<ViewState> {
    return moves.seek(s, s.cursor + delta);
  },
  /** To just after the next / previous `node.started` (node-by-node stepping). */
  stepNode(s: ViewState, delta: 1 | -1): Partial<ViewState> {
    const starts = s.model?.nodeStarts ?? [];
    const max = s.model?.timeline.length ?? 0;
    if (delta > 0) {
      // First start at index >= cursor: applying it means cursor = index + 1.
      let lo = 0;
      let hi = starts.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (starts[mid]! < s.cursor) lo = mid + 1;
        else hi = mid;
      }
      return moves.seek(s, lo < starts.length ? starts[lo]! + 1 : max);
    }
    // Last start with index + 1 < cursor.
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! + 1 < s.cursor) lo = mid + 1;
      else hi = mid;
    }
    return moves.seek(s, lo > 0 ? starts[lo - 1]! + 1 : 0);
  },
};
