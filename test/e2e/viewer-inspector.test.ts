// The inspector: the session tab shows the selected attempt's slice of the conversation; filters narrow the
// events list; agent text with <script> and onerror payloads is shown as text and never runs; artifacts and
// the shell receipt are shown.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { screenshot } from './browser.ts';
import { XSS_IMG, XSS_SCRIPT, writeReviewRun } from '../fixtures/scenarios.ts';
import { openViewer, readTraceFile, removeDir, tempDir, type ViewerHarness } from './helpers.ts';

describe('inspector', () => {
  let dir: string;
  let h: ViewerHarness;

  before(async () => {
    dir = tempDir('inspector');
    writeReviewRun(join(dir, 'review'));
    writeReviewRun(join(dir, 'xss'), { xss: true, runId: 'run-xss' });
    h = await openViewer(dir);
  });
  after(async () => {
    await h?.close();
    removeDir(dir);
  });

  test('the session tab shows the agent messages of the selected attempt', async () => {
    await h.viewer.open('run=review');
    await h.viewer.selectNode('implement');
    await h.viewer.tab('session');
    await h.session.page.getByTestId('entry').first().waitFor();
    // At the end, implement's latest attempt is #2: its slice is highlighted, #1's is not.
    assert.deepEqual(await h.viewer.highlighted('agent'), ['IMPLEMENT-2-MESSAGE: fixed the logger.']);
    await screenshot(h.session.page, 'session-implement-2');
    // Pick attempt #1 in the node tab: the highlight follows.
    await h.viewer.tab('node');
    await h.session.page.getByTestId('attempt-tab-implement#1').click();
    await h.viewer.tab('session');
    assert.deepEqual(await h.viewer.highlighted('agent'), ['IMPLEMENT-1-MESSAGE: the flag is in.']);
    const roles = await h.session.page.locator('[data-testid="entry"][data-highlight="true"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-role')));
    assert.deepEqual(roles, ['user', 'tool_call', 'permission', 'agent']);
    assert.equal(await h.session.page.getByTestId('permission-answer').first().textContent(), 'answer: Allow once');
    // Thoughts are collapsed.
    assert.equal(await h.session.page.locator('details.thought[open]').count(), 0);
    // Switch sessions.
    await h.session.page.getByTestId('session-select').selectOption('reviewer-1');
    await h.session.page.locator('[data-testid="entry"][data-role="agent"]').first().waitFor();
    assert.deepEqual(
      await h.session.page.locator('[data-testid="entry"][data-role="agent"] [data-testid="message-text"]').allTextContents(),
      ['REVIEW-MESSAGE: looks good.'],
    );
  });

  test('the conversation shows the state at the cursor', async () => {
    const trace = readTraceFile(join(dir, 'review'));
    const firstTurnEnd = trace.find((e) => e.type === 'acp.turn_finished')!.seq;
    await h.viewer.open(`run=review&seq=${firstTurnEnd}&tab=session`);
    await h.session.page.getByTestId('entry').first().waitFor();
    const agentTexts = await h.session.page.locator('[data-testid="entry"][data-role="agent"] [data-testid="message-text"]').allTextContents();
    assert.deepEqual(agentTexts, ['PLAN-MESSAGE: add the flag in src/cli.ts, then a test.']);
    assert.match((await h.session.page.getByTestId('hidden-later').textContent()) ?? '', /later entr/);
  });

  test('filters narrow the events list', async () => {
    const trace = readTraceFile(join(dir, 'review'));
    await h.viewer.open('run=review&tab=events');
    assert.deepEqual(await h.viewer.count(), { shown: trace.length, total: trace.length });
    await h.viewer.filter('scope', 'acp');
    await h.viewer.waitForShown(trace.filter((e) => e.scope === 'acp').length);
    const types = await h.viewer.eventRows.evaluateAll((els) => els.map((e) => e.getAttribute('data-type')));
    assert.ok(types.length > 0 && types.every((t) => t?.startsWith('acp.')), types.join());
    await h.viewer.filter('scope', '');
    await h.viewer.filter('type', 'node.outcome');
    await h.viewer.waitForShown(trace.filter((e) => e.type === 'node.outcome').length);
    await h.viewer.filter('node', 'test');
    await h.viewer.waitForShown(trace.filter((e) => e.type === 'node.outcome' && e.nodeId === 'test').length);
    await h.viewer.filter('type', '');
    await h.viewer.filter('node', '');
    await h.viewer.search('passing');
    await h.session.page.waitForFunction((n) => document.querySelector('[data-testid="events-count"]')?.getAttribute('data-count') === String(n),
      trace.filter((e) => JSON.stringify(e).toLowerCase().includes('passing')).length);
    await screenshot(h.session.page, 'events-filtered');
    // Clicking a row moves the cursor to it.
    const row = h.viewer.eventRows.first();
    const seq = Number(await row.getAttribute('data-seq'));
    await row.click();
    assert.equal((await h.viewer.cursor()).seq, seq);
    // The raw session events of a session are a source too.
    await h.viewer.search('');
    await h.viewer.filter('source', 'main-1');
    await h.session.page.waitForFunction(() => document.querySelector('[data-testid="events-count"]')?.textContent?.includes('session events'));
    const all = (await h.viewer.count()).shown;
    await h.viewer.filter('scope', 'outgoing');
    await h.session.page.waitForFunction(
      (n) => document.querySelector('[data-testid="events-count"]')?.getAttribute('data-count') !== String(n),
      all,
    );
    const outgoing = (await h.viewer.count()).shown;
    assert.ok(outgoing > 0 && outgoing < all, `${outgoing} of ${all}`);
  });

  test('the node tab shows the attempt outcome, error, shell receipt with stdout/stderr, and artifacts', async () => {
    const trace = readTraceFile(join(dir, 'review'));
    const failed = trace.find((e) => e.type === 'node.outcome' && e.nodeId === 'test')!.seq;
    await h.viewer.open(`run=review&seq=${failed}&node=test`);
    assert.equal(await h.session.page.getByTestId('attempt-outcome').textContent(), 'failed');
    assert.match((await h.session.page.getByTestId('attempt-error').textContent()) ?? '', /npm test exited with code 1/);
    const receipt = h.session.page.getByTestId('receipt');
    assert.match((await receipt.textContent()) ?? '', /npm test.*exit code1/s);
    await receipt.getByText('1 failing').first().waitFor();
    assert.match((await receipt.textContent()) ?? '', /Error: 1 test failed/);
    await screenshot(h.session.page, 'node-test-failed');
    // The prompt artifact of an ACP attempt, loaded, with a download.
    await h.viewer.open('run=review&node=plan');
    const prompt = h.session.page.getByTestId('artifact').filter({ hasText: 'prompt' }).first();
    await prompt.getByText('Plan: add a --verbose flag').first().waitFor();
    const download = h.session.page.waitForEvent('download');
    await prompt.getByTestId('artifact-download').click();
    assert.match((await download).suggestedFilename(), /^sha256-[0-9a-f]{64}\.txt$/);
  });

  test('<script> and onerror payloads in agent text are shown as text and never run', async () => {
    const page = h.session.page;
    for (const query of ['run=xss&tab=session&node=implement', 'run=xss&tab=session&node=plan', 'run=xss&node=test', 'run=xss&node=finish', 'run=xss&tab=events']) {
      await h.viewer.open(query);
      await page.locator('[data-testid="entry"], [data-testid="attempt"], [data-testid="event-row"]').first().waitFor();
      await page.waitForTimeout(150);
      assert.equal(await page.evaluate(() => (window as { __xss?: number }).__xss), undefined, `payload ran on ${query}`);
      assert.equal(await page.locator('.inspector script, .inspector img, .graph img').count(), 0, `markup was injected on ${query}`);
    }
    // Open every thought and look again: collapsed text is text too.
    await h.viewer.open('run=xss&tab=session&node=plan');
    await page.locator('details.thought summary').first().click();
    const agent = await page.locator('[data-testid="entry"][data-role="agent"] [data-testid="message-text"]').first().textContent();
    assert.ok(agent?.includes(XSS_SCRIPT) && agent.includes(XSS_IMG), 'the payload is visible as literal text');
    await page.waitForTimeout(150);
    assert.equal(await page.evaluate(() => (window as { __xss?: number }).__xss), undefined);
    await screenshot(page, 'xss-as-text');
    assert.deepEqual(h.session.errors.filter((e) => !e.includes('Content Security Policy')), []);
  });
});
