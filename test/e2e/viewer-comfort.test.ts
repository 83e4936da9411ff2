// Day-to-day comfort in real Chromium: the theme follows the system (light and dark, with readable text on the
// graph's cards, the diff highlights and Markdown code), `?` opens the keyboard help and Esc closes it, the address
// bar holds the view (a run's cursor, node, attempt, tab; the run list's sort, filters and search) so a reload
// shows the same, and an empty runs root says how to record a run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { openSession, repoRoot, screenshot, type BrowserSession } from './browser.ts';
import { openViewer, removeDir, tempDir, type ViewerHarness } from './helpers.ts';

let dir: string;
let session: BrowserSession;
let runs: ViewerHarness;

before(async () => {
  dir = tempDir('comfort');
  for (const sample of ['conversation', 'retry-timeout', 'shell-routing', 'checkpoint']) {
    cpSync(join(repoRoot, 'samples', sample, 'bundle'), join(dir, 'root', sample), { recursive: true });
  }
  mkdirSync(join(dir, 'empty'));
  session = await openSession({ width: 1400, height: 900 });
  runs = await openViewer(join(dir, 'root'), session);
});
after(async () => {
  await runs?.close();
  await session?.close();
  if (dir) removeDir(dir);
});

/**
 * WCAG contrast ratio of an element's text colour on the first opaque background behind it. A string, evaluated in
 * the page as written (tsx would wrap named helpers in a function the page does not have).
 */
const CONTRAST = new Function('el', `
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => { const x = v / 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  let bg;
  for (let e = el; e && !bg; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) bg = c;
  }
  const fg = lum(rgb(getComputedStyle(el).color));
  const back = lum(bg || [255, 255, 255]);
  return (Math.max(fg, back) + 0.05) / (Math.min(fg, back) + 0.05);
`) as (el: Element) => number;

async function contrast(page: Page, selector: string): Promise<number> {
  return page.locator(selector).first().evaluate(CONTRAST);
}

const background = (page: Page, selector = 'html') => page.locator(selector).first().evaluate((el) => getComputedStyle(el).backgroundColor);

test('the theme follows the system: dark when the system is dark, with readable cards, highlights and code', async () => {
  const page = session.page;
  const open = async () => {
    await page.goto(new URL('/?run=conversation&tab=session&node=write', runs.server.url).toString());
    await page.getByTestId('bundle').waitFor();
    await page.locator('[data-testid="entry"][data-role="agent"]').first().waitFor();
  };
  await page.emulateMedia({ colorScheme: 'light' });
  await open();
  const light = await background(page);
  assert.equal(light, 'rgb(247, 247, 248)');

  await page.emulateMedia({ colorScheme: 'dark' });
  await open();
  const dark = await background(page);
  assert.notEqual(dark, light);
  assert.equal(dark, 'rgb(20, 22, 27)');
  // The cards, the inspector and the header are dark too, and their text is readable (WCAG AA: 4.5).
  assert.equal(await background(page, '.react-flow__node .card'), 'rgb(28, 31, 38)');
  for (const selector of ['.react-flow__node .card-title', '.bundle-header .flow-name', '[data-testid="entry"] [data-testid="message-text"]', '.tabs button']) {
    const ratio = await contrast(page, selector);
    assert.ok(ratio >= 4.5, `${selector}: contrast ${ratio.toFixed(2)}`);
  }
  await screenshot(page, 'dark-bundle-session');
  await page.emulateMedia({ colorScheme: 'light' });
});

test('dark theme: diff highlights and Markdown code stay readable', async () => {
  const page = session.page;
  await page.emulateMedia({ colorScheme: 'dark' });
  // The conversation sample's write node shows a tool call; the run list's compare page shows the diff highlights.
  await page.goto(new URL('/?compare=conversation&with=checkpoint', runs.server.url).toString());
  await page.getByTestId('compare').waitFor({ timeout: 30_000 });
  for (const selector of ['[data-testid="diff-line"]', '.cmp-card .card-title', '.cmp-table th']) {
    const ratio = await contrast(page, selector);
    assert.ok(ratio >= 4.5, `${selector}: contrast ${ratio.toFixed(2)}`);
  }
  await screenshot(page, 'dark-compare');
  await page.emulateMedia({ colorScheme: 'light' });
});

