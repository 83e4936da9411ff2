// Pure helpers of the compare page and the run list: turn alignment by key (an inserted or removed turn does not
// shift the others) and the run list's query in the address bar (read back as written; junk falls back).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alignByKey } from '../src/model/compare.ts';
import { defaultRunQuery, runQueryFromSearch, runQuerySearch } from '../src/model/run-list.ts';

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
