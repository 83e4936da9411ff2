// The trace as a sequence of states. The reducer's state is persistent (structurally shared), so a checkpoint is
// kept every CHECKPOINT_EVERY events for the price of what changed, and the state after any number of events
// is at most CHECKPOINT_EVERY - 1 folds away. The builder folds in place with a Projector (no copy per event)
// and takes a state from it at each checkpoint. The last state asked for is remembered, so stepping forward costs
// one fold and stepping back at most one checkpoint's worth.
import { Projector, initialState, reduce, type ProjectionState, type ReducibleEvent } from '@flowtape/schema';

export const CHECKPOINT_EVERY = 256;

export interface FoldFailure {
  index: number;
  message: string;
}

/** Applies one event, never throwing: an event the reducer cannot apply leaves the state unchanged. */
export function safeReduce(state: ProjectionState, event: ReducibleEvent): ProjectionState | Error {
  try {
    return reduce(state, event);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** Builds the timeline incrementally (while streaming) and hands out immutable snapshots. */
export class TimelineBuilder {
  readonly events: ReducibleEvent[];
  readonly lines: number[];
  readonly checkpoints: ProjectionState[];
  readonly failures: FoldFailure[] = [];
  private readonly projector: Projector;

  constructor(from?: Timeline) {
    this.events = from ? from.events.slice() : [];
    this.lines = from ? from.lines.slice() : [];
    this.checkpoints = from ? from.checkpoints.slice() : [initialState()];
    this.projector = new Projector(from ? from.final : initialState());
  }

  /** The state after every event pushed so far (immutable: the builder goes on from a copy of what it changes). */
  get state(): ProjectionState {
    return this.projector.state();
  }

  push(event: ReducibleEvent, line: number): void {
    try {
      this.projector.add(event);
    } catch (err) {
      // The Projector stays at the state before an event it cannot apply.
      this.failures.push({ index: this.events.length, message: err instanceof Error ? err.message : String(err) });
    }
    this.events.push(event);
    this.lines.push(line);
    if (this.events.length % CHECKPOINT_EVERY === 0) this.checkpoints.push(this.projector.state());
  }

  snapshot(): Timeline {
    return new Timeline(this.events.slice(), this.lines.slice(), this.checkpoints.slice(), this.projector.state());
  }
}

export class Timeline {
  private memo: { count: number; state: ProjectionState } | undefined;

  constructor(
    readonly events: readonly ReducibleEvent[],
    /** Line number in trace.ndjson of each event. */
    readonly lines: readonly number[],
    /** checkpoints[k] = state after k * CHECKPOINT_EVERY events. */
    readonly checkpoints: readonly ProjectionState[],
    /** The state after every event. */
    readonly final: ProjectionState,
  ) {}

  static empty(): Timeline {
    return new Timeline([], [], [initialState()], initialState());
  }

  get length(): number {
    return this.events.length;
  }

  /** The state after the first `count` events (0 = before the run started). */
  stateAt(count: number): ProjectionState {
    const n = Math.max(0, Math.min(count, this.events.length));
    if (n === this.events.length) return this.final;
    const memo = this.memo;
    let from = Math.floor(n / CHECKPOINT_EVERY) * CHECKPOINT_EVERY;
    let state = this.checkpoints[from / CHECKPOINT_EVERY]!;
    if (memo && memo.count <= n && memo.count >= from) {
      from = memo.count;
      state = memo.state;
    }
    for (let i = from; i < n; i++) {
      const next = safeReduce(state, this.events[i]!);
      if (!(next instanceof Error)) state = next;
    }
    this.memo = { count: n, state };
    return state;
  }

  /** Cursor (event count) for a trace seq: everything up to and including the last event with seq ≤ `seq`. */
  countForSeq(seq: number): number {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid]!.seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
