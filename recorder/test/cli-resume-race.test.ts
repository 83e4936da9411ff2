// `flowtape resume` started several times at once on one waiting bundle: whether the run still waits is decided
// under the bundle lock, together with appending run.resumed, so exactly one resume goes ahead and every other
// stops with the "not waiting" error (exit 2) before running anything. Real processes (the bin).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRecorder } from '../src/bundle/index.ts';
import { checkpoint, compute, defineFlow, record, resumeRecorded } from '../src/index.ts';
import { verifyBundle } from '../src/tools/verify.ts';
import { recordRun } from './recorded-run-support.ts';
import { assertContiguous, readLines, recorderEntry, spawnCli, tempDir, traceOf } from './recorder-support.ts';

/**
 * A checkpoint, then a node that holds every process reaching it until all `contenders` are there (or 3 s pass):
 * without a decision under the lock, every resume would get there before any of them wrote run.resumed.
 */
function raceFlow(arrivals: string, contenders: number): string {
  return `import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkpoint, compute, defineFlow } from ${JSON.stringify(recorderEntry)};
const arrivals = ${JSON.stringify(arrivals)};
export default defineFlow({
  name: 'race',
  startAt: 'prep',
  nodes: {
    prep: compute({ run: () => ({ v: 1 }) }),
    gate: checkpoint({ summary: 'go?' }),
    release: compute({
      run: () => {
        mkdirSync(arrivals, { recursive: true });
        writeFileSync(join(arrivals, String(process.pid)), '');
        const deadline = Date.now() + 3000;
        const cell = new Int32Array(new SharedArrayBuffer(4));
        while (readdirSync(arrivals).length < ${contenders} && Date.now() < deadline) Atomics.wait(cell, 0, 0, 10);
        return { released: true };
      },
    }),
  },
  edges: [{ from: 'prep', to: 'gate' }, { from: 'gate', to: 'release' }],
});
`;
}

describe('flowtape resume, started together', () => {
  it('two resumes of one waiting bundle: exactly one goes ahead, the other exits 2 "not waiting" having run nothing', async () => {
    const dir = await tempDir('flowtape-race-');
    try {
      const arrivals = join(dir.path, 'arrivals');
      await writeFile(join(dir.path, 'race.flow.ts'), raceFlow(arrivals, 2));
      const bundle = await recordRun(dir.path, 'race.flow.ts', ['--run-id', 'race-1']);
      const waitingSeq = traceOf(bundle).length;

      const contenders = [0, 1].map(() => spawnCli(['resume', bundle, '--input', '{"ok":true}', '-q'], { cwd: dir.path }));
      const results = await Promise.all(contenders.map((c) => c.done));
      const winners = results.filter((r) => r.code === 0);
      const losers = results.filter((r) => r.code !== 0);
      assert.equal(winners.length, 1, results.map((r) => `exit ${r.code}: ${r.stderr}`).join('\n'));
      assert.equal(losers.length, 1);
      assert.equal(losers[0]!.code, 2, losers[0]!.stderr);
      assert.match(losers[0]!.stderr, /^flowtape: \S+race-1: the run is (running|completed), not waiting at a checkpoint: nothing to resume\n$/);
      assert.equal(winners[0]!.stdout.trim(), bundle);
      assert.equal(existsSync(arrivals) ? readdirSync(arrivals).length : 0, 1, 'only the winner ran the node after the checkpoint');

      const trace = traceOf(bundle);
      assertContiguous(trace.map((e) => e.seq));
      const types = trace.map((e) => e.type);
      assert.deepEqual(types.slice(waitingSeq - 1, waitingSeq + 1), ['run.waiting', 'run.resumed']);
      assert.equal(types.filter((t) => t === 'run.resumed').length, 1);
      assert.equal(types.filter((t) => t === 'node.started' && true).length, 3, 'prep, gate and release once each');
      assert.equal(types.filter((t) => t === 'run.completed').length, 1);
      assert.equal(types.at(-1), 'run.completed');
      const report = await verifyBundle(bundle);
      assert.deepEqual(report.problems, []);
      assert.equal(report.summary.status, 'completed');
      assert.equal(readLines(join(bundle, 'trace.ndjson')).length, trace.length);
      assert.ok(!readFileSync(join(bundle, 'manifest.json'), 'utf8').includes('"exclusive"'));
    } finally {
      await dir.remove();
    }
  });

  it('in one process too: of two resumeRecorded calls at once, one completes and the other rejects before running a node', async () => {
    const dir = await tempDir('flowtape-race-');
    try {
      const ran: string[] = [];
      const flow = defineFlow({
        name: 'race-lib',
        startAt: 'gate',
        nodes: { gate: checkpoint({ summary: 'go?' }), after: compute({ run: ({ resume }) => (ran.push(String(resume)), 'done') }) },
        edges: [{ from: 'gate', to: 'after' }],
      });
      const { bundleDir } = await record(flow, {}, { outDir: dir.path, cwd: dir.path });
      const progress: string[] = [];
      const observer = { onEvent: (event: { type: string }) => progress.push(event.type) };
      const results = await Promise.allSettled(['a', 'b'].map((input) => resumeRecorded(bundleDir, flow, input, { observer })));
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(won.length, 1);
      assert.equal(lost.length, 1);
      assert.equal((lost[0]!.reason as Error).name, 'ResumeBundleError');
      assert.match((lost[0]!.reason as Error).message, /the run is (running|completed), not waiting at a checkpoint: nothing to resume$/);
      assert.equal(ran.length, 1, 'the node after the checkpoint ran once');
      assert.equal(progress.filter((t) => t === 'run.resumed').length, 1, "the loser's observer saw nothing");
      assert.equal(traceOf(bundleDir).filter((e) => e.type === 'run.resumed').length, 1);
      assert.deepEqual((await verifyBundle(bundleDir)).problems, []);
    } finally {
      await dir.remove();
    }
  });

  it('run.resumed is refused when the trace grew since the resume read it, even if the run waits again', async () => {
    const dir = await tempDir('flowtape-race-');
    try {
      const flow = defineFlow({
        name: 'race-stale',
        startAt: 'gate',
        nodes: { gate: checkpoint({ summary: 'go?' }) },
        edges: [],
      });
      const { bundleDir } = await record(flow, {}, { outDir: dir.path, cwd: dir.path });
      const seq = traceOf(bundleDir).length;
      const stale = createRecorder(bundleDir, { resume: true, resumeAfterSeq: seq - 1, redact: false });
      stale.onEvent({ type: 'run.resumed', checkpoint: 'gate' }, Date.now());
      await assert.rejects(stale.flush(), (error: Error) => {
        assert.equal(error.name, 'AppendRefusedError');
        assert.match(error.message, new RegExp(`refused to append run\\.resumed: run\\.resumed was to follow seq ${seq - 1}, but the trace has grown to seq ${seq}`));
        return true;
      });
      await stale.close().catch(() => {});
      assert.equal(traceOf(bundleDir).length, seq, 'nothing appended');
    } finally {
      await dir.remove();
    }
  });
});
