// `flowtape replay`: the real bin against bundles recorded in the test with the scripted agent (a real ACP process);
// the replays run with the agent's script deleted, so any turn the recording does not answer would fail.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { recordConversation, recordRun, scriptedAgentCommand, writeFlow } from './recorded-run-support.ts';
import { acpStartMs, agentBin, readJson, repoRoot, runCli, tempDir, timeoutOver } from './recorder-support.ts';

const sample = join(repoRoot, 'samples', 'conversation');
const flowSource = readFileSync(join(sample, 'conversation.flow.ts'), 'utf8');
const liveScript = {
  agent: { name: 'live-agent', version: '1.0.0' },
  turns: [],
  fallback: { steps: [{ message: 'LIVE answer' }] },
};

let dir: { path: string; remove(): Promise<void> };
let source: string;

function files(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(d, entry.name));
      else out.push(relative(root, join(d, entry.name)));
    }
  };
  walk(root);
  return out.sort();
}

/** A file's content with the documented replay fields taken out (SPEC "Replay"). */
function withoutReplayFields(file: string, text: string): string {
  if (file === 'manifest.json') {
    const { replayOf: _r, ...rest } = JSON.parse(text) as Record<string, unknown>;
    return JSON.stringify(rest);
  }
  if (file.endsWith('binding.json')) {
    const { agentCommand: _a, ...rest } = JSON.parse(text) as Record<string, unknown>;
    return JSON.stringify(rest);
  }
  if (file === 'trace.ndjson') {
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const event = JSON.parse(line) as { type: string; payload: Record<string, unknown> };
        if (event.type === 'session.bound') delete event.payload['agentCommand'];
        return JSON.stringify(event);
      })
      .join('\n');
  }
  return text;
}

function changedFlow(name: string, from: string, to: string): string {
  assert.ok(flowSource.includes(from), `the sample flow has ${from}`);
  writeFileSync(join(dir.path, name), flowSource.replace(from, to));
  return name;
}

function replay(args: string[]): ReturnType<typeof runCli> {
  return runCli(['replay', source, '--permission', 'approve-all', '--out', 'replays', ...args], { cwd: dir.path });
}

before(async () => {
  // A live agent that answers as the recorded one did (for hybrid replays that should change nothing).
  ({ dir, source } = await recordConversation('flowtape-replay-', { files: { 'live.json': liveScript }, keepScriptAs: 'same-live.json' }));
});

after(async () => {
  await dir?.remove();
});

