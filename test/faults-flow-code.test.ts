// The flow's own code ending the process or throwing outside its nodes' promises, through the real CLI: never a
// silent exit 0, never a stack trace, never a run whose queued lines are lost. (Found from the outside: a node calling
// process.exit(0) made `flowtape run` exit 0 with no trace.ndjson at all; a timer's throw printed Node's stack.)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { verifyBundle } from '@flowtape/recorder';
import { flowtapeBin, recorderEntry, runCli, tempDir, traceOf } from '../recorder/test/recorder-support.ts';

const header = `import { checkpoint, compute, defineFlow } from ${JSON.stringify(recorderEntry)};\n`;

/** A two-node chain whose second node runs `b` (source text of its run function). */
async function chainFlow(dir: string, name: string, b: string): Promise<string> {
  const file = join(dir, `${name}.flow.ts`);
  await writeFile(
    file,
    `${header}export default defineFlow({ name: '${name}', startAt: 'a', nodes: { a: compute({ run: () => ({ v: 1 }) }), b: compute({ run: ${b} }) }, edges: [{ from: 'a', to: 'b' }] });\n`,
  );
  return file;
}

function onlyBundle(dir: string): string {
  const runs = join(dir, '.flowtape/runs');
  const names = existsSync(runs) ? readdirSync(runs) : [];
  assert.equal(names.length, 1, `one bundle in ${runs}: ${names.join(', ')}`);
  return join(runs, names[0]!);
}

