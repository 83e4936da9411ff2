// A batch of trace lines is bounded in bytes and in time (SPEC.md, "Writing discipline"): a runtime that never
// yields to the event loop must not keep the whole run in memory, where a crash would lose all of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TRACE_BATCH_BYTES, TRACE_BATCH_MS, type UnsequencedEvent } from '../src/bundle/trace-writer.ts';
import { plainTraceWriter, tempDir } from './recorder-support.ts';

const started = { at: '2026-01-01T00:00:00.000Z', runId: 'r', scope: 'run', type: 'run.started', payload: { flowName: 'f' } } as UnsequencedEvent;
const node = (i: number) =>
  ({ at: '2026-01-01T00:00:00.000Z', runId: 'r', nodeId: `n${i}`, attemptId: `n${i}#1`, scope: 'node', type: 'node.started', payload: { nodeType: 'compute', attempt: 1, input: { inline: 'x'.repeat(200) } } }) as UnsequencedEvent;

test('a batch that reaches the byte bound is written at once, before the event loop turns', async () => {
  const temp = await tempDir();
  const dir = temp.path;
  const trace = plainTraceWriter(dir);
  trace.append(started);
  let queued = 0;
  for (let i = 0; queued < 2 * TRACE_BATCH_BYTES; i++) {
    const event = node(i);
    queued += JSON.stringify(event).length;
    trace.append(event);
  }
  // Still in the same synchronous burst: the bound wrote at least one batch (on disk, whole lines).
  const size = statSync(join(dir, 'trace.ndjson')).size;
  assert.ok(size >= TRACE_BATCH_BYTES, `${size} bytes on disk before the loop turned`);
  assert.equal(readFileSync(join(dir, 'trace.ndjson'), 'utf8').at(-1), '\n', 'a batch is whole lines');
  await trace.close();
  const lines = readFileSync(join(dir, 'trace.ndjson'), 'utf8').trimEnd().split('\n');
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { seq: number }).seq), lines.map((_, i) => i + 1), 'seqs contiguous across the batches');
  await temp.remove();
});

test('a batch whose first line has waited the time bound is written with the next line', async () => {
  const temp = await tempDir();
  const dir = temp.path;
  const trace = plainTraceWriter(dir);
  trace.append(started);
  const until = performance.now() + TRACE_BATCH_MS + 20;
  while (performance.now() < until) {
    // a node computing without yielding
  }
  trace.append(node(1));
  assert.equal(readFileSync(join(dir, 'trace.ndjson'), 'utf8').trimEnd().split('\n').length, 2, 'both lines on disk, before the loop turned');
  await trace.close();
  await temp.remove();
});
