// `complete: true` only once every file of the bundle is durable (SPEC, writing discipline rule 6): which files the
// recorder fsyncs at close, and that the manifest saying complete is fsynced after all of them. fs.fsync is wrapped
// (the real fsync still runs, fs-call-log.ts) to see the order; the recorder is driven by hand, as in recorder-writer.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRecorder } from '../src/bundle/index.ts';
import { record } from '../src/record.ts';
import { compute, defineFlow, type LifecycleEvent } from '../src/runtime/index.ts';
import { fsCallLog } from './fs-call-log.ts';
import { flowSnapshot, readJson, tempDir } from './recorder-support.ts';

const rpc = (message: Record<string, unknown>) => ({ jsonrpc: '2.0', ...message });
const ask1 = { nodeId: 'ask', attemptId: 'ask#1' };
const flow = flowSnapshot('durable', [{ id: 'ask', nodeType: 'acp', sessionMode: 'shared', sessionHandle: 'main' }]);

const run: LifecycleEvent[] = [
  { type: 'run.started', runId: 'run-1', flow, input: { big: 'x'.repeat(5000) }, cwd: '/somewhere', deterministic: false },
  { type: 'node.started', ...ask1, nodeType: 'acp', attempt: 1 },
  { type: 'acp.traffic', sessionId: 's1', attemptId: 'ask#1', direction: 'outgoing', message: rpc({ id: 0, method: 'initialize', params: { protocolVersion: 1 } }) },
  { type: 'acp.traffic', sessionId: 's1', attemptId: 'ask#1', direction: 'incoming', message: rpc({ id: 0, result: { protocolVersion: 1 } }) },
  { type: 'session.bound', ...ask1, sessionId: 's1', handle: 'main', acpSessionId: 'acp-1', mode: 'shared', reused: false, agentCommand: ['agent'], cwd: '/somewhere', protocolVersion: 1 },
  { type: 'node.outcome', ...ask1, outcome: 'ok', durationMs: 5, output: 'Done.' },
  { type: 'run.completed', output: null, durationMs: 30 },
];

test('close fsyncs every file the bundle holds (flow.json and bindings included), renames the complete manifest into place only after every fsync returned, then fsyncs the bundle folder and the folder the writer made it in', async () => {
  const dir = await tempDir();
  try {
    const bundle = `${dir.path}/b`;
    const log = await fsCallLog(dir.path, 'return', async () => {
      const recorder = createRecorder(bundle);
      let t = Date.UTC(2026, 0, 1);
      for (const event of run) recorder.onEvent(event, t++);
      const summary = await recorder.close();
      assert.equal(summary.complete, true);
    });
    assert.equal(readJson<{ complete: boolean }>(`${bundle}/manifest.json`).complete, true);
    const complete = log.lastIndexOf('rename b/manifest.json');
    assert.ok(complete > 0, `the complete manifest is renamed into place (${log.join(', ')})`);
    const before = log.slice(0, complete);
    for (const file of [
      'b/trace.ndjson',
      'b/flow.json',
      'b/sessions/s1/events.ndjson',
      'b/sessions/s1/binding.json',
      'b/sessions/s1/record.json',
      'b/projections/run.json',
      'b/projections/live.json',
      'b/projections/steps.json',
      'b/manifest.json (temp)',
      'b',
      'b/projections',
      'b/sessions/s1',
      'b/sessions',
    ]) {
      assert.ok(before.includes(`sync ${file}`), `${file} is fsynced before the manifest saying complete is in place (${log.join(', ')})`);
    }
    assert.ok(before.some((f) => /^sync b\/artifacts\/sha256-/.test(f)), 'the artifact is fsynced');
    // The writer made b: its name, in the folder holding it, is made durable with the rename (in either order).
    assert.deepEqual(log.slice(complete).sort(), ['rename b/manifest.json', 'sync .', 'sync b'], 'then the rename and the new folder are made durable, and nothing else happens');
  } finally {
    await dir.remove();
  }
});

test('record() fsyncs the name of every folder it made for the bundle (the runs root and its missing parents) before it returns', async () => {
  const dir = await tempDir();
  try {
    const flow = defineFlow({ name: 'made', startAt: 'a', nodes: { a: compute({ run: () => 1 }) }, edges: [] });
    const log = await fsCallLog(dir.path, 'return', async () => {
      const result = await record(flow, null, { cwd: dir.path, outDir: 'runs/deep', runId: 'r1' });
      assert.equal(result.status, 'completed');
    });
    const complete = log.lastIndexOf('rename runs/deep/r1/manifest.json');
    assert.ok(complete > 0, `the complete manifest is renamed into place (${log.join(', ')})`);
    // record() made runs/, runs/deep/ and runs/deep/r1/: each name lives in the folder above it.
    for (const folder of ['.', 'runs', 'runs/deep']) {
      assert.ok(log.includes(`sync ${folder}`), `${folder} is fsynced before record() returns (${log.join(', ')})`);
    }
    assert.ok(log.slice(complete).includes('sync runs/deep/r1'), 'the bundle folder is fsynced after the rename');
  } finally {
    await dir.remove();
  }
});
