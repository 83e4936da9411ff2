/**
 * The trace event types this version of the format knows, without zod: the reducer, the diff model and the viewer's
 * first screen ask "is this type known?" for every event, and must not load the schemas to do it. events.ts builds
 * TRACE_EVENT_TYPES from its zod schemas; test/event-types.test.ts checks both lists are the same, in the same order.
 */
import type { TraceEventType } from './events.ts';

export const KNOWN_EVENT_TYPES = [
  'run.started',
  'run.waiting',
  'run.resumed',
  'run.completed',
  'run.failed',
  'run.timed_out',
  'run.cancelled',
  'node.started',
  'node.heartbeat',
  'node.outcome',
  'edge.taken',
  'session.bound',
  'session.failed',
  'session.usage',
  'acp.prompt_sent',
  'acp.turn_finished',
  'action.started',
  'action.completed',
  'artifact.written',
] as const satisfies readonly TraceEventType[];

const KNOWN = new Set<string>(KNOWN_EVENT_TYPES);

export function isKnownEventType(type: string): type is TraceEventType {
  return KNOWN.has(type);
}
