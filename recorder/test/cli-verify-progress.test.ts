// `flowtape verify` on a bundle that takes more than a second: progress lines on stderr (never on stdout, which
// carries the verdict); none for a bundle verified within the second.
import assert from 'node:assert/strict';
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
