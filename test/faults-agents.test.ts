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

/** events.ndjson has the session/new request and the agent's refusal answering it. */
function assertRefused(lines: FailedSession['lines']): void {
  const request = lines.find((l) => l.direction === 'outgoing' && l.message?.method === 'session/new');
  assert.ok(request, 'the session/new request is recorded');
  const answer = lines.find((l) => l.direction === 'incoming' && l.message?.id === request.message?.id && l.message?.error);
  assert.equal(answer?.message?.error?.message, 'Authentication required');
}

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

interface FailedSession {
  failed: { sessionId?: string; payload: { handle: string; path: string; error: { message: string; code?: string } } };
  binding: { acpSessionId?: string; boundBy?: string; error?: { message: string; code?: string } };
  lines: Array<{ direction: string; text?: string; message?: { method?: string; id?: unknown; error?: { message: string }; result?: { agentInfo?: { name?: string } } } }>;
}

/** The failed session is in the bundle: `session.failed` before the failed outcome, listed, a binding with the error. */
function failedSession(bundleDir: string, error: { message: string; code: string }): FailedSession {
  const trace = traceOf(bundleDir);
  const at = trace.findIndex((e) => e.type === 'session.failed');
  assert.ok(at >= 0, 'the trace has session.failed');
  const failed = trace[at] as unknown as FailedSession['failed'] & { attemptId?: string };
  assert.equal(failed.attemptId, 'ask#1');
  assert.equal(failed.sessionId, 's1');
  assert.equal(failed.payload.path, 'sessions/s1');
  assert.deepEqual(failed.payload.error, { message: error.message, code: error.code });
  const outcome = trace.findIndex((e) => e.type === 'node.outcome' && e.attemptId === 'ask#1');
  assert.ok(at < outcome, 'session.failed comes before the outcome of the attempt');
  assert.ok(!trace.some((e) => e.type === 'session.bound'), 'no session.bound');
  const manifest = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8')) as { sessions: Array<{ sessionId: string; path: string }> };
  assert.deepEqual(manifest.sessions, [{ sessionId: 's1', path: 'sessions/s1' }]);
  const binding = JSON.parse(readFileSync(join(bundleDir, 'sessions/s1/binding.json'), 'utf8')) as FailedSession['binding'];
  assert.equal(binding.acpSessionId, undefined);
  assert.equal(binding.boundBy, 'ask#1');
  assert.deepEqual(binding.error, failed.payload.error);
  const steps = JSON.parse(readFileSync(join(bundleDir, 'projections/steps.json'), 'utf8')) as { steps: Array<{ attemptId: string; sessionId?: string }> };
  assert.equal(steps.steps.find((s) => s.attemptId === 'ask#1')?.sessionId, 's1', 'the attempt links to the session');
  assert.ok(existsSync(join(bundleDir, 'sessions/s1/record.json')));
  return { failed, binding, lines: readLines(join(bundleDir, 'sessions/s1/events.ndjson')) };
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
      const { lines } = failedSession(join(dir.path, 'bundle'), error);
      assert.deepEqual(lines, [], 'nothing crossed stdio: events.ndjson is empty');
      assert.deepEqual(processesMentioning(dir.path), []);
    } finally {
      await dir.remove();
    }
  });

  it('an agent that exits during initialize: failed node "agent_exited", the session recorded with its stderr', async () => {
    const dir = await tempDir('flowtape-fault-');
    try {
      const agent = [process.execPath, '-e', 'process.stderr.write("cannot start: no config\\n"); process.exit(2)'];
      const { error, bundleDir } = await runFaulty(dir.path, { agentCommand: agent });
      assert.equal(error.code, 'agent_exited');
      const { lines } = failedSession(bundleDir, error);
      assert.equal(lines[0]?.message?.method, 'initialize', 'the initialize request is recorded');
      assert.ok(lines.some((l) => l.direction === 'stderr' && l.text === 'cannot start: no config'), 'the agent stderr is recorded');
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
      assert.ok(!traceOf(bundleDir).some((e) => e.type === 'session.failed'), 'the session had started: no session.failed');
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
      assert.equal(error.code, 'auth_required');
      // Named by its agentInfo (the scripted agent's default name), not by its interpreter ("agent node:").
      assert.equal(error.message, 'node "ask": agent flowtape-scripted-agent: agent refused session/new: Authentication required: the agent needs a login; it offers no auth method flowtape can use: log in with the agent itself first');
      // The refused exchange is kept and the session is listed (verify has nothing to note about it).
      const { lines } = failedSession(bundleDir, error);
      assertRefused(lines);
      assert.deepEqual(report.notes.filter((n) => n.includes('sessions/s1')), []);
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
      assert.equal(error.code, 'auth_required');
      assert.match(error.message, /^node "ask": agent codex-acp: agent refused session\/new: Authentication required: the agent needs a login; it offers chatgpt .*codex-api-key \(set CODEX_API_KEY\)/);
      const { lines } = failedSession(bundleDir, error);
      assert.ok(lines.some((l) => l.message?.result?.agentInfo?.name === 'codex-acp'), 'the real agent answered initialize');
      assertRefused(lines);
      const binding = JSON.parse(readFileSync(join(bundleDir, 'sessions/s1/binding.json'), 'utf8')) as { agent?: { name: string } };
      assert.equal(binding.agent?.name, 'codex-acp', 'the binding names the agent that answered initialize');
      assert.deepEqual(processesWithEnv(home), [], 'codex-acp and its native child are gone');
    } finally {
      await dir.remove();
    }
  });
});
