// The payloads of a compute node's events are written from their fields (event-json.ts) and the output's text is the
// value encoder's (values.ts): each text must be exactly JSON.stringify of the payload the fold gets, or a trace line
// would differ from what every reader re-serializes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { edgePayloadJson, outcomePayloadJson, startedPayloadJson } from '../src/bundle/event-json.ts';
import { ValueEncoder } from '../src/bundle/values.ts';

const strings = ['compute', 'ok', 'n1', '', 'n"2', 'a\\b', '節点\u2028', 'tab\tnew\nline', '\ud800 lone', 'é 🎉', '__proto__'];
const numbers = [0, 1, 2, 17, 1234567, 0.5, 1e21, 1e-7, -0, -3, Number.MAX_SAFE_INTEGER];
const outputs: unknown[] = [
  { i: 1, seed: 1 },
  { text: 'line\nbreak', list: [1, null, true], nested: { a: 'ü' } },
  { b: 1, 2: 'two', 1: 'one', a: [] },
  JSON.parse('{"__proto__": {"x": 1}, "y": 2}'),
  [1, undefined, () => 1, 'x'],
  { skipped: undefined, fn: () => 1, kept: 0 },
  { when: new Date(0), big: 10n },
  { ratio: 1 / 3, huge: 1e300, tiny: 5e-324, neg: -0 },
  { text: '\ud800\udc00 \udfff \u0000 \u001f "' },
  42,
  null,
  true,
  [],
  {},
];

test('node.started, node.outcome and edge.taken payload texts are JSON.stringify of the payload', () => {
  for (const a of strings) {
    for (const n of numbers) {
      assert.equal(startedPayloadJson(a, n), JSON.stringify({ nodeType: a, attempt: n }));
      assert.equal(outcomePayloadJson(a, n, ''), JSON.stringify({ outcome: a, durationMs: n }));
    }
    for (const b of strings) assert.equal(edgePayloadJson(a, b), JSON.stringify({ from: a, to: b }));
  }
});

test('a field of another type than the runtime gives is left to JSON.stringify (no text)', () => {
  for (const odd of [Number.NaN, Number.POSITIVE_INFINITY, undefined, '1', null]) {
    assert.equal(startedPayloadJson('compute', odd), undefined);
    assert.equal(outcomePayloadJson('ok', odd, ''), undefined);
  }
  assert.equal(startedPayloadJson(undefined, 1), undefined);
  assert.equal(outcomePayloadJson(3, 1, ''), undefined);
  assert.equal(edgePayloadJson('a', undefined), undefined);
  assert.equal(edgePayloadJson(1, 'b'), undefined);
});

test("the value encoder's text of an inline value is JSON.stringify of the ref it returns, and of the outcome holding it", () => {
  const store = { put: () => assert.fail('nothing goes to an artifact here') } as never;
  const encoder = new ValueEncoder(store, (text) => text, 2048, () => {});
  for (const value of outputs) {
    const ref = encoder.value(value, 'output');
    assert.ok(ref && 'inline' in ref, JSON.stringify(ref));
    assert.equal(encoder.lastRefJson, JSON.stringify(ref));
    assert.equal(outcomePayloadJson('ok', 3, encoder.lastRefJson!), JSON.stringify({ outcome: 'ok', durationMs: 3, output: ref }));
  }
});

test('no text when the ref is not the plain inline value: redacted, an artifact, a string, nothing', () => {
  // A redaction that changes the text: its result need not be what JSON.stringify writes, so the ref is serialized.
  const redacting = new ValueEncoder({} as never, (text) => text.replace('secret', '\\u0041'), 2048, () => {});
  assert.deepEqual(redacting.value({ key: 'secret' }, 'output'), { inline: { key: 'A' } });
  assert.equal(redacting.lastRefJson, undefined);
  const stored: string[] = [];
  const store = { put: (text: string) => (stored.push(text), { path: 'artifacts/x', sha256: 'x', bytes: text.length, mediaType: 'application/json' }) } as never;
  const encoder = new ValueEncoder(store, (text) => text, 16, () => {});
  encoder.value({ small: 1 }, 'output');
  assert.equal(encoder.lastRefJson, '{"inline":{"small":1}}');
  encoder.value({ large: 'x'.repeat(100) }, 'output');
  assert.equal(stored.length, 1);
  assert.equal(encoder.lastRefJson, undefined, 'an artifact ref');
  encoder.value({ small: 1 }, 'output');
  encoder.value('text', 'output');
  assert.equal(encoder.lastRefJson, undefined, 'a string');
  encoder.value({ small: 1 }, 'output');
  encoder.value(undefined, 'output');
  assert.equal(encoder.lastRefJson, undefined, 'no value');
});
