// Playback controls and the scrubber. The strip is drawn once per model on a canvas (one tick per attempt,
// coloured by node; failures in red); the cursor is a positioned element, so stepping repaints nothing big.
import { useCallback, useEffect, useRef } from 'react';
import { moves, SPEEDS } from '../model/store.ts';
import { useStore, useView } from './store-context.tsx';
import { formatClock, formatCount } from './format.ts';
import { drawStripWhenIdle } from './strip.ts';
import { Shown } from './Shown.tsx';

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

  // Drawn in idle time (strip.ts): the strip is a guide, the controls work without it.
  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || model.loading) return;
    let cancel: (() => void) | undefined;
    // The observer fires once on observe(), which draws the first time; a resize starts the drawing over.
    const ro = new ResizeObserver(() => {
      cancel?.();
      cancel = drawStripWhenIdle(canvas, model.timeline.events);
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
