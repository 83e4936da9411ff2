// scripts/bench-viewer.ts --help prints its usage and stops: an unknown flag used to start the whole benchmark
// (minutes of CPU on a shared machine, a 1M-event bundle written to disk).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));

test('bench-viewer --help prints the usage and runs nothing', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench-viewer.ts', '--help'], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^usage: pnpm bench:viewer /);
  assert.doesNotMatch(r.stdout, /building the viewer|writing a/);
});
