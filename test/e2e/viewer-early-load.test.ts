// The served bundle is read by the entry module before the app's own code has loaded (viewer/src/app/early-load.ts),
// and the app takes that load over: the trace is read once, not once early and again when the app opens it. The
// flow's graph is laid out in a worker meanwhile (viewer/src/layout/layout-ahead.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeReviewRun } from '../fixtures/scenarios.ts';
import { openViewer, readTraceFile, removeDir, tempDir, type ViewerHarness } from './helpers.ts';

/** How many times each user-timing mark of the load was set in the page. */
async function marks(h: ViewerHarness): Promise<Record<string, number>> {
  return h.session.page.evaluate(() => {
    const out: Record<string, number> = {};
    for (const m of performance.getEntriesByType('mark')) out[m.name] = (out[m.name] ?? 0) + 1;
    return out;
  });
}

describe('the early load of a served bundle', () => {
  let dir: string;
  let h: ViewerHarness | undefined;

  before(() => {
    dir = tempDir('early');
    writeReviewRun(join(dir, 'runs', 'review'));
  });
  after(async () => {
    await h?.close();
    removeDir(dir);
  });

  test('flowtape view on one bundle: the load starts before the app, and the app shows it without reading the trace again', async () => {
    h = await openViewer(join(dir, 'runs', 'review'));
    await h.viewer.open();
    await h.session.page.locator('[data-testid="bundle"][data-loading="false"]').waitFor();
    const m = await marks(h);
    assert.equal(m['flowtape:early-load'], 1, JSON.stringify(m));
    assert.equal(m['flowtape:trace-start'], 1, JSON.stringify(m));
    assert.equal(m['flowtape:trace-end'], 1, JSON.stringify(m));
    assert.equal((await h.viewer.cursor()).total, readTraceFile(join(dir, 'runs', 'review')).length);
    await h.close();
    h = undefined;
  });

  test('the first files are requested before the schema\'s code has arrived, and the trace is read once', async () => {
    h = await openViewer(join(dir, 'runs', 'review'));
    const page = h.session.page;
    // Whatever script holds the schema (its trace-event id is in it) is held back 1.5 s: the entry module must have
    // asked for the trace by then (backend/prefetch.ts), and the loader must take that response over, not fetch again.
    let released = Infinity;
    const traceRequested: number[] = [];
    const wholeTrace: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname !== '/files/trace.ndjson') return;
      traceRequested.push(Date.now());
      if (!r.headers()['range']) wholeTrace.push(r.url());
    });
    await page.route('**/assets/*.js', async (route) => {
      const response = await route.fetch();
      const body = await response.text();
      if (body.includes('flowtape.trace-event.v1')) {
        await new Promise((resolve) => setTimeout(resolve, 1500));
        released = Math.min(released, Date.now());
      }
      await route.fulfill({ response, body });
    });
    await h.viewer.open();
    await page.locator('[data-testid="bundle"][data-loading="false"]').waitFor();
    assert.ok(traceRequested.length > 0 && traceRequested[0]! < released,
      `trace requested at ${traceRequested[0]}, the schema's chunk released at ${released}`);
    const m = await marks(h);
    assert.equal(m['flowtape:prefetch'], 1, JSON.stringify(m));
    // The trace was fetched once for the load, by the trace worker (backend/trace-text.ts), not by the page's own
    // thread (the validation worker fetches its own copy later, as a byte range).
    assert.equal(wholeTrace.length, 1, wholeTrace.join(', '));
    const pageFetches = await page.evaluate(() => performance.getEntriesByType('resource')
      .filter((e) => new URL(e.name).pathname === '/files/trace.ndjson').length);
    assert.equal(pageFetches, 0);
    assert.equal((await h.viewer.cursor()).total, readTraceFile(join(dir, 'runs', 'review')).length);
    await h.close();
    h = undefined;
  });

  test('the chunk that reads the bundle is requested beside the entry module, not once the entry has run', async () => {
    h = await openViewer(join(dir, 'runs', 'review'));
    const page = h.session.page;
    // The entry module (the page's one <script>) is held back 1 s: the chunk with the loader and the schema (its
    // trace-event id is in it) must have been asked for meanwhile, from the page's <link rel="modulepreload">.
    let entryReleased = Infinity;
    let schemaRequested = Infinity;
    await page.route('**/assets/*.js', async (route) => {
      const requested = Date.now();
      const response = await route.fetch();
      const body = await response.text();
      if (/\/assets\/index-[^/]*\.js$/.test(new URL(route.request().url()).pathname)) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        entryReleased = Date.now();
      } else if (body.includes('flowtape.trace-event.v1')) {
        schemaRequested = Math.min(schemaRequested, requested);
      }
      await route.fulfill({ response, body });
    });
    await h.viewer.open();
    await page.locator('[data-testid="bundle"][data-loading="false"]').waitFor();
    assert.ok(schemaRequested < entryReleased, `the schema's chunk requested at ${schemaRequested}, the entry released at ${entryReleased}`);
    assert.equal((await h.viewer.cursor()).total, readTraceFile(join(dir, 'runs', 'review')).length);
    await h.close();
    h = undefined;
  });

  test('the graph is laid out in a worker while the trace loads, to the same positions as on the main thread', async () => {
    h = await openViewer(join(dir, 'runs', 'review'));
    const page = h.session.page;
    const positions = () => page.locator('.react-flow__node').evaluateAll((els) =>
      els.map((e) => `${e.getAttribute('data-id')} ${(e as HTMLElement).style.transform}`).sort());
    await h.viewer.open();
    await page.locator('[data-testid="bundle"][data-loading="false"]').waitFor();
    const first = await positions();
    assert.ok(first.length >= 3, first.join('; '));
    // The trace held back: flow.json is read, and its layout comes back from the worker before the first event.
    await page.route('**/files/trace.ndjson', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await route.continue();
    });
    await h.viewer.open();
    await page.locator('[data-testid="bundle"][data-loading="false"]').waitFor();
    assert.equal((await marks(h))['flowtape:layout-ahead'], 1);
    assert.deepEqual(await positions(), first);
    await h.close();
    h = undefined;
  });

  test('a runs root opened at ?run=: that run is loaded early; the run list itself is not', async () => {
    h = await openViewer(join(dir, 'runs'));
    await h.viewer.open('run=review');
    await h.session.page.locator('[data-testid="bundle"][data-loading="false"]').waitFor();
    let m = await marks(h);
    assert.equal(m['flowtape:early-load'], 1, JSON.stringify(m));
    assert.equal(m['flowtape:trace-start'], 1, JSON.stringify(m));
    await h.viewer.open();
    await h.viewer.runRows.first().waitFor();
    m = await marks(h);
    assert.equal(m['flowtape:early-load'], undefined, JSON.stringify(m));
    assert.equal(m['flowtape:trace-start'], undefined, JSON.stringify(m));
  });
});
