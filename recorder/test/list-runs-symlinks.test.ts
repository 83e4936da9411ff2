// A bundle linked into a runs root is a run of that root for `ls` and `index`, as `verify`, `diff` and `view` accept
// it; a link that leads to no folder is skipped without a word (review13, finding 12).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot, runCli, tempDir } from './recorder-support.ts';

test('ls --json and index list a symlinked bundle beside a real one, and skip links to no folder quietly', async (t) => {
  const dir = await tempDir('flowtape-ls-links-');
  t.after(() => dir.remove());
  const root = join(dir.path, 'runs');
  await cp(join(repoRoot, 'samples', 'conversation', 'bundle'), join(root, 'conversation'), { recursive: true });
  await cp(join(repoRoot, 'samples', 'shell-routing', 'bundle'), join(dir.path, 'kept', 'shell-routing'), { recursive: true });
  await symlink(join('..', 'kept', 'shell-routing'), join(root, 'golden'));
  await symlink(join(dir.path, 'gone'), join(root, 'dangling'));
  await symlink('loop', join(root, 'loop'));
  await writeFile(join(dir.path, 'notes.txt'), 'not a bundle\n');
  await symlink(join(dir.path, 'notes.txt'), join(root, 'to-a-file'));
  await mkdir(join(root, 'empty'));
  await symlink(join(root, 'empty'), join(root, 'to-an-empty-folder'));

  const ls = await runCli(['ls', 'runs', '--json'], { cwd: dir.path });
  assert.equal(ls.code, 0, ls.stderr);
  assert.equal(ls.stderr, '');
  const runs = JSON.parse(ls.stdout) as Array<{ path: string; runId?: string; status?: string; problem?: string }>;
  assert.deepEqual(
    runs.map(({ path, runId, status, problem }) => ({ path, runId, status, problem })),
    [
      { path: join(root, 'conversation'), runId: '20260101T000000Z-conversation', status: 'completed', problem: undefined },
      { path: join(root, 'golden'), runId: '20260101T000000Z-shell-routing', status: 'completed', problem: undefined },
    ],
  );

  const index = await runCli(['index', 'runs', '-o', 'idx', '--json'], { cwd: dir.path });
  assert.equal(index.code, 0, index.stderr);
  assert.equal(index.stderr, '');
  const report = JSON.parse(index.stdout) as { runs: number; attempts: number; skipped: string[] };
  assert.deepEqual({ runs: report.runs, attempts: report.attempts, skipped: report.skipped }, { runs: 2, attempts: 7, skipped: [] });
  const rows = (await readFile(join(dir.path, 'idx', 'runs.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line).runId);
  assert.deepEqual(rows, ['20260101T000000Z-conversation', '20260101T000000Z-shell-routing']);
});

test('index of a runs root holding only a symlinked bundle finds it (it said "no bundles here")', async (t) => {
  const dir = await tempDir('flowtape-index-link-');
  t.after(() => dir.remove());
  await cp(join(repoRoot, 'samples', 'checkpoint', 'bundle'), join(dir.path, 'checkpoint'), { recursive: true });
  await mkdir(join(dir.path, 'runs'));
  await symlink(join(dir.path, 'checkpoint'), join(dir.path, 'runs', 'golden'));
  const index = await runCli(['index', 'runs', '-o', 'idx'], { cwd: dir.path });
  assert.equal(index.code, 0, index.stderr);
  assert.match(index.stdout, /1 runs, 3 attempts/);
});

test('ls: a bundle and links to it in the same root are one run, listed under the folder (it was listed once per name)', async (t) => {
  const dir = await tempDir('flowtape-ls-link-dup-');
  t.after(() => dir.remove());
  const root = join(dir.path, 'runs');
  await cp(join(repoRoot, 'samples', 'conversation', 'bundle'), join(root, 'conversation'), { recursive: true });
  // Named to sort before the folder: the folder still wins.
  await symlink('conversation', join(root, 'a-link'));
  await symlink(join(root, 'conversation'), join(root, 'b-link'));
  const ls = await runCli(['ls', 'runs', '--json'], { cwd: dir.path });
  assert.equal(ls.code, 0, ls.stderr);
  assert.deepEqual((JSON.parse(ls.stdout) as Array<{ path: string }>).map((r) => r.path), [join(root, 'conversation')]);
});
