// A runs-root with very many runs: all are listed (no cap), searchable, and the list stays a virtualized list.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { screenshot } from './browser.ts';
import { writeManifestOnly } from '../fixtures/bundle-builder.ts';
import { openViewer, removeDir, tempDir, type ViewerHarness } from './helpers.ts';

const RUNS = 2500;
const flowOf = (i: number) => (i % 3 === 0 ? 'nightly-build' : 'review-loop');
let dir: string;
let h: ViewerHarness;

before(async () => {
  dir = tempDir('runs');
  for (let i = 0; i < RUNS; i++) {
    const flow = flowOf(i);
    const status = i % 7 === 0 ? 'failed' : 'completed';
    writeManifestOnly(join(dir, flow, `run-${String(i).padStart(5, '0')}`), `run-${i}`, status, flow, new Date(Date.UTC(2026, 0, 1) + i * 60_000));
  }
  h = await openViewer(dir);
});
after(async () => {
  await h?.close();
  removeDir(dir);
});

test(`a runs-root of ${RUNS} runs lists every one of them, newest first, and search narrows the list`, async () => {
  const page = h.session.page;
  await h.viewer.open();
  assert.equal(await page.getByTestId('run-count').textContent(), `${RUNS.toLocaleString('en-US')} of ${RUNS.toLocaleString('en-US')} runs`);
  assert.ok(await h.viewer.runRows.count() < 200, 'rows are virtualized');
  assert.equal(await h.viewer.runRows.first().getAttribute('data-run'), `${flowOf(RUNS - 1)}/run-0${RUNS - 1}`);
  // The oldest run is reachable by scrolling to the end of the list.
  await page.locator('.run-rows').evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await page.locator('[data-run="nightly-build/run-00000"]').waitFor();
  await page.getByTestId('run-search').fill('failed');
  const failed = Array.from({ length: RUNS }, (_, i) => i).filter((i) => i % 7 === 0).length;
  await page.waitForFunction((n) => document.querySelector('[data-testid="run-count"]')?.textContent?.startsWith(n), failed.toLocaleString('en-US'));
  await page.getByTestId('run-search').fill('nightly-build/run-00021');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 1);
  await screenshot(page, 'run-list-many');
  // A run that appears later shows up on refresh.
  await page.getByTestId('run-search').fill('');
  writeManifestOnly(join(dir, 'late', 'run-late'), 'run-late', 'running', 'late-flow', new Date(Date.UTC(2027, 0, 1)));
  await page.getByTestId('run-refresh').click();
  await page.waitForFunction((n) => document.querySelector('[data-testid="run-count"]')?.textContent?.endsWith(`of ${n} runs`), (RUNS + 1).toLocaleString('en-US'));
  assert.equal(await h.viewer.runRows.first().getAttribute('data-run'), 'late/run-late');
});
