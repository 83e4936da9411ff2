// The ordered batch queue under the trace writer (batcher.ts): a failure of a batch processed from inside push (a
// bounded batch) is reported like any other, never lost and never an unhandled rejection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SerialBatcher } from '../src/bundle/batcher.ts';

const bound = { sync: true, weigh: () => 1, bytes: 2, ms: 60_000 };

test('a bounded batch whose process throws fails the queue: flush rejects, later items are dropped to onError', async () => {
  const dropped: number[][] = [];
  const batcher = new SerialBatcher<number>(
    () => {
      throw new Error('disk full');
    },
    (_error, items) => dropped.push(items),
    bound,
  );
  batcher.push(1);
  batcher.push(2); // the bound: processed now, and it throws
  batcher.push(3); // after the failure: not queued
  await assert.rejects(batcher.flush(), /disk full/);
  assert.equal(batcher.error?.message, 'disk full');
  assert.deepEqual(dropped, [[]]);
});

test('a bounded synchronous batch whose process returns a rejecting promise fails the queue, with no unhandled rejection', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const processed: number[][] = [];
    const batcher = new SerialBatcher<number>(
      (items) => {
        processed.push(items);
        return Promise.reject(new Error('async write failed'));
      },
      () => {},
      bound,
    );
    batcher.push(1);
    batcher.push(2); // the bound: processed from inside push, which cannot wait for a promise
    await assert.rejects(batcher.flush(), /must be synchronous/);
    assert.deepEqual(processed, [[1, 2]], 'the batch was handed over once, and nothing after the failure');
    // Give a dangling rejection every chance to surface.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('an async process is awaited between batches, in push order', async () => {
  const seen: number[][] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const batcher = new SerialBatcher<number>(async (items) => {
    seen.push(items);
    if (seen.length === 1) await gate;
  });
  batcher.push(1);
  batcher.push(2);
  await new Promise((resolve) => setImmediate(resolve));
  batcher.push(3); // while the first batch waits: the next batch
  assert.deepEqual(seen, [[1, 2]]);
  release();
  await batcher.flush();
  assert.deepEqual(seen, [[1, 2], [3]]);
});
