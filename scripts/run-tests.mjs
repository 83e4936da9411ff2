#!/usr/bin/env node
// Runs every *.test.ts in the workspace with node's built-in test runner (tsx loads TypeScript), one child process per
// file, a bounded number at a time (--jobs N or FLOWTAPE_TEST_JOBS, default: the number of cores, at most 2). Each
// file's output is printed whole when it ends, then a table of per-file wall times (slowest first) and the totals.
// A test that runs past 10 minutes fails, and a file past 11 is killed, instead of stalling CI; the slowest, the
// packaging test, packs and installs the packages: about two minutes on a quiet 2-core machine, more under load.
// Usage: node scripts/run-tests.mjs [--jobs N] [substring...]   — only files whose path contains one of the substrings.
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const roots = ['schema/test', 'recorder/test', 'viewer/test', 'test'];
const skip = new Set(['node_modules', 'fixtures', 'dist']);
// Started first so the long ones do not run alone at the end (order only; every file still runs).
const slowFirst = ['test/package-install', 'recorder/test/cli-run', 'recorder/test/export-otlp.test', 'recorder/test/cli-replay'];

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

const args = process.argv.slice(2);
let jobs = Number(process.env.FLOWTAPE_TEST_JOBS) || Math.min(2, availableParallelism());
const filters = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--jobs') jobs = Number(args[++i]);
  else filters.push(args[i]);
}
if (!Number.isInteger(jobs) || jobs < 1) {
  console.error('run-tests: --jobs needs a whole number of at least 1');
  process.exit(1);
}
const rank = (f) => { const i = slowFirst.findIndex((s) => f.startsWith(s)); return i < 0 ? slowFirst.length : i; };
const files = roots.flatMap((r) => walk(join(root, r), [])).sort()
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort((a, b) => rank(a) - rank(b));
if (files.length === 0) {
  console.error(`run-tests: no test files match ${filters.join(' ') || '(all)'}`);
  process.exit(1);
}

const counts = { tests: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
const results = [];
// A file whose process outlives its tests (a handle left open) is killed, whole process group, a minute after the
// per-test limit could have ended it.
const FILE_LIMIT_MS = 11 * 60_000;
const running = new Set();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of running) try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
    process.exit(130);
  });
}

function runFile(file) {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-timeout=600000', file], {
    cwd: root,
    // A colour-capable terminal is decided per child; keep the spec reporter's colours when ours has them.
    env: { ...process.env, FORCE_COLOR: process.stdout.isTTY ? '1' : process.env.FORCE_COLOR },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so a stuck file is ended with everything it started
  });
  running.add(child);
  let killed = false;
  const limit = setTimeout(() => {
    killed = true;
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
  }, FILE_LIMIT_MS);
  const chunks = [];
  child.stdout.on('data', (c) => chunks.push(c));
  child.stderr.on('data', (c) => chunks.push(c));
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      running.delete(child);
      if (killed) chunks.push(Buffer.from(`run-tests: killed after ${FILE_LIMIT_MS / 60_000} minutes\n`));
      const seconds = (performance.now() - started) / 1000;
      const output = Buffer.concat(chunks).toString('utf8');
      for (const key of Object.keys(counts)) {
        const match = new RegExp(`^\\S* ?${key} (\\d+)$`, 'm').exec(output.replace(/\x1b\[[0-9;]*m/g, ''));
        if (match) counts[key] += Number(match[1]);
      }
      const ok = code === 0;
      process.stdout.write(`\n=== ${file} (${seconds.toFixed(1)} s${ok ? '' : `, FAILED: exit ${code ?? signal}`})\n${output}`);
      results.push({ file, seconds, ok });
      resolve();
    });
  });
}

const started = performance.now();
const load = loadavg()[0].toFixed(2);
const queue = [...files];
await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, async () => {
  for (let file = queue.shift(); file; file = queue.shift()) await runFile(file);
}));
const wall = (performance.now() - started) / 1000;

const failed = results.filter((r) => !r.ok);
console.log(`\nper-file wall time (${files.length} files, ${jobs} at a time), slowest first:`);
for (const r of [...results].sort((a, b) => b.seconds - a.seconds)) {
  console.log(`${r.seconds.toFixed(1).padStart(8)} s  ${r.ok ? '' : 'FAILED  '}${r.file}`);
}
console.log(Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', '));
console.log(`wall ${wall.toFixed(1)} s, sum of files ${results.reduce((s, r) => s + r.seconds, 0).toFixed(1)} s, ` +
  `load average ${load} at start, ${loadavg()[0].toFixed(2)} at end`);
if (failed.length > 0) console.log(`failed files:\n${failed.map((r) => `  ${r.file}`).join('\n')}`);
process.exit(failed.length > 0 ? 1 : 0);
