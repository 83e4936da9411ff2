// An agent that never answers `initialize` (and, in variants, ignores SIGTERM or floods stderr): the node times
// out, and the run ends within the node timeout plus the kill grace — it does not wait for the start to settle —
// with the agent process gone. Real agent processes (small node scripts), no mocks.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isGroupAlive, isProcessAlive } from '../src/acp/index.ts';
import { acp, defineFlow, runFlow, type LifecycleEvent } from '../src/runtime/index.ts';
import { timeoutOver } from './recorder-support.ts';
import { assertNoChildren, assertOneOutcomePerAttempt, assertOneRunEnd, childPids, Collector, tempDir } from './runtime-support.ts';

let dir: { path: string; remove(): Promise<void> };
let baseline: number[] = [];

before(async () => {
  dir = await tempDir('flowtape-acp-start-');
  baseline = childPids();
  TIMEOUT_MS = timeoutOver(await muteStartMs(), 1_000);
});
after(() => dir.remove());

/** Agent behaviours: each writes its pid to argv[2] (after installing its signal handlers), reads stdin and never
 *  answers anything. */
const agents = {
  silent: '',
  'ignoring SIGTERM and its stdin closing': `process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);`,
  'flooding stderr': `setImmediate(() => flood()); const line = 'noise '.repeat(150) + '\\n';
    const flood = () => { while (process.stderr.write(line)); process.stderr.once('drain', flood); };`,
};

async function agentScript(name: string, behaviour: string): Promise<{ command: string[]; pidFile: string }> {
  const file = join(dir.path, `${name.replace(/\W+/g, '-')}.cjs`);
  const pidFile = `${file}.pid`;
  await writeFile(file, `${behaviour}
process.stdin.resume();
require('node:fs').writeFileSync(process.argv[2], String(process.pid));
`);
  return { command: [process.execPath, file, pidFile], pidFile };
}

/** How long a mute agent takes here and now to start and write its pid (it is killed then). */
async function muteStartMs(): Promise<number> {
  const { command, pidFile } = await agentScript('probe', agents.silent);
  const started = performance.now();
  const child = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'ignore', 'ignore'] });
  try {
    while (!existsSync(pidFile)) await new Promise((resolve) => setTimeout(resolve, 10));
    return performance.now() - started;
  } finally {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
  }
}

/** The documented kill grace (2 s: SIGTERM, then SIGKILL), and slack for a loaded machine. */
const GRACE_MS = 2_000 + 4_000;
/**
 * The node timeout: 1 s, or longer where an agent's start takes long (a load average of 20): the agents must be up,
 * pid written and handlers installed, before it strikes, or the test checks less than it says.
 */
let TIMEOUT_MS = 1_000;

describe('ACP nodes: an agent that never answers initialize', () => {
  for (const [name, behaviour] of Object.entries(agents)) {
    it(`${name}: the node times out and the run ends within timeout + grace, the agent gone`, async () => {
      const { command, pidFile } = await agentScript(name, behaviour);
      const flow = defineFlow({ name: 'mute', startAt: 'ask', nodes: { ask: acp({ prompt: 'hello', timeoutMs: TIMEOUT_MS }) }, edges: [] });
      const seen = new Collector();
      const started = Date.now();
      const result = await runFlow(flow, null, { cwd: dir.path, observer: seen, agentCommand: command });
      const elapsed = Date.now() - started;

      assert.ok(existsSync(pidFile), 'the agent was started');
      const pid = Number(readFileSync(pidFile, 'utf8'));
      assert.equal(isProcessAlive(pid), false, `agent ${pid} is gone when the run ends`);
      assert.equal(isGroupAlive(pid), false, `nothing of agent group ${pid} is left`);
      assertNoChildren(baseline);
      assert.ok(elapsed < TIMEOUT_MS + GRACE_MS, `the run ended in ${elapsed} ms (limit ${TIMEOUT_MS + GRACE_MS} ms)`);

      assert.equal(result.status, 'failed');
      const [outcome] = seen.of('node.outcome');
      assert.equal(outcome?.outcome, 'timed_out');
      assert.equal(outcome?.error?.code, 'node_timeout');
      const sent = seen.of('acp.traffic').filter((t) => t.direction === 'outgoing');
      assert.deepEqual(sent.map((t) => (t.message as { method?: string }).method), ['initialize'], 'initialize was sent, nothing after');
      assert.equal(seen.of('session.failed').length, 1, 'the handshake is recorded as a failed session');
      if (name === 'flooding stderr') {
        const lines = seen.of('acp.traffic').filter((t) => t.direction === 'stderr').length;
        assert.ok(lines > 1_000, `the flood reached the recorder (${lines} stderr lines)`);
      }
      assertOneOutcomePerAttempt(seen.events);
      assertOneRunEnd(seen.events, 'run.failed');
    });
  }

  it('a run cancelled while the agent starts ends within the grace too', async () => {
    const { command, pidFile } = await agentScript('cancelled', agents['ignoring SIGTERM and its stdin closing']);
    const flow = defineFlow({ name: 'mute', startAt: 'ask', nodes: { ask: acp({ prompt: 'hello' }) }, edges: [] });
    const controller = new AbortController();
    let abortedAt = 0;
    const seen = new Collector();
    const observer = {
      onEvent(event: LifecycleEvent, at: number) {
        seen.onEvent(event, at);
        if (event.type !== 'acp.traffic' || event.direction !== 'outgoing') return;
        // Cancel once the agent is up (it wrote its pid) and holds the unanswered initialize.
        const poll = setInterval(() => {
          if (!existsSync(pidFile)) return;
          clearInterval(poll);
          abortedAt = Date.now();
          controller.abort('SIGINT');
        }, 20);
      },
    };
    const result = await runFlow(flow, null, { cwd: dir.path, observer, agentCommand: command, signal: controller.signal });
    // Measured from the cancel (once the agent is up), not from a start that takes seconds on a loaded machine.
    const elapsed = Date.now() - abortedAt;
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.equal(isGroupAlive(pid), false, `nothing of agent group ${pid} is left`);
    assertNoChildren(baseline);
    assert.ok(abortedAt > 0, 'the run was cancelled by the test');
    assert.ok(elapsed < GRACE_MS, `the run ended ${elapsed} ms after the cancel (limit ${GRACE_MS} ms)`);
    assert.equal(result.status, 'cancelled');
    assert.deepEqual(seen.of('node.outcome').map((e) => e.outcome), ['cancelled']);
    assertOneRunEnd(seen.events, 'run.cancelled');
  });
});
