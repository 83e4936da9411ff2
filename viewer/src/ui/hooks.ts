// View-model hooks: pure helpers over the model, evaluated at the cursor.
import type { ProjectionState, Step } from '@flowtape/schema';
import type { Timeline } from '../model/timeline.ts';
import type { ViewState } from '../model/store.ts';
import { useView } from './store-context.tsx';

export function cursorState(s: ViewState): ProjectionState | undefined {
  return s.model?.timeline.stateAt(s.cursor);
}

export function useCursorState(): ProjectionState {
  return useView((s) => cursorState(s)!);
}

const attemptIndexCache = new WeakMap<Timeline, Map<string, number[]>>();

/** Indexes into `steps` of every attempt of each node (steps are only ever appended, so indexes are stable). */
export function attemptIndex(timeline: Timeline): Map<string, number[]> {
  let index = attemptIndexCache.get(timeline);
  if (!index) {
    index = new Map();
    let i = 0;
    for (const step of timeline.final.steps) {
      const list = index.get(step.nodeId);
      if (list) list.push(i);
      else index.set(step.nodeId, [i]);
      i++;
    }
    attemptIndexCache.set(timeline, index);
  }
  return index;
}

/** The attempts of a node that had started by this state. */
/**
 * The attempts of one node at a cursor, read on demand: the step list is a persistent vector, and a node of a long
 * run can have thousands of attempts of which the inspector shows at most nine, so building the whole list on every
 * step of the cursor cost milliseconds at 1M events.
 */
export interface NodeAttempts {
  readonly length: number;
  /** The k-th attempt (0 ≤ k < length). */
  at(k: number): Step;
  /** Where an attempt is in this list; -1 when it is not an attempt of this node at this cursor. */
  indexOf(attemptId: string | undefined): number;
}

/** First k with sorted[k] ≥ value. */
function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function attemptsAt(timeline: Timeline, state: ProjectionState, nodeId: string): NodeAttempts {
  const indexes = attemptIndex(timeline).get(nodeId) ?? [];
  // Steps are only appended, so the attempts started by this cursor are a prefix of the node's indexes.
  const length = lowerBound(indexes, state.steps.size);
  return {
    length,
    at: (k) => state.steps.get(indexes[k]!)!,
    indexOf(attemptId) {
      const i = attemptId === undefined ? undefined : state.stepIndex.get(attemptId);
      if (i === undefined) return -1;
      const k = lowerBound(indexes, i);
      return k < length && indexes[k] === i ? k : -1;
    },
  };
}

export interface Focus {
  nodeId?: string;
  attemptId?: string;
  /** The node was picked by the user (not just followed from the cursor). */
  pinned: boolean;
}

/** Which node and attempt the inspector shows: the pinned ones, or those of the event at the cursor. */
export function focusOf(s: ViewState): Focus {
  const model = s.model;
  if (!model) return { pinned: false };
  const state = model.timeline.stateAt(s.cursor);
  const current = s.cursor > 0 ? model.timeline.events[s.cursor - 1] : undefined;
  const nodeId = s.node ?? current?.nodeId ?? state.steps.last()?.nodeId;
  if (!nodeId) return { pinned: false };
  let attemptId: string | undefined;
  if (s.attempt && state.stepIndex.has(s.attempt) && state.steps.get(state.stepIndex.get(s.attempt)!)?.nodeId === nodeId) {
    attemptId = s.attempt;
  } else if (current?.nodeId === nodeId && current.attemptId && state.stepIndex.has(current.attemptId)) {
    attemptId = current.attemptId;
  } else {
    attemptId = state.nodes.get(nodeId)?.lastAttemptId;
  }
  return { nodeId, attemptId, pinned: s.node !== undefined };
}

let lastFocus: Focus = { pinned: false };
function stableFocus(s: ViewState): Focus {
  const f = focusOf(s);
  if (f.nodeId === lastFocus.nodeId && f.attemptId === lastFocus.attemptId && f.pinned === lastFocus.pinned) return lastFocus;
  lastFocus = f;
  return f;
}

export function useFocusNode(): Focus {
  return useView(stableFocus);
}
