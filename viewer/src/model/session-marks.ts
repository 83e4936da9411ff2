// Which part of each session's raw traffic the trace had reached at a cursor position (pure; used by the
// session tab to show the conversation as it was at the cursor).
import type { ReducibleEvent } from '@flowtape/schema';
import type { Timeline } from './timeline.ts';

/**
 * Per session, how far its raw events had got at each trace position: a prompt sent covers events up to its
 * request, a finished turn up to its last event. Built once per timeline; looked up by binary search.
 */
export class SessionMarks {
  private readonly marks = new Map<string, { at: number[]; seq: number[] }>();

  constructor(events: readonly ReducibleEvent[]) {
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (!e.sessionId) continue;
      let seq: number | undefined;
      if (e.type === 'acp.prompt_sent') seq = (e.payload as { sessionEventSeq?: number }).sessionEventSeq;
      else if (e.type === 'acp.turn_finished') seq = (e.payload as { sessionEvents?: { to?: number } }).sessionEvents?.to;
      if (typeof seq !== 'number') continue;
      let m = this.marks.get(e.sessionId);
      if (!m) this.marks.set(e.sessionId, (m = { at: [], seq: [] }));
      m.at.push(i);
      m.seq.push(Math.max(seq, m.seq.at(-1) ?? 0));
    }
  }

  static of(timeline: Timeline): SessionMarks {
    let cached = cache.get(timeline);
    if (!cached) cache.set(timeline, (cached = new SessionMarks(timeline.events)));
    return cached;
  }

  /** The last session event seq covered after `count` trace events (0 when the session had not begun). */
  watermark(sessionId: string, count: number): number {
    const m = this.marks.get(sessionId);
    if (!m) return 0;
    let lo = 0;
    let hi = m.at.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (m.at[mid]! < count) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : m.seq[lo - 1]!;
  }
}

const cache = new WeakMap<Timeline, SessionMarks>();
