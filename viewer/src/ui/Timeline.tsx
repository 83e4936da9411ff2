// Playback controls and the scrubber. The strip is drawn once per model on a canvas (one tick per attempt,
// coloured by node; failures in red); the cursor is a positioned element, so stepping repaints nothing big.
import { useCallback, useEffect, useRef } from 'react';
import { moves, SPEEDS } from '../model/store.ts';
import type { ReducibleEvent } from '@flowtape/schema';
import type { BundleModel } from '../model/bundle-model.ts';
import { useStore, useView } from './store-context.tsx';
import { formatClock, formatCount, hue } from './format.ts';
import { Shown } from './Shown.tsx';

/** At the latest this long after the model is on screen, the strip is drawn even if the page never idles. */
const STRIP_IDLE_TIMEOUT_MS = 500;

/**
 * The strip's marks, one column per pixel at most: the first node start in a column (coloured by node), any failed
 * attempt in it (red, drawn over the starts), run-level events (a grey foot). Gathered per column first, then drawn
 * one colour at a time: a 100k-event trace is a few thousand rectangles, not one fill style per event.
 */
function stripMarks(events: readonly ReducibleEvent[], width: number): { starts: Map<string, number[]>; failures: number[]; runMarks: number[] } {
  const n = events.length;
  const cols = Math.max(1, Math.ceil(width));
  const startOf: Array<string | undefined> = new Array(cols);
  const failed = new Uint8Array(cols);
  const marked = new Uint8Array(cols);
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    const col = Math.min(cols - 1, Math.floor((i / n) * width));
    if (e.type === 'node.started') {
      if (startOf[col] === undefined) startOf[col] = e.nodeId ?? '';
    } else if (e.type === 'node.outcome') {
      if ((e.payload as { outcome?: string }).outcome !== 'ok') failed[col] = 1;
    } else if (e.scope === 'run' || !e.type.includes('.')) {
      marked[col] = 1;
    }
  }
  const starts = new Map<string, number[]>();
  const failures: number[] = [];
  const runMarks: number[] = [];
  for (let col = 0; col < cols; col++) {
    const node = startOf[col];
    if (node !== undefined) {
      const list = starts.get(node);
      if (list) list.push(col);
      else starts.set(node, [col]);
    }
    if (failed[col]) failures.push(col);
    if (marked[col]) runMarks.push(col);
  }
  return { starts, failures, runMarks };
}

function drawStrip(canvas: HTMLCanvasElement, model: BundleModel): void {
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  canvas.width = Math.max(1, Math.round(width * dpr));
  canvas.height = Math.max(1, Math.round(height * dpr));
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.scale(dpr, dpr);
  ctx.clearRect(0, 0, width, height);
  if (model.timeline.length === 0) return;
  const { starts, failures, runMarks } = stripMarks(model.timeline.events, width);
  for (const [node, cols] of starts) {
    ctx.fillStyle = `hsl(${hue(node)} 55% 55%)`;
    for (const col of cols) ctx.fillRect(col, 4, 1.5, height - 8);
  }
  ctx.fillStyle = '#d9363e';
  for (const col of failures) ctx.fillRect(col, 0, 2, height);
  ctx.fillStyle = '#888'; // readable on the light and the dark strip
  for (const col of runMarks) ctx.fillRect(col, height - 4, 2, 4);
  performance.mark('flowtape:strip');
}

/** Runs `fn` when the page is idle (a key press or a frame waiting goes first), within `timeout` ms at the latest. */
function whenIdle(fn: () => void, timeout: number): () => void {
  if (typeof requestIdleCallback === 'function') {
    const id = requestIdleCallback(fn, { timeout });
    return () => cancelIdleCallback(id);
  }
  const id = setTimeout(fn, 0);
  return () => clearTimeout(id);
}

