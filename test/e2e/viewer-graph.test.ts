// The graph shows every node of flow.json; stepping through the trace changes node status exactly as the
// trace says; node stepping, Home/End and deep links work; a runs-root shows every run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowSnapshot } from '@flowtape/schema';
import { screenshot } from './browser.ts';
import { REVIEW_FLOW, writeReviewRun, writeTornRun } from '../fixtures/scenarios.ts';
import { openViewer, readTraceFile, removeDir, sampleBundles, tempDir, type ViewerHarness } from './helpers.ts';

/** Node statuses after each trace event, derived straight from the trace lines. */
function expectedStatuses(bundle: string): Array<Map<string, string>> {
  const out: Array<Map<string, string>> = [];
  const current = new Map<string, string>();
  for (const e of readTraceFile(bundle)) {
    if (e.type === 'node.started' && e.nodeId) current.set(e.nodeId, 'running');
    if (e.type === 'node.outcome' && e.nodeId) current.set(e.nodeId, e.payload.outcome);
    out.push(new Map(current));
  }
  return out;
}

describe('graph and stepping', () => {
  let dir: string;
  let h: ViewerHarness;
  const bundle = () => join(dir, 'review');

  before(async () => {
    dir = tempDir('graph');
    writeReviewRun(join(dir, 'review'));
    writeTornRun(join(dir, 'torn'));
    h = await openViewer(dir);
  });
  after(async () => {
    await h?.close();
    removeDir(dir);
  });

  test('the graph shows every node of flow.json, with switch labels and the loop', async () => {
    await h.viewer.open('run=review');
    const ids = await h.viewer.nodeIds();
    assert.deepEqual([...ids].sort(), REVIEW_FLOW.nodes.map((n) => n.id).sort());
    assert.equal(await h.session.page.getByTestId('edge-label-route-review').textContent(), 'pass');
    assert.match((await h.session.page.getByTestId('edge-label-route-implement').textContent()) ?? '', /^fail/);
    assert.equal(await h.session.page.locator('.react-flow__edge-path.back').count(), 1, 'one back edge (the fail loop)');
    assert.equal(await h.viewer.node('finish').getAttribute('data-stopped'), 'completed');
    assert.equal(await h.viewer.nodeAttempts('implement'), 2);
    await screenshot(h.session.page, 'graph-review-end');
    assert.deepEqual(h.session.errors, []);
  });

  test('stepping event by event changes node status as the trace says', async () => {
    await h.viewer.open('run=review');
    const expected = expectedStatuses(bundle());
    await h.viewer.press('Home');
    assert.equal((await h.viewer.cursor()).cursor, 0);
    for (const id of REVIEW_FLOW.nodes.map((n) => n.id)) assert.equal(await h.viewer.nodeStatus(id), 'pending');
    for (let i = 0; i < expected.length; i++) {
      await h.viewer.press('ArrowRight');
      const c = await h.viewer.cursor();
      assert.equal(c.cursor, i + 1);
      for (const node of REVIEW_FLOW.nodes) {
        assert.equal(await h.viewer.nodeStatus(node.id), expected[i]!.get(node.id) ?? 'pending', `after event ${i + 1}: ${node.id}`);
      }
      if (c.seq === 24) await screenshot(h.session.page, 'graph-review-test-failed');
    }
    // And back: ← undoes, state is the fold up to the cursor, not a memory of the way there.
    await h.viewer.press('ArrowLeft', 5);
    const c = await h.viewer.cursor();
    for (const node of REVIEW_FLOW.nodes) assert.equal(await h.viewer.nodeStatus(node.id), expected[c.cursor - 1]!.get(node.id) ?? 'pending');
  });

  test('node by node stepping stops at each node start; Home and End jump', async () => {
    await h.viewer.open('run=review');
    const starts = readTraceFile(bundle()).filter((e) => e.type === 'node.started').map((e) => e.seq);
    await h.viewer.press('Home');
    for (const seq of starts) {
      await h.viewer.press('Shift+ArrowRight');
      assert.equal((await h.viewer.cursor()).seq, seq);
    }
    await h.viewer.press('Shift+ArrowLeft');
    assert.equal((await h.viewer.cursor()).seq, starts.at(-2));
    await h.viewer.press('End');
    const end = await h.viewer.cursor();
    assert.equal(end.cursor, end.total);
    await h.session.page.getByTestId('prev-node').click();
    assert.equal((await h.viewer.cursor()).seq, starts.at(-1));
  });

  test('play advances the cursor and pauses', async () => {
    await h.viewer.open('run=review&seq=0');
    await h.session.page.getByTestId('speed').selectOption('50');
    await h.viewer.press(' ');
    await h.session.page.waitForFunction(() => Number(document.querySelector('[data-testid="cursor-pos"]')?.getAttribute('data-cursor')) >= 10);
    await h.viewer.press(' ');
    const paused = (await h.viewer.cursor()).cursor;
    await h.session.page.waitForTimeout(200);
    assert.equal((await h.viewer.cursor()).cursor, paused, 'paused: the cursor stays');
  });

  test('edges end in an arrowhead of their colour, drawn without comparing strings by locale', async () => {
    const page = h.session.page;
    // React Flow sorts marker objects by id with localeCompare; the first locale comparison of a page builds ICU's
    // collator (10–50 ms while the bundle first mounts). The graph names its own arrowheads, so none is made.
    await page.addInitScript(() => {
      const w = window as unknown as { __localeCompares: number };
      w.__localeCompares = 0;
      const original = String.prototype.localeCompare;
      String.prototype.localeCompare = function (this: string, ...args: Parameters<typeof original>) {
        w.__localeCompares++;
        return original.apply(this, args);
      };
    });
    await h.viewer.open('run=review');
    await h.viewer.graph.locator('.react-flow__edge-path').first().waitFor({ state: 'attached' });
    const arrowheads = () => h.viewer.graph.locator('.react-flow__edge-path').evaluateAll((paths) => paths.map((p) => {
      const id = /^url\('?#(.+?)'?\)$/.exec(p.getAttribute('marker-end') ?? '')?.[1] ?? '';
      const marker = document.getElementById(id);
      return {
        taken: p.classList.contains('taken'),
        isMarker: marker?.tagName === 'marker',
        fill: (marker?.querySelector('polyline') as SVGElement | null)?.style.fill,
      };
    }));
    const check = (edges: Awaited<ReturnType<typeof arrowheads>>) => {
      for (const e of edges) {
        assert.equal(e.isMarker, true, 'every edge names an arrowhead drawn in the page');
        assert.equal(e.fill, e.taken ? 'rgb(47, 111, 223)' : 'rgb(182, 185, 192)');
      }
    };
    // Before the run no edge is taken (grey); step until some are (blue) while others are not, so both arrowheads show.
    await h.viewer.press('Home');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="graph"] .react-flow__edge-path.taken').length === 0);
    const atStart = await arrowheads();
    assert.ok(atStart.length > 0);
    check(atStart);
    let mixed = atStart;
    for (let i = 0; i < 40 && !mixed.some((e) => e.taken); i++) {
      await h.viewer.press('ArrowRight');
      mixed = await arrowheads();
    }
    assert.ok(mixed.some((e) => e.taken) && mixed.some((e) => !e.taken), 'taken and untaken edges side by side');
    check(mixed);
    assert.equal(await page.evaluate(() => (window as unknown as { __localeCompares: number }).__localeCompares), 0);
  });

  test('a deep link (?run&seq&node) survives a reload', async () => {
    await h.viewer.open('run=review&seq=20&node=implement&tab=session');
    assert.equal((await h.viewer.cursor()).seq, 20);
    await h.viewer.press('ArrowRight', 3);
    await h.session.page.waitForFunction(() => location.search.includes('seq=23'));
    await h.session.page.reload();
    await h.viewer.ready();
    assert.equal((await h.viewer.cursor()).seq, 23);
    // The session tab's code is its own chunk, fetched when the tab shows: wait for it, then count.
    await h.session.page.getByTestId('session-panel').waitFor();
    assert.equal(await h.session.page.getByTestId('session-panel').count(), 1, 'the session tab is still open');
    assert.equal(await h.viewer.node('implement').getAttribute('class').then((c) => c?.includes('selected')), true);
    const url = new URL(h.session.page.url());
    assert.equal(url.searchParams.get('run'), 'review');
    assert.equal(url.searchParams.get('node'), 'implement');
  });

  test('a runs-root lists every run with status, flow, start and duration; search narrows it', async () => {
    await h.viewer.open();
    assert.equal(await h.viewer.runRows.count(), 2);
    const review = h.viewer.runRows.filter({ hasText: 'review' }).first();
    assert.match((await review.textContent()) ?? '', /completed.*review-loop.*review.*2026-01-15.*9\.00 s/);
    await h.session.page.getByTestId('run-search').fill('torn');
    await h.session.page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 1);
    await screenshot(h.session.page, 'run-list-search');
    await h.viewer.runRows.first().click();
    await h.viewer.ready();
    assert.equal(new URL(h.session.page.url()).searchParams.get('run'), 'torn');
  });
});

