// Pure helpers of the compare page and the run list: turn alignment by key (the diff engine's, in the schema: an
// inserted or removed turn does not shift the others), the compare page's turns with the engine's differences, and the
// run list's query in the address bar (read back as written; junk falls back).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConversationEntry } from '@flowtape/schema';
import { alignByKey, turnPointer, type Difference } from '@flowtape/schema/diff';
import { compareTurns } from '../src/model/compare.ts';
import { defaultRunQuery, runQueryFromSearch, runQuerySearch } from '../src/model/run-list.ts';

test('no two turns share a pointer: a turn only b has is b<n>, counted in b; the others are counted in a', () => {
  // b inserted a turn at 1: a's turn 1 is b's turn 2. An --ignore of one must never hide the other.
  const pointers = [{ a: 0, b: 0 }, { b: 1 }, { a: 1, b: 2 }, { a: 2 }].map((pair) => turnPointer('/sessions/main', pair));
  assert.deepEqual(pointers, ['/sessions/main/turns/0', '/sessions/main/turns/b1', '/sessions/main/turns/1', '/sessions/main/turns/2']);
});

const pairs = (a: string[], b: string[]) => alignByKey(a, b).map((p) => `${p.a === undefined ? '-' : a[p.a]}|${p.b === undefined ? '-' : b[p.b]}`);

test('alignByKey: an inserted item stands alone and the items after it stay paired with their own', () => {
  assert.deepEqual(pairs(['p1', 'p2', 'p3'], ['p1', 'px', 'p2', 'p3']), ['p1|p1', '-|px', 'p2|p2', 'p3|p3']);
  assert.deepEqual(pairs(['p1', 'px', 'p2'], ['p1', 'p2']), ['p1|p1', 'px|-', 'p2|p2']);
});

test('alignByKey: a reworded item between two matches is paired (one changed turn), extras left on their side', () => {
  assert.deepEqual(pairs(['p1', 'old', 'p3'], ['p1', 'new', 'p3']), ['p1|p1', 'old|new', 'p3|p3']);
  assert.deepEqual(pairs(['p1', 'x'], ['p1', 'y', 'z']), ['p1|p1', 'x|y', '-|z']);
  assert.deepEqual(pairs([], ['a']), ['-|a']);
  assert.deepEqual(pairs([], []), []);
});

test('alignByKey: repeated keys pair in order', () => {
  assert.deepEqual(pairs(['go', 'go', 'stop'], ['go', 'stop']), ['go|go', 'go|-', 'stop|stop']);
});

const user = (text: string, attemptId = 'ask#1') => ({ index: 0, role: 'user', text, content: [], attemptId }) as ConversationEntry;
const agent = (text: string, attemptId = 'ask#1') => ({ index: 0, role: 'agent', text, content: [], attemptId }) as ConversationEntry;

test('alignByKey: long conversations: the common head and tail pair first; a huge differing middle pairs in order', () => {
  const long = Array.from({ length: 20_000 }, (_, i) => `p${i}`);
  const inserted = [...long.slice(0, 12_345), 'px', ...long.slice(12_345)];
  const rows = alignByKey(long, inserted);
  assert.equal(rows.length, 20_001);
  assert.deepEqual(rows.filter((r) => r.a === undefined || r.b === undefined), [{ b: 12_345 }]);
  assert.deepEqual(rows.at(-1), { a: 19_999, b: 20_000 });
  // 3,000 × 3,000 turns with no prompt in common: no 9-million-cell table, the middle is paired in order.
  const other = Array.from({ length: 3_000 }, (_, i) => `q${i}`);
  const middle = alignByKey(['same', ...long.slice(0, 3_000)], ['same', ...other, 'extra']);
  assert.equal(middle.length, 3_002);
  assert.deepEqual([middle[0], middle[1], middle.at(-1)], [{ a: 0, b: 0 }, { a: 1, b: 1 }, { b: 3_001 }]);
});

