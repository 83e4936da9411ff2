// Where the time went: every attempt, ACP turn and action of a run as a bar on one time axis (a waterfall, like
// the timelines of Playwright's trace viewer and Jaeger). Built from the trace events in one pass, once per
// timeline (cached); times are the events' own `at`, in milliseconds from the run's first event. Pure.
import type { ReducibleEvent } from '@flowtape/schema';
import type { Timeline } from './timeline.ts';

export type BarKind = 'attempt' | 'turn' | 'action';

export interface Bar {
  id: string;
  kind: BarKind;
  nodeId: string;
  attemptId: string;
  label: string;
  /** Milliseconds from the run's start. */
  startMs: number;
  /** Undefined while still running (drawn to the end of the axis). */
  endMs?: number;
  /** Index in timeline.events of the event that started it (the cursor goes to just after it). */
  startIndex: number;
  endIndex?: number;
  /** attempt: its outcome; turn: its stop reason; action: ok / failed. */
  status?: string;
}

export interface Waterfall {
  bars: Bar[];
  /** The axis: run start (epoch ms) and its length in ms. */
  originMs: number;
  spanMs: number;
}

const cache = new WeakMap<Timeline, Waterfall>();

function time(event: ReducibleEvent): number | undefined {
  const t = Date.parse(event.at);
  return Number.isFinite(t) ? t : undefined;
}

export function waterfallOf(timeline: Timeline): Waterfall {
  const cached = cache.get(timeline);
  if (cached) return cached;
  const events = timeline.events;
  let originMs: number | undefined;
  let lastMs = 0;
  for (const e of events) {
    const t = time(e);
    if (t === undefined) continue;
    originMs ??= t;
    if (t > lastMs) lastMs = t;
  }
  const origin = originMs ?? 0;
  const bars: Bar[] = [];
  const open = new Map<string, Bar>();
  const turns = new Map<string, number>();
  const close = (key: string, index: number, ms: number | undefined, status?: string) => {
    const bar = open.get(key);
    if (!bar) return;
    open.delete(key);
    bar.endMs = ms === undefined ? undefined : ms - origin;
    bar.endIndex = index;
    if (status !== undefined) bar.status = status;
  };
  events.forEach((e, index) => {
    const t = time(e);
    const attemptId = e.attemptId;
    if (!attemptId || !e.nodeId || t === undefined) return;
    const payload = (e.payload ?? {}) as Record<string, unknown>;
    const start = (kind: BarKind, key: string, label: string) => {
      const bar: Bar = { id: key, kind, nodeId: e.nodeId!, attemptId, label, startMs: t - origin, startIndex: index };
      open.set(key, bar);
      bars.push(bar);
    };
    switch (e.type) {
      case 'node.started':
        start('attempt', `attempt:${attemptId}`, attemptId);
        break;
      case 'node.outcome':
        close(`attempt:${attemptId}`, index, t, typeof payload.outcome === 'string' ? payload.outcome : undefined);
        break;
      case 'acp.prompt_sent': {
        const n = (turns.get(attemptId) ?? 0) + 1;
        turns.set(attemptId, n);
        start('turn', `turn:${attemptId}:${n}`, `turn ${n}`);
        break;
      }
      case 'acp.turn_finished': {
        const n = turns.get(attemptId) ?? 0;
        close(`turn:${attemptId}:${n}`, index, t, typeof payload.stopReason === 'string' ? payload.stopReason : payload.error ? 'error' : undefined);
        break;
      }
      case 'action.started':
        start('action', `action:${attemptId}`, typeof payload.actionType === 'string' ? payload.actionType : 'action');
        break;
      case 'action.completed':
        close(`action:${attemptId}`, index, t, payload.ok === false ? 'failed' : 'ok');
        break;
      default:
        break;
    }
  });
  const result: Waterfall = { bars, originMs: origin, spanMs: Math.max(1, lastMs - origin) };
  cache.set(timeline, result);
  return result;
}

/** The cursor's place on the axis: the time of the last applied event, in ms from the run's start. */
export function cursorMs(timeline: Timeline, cursor: number, wf: Waterfall): number {
  if (cursor <= 0) return 0;
  const e = timeline.events[Math.min(cursor, timeline.events.length) - 1];
  const t = e ? Date.parse(e.at) : NaN;
  return Number.isFinite(t) ? t - wf.originMs : 0;
}

/** The part of the axis on screen (ms from the run's start): the whole run, or a zoomed-in part of it. */
export interface TimeWindow {
  fromMs: number;
  toMs: number;
}

export function fullWindow(wf: Pick<Waterfall, 'spanMs'>): TimeWindow {
  return { fromMs: 0, toMs: wf.spanMs };
}

/** The narrowest window: a millisecond (the events' own resolution), or 1/10,000 of a long run. */
function minWidth(spanMs: number): number {
  return Math.min(spanMs, Math.max(1, spanMs / 10_000));
}

/** Shifted (keeping its width) to lie inside the run. */
function clampWindow(fromMs: number, width: number, spanMs: number): TimeWindow {
  const w = Math.min(Math.max(width, minWidth(spanMs)), spanMs);
  const from = Math.min(Math.max(0, fromMs), spanMs - w);
  return { fromMs: from, toMs: from + w };
}

/** Zoomed by `factor` (< 1 in, > 1 out) keeping `anchorMs` (the pointer, the cursor) where it is on screen. */
export function zoomWindow(w: TimeWindow, spanMs: number, factor: number, anchorMs = (w.fromMs + w.toMs) / 2): TimeWindow {
  const width = w.toMs - w.fromMs;
  const next = Math.min(Math.max(width * factor, minWidth(spanMs)), spanMs);
  const at = Math.min(Math.max(anchorMs, w.fromMs), w.toMs);
  const share = width > 0 ? (at - w.fromMs) / width : 0.5;
  return clampWindow(at - share * next, next, spanMs);
}

/** Moved by `deltaMs` (negative: earlier), kept inside the run. */
export function panWindow(w: TimeWindow, spanMs: number, deltaMs: number): TimeWindow {
  return clampWindow(w.fromMs + deltaMs, w.toMs - w.fromMs, spanMs);
}

/** The window as the address bar keeps it (`wf=<from>-<to>`, ms), or undefined for the whole run. */
export function windowParam(w: TimeWindow, spanMs: number): string | undefined {
  if (w.fromMs <= 0 && w.toMs >= spanMs) return undefined;
  const ms = (n: number) => String(Math.round(n * 1000) / 1000);
  return `${ms(w.fromMs)}-${ms(w.toMs)}`;
}

/** A `wf=` parameter read back, kept inside the run; undefined (the whole run) when it is not one. */
export function windowFromParam(param: string | null | undefined, spanMs: number): TimeWindow | undefined {
  const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(param ?? '');
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = Number(m[2]);
  if (!(to > from)) return undefined;
  return clampWindow(from, to - from, spanMs);
}