describe('flowtape replay', () => {
  it('replays the recording with no agent: exit 0, and the new bundle equals the source apart from the replay fields', async () => {
    const result = await replay(['--out', 'same', '-q']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /no differences/);
    const [runId] = readdirSync(join(dir.path, 'same'));
    const copy = join(dir.path, 'same', runId!);
    assert.deepEqual(files(copy), files(source));
    for (const file of files(source)) {
      assert.equal(withoutReplayFields(file, readFileSync(join(copy, file), 'utf8')), withoutReplayFields(file, readFileSync(join(source, file), 'utf8')), file);
    }
    const manifest = readJson<{ replayOf: { runId: string; traceSha256: string } }>(join(copy, 'manifest.json'));
    assert.equal(manifest.replayOf.runId, readJson<{ runId: string }>(join(source, 'manifest.json')).runId);
    assert.match(manifest.replayOf.traceSha256, /^[0-9a-f]{64}$/);
  });

  it('reports a changed compute node downstream of the agent (exit 1) and nothing upstream', async () => {
    const flow = changedFlow('downstream.flow.ts', 'published: true, summary', 'published: "yes", summary');
    const result = await replay(['--flow', flow, '--json', '-q']);
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout) as { misses: unknown[]; diff: { differences: Array<{ nodeId?: string; path: string; section: string }> } };
    assert.deepEqual(report.misses, []);
    const nodes = new Set(report.diff.differences.flatMap((d) => (d.nodeId ? [d.nodeId] : [])));
    assert.deepEqual([...nodes], ['publish']);
    for (const d of report.diff.differences) assert.match(d.path, /publish/, JSON.stringify(d));
  });

  it('fails the node whose prompt changed with a diff against the recorded prompt (exit 1)', async () => {
    const flow = changedFlow('prompt.flow.ts', '`Summarise ${outputs.brief.file}`', '`Summarise ${outputs.brief.file} in one line`');
    const result = await replay(['--flow', flow, '-q']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /node "summarise" attempt summarise#1: replay miss: prompt not in the recording \(nearest recorded prompt: summarise#1\)/);
    assert.match(result.stderr, /^-Summarise notes\.txt$/m);
    assert.match(result.stderr, /^\+Summarise notes\.txt in one line$/m);
    assert.doesNotMatch(result.stderr, /^\s+at /m);
  });

  it('sends the changed prompt to --agent (hybrid): the turn is live and the report shows the new answer', async () => {
    const flow = changedFlow('prompt-live.flow.ts', '`Summarise ${outputs.brief.file}`', '`Summarise ${outputs.brief.file} in one line`');
    const result = await replay(['--flow', flow, '--json', '-q', '--agent', scriptedAgentCommand('live.json')]);
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout) as { status: string; misses: unknown[]; liveTurns: string[]; diff: { differences: unknown[] } };
    assert.equal(report.status, 'completed');
    assert.deepEqual(report.misses, []);
    // The write prompt quotes the new summary, so it misses too and goes live.
    assert.deepEqual(report.liveTurns, ['summarise#1', 'write#1']);
    assert.match(JSON.stringify(report.diff.differences), /LIVE answer/);
  });

  it('--from the second ACP node replays the first from the recording and runs the second live', async () => {
    const result = await replay(['--from', 'write', '--json', '-q', '--agent', scriptedAgentCommand('live.json')]);
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout) as { liveTurns: string[]; replayOf: { from?: string }; diff: { differences: Array<{ nodeId?: string; attemptId?: string }> } };
    assert.deepEqual(report.liveTurns, ['write#1']);
    assert.equal(report.replayOf.from, 'write');
    assert.ok(!report.diff.differences.some((d) => d.attemptId === 'summarise#1'), 'the first ACP node is as recorded');
    assert.match(JSON.stringify(report.diff.differences), /LIVE answer/);
  });

  it('a live turn that answers as the recording did is no difference: `replay: "live"` is provenance, not behaviour', async () => {
    const result = await replay(['--from', 'write', '--json', '-q', '--agent', scriptedAgentCommand('same-live.json')]);
    const report = JSON.parse(result.stdout) as { bundle: string; liveTurns: string[]; diff: { same: boolean; differences: unknown[] } };
    assert.deepEqual(report.liveTurns, ['write#1']);
    // The new bundle marks the turn as live...
    const [session] = readdirSync(join(report.bundle, 'sessions'));
    const record = readJson<{ messages: Array<{ attemptId?: string; replay?: string }> }>(join(report.bundle, 'sessions', session!, 'record.json'));
    assert.ok(record.messages.some((m) => m.attemptId === 'write#1' && m.replay === 'live'), JSON.stringify(record.messages));
    // ...and the diff against the source does not count that mark: the answer itself is the same.
    assert.deepEqual(report.diff.differences, []);
    assert.equal(report.diff.same, true);
    assert.equal(result.code, 0, result.stderr);
  });

  it('refuses --from a node the recording never ran, in one line (exit 2)', async () => {
    const result = await replay(['--from', 'nope', '-q']);
    assert.equal(result.code, 2);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /--from nope: the recorded run has no attempt of node "nope"/);
  });
});

