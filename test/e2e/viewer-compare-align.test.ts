// The compare page on two runs built to differ in shape: b's agent got one extra prompt in the middle of the
// conversation, and b ran a node that neither a's flow nor a's trace has. In real Chromium: the node only b ran is
// drawn and marked; the inserted turn stands alone and the turns after it stay paired with their own (not shifted to
// "changed"); the address bar holds the pair, the attempt and the picked difference, and a reload restores them; the
// sides swap.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FlowSnapshot, SCHEMA_IDS } from '@flowtape/schema';
import { BundleBuilder } from '../fixtures/bundle-builder.ts';
import { openSession, screenshot, type BrowserSession } from './browser.ts';
import { removeDir, tempDir } from './helpers.ts';
import { startCliServer, type RunningViewer } from './viewer-server.ts';

const FLOW = FlowSnapshot.parse({
  schema: SCHEMA_IDS.flow,
  name: 'align',
  startAt: 'ask',
  nodes: [
    { id: 'ask', nodeType: 'acp', title: 'Ask', sessionHandle: 'main', sessionMode: 'shared' },
    { id: 'done', nodeType: 'compute', title: 'Done' },
  ],
  edges: [{ from: 'ask', to: 'done' }],
});

const say = (text: string) => [{ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text } }];

function build(dir: string, runId: string, inserted: boolean): string {
  const b = new BundleBuilder(dir, FLOW, { runId });
  b.runStarted({});
  const a = b.start('ask');
  const main = b.session('main-1', 'main', { boundBy: a });
  main.bind('ask', a);
  main.turn('ask', a, 'Read the notes', say('The notes list three tasks.'));
  if (inserted) main.turn('ask', a, 'Also check the changelog', say('The changelog is up to date.'));
  main.turn('ask', a, 'Summarise them', say('Three tasks: build, test, ship.'));
  main.turn('ask', a, 'Which comes first?', say('Build comes first.'));
  b.outcome('ask', a, { output: 'Build comes first.' });
  b.edge('ask', a, { to: 'done' });
  b.node('done', { output: 'ok', ...(inserted ? { next: { to: 'audit' } } : {}) });
  // Only b: a node neither a's flow nor a's trace has (undeclared in b's flow too).
  if (inserted) b.node('audit', { nodeType: 'compute', output: 'audited' });
  b.runCompleted('ok');
  return b.finish();
}

let dir: string;
let A: string;
let B: string;
let session: BrowserSession;
let server: RunningViewer;

before(async () => {
  dir = tempDir('compare-align');
  A = build(join(dir, 'a'), 'run-a', false);
  B = build(join(dir, 'b'), 'run-b', true);
  session = await openSession({ width: 1600, height: 1000 });
  server = await startCliServer(['view', A, B, '--port', '0']);
});
after(async () => {
  await server?.close();
  await session?.close();
  if (dir) removeDir(dir);
});

async function turns(page: BrowserSession['page']) {
  return page.$$eval('[data-testid="cmp-turn"]', (sections) => sections.map((s) => ({
    only: s.getAttribute('data-only'),
    changed: [...s.querySelectorAll('[data-testid="cmp-row"]')].map((r) => r.getAttribute('data-changed')),
    user: s.querySelector('[data-testid="cmp-entry-a"][data-role="user"], [data-testid="cmp-entry-b"][data-role="user"]')?.textContent ?? '',
  })));
}

test('a node only b ran is drawn, marked as only in b', async () => {
  const page = session.page;
  await page.goto(server.url);
  await page.getByTestId('compare').waitFor({ timeout: 30_000 });
  const audit = page.getByTestId('cmp-node-audit');
  await audit.waitFor();
  assert.equal(await audit.getAttribute('data-only'), 'b');
  assert.equal(await audit.getByTestId('node-side-a').getAttribute('data-status'), 'not run');
  assert.equal(await audit.getByTestId('node-side-b').getAttribute('data-status'), 'ok');
  assert.equal(await page.getByTestId('cmp-node-ask').getAttribute('data-only'), '');
  assert.deepEqual(session.errors, []);
});

test('a turn inserted in b stands alone; the turns after it stay paired and unchanged', async () => {
  const page = session.page;
  await page.goto(server.url);
  await page.getByTestId('compare').waitFor({ timeout: 30_000 });
  await page.getByTestId('cmp-node-ask').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="attempt-compare"]')?.getAttribute('data-attempt') === 'ask#1');
  await page.getByTestId('conversation-compare').waitFor();
  const shown = await turns(page);
  assert.equal(shown.length, 4, JSON.stringify(shown));
  assert.deepEqual(shown.map((t) => t.only), ['', 'b', '', '']);
  assert.match(shown[1]!.user, /Also check the changelog/);
  // Before the insertion and after it: every row the same in both runs.
  for (const t of [shown[0]!, shown[2]!, shown[3]!]) assert.ok(t.changed.every((c) => c === 'false'), JSON.stringify(t));
  assert.ok(shown[1]!.changed.every((c) => c === 'true'));
  await screenshot(page, 'compare-inserted-turn');
});

test('the URL holds the pair, the attempt and the picked difference; a reload restores them; the sides swap', async () => {
  const page = session.page;
  await page.goto(server.url);
  await page.getByTestId('compare').waitFor({ timeout: 30_000 });
  const line = page.locator('[data-testid="diff-line"][data-target="done#1"]').first();
  const index = await line.getAttribute('data-index');
  await line.click();
  await page.waitForFunction(() => /[?&]attempt=done%231/.test(location.search) && /[?&]line=/.test(location.search));
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('compare'), 'a');
  assert.equal(url.searchParams.get('with'), 'b');
  assert.equal(url.searchParams.get('line'), index);

  await page.reload();
  await page.getByTestId('compare').waitFor({ timeout: 30_000 });
  await page.waitForFunction(() => document.querySelector('[data-testid="attempt-compare"]')?.getAttribute('data-attempt') === 'done#1');
  assert.match(await page.locator(`[data-testid="diff-line"][data-index="${index}"]`).getAttribute('class') ?? '', /\bselected\b/);
  assert.match(await page.getByTestId('cmp-node-done').getAttribute('class') ?? '', /\bselected\b/);
  assert.match(await page.getByTestId('side-a').textContent() ?? '', /run-a/);

  // Swapped: b's run on the left, the same attempt selected, the node b alone ran now "only a".
  await page.getByTestId('swap-sides').click();
  await page.getByTestId('compare').waitFor({ timeout: 30_000 });
  await page.waitForFunction(() => new URLSearchParams(location.search).get('compare') === 'b');
  assert.match(await page.getByTestId('side-a').textContent() ?? '', /run-b/);
  assert.equal(await page.getByTestId('cmp-node-audit').getAttribute('data-only'), 'a');
  await page.waitForFunction(() => document.querySelector('[data-testid="attempt-compare"]')?.getAttribute('data-attempt') === 'done#1');
  assert.deepEqual(session.errors, []);
});
