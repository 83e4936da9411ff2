// Messages are rendered as Markdown, and Markdown from an agent is hostile input: a <script>, an <img onerror>,
// raw HTML with handlers, javascript:/data:/relative links. In real Chromium: nothing runs, no such element exists,
// the HTML shows as text, only http(s) links are links (with rel="noopener noreferrer"), code blocks are monospace,
// the raw text is one click away, and a long message is folded behind "show all".
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FlowSnapshot, SCHEMA_IDS } from '@flowtape/schema';
import { BundleBuilder } from '../fixtures/bundle-builder.ts';
import { screenshot } from './browser.ts';
import { openViewer, removeDir, tempDir, type ViewerHarness } from './helpers.ts';

const MARK = '(window.__xss = (window.__xss || 0) + 1)';
const HOSTILE = [
  '## Findings',
  '',
  'The fix is **small**: see [the docs](https://example.com/docs) and `src/cli.ts`.',
  '',
  `<script>${MARK}</script>`,
  '',
  `An image: <img src=x onerror="${MARK}"> and ![pic](x" onerror="${MARK}) inline.`,
  '',
  `<div onclick="${MARK}"><iframe src="javascript:${MARK}"></iframe><b>raw bold</b></div>`,
  '',
  `Links: [click me](javascript:${MARK}), [data](data:text/html,<script>${MARK}</script>), [home](/api/info), <javascript:alert(1)>, <https://example.org/x>.`,
  '',
  '```ts',
  'const verbose = true; // <img src=x onerror=alert(1)>',
  '```',
  '',
  '| flag | meaning |',
  '|---|---|',
  '| --verbose | print more |',
].join('\n');

const LONG = Array.from({ length: 200 }, (_, i) => `line ${i + 1} of a long answer`).join('\n');

const FLOW = FlowSnapshot.parse({
  schema: SCHEMA_IDS.flow,
  name: 'markdown',
  startAt: 'ask',
  nodes: [{ id: 'ask', nodeType: 'acp', title: 'Ask', sessionHandle: 'main', sessionMode: 'shared' }],
  edges: [],
});

let dir: string;
let h: ViewerHarness;

before(async () => {
  dir = tempDir('markdown');
  const b = new BundleBuilder(join(dir, 'md'), FLOW, { runId: 'run-md' });
  b.runStarted({});
  const a = b.start('ask');
  const main = b.session('main-1', 'main', { boundBy: a });
  main.bind('ask', a);
  main.turn('ask', a, `Review **this** <img src=x onerror="${MARK}">`, [
    { sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: HOSTILE } },
  ]);
  main.turn('ask', a, 'And the log?', [{ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: LONG } }]);
  main.turn('ask', a, 'Fix the notes', [
    { sessionUpdate: 'tool_call', toolCallId: 'edit-1', title: 'Edit notes.md', kind: 'edit', status: 'completed',
      content: [{ type: 'diff', path: 'notes.md', oldText: 'one\ntwo\n<b>three</b>\n', newText: 'one\n2\n<b>three</b>\nfour\n' }] },
  ]);
  b.outcome('ask', a, { output: 'done' });
  b.runCompleted('done');
  b.finish();
  h = await openViewer(join(dir, 'md'));
});
after(async () => {
  await h?.close();
  removeDir(dir);
});