for (const sample of sampleBundles()) {
  test(`sample ${sample.split('/samples/')[1]}: the graph shows every node of flow.json; stepping follows the trace`, async () => {
    const h = await openViewer(sample);
    try {
      await h.viewer.open();
      const flow = JSON.parse(readFileSync(join(sample, 'flow.json'), 'utf8')) as FlowSnapshot;
      assert.deepEqual((await h.viewer.nodeIds()).sort(), flow.nodes.map((n) => n.id).sort());
      const expected = expectedStatuses(sample);
      await h.viewer.press('Home');
      for (let i = 0; i < expected.length; i++) {
        await h.viewer.press('ArrowRight');
        for (const node of flow.nodes) {
          assert.equal(await h.viewer.nodeStatus(node.id), expected[i]!.get(node.id) ?? 'pending', `after event ${i + 1}: ${node.id}`);
        }
      }
      await screenshot(h.session.page, `sample-${sample.split('/samples/')[1]}`);
      // The session tab shows each ACP node's latest attempt's agent messages, as record.json has them.
      const trace = readTraceFile(sample);
      const lastAcpAttempt = new Map<string, { attemptId: string; sessionId?: string }>();
      for (const e of trace) {
        if (e.type === 'node.started' && e.payload.nodeType === 'acp' && e.nodeId && e.attemptId) lastAcpAttempt.set(e.nodeId, { attemptId: e.attemptId });
        if (e.type === 'session.bound' && e.nodeId && e.sessionId) {
          const a = lastAcpAttempt.get(e.nodeId);
          if (a && a.attemptId === e.attemptId) a.sessionId = e.sessionId;
        }
      }
      for (const [nodeId, { attemptId, sessionId }] of lastAcpAttempt) {
        if (!sessionId) continue;
        const record = JSON.parse(readFileSync(join(sample, 'sessions', sessionId, 'record.json'), 'utf8')) as { messages: Array<{ role: string; text?: string; attemptId?: string }> };
        const expected = record.messages.filter((m) => m.role === 'agent' && m.attemptId === attemptId).map((m) => m.text);
        await h.viewer.open(`node=${encodeURIComponent(nodeId)}&tab=session`);
        await h.session.page.getByTestId('entry').first().waitFor();
        assert.deepEqual(await h.viewer.highlighted('agent'), expected, `${nodeId} (${attemptId})`);
      }
      assert.deepEqual(h.session.errors, []);
    } finally {
      await h.close();
    }
  });
}
