// Signals through the real CLI: SIGINT cancels the run (the interrupted attempt gets its outcome, the bundle is
// complete and valid, no process is left); SIGKILL leaves a bundle the reader still opens and verify explains.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createReadStream } from 'node:fs';
import { readTrace, type ReadIssue } from '@flowtape/schema';
import { verifyBundle } from '@flowtape/recorder';
import { isProcessAlive } from '../recorder/src/acp/index.ts';
import {
  processesMentioning,
  readJson,
  recorderEntry,
  runCli,
  scriptedAgent,
  spawnCli,
  tempDir,
  traceOf,
  waitFor,
} from '../recorder/test/recorder-support.ts';

const header = `import { acp, compute, defineFlow, shell } from ${JSON.stringify(recorderEntry)};\n`;

describe('faults: signals', () => {
  it('SIGINT during an ACP turn: run cancelled, the attempt gets a cancelled outcome, exit 1, no agent left', async () => {
    const dir = await tempDir('flowtape-sigint-');
    try {
      const agent = await scriptedAgent(dir.path, 'slow', { turns: [{ match: 'Think hard', steps: [{ message: 'Thinking…' }, { hang: true }] }] });
      await writeFile(
        join(dir.path, 'slow.flow.ts'),
        `${header}export default defineFlow({ name: 'slow', startAt: 'a', nodes: { a: compute({ run: () => 1 }), b: acp({ prompt: 'Think hard' }) }, edges: [{ from: 'a', to: 'b' }] });`,
      );
      const cli = spawnCli(['run', 'slow.flow.ts', '--agent', agent.map((a) => JSON.stringify(a)).join(' ')], { cwd: dir.path });
      // Wait until the agent is mid-turn: its first message is in the session events.
      const runs = join(dir.path, '.flowtape/runs');
      await waitFor(() => cli.output().stderr.includes('▸ b#1 (acp)'), 20_000, 'the ACP node to start');
      await waitFor(() => {
        const bundle = existsSync(runs) ? singleBundle(runs) : undefined;
        return bundle && existsSync(join(bundle, 'sessions/s1/events.ndjson')) && readFileSync(join(bundle, 'sessions/s1/events.ndjson'), 'utf8').includes('Thinking');
      }, 20_000, 'the agent to be mid-turn');
      cli.child.kill('SIGINT');
      const result = await cli.done;
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /SIGINT: cancelling the run/);
      assert.match(result.stderr, /✗ b#1 cancelled/);
      assert.match(result.stderr, /run cancelled in \d+ ms/);
      const bundle = result.stdout.trim();
      const trace = traceOf(bundle);
      const outcome = trace.filter((e) => e.type === 'node.outcome' && e.attemptId === 'b#1');
      assert.equal(outcome.length, 1, 'exactly one outcome for the interrupted attempt');
      assert.equal(outcome[0]!.payload.outcome, 'cancelled');
      assert.equal(trace.at(-1)!.type, 'run.cancelled');
      assert.equal(trace.at(-1)!.payload.reason, 'SIGINT');
      const report = await verifyBundle(bundle);
      assert.deepEqual(report.problems, []);
      assert.equal(report.summary.status, 'cancelled');
      assert.equal(report.summary.complete, true);
      assert.deepEqual(processesMentioning(dir.path), [], 'the agent is gone');
    } finally {
      await dir.remove();
    }
  });

  it('SIGINT during a shell action: the command is stopped and the action gets its receipt', async () => {
    const dir = await tempDir('flowtape-sigint-');
    try {
      const marker = `${Math.floor(Math.random() * 1000) + 100}.4321`;
      await writeFile(
        join(dir.path, 'sleep.flow.ts'),
        `${header}export default defineFlow({ name: 'sleepy', startAt: 's', nodes: { s: shell({ exec: { command: 'sleep', args: ['${marker}'] } }) }, edges: [] });`,
      );
      const cli = spawnCli(['run', 'sleep.flow.ts', '--json'], { cwd: dir.path });
      await waitFor(() => processesMentioning(marker).length > 0, 20_000, 'the sleep to start');
      cli.child.kill('SIGINT');
      const result = await cli.done;
      assert.equal(result.code, 1, result.stderr);
      const { bundle, status } = JSON.parse(result.stdout) as { bundle: string; status: string };
      assert.equal(status, 'cancelled');
      const trace = traceOf(bundle);
      const receipt = trace.find((e) => e.type === 'action.completed')!;
      assert.equal(receipt.payload.ok, false);
      assert.deepEqual(trace.filter((e) => e.type === 'node.outcome').map((e) => e.payload.outcome), ['cancelled']);
      assert.deepEqual((await verifyBundle(bundle)).problems, []);
      assert.deepEqual(processesMentioning(marker), [], 'sleep is gone');
    } finally {
      await dir.remove();
    }
  });

  it('SIGKILL mid-run: the reader still opens the bundle, a torn tail is reported, verify explains', async () => {
    const dir = await tempDir('flowtape-sigkill-');
    try {
      await writeFile(
        join(dir.path, 'loop.flow.ts'),
        `${header}export default defineFlow({
          name: 'forever',
          startAt: 'tick',
          nodes: { tick: compute({ run: ({ outputs }) => ({ n: (outputs.tick?.n ?? 0) + 1, pad: 'x'.repeat(100) }) }), end: compute({ run: () => 0 }) },
          edges: [{ from: 'tick', switch: { on: '$.n', cases: { '-1': 'end' }, default: 'tick' } }],
        });`,
      );
      const cli = spawnCli(['run', 'loop.flow.ts', '--quiet', '--run-id', 'killed'], { cwd: dir.path });
      const bundle = join(dir.path, '.flowtape/runs/killed');
      const trace = join(bundle, 'trace.ndjson');
      await waitFor(() => existsSync(trace) && statSync(trace).size > 200_000, 30_000, 'a long trace');
      cli.child.kill('SIGKILL');
      await cli.done;

      const manifest = readJson<{ complete: boolean; status: string; writer: { pid: number } }>(join(bundle, 'manifest.json'));
      assert.equal(manifest.complete, false);
      assert.equal(manifest.status, 'running');
      // Simulate the kill landing in the middle of a write: cut the last line short.
      const size = statSync(trace).size;
      truncateSync(trace, size - 7);

      const issues: ReadIssue[] = [];
      let events = 0;
      let lastSeq = 0;
      for await (const { event } of readTrace(createReadStream(trace), { onIssue: (issue) => issues.push(issue) })) {
        events++;
        lastSeq = event.seq;
      }
      const wholeLines = readFileSync(trace, 'utf8').split('\n').length - 1;
      assert.ok(wholeLines > 100, `a long trace was written before the kill (${wholeLines} lines)`);
      assert.equal(events, wholeLines, 'the reader gets every whole line');
      assert.equal(lastSeq, events, 'contiguous up to the torn line');
      assert.deepEqual(issues.map((i) => i.problem), ['torn_tail']);

      const result = await runCli(['verify', bundle], { cwd: dir.path });
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.match(result.stdout, new RegExp(`^trace\\.ndjson:${events + 1}: torn last line \\(\\d+ characters without a newline\\): the writer stopped mid-append; \`flowtape repair\` removes it$`, 'm'));
      // The writer was killed: verify knows it is gone and says how to end the run (it said "still going or stopped").
      assert.match(result.stdout, /^note: the bundle is not complete \(status "running"\): the writer \(pid \d+\) is gone; `flowtape repair` ends the run as abandoned$/m);
      assert.doesNotMatch(result.stdout, /projections\/.*differs/, 'projections match the trace at their own seq');
      assert.doesNotMatch(result.stdout + result.stderr, /^\s+at /m);
      // ls sees the dead writer.
      const ls = await runCli(['ls', join(dir.path, '.flowtape/runs'), '--json'], { cwd: dir.path });
      assert.equal((JSON.parse(ls.stdout) as Array<{ abandoned?: boolean }>)[0]!.abandoned, true);
    } finally {
      await dir.remove();
    }
  });

  it('SIGKILL during the ACP handshake: repair records the session as failed with its traffic, and verify passes', async () => {
    const dir = await tempDir('flowtape-sigkill-handshake-');
    try {
      // An agent that answers initialize, then never answers session/new (and leaves when its stdin closes).
      const agentFile = join(dir.path, 'stuck-agent.mjs');
      await writeFile(
        agentFile,
        `import { createInterface } from 'node:readline';
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const message = JSON.parse(line);
  if (message.method === 'initialize') {
    process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: message.id, result: { protocolVersion: 1, agentCapabilities: {}, authMethods: [], agentInfo: { name: 'stuck-agent', version: '1.0.0' } } }) + '\\n');
  } else if (message.method === 'session/new') {
    process.stderr.write('thinking about session/new forever\\n');
  }
});
lines.on('close', () => process.exit(0));
`,
      );
      await writeFile(
        join(dir.path, 'stuck.flow.ts'),
        `${header}export default defineFlow({ name: 'stuck', startAt: 'a', nodes: { a: compute({ run: () => 1 }), b: acp({ prompt: 'hello' }) }, edges: [{ from: 'a', to: 'b' }] });`,
      );
      const agent = [process.execPath, agentFile].map((a) => JSON.stringify(a)).join(' ');
      const cli = spawnCli(['run', 'stuck.flow.ts', '--quiet', '--run-id', 'handshake', '--agent', agent], { cwd: dir.path });
      const bundle = join(dir.path, '.flowtape/runs/handshake');
      const events = join(bundle, 'sessions/s1/events.ndjson');
      // Mid-handshake: initialize answered, session/new sent and unanswered, the attempt on disk.
      await waitFor(() => existsSync(events) && readFileSync(events, 'utf8').includes('thinking about session/new forever'), 30_000, 'the agent to hang in session/new');
      await waitFor(() => existsSync(join(bundle, 'manifest.json')) && readFileSync(join(bundle, 'trace.ndjson'), 'utf8').includes('"b#1"'), 10_000, 'b#1 in the trace');
      cli.child.kill('SIGKILL');
      await cli.done;
      await waitFor(() => processesMentioning(agentFile).length === 0 || undefined, 10_000, 'the agent to leave');
      assert.ok(!existsSync(join(bundle, 'sessions/s1/binding.json')), 'killed before the session was bound');
      assert.ok(!traceOf(bundle).some((e) => e.sessionId === 's1'), 'no session event in the trace');
      const traffic = readFileSync(events, 'utf8');

      const repair = await runCli(['repair', bundle], { cwd: dir.path });
      assert.equal(repair.code, 0, repair.stdout + repair.stderr);
      assert.match(repair.stdout, /^record session s1 as failed \(its writer stopped during the agent handshake; traffic kept\)$/m);
      assert.match(repair.stdout, /^mark the run abandoned \(its writer is gone, b#1 interrupted\)$/m);
      const trace = traceOf(bundle);
      assert.deepEqual(trace.slice(-3).map((e) => [e.type, e.sessionId ?? e.attemptId]), [['session.failed', 's1'], ['node.outcome', 'b#1'], ['run.failed', undefined]]);
      assert.equal(trace.at(-3)!.attemptId, 'b#1');
      const binding = readJson<{ error?: { code?: string }; agent?: { name: string }; acpSessionId?: string }>(join(bundle, 'sessions/s1/binding.json'));
      assert.equal(binding.error?.code, 'interrupted');
      assert.equal(binding.agent?.name, 'stuck-agent');
      assert.equal(binding.acpSessionId, undefined);
      assert.ok(readFileSync(events, 'utf8').startsWith(traffic.slice(0, traffic.lastIndexOf('\n') + 1)), 'the traffic is kept');
      const report = await verifyBundle(bundle);
      assert.deepEqual(report.problems.map((p) => p.message), []);
      assert.equal(report.summary.sessions, 1);
      assert.match((await runCli(['repair', bundle], { cwd: dir.path })).stdout, /^nothing to repair$/m);
    } finally {
      await dir.remove();
    }
  });

  it('SIGKILL during a shell action: the command (in its own process group) is gone within 5 s', async () => {
    const dir = await tempDir('flowtape-sigkill-shell-');
    try {
      const pidFile = join(dir.path, 'sleep.pid');
      // The shell writes its pid, then becomes `sleep 30` (same pid, the leader of the command's group).
      await writeFile(
        join(dir.path, 'sleep.flow.ts'),
        `${header}export default defineFlow({ name: 'sleepy', startAt: 's', nodes: { s: shell({ exec: { command: 'sh', args: ['-c', 'echo $$ > sleep.pid; exec sleep 30'] } }) }, edges: [] });`,
      );
      const cli = spawnCli(['run', 'sleep.flow.ts', '--quiet'], { cwd: dir.path });
      const pid = await waitFor(() => pidOf(pidFile), 20_000, 'the shell to write its pid');
      assert.ok(isProcessAlive(pid), 'the command runs');
      await settle();
      cli.child.kill('SIGKILL');
      await cli.done;
      await waitFor(() => liveInGroup(pid).length === 0, 5_000, `the command's process group ${pid} to be gone after the CLI was killed`);
    } finally {
      killLeftover(join(dir.path, 'sleep.pid'));
      await dir.remove();
    }
  });

  it('SIGKILL during an ACP turn: an agent that ignores SIGTERM and its stdin closing is gone within 5 s', async () => {
    const dir = await tempDir('flowtape-sigkill-agent-');
    try {
      const pidFile = join(dir.path, 'agent.pid');
      const agentFile = join(dir.path, 'deaf-agent.cjs');
      await writeFile(agentFile, `process.on('SIGTERM', () => {});
setInterval(() => {}, 1000);
process.stdin.resume();
require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
`);
      await writeFile(
        join(dir.path, 'deaf.flow.ts'),
        `${header}export default defineFlow({ name: 'deaf', startAt: 'b', nodes: { b: acp({ prompt: 'hello' }) }, edges: [] });`,
      );
      const agent = [process.execPath, agentFile].map((a) => JSON.stringify(a)).join(' ');
      const cli = spawnCli(['run', 'deaf.flow.ts', '--quiet', '--agent', agent], { cwd: dir.path });
      const pid = await waitFor(() => pidOf(pidFile), 20_000, 'the agent to write its pid');
      await settle();
      cli.child.kill('SIGKILL');
      await cli.done;
      // The watchdog sends SIGTERM (ignored), then SIGKILL after its 2 s grace.
      await waitFor(() => liveInGroup(pid).length === 0, 5_000, `the agent's process group ${pid} to be gone after the CLI was killed`);
    } finally {
      killLeftover(join(dir.path, 'agent.pid'));
      await dir.remove();
    }
  });
});

/** The pid in `file`, once it has one. */
function pidOf(file: string): number | undefined {
  const text = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

/**
 * A moment for the CLI to carry on after spawning: it registers a new group with the watchdog right after the
 * spawn returns, and on a loaded machine the child can write its pid file before the CLI is scheduled again.
 */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 250));
}

/** Pids of the live processes of process group `pgid` (zombies excluded: the orphans' reaper may take its time). */
function liveInGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(group) === pgid && state !== 'Z') pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** A failed test leaves nothing running: SIGKILL to the group whose leader wrote `file`. */
function killLeftover(file: string): void {
  const pid = pidOf(file);
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // gone, as it should be
  }
}

/** The single bundle directory below a runs root. */
function singleBundle(runs: string): string | undefined {
  const names = readdirSync(runs);
  return names.length === 1 ? join(runs, names[0]!) : undefined;
}
