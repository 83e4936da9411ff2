// The compare page in real Chromium: the conversation sample against a run of the same flow whose agent was
// denied the write (its answer, the path and the conversation differ). The page's list of differences must be the
// CLI's report line for line (same engine, same wording) and the --json differences one for one; the differing
// nodes are marked; a difference selects its attempt, with both outputs and the changed conversation entries.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSession, repoRoot, screenshot, type BrowserSession } from './browser.ts';
import { removeDir, tempDir } from './helpers.ts';
import { startCliServer, type RunningViewer } from './viewer-server.ts';

const CLI = join(repoRoot, 'recorder', 'bin', 'flowtape.js');
const AGENT = join(repoRoot, 'recorder', 'bin', 'flowtape-scripted-agent.js');
const A = join(repoRoot, 'samples', 'conversation', 'bundle');

let dir: string;
let B: string;
let session: BrowserSession;

function cli(args: string[], cwd = repoRoot) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  dir = tempDir('compare');
  for (const f of ['conversation.flow.ts', 'agent.json', 'notes.txt']) copyFileSync(join(repoRoot, 'samples', 'conversation', f), join(dir, f));
  // The same flow and agent script as the sample; only the permission policy differs, so the agent's answer does.
  const run = cli(['run', 'conversation.flow.ts', '--input', '{"file":"notes.txt"}', '--agent', `node ${AGENT} --script agent.json`,
    '--permission', 'deny', '--out', join(dir, 'runs'), '--run-id', 'run-deny-policy', '--deterministic', '-q'], dir);
  assert.equal(run.code, 0, run.stderr);
  B = run.stdout.trim();
  session = await openSession({ width: 1600, height: 1000 });
});
after(async () => {
  await session?.close();
  if (dir) removeDir(dir);
});

/** The report's group titles and lines (without their indent), as `flowtape diff` prints them. */
function reportGroups(text: string): Array<{ title: string; lines: string[] }> {
  const groups: Array<{ title: string; lines: string[] }> = [];
  for (const line of text.split('\n').slice(3)) {
    if (line === '' || line.startsWith('warning:')) continue;
    if (line.startsWith('  ')) groups.at(-1)!.lines.push(line.slice(2));
    else groups.push({ title: line, lines: [] });
  }
  return groups;
}

async function pageGroups(page: BrowserSession['page']) {
  return page.$$eval('[data-testid="diff-group"]', (sections) => sections.map((s) => ({
    title: s.querySelector('[data-testid="diff-group-title"]')!.textContent!,
    lines: [...s.querySelectorAll('[data-testid="diff-line"]')].map((l) => l.textContent!),
  })));
}

