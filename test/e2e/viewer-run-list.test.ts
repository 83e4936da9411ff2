// The run list a team lives in, in real Chromium: a runs-root of 10,000 bundles opens, sorts by any column,
// filters by status and flow, finds a run by the text of its error, and the server does not re-read unchanged
// runs on refresh. Two runs picked in the list open the compare page, with the differences `flowtape diff` reports.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE_FILES, RunProjection, SCHEMA_IDS } from '@flowtape/schema';
import { writeManifestOnly } from '../fixtures/bundle-builder.ts';
import { repoRoot, screenshot } from './browser.ts';
import { openViewer, removeDir, tempDir, type ViewerHarness } from './helpers.ts';

const RUNS = 10_000;
const FLOWS = ['nightly-build', 'review-loop', 'triage', 'release'];
const flowOf = (i: number) => FLOWS[i % FLOWS.length]!;
const statusOf = (i: number) => (i % 7 === 0 ? 'failed' : i % 11 === 0 ? 'cancelled' : 'completed');
const durationOf = (i: number) => 1000 + ((i * 7919) % 100_000);
const NEEDLE = 7777;

let dir: string;
let h: ViewerHarness;

/** A manifest and a run projection: what the list reads of a bundle. */
function writeRun(root: string, i: number): void {
  const bundle = join(root, flowOf(i), `run-${String(i).padStart(5, '0')}`);
  const startedAt = new Date(Date.UTC(2026, 0, 1) + i * 60_000);
  const status = statusOf(i);
  writeManifestOnly(bundle, `run-${i}`, status, flowOf(i), startedAt);
  const error = status === 'failed' ? { message: i === NEEDLE ? 'ECONNRESET while fetching the unicorn registry' : `exit code ${i % 5}` } : undefined;
  const run = RunProjection.parse({
    schema: SCHEMA_IDS.run, seq: 0, status, startedAt: startedAt.toISOString(), durationMs: durationOf(i), ...(error ? { error } : {}),
    attemptCount: 0, eventCount: 0, unknownEventCount: 0, unknownEventTypes: [], anomalies: [], nodes: [], edges: [],
  });
  mkdirSync(join(bundle, 'projections'), { recursive: true });
  writeFileSync(join(bundle, BUNDLE_FILES.run), JSON.stringify(run));
}

before(async () => {
  dir = tempDir('run-list');
  for (let i = 0; i < RUNS; i++) writeRun(dir, i);
  // Two real runs of the same flow that differ, for the compare pick.
  cpSync(join(repoRoot, 'samples', 'retry-timeout', 'bundle'), join(dir, 'pair', 'golden'), { recursive: true });
  cpSync(join(repoRoot, 'samples', 'shell-routing', 'bundle'), join(dir, 'pair', 'other'), { recursive: true });
  h = await openViewer(dir);
});
after(async () => {
  await h?.close();
  removeDir(dir);
});

const count = (page: ViewerHarness['session']['page']) => page.getByTestId('run-count').textContent();

