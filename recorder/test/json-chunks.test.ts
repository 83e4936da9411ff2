// Projections serialized in chunks (json-chunks.ts) are byte for byte what JSON.stringify writes.
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeJsonChunks, type PreviousVersion } from '../src/bundle/json-chunks.ts';
import { tempDir } from './recorder-support.ts';

/** The chunks handed out (copied: the writer reuses its buffers), and their concatenation as text. */
const chunked = (value: object) => {
  const chunks: Buffer[] = [];
  writeJsonChunks(value, (chunk) => chunks.push(Buffer.from(chunk)));
  return { chunks, text: Buffer.concat(chunks).toString('utf8') };
};


/**
 * Writes each version to its own file, the previous file open for its unchanged slices as snapshots.ts does;
 * asserts each file is JSON.stringify of its version, and returns the bytes copied from previous files.
 */
function writeVersions(dir: string, versions: readonly object[]): number {
  let previous: PreviousVersion | undefined;
  let copied = 0;
  for (const [n, value] of versions.entries()) {
    const path = join(dir, `v${n}.json`);
    const fd = openSync(path, 'w');
    const layout = writeJsonChunks(
      value,
      (chunk, fromPrevious) => {
        if (fromPrevious) copied += chunk.byteLength;
        writeSync(fd, chunk);
      },
      previous,
    );
    closeSync(fd);
    if (previous) closeSync(previous.fd);
    assert.equal(readFileSync(path, 'utf8'), `${JSON.stringify(value)}\n`, `version ${n}`);
    previous = { layout, fd: openSync(path, 'r') };
  }
  if (previous) closeSync(previous.fd);
  return copied;
}

test('a projection with long top-level arrays is written in chunks, and their concatenation is JSON.stringify of it', () => {
  const steps = Array.from({ length: 5000 }, (_, i) => ({
    attemptId: `n${i}#1`,
    status: i % 7 === 0 ? undefined : 'ok',
    output: { inline: { i, text: 'é\u2028"\\'.repeat(i % 5), list: [1, undefined, null] } },
    ...(i % 11 === 0 ? { fn: () => i } : {}),
  }));
  const value = {
    schema: 'flowtape.steps.v1',
    seq: 15000,
    runId: undefined,
    steps: [...steps, undefined, () => 1],
    tail: [1, 2, 3],
    big: Array.from({ length: 300 }, (_, i) => i),
    last: 'x',
  };
  const { chunks, text } = chunked(value);
  assert.ok(chunks.length > 1, `written in more than one chunk (${chunks.length})`);
  assert.ok(Math.max(...chunks.map((c) => c.byteLength)) < 131_072, 'every chunk stays small (a few write calls, none of a whole file)');
  assert.equal(text, `${JSON.stringify(value)}\n`);
});

test('small and empty projections come out as JSON.stringify writes them', () => {
  for (const value of [{}, { a: [] }, { a: undefined }, { a: 1, b: undefined, c: [undefined] }, { nested: { steps: Array.from({ length: 400 }, () => 1) } }]) {
    assert.equal(chunked(value).text, `${JSON.stringify(value)}\n`);
  }
});

test('given its previous version, a file copies the slices whose elements are the same objects, and is still JSON.stringify of the value', async () => {
  const temp = await tempDir();
  try {
    const make = (i: number, tag = '') => ({ attemptId: `n${i}#1`, tag, text: 'é\u2028"'.repeat(i % 4), list: [i, undefined] });
    const steps = Array.from({ length: 1000 }, (_, i) => make(i));
    const edges = Array.from({ length: 300 }, (_, i) => ({ from: `n${i}`, to: `n${i + 1}` }));
    const versions = [
      { seq: 1, steps, edges },
      // An element changed mid-array, some appended, the edges as they were, a field added before the arrays.
      { seq: 22, extra: 'x', steps: [...steps.slice(0, 500), make(500, 'changed'), ...steps.slice(501), make(1000), make(1001)], edges },
      // Shorter (the last slice cut), an element changed in the first slice, the edges gone.
      { seq: 333, steps: [make(0, 'first'), ...steps.slice(1, 990)] },
      // Again the objects of the last version (its copied slices' offsets were derived, not measured).
      { seq: 4444, steps: [make(0, 'first'), ...steps.slice(1, 990), make(990)] },
    ];
    const copied = writeVersions(temp.path, versions);
    assert.ok(copied > 100_000, `${copied} bytes copied`);
  } finally {
    await temp.remove();
  }
});

test('slices larger than the encoding buffer (it grows), copied or serialized again, still make JSON.stringify of the value', async () => {
  // 32 elements of 12,000 characters (some of 3 UTF-8 bytes each) are one slice of ~1 MB: past the buffer's first size.
  const big = (i: number, tag = '') => ({ attemptId: `n${i}#1`, tag, text: (i % 3 === 0 ? '\u2028' : 'a').repeat(12_000) });
  const steps = Array.from({ length: 300 }, (_, i) => big(i));
  const versions = [
    { seq: 1, steps },
    { seq: 2, steps: [...steps.slice(0, 40), big(40, 'changed'), ...steps.slice(41), big(300)] },
    { seq: 3, steps: [big(0, 'first'), ...steps.slice(1, 40), big(40, 'changed'), ...steps.slice(41), big(300)] },
  ];
  const temp = await tempDir();
  try {
    const copied = writeVersions(temp.path, versions);
    assert.ok(copied > 1_000_000, `${copied} bytes copied`);
  } finally {
    await temp.remove();
  }
});