async function withServer(args: string[], body: (server: RunningViewer) => Promise<void>): Promise<void> {
  const server = await startCliServer(args);
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

test('flowtape view <a> <b>: the differences are the CLI report, line for line and one for one with --json', async () => {
  const text = cli(['diff', A, B]);
  assert.equal(text.code, 1, text.stderr);
  const json = JSON.parse(cli(['diff', A, B, '--json']).stdout) as { total: number; differences: Array<{ section: string; kind: string; path: string }> };
  assert.ok(json.total >= 10, 'the pair differs in many ways');
  await withServer(['view', A, B, '--port', '0'], async (server) => {
    const page = session.page;
    await page.goto(server.url);
    await page.getByTestId('compare').waitFor({ timeout: 30_000 });
    assert.deepEqual(await pageGroups(page), reportGroups(text.stdout));
    assert.equal(await page.getByTestId('diff-verdict').textContent(), text.stdout.split('\n')[2]);
    const shown = await page.$$eval('[data-testid="diff-line"]', (lines) => lines.map((l) => `${l.getAttribute('data-section')} ${l.getAttribute('data-kind')} ${l.getAttribute('data-path')}`));
    assert.deepEqual(shown.slice().sort(), json.differences.map((d) => `${d.section} ${d.kind} ${d.path}`).sort());

    // The nodes whose behaviour differs are marked; the ones that behaved the same are not.
    for (const id of ['write', 'route', 'publish', 'revise']) assert.equal(await page.getByTestId(`cmp-node-${id}`).getAttribute('data-differs'), 'true', id);
    for (const id of ['brief', 'summarise']) assert.equal(await page.getByTestId(`cmp-node-${id}`).getAttribute('data-differs'), 'false', id);
    assert.equal(await page.getByTestId('cmp-node-publish').getByTestId('node-side-b').getAttribute('data-status'), 'not run');
    assert.equal(await page.getByTestId('cmp-node-revise').getByTestId('node-side-b').getAttribute('data-status'), 'ok');

    // A difference selects its attempt: both outputs, the changed field, the changed conversation entries.
    await page.locator('[data-testid="diff-line"][data-path="/attempts/write#1/output"]').click();
    const attempt = page.getByTestId('attempt-compare');
    await page.waitForFunction(() => document.querySelector('[data-testid="attempt-compare"]')?.getAttribute('data-attempt') === 'write#1');
    assert.match(await attempt.getByTestId('cmp-output-a').textContent() ?? '', /Summary written to summary\.md\./);
    assert.match(await attempt.getByTestId('cmp-output-b').textContent() ?? '', /I was not allowed to write the summary\./);
    assert.equal(await attempt.getByTestId('cmp-output').getAttribute('data-equal'), 'false');
    await attempt.getByTestId('conversation-compare').waitFor();
    const changed = attempt.locator('[data-testid="cmp-row"][data-changed="true"]');
    assert.ok(await changed.count() >= 3, 'the tool call, the permission answer and the agent message changed');
    const agentB = changed.locator('[data-testid="cmp-entry-b"][data-role="agent"]');
    assert.match(await agentB.textContent() ?? '', /I was not allowed to write the summary\./);
    assert.match(await changed.locator('[data-testid="cmp-entry-a"][data-role="agent"]').getByTestId('changed-fields').textContent() ?? '', /\/text/);
    // The user's prompt was the same in both runs: not marked.
    assert.equal(await attempt.locator('[data-testid="cmp-row"]').first().getAttribute('data-changed'), 'false');
    assert.match(page.url(), /[?&]attempt=write%231/);
    await screenshot(page, 'compare-conversation');

    // The node of a path difference: clicking the hunk selects the attempt only one run made.
    await page.locator('[data-testid="diff-line"][data-section="path"]').first().click();
    await page.waitForFunction(() => document.querySelector('[data-testid="attempt-compare"]')?.getAttribute('data-attempt') === 'revise#1');
    assert.equal(await page.getByTestId('cmp-status').locator('.side-a').textContent(), 'not run');
    assert.deepEqual(session.errors, []);
  });
});

test('flowtape diff <a> <b> --view prints the report, then serves the same pair on the compare page', async () => {
  const text = cli(['diff', A, B]);
  await withServer(['diff', A, B, '--view', '--port', '0'], async (server) => {
    const page = session.page;
    await page.goto(server.url);
    await page.getByTestId('compare').waitFor({ timeout: 30_000 });
    assert.deepEqual(await pageGroups(page), reportGroups(text.stdout));
    await screenshot(page, 'compare-overview');
  });
});

test('a packed bundle (.zip) compares like its directory', async () => {
  const zip = join(dir, 'denied.zip');
  assert.equal(cli(['pack', B, '-o', zip]).code, 0);
  const text = cli(['diff', A, zip]);
  assert.equal(text.code, 1, text.stderr);
  await withServer(['view', A, zip, '--port', '0'], async (server) => {
    const page = session.page;
    await page.goto(server.url);
    await page.getByTestId('compare').waitFor({ timeout: 30_000 });
    assert.deepEqual(await pageGroups(page), reportGroups(text.stdout));
    assert.match(await page.getByTestId('side-b').textContent() ?? '', /denied\.zip/);
  });
});

test('flowtape view <a> <b> refuses a runs root as a side, in one line', () => {
  const r = cli(['view', A, dir, '--port', '0']);
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim(), /not a bundle directory or \.zip \(compare opens two bundles, not a runs root\)$/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('flowtape diff --json --view keeps stdout one JSON document (the URL goes to stderr), and exits 1 after Ctrl-C', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [CLI, 'diff', A, B, '--json', '--view', '--port', '0'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL on stderr: ${stderr}`)), 30_000);
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      const m = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
  });
  const info = await (await fetch(`${url}api/info`)).json() as { mode: string };
  assert.equal(info.mode, 'compare');
  const code = await new Promise<number | null>((resolve) => { child.once('exit', resolve); child.kill('SIGINT'); });
  assert.equal(code, 1);
  assert.equal((JSON.parse(stdout) as { same: boolean }).same, false);
});
