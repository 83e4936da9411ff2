// The duration view: one row per attempt, ACP turn and action, each a bar on the run's time axis, with the cursor
// as a vertical line. Rows are virtualised (a long run has thousands); a click moves the cursor to the start of
// the bar and pins its node. The axis zooms (the − / + buttons, or Ctrl/⌘ + wheel around the pointer) and pans
// (Shift + wheel, a sideways wheel, or dragging the axis); `fit` shows the whole run again.
import { useEffect, useMemo, useRef, useState, type PointerEvent as ReactPointerEvent } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { cursorMs, fullWindow, panWindow, waterfallOf, windowFromParam, windowParam, zoomWindow, type Bar, type TimeWindow } from '../model/waterfall.ts';
import { useStore, useView } from './store-context.tsx';
import { formatDuration, hue } from './format.ts';
import { Shown } from './Shown.tsx';
import '../waterfall.css';

const ROW = 22;
const TICKS = 6;

/** A tick's label: finer than formatDuration's whole milliseconds when the window is only a few ms wide. */
function tickLabel(ms: number, windowMs: number): string {
  const step = windowMs / TICKS;
  if (step >= 10) return formatDuration(ms);
  return `${ms.toFixed(step >= 1 ? 1 : step >= 0.1 ? 2 : 3)} ms`;
}

function barTitle(bar: Bar, spanEnd: number): string {
  const end = bar.endMs ?? spanEnd;
  return `${bar.attemptId} · ${bar.kind === 'attempt' ? bar.status ?? 'running' : bar.label}${bar.kind !== 'attempt' && bar.status ? ` (${bar.status})` : ''} · ${formatDuration(bar.startMs)} → ${bar.endMs === undefined ? 'still running' : formatDuration(end)} · ${formatDuration(end - bar.startMs)}`;
}

