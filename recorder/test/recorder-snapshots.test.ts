// Periodic snapshots (SPEC writing discipline rule 2): when one is due, and that one queued before the run's end is
// not written (the snapshot the end forces, and the final one, reflect more). The recorder is driven by hand, as in
// recorder-writer.test.ts; fs.renameSync is wrapped (the real rename still runs) to see each snapshot land.
import assert from 'node:assert/strict';
import fs, { readdirSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRecorder } from '../src/bundle/index.ts';
import { snapshotDue } from '../src/bundle/snapshots.ts';
import { verifyBundle } from '../src/tools/verify.ts';
import { flowSnapshot, readJson, tempDir } from './recorder-support.ts';

const flow = flowSnapshot('snap', [{ id: 'a', nodeType: 'compute' }]);

describe('periodic snapshots', () => {
  it('wait 20 times what the next one is expected to cost, which grows with the lines since the last one (at most 4-fold)', () => {
    const last = { cost: 100, seq: 50_000 };
    assert.equal(snapshotDue(999, 1000, { cost: 1, seq: 10 }, 20), false, 'never before the interval');
    assert.equal(snapshotDue(1000, 1000, { cost: 1, seq: 10 }, 4000), true, 'a small snapshot costs its fixed part: due at the interval');
    assert.equal(snapshotDue(2000, 1000, last, 50_000), true, '20 × the last cost, as large as the last');
    // Three times the lines: expected to cost three times as much (300 ms), so due 6 s after the last, not 2 s.
    assert.equal(snapshotDue(2000, 1000, last, 150_000), false, 'a snapshot three times larger is not due after 20 × the last cost');
    assert.equal(snapshotDue(5999, 1000, last, 150_000), false);
    assert.equal(snapshotDue(6000, 1000, last, 150_000), true);
    // The growth counts at most four times: a cost measured badly on a small snapshot does not stop snapshots.
    assert.equal(snapshotDue(7999, 1000, last, 5_000_000), false);
    assert.equal(snapshotDue(8000, 1000, last, 5_000_000), true, 'due after 20 × 4 × the last cost, however many lines since');
    assert.equal(snapshotDue(16_000, 1000, { cost: 200, seq: 8197 }, 3_000_000), true);
  });

  it('a periodic snapshot queued before the run ended is not written: the end forces a later one, and leaves no temporary file', async () => {
    const dir = await tempDir();
    const realRenameSync = fs.renameSync;
    try {
      const bundle = join(dir.path, 'b');
      const runFile = join(bundle, 'projections/run.json');
      const written: number[] = [];
      fs.renameSync = (from: fs.PathLike, to: fs.PathLike) => {
        realRenameSync(from, to);
        if (String(to) === runFile) written.push(readJson<{ seq: number }>(runFile).seq);
      };
      syncBuiltinESMExports();
      // Interval 0: a periodic snapshot is due at the first batch written.
      const recorder = createRecorder(bundle, { snapshotIntervalMs: 0 });
      let t = Date.UTC(2026, 0, 1);
      // As a runtime that never yields: a first line over 1 MiB (a long cwd) is written as soon as it is pushed, and
      // queues the periodic snapshot; the rest of the run and its end are pushed before the event loop turns.
      recorder.onEvent({ type: 'run.started', runId: 'r', flow, input: {}, cwd: `/${'x'.repeat(1 << 20)}`, deterministic: false }, t++);
      recorder.onEvent({ type: 'node.started', nodeId: 'a', attemptId: 'a#1', nodeType: 'compute', attempt: 1 }, t++);
      recorder.onEvent({ type: 'node.outcome', nodeId: 'a', attemptId: 'a#1', outcome: 'ok', durationMs: 0, output: 1 }, t++);
      recorder.onEvent({ type: 'run.completed', output: null, durationMs: 5 }, t++);
      const lastSeq = 4;
      // The queue runs (the periodic snapshot, the rest of the lines, the snapshot the end forces) before close().
      for (let turns = 0; turns < 100 && written.length === 0; turns++) await new Promise((resolve) => setImmediate(resolve));
      const summary = await recorder.close();
      assert.equal(summary.complete, true);
      assert.deepEqual(written, [lastSeq, lastSeq], 'only the snapshot the end forced and the final one were written');
      const report = await verifyBundle(bundle);
      assert.deepEqual(report.problems.map((p) => p.message), [], 'verify finds no problem');
      const temporary = readdirSync(bundle, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.tmp'));
      assert.deepEqual(temporary, [], 'no temporary file is left');
    } finally {
      fs.renameSync = realRenameSync;
      syncBuiltinESMExports();
      await dir.remove();
    }
  });
});
