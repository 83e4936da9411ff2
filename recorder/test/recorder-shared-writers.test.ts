// Appends are safe by construction: append-mode descriptors, every seq of every appended file (trace and session
// events) allocated under the bundle lock in shared mode, and no shared writer joins a bundle whose exclusive
// writer (`flowtape run`) is alive. Concurrency through real processes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { createRecorder } from '../src/bundle/index.ts';
import { verifyBundle } from '../src/tools/verify.ts';
import { assertContiguous, flowSnapshot, readJson, readLines, recorderEntry, repoRoot, spawnCli, tempDir, traceOf, waitFor } from './recorder-support.ts';

const worker = fileURLToPath(new URL('./recorder-append-worker.ts', import.meta.url));
const T0 = Date.UTC(2026, 0, 1);

function runWorkers(bundle: string, ids: number[], perWorker: number, go: string, mode?: 'session') {
  let ready = 0;
  const exits = Promise.all(
    ids.map(
      (id) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const args = ['--import', 'tsx', worker, bundle, String(id), String(perWorker), go, ...(mode ? [mode] : [])];
          const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
          let stderr = '';
          child.stdout.setEncoding('utf8').on('data', (c: string) => (ready += c.split('ready').length - 1));
          child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
          child.on('close', (code) => resolve({ code, stderr }));
        }),
    ),
  );
  return { exits, ready: () => ready };
}

