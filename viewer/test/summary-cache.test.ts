// The run list's summaries are kept by the server between requests: an unchanged run is not read again (its
// manifest is not even opened), a run whose manifest or run projection changed is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeManifestOnly } from '../../test/fixtures/bundle-builder.ts';
import { summarizeRunCached } from '../server/summary.ts';

test('an unchanged run answers from the cache; a changed manifest is read again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flowtape-summary-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const at = new Date(Date.UTC(2026, 0, 1));
  writeManifestOnly(dir, 'run-1', 'completed', 'flow-a', at);
  const manifest = join(dir, 'manifest.json');
  // Whole seconds, so putting the time back below restores it exactly.
  utimesSync(manifest, at, at);
  assert.equal((await summarizeRunCached(dir, 'r')).flow, 'flow-a');
  // Same size and times, other content: only a cache can still say flow-a (the file now says flow-b).
  const before = statSync(manifest);
  writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('flow-a', 'flow-b'));
  utimesSync(manifest, before.atime, before.mtime);
  assert.equal((await summarizeRunCached(dir, 'r')).flow, 'flow-a', 'not read again');
  // A new mtime: read again.
  utimesSync(manifest, new Date(), new Date(before.mtimeMs + 10_000));
  assert.equal((await summarizeRunCached(dir, 'r')).flow, 'flow-b');
  // The id is the caller's (a runs-root may be served under another path).
  assert.equal((await summarizeRunCached(dir, 'other/r')).id, 'other/r');
});

test('the kept directory listings still see runs added, removed and completed after the first read', async (t) => {
  const { listRuns } = await import('../server/runs.ts');
  const { mkdirSync, realpathSync } = await import('node:fs');
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'flowtape-walk-')));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const at = new Date(Date.UTC(2026, 0, 1));
  writeManifestOnly(join(root, 'flow', 'run-1'), 'run-1', 'completed', 'flow', at);
  mkdirSync(join(root, 'flow', 'run-2'));
  const ids = async () => (await listRuns(root, 'runs')).map((r) => r.id);
  assert.deepEqual(await ids(), ['flow/run-1']);
  // run-2 gets its manifest (its directory changes, its parent does not).
  writeManifestOnly(join(root, 'flow', 'run-2'), 'run-2', 'running', 'flow', at);
  assert.deepEqual(await ids(), ['flow/run-1', 'flow/run-2']);
  // A new flow directory, and a run removed.
  writeManifestOnly(join(root, 'other', 'run-3'), 'run-3', 'completed', 'other', at);
  rmSync(join(root, 'flow', 'run-1'), { recursive: true });
  assert.deepEqual(await ids(), ['flow/run-2', 'other/run-3']);
});

test('a run and a symlink to it inside the root are listed once (the run list showed two rows with one id)', async (t) => {
  const { listRuns, forgetRunIndex } = await import('../server/runs.ts');
  const { realpathSync, symlinkSync } = await import('node:fs');
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'flowtape-walk-links-')));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  forgetRunIndex();
  writeManifestOnly(join(root, 'trunc'), 'trunc', 'completed', 'flow', new Date(Date.UTC(2026, 0, 1)));
  symlinkSync('trunc', join(root, 'link-to-trunc'));
  assert.deepEqual((await listRuns(root, 'runs')).map((r) => r.id), ['trunc']);
});
