// Live follow: a bundle still being written updates in the open viewer, keeps the user's cursor unless they
// follow the head, and shows when the run is complete.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { screenshot } from './browser.ts';
import { writeReviewRun } from '../fixtures/scenarios.ts';
import { openViewer, removeDir, tempDir, type ViewerHarness } from './helpers.ts';

let dir: string;
let h: ViewerHarness;

before(async () => {
  dir = tempDir('live');
});
after(async () => {
  await h?.close();
  removeDir(dir);
});

test('a bundle being written updates live, keeps a parked cursor, follows the head, and shows completion', async () => {
  const bundle = join(dir, 'live-run');
  const { writer, rest } = writeReviewRun(bundle, { runId: 'run-live', stopAfter: 3 });
  h = await openViewer(bundle);
  const page = h.session.page;
  await h.viewer.open();
  assert.equal(await h.viewer.liveBadge.getAttribute('data-complete'), 'false');
  const first = await h.viewer.cursor();
  assert.equal(first.cursor, first.total, 'a live run opens at the head');
  assert.equal(await h.viewer.nodeStatus('route'), 'pending');
  await screenshot(page, 'live-before');

  // Park the cursor at the start: new events must not move it.
  await h.viewer.press('Home');
  rest.shift()!();
  writer.flush();
  const t0 = Date.now();
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="cursor-pos"]')?.getAttribute('data-total')) > n, first.total, { timeout: 5000 });
  const seenAfterMs = Date.now() - t0;
  const parked = await h.viewer.cursor();
  assert.equal(parked.cursor, 0, 'the cursor stayed where the user put it');
  assert.ok(parked.total > first.total);
  console.log(`# live update seen in the browser ${seenAfterMs} ms after the append`);

  // Follow the head (End): the remaining steps arrive and the cursor moves with them.
  await h.viewer.press('End');
  rest.shift()!();
  writer.flush();
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="cursor-pos"]')?.getAttribute('data-total')) > n, parked.total, { timeout: 5000 });
  let c = await h.viewer.cursor();
  assert.equal(c.cursor, c.total, 'following: the cursor is at the head');
  assert.equal(await h.viewer.nodeAttempts('implement'), 2, 'the loop back to implement arrived');

  for (const step of rest) step();
  writer.finish({ complete: true });
  await page.getByTestId('live-badge').filter({ hasText: 'run complete' }).waitFor({ timeout: 5000 });
  c = await h.viewer.cursor();
  assert.equal(c.cursor, c.total);
  assert.equal(await h.viewer.nodeStatus('finish'), 'ok');
  assert.equal(await h.viewer.node('finish').getAttribute('data-stopped'), 'completed');
  assert.equal(await page.getByTestId('follow').count(), 0, 'no follow toggle once complete');
  await screenshot(page, 'live-complete');
  assert.deepEqual(h.session.errors, []);
});
