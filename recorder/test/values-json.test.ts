// jsonText (values.ts) tries plain JSON.stringify first and falls back to the BigInt-aware replacer only when it
// throws: the text must be what the replacer version always gave.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonText } from '../src/bundle/values.ts';

test('jsonText: plain values as JSON.stringify, BigInts as strings, cycles as a clear text', () => {
  const plain = { a: [1, 'x', null, true], b: { c: 1.5 }, d: undefined };
  assert.equal(jsonText(plain), JSON.stringify(plain));
  assert.equal(jsonText({ n: 12345678901234567890n, list: [1n] }), '{"n":"12345678901234567890","list":["1"]}');
  assert.equal(jsonText(7n), '"7"');
  assert.equal(jsonText(undefined), undefined);
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  assert.match(jsonText(cycle)!, /^"\[unserializable value: .*circular/i);
});
