/** A tiny builder of hand-written trace sequences for tests: seq and time advance by one per event. */
import { TraceEvent, type PayloadOf, type ReducibleEvent, type TraceEventType, scopeOf } from '../src/index.ts';

export function traceBuilder(runId = 'run-1', start = Date.parse('2026-01-01T00:00:00.000Z')) {
  const events: ReducibleEvent[] = [];
  let seq = 0;
  function push<T extends TraceEventType>(
    type: T,
    payload: PayloadOf<T>,
    scope: { nodeId?: string; attemptId?: string; sessionId?: string } = {},
  ) {
    seq++;
    // Validate every hand-written event, so the tests can only use events the schema accepts.
    const event = TraceEvent.parse({ seq, at: new Date(start + seq * 1000).toISOString(), runId, scope: scopeOf(type), type, ...scope, payload });
    events.push(event);
    return event;
  }
  const attempt = (nodeId: string, n: number) => ({ nodeId, attemptId: `${nodeId}#${n}` });
  return {
    events,
    push,
    attempt,
    unknown(type: string, payload: Record<string, unknown> = {}) {
      seq++;
      const event = { seq, at: new Date(start + seq * 1000).toISOString(), runId, scope: 'future', type, payload };
      events.push(event);
      return event;
    },
    /** node.started + node.outcome for a simple attempt. */
    node(nodeId: string, n: number, outcome: PayloadOf<'node.outcome'>['outcome'] = 'ok', output?: unknown) {
      push('node.started', { nodeType: 'compute', attempt: n }, attempt(nodeId, n));
      push('node.outcome', { outcome, durationMs: 1000, ...(output === undefined ? {} : { output: { inline: output as never } }) }, attempt(nodeId, n));
    },
  };
}
