import { test } from 'node:test';
import assert from 'node:assert/strict';
import { edgeEnds, edgeKey, project, toRunProjection } from '../src/index.ts';
import { traceBuilder } from './events.ts';

test('edgeKey and edgeEnds: ends come back as they went in, and an id holding an arrow is cut as split() cuts it', () => {
  for (const [from, to] of [['a', 'b'], ['', 'x'], ['n 1', 'n-2'], ['ünïcode', '🙂']]) {
    assert.deepEqual(edgeEnds(edgeKey(from!, to!)), { from, to });
  }
  const key = edgeKey('a\u2192b', 'c');
  const [from, to] = key.split('\u2192');
  assert.deepEqual(edgeEnds(key), { from, to });
  assert.deepEqual(edgeEnds('no arrow'), { from: 'no arrow', to: undefined });
});

test('the reducer counts edges under edgeKey, and run.json renders them back to their ends', () => {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'f', input: { inline: {} } });
  t.node('a', 1);
  t.push('edge.taken', { from: 'a', to: 'b' }, t.attempt('a', 1));
  t.node('b', 1);
  t.push('edge.taken', { from: 'b', to: 'a' }, t.attempt('b', 1));
  t.node('a', 2);
  t.push('edge.taken', { from: 'a', to: 'b' }, t.attempt('a', 2));
  const state = project(t.events);
  assert.deepEqual([...state.edges.keys()].sort(), [edgeKey('a', 'b'), edgeKey('b', 'a')]);
  assert.equal(state.edges.get(edgeKey('a', 'b')), 2);
  assert.deepEqual(toRunProjection(state).edges, [
    { from: 'a', to: 'b', count: 2 },
    { from: 'b', to: 'a', count: 1 },
  ]);
});
