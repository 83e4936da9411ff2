// The end of a run (SPEC "The end of a run"): nothing may follow a terminal event, only run.resumed follows
// run.waiting. The writer refuses anything else — in one process and across processes — and verify reports it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BundleBuilder, linearFlow } from '../../test/fixtures/bundle-builder.ts';
import { createRecorder } from '../src/bundle/index.ts';
import { verifyBundle } from '../src/tools/verify.ts';
import { flowSnapshot, runCli, tempDir, traceOf } from './recorder-support.ts';

const flow = flowSnapshot('terminal', [{ id: 'a', nodeType: 'compute' }, { id: 'gate', nodeType: 'checkpoint' }]);
const T0 = Date.UTC(2026, 0, 1);

describe('nothing after a terminal event', () => {
  it('the writer refuses an event after run.failed: close rejects naming the rule, the trace keeps its end', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'b');
      const errors: string[] = [];
      const recorder = createRecorder(bundle, { redact: false, onError: (error) => errors.push(error.message) });
      recorder.onEvent({ type: 'run.started', runId: 'r', flow, input: {}, cwd: dir.path, deterministic: false }, T0);
      recorder.onEvent({ type: 'run.failed', error: { message: 'boom' }, durationMs: 1 }, T0 + 1);
      recorder.onEvent({ type: 'node.started', nodeId: 'a', attemptId: 'a#1', nodeType: 'compute', attempt: 1 }, T0 + 2);
      await assert.rejects(recorder.close(), /refused to append node\.started: node\.started after the run ended \(failed\): nothing may follow a terminal event/);
      assert.equal(errors.length, 1, 'reported once through onError');
      assert.deepEqual(traceOf(bundle).map((e) => e.type), ['run.started', 'run.failed']);
    } finally {
      await dir.remove();
    }
  });

  it('a shared writer that joins an ended run is refused: started → failed → completed cannot be written', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'b');
      const owner = createRecorder(bundle, { shared: true, redact: false });
      owner.onEvent({ type: 'run.started', runId: 'r', flow, input: {}, cwd: dir.path, deterministic: false }, T0);
      owner.onEvent({ type: 'run.failed', error: { message: 'boom' }, durationMs: 1 }, T0 + 1);
      await owner.close();
      const before = readFileSync(join(bundle, 'trace.ndjson'), 'utf8');
      const manifest = readFileSync(join(bundle, 'manifest.json'), 'utf8');

      const late = createRecorder(bundle, { shared: true, redact: false });
      late.onEvent({ type: 'run.completed', output: 'late', durationMs: 2 }, T0 + 2);
      await assert.rejects(late.close(), /refused to append run\.completed: run\.completed after the run ended \(failed\)/);
      assert.equal(readFileSync(join(bundle, 'trace.ndjson'), 'utf8'), before, 'nothing appended');
      assert.equal(readFileSync(join(bundle, 'manifest.json'), 'utf8'), manifest, 'the manifest is untouched');
      assert.deepEqual((await verifyBundle(bundle)).problems, []);
    } finally {
      await dir.remove();
    }
  });

  it('after run.waiting only run.resumed at that checkpoint is appended', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'b');
      const owner = createRecorder(bundle, { shared: true, redact: false });
      owner.onEvent({ type: 'run.started', runId: 'r', flow, input: {}, cwd: dir.path, deterministic: false }, T0);
      owner.onEvent({ type: 'node.started', nodeId: 'gate', attemptId: 'gate#1', nodeType: 'checkpoint', attempt: 1 }, T0 + 1);
      owner.onEvent({ type: 'node.outcome', nodeId: 'gate', attemptId: 'gate#1', outcome: 'ok', durationMs: 0 }, T0 + 2);
      owner.onEvent({ type: 'run.waiting', checkpoint: 'gate' }, T0 + 3);
      await owner.close();

      const intruder = createRecorder(bundle, { shared: true, redact: false });
      intruder.onEvent({ type: 'node.started', nodeId: 'a', attemptId: 'a#1', nodeType: 'compute', attempt: 1 }, T0 + 4);
      await assert.rejects(intruder.close(), /node\.started while the run waits at checkpoint "gate": only run\.resumed may follow run\.waiting/);

      const wrong = createRecorder(bundle, { resume: true, redact: false });
      wrong.onEvent({ type: 'run.resumed', checkpoint: 'a' }, T0 + 5);
      await assert.rejects(wrong.close(), /run\.resumed at "a" while the run waits at checkpoint "gate"/);
      assert.equal(traceOf(bundle).length, 4, "nothing appended by the refused writers");

      // A resume input large enough for an artifact: its artifact.written comes after run.resumed.
      const resumed = createRecorder(bundle, { resume: true, redact: false });
      resumed.onEvent({ type: 'run.resumed', checkpoint: 'gate', input: { note: 'x'.repeat(5000) } }, T0 + 6);
      resumed.onEvent({ type: 'run.completed', output: null, durationMs: 7 }, T0 + 7);
      await resumed.close();
      assert.deepEqual(traceOf(bundle).map((e) => e.type).slice(-4), ['run.waiting', 'run.resumed', 'artifact.written', 'run.completed']);
      assert.deepEqual((await verifyBundle(bundle)).problems, []);
    } finally {
      await dir.remove();
    }
  });

  it('verify reports events after the terminal event (started → failed → completed is invalid, exit 1)', async () => {
    const dir = await tempDir();
    try {
      const f = new BundleBuilder(join(dir.path, 'b'), linearFlow('late', ['a']), { runId: 'run-late' });
      f.runStarted();
      f.runFailed({ message: 'boom' });
      f.runCompleted();
      const bundle = f.finish();
      const report = await verifyBundle(bundle);
      assert.equal(report.ok, false);
      assert.deepEqual(report.problems.map((p) => p.message), [
        'trace.ndjson: seq 3: run.completed after the run ended (failed): nothing may follow a terminal event',
      ]);
      const cli = await runCli(['verify', bundle], { cwd: dir.path });
      assert.equal(cli.code, 1, cli.stderr);
      assert.match(cli.stdout, /invalid: 1 problem/);
      assert.match(cli.stdout, /run\.completed after the run ended \(failed\)/);
    } finally {
      await dir.remove();
    }
  });
});
