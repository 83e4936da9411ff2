// Without Chromium the browser tests must fail within seconds with one line saying what to do, and leave no viewer
// server behind (a server started before the browser failed used to keep the test file alive for minutes). Runs one
// real e2e file in a child process with FLOWTAPE_CHROMIUM pointing nowhere; does not depend on whether this machine
// has Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumProblem, repoRoot } from './e2e/browser.ts';

const FIX = 'install it (apt-get install -y chromium) or set FLOWTAPE_CHROMIUM to a Chromium executable';
const MISSING = `chromium not found at /nonexistent (FLOWTAPE_CHROMIUM): ${FIX}`;

test('chromiumProblem names a missing, non-file or non-executable Chromium and passes an executable', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flowtape-chromium-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const plain = join(dir, 'plain');
  writeFileSync(plain, '#!/bin/sh\n');
  chmodSync(plain, 0o644);
  const runnable = join(dir, 'chromium');
  writeFileSync(runnable, '#!/bin/sh\n');
  chmodSync(runnable, 0o755);
  mkdirSync(join(dir, 'folder'));

  assert.equal(chromiumProblem('/nonexistent', true), MISSING);
  assert.equal(chromiumProblem('/nonexistent/chromium', false), `chromium not found at /nonexistent/chromium: ${FIX}`);
  assert.equal(chromiumProblem(join(dir, 'folder'), true), `chromium at ${join(dir, 'folder')} (FLOWTAPE_CHROMIUM) is not a file: ${FIX}`);
  assert.equal(chromiumProblem(plain, true), `chromium at ${plain} (FLOWTAPE_CHROMIUM) is not executable: ${FIX}`);
  assert.equal(chromiumProblem(runnable, true), undefined);
});

test('an e2e file with FLOWTAPE_CHROMIUM=/nonexistent fails fast with one line and leaves no server running', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, FLOWTAPE_CHROMIUM: '/nonexistent' };
  delete env.NODE_TEST_CONTEXT; // a test runner of its own, not a child of this one
  const started = Date.now();
  // Its own process group: whatever the e2e file starts (a `flowtape view` server) is in it, so it can be checked for.
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', 'test/e2e/viewer-inspector.test.ts'], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
  const killer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(killer);
  const seconds = (Date.now() - started) / 1000;

  // Processes of the group may still be exiting when the runner's pipes close; give them the few seconds a run has.
  const groupAlive = (): boolean => {
    try {
      process.kill(-child.pid!, 0);
      return true;
    } catch {
      return false; // ESRCH: nothing left in the group
    }
  };
  const deadline = Date.now() + 5_000;
  while (groupAlive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const leftover = groupAlive();
  if (leftover) process.kill(-child.pid!, 'SIGKILL');

  assert.ok(seconds < 30, `the e2e file took ${seconds.toFixed(1)} s to fail (killed at 60 s):\n${output}`);
  assert.notEqual(code, 0, output);
  assert.ok(output.includes(MISSING), output);
  assert.doesNotMatch(output, /browserType\.launch/, 'fails before Playwright tries to launch');
  assert.equal(leftover, false, 'a process of the e2e run (a viewer server?) is still running 5 s after it ended');
});
