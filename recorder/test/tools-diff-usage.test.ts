// `flowtape diff` and usage: two runs that differ only in the tokens and cost their agent reported behave the
// same (exit 0), the usage changes are listed in a section of their own, and `--usage` makes them count (exit 1).
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { record } from '../src/record.ts';
import { acp, defineFlow } from '../src/runtime/index.ts';
import { diffBundles } from '../src/tools/diff.ts';
import { formatMarkdown, formatText } from '@flowtape/schema/diff';
import { runCli, scriptedAgent, tempDir } from './recorder-support.ts';

let dir: { path: string; remove(): Promise<void> };
const bundles: Record<'a' | 'b' | 'plain', string> = { a: '', b: '', plain: '' };

async function recordWith(name: 'a' | 'b' | 'plain', usage: { tokens: number; cost: number } | undefined): Promise<string> {
  // The same script file name in its own directory: only the directory of a path argument is volatile.
  const scripts = join(dir.path, `${name}-script`);
  await mkdir(scripts);
  const agent = await scriptedAgent(scripts, 'agent', {
    turns: [{
      match: 'ask',
      steps: [{ message: 'answer' }, ...(usage ? [{ usage: { used: usage.tokens, size: 1000, cost: { amount: usage.cost, currency: 'USD' } } }] : [])],
      ...(usage ? { usage: { inputTokens: usage.tokens - 10, outputTokens: 10, totalTokens: usage.tokens } } : {}),
    }],
  });
  const flow = defineFlow({ name: 'diff-usage', startAt: 'ask', nodes: { ask: acp({ prompt: 'ask' }) }, edges: [] });
  const result = await record(flow, {}, { cwd: dir.path, bundleDir: join(dir.path, name), agentCommand: agent, deterministic: true });
  assert.equal(result.status, 'completed', JSON.stringify(result.error));
  return result.bundleDir;
}

before(async () => {
  dir = await tempDir('flowtape-diff-usage-');
  bundles.a = await recordWith('a', { tokens: 100, cost: 0.01 });
  bundles.b = await recordWith('b', { tokens: 250, cost: 0.04 });
  bundles.plain = await recordWith('plain', undefined);
});
after(async () => {
  await dir.remove();
});

describe('diff: usage', () => {
  it('usage changes are a section of their own and do not make the runs differ, unless asked', async () => {
    const result = await diffBundles(bundles.a, bundles.b);
    assert.equal(result.same, true, formatText(result));
    assert.equal(result.total, 0);
    assert.equal(result.usageCounted, false);
    const usage = result.differences.filter((d) => d.section === 'usage');
    assert.equal(result.counts.usage, usage.length);
    assert.deepEqual(result.differences.filter((d) => d.section !== 'usage'), [], 'nothing else differs');
    const byPath = Object.fromEntries(usage.map((d) => [d.path, [d.a, d.b]]));
    assert.deepEqual(byPath['/attempts/ask#1/usage/cost/USD'], [0.01, 0.04]);
    assert.deepEqual(byPath['/attempts/ask#1/usage/context/used'], [100, 250]);
    assert.deepEqual(byPath['/run/usage/tokens/totalTokens'], [100, 250]);
    assert.equal(usage.find((d) => d.path === '/attempts/ask#1/usage/cost/USD')?.attemptId, 'ask#1');

    const text = formatText(result);
    assert.match(text, /^no differences in behaviour; \d+ usage differences \(tokens, cost\), not counted as behaviour \(--usage counts them\)$/m);
    assert.match(text, /^usage \(tokens, cost\)\n(?:.*\n)*  ~ \/attempts\/ask#1\/usage\/cost\/USD: 0\.01 → 0\.04$/m);
    assert.match(formatMarkdown(result), /### flowtape diff: no differences in behaviour/);

    const counted = await diffBundles(bundles.a, bundles.b, { usage: true });
    assert.equal(counted.same, false);
    assert.equal(counted.total, counted.counts.usage);
    assert.match(formatText(counted), /^\d+ differences: usage \d+$/m);
  });

  it('usage reported by one run only is listed as added', async () => {
    const result = await diffBundles(bundles.plain, bundles.a);
    assert.equal(result.same, true);
    assert.deepEqual(
      result.differences.filter((d) => d.section === 'usage').map((d) => [d.kind, d.path]),
      [['added', '/attempts/ask#1/usage'], ['added', '/run/usage']],
    );
  });

  it('the CLI: exit 0 without --usage (usage listed), exit 1 with it; --json carries the usage section', async () => {
    const plain = await runCli(['diff', bundles.a, bundles.b], { cwd: dir.path });
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /no differences in behaviour; \d+ usage differences/);
    assert.match(plain.stdout, /\/run\/usage\/cost\/USD: 0\.01 → 0\.04/);
    const counted = await runCli(['diff', bundles.a, bundles.b, '--usage', '--json'], { cwd: dir.path });
    assert.equal(counted.code, 1, counted.stderr);
    const json = JSON.parse(counted.stdout) as { same: boolean; usageCounted: boolean; counts: { usage: number }; differences: Array<{ section: string }> };
    assert.equal(json.same, false);
    assert.equal(json.usageCounted, true);
    assert.ok(json.counts.usage > 0);
    assert.ok(json.differences.every((d) => d.section === 'usage'));
  });
});