test('? opens the keyboard help as a modal dialog listing the shortcuts; Esc closes it; ? in a field is typed', async () => {
  const page = session.page;
  await page.goto(new URL('/?run=retry-timeout', runs.server.url).toString());
  await page.getByTestId('bundle').waitFor();
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  assert.equal(await help.isVisible(), false);
  await page.locator('body').focus();
  await page.keyboard.press('?');
  await help.waitFor({ state: 'visible' });
  const rows = await help.getByTestId('key-row').allTextContents();
  for (const want of ['next event', 'play / pause', 'before the run', 'close this help']) assert.ok(rows.some((r) => r.includes(want)), `${want} in ${rows.join(' | ')}`);
  assert.equal(await page.evaluate(() => document.activeElement?.closest('dialog') !== null), true, 'focus is in the dialog');
  await screenshot(page, 'keyboard-help');
  await page.keyboard.press('Escape');
  await help.waitFor({ state: 'hidden' });
  // The header's ? button opens it too.
  await page.getByTestId('help-button').click();
  await help.waitFor({ state: 'visible' });
  await page.keyboard.press('Escape');
  await help.waitFor({ state: 'hidden' });

  // In the run list's search box, ? is a character.
  await page.goto(runs.server.url);
  await page.getByTestId('run-list').waitFor();
  await page.getByTestId('run-search').fill('');
  await page.getByTestId('run-search').press('?');
  assert.equal(await page.getByTestId('run-search').inputValue(), '?');
  assert.equal(await help.isVisible(), false);
  assert.deepEqual(session.errors, []);
});

test('a run\'s cursor, node, attempt, tab and event filters survive a reload', async () => {
  const page = session.page;
  await page.goto(new URL('/?run=retry-timeout', runs.server.url).toString());
  await page.getByTestId('bundle').waitFor();
  // A step before the end, the retried node pinned, its first attempt picked.
  await page.locator('body').focus();
  await page.keyboard.press('End');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  await page.getByTestId('node-fetch').click();
  await page.getByTestId('attempt-tab-fetch#1').click();
  const node = { id: 'fetch' };
  await page.getByTestId('tab-events').click();
  await page.getByTestId('filter-type').selectOption('node.outcome');
  await page.waitForFunction(() => new URLSearchParams(location.search).get('tab') === 'events' && new URLSearchParams(location.search).has('attempt')
    && new URLSearchParams(location.search).get('events.type') === 'node.outcome');
  const before = new URL(page.url()).searchParams;
  assert.equal(before.get('node'), node.id);
  const pos = await page.getByTestId('cursor-pos').getAttribute('data-seq');

  await page.reload();
  await page.getByTestId('bundle').waitFor();
  const after = new URL(page.url()).searchParams;
  for (const name of ['run', 'seq', 'node', 'attempt', 'tab', 'events.type']) assert.equal(after.get(name), before.get(name), name);
  assert.equal(await page.getByTestId('filter-type').inputValue(), 'node.outcome');
  assert.equal(await page.getByTestId('cursor-pos').getAttribute('data-seq'), pos);
  assert.equal(await page.getByTestId('tab-events').getAttribute('aria-selected'), 'true');
  await page.getByTestId('tab-node').click();
  assert.equal(await page.locator('[data-testid="attempt"]').first().getAttribute('data-attempt'), before.get('attempt'));
});

test('the run list\'s sort, filters and search survive a reload and a shared link', async () => {
  const page = session.page;
  await page.goto(runs.server.url);
  await page.getByTestId('run-list').waitFor();
  await page.getByTestId('run-sort-duration').click();
  await page.getByTestId('run-sort-duration').click();
  await page.getByTestId('run-filter-status').selectOption('completed');
  await page.getByTestId('run-search').fill('o');
  await page.waitForFunction(() => new URLSearchParams(location.search).get('q') === 'o');
  const rows = await runs.viewer.runRows.evaluateAll((els) => els.map((e) => e.getAttribute('data-run')));
  const url = page.url();
  assert.match(url, /sort=duration/);
  assert.match(url, /dir=asc/);
  assert.match(url, /status=completed/);

  await page.reload();
  await page.getByTestId('run-list').waitFor();
  assert.equal(await page.getByTestId('run-search').inputValue(), 'o');
  assert.equal(await page.getByTestId('run-filter-status').inputValue(), 'completed');
  assert.equal(await page.getByTestId('run-sort-duration').getAttribute('aria-sort'), 'ascending');
  assert.deepEqual(await runs.viewer.runRows.evaluateAll((els) => els.map((e) => e.getAttribute('data-run'))), rows);
  // Nothing matches: the list says so and clears in one click.
  await page.getByTestId('run-search').fill('no run is called this');
  await page.getByTestId('run-none').waitFor();
  await page.getByTestId('run-clear').click();
  await page.waitForFunction(() => location.search === '?sort=duration&dir=asc');
  assert.equal(await page.getByTestId('run-search').inputValue(), '');
});

