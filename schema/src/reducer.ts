/**
 * The one reducer of flowtape: trace events → projections. It is pure — the next state depends only on the
 * previous state and the event, nothing is mutated, no clock or randomness is read — and it is used by the
 * recorder (to write projections), the viewer (the state at any cursor), `verify` (projections must equal the
 * fold of the trace) and `repair` (to rebuild them).
 *
 * The state is persistent (see persistent.ts): folding one event costs the same whatever the run's length,
 * and earlier states remain valid and share memory with later ones. A `Projector` folds many events in place —
 * the collections, the state object and the steps it made since it last handed out a state are changed rather
 * than copied — and hands out immutable states whenever asked; `reduce` and `project` are built on it.
 */
export type { NodeSummary, SessionSummary, ProjectionState, ReducibleEvent } from './reducer/state.ts';
export { initialState } from './reducer/state.ts';
export { Projector, reduce, project } from './reducer/projector.ts';
export { ENDED_STATUSES, successionProblem, advancePosition, type RunPosition } from './reducer/succession.ts';
export { edgeKey, edgeEnds } from './reducer/edge-key.ts';
export { nodeStatus, getStep, toRunProjection, toLiveProjection, toStepsProjection } from './reducer/render.ts';
