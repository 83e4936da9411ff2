// The timeline's strip: one tick per attempt start (coloured by node), failed attempts in red, run-level events as a
// grey foot, drawn on a canvas once per model. It is a guide, not a control: it is drawn in the page's idle time, a
// slice of events per idle period, so a key pressed as the whole trace appears is answered before this pass over
// every event, and a large trace never blocks input while it is drawn.
import type { ReducibleEvent } from '@flowtape/schema';
import { hue } from './format.ts';

/** At the latest this long after it was asked for, each slice runs even if the page never idles. */
const IDLE_TIMEOUT_MS = 500;
/** Events gathered between two looks at the idle deadline. */
const SLICE = 4096;

/** Runs `fn` in the page's idle time (input and frames first), within `timeout` ms at the latest. */
function whenIdle(fn: (deadline?: IdleDeadline) => void, timeout: number): () => void {
  if (typeof requestIdleCallback === 'function') {
    const id = requestIdleCallback(fn, { timeout });
    return () => cancelIdleCallback(id);
  }
  const id = setTimeout(fn, 0);
  return () => clearTimeout(id);
}

/**
 * The marks per pixel column: the first node start in a column, whether an attempt failed in it, whether a run-level
 * event is in it. Gathered a slice at a time, then drawn one colour at a time (a few thousand rectangles for any
 * trace, not one fill style per event).
 */
class StripMarks {
  readonly startOf: Array<string | undefined>;
  readonly failed: Uint8Array;
  readonly marked: Uint8Array;
  private next = 0;

  constructor(private readonly events: readonly ReducibleEvent[], private readonly width: number) {
    const cols = Math.max(1, Math.ceil(width));
    this.startOf = new Array<string | undefined>(cols);
    this.failed = new Uint8Array(cols);
    this.marked = new Uint8Array(cols);
  }

  get done(): boolean {
    return this.next >= this.events.length;
  }

  /** Gathers the next `count` events. */
  gather(count: number): void {
    const { events, width, startOf, failed, marked } = this;
    const n = events.length;
    const last = startOf.length - 1;
    const end = Math.min(n, this.next + count);
    for (let i = this.next; i < end; i++) {
      const e = events[i]!;
      const col = Math.min(last, Math.floor((i / n) * width));
      if (e.type === 'node.started') {
        if (startOf[col] === undefined) startOf[col] = e.nodeId ?? '';
      } else if (e.type === 'node.outcome') {
        if ((e.payload as { outcome?: string }).outcome !== 'ok') failed[col] = 1;
      } else if (e.scope === 'run' || !e.type.includes('.')) {
        marked[col] = 1;
      }
    }
    this.next = end;
  }

  draw(ctx: CanvasRenderingContext2D, height: number): void {
    const byNode = new Map<string, number[]>();
    this.startOf.forEach((node, col) => {
      if (node === undefined) return;
      const cols = byNode.get(node);
      if (cols) cols.push(col);
      else byNode.set(node, [col]);
    });
    for (const [node, cols] of byNode) {
      ctx.fillStyle = `hsl(${hue(node)} 55% 55%)`;
      for (const col of cols) ctx.fillRect(col, 4, 1.5, height - 8);
    }
    ctx.fillStyle = '#d9363e'; // failures are drawn over the starts
    this.failed.forEach((f, col) => { if (f) ctx.fillRect(col, 0, 2, height); });
    ctx.fillStyle = '#888'; // readable on the light and the dark strip
    this.marked.forEach((m, col) => { if (m) ctx.fillRect(col, height - 4, 2, 4); });
  }
}

/** Draws the strip of `events` on `canvas` in idle time; returns a function that stops a drawing not yet done. */
export function drawStripWhenIdle(canvas: HTMLCanvasElement, events: readonly ReducibleEvent[]): () => void {
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  const marks = new StripMarks(events, width);
  let cancel: (() => void) | undefined;
  const slice = (deadline?: IdleDeadline) => {
    // Without a deadline (no requestIdleCallback, or the timeout passed) everything left is gathered at once.
    do marks.gather(SLICE);
    while (!marks.done && (!deadline || deadline.didTimeout || deadline.timeRemaining() > 1));
    if (!marks.done) {
      cancel = whenIdle(slice, IDLE_TIMEOUT_MS);
      return;
    }
    cancel = undefined;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(width * dpr));
    canvas.height = Math.max(1, Math.round(height * dpr));
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.scale(dpr, dpr);
    ctx.clearRect(0, 0, width, height);
    if (events.length > 0) marks.draw(ctx, height);
  };
  cancel = whenIdle(slice, IDLE_TIMEOUT_MS);
  return () => cancel?.();
}