export function Timeline() {
  const store = useStore();
  const model = useView((s) => s.model)!;
  const cursor = useView((s) => s.cursor);
  const playing = useView((s) => s.playing);
  const speed = useView((s) => s.speed);
  const follow = useView((s) => s.follow);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const stripRef = useRef<HTMLDivElement>(null);
  const total = model.timeline.length;
  const event = cursor > 0 ? model.timeline.events[cursor - 1] : undefined;

  // Drawn once the page is idle after the model is on screen: the strip is a guide, the controls work without it,
  // and a key pressed as the whole trace appears is answered before the strip's pass over every event.
  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || model.loading) return;
    let cancel: (() => void) | undefined;
    // The observer fires once on observe(), which draws the first time.
    const ro = new ResizeObserver(() => {
      cancel ??= whenIdle(() => {
        cancel = undefined;
        drawStrip(canvas, model);
      }, STRIP_IDLE_TIMEOUT_MS);
    });
    ro.observe(canvas);
    return () => {
      ro.disconnect();
      cancel?.();
    };
  }, [model]);

  // Playback: a frame loop advancing `speed` events per second; stops at the end of a finished run.
  useEffect(() => {
    if (!playing) return;
    let frame = 0;
    let last = performance.now();
    let carry = 0;
    const tick = (now: number) => {
      carry += ((now - last) / 1000) * store.getState().speed;
      last = now;
      const whole = Math.floor(carry);
      if (whole > 0) {
        carry -= whole;
        const s = store.getState();
        const max = s.model?.timeline.length ?? 0;
        if (s.cursor >= max && (s.model?.complete ?? true)) {
          store.setState({ playing: false });
          return;
        }
        store.setState(moves.step(s, whole));
      }
      frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(frame);
  }, [playing, store]);

  const seekFromPointer = useCallback((clientX: number) => {
    const el = stripRef.current;
    if (!el) return;
    const rect = el.getBoundingClientRect();
    const frac = Math.max(0, Math.min(1, (clientX - rect.left) / rect.width));
    store.setState((s) => moves.seek(s, Math.round(frac * (s.model?.timeline.length ?? 0))));
  }, [store]);

  const onPointerDown = (e: React.PointerEvent<HTMLDivElement>) => {
    e.currentTarget.setPointerCapture(e.pointerId);
    seekFromPointer(e.clientX);
  };
  const onPointerMove = (e: React.PointerEvent<HTMLDivElement>) => {
    if (e.buttons & 1) seekFromPointer(e.clientX);
  };

  const set = (patch: Parameters<typeof store.setState>[0]) => store.setState(patch);
  const pct = total === 0 ? 0 : (cursor / total) * 100;
  return (
    <div className="timeline" data-testid="timeline">
      <div className="controls">
        <button type="button" data-testid="first" title="Start (Home)" aria-label="start" onClick={() => set((s) => moves.seek(s, 0))}>|◀</button>
        <button type="button" data-testid="prev-node" title="Previous node (Shift+←)" aria-label="previous node" onClick={() => set((s) => moves.stepNode(s, -1))}>◀◀</button>
        <button type="button" data-testid="prev" title="Previous event (←)" aria-label="previous event" onClick={() => set((s) => moves.step(s, -1))}>◀</button>
        <button type="button" data-testid="play" title="Play / pause (Space)" aria-pressed={playing}
          onClick={() => set((s) => ({ playing: !s.playing, ...(s.cursor >= (s.model?.timeline.length ?? 0) && !s.playing ? { cursor: 0 } : {}) }))}>
          {playing ? 'pause' : 'play'}
        </button>
        <button type="button" data-testid="next" title="Next event (→)" aria-label="next event" onClick={() => set((s) => moves.step(s, 1))}>▶</button>
        <button type="button" data-testid="next-node" title="Next node (Shift+→)" aria-label="next node" onClick={() => set((s) => moves.stepNode(s, 1))}>▶▶</button>
        <button type="button" data-testid="last" title="End (End)" aria-label="end" onClick={() => set((s) => moves.seek(s, s.model?.timeline.length ?? 0))}>▶|</button>
        <select data-testid="speed" value={speed} title="Playback speed" onChange={(e) => { set({ speed: Number(e.target.value) }); e.target.blur(); }}>
          {SPEEDS.map((v) => <option key={v} value={v}>{v} ev/s</option>)}
        </select>
        {model.live && !model.complete && (
          <label className="follow" title="Keep the cursor on the newest event">
            <input type="checkbox" data-testid="follow" checked={follow}
              onChange={(e) => set((s) => (e.target.checked ? { follow: true, cursor: s.model?.timeline.length ?? 0 } : { follow: false }))} />
            follow
          </label>
        )}
        <span className="position" data-testid="cursor-pos" data-cursor={cursor} data-seq={event?.seq ?? 0} data-total={total}>
          {event ? <>seq <b>{event.seq}</b> · {formatCount(cursor)}/{formatCount(total)}</> : <>start · 0/{formatCount(total)}</>}
        </span>
        <span className="current-event" data-testid="cursor-event">
          {event ? <><code><Shown text={event.type} /></code>{event.nodeId ? <> · <Shown text={event.attemptId ?? event.nodeId} /></> : null} <span className="muted">{formatClock(event.at)}</span></> : <span className="muted">before the first event</span>}
        </span>
      </div>
      <div
        className="strip"
        ref={stripRef}
        data-testid="scrubber"
        role="slider"
        tabIndex={0}
        aria-label="trace position"
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={cursor}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
      >
        <canvas ref={canvasRef} />
        <div className="strip-cursor" style={{ left: `${pct}%` }} />
      </div>
    </div>
  );
}

/** Global keys: ←/→ step (Shift: by node), Space play/pause, Home/End. Ignored while typing in a field. */
export function useTimelineKeys(): void {
  const store = useStore();
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target;
      if (t instanceof Element && t.closest('input, textarea, select, [contenteditable="true"]')) return;
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      let handled = true;
      switch (e.key) {
        case 'ArrowRight':
          store.setState((s) => (e.shiftKey ? moves.stepNode(s, 1) : moves.step(s, 1)));
          break;
        case 'ArrowLeft':
          store.setState((s) => (e.shiftKey ? moves.stepNode(s, -1) : moves.step(s, -1)));
          break;
        case 'Home':
          store.setState((s) => moves.seek(s, 0));
          break;
        case 'End':
          store.setState((s) => moves.seek(s, s.model?.timeline.length ?? 0));
          break;
        case ' ':
          store.setState((s) => ({ playing: !s.playing }));
          break;
        default:
          handled = false;
      }
      if (handled) e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store]);
}
