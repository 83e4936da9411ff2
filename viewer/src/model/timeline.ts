// The trace as a sequence of states. The reducer's state is persistent (structurally shared), so a checkpoint is
// kept every `every` events for the price of what changed, and the state after any number of events is at most
// `every - 1` folds away. The builder folds in place with a Projector (no copy per event) and takes a state from it
// at each checkpoint. A checkpoint is not free: the fold after it copies, once, each collection it touches — a long
// run's growing arrays (a session's attempt ids) included — so the count of checkpoints is bounded: past
// MAX_CHECKPOINTS every other one is dropped and the spacing doubles. A 1M-event trace then keeps ~500 states,
// each at most a few thousand in-place folds from any cursor. The last state asked for is remembered, so stepping
// forward costs one fold and stepping back at most one checkpoint's worth.
import { Projector, initialState, type ProjectionState, type ReducibleEvent } from '@flowtape/schema';

/**
 * The spacing of checkpoints while a trace is short. Each checkpoint makes the fold after it copy what it touches,
 * and at a spacing of 256 that doubled the cost of folding a trace as it loads (which is most of what loading
 * costs beyond parsing the lines). At 2048 it adds a few percent; the first step back into a stretch refolds it up
 * to the cursor once (keeping states FINE_EVERY apart on the way), the next steps fold at most FINE_EVERY - 1.
 */
export const CHECKPOINT_EVERY = 2048;
/** More checkpoints than this and the spacing doubles. */
export const MAX_CHECKPOINTS = 512;
/**
 * Within the stretch between two checkpoints the cursor was last moved in, a state is kept every FINE_EVERY events
 * (made on the way by the first refold), so stepping back through a widely spaced stretch folds at most this many.
 */
export const FINE_EVERY = 32;

export interface FoldFailure {
  index: number;
  message: string;
}

/** Builds the timeline incrementally (while streaming) and hands out immutable snapshots. */
export class TimelineBuilder {
  readonly events: ReducibleEvent[];
  readonly lines: number[];
  /** checkpoints[k] = state after k * every events. */
  private checkpoints: ProjectionState[];
  private every: number;
  readonly failures: FoldFailure[] = [];
  private readonly projector: Projector;
  private finished = false;

  /** `every`: the spacing to start with (tests use a small one to cross checkpoints with few events). */
  constructor(from?: Timeline, private readonly maxCheckpoints = MAX_CHECKPOINTS, every = CHECKPOINT_EVERY) {
    this.events = from ? from.events.slice() : [];
    this.lines = from ? from.lines.slice() : [];
    this.checkpoints = from ? from.checkpoints.slice() : [initialState()];
    this.every = from ? from.every : every;
    this.projector = new Projector(from ? from.final : initialState());
  }

  /** The state after every event pushed so far (immutable: the builder goes on from a copy of what it changes). */
  get state(): ProjectionState {
    return this.projector.state();
  }

  push(event: ReducibleEvent, line: number): void {
    if (this.finished) throw new Error('TimelineBuilder: push after finish()');
    try {
      this.projector.add(event);
    } catch (err) {
      // The Projector stays at the state before an event it cannot apply.
      this.failures.push({ index: this.events.length, message: err instanceof Error ? err.message : String(err) });
    }
    this.events.push(event);
    this.lines.push(line);
    if (this.events.length % this.every === 0) {
      this.checkpoints.push(this.projector.state());
      if (this.checkpoints.length > this.maxCheckpoints) {
        // Keep the even ones: checkpoint 2j, after 2j * every events, is checkpoint j at twice the spacing.
        this.checkpoints = this.checkpoints.filter((_, k) => k % 2 === 0);
        this.every *= 2;
      }
    }
  }

  /** The timeline so far, copied: the builder goes on pushing. */
  snapshot(): Timeline {
    return new Timeline(this.events.slice(), this.lines.slice(), this.checkpoints.slice(), this.projector.state(), this.every);
  }

  /**
   * The whole timeline, over the builder's own arrays (no copy: at the end of a load that copy was of every event,
   * line number and checkpoint). The builder must not be pushed to afterwards.
   */
  finish(): Timeline {
    this.finished = true;
    return new Timeline(this.events, this.lines, this.checkpoints, this.projector.state(), this.every);
  }
}

export class Timeline {
  private memo: { count: number; state: ProjectionState } | undefined;
  /** states[j] = state after base + j * FINE_EVERY events, for the stretch after checkpoint `base`. */
  private fine: { base: number; states: ProjectionState[] } | undefined;

  constructor(
    readonly events: readonly ReducibleEvent[],
    /** Line number in trace.ndjson of each event. */
    readonly lines: readonly number[],
    /** checkpoints[k] = state after k * every events. */
    readonly checkpoints: readonly ProjectionState[],
    /** The state after every event. */
    readonly final: ProjectionState,
    readonly every: number = CHECKPOINT_EVERY,
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
    const base = Math.floor(n / this.every) * this.every;
    let fine = this.fine;
    if (fine?.base !== base) this.fine = fine = { base, states: [this.checkpoints[base / this.every]!] };
    const near = Math.min(fine.states.length - 1, Math.floor((n - base) / FINE_EVERY));
    let from = base + near * FINE_EVERY;
    let state = fine.states[near]!;
    if (memo && memo.count <= n && memo.count >= from) {
      from = memo.count;
      state = memo.state;
    }
    if (from < n) {
      // In place from the nearest state (each collection copied once, not once per event), as the builder folded.
      const projector = new Projector(state);
      const states = fine.states;
      for (let i = from; i < n; i++) {
        try {
          projector.add(this.events[i]!);
        } catch {
          // The Projector stays at the state before an event it cannot apply (the builder reported it).
        }
        const k = (i + 1 - base) / FINE_EVERY;
        if (k === states.length) states.push(projector.state());
      }
      state = projector.state();
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
