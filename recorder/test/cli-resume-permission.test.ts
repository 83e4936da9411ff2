// A run records its permission policy (manifest `permissionPolicy`); `flowtape resume` goes on answering permission
// requests by it when not given `--permission`, so an agent turn after a checkpoint is answered as the run began.
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { recordRun, scriptedAgentCommand, writeFlow } from './recorded-run-support.ts';
import { readJson, repoRoot, runCli, tempDir } from './recorder-support.ts';

let dir: { path: string; remove(): Promise<void> };

before(async () => {
  dir = await tempDir('flowtape-resume-permission-');
  copyFileSync(join(repoRoot, 'samples', 'conversation', 'agent.json'), join(dir.path, 'agent.json'));
  writeFlow(dir.path, 'gate.flow.ts', ['acp', 'checkpoint', 'defineFlow'], `{
  name: 'gate',
  startAt: 'approval',
  nodes: {
    approval: checkpoint({ summary: 'Go?' }),
    write: acp({ prompt: 'Write the summary to summary.md: notes' }),
  },
  edges: [{ from: 'approval', to: 'write' }],
}`);
});

after(async () => {
  await dir?.remove();
});

describe('the recorded permission policy', () => {
  it('is in the manifest, and a resume without --permission answers by it', async () => {
    const agent = scriptedAgentCommand('agent.json');
    const bundle = await recordRun(dir.path, 'gate.flow.ts', ['--permission', 'approve-all', '--agent', agent]);
    assert.equal(readJson<{ status: string; permissionPolicy?: string }>(join(bundle, 'manifest.json')).permissionPolicy, 'approve-all');
    const resumed = await runCli(['resume', bundle, '--input', '{}', '-q', '--json', '--agent', agent], { cwd: dir.path });
    assert.equal(resumed.code, 0, resumed.stderr);
    const record = readJson<{ messages: Array<{ role: string; text?: string; answer?: { outcome: string; optionId?: string } }> }>(join(bundle, 'sessions', 's1', 'record.json'));
    const permission = record.messages.find((m) => m.role === 'permission');
    assert.equal(permission?.answer?.outcome, 'selected');
    assert.match(record.messages.filter((m) => m.role === 'agent').map((m) => m.text).join('\n'), /Summary written to summary\.md/);
    assert.equal(readJson<{ permissionPolicy?: string }>(join(bundle, 'manifest.json')).permissionPolicy, 'approve-all', 'the resume keeps it');
  });
});