describe('faults: the flow code ends the process or throws outside its nodes', () => {
  it('process.exit(0) in a node: exit 1, one line naming the node and the repair, every queued line on disk', async () => {
    const dir = await tempDir('flowtape-exit0-');
    try {
      await chainFlow(dir.path, 'exit0', '() => { process.exit(0); }');
      const result = await runCli(['run', 'exit0.flow.ts'], { cwd: dir.path });
      assert.equal(result.code, 1, result.stderr);
      const bundle = onlyBundle(dir.path);
      assert.match(result.stderr, /the flow's code ended the process \(process\.exit\(0\)\) \(node "b" was running\) before the run was over/);
      assert.ok(result.stderr.includes(`flowtape repair ${bundle}`), result.stderr);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      // The lines queued before the exit (the run's start, all of a, b's start) were written, not lost with the batch.
      const types = traceOf(bundle).map((e) => `${e.type}${e.attemptId ? ` ${e.attemptId}` : ''}`);
      assert.deepEqual(types, ['run.started', 'node.started a#1', 'node.outcome a#1', 'edge.taken a#1', 'node.started b#1']);
      // Unfinished, and said so: verify does not pass it off as whole.
      const report = await verifyBundle(bundle);
      assert.equal(report.summary.complete, false);
    } finally {
      await dir.remove();
    }
  });

  it('process.exit(3) in a node: exit 1 too (a run that did not finish), not the code the flow chose', async () => {
    const dir = await tempDir('flowtape-exit3-');
    try {
      await chainFlow(dir.path, 'exit3', '() => { process.exit(3); }');
      const result = await runCli(['run', 'exit3.flow.ts', '-q'], { cwd: dir.path });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /process\.exit\(3\)/);
    } finally {
      await dir.remove();
    }
  });

  it('a throw from a timer in a node: the run is cancelled and recorded whole, one line naming the node, exit 1', async () => {
    const dir = await tempDir('flowtape-async-throw-');
    try {
      await chainFlow(dir.path, 'asyncthrow', "() => new Promise(() => { setTimeout(() => { throw new Error('async boom'); }, 10); })");
      const result = await runCli(['run', 'asyncthrow.flow.ts', '-q'], { cwd: dir.path });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /uncaught error in the flow's code \(node "b" was running\): async boom; cancelling the run/);
      assert.doesNotMatch(result.stderr, /\n\s+at |Node\.js v/, 'no stack trace');
      const bundle = result.stdout.trim();
      const trace = traceOf(bundle);
      assert.equal(trace.at(-1)!.type, 'run.cancelled');
      assert.match(String(trace.at(-1)!.payload.reason), /uncaught error in the flow's code: async boom/);
      const report = await verifyBundle(bundle);
      assert.deepEqual(report.problems, []);
      assert.equal(report.summary.complete, true);
    } finally {
      await dir.remove();
    }
  });

  it('a promise rejected and never awaited in a node: the run is cancelled, not "internal error", exit 1', async () => {
    const dir = await tempDir('flowtape-unhandled-');
    try {
      await chainFlow(dir.path, 'unhandled', "() => { Promise.reject(new Error('nobody awaits me')); return new Promise((r) => setTimeout(() => r(2), 2000)); }");
      const result = await runCli(['run', 'unhandled.flow.ts', '-q'], { cwd: dir.path });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /uncaught error in the flow's code \(node "b" was running\): nobody awaits me/);
      assert.doesNotMatch(result.stderr, /internal error/);
      const trace = traceOf(result.stdout.trim());
      assert.equal(trace.at(-1)!.type, 'run.cancelled');
    } finally {
      await dir.remove();
    }
  });

  it('an uncaught error as the last node returns: exit 1 whatever the run recorded (it exited 0)', async () => {
    const dir = await tempDir('flowtape-late-throw-');
    try {
      await chainFlow(dir.path, 'late', "() => { process.nextTick(() => { throw new Error('late boom'); }); return 2; }");
      const result = await runCli(['run', 'late.flow.ts', '-q'], { cwd: dir.path });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /uncaught error in the flow's code[^\n]*: late boom/);
      assert.doesNotMatch(result.stderr, /\n\s+at |internal error/);
    } finally {
      await dir.remove();
    }
  });

  it('a node whose promise never settles: the run is cancelled and recorded whole, not "process.exit(0)"', async () => {
    const dir = await tempDir('flowtape-never-');
    try {
      await chainFlow(dir.path, 'never', '() => new Promise(() => {})');
      const result = await runCli(['run', 'never.flow.ts', '-q'], { cwd: dir.path });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /nothing is left to run \(node "b" was running\): a promise of the flow's code never settles; cancelling the run/);
      assert.doesNotMatch(result.stderr, /process\.exit/);
      const bundle = result.stdout.trim();
      assert.equal(traceOf(bundle).at(-1)!.type, 'run.cancelled');
      assert.equal((await verifyBundle(bundle)).summary.complete, true);
    } finally {
      await dir.remove();
    }
  });

  it("a reader of stderr that goes away is not the flow's fault: the run goes on to a whole bundle", async () => {
    const dir = await tempDir('flowtape-epipe-');
    try {
      await chainFlow(dir.path, 'slow', '() => new Promise((r) => setTimeout(() => r(3), 300))');
      const child = spawn(process.execPath, [flowtapeBin, 'run', 'slow.flow.ts'], { cwd: dir.path, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString()));
      // The first progress line read, then the pipe closed: later writes get EPIPE.
      child.stderr.once('data', () => child.stderr.destroy());
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 0, stdout);
      const trace = traceOf(onlyBundle(dir.path));
      assert.equal(trace.at(-1)!.type, 'run.completed');
    } finally {
      await dir.remove();
    }
  });

  it('resume: process.exit in a node after the checkpoint keeps the lines queued since the resume', async () => {
    const dir = await tempDir('flowtape-resume-exit-');
    try {
      await writeFile(
        join(dir.path, 'cp.flow.ts'),
        `${header}export default defineFlow({ name: 'cp', startAt: 'a', nodes: { a: compute({ run: () => 1 }), gate: checkpoint({ summary: 'go?' }), b: compute({ run: () => 2 }), c: compute({ run: () => { process.exit(0); } }) }, edges: [{ from: 'a', to: 'gate' }, { from: 'gate', to: 'b' }, { from: 'b', to: 'c' }] });\n`,
      );
      const first = await runCli(['run', 'cp.flow.ts', '-q'], { cwd: dir.path });
      assert.equal(first.code, 0, first.stderr);
      const bundle = first.stdout.trim();
      const resumed = await runCli(['resume', bundle, '-q'], { cwd: dir.path });
      assert.equal(resumed.code, 1, resumed.stderr);
      assert.match(resumed.stderr, /process\.exit\(0\)\) \(node "c" was running\)/);
      const after = traceOf(bundle).map((e) => `${e.type}${e.attemptId ? ` ${e.attemptId}` : ''}`);
      assert.deepEqual(after.slice(after.indexOf('run.resumed')), ['run.resumed', 'edge.taken gate#1', 'node.started b#1', 'node.outcome b#1', 'edge.taken b#1', 'node.started c#1']);
    } finally {
      await dir.remove();
    }
  });

  it('--input null is the input null, not {}', async () => {
    const dir = await tempDir('flowtape-input-null-');
    try {
      await chainFlow(dir.path, 'nullin', '({ input }) => ({ input })');
      const result = await runCli(['run', 'nullin.flow.ts', '-q', '--input', 'null'], { cwd: dir.path });
      assert.equal(result.code, 0, result.stderr);
      const started = traceOf(result.stdout.trim()).find((e) => e.type === 'run.started')!;
      assert.deepEqual(started.payload.input, { inline: null });
    } finally {
      await dir.remove();
    }
  });
});
