// The recorder gives a trace event's JSON text in cached pieces (event-json.ts): joined, they must be exactly what
// JSON.stringify gives for the same event, or lines would differ from what every reader re-serializes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appendTraceEvent, traceEvent } from '../src/bundle/trace-events.ts';
import { compute, defineFlow, record, steppingClock } from '../src/index.ts';
import { tempDir } from './recorder-support.ts';
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
              let text: string | undefined;
              appendTraceEvent(
                {
                  append: () => {},
                  appendInParts: (_event, head, ids, typePart, payloadJson) => (text = head + ids + typePart + payloadJson + '}'),
                },
                event,
              );
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

test('a run recorded without redaction (events in pieces) writes the bytes of one whose hook changes nothing (whole texts)', async () => {
  const temp = await tempDir();
  const flow = defineFlow({
    name: 'pieces',
    startAt: 'a',
    nodes: {
      a: compute({ run: () => ({ text: 'é ✓ 漢字 🎉 "q" \\ \n', big: 'x'.repeat(5000) }) }),
      '節点"b': compute({ run: ({ input }) => ({ route: 'left', seen: input }) }),
      left: compute({ run: () => { throw new Error('boom ü'); } }),
    },
    edges: [
      { from: 'a', to: '節点"b' },
      { from: '節点"b', switch: { on: '$.route', cases: { left: 'left' } } },
    ],
  });
  const traces: string[] = [];
  for (const redact of [false, (text: string) => text] as const) {
    const bundleDir = join(temp.path, `b${traces.length}`);
    await record(flow, { seed: 1 }, { cwd: temp.path, bundleDir, runId: 'run-1', clock: steppingClock(), recorder: { redact } });
    traces.push(readFileSync(join(bundleDir, 'trace.ndjson'), 'utf8'));
  }
  assert.ok(traces[0]!.includes('"type":"node.outcome"') && traces[0]!.includes('artifact.written'), traces[0]);
  assert.equal(traces[0], traces[1]);
  await temp.remove();
});
