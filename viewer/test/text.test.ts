// The viewer's pure text helpers: bidi controls become visible tokens (and nothing else changes), and JSON is
// written to a depth limit with a marker instead of throwing on a value nested 100,000 levels deep.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { revealBidi, splitBidi } from '../src/ui/bidi.ts';
import { formatCount, json, jsonLine, MAX_JSON_DEPTH } from '../src/ui/format.ts';

test('every bidi control is revealed as a token; letters, RTL script and other text are untouched', () => {
  assert.equal(revealBidi('g\u202Enp.exe'), 'g⟨U+202E⟩np.exe');
  const controls = '\u061C\u200E\u200F\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069';
  assert.equal(revealBidi(controls), [...controls].map((c) => `⟨U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`).join(''));
  for (const plain of ['', 'plain ascii', 'שלום עולם', 'مرحبا', 'tab\tand\nnewline', '⟨U+202E⟩ already escaped']) {
    assert.equal(revealBidi(plain), plain);
  }
  assert.deepEqual(splitBidi('a\u2067b\u2069c'), ['a', '\u2067', 'b', '\u2069', 'c']);
});

test('json matches JSON.stringify for ordinary values', () => {
  const v = { a: [1, 'two', null, { b: true }], c: { d: { e: 1.5 } }, u: undefined };
  assert.equal(json(v), JSON.stringify(v, null, 2));
  assert.equal(jsonLine(v), JSON.stringify(v));
  assert.equal(json('text'), '"text"');
  // The same object twice (not a cycle) is written twice, at each depth.
  const shared = { x: 1 };
  assert.equal(jsonLine({ p: shared, q: [shared] }), '{"p":{"x":1},"q":[{"x":1}]}');
});

test('a value 100,000 levels deep is written to the depth limit with a marker, never thrown or [object Object]', () => {
  const levels = 100_000;
  const deep = JSON.parse('['.repeat(levels) + ']'.repeat(levels)) as unknown;
  assert.throws(() => JSON.stringify(deep), RangeError, 'the platform itself cannot');
  const text = jsonLine(deep);
  assert.equal(text, `${'['.repeat(MAX_JSON_DEPTH)}"… ${(levels - MAX_JSON_DEPTH).toLocaleString('en-US')} deeper levels not shown (depth limit ${MAX_JSON_DEPTH})"${']'.repeat(MAX_JSON_DEPTH)}`);
  const pretty = json({ payload: { value: deep } });
  assert.ok(!pretty.includes('[object Object]'));
  assert.match(pretty, /"… 99,938 deeper levels not shown \(depth limit 64\)"/);
  // A cycle cannot be JSON at all: said plainly.
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.match(json(cyclic), /^\(this value cannot be shown as JSON: /);
});

test('formatCount groups thousands as en-US toLocaleString does, without ICU', () => {
  const nf = new Intl.NumberFormat('en-US');
  for (const n of [0, 7, 999, 1000, 1001, 12_345, 100_000, 999_999, 1_000_000, 1_234_567_890, -1, -1000, -123_456]) {
    assert.equal(formatCount(n), nf.format(n), String(n));
  }
  assert.equal(formatCount(1.5), '1.5');
});