test(`${RUNS.toLocaleString('en-US')} runs: listed, sorted by any column, filtered by status and flow, found by error text`, async () => {
  const page = h.session.page;
  const total = RUNS + 2;
  await h.viewer.open();
  assert.equal(await count(page), `${total.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} runs`);
  assert.ok(await h.viewer.runRows.count() < 200, 'rows are virtualized');

  // Sort by duration, shortest first: the first row is the run with the smallest duration.
  await page.getByTestId('run-sort-duration').click();
  await page.getByTestId('run-sort-duration').click();
  assert.equal(await page.getByTestId('run-sort-duration').getAttribute('aria-sort'), 'ascending');
  const durations = Array.from({ length: RUNS }, (_, i) => [i, durationOf(i)] as const);
  const shortest = durations.reduce((a, b) => (b[1] < a[1] ? b : a));
  // The two sample runs took a few ms: they come first.
  const firstIds = await h.viewer.runRows.evaluateAll((rows) => rows.slice(0, 3).map((r) => r.getAttribute('data-run')));
  assert.deepEqual(firstIds.slice(0, 2).sort(), ['pair/golden', 'pair/other']);
  assert.equal(firstIds[2], `${flowOf(shortest[0])}/run-${String(shortest[0]).padStart(5, '0')}`);
  // Sort by flow, descending.
  await page.getByTestId('run-sort-flow').click();
  await page.getByTestId('run-sort-flow').click();
  assert.match((await h.viewer.runRows.first().getAttribute('data-run')) ?? '', /^(triage|shell-routing|retry-timeout)\//);

  // Filter by status and flow.
  const failed = Array.from({ length: RUNS }, (_, i) => i).filter((i) => statusOf(i) === 'failed');
  await page.getByTestId('run-filter-status').selectOption('failed');
  await page.waitForFunction((n) => document.querySelector('[data-testid="run-count"]')?.textContent?.startsWith(n + ' of'), failed.length.toLocaleString('en-US'));
  const rowStatuses = await h.viewer.runRows.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
  assert.ok(rowStatuses.every((s) => s === 'failed'));
  await page.getByTestId('run-filter-flow').selectOption('release');
  const failedRelease = failed.filter((i) => flowOf(i) === 'release').length;
  await page.waitForFunction((n) => document.querySelector('[data-testid="run-count"]')?.textContent?.startsWith(n + ' of'), failedRelease.toLocaleString('en-US'));

  // Find one run by the text of its error.
  await page.getByTestId('run-filter-flow').selectOption('');
  await page.getByTestId('run-search').fill('unicorn registry');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 1);
  assert.equal(await h.viewer.runRows.first().getAttribute('data-run'), `${flowOf(NEEDLE)}/run-0${NEEDLE}`);
  assert.match((await h.viewer.runRows.first().getByTestId('run-error').textContent()) ?? '', /ECONNRESET/);
  await screenshot(page, 'run-list-10000');
  // Each row links to its run's deep link.
  assert.equal(await h.viewer.runRows.first().getAttribute('href'), `/?run=${encodeURIComponent(`${flowOf(NEEDLE)}/run-0${NEEDLE}`)}`);
});

test('a refresh shows a run whose manifest changed', async () => {
  const page = h.session.page;
  await h.viewer.open();
  const i = 42;
  const id = `${flowOf(i)}/run-000${i}`;
  writeManifestOnly(join(dir, id), `run-${i}`, 'timed_out', flowOf(i), new Date(Date.UTC(2026, 0, 1) + i * 60_000));
  utimesSync(join(dir, id, BUNDLE_FILES.manifest), new Date(), new Date(Date.now() + 5000));
  await page.getByTestId('run-search').fill(id);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 1);
  assert.equal(await h.viewer.runRows.first().getAttribute('data-status'), 'failed');
  await page.getByTestId('run-refresh').click();
  await page.waitForFunction((run) => document.querySelector(`[data-run="${run}"]`)?.getAttribute('data-status') === 'timed_out', id);
});

test('two runs picked in the list open the compare page with the CLI\'s differences', async () => {
  const page = h.session.page;
  await h.viewer.open();
  await page.getByTestId('run-search').fill('pair/');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 2);
  assert.equal(await page.getByTestId('run-compare').count(), 0);
  const pick = (id: string) => page.locator('.run-item').filter({ has: page.locator(`[data-run="${id}"]`) }).getByTestId('run-pick');
  await pick('pair/golden').check();
  await pick('pair/other').check();
  await page.getByTestId('run-compare').click();
  await page.getByTestId('compare').waitFor({ timeout: 30_000 });
  const cli = spawnSync(process.execPath, [join(repoRoot, 'recorder', 'bin', 'flowtape.js'), 'diff', join(dir, 'pair', 'golden'), join(dir, 'pair', 'other')], { encoding: 'utf8' });
  assert.equal(cli.status, 1, cli.stderr);
  const lines = cli.stdout.split('\n').filter((l) => l.startsWith('  ')).map((l) => l.slice(2));
  assert.deepEqual(await page.getByTestId('diff-line').allTextContents(), lines);
  assert.equal(await page.getByTestId('back-to-runs').getAttribute('href'), '/');
  assert.deepEqual(h.session.errors, []);
});