describe('appends are safe by construction', () => {
  it('the one writer of a fresh bundle appends in append mode: bytes another process appended are never overwritten', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'b');
      const recorder = createRecorder(bundle, { redact: false });
      const flow = flowSnapshot('exclusive', [{ id: 'a', nodeType: 'compute' }]);
      recorder.onEvent({ type: 'run.started', runId: 'r', flow, input: {}, cwd: dir.path, deterministic: false }, T0);
      await recorder.flush();
      // Someone else's line lands at the end of the file (another process, an editor, a misbehaving tool).
      const foreign = '{"seq":2,"at":"2026-01-01T00:00:00.001Z","runId":"r","scope":"node","type":"node.heartbeat","nodeId":"x","attemptId":"x#1","payload":{"elapsedMs":1}}';
      appendFileSync(join(bundle, 'trace.ndjson'), `${foreign}\n`);
      recorder.onEvent({ type: 'node.started', nodeId: 'a', attemptId: 'a#1', nodeType: 'compute', attempt: 1 }, T0 + 1);
      recorder.onEvent({ type: 'node.outcome', nodeId: 'a', attemptId: 'a#1', outcome: 'ok', durationMs: 0 }, T0 + 2);
      await recorder.flush();
      const lines = readFileSync(join(bundle, 'trace.ndjson'), 'utf8').split('\n');
      assert.equal(lines[1], foreign, 'the foreign line is intact, where it was');
      assert.deepEqual(lines.slice(2, 4).map((l) => (JSON.parse(l) as { type: string }).type), ['node.started', 'node.outcome'], 'our lines follow it whole');
      await recorder.close();
    } finally {
      await dir.remove();
    }
  });

  it('a shared writer refuses, with one line, to join a bundle whose exclusive writer (flowtape run) is alive', async () => {
    const dir = await tempDir();
    const release = join(dir.path, 'release');
    let running: ReturnType<typeof spawnCli> | undefined;
    try {
      await writeFile(
        join(dir.path, 'held.flow.ts'),
        `import { existsSync } from 'node:fs';
import { compute, defineFlow } from ${JSON.stringify(recorderEntry)};
export default defineFlow({
  name: 'held',
  startAt: 'hold',
  nodes: {
    hold: compute({ run: async () => { while (!existsSync(${JSON.stringify(release)})) await new Promise((r) => setTimeout(r, 20)); return 'released'; } }),
    after: compute({ run: () => 'done' }),
  },
  edges: [{ from: 'hold', to: 'after' }],
});
`,
      );
      const run = spawnCli(['run', 'held.flow.ts', '--out', 'runs', '--run-id', 'held-1', '-q'], { cwd: dir.path });
      running = run;
      const bundle = join(dir.path, 'runs', 'held-1');
      // The manifest is written before the first trace line (SPEC, writing discipline), so wait for both files.
      await waitFor(() => existsSync(join(bundle, 'trace.ndjson')) && traceOf(bundle).some((e) => e.type === 'node.started'), 60_000, 'the run to start its node');
      const manifest = readJson<{ writer: { pid?: number; exclusive?: boolean } }>(join(bundle, 'manifest.json'));
      assert.equal(manifest.writer.exclusive, true, 'the manifest says its writer is exclusive');
      assert.equal(manifest.writer.pid, run.child.pid);

      const go = join(dir.path, 'go');
      writeFileSync(go, '');
      const workers = runWorkers(bundle, [1], 20, go);
      const [joiner] = await workers.exits;
      assert.equal(joiner!.code, 2, joiner!.stderr);
      const lines = joiner!.stderr.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, joiner!.stderr);
      assert.match(lines[0]!, new RegExp(`held-1: its exclusive writer \\(pid ${run.child.pid}\\b.*\\) is alive: a shared writer may not join it`));

      writeFileSync(release, '');
      const result = await run.done;
      assert.equal(result.code, 0, result.stderr);
      const trace = traceOf(bundle);
      assertContiguous(trace.map((e) => e.seq));
      assert.equal(trace.filter((e) => e.nodeId === 'w1').length, 0, 'the refused writer wrote nothing');
      const report = await verifyBundle(bundle);
      assert.deepEqual(report.problems, []);
      assert.equal(report.summary.lastSeq, trace.length);
      assert.equal(readJson<{ writer: { exclusive?: boolean } }>(join(bundle, 'manifest.json')).writer.exclusive, undefined, 'gone once the writer closed');
    } finally {
      // Never leave the held run behind when an assertion failed.
      if (running && running.child.exitCode === null) {
        writeFileSync(release, '');
        await Promise.race([running.done, new Promise((resolve) => setTimeout(resolve, 20_000))]);
        if (running.child.exitCode === null) running.child.kill('SIGKILL');
      }
      await dir.remove();
    }
  });

  it('4 processes appending ACP turns to one session: every seq of events.ndjson once, references and records consistent', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'b');
      const flow = flowSnapshot('sessions', [{ id: 'x', nodeType: 'acp', sessionMode: 'shared', sessionHandle: 'main' }]);
      const owner = createRecorder(bundle, { shared: true, redact: false });
      let t = T0;
      const x1 = { nodeId: 'x', attemptId: 'x#1' };
      owner.onEvent({ type: 'run.started', runId: 'r', flow, input: {}, cwd: dir.path, deterministic: false }, t++);
      owner.onEvent({ type: 'node.started', ...x1, nodeType: 'acp', attempt: 1 }, t++);
      owner.onEvent({ type: 'acp.traffic', sessionId: 's1', attemptId: 'x#1', direction: 'outgoing', message: { jsonrpc: '2.0', id: 1, method: 'session/new', params: { cwd: dir.path, mcpServers: [] } } }, t++);
      owner.onEvent({ type: 'acp.traffic', sessionId: 's1', attemptId: 'x#1', direction: 'incoming', message: { jsonrpc: '2.0', id: 1, result: { sessionId: 'acp-1' } } }, t++);
      owner.onEvent({ type: 'session.bound', ...x1, sessionId: 's1', handle: 'main', acpSessionId: 'acp-1', mode: 'shared', reused: false, agentCommand: ['agent'], cwd: dir.path }, t++);
      await owner.flush();

      const perWorker = 40;
      const go = join(dir.path, 'go');
      const workers = runWorkers(bundle, [1, 2, 3, 4], perWorker, go, 'session');
      await waitFor(() => workers.ready() === 4, 60_000, 'the 4 workers to be ready');
      writeFileSync(go, '');
      for (const exit of await workers.exits) assert.equal(exit.code, 0, exit.stderr);
      owner.onEvent({ type: 'node.outcome', ...x1, outcome: 'ok', durationMs: 1 }, t++);
      owner.onEvent({ type: 'run.completed', output: null, durationMs: 1 }, t++);
      await owner.close();

      const events = readLines<{ seq: number; attemptId?: string }>(join(bundle, 'sessions/s1/events.ndjson'));
      assert.equal(events.length, 2 + 4 * perWorker * 3);
      const seqs = events.map((e) => e.seq);
      assert.equal(new Set(seqs).size, seqs.length, `duplicate seqs: ${seqs.length - new Set(seqs).size}`);
      assertContiguous(seqs);
      // The workers' lines interleave in the one file: they did append at the same time.
      const owners = events.map((e) => e.attemptId?.split('#')[0]);
      assert.ok(owners.filter((o, i) => i > 0 && o !== owners[i - 1]).length > 4, 'the processes interleave');
      const trace = traceOf(bundle);
      assertContiguous(trace.map((e) => e.seq));
      // Every acp.prompt_sent names its own session/prompt line (verify checks owner and claims as well).
      for (const e of trace.filter((l) => l.type === 'acp.prompt_sent')) {
        const line = events[e.payload.sessionEventSeq - 1] as { attemptId?: string; message?: { method?: string } };
        assert.equal(line.message?.method, 'session/prompt');
        assert.equal(line.attemptId, e.attemptId);
      }
      const report = await verifyBundle(bundle);
      assert.deepEqual(report.problems, []);
      assert.equal(report.summary.status, 'completed');
    } finally {
      await dir.remove();
    }
  });
});
