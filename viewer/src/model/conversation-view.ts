// The session tab's view of one conversation at a cursor, indexed once per conversation so a cursor step costs a
// binary search, not a pass over every entry: a long run's session has 100k+ entries, and filtering them, finding
// the highlighted slice and re-measuring the list on each step made the tab the slowest place to step through.
import type { ConversationEntry, Step } from '@flowtape/schema';

/** Whether an entry belongs to the selected attempt's slice of the conversation. */
export function inSlice(entry: ConversationEntry, step: Step | undefined): boolean {
  if (!step) return false;
  if (entry.attemptId !== undefined) return entry.attemptId === step.attemptId;
  return step.turns.some((t) => t.messages && entry.index >= t.messages.from && entry.index <= t.messages.to);
}

/** The entries shown at a watermark: `entries[0..count)`. */
export interface VisibleEntries {
  readonly entries: readonly ConversationEntry[];
  readonly count: number;
}

const fromOf = (e: ConversationEntry) => e.sessionEvents?.from ?? 0;

/** First k in [lo, hi) with key(k) > value (keys ascending). */
function upperBound(lo: number, hi: number, key: (k: number) => number, value: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(mid) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class ConversationView {
  /** Entries come in the order their first session event was recorded (the builder appends): a prefix is visible. */
  private readonly ordered: boolean;
  /** `index` ascends with position, so a turn's message range is found by binary search. */
  private readonly indexOrdered: boolean;
  /** Position of the first entry of each attempt. */
  private readonly firstOfAttempt = new Map<string, number>();

  private constructor(readonly messages: readonly ConversationEntry[]) {
    let ordered = true;
    let indexOrdered = true;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (i > 0 && fromOf(m) < fromOf(messages[i - 1]!)) ordered = false;
      if (i > 0 && m.index <= messages[i - 1]!.index) indexOrdered = false;
      if (m.attemptId !== undefined && !this.firstOfAttempt.has(m.attemptId)) this.firstOfAttempt.set(m.attemptId, i);
    }
    this.ordered = ordered;
    this.indexOrdered = indexOrdered;
  }

  static of(messages: readonly ConversationEntry[]): ConversationView {
    let view = cache.get(messages);
    if (!view) cache.set(messages, (view = new ConversationView(messages)));
    return view;
  }

  /** The entries whose first session event the trace had reached (all of them at Infinity). */
  visible(watermark: number): VisibleEntries {
    const all = this.messages;
    if (watermark === Infinity) return { entries: all, count: all.length };
    if (this.ordered) return { entries: all, count: upperBound(0, all.length, (k) => fromOf(all[k]!), watermark) };
    // Out of order (not what the builder writes): filter, as before the index.
    const entries = all.filter((m) => fromOf(m) <= watermark);
    return { entries, count: entries.length };
  }

  /** Position in `shown` of the first entry of the step's slice, or -1. */
  firstInSlice(shown: VisibleEntries, step: Step | undefined): number {
    if (!step) return -1;
    if (shown.entries !== this.messages || !this.indexOrdered) {
      for (let i = 0; i < shown.count; i++) if (inSlice(shown.entries[i]!, step)) return i;
      return -1;
    }
    const all = this.messages;
    let first = this.firstOfAttempt.get(step.attemptId) ?? -1;
    // Entries without an attempt id belong to a slice through the turns' message ranges.
    for (const t of step.turns) {
      if (!t.messages) continue;
      const stop = first === -1 ? shown.count : Math.min(first, shown.count);
      for (let i = upperBound(0, stop, (k) => all[k]!.index, t.messages.from - 1); i < stop && all[i]!.index <= t.messages.to; i++) {
        if (all[i]!.attemptId === undefined) {
          first = i;
          break;
        }
      }
    }
    return first < shown.count ? first : -1;
  }
}

const cache = new WeakMap<readonly ConversationEntry[], ConversationView>();
