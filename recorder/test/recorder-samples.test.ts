// The committed sample bundles: each passes verify, shows what it claims, and `pnpm samples` regenerates every
// one byte for byte (deterministic mode).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { samples } from '../../samples/catalog.ts';
import { verifyBundle } from '../src/tools/verify.ts';
import { readJson, repoRoot, tempDir, traceOf } from './recorder-support.ts';

const bundleOf = (name: string) => join(repoRoot, 'samples', name, 'bundle');

describe('samples', () => {
  for (const spec of samples) {
    it(`${spec.name}: the committed bundle passes verify and is complete`, async () => {
      const report = await verifyBundle(bundleOf(spec.name));
      assert.deepEqual(report.problems, []);
      assert.equal(report.summary.complete, true);
      assert.equal(report.summary.status, 'completed');
    });
  }

  it('show every feature: shared-session conversation, switch edges, $result routing, timeout, retry, checkpoint', () => {
    const conversation = traceOf(bundleOf('conversation'));
    const prompts = conversation.filter((e) => e.type === 'acp.prompt_sent');
    assert.equal(prompts.length, 2);
    assert.equal(new Set(prompts.map((e) => e.sessionId)).size, 1, 'two turns in one shared session');
    const record = readJson<{ messages: Array<{ role: string; answer?: { outcome: string } }> }>(join(bundleOf('conversation'), 'sessions/s1/record.json'));
    const roles = new Set(record.messages.map((m) => m.role));
    for (const role of ['user', 'agent', 'thought', 'tool_call', 'plan', 'permission']) assert.ok(roles.has(role), role);
    assert.equal(record.messages.find((m) => m.role === 'permission')!.answer?.outcome, 'selected');
    assert.ok(conversation.some((e) => e.type === 'edge.taken' && e.payload.branch?.on === '$.route'), 'a decision routed by a switch');

    const shell = traceOf(bundleOf('shell-routing'));
    const routed = shell.find((e) => e.type === 'edge.taken' && e.attemptId === 'build#1')!;
    assert.deepEqual(routed.payload.branch, { on: '$result.outcome', value: 'failed', caseKey: 'failed' });
    assert.ok(shell.find((e) => e.type === 'action.completed' && e.attemptId === 'build#1')!.payload.stdout.artifact, 'large stdout in an artifact');

    const retry = traceOf(bundleOf('retry-timeout'));
    const fetches = retry.filter((e) => e.type === 'node.outcome' && e.nodeId === 'fetch').map((e) => [e.attemptId, e.payload.outcome]);
    assert.deepEqual(fetches, [['fetch#1', 'timed_out'], ['fetch#2', 'ok']]);

    const checkpoint = traceOf(bundleOf('checkpoint')).map((e) => e.type);
    assert.ok(checkpoint.indexOf('run.waiting') > 0 && checkpoint.indexOf('run.resumed') === checkpoint.indexOf('run.waiting') + 1);
  });

  it('pnpm samples regenerates every committed bundle byte for byte', async () => {
    const dir = await tempDir('flowtape-samples-');
    try {
      const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/regen-samples.ts', '--check'], { cwd: repoRoot, encoding: 'utf8' });
      assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
      assert.match(result.stderr, /every sample bundle is current/);
      // --out writes elsewhere and leaves the committed bundles alone.
      const out = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/regen-samples.ts', '--out', dir.path, '--only', 'checkpoint'], { cwd: repoRoot, encoding: 'utf8' });
      assert.equal(out.status, 0, out.stderr);
      const regenerated = await verifyBundle(join(dir.path, 'checkpoint'));
      assert.deepEqual(regenerated.problems, []);
    } finally {
      await dir.remove();
    }
  });

  it('pnpm demo records the conversation sample with the scripted agent and says where the bundle is', async () => {
    const dir = await tempDir('flowtape-demo-');
    try {
      const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--out', dir.path, '--no-view'], { cwd: repoRoot, encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      const bundle = /^bundle: (.+)$/m.exec(result.stdout)?.[1];
      assert.ok(bundle?.startsWith(dir.path), result.stdout);
      assert.match(result.stdout, /verify: valid/);
      assert.deepEqual((await verifyBundle(bundle!)).problems, []);
    } finally {
      await dir.remove();
    }
  });
});
