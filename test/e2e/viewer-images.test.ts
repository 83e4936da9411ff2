// Images an agent sends: a scripted agent's image chunk is recorded as an artifact and the session tab shows it as an
// <img> loaded from the viewer server (decoded: naturalWidth > 0), or from a blob URL of its bytes when the bundle is
// a packed .zip. An image whose mimeType is image/svg+xml (an SVG can carry script) is not rendered as an image, and
// nothing of it runs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acp, defineFlow, record } from '@flowtape/recorder';
import { packBundle } from '../../recorder/src/tools/pack.ts';
import { scriptedAgent } from '../../recorder/test/recorder-support.ts';
import { screenshot } from './browser.ts';
import { openViewer, removeDir, tempDir, type ViewerHarness } from './helpers.ts';

// A 2×3 red PNG.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAIAAAADCAIAAAA2iEnWAAAAEElEQVR4nGP4z8AARAwoFABE0AX7pM/egAAAAABJRU5ErkJggg==';
const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="50" height="50"><script>window.__pwned=1</script><rect width="50" height="50"/></svg>').toString('base64');

describe('images in the conversation', () => {
  let dir: string;
  let h: ViewerHarness;

  before(async () => {
    dir = tempDir('images');
    writeFileSync(join(dir, 'chart.png'), Buffer.from(PNG, 'base64'));
    const agentCommand = await scriptedAgent(dir, 'images', {
      fallback: {
        steps: [
          { message: 'Here is the chart:' },
          { image: { path: 'chart.png', mimeType: 'image/png' } },
          { image: { data: SVG, mimeType: 'image/svg+xml' } },
        ],
      },
    });
    const flow = defineFlow({ name: 'images', startAt: 'ask', nodes: { ask: acp({ prompt: 'Draw' }) }, edges: [] });
    const result = await record(flow, {}, { cwd: dir, bundleDir: join(dir, 'runs', 'images'), agentCommand });
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    await packBundle(join(dir, 'runs', 'images'), { output: join(dir, 'images.flowtape.zip') });
    h = await openViewer(join(dir, 'runs'));
  });
  after(async () => {
    await h?.close();
    removeDir(dir);
  });

  test('a PNG chunk is an <img> from its artifact; an SVG is listed, not rendered', async () => {
    const page = h.session.page;
    await h.viewer.open('run=images');
    await h.viewer.tab('session');
    const figure = page.getByTestId('message-image');
    await figure.waitFor({ timeout: 10_000 });
    assert.equal(await figure.count(), 1, 'only the PNG is shown as an image');
    const img = figure.locator('img');
    await page.waitForFunction((el) => (el as HTMLImageElement).complete, await img.elementHandle(), { timeout: 10_000 });
    const shown = await img.evaluate((el: HTMLImageElement) => ({ src: el.getAttribute('src') ?? '', width: el.naturalWidth, height: el.naturalHeight }));
    assert.deepEqual([shown.width, shown.height], [2, 3], 'the browser decoded the image');
    assert.match(shown.src, /\/files\/images\/artifacts\/sha256-[0-9a-f]{64}\.png$/, 'loaded from the artifact the server serves');
    assert.match((await figure.textContent()) ?? '', /image · image\/png · \d+ bytes/);

    // The SVG: an artifact line (type and size, its source as text), no <img>, no <svg>, and its script never ran.
    const svg = page.locator('[data-testid="artifact"][data-path$=".bin"]');
    assert.equal(await svg.count(), 1);
    assert.match((await svg.textContent()) ?? '', /image\/svg\+xml/);
    assert.equal(await page.locator('.conversation svg, .conversation img').count(), 1);
    assert.equal(await page.evaluate(() => (window as { __pwned?: number }).__pwned), undefined);
    await screenshot(page, 'conversation-image');
  });

  test('from a packed .zip (the image is packed with the run): the <img> shows a blob URL of the artifact', async () => {
    const zip = await openViewer(join(dir, 'images.flowtape.zip'), h.session);
    try {
      const page = h.session.page;
      await zip.viewer.open();
      await zip.viewer.tab('session');
      const img = page.getByTestId('message-image').locator('img');
      await img.waitFor({ timeout: 10_000 });
      await page.waitForFunction((el) => (el as HTMLImageElement).complete, await img.elementHandle(), { timeout: 10_000 });
      const shown = await img.evaluate((el: HTMLImageElement) => ({ src: el.src, width: el.naturalWidth, height: el.naturalHeight }));
      assert.match(shown.src, /^blob:/, 'no server to load it from: a blob URL of its bytes');
      assert.deepEqual([shown.width, shown.height], [2, 3]);
      assert.equal(await page.locator('[data-testid="message-image"]').count(), 1, 'the SVG is not an image here either');
    } finally {
      await zip.server.close();
    }
  });
});
