// A snapshot copies, from the projection files this writer wrote last, the slices of steps and nodes that did not
// change (json-chunks.ts): every snapshot must still be the projection of its state, byte for byte, and a file that
// is no longer the one written last (another file at the path) must never be copied from.
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BUNDLE_FILES, Projector, toLiveProjection, toRunProjection, toStepsProjection, type ProjectionState, type ReducibleEvent } from '@flowtape/schema';
import { Snapshots, type SnapshotSource } from '../src/bundle/snapshots.ts';
import { tempDir } from './recorder-support.ts';

/** The events of a chain of compute nodes n0…n{count-1}, from seq 1 (run.started). */
function* chainEvents(count: number): Generator<ReducibleEvent> {
  const at = '2026-01-01T00:00:00.000Z';
  const runId = 'run-1';
  let seq = 0;
  const event = (type: string, payload: object, nodeId?: string): ReducibleEvent =>
    ({ seq: ++seq, at, runId, ...(nodeId ? { nodeId, attemptId: `${nodeId}#1` } : {}), scope: type.slice(0, type.indexOf('.')), type, payload }) as unknown as ReducibleEvent;
  yield event('run.started', { flowName: 'chain' });
  for (let i = 0; i < count; i++) {
    const nodeId = `n${i}`;
    yield event('node.started', { nodeType: 'compute', attempt: 1 }, nodeId);
    yield event('node.outcome', { outcome: 'ok', durationMs: i % 3, output: { inline: { i, text: 'é\u2028"'.repeat(i % 4) } } }, nodeId);
    if (i + 1 < count) yield event('edge.taken', { from: nodeId, to: `n${i + 1}` }, nodeId);
  }
}

test('snapshots after more events, one at a path another file took, and the final one: each is the projection of its state', async () => {
  const temp = await tempDir();
  try {
    mkdirSync(join(temp.path, 'projections'));
    const source: SnapshotSource = {
      bundleDir: temp.path,
      deterministic: false,
      shared: false,
      sessions: { values: () => [] } as unknown as SnapshotSource['sessions'],
      lastAt: '2026-01-01T00:00:00.000Z',
      checked: new Set(),
      manifest: (state) => ({ seq: state.seq }) as never,
    };
    const snapshots = new Snapshots(source, { task: () => Promise.resolve(), fail: (error) => assert.fail(String(error)) }, 1000);
    const read = (path: string) => readFileSync(join(temp.path, path), 'utf8');
    const check = (state: ProjectionState, when: string) => {
      assert.equal(read(BUNDLE_FILES.run), `${JSON.stringify(toRunProjection(state))}\n`, `run.json ${when}`);
      assert.equal(read(BUNDLE_FILES.live), `${JSON.stringify(toLiveProjection(state))}\n`, `live.json ${when}`);
      assert.equal(read(BUNDLE_FILES.steps), `${JSON.stringify(toStepsProjection(state))}\n`, `steps.json ${when}`);
    };
    const projector = new Projector();
    const events = chainEvents(1500);
    const foldUpTo = (seq: number) => {
      while (projector.seq < seq) {
        const next = events.next();
        if (next.done) break;
        projector.add(next.value);
      }
      return projector.state();
    };
    for (const seq of [900, 1800, 1801, 2700]) {
      const state = foldUpTo(seq);
      snapshots.write(state, false);
      check(state, `at seq ${seq}`);
    }
    // Another file now at steps.json and run.json (same length, other bytes): the next snapshot must serialize again.
    for (const path of [BUNDLE_FILES.steps, BUNDLE_FILES.run]) {
      const other = join(temp.path, `${path}.other`);
      writeFileSync(other, read(path).replace(/"n1#1"/g, '"x1#1"'));
      renameSync(other, join(temp.path, path));
    }
    const state = foldUpTo(3600);
    snapshots.write(state, false);
    check(state, 'after another file took the paths');
    const last = foldUpTo(Infinity);
    // The final snapshot's files are left open for close to fsync.
    for (const fd of snapshots.write(last, true)) closeSync(fd);
    check(last, 'final');
  } finally {
    await temp.remove();
  }
});