test('an empty runs root says how to record a run into it', async () => {
  const empty = await openViewer(join(dir, 'empty'), session);
  try {
    await session.page.emulateMedia({ colorScheme: 'dark' });
    await empty.viewer.open();
    const how = session.page.getByTestId('runs-empty');
    await how.waitFor();
    const text = (await how.textContent()) ?? '';
    assert.match(text, /No runs in .*empty.* yet/);
    assert.match(text, /flowtape run my\.flow\.ts --out .*empty/);
    await screenshot(session.page, 'dark-runs-empty');
  } finally {
    await session.page.emulateMedia({ colorScheme: 'light' });
    await empty.close();
  }
});

test('the waterfall zooms in and out (buttons, Ctrl + wheel), pans, and fits the whole run again', async () => {
  const page = session.page;
  await page.goto(new URL('/?run=retry-timeout&view=waterfall', runs.server.url).toString());
  const wf = page.getByTestId('waterfall');
  await wf.waitFor();
  const windowOf = async () => ({ from: Number(await wf.getAttribute('data-from-ms')), to: Number(await wf.getAttribute('data-to-ms')) });
  const span = Number(await wf.getAttribute('data-span-ms'));
  assert.deepEqual(await windowOf(), { from: 0, to: span });
  /** Every bar drawn where its times fall in the window on screen. */
  const check = async (label: string) => {
    const { from, to } = await windowOf();
    const rows = await page.$$eval('[data-testid="wf-row"]', (els) => els.map((el) => {
      const track = el.querySelector('.wf-track')!.getBoundingClientRect();
      const bar = el.querySelector('[data-testid="wf-bar"]') as HTMLElement;
      const r = bar.getBoundingClientRect();
      return { start: Number(el.getAttribute('data-start-ms')), visible: getComputedStyle(bar).display !== 'none', left: (r.left - track.left) / track.width };
    }));
    let seen = 0;
    for (const r of rows) {
      if (!r.visible || r.start < from || r.start > to) continue;
      seen++;
      assert.ok(Math.abs(r.left - (r.start - from) / (to - from)) < 0.01, `${label}: bar at ${r.left}, starts at ${(r.start - from) / (to - from)}`);
    }
    return seen;
  };
  assert.ok(await check('whole run') > 0);

  await page.getByTestId('wf-zoom-in').click();
  const half = await windowOf();
  assert.ok(Math.abs((half.to - half.from) - span / 2) < 1e-6, JSON.stringify(half));
  await check('zoomed in');
  await page.getByTestId('wf-zoom-in').click();
  const quarter = await windowOf();
  assert.ok(Math.abs((quarter.to - quarter.from) - span / 4) < 1e-6);

  // Shift + wheel pans (the width stays); Ctrl + wheel up zooms in around the pointer.
  const rows = await page.locator('.wf-rows').boundingBox();
  await page.mouse.move(rows!.x + rows!.width * 0.6, rows!.y + 30);
  await page.keyboard.down('Shift');
  await page.mouse.wheel(0, quarter.from > 0 ? -200 : 200);
  await page.keyboard.up('Shift');
  await page.waitForFunction((f) => Number(document.querySelector('[data-testid="waterfall"]')!.getAttribute('data-from-ms')) !== f, quarter.from);
  const panned = await windowOf();
  assert.ok(Math.abs((panned.to - panned.from) - (quarter.to - quarter.from)) < 1e-6, 'panning keeps the width');
  await check('panned');
  await page.keyboard.down('Control');
  await page.mouse.wheel(0, -300);
  await page.keyboard.up('Control');
  await page.waitForFunction((w) => { const el = document.querySelector('[data-testid="waterfall"]')!; return Number(el.getAttribute('data-to-ms')) - Number(el.getAttribute('data-from-ms')) < w; }, panned.to - panned.from);
  await check('wheel zoom');
  await screenshot(page, 'waterfall-zoomed');

  // The window is in the address bar: a reload shows the same part of the run.
  const zoomed = await windowOf();
  await page.waitForFunction(() => new URLSearchParams(location.search).has('wf'));
  await page.reload();
  await wf.waitFor();
  const reloaded = await windowOf();
  assert.ok(Math.abs(reloaded.from - zoomed.from) < 0.01 && Math.abs(reloaded.to - zoomed.to) < 0.01, `${JSON.stringify(reloaded)} vs ${JSON.stringify(zoomed)}`);

  await page.getByTestId('wf-zoom-fit').click();
  assert.deepEqual(await windowOf(), { from: 0, to: span });
  await page.waitForFunction(() => !new URLSearchParams(location.search).has('wf'));
  assert.deepEqual(session.errors, []);
});