describe('flowtape replay: shell actions', () => {
  it('returns the recorded output without running the command (which would now fail); --shell live runs it', async () => {
    const shellDir = await tempDir('flowtape-replay-shell-');
    try {
      writeFlow(shellDir.path, 'check.flow.ts', ['compute', 'defineFlow', 'shell'], `{
  name: 'shell-replay',
  startAt: 'check',
  nodes: {
    check: shell({ exec: { command: 'sh', args: ['-c', 'cat marker.txt'] } }),
    use: compute({ run: ({ outputs }) => ({ seen: outputs.check.stdout.trim() }) }),
  },
  edges: [{ from: 'check', to: 'use' }],
}`);
      writeFileSync(join(shellDir.path, 'marker.txt'), 'present\n');
      const bundle = await recordRun(shellDir.path, 'check.flow.ts');
      rmSync(join(shellDir.path, 'marker.txt'));
      const replayed = await runCli(['replay', bundle, '--json', '-q'], { cwd: shellDir.path });
      assert.equal(replayed.code, 0, replayed.stderr);
      const report = JSON.parse(replayed.stdout) as { status: string; bundle: string };
      assert.equal(report.status, 'completed');
      const live = await runCli(['replay', bundle, '--shell', 'live', '-q'], { cwd: shellDir.path });
      assert.equal(live.code, 1, 'run live, the command fails: the replay above did not run it');
      assert.match(live.stdout, /marker\.txt/);
      assert.ok(!existsSync(join(shellDir.path, 'marker.txt')));
    } finally {
      await shellDir.remove();
    }
  });
});

describe('flowtape replay: an imported acpx bundle', () => {
  it('replays every turn from the recording (acpx records no handshake and reattaches with session/load)', async () => {
    const acpxDir = await tempDir('flowtape-replay-acpx-');
    const savedHome = process.env['HOME'];
    // acpx keeps persistent sessions under ~/.acpx: never the real one.
    process.env['HOME'] = join(acpxDir.path, 'home');
    try {
      const { recordWithAcpx } = await import('./acpx-support.ts');
      const { importAcpx } = await import('../src/tools/import-acpx.ts');
      const acpx = await import('acpx/flows');
      const flowText = `import { acp, compute, defineFlow } from 'acpx/flows';
export default defineFlow({
  name: 'acp',
  startAt: 'prepare',
  nodes: {
    prepare: compute({ run: () => ({ topic: 'flow traces' }) }),
    draft: acp({ session: { handle: 'main' }, prompt: ({ outputs }) => \`Draft a note about \${outputs.prepare.topic}\` }),
    review: acp({ session: { handle: 'main' }, prompt: () => 'Review the draft' }),
    second: acp({ session: { isolated: true }, prompt: () => 'Second opinion, please' }),
    finish: compute({ run: ({ outputs }) => ({ draft: outputs.draft, review: outputs.review, second: outputs.second }) }),
  },
  edges: [{ from: 'prepare', to: 'draft' }, { from: 'draft', to: 'review' }, { from: 'review', to: 'second' }, { from: 'second', to: 'finish' }],
});\n`;
      writeFileSync(join(acpxDir.path, 'acp.flow.ts'), flowText);
      // The same flow for acpx's own runner, which records the run.
      const flow = acpx.defineFlow({
        name: 'acp',
        startAt: 'prepare',
        nodes: {
          prepare: acpx.compute({ run: () => ({ topic: 'flow traces' }) }),
          draft: acpx.acp({ session: { handle: 'main' }, prompt: ({ outputs }) => `Draft a note about ${(outputs.prepare as { topic: string }).topic}` }),
          review: acpx.acp({ session: { handle: 'main' }, prompt: () => 'Review the draft' }),
          second: acpx.acp({ session: { isolated: true }, prompt: () => 'Second opinion, please' }),
          finish: acpx.compute({ run: ({ outputs }) => ({ draft: outputs.draft, review: outputs.review, second: outputs.second }) }),
        },
        edges: [{ from: 'prepare', to: 'draft' }, { from: 'draft', to: 'review' }, { from: 'review', to: 'second' }, { from: 'second', to: 'finish' }],
      });
      const script = {
        agent: { name: 'acpx-test-agent', version: '1.0.0' },
        turns: [
          { match: { regex: '^Draft' }, steps: [{ thought: 'Drafting.' }, { message: 'A draft about flow traces.' }] },
          { match: { regex: '^Review' }, steps: [{ message: 'The draft reads well.' }] },
          { match: { regex: '^Second' }, steps: [{ message: 'A second opinion.' }] },
        ],
      };
      const run = await recordWithAcpx(acpxDir.path, 'acp', flow, {}, { script });
      const imported = join(acpxDir.path, 'imported');
      await importAcpx(run, { output: imported });
      rmSync(join(acpxDir.path, 'acp.agent.json'));
      const result = await runCli(['replay', imported, '--flow', 'acp.flow.ts', '--json', '-q'], { cwd: acpxDir.path });
      const report = JSON.parse(result.stdout) as {
        status: string; misses: unknown[]; liveTurns: string[];
        diff: { counts: Record<string, number>; differences: Array<{ section: string; path: string }> };
      };
      assert.equal(report.status, 'completed', result.stderr);
      assert.deepEqual(report.misses, []);
      assert.deepEqual(report.liveTurns, []);
      // acpx keeps no node sources and no run output: only those differ; every attempt and conversation is as recorded.
      assert.equal(report.diff.counts['attempt'], 0, JSON.stringify(report.diff.differences));
      assert.equal(report.diff.counts['session'], 0, JSON.stringify(report.diff.differences));
      assert.equal(report.diff.counts['path'], 0, JSON.stringify(report.diff.differences));
    } finally {
      process.env['HOME'] = savedHome;
      await acpxDir.remove();
    }
  });
});

