import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readNdjson, parseNdjsonText, readTrace, type NdjsonIssue, type ReadIssue } from '../src/index.ts';

async function collect<T>(iter: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iter) out.push(item);
  return out;
}

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

test('streams lines split across chunks, including a multi-byte character cut in half', async () => {
  const bytes = new TextEncoder().encode('{"a":"h\u00e9llo \u{1F600}"}\n{"b":2}\r\n\n{"c":3}\n');
  const chunks = [];
  for (let i = 0; i < bytes.length; i += 3) chunks.push(bytes.slice(i, i + 3));
  const issues: NdjsonIssue[] = [];
  const lines = await collect(readNdjson(streamOf(chunks), { onIssue: (i) => issues.push(i) }));
  assert.deepEqual(lines.map((l) => [l.line, l.value]), [[1, { a: 'h\u00e9llo \u{1F600}' }], [2, { b: 2 }], [4, { c: 3 }]]);
  assert.deepEqual(issues, []);
});

test('a torn final line is reported with its line number, not thrown; complete lines are all kept', async () => {
  const issues: NdjsonIssue[] = [];
  const lines = await collect(readNdjson(['{"a":1}\n{"b":2}\n{"c":', '3'], { file: 'trace.ndjson', onIssue: (i) => issues.push(i) }));
  assert.deepEqual(lines.map((l) => l.value), [{ a: 1 }, { b: 2 }]);
  assert.deepEqual(issues, [{ line: 3, problem: 'torn_tail', message: 'trace.ndjson:3: torn last line (6 characters without a newline): the writer stopped mid-append' }]);
});

test('a final line without newline that is valid JSON is kept', async () => {
  const lines = await collect(readNdjson(['{"a":1}\n{"b":2}']));
  assert.deepEqual(lines.map((l) => l.value), [{ a: 1 }, { b: 2 }]);
});

test('a broken line in the middle is reported and reading goes on', () => {
  const issues: NdjsonIssue[] = [];
  const lines = parseNdjsonText('{"a":1}\nnot json\n{"b":2}\n', { file: 'x.ndjson', onIssue: (i) => issues.push(i) });
  assert.deepEqual(lines.map((l) => l.value), [{ a: 1 }, { b: 2 }]);
  assert.equal(issues.length, 1);
  assert.equal(issues[0]?.problem, 'invalid_json');
  assert.match(issues[0]!.message, /^x\.ndjson:2: not valid JSON \(/);
});

test('readTrace validates events, passes unknown types through and reports gaps and bad payloads', async () => {
  const at = '2026-01-01T00:00:00.000Z';
  const line = (o: object) => JSON.stringify({ at, runId: 'r', ...o }) + '\n';
  const text =
    line({ seq: 1, scope: 'run', type: 'run.started', payload: { flowName: 'f' } }) +
    line({ seq: 2, scope: 'x', type: 'x.future', payload: { anything: [1] } }) +
    line({ seq: 3, scope: 'node', type: 'node.started', nodeId: 'a', attemptId: 'a#1', payload: { nodeType: 'compute', attempt: 'one' } }) +
    line({ seq: 5, scope: 'run', type: 'run.completed', payload: { durationMs: 1 } }) +
    '{"seq":6,';
  const issues: ReadIssue[] = [];
  const events = await collect(readTrace([text], { onIssue: (i) => issues.push(i) }));
  assert.deepEqual(events.map((e) => [e.line, e.event.type, e.known]), [[1, 'run.started', true], [2, 'x.future', false], [4, 'run.completed', true]]);
  assert.deepEqual(issues.map((i) => [i.problem, i.message]), [
    ['invalid_event', 'trace.ndjson:3: /payload/attempt: Invalid input: expected number, received string'],
    ['seq_gap', 'trace.ndjson:4: seq 5 where 3 was expected'],
    ['torn_tail', 'trace.ndjson:5: torn last line (9 characters without a newline): the writer stopped mid-append'],
  ]);
});
