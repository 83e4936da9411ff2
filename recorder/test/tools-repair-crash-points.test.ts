// Every crash point of a real `flowtape run`'s bundle creation, not a random sample: the run is SIGKILLed right
// after its 1st, 2nd, … change to the bundle folder (fixtures/crash-after.mjs) — the folder, flow.json, the
// manifest, the trace and its first lines — up to two changes past the first trace line. (Later points — appends,
// snapshots, the final manifest — are what bench:faults samples at random and the other repair tests build.)
// At every point: a folder without manifest.json holds nothing recorded (no trace, no session) and no tool takes
// it for a bundle; a bundle with one is readable (`verify` lists its problems), one `repair` makes it a complete
// bundle that passes `verify`, keeps every complete trace line, and a second repair changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RepairError, repairBundle } from '../src/tools/repair.ts';
import { VerifyInputError, verifyBundle } from '../src/tools/verify.ts';
import { listRuns } from '../src/tools/list-runs.ts';
import { firstWriteTo, runKilledAfter, writeCrashFlow } from './crash-support.ts';
import { tempDir } from './recorder-support.ts';

function completeLines(file: string): string[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').slice(0, -1);
}

/** What is wrong with the bundle a run killed at change `n` left, or nothing. */
async function crashProblems(runs: string, bundle: string, n: number, at: string): Promise<string[]> {
  const where = `killed after change ${n} (${at})`;
  if (!existsSync(join(bundle, 'manifest.json'))) {
    const problems: string[] = [];
    if (existsSync(join(bundle, 'trace.ndjson'))) problems.push(`${where}: trace.ndjson exists without manifest.json`);
    if (existsSync(join(bundle, 'sessions'))) problems.push(`${where}: sessions/ exists without manifest.json`);
    if ((await listRuns(runs)).length !== 0) problems.push(`${where}: flowtape ls lists a folder without manifest.json`);
    await verifyBundle(bundle).then(
      () => problems.push(`${where}: verify took a folder without manifest.json for a bundle`),
      (error: unknown) => (error instanceof VerifyInputError ? undefined : problems.push(`${where}: verify: ${String(error)}`)),
    );
    await repairBundle(bundle).then(
      () => problems.push(`${where}: repair "repaired" a folder without manifest.json`),
      (error: unknown) => (error instanceof RepairError ? undefined : problems.push(`${where}: repair: ${String(error)}`)),
    );
    return problems;
  }
  // Readable: verify lists its problems (a torn line, a missing file) rather than refusing it as no bundle.
  try {
    await verifyBundle(bundle);
  } catch (error) {
    return [`${where}: verify before repair: ${(error as Error).message}`];
  }
  const lines = completeLines(join(bundle, 'trace.ndjson'));
  try {
    await repairBundle(bundle);
  } catch (error) {
    return [`${where}: repair: ${(error as Error).message}`];
  }
  const after = await verifyBundle(bundle);
  if (!after.ok) return [`${where}: verify after repair: ${after.problems.map((p) => p.message).join(' | ')}`];
  // Whole now: ended (completed, or failed as abandoned) and complete.
  if (!after.summary.complete || !['completed', 'failed'].includes(after.summary.status ?? '')) {
    return [`${where}: after repair the bundle is ${after.summary.status}, complete ${after.summary.complete}`];
  }
  if (completeLines(join(bundle, 'trace.ndjson')).slice(0, lines.length).join('\n') !== lines.join('\n')) {
    return [`${where}: repair changed or dropped a complete trace line`];
  }
  const second = await repairBundle(bundle);
  if (second.changed) return [`${where}: a second repair changed ${second.rewritten.join(', ') || 'the trace'}`];
  return [];
}

test('a run killed at every change that creates its bundle: never a bundle without a manifest, one repair makes it pass verify', async () => {
  const dir = await tempDir('flowtape-crash-points-');
  try {
    const flowFile = await writeCrashFlow(dir.path);
    // An uninterrupted run lists the changes; then one killed run per change, three at a time (each is a CLI start).
    const whole = await runKilledAfter(dir.path, flowFile, join(dir.path, 'runs-0'), 0);
    assert.equal(whole.code, 0, whole.stderr);
    const total = firstWriteTo(whole.changes, 'trace.ndjson') + 2;
    assert.ok(total >= 8 && total < whole.changes.length, `${total} of ${whole.changes.length} changes: the hook did not see the bundle being written`);
    const problems: string[][] = [];
    let next = 1;
    const worker = async () => {
      for (let n = next++; n <= total; n = next++) {
        const runs = join(dir.path, `runs-${n}`);
        const run = await runKilledAfter(dir.path, flowFile, runs, n);
        const at = run.changes.at(-1)?.split(' ').slice(1).join(' ') ?? '?';
        if (run.signal === 'SIGKILL') problems[n] = await crashProblems(runs, run.bundle, n, at);
        // A run may make a few changes fewer than the counted one (a throttled snapshot it had no time for).
        else if (run.code !== 0 || run.changes.length >= n) problems[n] = [`change ${n}: the run was not killed (exit ${run.code}, ${run.changes.length} changes)`];
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    assert.deepEqual(problems.flat(), []);
  } finally {
    await dir.remove();
  }
});
