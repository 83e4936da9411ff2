import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PMap, PVec } from '../src/index.ts';

test('PVec: push, get and set across trie levels, old versions unchanged', () => {
  let vec = PVec.empty<number>();
  const versions: PVec<number>[] = [];
  for (let i = 0; i < 40_000; i++) {
    vec = vec.push(i * 2);
    if (i === 31 || i === 32 || i === 1023 || i === 1024 || i === 32_767) versions.push(vec);
  }
  assert.equal(vec.size, 40_000);
  for (const i of [0, 31, 32, 1023, 1024, 32_767, 32_768, 39_999]) assert.equal(vec.get(i), i * 2);
  assert.equal(vec.get(40_000), undefined);
  assert.equal(vec.get(-1), undefined);
  const changed = vec.set(32_768, -1);
  assert.equal(changed.get(32_768), -1);
  assert.equal(vec.get(32_768), 65_536, 'the original is untouched');
  assert.deepEqual(versions.map((v) => [v.size, v.last()]), [[32, 62], [33, 64], [1024, 2046], [1025, 2048], [32_768, 65_534]]);
  assert.deepEqual(PVec.from([1, 2, 3]).toArray(), [1, 2, 3]);
  assert.throws(() => vec.set(40_000, 1), RangeError);
});

test('PMap: insertion order, updates in place of order, old versions unchanged, colliding buckets', () => {
  let map = PMap.empty<number>();
  for (let i = 0; i < 20_000; i++) map = map.set(`node-${i}`, i);
  const before = map;
  map = map.set('node-5', -5).update('node-6', (v) => (v ?? 0) * 10).set('new', 1);
  assert.equal(map.size, 20_001);
  assert.equal(before.size, 20_000);
  assert.equal(map.get('node-5'), -5);
  assert.equal(before.get('node-5'), 5);
  assert.equal(map.get('node-6'), 60);
  assert.equal(map.has('new'), true);
  assert.equal(before.has('new'), false);
  assert.equal(map.get('missing'), undefined);
  assert.deepEqual([...map.keys()].slice(0, 3), ['node-0', 'node-1', 'node-2']);
  assert.equal([...map.keys()].at(-1), 'new');
  // 20k keys in 2^20 buckets: some buckets hold several keys; every key must still be found.
  for (let i = 0; i < 20_000; i += 97) assert.equal(before.get(`node-${i}`), i);
  assert.deepEqual([...PMap.empty<string>().set('a', 'x').entries()], [['a', 'x']]);
});
