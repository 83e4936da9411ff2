// A bundle path with a newline or a tab, shown inside one of flowtape's own lines (found from the outside: verify,
// ls and diff printed it raw, so the line naming the bundle was split in two).
import assert from 'node:assert/strict';
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { runCli, tempDir } from './recorder-support.ts';

const sample = fileURLToPath(new URL('../../samples/conversation/bundle', import.meta.url));

test('verify, ls and diff show a bundle path with a newline or tab escaped, on one line', async () => {
  const dir = await tempDir('flowtape-inline-paths-');
  try {
    mkdirSync(join(dir.path, 'runs'));
    const name = 'sp ace\nnl\tü-日本';
    cpSync(sample, join(dir.path, 'runs', name), { recursive: true });
    const shown = 'sp ace\\nnl\\tü-日本';
    const verify = await runCli(['verify', join('runs', name)], { cwd: dir.path });
    assert.equal(verify.code, 0, verify.stderr);
    assert.deepEqual(verify.stdout.trimEnd().split('\n'), [`runs/${shown}: valid (completed, 26 events, 1 session, 4 artifacts)`]);
    const several = await runCli(['verify', join('runs', name), sample], { cwd: dir.path });
    assert.equal(several.code, 0, several.stderr);
    assert.equal(several.stdout.trimEnd().split('\n').length, 2, several.stdout);
    const ls = await runCli(['ls', 'runs'], { cwd: dir.path });
    assert.equal(ls.code, 0, ls.stderr);
    assert.ok(ls.stdout.split('\n').some((line) => line.includes(shown)), ls.stdout);
    assert.ok(!ls.stdout.split('\n').some((line) => line.includes('sp ace') && !line.includes(shown)), ls.stdout);
    const diff = await runCli(['diff', sample, join('runs', name)], { cwd: dir.path });
    assert.equal(diff.code, 0, diff.stdout + diff.stderr);
    assert.ok(diff.stdout.split('\n').includes(`b: runs/${shown} (run 20260101T000000Z-conversation, completed, 26 events)`), diff.stdout);
  } finally {
    await dir.remove();
  }
});
