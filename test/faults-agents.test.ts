// Agents that go wrong: missing, exiting mid-turn, refusing session/new (the scripted agent and the real
// codex-acp without credentials). Each run ends with a failed node, a clear error, a complete valid bundle, and
// no process left behind.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { acp, compute, defineFlow, record, verifyBundle, type RecordOptions } from '@flowtape/recorder';
import { processesMentioning, readLines, scriptedAgent, tempDir, traceOf } from '../recorder/test/recorder-support.ts';

const codexBin = fileURLToPath(new URL('../recorder/node_modules/.bin/codex-acp', import.meta.url));

const flow = defineFlow({
  name: 'faulty-agent',
  startAt: 'prep',
  nodes: {
    prep: compute({ run: () => ({ ready: true }) }),
    ask: acp({ prompt: 'Do the work' }),
  },
  edges: [{ from: 'prep', to: 'ask' }],
});

/** Pids of live processes whose environment contains `marker` (codex-acp's native child does not name it in argv). */
function processesWithEnv(marker: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'utf8').includes(marker) && !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${name}/stat`, 'utf8'))) {
        pids.push(Number(name));
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

async function runFaulty(dir: string, options: RecordOptions) {
  const bundleDir = join(dir, 'bundle');
  const result = await record(flow, {}, { cwd: dir, bundleDir, ...options });
  const report = await verifyBundle(bundleDir);
  assert.deepEqual(report.problems.map((p) => p.message), [], 'the bundle is valid');
  assert.equal(report.summary.complete, true, 'the bundle is complete');
  assert.equal(result.status, 'failed');
  const outcome = traceOf(bundleDir).find((e) => e.type === 'node.outcome' && e.attemptId === 'ask#1')!;
  assert.equal(outcome.payload.outcome, 'failed');
  const runFailed = traceOf(bundleDir).at(-1)!;
  assert.equal(runFailed.type, 'run.failed');
  return { result, bundleDir, error: outcome.payload.error as { message: string; code: string }, report };
}

describe('faults: agents', () => {
  it('an agent command that does not exist: failed node "agent_missing", valid bundle', async () => {
    const dir = await tempDir('flowtape-fault-');
    try {
      const missing = join(dir.path, 'no-such-agent');
      const { error, result } = await runFaulty(dir.path, { agentCommand: [missing, '--acp'] });
      assert.equal(error.code, 'agent_missing');
      assert.match(error.message, /^node "ask": agent no-such-agent: agent command not found: .*no-such-agent$/);
      assert.match(result.error!.message, /agent command not found/);
      assert.deepEqual(processesMentioning(dir.path), []);
    } finally {
      await dir.remove();
    }
  });

  it('an agent that exits mid-turn: failed node "agent_exited", the partial turn recorded, no process left', async () => {
    const dir = await tempDir('flowtape-fault-');
    try {
      const agent = await scriptedAgent(dir.path, 'crash', {
        turns: [{ match: 'Do the work', steps: [{ message: 'Starting…' }, { stderr: 'fatal: out of memory' }, { exit: 3 }] }],
      });
      const { error, bundleDir } = await runFaulty(dir.path, { agentCommand: agent });
      assert.equal(error.code, 'agent_exited');
      assert.match(error.message, /exit|code 3/);
      const turn = traceOf(bundleDir).find((e) => e.type === 'acp.turn_finished')!;
      assert.equal(turn.payload.stopReason, null);
      assert.ok(turn.payload.error, 'the turn carries the error');
      const lines = readLines<{ direction: string; text?: string }>(join(bundleDir, 'sessions/s1/events.ndjson'));
      assert.ok(lines.some((l) => l.direction === 'stderr' && l.text === 'fatal: out of memory'), 'the agent stderr is in the session events');
      assert.deepEqual(processesMentioning(dir.path), []);
    } finally {
      await dir.remove();
    }
  });

  it('an agent that refuses session/new (scripted): failed node with the agent\'s reason', async () => {
    const dir = await tempDir('flowtape-fault-');
    try {
      const agent = await scriptedAgent(dir.path, 'noauth', { sessionNew: { error: { code: -32000, message: 'Authentication required' } }, turns: [] });
      const { error, bundleDir, report } = await runFaulty(dir.path, { agentCommand: agent });
      assert.equal(error.code, 'rpc_error');
      assert.equal(error.message, 'node "ask": agent node: agent refused session/new: Authentication required');
      // The refused exchange is kept: the session never got bound, so the manifest does not list it (verify notes it).
      const lines = readLines<{ message?: { method?: string; error?: { message: string } } }>(join(bundleDir, 'sessions/s1/events.ndjson'));
      assert.equal(lines.at(-1)!.message?.error?.message, 'Authentication required');
      assert.ok(report.notes.some((n) => n.includes('sessions/s1 is not listed')));
      assert.deepEqual(processesMentioning(dir.path), []);
    } finally {
      await dir.remove();
    }
  });

  it('the real codex-acp without credentials refuses session/new: failed node, valid bundle, no process left', async () => {
    assert.ok(existsSync(codexBin), `${codexBin} is installed (a dev dependency of recorder)`);
    const dir = await tempDir('flowtape-fault-codex-');
    try {
      const home = join(dir.path, 'home');
      await mkdir(home);
      const { error, bundleDir } = await runFaulty(dir.path, {
        agentCommand: codexBin,
        agentEnv: { HOME: home, CODEX_HOME: home, OPENAI_API_KEY: '', CODEX_API_KEY: '' },
      });
      assert.equal(error.code, 'rpc_error');
      assert.equal(error.message, 'node "ask": agent codex-acp: agent refused session/new: Authentication required');
      const lines = readLines<{ message?: { result?: { agentInfo?: { name?: string } } } }>(join(bundleDir, 'sessions/s1/events.ndjson'));
      assert.ok(lines.some((l) => l.message?.result?.agentInfo?.name === 'codex-acp'), 'the real agent answered initialize');
      assert.deepEqual(processesWithEnv(home), [], 'codex-acp and its native child are gone');
    } finally {
      await dir.remove();
    }
  });
});
