// The duration view in real Chromium, on every sample bundle: one bar per attempt, ACP turn and action, each
// starting and ending where the trace says (checked against the trace read here, not through the viewer), drawn
// at the right place on the axis; a click on a bar moves the cursor to its start and pins its node.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import { repoRoot, screenshot } from './browser.ts';
import { openViewer, readTraceFile, sampleBundles, type ViewerHarness } from './helpers.ts';

let h: ViewerHarness;
const samples = join(repoRoot, 'samples');

before(async () => {
  h = await openViewer(samples);
});
after(async () => {
  await h?.close();
});

interface Expected { id: string; kind: string; start: number; end: number }

/** The bars the trace calls for: attempts (node.started → node.outcome), turns (prompt → finish), actions. */
function expectedBars(bundle: string): Expected[] {
  const trace = readTraceFile(bundle);
  const origin = Date.parse(trace[0]!.at);
  const ms = (at: string) => Date.parse(at) - origin;
  const out: Expected[] = [];
  const turns = new Map<string, number>();
  for (const e of trace) {
    if (!e.attemptId) continue;
    if (e.type === 'node.started') out.push({ id: `attempt:${e.attemptId}`, kind: 'attempt', start: ms(e.at), end: ms(trace.find((o) => o.type === 'node.outcome' && o.attemptId === e.attemptId)!.at) });
    if (e.type === 'acp.prompt_sent') {
      const n = (turns.get(e.attemptId) ?? 0) + 1;
      turns.set(e.attemptId, n);
      const done = trace.filter((o) => o.type === 'acp.turn_finished' && o.attemptId === e.attemptId)[n - 1]!;
      out.push({ id: `turn:${e.attemptId}:${n}`, kind: 'turn', start: ms(e.at), end: ms(done.at) });
    }
    if (e.type === 'action.started') {
      const done = trace.find((o) => o.type === 'action.completed' && o.attemptId === e.attemptId)!;
      out.push({ id: `action:${e.attemptId}`, kind: 'action', start: ms(e.at), end: ms(done.at) });
    }
  }
  return out;
}

test('every attempt, turn and action of every sample is a bar with the trace\'s start and end, placed on the axis', async () => {
  const page = h.session.page;
  const bundles = sampleBundles();
  assert.ok(bundles.length >= 4);
  let kinds = new Set<string>();
  for (const bundle of bundles) {
    const run = relative(samples, bundle).split('\\').join('/');
    await h.viewer.open(`run=${encodeURIComponent(run)}&view=waterfall`);
    await page.getByTestId('waterfall').waitFor();
    const rows = await page.$$eval('[data-testid="wf-row"]', (els) => els.map((el) => {
      const track = el.querySelector('.wf-track')!.getBoundingClientRect();
      const bar = el.querySelector('[data-testid="wf-bar"]')!.getBoundingClientRect();
      return {
        id: el.getAttribute('data-id')!, kind: el.getAttribute('data-kind')!,
        start: Number(el.getAttribute('data-start-ms')), end: Number(el.getAttribute('data-end-ms')),
        left: (bar.left - track.left) / track.width, width: bar.width / track.width,
      };
    }));
    const expected = expectedBars(bundle);
    assert.deepEqual(rows.map(({ id, kind, start, end }) => ({ id, kind, start, end })), expected, run);
    const span = Number(await page.getByTestId('waterfall').getAttribute('data-span-ms'));
    for (const r of rows) {
      assert.ok(Math.abs(r.left - r.start / span) < 0.01, `${run} ${r.id}: drawn at ${r.left}, starts at ${r.start / span}`);
      if (r.end - r.start > span * 0.02) assert.ok(Math.abs(r.width - (r.end - r.start) / span) < 0.01, `${run} ${r.id}: width`);
    }
    kinds = new Set([...kinds, ...rows.map((r) => r.kind)]);
  }
  assert.deepEqual([...kinds].sort(), ['action', 'attempt', 'turn'], 'the samples have all three kinds');
});

test('a click on a bar moves the cursor to its start and pins its node; the cursor line follows', async () => {
  const page = h.session.page;
  await h.viewer.open('run=retry-timeout%2Fbundle&view=waterfall');
  const lastAttempt = page.locator('[data-testid="wf-row"][data-kind="attempt"]').last();
  const attemptId = (await lastAttempt.getAttribute('data-attempt'))!;
  const at = Number(await page.getByTestId('wf-cursor').getAttribute('data-ms'));
  await lastAttempt.getByTestId('wf-bar').click();
  await page.waitForFunction((id) => new URLSearchParams(location.search).get('node') === id.replace(/#\d+$/, ''), attemptId);
  const start = Number(await lastAttempt.getAttribute('data-start-ms'));
  assert.equal(Number(await page.getByTestId('wf-cursor').getAttribute('data-ms')), start);
  assert.ok(start <= at, 'the cursor went back from the end to the attempt');
  assert.equal(new URLSearchParams(new URL(page.url()).search).get('view'), 'waterfall');
  await screenshot(page, 'waterfall');
  assert.deepEqual(h.session.errors, []);
});
