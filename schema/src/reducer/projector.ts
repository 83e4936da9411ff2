/**
 * Folding events in place and handing out immutable states (see ../reducer.ts): the Projector, and `reduce` and
 * `project` built on it.
 */
import type { Edit } from '../persistent.ts';
import type { TraceEvent } from '../events.ts';
import type { Step, Turn } from '../projections.ts';
import { step } from './fold.ts';
import { initialState, type Draft, type NodeSummary, type ProjectionState, type ReducibleEvent, type SessionSummary } from './state.ts';

/** The state after `event`. Pure: `state` and everything in it stay as they were. */
export function reduce(state: ProjectionState, event: ReducibleEvent): ProjectionState {
  return new Projector(state).add(event).state();
}

/** Folds a whole trace. */
export function project(events: Iterable<ReducibleEvent>, from: ProjectionState = initialState()): ProjectionState {
  const projector = new Projector(from);
  // An array by index: its iterator's result objects were a tenth of a compute fold's garbage.
  if (Array.isArray(events)) for (let i = 0; i < events.length; i++) projector.add(events[i] as ReducibleEvent);
  else for (const event of events) projector.add(event);
  return projector.state();
}

/**
 * Folds events one by one, as `reduce` would, without copying what it changes: what it made since it last handed
 * out a state is changed in place. `state()` hands out the state so far, which never changes afterwards (the next
 * `add` copies what it touches once). An event the reducer cannot apply (a malformed line) throws, and leaves the
 * Projector at the state before it, as `reduce` leaves its input.
 */
export class Projector {
  private draft: Draft;
  /** Owner token of what this Projector may change in place; replaced when a state is handed out. */
  private edit: Edit;
  /** Whether `draft` itself is this Projector's (not handed out). */
  private owned = false;
  /** Steps at this index and above were made (or copied) since the last hand-out: they may be changed in place. */
  private ownedStepsFrom = Infinity;
  /** Other steps copied since the last hand-out. */
  private ownedSteps: Set<number> | undefined;
  /** The node summary made last since the last hand-out: changed in place by the events of its attempt. */
  private node: NodeSummary | undefined;
  /** The session summary made last since the last hand-out: its turns' usage changes it in place. */
  private session: SessionSummary | undefined;
  /** The turns array made last since the last hand-out (a step's, made or copied since): grown in place. */
  private turns: Turn[] | undefined;

  constructor(from: ProjectionState = initialState()) {
    this.draft = from as Draft;
    this.edit = {};
  }

  /** Folds `event` into the state. */
  add(event: ReducibleEvent): this {
    if (!foldsInPlace(event)) return this.addCarefully(event);
    if (!this.owned) {
      this.draft = { ...this.draft };
      this.owned = true;
    }
    step(this, this.draft, event);
    return this;
  }

  /** The seq of the last event folded (without handing out the state). */
  get seq(): number {
    return this.draft.seq;
  }

  /**
   * The state so far, to read at once: unlike `state()` it hands nothing out, so it changes with the next `add`.
   * Keep or share it only through `state()`.
   */
  peek(): ProjectionState {
    return this.draft;
  }

  /** The state so far: immutable from now on. */
  state(): ProjectionState {
    if (this.owned) {
      this.owned = false;
      this.edit = {};
      this.ownedStepsFrom = Infinity;
      this.ownedSteps = undefined;
      this.node = undefined;
      this.session = undefined;
      this.turns = undefined;
    }
    return this.draft;
  }

  /** An event that may throw half-way: everything it touches is copied, so the state before it stays whole. */
  private addCarefully(event: ReducibleEvent): this {
    const before = this.state();
    try {
      this.draft = { ...before };
      this.owned = true;
      step(this, this.draft, event);
    } catch (err) {
      this.draft = before as Draft;
      this.state();
      throw err;
    }
    return this;
  }

  /** @internal The owner token for the collections of the state being built. */
  get token(): Edit {
    return this.edit;
  }

  /** @internal Step `index` of the draft, to change in place (copied first when it was handed out). */
  ownStep(next: Draft, index: number): Step {
    const current = next.steps.get(index)!;
    if (index >= this.ownedStepsFrom || this.ownedSteps?.has(index)) return current;
    const copy = { ...current };
    next.steps = next.steps.set(index, copy, this.edit);
    (this.ownedSteps ??= new Set()).add(index);
    return copy;
  }

  /** @internal Records `summary`, just made and put in the draft's nodes, as the one to change in place. */
  ownNode(summary: NodeSummary): NodeSummary {
    this.node = summary;
    return summary;
  }

  /**
   * @internal Node `nodeId`'s summary in the draft, to change in place, when it is the one this Projector made last
   * since the last hand-out (every change to a summary goes through ownNode or this). An attempt's outcome and usage
   * thus change the summary its start made, without a look-up or a new summary.
   */
  ownedNode(nodeId: string): { -readonly [K in keyof NodeSummary]: NodeSummary[K] } | undefined {
    return this.node !== undefined && this.node.nodeId === nodeId ? this.node : undefined;
  }

  /** @internal Records `summary`, just made and put in the draft's sessions, as the one to change in place. */
  ownSession(summary: SessionSummary): SessionSummary {
    this.session = summary;
    return summary;
  }

  /**
   * @internal Session `sessionId`'s summary in the draft, to change in place, when it is the one this Projector made
   * last since the last hand-out (every change to a session summary goes through ownSession or this): a shared
   * session's turns then add their usage without a new summary each.
   */
  ownedSession(sessionId: string): { -readonly [K in keyof SessionSummary]: SessionSummary[K] } | undefined {
    return this.session !== undefined && this.session.sessionId === sessionId ? this.session : undefined;
  }

  /**
   * @internal `turns`, to grow in place, when it is the array this Projector made last since the last hand-out
   * (every new turns array goes through ownTurns): such an array is in one step only, made or copied since then.
   * Else undefined, and the caller copies it.
   */
  ownedTurns(turns: readonly Turn[]): Turn[] | undefined {
    return turns === this.turns ? this.turns : undefined;
  }

  /** @internal Records `turns`, just made for a step this Projector owns, as the one to grow in place. */
  ownTurns(turns: Turn[]): Turn[] {
    this.turns = turns;
    return turns;
  }

  /** @internal Appends a step the Projector owns. */
  pushStep(next: Draft, created: Step): void {
    if (this.ownedStepsFrom === Infinity) this.ownedStepsFrom = next.steps.size;
    next.steps = next.steps.push(created, this.edit);
  }
}

/**
 * Whether `event` has the shape the fold reads without throwing (every line a reader accepted has it). Any other
 * event is folded carefully: a reducer case reading a missing payload throws part-way.
 */
function foldsInPlace(event: ReducibleEvent): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const { seq, type, payload, attemptId, nodeId, sessionId } = event as Partial<TraceEvent>;
  if (typeof seq !== 'number' || typeof type !== 'string' || typeof payload !== 'object' || payload === null) return false;
  if ((attemptId !== undefined && typeof attemptId !== 'string') || (nodeId !== undefined && typeof nodeId !== 'string')) return false;
  if (sessionId !== undefined && typeof sessionId !== 'string') return false;
  if (type === 'acp.turn_finished') {
    const range = (payload as { sessionEvents?: unknown }).sessionEvents;
    if (typeof range !== 'object' || range === null) return false;
  }
  return true;
}
