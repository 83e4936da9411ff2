// The README's main job, run as a newcomer's script would run it (no terminal): it records the sample, verifies
// it, starts the real `flowtape view` on it, checks that the viewer answers, and ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureViewerBuilt } from '../viewer/server/ensure-built.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

test('pnpm demo (without a terminal) records a valid bundle and opens it in the viewer', () => {
  ensureViewerBuilt();
  const out = mkdtempSync(join(tmpdir(), 'flowtape-demo-'));
  try {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--out', out], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^verify: valid — \d+ events, 1 ACP session/m);
    assert.match(result.stdout, /^viewer: http:\/\/127\.0\.0\.1:\d+\/ answered/m);
    const [bundle] = readdirSync(out);
    assert.ok(bundle && existsSync(join(out, bundle, 'manifest.json')), 'the bundle is where the demo says');
    assert.ok(result.stdout.includes(join(out, bundle)), result.stdout);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
