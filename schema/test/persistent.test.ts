import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppendList, PMap, PVec } from '../src/index.ts';

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

test('owner tokens: updates under one token change its own nodes in place, versions handed out before stay as they were', () => {
  const edit = {};
  let vec = PVec.empty<number>();
  let map = PMap.empty<number>();
  for (let i = 0; i < 5_000; i++) {
    vec = vec.push(i, edit);
    map = map.set(`k${i}`, i, edit);
  }
  const sameVec = vec.push(-1, edit);
  assert.equal(sameVec, vec, 'an owned vector is changed in place');
  const handedVec = vec;
  const handedMap = map;
  const later = {}; // a new token: what the old one made is shared now
  const vec2 = handedVec.set(10, -10, later).push(99, later);
  const map2 = handedMap.set('k10', -10, later).update('k11', (v) => (v ?? 0) * 100, later).set('new', 1, later);
  assert.notEqual(vec2, handedVec);
  assert.equal(handedVec.get(10), 10, 'the vector handed out is unchanged');
  assert.equal(handedVec.size, 5_001);
  assert.equal(vec2.get(10), -10);
  assert.equal(vec2.size, 5_002);
  assert.equal(handedMap.get('k10'), 10, 'the map handed out is unchanged');
  assert.equal(handedMap.get('k11'), 11);
  assert.equal(handedMap.has('new'), false);
  assert.deepEqual([map2.get('k10'), map2.get('k11'), map2.get('new'), map2.size], [-10, 1100, 1, 5_001]);
});

test('PMap.add refuses a key that is there, and an update that throws changes nothing', () => {
  const edit = {};
  let map = PMap.empty<number>();
  for (let i = 0; i < 300; i++) map = map.set(`k${i}`, i, edit);
  assert.equal(map.add('k5', 50, edit), undefined, 'k5 is there');
  assert.equal(map.get('k5'), 5);
  const added = map.add('fresh', 7, edit)!;
  assert.equal(added.get('fresh'), 7);
  assert.throws(() => added.update('k6', () => { throw new Error('no'); }, edit), /no/);
  assert.equal(added.get('k6'), 6, 'a throwing update left the value');
  assert.deepEqual([...added.keys()].slice(-2), ['k299', 'fresh']);
});

test('PMap: keys, values, entries, forEach and valueList walk every entry in insertion order, each version its own values', () => {
  const edit = {};
  let map = PMap.empty<number>();
  // 40,000 keys: the entries span many leaves and the trie grows two levels on the way.
  for (let i = 0; i < 40_000; i++) map = map.set(`key-${i}`, i, edit);
  const before = map;
  const later = {};
  const after = map.set('key-0', -1, later).update('key-39999', (v) => (v ?? 0) + 1, later).set('last', 7, later);
  const keys = Array.from({ length: 40_000 }, (_, i) => `key-${i}`);
  const values = Array.from({ length: 40_000 }, (_, i) => i);
  assert.deepEqual([...before.keys()], keys);
  assert.deepEqual([...before.values()], values);
  assert.deepEqual(before.valueList(), values);
  assert.deepEqual([...before.entries()].slice(0, 2), [['key-0', 0], ['key-1', 1]]);
  const afterValues = [-1, ...values.slice(1, -1), 40_000, 7];
  assert.deepEqual(after.valueList(), afterValues, 'a changed value stays in its place; a new key comes last');
  assert.deepEqual([...after.keys()], [...keys, 'last']);
  const seen: [string, number][] = [];
  after.forEach((value, key) => seen.push([key, value]));
  assert.deepEqual(seen, [...after.entries()]);
  assert.equal(seen.length, after.size);
  assert.deepEqual(PMap.empty<number>().valueList(), []);
});

