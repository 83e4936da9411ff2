// The timeline's strip (a pass over every event onto a canvas) is drawn when the page is idle after the model is on
// screen, so a key pressed as the whole trace appears is answered first (viewer/src/ui/Timeline.tsx).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeReviewRun } from '../fixtures/scenarios.ts';
import { openViewer, removeDir, tempDir, type ViewerHarness } from './helpers.ts';

/** Idle callbacks are queued, not run, until the test releases them. */
const HOLD_IDLE = `
window.__idle = [];
window.requestIdleCallback = (cb) => window.__idle.push(cb);
window.cancelIdleCallback = (id) => { window.__idle[id - 1] = undefined; };
`;

describe('the timeline strip', () => {
  let dir: string;
  let h: ViewerHarness | undefined;

  before(() => {
    dir = tempDir('strip');
    writeReviewRun(join(dir, 'review'));
  });
  after(async () => {
    await h?.close();
    removeDir(dir);
  });

  test('is drawn once the page is idle: keys work before, and the strip shows after', async () => {
    h = await openViewer(join(dir, 'review'));
    const page = h.session.page;
    await page.addInitScript(HOLD_IDLE);
    await h.viewer.open();
    await page.locator('[data-testid="bundle"][data-loading="false"]').waitFor();
    // Strings, not functions: the test runner's transpiler would name inner functions with a helper the page lacks.
    const painted = () => page.evaluate(`(() => {
      const c = document.querySelector('[data-testid="scrubber"] canvas');
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) n++;
      return n;
    })()`) as Promise<number>;
    // Two frames after the model is on screen, the resize observer has fired: the draw waits for idle time.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    assert.equal(await painted(), 0, 'the strip was drawn before the page was idle');
    const { total } = await h.viewer.cursor();
    await h.viewer.press('ArrowLeft');
    assert.equal((await h.viewer.cursor()).cursor, total - 1);
    const held = await page.evaluate(() => (window as unknown as { __idle: unknown[] }).__idle.filter(Boolean).length);
    assert.ok(held >= 1, `idle callbacks held: ${held}`);
    await page.evaluate(`(() => {
      for (const cb of window.__idle.splice(0)) if (cb) cb({ didTimeout: false, timeRemaining: () => 50 });
    })()`);
    assert.ok(await painted() > 0, 'the strip is drawn once the page is idle');
    await h.close();
    h = undefined;
  });
});
