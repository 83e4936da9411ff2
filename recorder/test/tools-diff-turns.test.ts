// `flowtape diff` on two runs recorded by the real CLI with the scripted agent (a real ACP process), where run b asks
// the agent one extra question in the middle of a shared session: the session section reports exactly that turn as
// added, and every turn after it stays paired with its own (not shifted to "changed"). The same alignment in the text
// report and in --json.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { recordRun, scriptedAgentCommand, writeFlow } from './recorded-run-support.ts';
import { runCli, tempDir } from './recorder-support.ts';

const QUESTIONS: Record<string, string> = {
  read: 'Read the notes',
  changelog: 'Also check the changelog',
  summarise: 'Summarise them',
  first: 'Which comes first?',
};

const ANSWERS: Record<string, string> = {
  read: 'The notes list three tasks.',
  changelog: 'The changelog is up to date.',
  summarise: 'Three tasks: build, test, ship.',
  first: 'Build comes first.',
};

/** A flow of ACP nodes in one shared session, one question each, in the order given. */
function turnsFlow(dir: string, file: string, ids: string[]): string {
  const nodes = ids.map((id) => `    ${id}: acp({ prompt: () => ${JSON.stringify(QUESTIONS[id])} }),`).join('\n');
  const edges = ids.slice(1).map((id, i) => `{ from: '${ids[i]}', to: '${id}' }`).join(', ');
  return writeFlow(dir, file, ['acp', 'defineFlow'], `{\n  name: 'turns',\n  startAt: '${ids[0]}',\n  nodes: {\n${nodes}\n  },\n  edges: [${edges}],\n}`);
}

interface JsonDiff {
  same: boolean;
  counts: Record<string, number>;
  differences: Array<{ section: string; kind: string; path: string; a?: unknown; b?: unknown; attemptId?: string; note?: string }>;
}

test('diff: a turn inserted in one run is one added turn, and the turns after it stay paired', async () => {
  const dir = await tempDir('flowtape-diff-turns-');
  try {
    const script = {
      agent: { name: 'notes-agent', version: '1.0.0' },
      turns: Object.keys(QUESTIONS).map((id) => ({ match: { regex: `^${QUESTIONS[id]!.replace('?', '\\?')}$` }, steps: [{ message: ANSWERS[id] }] })),
    };
    writeFileSync(join(dir.path, 'agent.json'), JSON.stringify(script));
    const agent = ['--agent', scriptedAgentCommand('agent.json')];
    const a = await recordRun(dir.path, turnsFlow(dir.path, 'a.flow.ts', ['read', 'summarise', 'first']), agent);
    const b = await recordRun(dir.path, turnsFlow(dir.path, 'b.flow.ts', ['read', 'changelog', 'summarise', 'first']), agent);

    const json = await runCli(['diff', a, b, '--json'], { cwd: dir.path });
    assert.equal(json.code, 1, json.stderr);
    const report = JSON.parse(json.stdout) as JsonDiff;
    const session = report.differences.filter((d) => d.section === 'session');
    assert.equal(report.counts.session, 1, JSON.stringify(session, null, 2));
    assert.deepEqual(session, [
      {
        section: 'session',
        session: 'main',
        nodeId: 'changelog',
        attemptId: 'changelog#1',
        kind: 'added',
        path: '/sessions/main/turns/b1',
        b: 'Also check the changelog',
        note: 'turn 2 in b; 2 messages',
      },
    ]);

    const text = await runCli(['diff', a, b], { cwd: dir.path });
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, /\nsession main\n {2}\+ \/turns\/b1 \(turn 2 in b; 2 messages\): only in b: "Also check the changelog"\n/);
    assert.doesNotMatch(text.stdout, /\/turns\/\d+\/messages\//);

    // The other way round: the same turn, removed, numbered in a.
    const back = JSON.parse((await runCli(['diff', b, a, '--json'], { cwd: dir.path })).stdout) as JsonDiff;
    assert.deepEqual(
      back.differences.filter((d) => d.section === 'session').map((d) => [d.kind, d.path, d.a]),
      [['removed', '/sessions/main/turns/1', 'Also check the changelog']],
    );
  } finally {
    await dir.remove();
  }
});