describe('flowtape replay: cancelled turns', () => {
  it('a turn the node timeout cancelled stays cancelled: the node times out again, without the agent', async () => {
    const timeoutDir = await tempDir('flowtape-replay-timeout-');
    try {
      const script = { agent: { name: 'slow', version: '1' }, turns: [{ match: 'Think hard', steps: [{ message: 'Hmm' }, { delayMs: 600_000 }, { message: 'late' }] }] };
      writeFileSync(join(timeoutDir.path, 'slow.json'), JSON.stringify(script));
      // Long enough for an agent (the scripted one recording, the replay agent replaying, both tsx from the sources)
      // to start and begin the turn, on this machine under its load now; the agent itself never finishes the turn.
      const agentStart = await acpStartMs([process.execPath, agentBin, '--script', 'slow.json'], timeoutDir.path);
      const timeoutMs = timeoutOver(agentStart, 4000);
      writeFlow(timeoutDir.path, 'slow.flow.ts', ['acp', 'compute', 'defineFlow'], `{
  name: 'slow-agent',
  startAt: 'ask',
  nodes: {
    ask: acp({ prompt: 'Think hard', timeoutMs: ${timeoutMs} }),
    after: compute({ run: () => ({ gaveUp: true }) }),
  },
  edges: [{ from: 'ask', switch: { on: '$result.outcome', cases: { timed_out: 'after' } } }],
}`);
      const bundle = await recordRun(timeoutDir.path, 'slow.flow.ts', ['--deterministic', '--agent', scriptedAgentCommand('slow.json')]);
      const outcome = readFileSync(join(bundle, 'trace.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; attemptId?: string; payload: { outcome?: string } })
        .find((e) => e.type === 'node.outcome' && e.attemptId === 'ask#1');
      assert.equal(outcome?.payload.outcome, 'timed_out', 'the recording has the timed-out turn');
      rmSync(join(timeoutDir.path, 'slow.json'));
      // The turn began: the agent's first message is in the recording (the timeout did not hit the agent's start).
      assert.match(readFileSync(join(bundle, 'sessions', 's1', 'events.ndjson'), 'utf8'), /"text":"Hmm"/);
      const replayed = await runCli(['replay', bundle, '--json', '-q'], { cwd: timeoutDir.path });
      const report = JSON.parse(replayed.stdout) as { status: string; diff: { same: boolean; differences: unknown[] } };
      assert.equal(replayed.code, 0, JSON.stringify(report.diff.differences));
      assert.equal(report.status, 'completed');
    } finally {
      await timeoutDir.remove();
    }
  });
});

describe('flowtape replay: the samples', () => {
  // checkpoint (resumed with the recorded input), retry-timeout (a shell command its node's timeout stopped),
  // shell-routing (shell output from the recording), conversation (ACP turns, permissions answered by the recorded
  // policy: no --permission given): each replays to the same bytes.
  const samples = readdirSync(join(repoRoot, 'samples'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(repoRoot, 'samples', d.name, 'bundle', 'manifest.json')))
    .map((d) => d.name);

  it('finds the samples', () => assert.ok(samples.length >= 4, samples.join(', ')));

  for (const name of samples) {
    it(`${name}: replays with no agent to a bundle equal to the sample apart from the replay fields`, async () => {
      const copy = await tempDir(`flowtape-replay-${name}-`);
      try {
        const { cpSync } = await import('node:fs');
        cpSync(join(repoRoot, 'samples', name), copy.path, { recursive: true });
        rmSync(join(copy.path, 'agent.json'), { force: true });
        const result = await runCli(['replay', 'bundle', '--out', 'replays', '--json', '-q'], { cwd: copy.path });
        assert.equal(result.code, 0, result.stdout.slice(0, 2000) + result.stderr);
        const replayed = (JSON.parse(result.stdout) as { bundle: string }).bundle;
        const original = join(copy.path, 'bundle');
        assert.deepEqual(files(replayed), files(original));
        for (const file of files(original)) {
          assert.equal(withoutReplayFields(file, readFileSync(join(replayed, file), 'utf8')), withoutReplayFields(file, readFileSync(join(original, file), 'utf8')), `${name}: ${file}`);
        }
      } finally {
        await copy.remove();
      }
    });
  }
});

describe('flowtape replay: a loop that sends the same prompt again', () => {
  it('serves the recorded turns of a repeated prompt in their order', async () => {
    const loopDir = await tempDir('flowtape-replay-loop-');
    try {
      writeFlow(loopDir.path, 'loop.flow.ts', ['acp', 'compute', 'defineFlow'], `{
  name: 'loop',
  startAt: 'ask',
  nodes: {
    ask: acp({ prompt: 'Again?' }),
    count: compute({ run: ({ outputs }) => ({ n: ((outputs.count?.n) ?? 0) + 1, said: outputs.ask }) }),
    check: compute({ run: ({ outputs }) => ({ more: outputs.count.n < 3 ? 'yes' : 'no' }) }),
    done: compute({ run: ({ outputs }) => ({ last: outputs.ask }) }),
  },
  edges: [
    { from: 'ask', to: 'count' },
    { from: 'count', to: 'check' },
    { from: 'check', switch: { on: '$.more', cases: { yes: 'ask', no: 'done' } } },
  ],
}`);
      const answer = (text: string) => ({ match: 'Again?', times: 1, steps: [{ message: text }] });
      writeFileSync(join(loopDir.path, 'loop.json'), JSON.stringify({ agent: { name: 'loop', version: '1' }, turns: [answer('one'), answer('two'), answer('three')] }));
      const bundle = await recordRun(loopDir.path, 'loop.flow.ts', ['--agent', scriptedAgentCommand('loop.json')]);
      assert.equal(readJson<{ status: string }>(join(bundle, 'manifest.json')).status, 'completed');
      rmSync(join(loopDir.path, 'loop.json'));
      const replayed = await runCli(['replay', bundle, '--json', '-q'], { cwd: loopDir.path });
      assert.equal(replayed.code, 0, replayed.stdout.slice(0, 3000) + replayed.stderr);
      const trace = readFileSync(join((JSON.parse(replayed.stdout) as { bundle: string }).bundle, 'trace.ndjson'), 'utf8');
      assert.match(trace, /"last":"three"/);
    } finally {
      await loopDir.remove();
    }
  });
});