test('compareTurns: the engine\'s turns and paths; an inserted turn stands alone, a changed entry names its fields', () => {
  const a = [user('read'), agent('3 tasks'), user('sum up'), agent('build'), user('first?'), agent('build')];
  const b = [user('read'), agent('3 tasks'), user('changelog?', 'ask#2'), agent('up to date', 'ask#2'), user('sum up'), agent('BUILD'), user('first?'), agent('build')];
  // What the engine reports for this pair: one added turn (b's turn 1), one changed entry in a's turn 1 (b's turn 2).
  const differences: Difference[] = [
    { section: 'session', session: 'main', kind: 'added', path: '/sessions/main/turns/b1', b: 'changelog?' },
    { section: 'session', session: 'main', kind: 'changed', path: '/sessions/main/turns/1/messages/1/text', a: 'build', b: 'BUILD' },
  ];
  const same = (v: unknown) => v;
  const turns = compareTurns({ a, b }, { a: same, b: same }, differences, '/sessions/main');
  assert.deepEqual(turns.map((t) => [t.a, t.b, t.only]), [[0, 0, ''], [undefined, 1, 'b'], [1, 2, ''], [2, 3, '']]);
  assert.deepEqual(turns.map((t) => t.rows.map((r) => r.changed)), [[false, false], [true, true], [false, true], [false, false]]);
  assert.deepEqual(turns[2]!.rows[1]!.fields, ['/text']);
  // One attempt: only the turns it took part in, and in them only its entries.
  const second = compareTurns({ a, b }, { a: same, b: same }, differences, '/sessions/main', 'ask#2');
  assert.deepEqual(second.map((t) => [t.a, t.b, t.rows.length]), [[undefined, 1, 2]]);
  // The prompts are compared as normalised, per side.
  const upper = compareTurns({ a, b: b.map((e) => ({ ...e, text: (e as { text: string }).text.toUpperCase() }) as ConversationEntry) }, { a: (v) => String(v).toUpperCase(), b: same }, [], '/sessions/main');
  assert.equal(upper.filter((t) => t.only === '').length, 3);
});

test('the run list query round-trips through the address bar, keeping other parameters and dropping defaults', () => {
  const q = { sort: 'duration' as const, dir: 'asc' as const, status: 'failed', flow: 'nightly & build', text: 'ECONN reset?' };
  const search = runQuerySearch(q, '?other=1');
  assert.deepEqual(runQueryFromSearch(search), q);
  assert.equal(new URLSearchParams(search).get('other'), '1');
  assert.equal(runQuerySearch(defaultRunQuery, ''), '');
  assert.equal(runQuerySearch(defaultRunQuery, '?sort=flow&q=x&keep=y'), '?keep=y');
});

test('the run list query ignores values it does not know', () => {
  assert.deepEqual(runQueryFromSearch('?sort=nonsense&dir=sideways'), defaultRunQuery);
});

test('the waterfall window zooms around its anchor and stays inside the run', async () => {
  const { zoomWindow, panWindow } = await import('../src/model/waterfall.ts');
  assert.deepEqual(zoomWindow({ fromMs: 0, toMs: 100 }, 100, 0.5, 50), { fromMs: 25, toMs: 75 });
  assert.deepEqual(zoomWindow({ fromMs: 0, toMs: 100 }, 100, 0.5, 0), { fromMs: 0, toMs: 50 });
  assert.deepEqual(zoomWindow({ fromMs: 25, toMs: 75 }, 100, 4), { fromMs: 0, toMs: 100 });
  assert.deepEqual(zoomWindow({ fromMs: 0, toMs: 2 }, 100, 0.01), { fromMs: 0.5, toMs: 1.5 });
  assert.deepEqual(panWindow({ fromMs: 10, toMs: 30 }, 100, -50), { fromMs: 0, toMs: 20 });
  assert.deepEqual(panWindow({ fromMs: 10, toMs: 30 }, 100, 500), { fromMs: 80, toMs: 100 });
});

test('the waterfall window round-trips through its URL parameter; junk and the whole run give none', async () => {
  const { windowFromParam, windowParam } = await import('../src/model/waterfall.ts');
  assert.equal(windowParam({ fromMs: 0, toMs: 100 }, 100), undefined);
  assert.equal(windowParam({ fromMs: 12.5, toMs: 20.25 }, 100), '12.5-20.25');
  assert.deepEqual(windowFromParam('12.5-20.25', 100), { fromMs: 12.5, toMs: 20.25 });
  assert.deepEqual(windowFromParam('90-400', 100), { fromMs: 0, toMs: 100 });
  for (const junk of [null, '', 'abc', '20-10', '5-5', '-3-4']) assert.equal(windowFromParam(junk, 100), undefined, String(junk));
});
