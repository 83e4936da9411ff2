// A node the run never started reads "not run" once the run is over at the cursor, and "pending" before (found from
// the outside: the branch not taken showed "pending" on a completed run, as if it were still to come).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { project, type ReducibleEvent } from '@flowtape/schema';
import { nodeOverlay } from '../src/model/graph-view.ts';

const trace = readFileSync(new URL('../../samples/shell-routing/bundle/trace.ndjson', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as ReducibleEvent);

test('nodeOverlay: notRun only for a node never started, once the run is over at the cursor', () => {
  const end = project(trace);
  assert.equal(end.status, 'completed');
  assert.equal(nodeOverlay(end, 'ship', undefined).notRun, true, 'the branch not taken');
  assert.equal(nodeOverlay(end, 'build', undefined).notRun, false);
  assert.equal(nodeOverlay(end, 'diagnose', undefined).notRun, false);
  // Before the end (the last event is run.completed): the same node may still come.
  const before = project(trace.slice(0, -1));
  assert.equal(before.status, 'running');
  assert.equal(nodeOverlay(before, 'ship', undefined).notRun, false);
});