test('hostile Markdown renders as text: no script, no image, no handler, no iframe, only http(s) links', async () => {
  const page = h.session.page;
  await h.viewer.open('tab=session&node=ask');
  const message = page.locator('[data-testid="entry"][data-role="agent"] [data-testid="message-text"]').first();
  await message.waitFor();
  await page.waitForTimeout(200);
  assert.equal(await message.getAttribute('data-format'), 'markdown');
  // Markdown is rendered: a heading, bold, inline code, a table.
  assert.equal(await message.locator('h2').textContent(), 'Findings');
  assert.equal(await message.locator('strong').first().textContent(), 'small');
  assert.equal(await message.locator('table td').first().textContent(), '--verbose');
  // Nothing ran and nothing executable or loading exists in the inspector.
  assert.equal(await page.evaluate(() => (window as { __xss?: number }).__xss), undefined);
  assert.equal(await page.locator('.inspector script, .inspector img, .inspector iframe, .inspector [onclick], .inspector [onerror]').count(), 0);
  // The raw HTML is visible as text.
  const text = (await message.textContent()) ?? '';
  assert.ok(text.includes(`<script>${MARK}</script>`), 'the script tag is shown as text');
  assert.ok(text.includes('<img src=x onerror='), 'the img tag is shown as text');
  assert.ok(text.includes('<b>raw bold</b>'), 'raw HTML is shown as text');
  assert.equal(await message.locator('b').count(), 0);
  // Links: only the http(s) ones, each opening a new tab without opener or referrer.
  const links = await message.locator('a').evaluateAll((as) => as.map((a) => ({ href: a.getAttribute('href'), rel: a.getAttribute('rel'), target: a.getAttribute('target'), text: a.textContent })));
  assert.deepEqual(links.map((l) => l.href), ['https://example.com/docs', 'https://example.org/x']);
  for (const l of links) assert.deepEqual([l.rel, l.target], ['noopener noreferrer', '_blank']);
  // The dropped links keep their words.
  assert.ok(text.includes('click me') && text.includes('data') && text.includes('home'));
  // Code blocks are monospace.
  const codeFont = await message.locator('pre code').first().evaluate((el) => getComputedStyle(el).fontFamily);
  assert.match(codeFont, /mono|Menlo|Consolas/i);
  assert.ok(((await message.locator('pre code').first().textContent()) ?? '').includes('<img src=x onerror=alert(1)>'));
  // The user's prompt is Markdown too, and as safe.
  const prompt = page.locator('[data-testid="entry"][data-role="user"] [data-testid="message-text"]').first();
  assert.equal(await prompt.locator('strong').textContent(), 'this');
  await screenshot(page, 'markdown-hostile');

  // The raw text, exactly as the agent sent it.
  await page.locator('[data-testid="entry"][data-role="agent"]').first().getByTestId('raw-toggle').click();
  assert.equal(await message.getAttribute('data-format'), 'raw');
  assert.equal(await message.textContent(), HOSTILE);
  assert.equal(await page.locator('.inspector script, .inspector img, .inspector iframe').count(), 0);
  assert.equal(await page.evaluate(() => (window as { __xss?: number }).__xss), undefined);
  assert.deepEqual(h.session.errors.filter((e) => !e.includes('Content Security Policy')), []);
});

test('a long message is folded behind "show all"', async () => {
  const page = h.session.page;
  await h.viewer.open('tab=session&node=ask');
  const entry = page.locator('[data-testid="entry"][data-role="agent"]').filter({ hasText: 'line 1 of a long answer' });
  await entry.waitFor();
  const text = entry.getByTestId('message-text');
  assert.match((await text.getAttribute('class')) ?? '', /folded/);
  const folded = await text.evaluate((el) => el.getBoundingClientRect().height);
  await entry.getByTestId('show-all').click();
  assert.doesNotMatch((await text.getAttribute('class')) ?? '', /folded/);
  const open = await text.evaluate((el) => el.getBoundingClientRect().height);
  assert.ok(open > folded * 3, `unfolded ${open} px > folded ${folded} px`);
});

test('a tool call\'s diff content is a line diff: removed and added lines marked, the text as text', async () => {
  const page = h.session.page;
  await h.viewer.open('tab=session&node=ask');
  const view = page.locator('[data-testid="entry"][data-role="tool_call"]').filter({ hasText: 'Edit notes.md' }).getByTestId('diff-view');
  await view.waitFor();
  const lines = await view.locator('.diff-lines > div').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-kind')} ${e.textContent}`));
  assert.deepEqual(lines, ['same  one', 'del -two', 'add +2', 'same  <b>three</b>', 'add +four']);
  assert.match((await view.locator('.diff-stat').textContent()) ?? '', /\+2 −1/);
  assert.equal(await view.locator('b').count(), 0);
  await view.scrollIntoViewIfNeeded();
  await screenshot(page, 'tool-call-diff');
});

test('a fenced block in a known language is highlighted as elements, its text unchanged and still inert', async () => {
  const page = h.session.page;
  await h.viewer.open('tab=session&node=ask');
  const code = page.locator('[data-testid="entry"][data-role="agent"] [data-testid="md-code"]').first();
  await code.waitFor();
  assert.equal(await code.getAttribute('data-language'), 'ts');
  assert.equal(await code.locator('.hljs-keyword').first().textContent(), 'const');
  assert.equal(await code.locator('.hljs-literal').first().textContent(), 'true');
  // The comment holding an <img onerror> is a comment span with that text, not an element.
  assert.match((await code.locator('.hljs-comment').textContent()) ?? '', /<img src=x onerror=alert\(1\)>/);
  assert.equal(await code.textContent(), 'const verbose = true; // <img src=x onerror=alert(1)>\n');
  assert.equal(await page.locator('.inspector img, .inspector [onerror]').count(), 0);
  // Keywords and comments differ in colour from plain code text.
  const colour = (sel: string) => code.locator(sel).first().evaluate((el) => getComputedStyle(el).color);
  assert.notEqual(await colour('.hljs-keyword'), await code.evaluate((el) => getComputedStyle(el).color));
});
