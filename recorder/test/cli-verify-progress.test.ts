// `flowtape verify` and `flowtape diff` on bundles that takes more than a second: progress lines on stderr (never on stdout, which
// carries the verdict); none for a bundle verified within the second.
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeLargeBundle } from '../../test/fixtures/scenarios.ts';
import { repoRoot, runCli, tempDir } from './recorder-support.ts';

test('verify prints progress on stderr once it has taken a second, and none for a small bundle', async () => {
  const dir = await tempDir();
  try {
    const bundle = join(dir.path, 'large');
    writeLargeBundle(bundle, 200_000);
    const started = performance.now();
    const result = await runCli(['verify', bundle], { cwd: dir.path });
    const ms = performance.now() - started;
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /large: valid \(completed, \d+ events/);
    assert.doesNotMatch(result.stdout, /checked/);
    if (ms > 1500) assert.match(result.stderr, /^flowtape: verify: [\d,]+ trace events checked…$/m, `took ${ms.toFixed(0)} ms`);
    else assert.fail(`verify took only ${ms.toFixed(0)} ms: make the bundle larger so this test means something`);

    const small = await runCli(['verify', join(repoRoot, 'samples/conversation/bundle')], { cwd: repoRoot });
    assert.equal(small.code, 0);
    assert.doesNotMatch(small.stderr, /checked/);
  } finally {
    await dir.remove();
  }
});

test('diff prints progress on stderr once it has taken a second, and none for small bundles', async () => {
  const dir = await tempDir();
  try {
    const a = join(dir.path, 'a');
    writeLargeBundle(a, 200_000);
    cpSync(a, join(dir.path, 'b'), { recursive: true });
    const started = performance.now();
    const result = await runCli(['diff', 'a', 'b'], { cwd: dir.path });
    const ms = performance.now() - started;
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.doesNotMatch(result.stdout, /compared…/);
    if (ms > 1500) assert.match(result.stderr, /^flowtape: diff: [\d,]+ trace events compared…$/m, `took ${ms.toFixed(0)} ms`);
    else assert.fail(`diff took only ${ms.toFixed(0)} ms: make the bundle larger so this test means something`);

    const sample = join(repoRoot, 'samples/conversation/bundle');
    const small = await runCli(['diff', sample, sample], { cwd: repoRoot });
    assert.equal(small.code, 0, small.stdout + small.stderr);
    assert.doesNotMatch(small.stderr, /compared/);
  } finally {
    await dir.remove();
  }
});
