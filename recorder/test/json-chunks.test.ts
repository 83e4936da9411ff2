// Projections serialized in chunks (json-chunks.ts) are byte for byte what JSON.stringify writes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { writeJsonChunks } from '../src/bundle/json-chunks.ts';

const chunked = (value: object) => {
  const chunks: string[] = [];
  writeJsonChunks(value, (chunk) => chunks.push(chunk));
  return chunks;
};

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
  const chunks = chunked(value);
  assert.ok(chunks.length > 1, `written in more than one chunk (${chunks.length})`);
  assert.ok(Math.max(...chunks.map((c) => c.length)) < 131_072, "every chunk stays below V8's large-object size");
  assert.equal(chunks.join(''), `${JSON.stringify(value)}\n`);
});

test('small and empty projections come out as JSON.stringify writes them', () => {
  for (const value of [{}, { a: [] }, { a: undefined }, { a: 1, b: undefined, c: [undefined] }, { nested: { steps: Array.from({ length: 400 }, () => 1) } }]) {
    assert.equal(chunked(value).join(''), `${JSON.stringify(value)}\n`);
  }
});
