// The recorder builds a trace event's JSON text from cached pieces (event-json.ts): it must be exactly what
// JSON.stringify gives for the same event, or lines would differ from what every reader re-serializes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { traceEvent, traceEventJson } from '../src/bundle/lifecycle-events.ts';
import type { UnsequencedEvent } from '../src/bundle/trace-writer.ts';

test('the JSON text built from cached pieces is JSON.stringify of the event, for every shape and string', () => {
  const ats = ['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.001Z'];
  const runIds = ['run-1', 'run "quoted" \\ é 🎉'];
  const ids = [
    ['n1', 'n1#1'],
    ['n1', 'n1#2'],
    ['n"2', 'n"2#1'],
    ['節点\u2028', '節点\u2028#1'],
  ];
  const payloads: object[] = [
    { nodeType: 'compute', attempt: 1 },
    { outcome: 'ok', durationMs: 3, output: { inline: { text: 'line\nbreak', list: [1, null, true], nested: { a: 'ü' } } } },
    { from: 'a', to: 'b', branch: { on: 'route', value: 'x' } },
    {},
  ];
  const types: Array<UnsequencedEvent['type']> = ['node.started', 'node.outcome', 'edge.taken', 'run.started', 'artifact.written'];
  let built = 0;
  for (const at of ats) {
    for (const runId of runIds) {
      // The same attempt several times in a row (the cache hit), then another one.
      for (const [nodeId, attemptId] of [...ids, ...ids]) {
        for (const type of types) {
          for (const payload of payloads) {
            for (const envelope of [{ nodeId, attemptId }, {}, { sessionId: 's1' }, { nodeId, attemptId, sessionId: 's1' }, { nodeId }]) {
              const event = traceEvent(at, runId, envelope, type, payload);
              const text = traceEventJson(event);
              if (text === undefined) continue;
              built++;
              assert.equal(text, JSON.stringify(event), `${type} ${JSON.stringify(envelope)}`);
            }
          }
        }
      }
    }
  }
  assert.ok(built > 500, `${built} texts built`);
});
