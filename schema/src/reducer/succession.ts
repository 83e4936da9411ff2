/** The succession rule of a run's events (SPEC.md, "The end of a run"). */
import type { RunStatus } from '../common.ts';

/** The statuses a terminal event (`run.completed`, `run.failed`, `run.timed_out`, `run.cancelled`) leaves. */
export const ENDED_STATUSES: ReadonlySet<RunStatus> = new Set<RunStatus>(['completed', 'failed', 'timed_out', 'cancelled']);

/** Where a run is, as far as the succession rule is concerned (a ProjectionState is one). */
export interface RunPosition {
  readonly status: RunStatus;
  readonly waitingAt?: string;
}

/**
 * The succession rule (SPEC.md, "The end of a run"): nothing may follow a terminal event; only `run.resumed`
 * naming the same checkpoint may follow `run.waiting`; `run.resumed` follows nothing else. Applies to every line,
 * including event types this reader does not know. Returns why `event` may not come next, or undefined.
 */
export function successionProblem(position: RunPosition, event: { type: string; payload?: unknown }): string | undefined {
  const { status } = position;
  if (ENDED_STATUSES.has(status)) return `${event.type} after the run ended (${status}): nothing may follow a terminal event`;
  if (status === 'waiting') {
    if (event.type !== 'run.resumed') {
      return `${event.type} while the run waits at checkpoint "${position.waitingAt}": only run.resumed may follow run.waiting`;
    }
    const checkpoint = (event.payload as { checkpoint?: unknown } | undefined)?.checkpoint;
    if (checkpoint !== position.waitingAt) return `run.resumed at ${JSON.stringify(checkpoint)} while the run waits at checkpoint "${position.waitingAt}"`;
    return undefined;
  }
  if (event.type === 'run.resumed') return `run.resumed while the run is ${status}: only a run waiting at a checkpoint resumes`;
  return undefined;
}

/** The position after `event` (what `reduce` does to `status` and `waitingAt`, without the rest of the fold). */
export function advancePosition(position: RunPosition, event: { type: string; payload?: unknown }): RunPosition {
  switch (event.type) {
    case 'run.started':
    case 'run.resumed':
      return { status: 'running' };
    case 'run.waiting':
      return { status: 'waiting', waitingAt: String((event.payload as { checkpoint?: unknown } | undefined)?.checkpoint) };
    case 'run.completed':
      return { status: 'completed' };
    case 'run.failed':
      return { status: 'failed' };
    case 'run.timed_out':
      return { status: 'timed_out' };
    case 'run.cancelled':
      return { status: 'cancelled' };
    default:
      return position;
  }
}
