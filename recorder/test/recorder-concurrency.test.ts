// Appends from many tasks in one process, and from several processes through the lock: contiguous seq, whole lines.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { createRecorder } from '../src/bundle/index.ts';
import { verifyBundle } from '../src/tools/verify.ts';
import { assertContiguous, flowSnapshot, repoRoot, tempDir, traceOf, waitFor } from './recorder-support.ts';

const worker = fileURLToPath(new URL('./recorder-append-worker.ts', import.meta.url));
const flow = flowSnapshot('concurrency', [{ id: 'a', nodeType: 'compute' }]);

/** Every line is one whole JSON object ending in a newline: no torn or interleaved writes. */
function assertWholeLines(file: string): void {
  const text = readFileSync(file, 'utf8');
  assert.ok(text.endsWith('\n'), 'the file ends with a newline');
  const lines = text.slice(0, -1).split('\n');
  for (const [i, line] of lines.entries()) {
    assert.doesNotThrow(() => JSON.parse(line), `line ${i + 1} is one JSON value: ${line.slice(0, 80)}`);
    assert.equal(line.indexOf('{"seq":', 1), -1, `line ${i + 1} holds a single event`);
  }
}

/** Each attempt: exactly one node.started followed by exactly one node.outcome. */
function assertPairs(bundle: string, expected: number): void {
  const seen = new Map<string, string[]>();
  for (const event of traceOf(bundle)) {
    if (!event.attemptId || event.type === 'artifact.written') continue;
    seen.set(event.attemptId, [...(seen.get(event.attemptId) ?? []), event.type]);
  }
  assert.equal(seen.size, expected);
  for (const [attempt, types] of seen) assert.deepEqual(types, ['node.started', 'node.outcome'], attempt);
}

describe('concurrent appends', () => {
  it('1,000 concurrent appenders in one process: contiguous seq, no torn or interleaved lines', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'b');
      const recorder = createRecorder(bundle, { redact: false });
      let t = Date.UTC(2026, 0, 1);
      recorder.onEvent({ type: 'run.started', runId: 'r', flow, input: {}, cwd: dir.path, deterministic: false }, t++);
      await Promise.all(
        Array.from({ length: 1000 }, async (_, i) => {
          const scope = { nodeId: 'a', attemptId: `a#${i + 1}` };
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
          recorder.onEvent({ type: 'node.started', ...scope, nodeType: 'compute', attempt: i + 1 }, t++);
          await new Promise((resolve) => setImmediate(resolve));
          // Some outputs large enough for an artifact: artifact writes interleave with trace batches.
          recorder.onEvent({ type: 'node.outcome', ...scope, outcome: 'ok', durationMs: 0, output: 'z'.repeat(i % 10 === 0 ? 4000 + i : 10) }, t++);
        }),
      );
      recorder.onEvent({ type: 'run.completed', output: null, durationMs: 1 }, t++);
      await recorder.close();
      assertWholeLines(join(bundle, 'trace.ndjson'));
      const trace = traceOf(bundle);
      assertContiguous(trace.map((e) => e.seq));
      assert.equal(trace.length, 1 + 2000 + 100 + 1);
      assertPairs(bundle, 1000);
      const report = await verifyBundle(bundle);
      assert.deepEqual(report.problems, []);
    } finally {
      await dir.remove();
    }
  });

  it('4 processes appending through the lock: seq continues across processes, no torn or interleaved lines', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'b');
      const owner = createRecorder(bundle, { shared: true, redact: false });
      let t = Date.UTC(2026, 0, 1);
      owner.onEvent({ type: 'run.started', runId: 'r', flow, input: {}, cwd: dir.path, deterministic: false }, t++);
      await owner.flush();
      const perWorker = 150;
      const go = join(dir.path, 'go');
      let ready = 0;
      const exits = Promise.all(
        [1, 2, 3, 4].map(
          (id) =>
            new Promise<{ code: number | null; stderr: string }>((resolve) => {
              const child = spawn(process.execPath, ['--import', 'tsx', worker, bundle, String(id), String(perWorker), go], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
              let stderr = '';
              child.stdout.setEncoding('utf8').on('data', (c: string) => (ready += c.split('ready').length - 1));
              child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
              child.on('close', (code) => resolve({ code, stderr }));
            }),
        ),
      );
      // All four start appending at once.
      await waitFor(() => ready === 4, 60_000, 'the 4 workers to be ready');
      writeFileSync(go, '');
      for (const exit of await exits) assert.equal(exit.code, 0, exit.stderr);
      // The owner appends again: it catches up with the other processes' lines under the lock.
      owner.onEvent({ type: 'run.completed', output: null, durationMs: 1 }, t++);
      await owner.close();
      assertWholeLines(join(bundle, 'trace.ndjson'));
      const trace = traceOf(bundle);
      assertContiguous(trace.map((e) => e.seq));
      assert.equal(trace.length, 2 + 4 * perWorker * 2);
      assertPairs(bundle, 4 * perWorker);
      // The workers' lines are interleaved in batches, not one process after the other.
      const order = trace.filter((e) => e.attemptId).map((e) => e.nodeId);
      const switches = order.filter((node, i) => i > 0 && node !== order[i - 1]).length;
      assert.ok(switches > 4, `the processes' appends interleave (${switches} switches)`);
      const report = await verifyBundle(bundle);
      assert.deepEqual(report.problems, []);
      assert.equal(report.summary.status, 'completed');
    } finally {
      await dir.remove();
    }
  });
});
