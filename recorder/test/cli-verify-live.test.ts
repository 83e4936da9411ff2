// `flowtape verify` on a bundle a real `flowtape run` is still writing: its projections and session record were
// written at the last snapshot while the trace and the session events went on. That lag is what a live run looks
// like, not corruption: verdict "live, valid so far", exit 0. The same lag in a bundle whose manifest says complete
// is a problem: exit 1, naming each file that lags.
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { recorderEntry, readJson, repoRoot, readLines, runCli, scriptedAgent, spawnCli, tempDir, waitFor } from './recorder-support.ts';

// `pause` beats until the recorder's first throttled snapshot is on disk, so the snapshot stands in the middle of the
// run; `ask2` then adds a turn and `hold` waits for the test's `go` file: everything after the snapshot lags it.
const FLOW = `import { existsSync } from 'node:fs';
import { acp, compute, defineFlow } from ${JSON.stringify(recorderEntry)};
const until = async (file) => { while (!existsSync(file)) await new Promise((r) => setTimeout(r, 20)); };
export default defineFlow({
  name: 'live',
  startAt: 'ask',
  nodes: {
    ask: acp({ prompt: () => 'first question' }),
    pause: compute({ heartbeatMs: 50, run: async () => { await until('runs/r/projections/run.json'); return 'snapshot seen'; } }),
    ask2: acp({ prompt: () => 'second question' }),
    hold: compute({ run: async () => { await until('go'); return 'released'; } }),
  },
  edges: [{ from: 'ask', to: 'pause' }, { from: 'pause', to: 'ask2' }, { from: 'ask2', to: 'hold' }],
});
`;

const AGENT = {
  agent: { name: 'live-agent', version: '1.0.0' },
  turns: [
    { match: { regex: '^first' }, steps: [{ message: 'one' }] },
    { match: { regex: '^second' }, steps: [{ message: 'two' }] },
  ],
};

const lastSeq = (file: string) => readLines<{ seq: number }>(file).at(-1)!.seq;