/** FNV-1a, as the map hashes its keys: used to find two keys with one hash. */
function fnv(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

test('PMap: versions that grew apart from one version share its index and never see each other\'s keys', () => {
  // Two keys with the same 32-bit hash (found by the birthday bound in a few tens of thousands of tries).
  const seen = new Map<number, string>();
  let twins: [string, string] | undefined;
  for (let i = 0; !twins; i++) {
    const key = `t${i}`;
    const other = seen.get(fnv(key));
    if (other !== undefined) twins = [other, key];
    else seen.set(fnv(key), key);
  }
  const [first, second] = twins;
  let base = PMap.empty<number>();
  for (let i = 0; i < 100; i++) base = base.set(`k${i}`, i);
  // Each branch puts its own keys at the same places (200, 202, …), many enough to grow the shared index.
  const a = Array.from({ length: 3_000 }, (_, i) => `a${i}`).reduce((map, key, i) => map.set(key, i), base.set(first, -1));
  const b = Array.from({ length: 3_000 }, (_, i) => `b${i}`).reduce((map, key, i) => map.set(key, i), base.set(second, -2));
  assert.deepEqual([a.get(first), a.has(second), b.get(second), b.has(first)], [-1, false, -2, false]);
  assert.deepEqual([a.get('a2999'), a.has('b0'), b.get('b2999'), b.has('a0')], [2_999, false, 2_999, false]);
  assert.deepEqual([base.has(first), base.has('a0'), base.has('b0'), base.get('k99')], [false, false, false, 99]);
  // The same key at the same place again (an older state folded on with the same events), and both twins in one.
  const again = base.set(first, 7);
  assert.deepEqual([again.get(first), a.get(first)], [7, -1]);
  const both = a.set(second, -3);
  assert.deepEqual([both.get(first), both.get(second), both.size, a.has(second)], [-1, -3, 3_102, false]);
  assert.deepEqual([...both.keys()].slice(99, 102), ['k99', first, 'a0']);
});

test('AppendList: each version keeps its length; lists grown from empty or apart do not see each other', () => {
  const a = AppendList.empty<string>().append('a1').append('a2');
  const b = AppendList.empty<string>().append('b1');
  const a3 = a.append('a3');
  const again = a.append('a3'); // the same item again: shares the storage
  const apart = a.append('x'); // another item: its own copy
  assert.deepEqual([a.toArray(), b.toArray(), a3.toArray(), again.toArray(), apart.toArray()], [['a1', 'a2'], ['b1'], ['a1', 'a2', 'a3'], ['a1', 'a2', 'a3'], ['a1', 'a2', 'x']]);
  assert.deepEqual([a3.append('a4').get(3), apart.get(3), a.get(2), [...AppendList.of('z')], JSON.stringify(AppendList.of(1, 2))], ['a4', undefined, undefined, ['z'], '[1,2]']);
  assert.equal(AppendList.empty<number>().length, 0);
});

test('PMap.mapMemo: an entry unchanged since an earlier call (on any version) gets the object made then; changed, added or branched entries get new ones', () => {
  const made: string[] = [];
  const make = (value: number, key: string) => {
    made.push(key);
    return { key, value };
  };
  assert.deepEqual(PMap.empty<number>().mapMemo(make), []);
  let map = PMap.empty<number>();
  for (let i = 0; i < 100; i++) map = map.set(`k${i}`, i);
  const first = map.mapMemo(make);
  assert.equal(made.length, 100);
  assert.deepEqual(first.map((r) => r.value), [...map.values()]);
  const base = map;
  // A later version: one value changed, one key added; the other 99 results are the objects made before.
  map = map.set('k7', -7).set('new', 1);
  made.length = 0;
  const second = map.mapMemo(make);
  assert.deepEqual(made, ['k7', 'new']);
  assert.equal(second.length, 101);
  for (let i = 0; i < 100; i++) if (i !== 7) assert.equal(second[i], first[i], `entry ${i} reused`);
  assert.deepEqual(second[7], { key: 'k7', value: -7 });
  // A version that grew apart from `base` puts another key at the place of `new`: never the other branch's result.
  const branch = base.set('other', 2);
  made.length = 0;
  const third = branch.mapMemo(make);
  assert.deepEqual(made, ['k7', 'other'], 'k7 is back to 7 here, and place 100 holds another key');
  assert.deepEqual(third.map((r) => [r.key, r.value]), [...branch.entries()]);
  assert.deepEqual(base.mapMemo(make).map((r) => [r.key, r.value]), [...base.entries()]);
  // Another function: a memo of its own, nothing reused from the first one's.
  const other = map.mapMemo((value) => value * 2);
  assert.deepEqual(other, [...map.values()].map((v) => v * 2));
});
