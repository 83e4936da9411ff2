// Text from a bundle is shown as it was written, whatever it holds: an unbroken 60,000-character plan entry
// wraps instead of running off as one line; a RIGHT-TO-LEFT OVERRIDE in an agent's file name is shown as a
// visible ⟨U+202E⟩ token and does not reverse what follows it; an event nested 100,000 levels deep is shown to
// a depth limit with a marker (never `[object Object]`), and searching the events does not break on it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { screenshot } from './browser.ts';
import { LONG_PLAN, RLO_SHOWN, writeHostileTextRun } from '../fixtures/hostile-text.ts';
import { openViewer, removeDir, tempDir, type ViewerHarness } from './helpers.ts';

/**
 * Elements under `root` whose content runs past their own box: block-level, not meant to clip or scroll
 * (overflow-x visible), yet scrollWidth beyond clientWidth. A word that does not wrap shows up here.
 */
function overflowing(page: Page, root: string): Promise<string[]> {
  return page.evaluate((sel) => {
    const out: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>(`${sel}, ${sel} *`)) {
      const style = getComputedStyle(el);
      if (style.display === 'inline' || style.display === 'none' || style.overflowX !== 'visible') continue;
      if (el.scrollWidth > el.clientWidth + 1) {
        out.push(`${el.tagName.toLowerCase()}.${el.className} (${el.scrollWidth} px in ${el.clientWidth} px)`);
      }
    }
    return out;
  }, root);
}

/** Left edges, on screen, of the characters of `word` where it first occurs in a text node under `el`. */
function charLefts(page: Page, selector: string, word: string): Promise<number[] | null> {
  return page.locator(selector).first().evaluate((el, w) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode() as Text | null; n; n = walker.nextNode() as Text | null) {
      const at = n.data.indexOf(w);
      if (at < 0) continue;
      return [...w].map((_, k) => {
        const r = document.createRange();
        r.setStart(n!, at + k);
        r.setEnd(n!, at + k + 1);
        return r.getBoundingClientRect().left;
      });
    }
    return null;
  }, word);
}

function increasing(xs: number[]): boolean {
  return xs.every((x, i) => i === 0 || x > xs[i - 1]!);
}

describe('hostile text', () => {
  let dir: string;
  let h: ViewerHarness;
  let deepSeq: number;

  before(async () => {
    dir = tempDir('hostile');
    ({ deepSeq } = writeHostileTextRun(join(dir, 'hostile')));
    h = await openViewer(dir);
  });
  after(async () => {
    await h?.close();
    removeDir(dir);
  });

  test('a long unbroken plan entry wraps inside the conversation; so do long words in the node tab', async () => {
    const page = h.session.page;
    await h.viewer.open('run=hostile&tab=session&node=agent');
    // Selectors the viewer had before this fix too, so the test fails on behaviour, not on a missing hook.
    const plan = page.locator('[data-testid="entry"][data-role="plan"] li').first();
    await plan.waitFor();
    assert.ok(((await plan.textContent()) ?? '').includes(LONG_PLAN), 'the whole entry is there');
    const box = await plan.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth, height: el.getBoundingClientRect().height }));
    assert.ok(box.scroll <= box.client + 1, `the plan entry is ${box.scroll} px wide in a ${box.client} px box`);
    assert.ok(box.height > 200, `the entry wraps onto many lines (${box.height} px high)`);
    assert.deepEqual(await overflowing(page, '.inspector'), []);
    await screenshot(page, 'hostile-plan-wraps');
    // The failed shell node: its error message and command are single 30,000-character words.
    await h.viewer.open('run=hostile&node=fetch');
    await page.getByTestId('attempt-error').waitFor();
    assert.deepEqual(await overflowing(page, '.inspector'), []);
  });

  test('a right-to-left override is shown as a visible token and does not reverse the file name', async () => {
    const page = h.session.page;
    await h.viewer.open('run=hostile&tab=session&node=agent');
    const TITLE = '[data-testid="entry"][data-role="tool_call"] .entry-head b';
    const title = page.locator(TITLE).first();
    await title.waitFor();
    assert.equal(await title.innerText(), `open ${RLO_SHOWN}`);
    const message = page.locator('[data-testid="entry"][data-role="agent"] [data-testid="message-text"]').first();
    assert.equal(await message.innerText(), `saved ${RLO_SHOWN} for you`);
    // innerText is logical order; the override reorders only what is drawn, so measure where letters land.
    for (const sel of [TITLE, '[data-testid="entry"][data-role="agent"] [data-testid="message-text"]']) {
      const lefts = await charLefts(page, sel, 'np.exe');
      assert.ok(lefts && increasing(lefts), `${sel}: letters drawn left to right (${lefts?.join(', ')})`);
    }
    // The graph card, the node's output JSON and the run input in the events tab show it the same way.
    assert.equal(await page.locator('[data-testid="node-agent"] .card-title').innerText(), `Write ${RLO_SHOWN}`);
    await h.viewer.tab('node');
    const output = page.locator('[data-testid="attempt"] .value').filter({ hasText: 'output' }).first();
    assert.match(await output.innerText(), new RegExp(`"file": "${RLO_SHOWN.replace(/[+]/g, '\\+')}"`));
    assert.ok(!(await page.locator('.inspector').innerText()).includes('\u202E'), 'no override character reaches the page as text');
    await screenshot(page, 'hostile-bidi');
  });

  test('an event nested 100,000 levels deep: shown to a depth limit with a marker, and searchable', async () => {
    const page = h.session.page;
    await h.viewer.open(`run=hostile&tab=events&seq=${deepSeq}`);
    assert.equal((await h.viewer.cursor()).seq, deepSeq);
    const detail = page.getByTestId('event-detail');
    await detail.locator('pre').first().waitFor();
    const text = await detail.innerText();
    assert.ok(!text.includes('[object Object]'), 'never [object Object]');
    assert.match(text, /"type": "future\.deep"/);
    // 64 levels shown: the event, its payload and 62 arrays; the marker stands for the remaining 99,938.
    assert.match(text, /"… 99,938 deeper levels not shown \(depth limit 64\)"/);
    // Searching serialises every event: the deep one must not throw there either.
    await h.viewer.search('future.deep');
    await h.viewer.waitForShown(1);
    assert.equal(await h.viewer.eventRows.first().getAttribute('data-seq'), String(deepSeq));
    assert.equal(await page.getByTestId('panel-error').count(), 0);
    assert.deepEqual(h.session.errors, []);
    await screenshot(page, 'hostile-deep');
  });
});
