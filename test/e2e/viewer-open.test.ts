// Other ways in: `flowtape view` on a packed .zip, and a folder or .zip picked in the browser (the File API
// backends that drag-and-drop uses) when no server provides a bundle.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, screenshot } from './browser.ts';
import { REVIEW_FLOW, writeReviewRun } from '../fixtures/scenarios.ts';
import { openViewer, removeDir, tempDir, type ViewerHarness } from './helpers.ts';

function pack(bundle: string, output: string): void {
  const r = spawnSync(process.execPath, [join(repoRoot, 'recorder', 'bin', 'flowtape.js'), 'pack', bundle, '-o', output], { encoding: 'utf8' });
  assert.equal(r.status, 0, `flowtape pack: ${r.stderr}`);
}

describe('opening bundles', () => {
  let dir: string;
  let zip: string;
  let h: ViewerHarness | undefined;

  before(() => {
    dir = tempDir('open');
    writeReviewRun(join(dir, 'review'));
    zip = join(dir, 'review.flowtape.zip');
    pack(join(dir, 'review'), zip);
  });
  after(async () => {
    await h?.close();
    removeDir(dir);
  });

  test('flowtape view on a packed .zip shows the run, its conversation and artifacts', async () => {
    h = await openViewer(zip);
    await h.viewer.open();
    assert.deepEqual((await h.viewer.nodeIds()).sort(), REVIEW_FLOW.nodes.map((n) => n.id).sort());
    await h.viewer.selectNode('implement');
    await h.viewer.tab('session');
    await h.session.page.getByTestId('entry').first().waitFor();
    assert.deepEqual(await h.viewer.highlighted('agent'), ['IMPLEMENT-2-MESSAGE: fixed the logger.']);
    await h.viewer.tab('node');
    await h.session.page.getByTestId('artifact').filter({ hasText: 'prompt' }).getByText('The test failed').first().waitFor();
    await screenshot(h.session.page, 'open-zip');
    await h.close();
    h = undefined;
  });

  test('a folder or a .zip picked in the browser opens through the File API', async () => {
    h = await openViewer(join(dir, 'review'));
    const page = h.session.page;
    // As on a static host with no flowtape server behind it: the landing page offers drop and pickers.
    await page.route('**/api/info', (route) => route.abort());
    await h.viewer.open();
    await page.getByTestId('landing').waitFor();
    await page.getByTestId('pick-folder').setInputFiles(join(dir, 'review'));
    await h.viewer.ready();
    assert.deepEqual((await h.viewer.nodeIds()).sort(), REVIEW_FLOW.nodes.map((n) => n.id).sort());
    assert.equal(await h.viewer.nodeStatus('finish'), 'ok');
    await screenshot(page, 'open-folder-picked');

    await h.viewer.open();
    await page.getByTestId('pick-zip').setInputFiles(zip);
    await h.viewer.ready();
    assert.equal(await h.viewer.nodeStatus('finish'), 'ok');
    await h.viewer.tab('events');
    assert.equal((await h.viewer.count()).total, (await h.viewer.cursor()).total);
    assert.deepEqual(h.session.errors.filter((e) => !e.includes('ERR_FAILED')), []);
  });
});
