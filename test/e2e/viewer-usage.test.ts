// Usage and cost in the viewer: the run header shows the run's tokens and cost, the node tab the node's (all
// attempts), the attempt's (with its context window) and each turn's. A trace whose usage is malformed
// (strings, negatives, 1e400, markup in the currency) opens without a crash and shows none of it as usage.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, screenshot } from './browser.ts';
import { openViewer, removeDir, tempDir, type ViewerHarness } from './helpers.ts';

const HOSTILE_USAGE = [
  // 1e400 is written as such: JSON.parse reads it as Infinity.
  '{"tokens":{"inputTokens":"<img src=x onerror=window.__pwned=1>","outputTokens":-5,"totalTokens":1e400},' +
    '"cost":{"amount":"lots","currency":"<script>window.__pwned=1</script>"},"context":{"used":1e308,"size":0}}',
  '"not an object"',
];

/** The conversation sample with each turn's usage in trace.ndjson replaced by one of HOSTILE_USAGE. */
function writeHostile(dir: string): void {
  cpSync(join(repoRoot, 'samples/conversation/bundle'), dir, { recursive: true });
  const file = join(dir, 'trace.ndjson');
  let turn = 0;
  const lines = readFileSync(file, 'utf8').split('\n').map((line) => {
    if (!line.includes('"type":"acp.turn_finished"')) return line;
    const usage = HOSTILE_USAGE[turn++]!;
    return line.replace(/"usage":\{.*\}\}\}$/, `"usage":${usage}}}`);
  });
  assert.equal(turn, 2, 'the sample has two turns');
  writeFileSync(file, lines.join('\n'));
  assert.match(readFileSync(file, 'utf8'), /"totalTokens":1e400/);
}

// Both turns ran in the sample's one session: 1,840 + 2,410 tokens, 0.0123 + 0.0088 USD, the last context window.
const SESSION_USAGE = '4,250 tokens (3,500 in, 750 out, 2,560 cached), 0.0211 USD · context 2,410 of 200,000 (1%)';

describe('usage and cost', () => {
  let dir: string;
  let h: ViewerHarness;

  before(async () => {
    dir = tempDir('usage');
    cpSync(join(repoRoot, 'samples/conversation/bundle'), join(dir, 'conversation'), { recursive: true });
    writeHostile(join(dir, 'hostile'));
    h = await openViewer(dir);
  });
  after(async () => {
    await h?.close();
    removeDir(dir);
  });

  test('the run header, the node, the attempt and each turn show tokens and cost', async () => {
    const page = h.session.page;
    await h.viewer.open('run=conversation');
    assert.equal(await page.getByTestId('run-usage').textContent(), '4,250 tokens (3,500 in, 750 out, 2,560 cached), 0.0211 USD');
    await h.viewer.selectNode('summarise');
    assert.equal(await page.getByTestId('node-usage').textContent(), '1,840 tokens (1,520 in, 320 out, 1,024 cached), 0.0123 USD');
    assert.equal(
      await page.getByTestId('attempt-usage').textContent(),
      '1,840 tokens (1,520 in, 320 out, 1,024 cached), 0.0123 USD · context 1,840 of 200,000 (1%)',
    );
    assert.equal(await page.getByTestId('turn-usage').count(), 1);
    await h.viewer.selectNode('write');
    // The second turn's cost is what the session's cumulative cost grew by: 0.0211 - 0.0123.
    assert.match((await page.getByTestId('node-usage').textContent()) ?? '', /^2,410 tokens .*, 0\.0088 USD$/);
    // A node without an agent has no usage line.
    await h.viewer.selectNode('brief');
    assert.equal(await page.getByTestId('node-usage').count(), 0);
    await screenshot(page, 'usage-conversation');
  });

  test('the graph cards and the session tab show tokens and cost, up to the cursor', async () => {
    const page = h.session.page;
    await h.viewer.open('run=conversation');
    const card = (id: string) => page.getByTestId(`node-${id}`).getByTestId('card-usage');
    assert.equal(await card('summarise').textContent(), '1,840 tok · 0.0123 USD');
    assert.equal(await card('write').textContent(), '2,410 tok · 0.0088 USD');
    assert.match((await card('summarise').getAttribute('title')) ?? '', /^1,840 tokens \(1,520 in, 320 out, 1,024 cached\), 0\.0123 USD/);
    assert.equal(await card('brief').count(), 0, 'a node without an agent has no usage');
    await h.viewer.tab('session');
    assert.equal(await page.getByTestId('session-usage').textContent(), SESSION_USAGE);
    // Back at the start of the run nothing was spent yet: no figures on the cards or the session.
    await h.viewer.stepToSeq(1);
    assert.equal(await page.getByTestId('card-usage').count(), 0);
    assert.equal(await page.getByTestId('session-usage').count(), 0);
  });

  test('malformed usage in a trace opens without a crash and shows no usage from it', async () => {
    const page = h.session.page;
    await h.viewer.open('run=hostile');
    await page.getByTestId('bundle-header').waitFor();
    assert.equal(await page.getByTestId('run-usage').count(), 0);
    for (const node of ['summarise', 'write']) {
      await h.viewer.selectNode(node);
      await page.getByTestId('attempt').first().waitFor();
      assert.equal(await page.getByTestId('node-usage').count(), 0);
      assert.equal(await page.getByTestId('attempt-usage').count(), 0);
      // The turns keep what the trace says; only its valid values would be shown, and here there are none.
      assert.equal(await page.getByTestId('turn-usage').count(), 0);
    }
    assert.equal(await page.getByTestId('panel-error').count(), 0, 'no panel fell to its error boundary');
    // Once validated, the two turns with malformed usage are named as problems and left out of the replay.
    assert.match((await page.getByTestId('first-issue').textContent()) ?? '', /\/payload\/usage\//);
    assert.equal(await page.evaluate(() => (window as { __pwned?: number }).__pwned), undefined);
    await screenshot(page, 'usage-hostile');
  });
});
