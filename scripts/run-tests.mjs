#!/usr/bin/env node
// Runs every *.test.ts in the workspace with node's built-in test runner (tsx loads TypeScript).
// A test (or a whole file) that runs past 10 minutes fails instead of stalling CI; the slowest, the packaging test, packs
// and installs the packages: about one minute on a quiet 2-core machine, six under a load average of 8.
// Usage: node scripts/run-tests.mjs [substring...]   — only files whose path contains one of the substrings.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const roots = ['schema/test', 'recorder/test', 'viewer/test', 'test'];
const skip = new Set(['node_modules', 'fixtures', 'dist']);

function walk(dir, out) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    if (skip.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

const filters = process.argv.slice(2);
const files = roots.flatMap((r) => walk(join(root, r), [])).sort()
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error(`run-tests: no test files match ${filters.join(' ') || '(all)'}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-timeout=600000', ...files], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