export function Waterfall() {
  const store = useStore();
  const model = useView((s) => s.model)!;
  const cursor = useView((s) => s.cursor);
  const wf = useMemo(() => waterfallOf(model.timeline), [model.timeline]);
  const at = cursorMs(model.timeline, cursor, wf);
  const parentRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count: wf.bars.length, getScrollElement: () => parentRef.current, estimateSize: () => ROW, overscan: 12 });
  // The window is kept in the address bar (`wf=`), with the rest of the view.
  const [view, setView] = useState<TimeWindow>(() => windowFromParam(new URLSearchParams(location.search).get('wf'), wf.spanMs) ?? fullWindow(wf));
  // A live run grows: while the whole run is shown, keep showing all of it.
  const [whole, setWhole] = useState(() => windowParam(view, wf.spanMs) === undefined);
  const win = whole ? fullWindow(wf) : view;
  const width = win.toMs - win.fromMs;
  const place = (ms: number) => Math.max(0, Math.min(100, ((ms - win.fromMs) / width) * 100));
  const pct = (ms: number) => `${place(ms)}%`;
  const pick = (bar: Bar) => store.setState({ cursor: bar.startIndex + 1, follow: false, node: bar.nodeId, attempt: bar.attemptId });
  const apply = (next: TimeWindow) => {
    setWhole(windowParam(next, wf.spanMs) === undefined);
    setView(next);
  };
  const param = whole ? undefined : windowParam(view, wf.spanMs);
  useEffect(() => {
    const q = new URLSearchParams(location.search);
    if (param) q.set('wf', param);
    else q.delete('wf');
    const search = q.toString() ? `?${q.toString()}` : '';
    if (search !== location.search) history.replaceState(history.state, '', `${location.pathname}${search}${location.hash}`);
  }, [param]);
  const zoom = (factor: number, anchor?: number) => apply(zoomWindow(win, wf.spanMs, factor, anchor ?? (at >= win.fromMs && at <= win.toMs ? at : undefined)));
  // The wheel is read natively: React's wheel listener is passive and cannot keep the page from scrolling.
  const trackRef = useRef<HTMLDivElement>(null);
  const latest = useRef({ win, spanMs: wf.spanMs, apply });
  latest.current = { win, spanMs: wf.spanMs, apply };
  useEffect(() => {
    const el = parentRef.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      const { win: w, spanMs, apply: set } = latest.current;
      const track = trackRef.current?.getBoundingClientRect();
      if (!track || track.width <= 0) return;
      const msPerPx = (w.toMs - w.fromMs) / track.width;
      if (e.ctrlKey || e.metaKey) {
        e.preventDefault();
        set(zoomWindow(w, spanMs, Math.exp(e.deltaY * 0.002), w.fromMs + (e.clientX - track.left) * msPerPx));
      } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        e.preventDefault();
        set(panWindow(w, spanMs, (e.shiftKey ? e.deltaY : e.deltaX) * msPerPx));
      }
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, []);
  const drag = (e: ReactPointerEvent<HTMLDivElement>) => {
    const track = trackRef.current?.getBoundingClientRect();
    if (!track || track.width <= 0 || whole) return;
    const start = { x: e.clientX, win };
    const msPerPx = width / track.width;
    const move = (m: PointerEvent) => apply(panWindow(start.win, wf.spanMs, (start.x - m.clientX) * msPerPx));
    const up = () => { window.removeEventListener('pointermove', move); window.removeEventListener('pointerup', up); };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  };
  return (
    <div className="waterfall" data-testid="waterfall" data-span-ms={wf.spanMs} data-bars={wf.bars.length} data-from-ms={win.fromMs} data-to-ms={win.toMs}>
      <div className="wf-zoom" role="group" aria-label="zoom the time axis">
        <button type="button" data-testid="wf-zoom-out" onClick={() => zoom(2)} disabled={whole} title="zoom out">−</button>
        <button type="button" data-testid="wf-zoom-in" onClick={() => zoom(0.5)} disabled={width <= Math.max(1, wf.spanMs / 10_000)} title="zoom in (Ctrl/⌘ + wheel)">+</button>
        <button type="button" data-testid="wf-zoom-fit" onClick={() => apply(fullWindow(wf))} disabled={whole} title="show the whole run">fit</button>
        {!whole && <span className="muted" data-testid="wf-window">{formatDuration(win.fromMs)} – {formatDuration(win.toMs)} of {formatDuration(wf.spanMs)} (drag the axis or Shift + wheel to move)</span>}
      </div>
      <div className="wf-axis">
        <div className="wf-label muted">{wf.bars.length.toLocaleString('en-US')} bars · {formatDuration(wf.spanMs)}</div>
        <div className={`wf-track${whole ? '' : ' pannable'}`} ref={trackRef} onPointerDown={drag}>
          {Array.from({ length: TICKS + 1 }, (_, i) => (
            <span key={i} className="wf-tick" style={{ left: `${(i / TICKS) * 100}%` }}>{tickLabel(win.fromMs + (width * i) / TICKS, width)}</span>
          ))}
        </div>
      </div>
      <div className="wf-rows" ref={parentRef}>
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          <div className="wf-cursor-lane">
            <div className="wf-cursor" data-testid="wf-cursor" data-ms={at} style={{ left: pct(at), display: at < win.fromMs || at > win.toMs ? 'none' : undefined }} />
          </div>
          {virtualizer.getVirtualItems().map((item) => {
            const bar = wf.bars[item.index]!;
            const end = bar.endMs ?? wf.spanMs;
            const started = cursor > bar.startIndex;
            const shown = end >= win.fromMs && bar.startMs <= win.toMs;
            return (
              <div key={bar.id} className={`wf-row kind-${bar.kind}`} style={{ top: item.start, height: ROW }}
                data-testid="wf-row" data-id={bar.id} data-kind={bar.kind} data-attempt={bar.attemptId}
                data-start-ms={bar.startMs} data-end-ms={bar.endMs ?? ''} data-status={bar.status ?? ''}>
                <div className="wf-label" title={bar.attemptId}>
                  <Shown text={bar.kind === 'attempt' ? bar.attemptId : `${bar.label}`} />
                </div>
                <div className="wf-track">
                  <button type="button" className={`wf-bar status-${bar.status ?? 'running'}${started ? '' : ' future'}`} data-testid="wf-bar"
                    style={{ left: pct(bar.startMs), width: `max(2px, ${place(end) - place(bar.startMs)}%)`, display: shown ? undefined : 'none', ...(bar.kind === 'attempt' ? { background: `hsl(${hue(bar.nodeId)} 55% 55%)` } : {}) }}
                    title={barTitle(bar, wf.spanMs)} onClick={() => pick(bar)} />
                </div>
              </div>
            );
          })}
        </div>
      </div>
      {wf.bars.length === 0 && <div className="empty">No attempts yet.</div>}
    </div>
  );
}