test('verify: a live bundle whose snapshots lag its trace is "live, valid so far" (exit 0); complete with the same lag, invalid (exit 1)', async () => {
  const dir = await tempDir('flowtape-verify-live-');
  let run: ReturnType<typeof spawnCli> | undefined;
  try {
    writeFileSync(join(dir.path, 'live.flow.ts'), FLOW);
    const agent = await scriptedAgent(dir.path, 'agent', AGENT);
    run = spawnCli(['run', 'live.flow.ts', '--out', 'runs', '--run-id', 'r', '-q', '--agent', agent.map((a) => JSON.stringify(a)).join(' ')], { cwd: dir.path });
    const bundle = join(dir.path, 'runs', 'r');
    const trace = join(bundle, 'trace.ndjson');
    try {
      await waitFor(() => existsSync(trace) && readLines<{ nodeId?: string }>(trace).some((e) => e.nodeId === 'hold'), 60_000, 'the run to reach `hold`');
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${JSON.stringify(run.output())}`);
    }
    const session = readdirSync(join(bundle, 'sessions'))[0]!;
    const events = join(bundle, 'sessions', session, 'events.ndjson');
    const record = join(bundle, 'sessions', session, 'record.json');
    // What makes this test mean something: the snapshot is behind the trace and the session's events.
    const projected = readJson<{ seq: number }>(join(bundle, 'projections/run.json')).seq;
    const traced = lastSeq(trace);
    assert.ok(projected < traced, `projections at seq ${projected}, trace at ${traced}: no lag to tolerate`);
    const recorded = readJson<{ lastSeq: number }>(record).lastSeq;
    assert.ok(recorded < lastSeq(events), `record.json at seq ${recorded}, events at ${lastSeq(events)}: no lag to tolerate`);
    const snapshot = join(dir.path, 'snapshot');
    cpSync(bundle, snapshot, { recursive: true });

    const live = await runCli(['verify', bundle], { cwd: dir.path });
    assert.equal(live.code, 0, live.stdout + live.stderr);
    assert.match(live.stdout, /runs\/r: live, valid so far \(running, \d+ events, 1 session, \d+ artifacts\)\n$/);
    assert.match(live.stdout, /^note: the run is live: the writer \(pid \d+\) is still running;/m);
    assert.match(live.stdout, new RegExp(`^note: projections/run\\.json reflects trace\\.ndjson up to seq ${projected} of ${traced} `, 'm'));
    assert.match(live.stdout, new RegExp(`^note: sessions/${session}/record\\.json reflects sessions/${session}/events\\.ndjson up to seq ${recorded} of `, 'm'));
    const json = JSON.parse((await runCli(['verify', bundle, '--json'], { cwd: dir.path })).stdout) as { ok: boolean; state: string; problems: unknown[] };
    assert.deepEqual([json.ok, json.state, json.problems], [true, 'live', []]);

    writeFileSync(join(dir.path, 'go'), '');
    const done = await run.done;
    assert.equal(done.code, 0, done.stderr);

    // The copy taken mid-run, now that its writer is gone: still valid, but no longer live.
    const stopped = await runCli(['verify', snapshot, '--json'], { cwd: dir.path });
    assert.equal(stopped.code, 0, stopped.stdout);
    assert.deepEqual((JSON.parse(stopped.stdout) as { state: string }).state, 'incomplete');

    // The finished bundle is valid and complete; with the mid-run snapshots put back, each lagging file is a problem.
    const complete = await runCli(['verify', bundle, '--json'], { cwd: dir.path });
    assert.equal(complete.code, 0, complete.stdout);
    assert.equal((JSON.parse(complete.stdout) as { state: string }).state, 'complete');
    const end = lastSeq(trace);
    const endEvents = lastSeq(events);
    for (const file of ['projections/run.json', 'projections/live.json', 'projections/steps.json', `sessions/${session}/record.json`]) {
      cpSync(join(snapshot, file), join(bundle, file));
    }
    const lagging = await runCli(['verify', bundle], { cwd: dir.path });
    assert.equal(lagging.code, 1, lagging.stdout);
    for (const name of ['run', 'live', 'steps']) {
      assert.match(lagging.stdout, new RegExp(`^projections/${name}\\.json: /seq: ${projected}, but the complete bundle's trace\\.ndjson ends at ${end}$`, 'm'));
    }
    assert.match(lagging.stdout, new RegExp(`^sessions/${session}/record\\.json: /lastSeq: ${recorded}, but the complete bundle's sessions/${session}/events\\.ndjson ends at ${endEvents}$`, 'm'));
    assert.match(lagging.stdout, /runs\/r: invalid: 4 problems \(completed, /);
    assert.equal(readJson<{ complete: boolean }>(join(bundle, 'manifest.json')).complete, true);
  } finally {
    // A failed assertion leaves the run holding at `hold`: it must not outlive the test.
    if (run && run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill('SIGKILL');
      await run.done;
    }
    await dir.remove();
  }
});

test('verify: a live bundle before its first snapshot (no projections yet) is live and valid; once its writer is gone, they are missing', async () => {
  const dir = await tempDir('flowtape-verify-live-');
  try {
    const bundle = join(dir.path, 'early');
    cpSync(join(repoRoot, 'samples/conversation/bundle'), bundle, { recursive: true });
    // The writer is this test's process (alive, on this machine); its run has not taken a snapshot yet.
    const manifestFile = join(bundle, 'manifest.json');
    const manifest = readJson<Record<string, any>>(manifestFile);
    Object.assign(manifest, { status: 'running', complete: false, writer: { ...manifest.writer, pid: process.pid, hostname: hostname(), exclusive: true } });
    writeFileSync(manifestFile, JSON.stringify(manifest));
    rmSync(join(bundle, 'projections'), { recursive: true });
    const live = await runCli(['verify', bundle], { cwd: dir.path });
    assert.equal(live.code, 0, live.stdout + live.stderr);
    assert.match(live.stdout, /^note: projections\/run\.json is not written yet \(the run is live\)$/m);
    assert.match(live.stdout, /early: live, valid so far \(running, /);

    manifest.writer.pid = 2 ** 22 + 1; // above Linux's pid_max: no such process
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const gone = await runCli(['verify', bundle], { cwd: dir.path });
    assert.equal(gone.code, 1, gone.stdout);
    assert.match(gone.stdout, /^projections\/run\.json: missing$/m);
  } finally {
    await dir.remove();
  }
});
