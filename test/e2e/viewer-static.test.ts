// `flowtape view --static`: the site it writes, served by a plain static file server (node:http and a few lines
// here, not flowtape's) under a sub-path, opened in real Chromium. The page must show the run — graph, a node's
// output, the session's conversation — and fetch nothing outside the sub-path (relative URLs only).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, createReadStream, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { openSession, repoRoot, screenshot, type BrowserSession } from './browser.ts';
import { removeDir, tempDir } from './helpers.ts';
import { ViewerPage } from './viewer-page.ts';

const SAMPLE = join(repoRoot, 'samples', 'conversation', 'bundle');
const PREFIX = '/team/shared/conversation-site/';
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.ndjson': 'application/x-ndjson',
  '.txt': 'text/plain',
};

function flowtape(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [join(repoRoot, 'recorder', 'bin', 'flowtape.js'), ...args], { encoding: 'utf8' });
}

/** A bare static file server: `root` under `prefix`, GET only, 404 for anything else. What a bucket does. */
async function serveStatic(root: string, prefix: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    if (!path.startsWith(prefix)) return void res.writeHead(404).end();
    let file = normalize(join(root, path.slice(prefix.length)));
    if (!file.startsWith(root + sep) && file !== root) return void res.writeHead(404).end();
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      statSync(file);
    } catch {
      return void res.writeHead(404).end();
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}`, server };
}

describe('flowtape view --static', () => {
  let dir: string;
  let session: BrowserSession;
  const servers: Server[] = [];

  before(async () => {
    dir = tempDir('static');
    session = await openSession();
  });
  after(async () => {
    await session?.close();
    for (const s of servers) s.close();
    removeDir(dir);
  });

  async function writeAndServe(input: string, name: string): Promise<{ url: string; requests: string[]; viewer: ViewerPage }> {
    const out = join(dir, name);
    const r = flowtape(['view', '--static', input, '-o', out]);
    assert.equal(r.status, 0, `flowtape view --static: ${r.stderr}`);
    const { url, server } = await serveStatic(out, PREFIX);
    servers.push(server);
    const requests: string[] = [];
    session.page.removeAllListeners('request');
    session.page.on('request', (req) => requests.push(req.url()));
    return { url, requests, viewer: new ViewerPage(session.page, url) };
  }

  test('a site from a bundle shows the graph, a node output and the conversation, under a sub-path', async () => {
    const { url, requests, viewer } = await writeAndServe(SAMPLE, 'site');
    const page = session.page;
    await page.goto(url);
    await viewer.ready();
    const flow = JSON.parse(readFileSync(join(SAMPLE, 'flow.json'), 'utf8')) as { nodes: { id: string }[] };
    assert.deepEqual((await viewer.nodeIds()).sort(), flow.nodes.map((n) => n.id).sort());
    assert.equal(await viewer.nodeStatus('publish'), 'ok');
    await viewer.selectNode('summarise');
    await page.getByTestId('attempt').getByText('Three points: ship on Friday', { exact: false }).first().waitFor();
    await viewer.tab('session');
    await viewer.entries.first().waitFor();
    assert.deepEqual(await viewer.highlighted('agent'), ['Three points: ship on Friday, fix the flaky login test, and update the changelog.']);
    await screenshot(page, 'static-site');
    // Every request stayed under the site's folder: nothing asked of a flowtape server or the host's root.
    const origin = new URL(url).origin;
    const outside = requests.filter((r) => r.startsWith(origin) && !r.startsWith(url));
    assert.deepEqual(outside, []);
    assert.ok(requests.some((r) => r.startsWith(`${url}bundle/trace.ndjson`)), 'the trace was read over HTTP');
    assert.deepEqual(session.errors, []);

    // Opened as a file (module scripts do not load there), the page says how to open it instead of staying blank.
    await page.goto(new URL('index.html', `file://${join(dir, 'site')}/`).toString());
    assert.match(await page.getByTestId('site-waiting').innerText(), /serve its folder over http\(s\)/);
    session.errors.length = 0;
  });

  test('a packed .zip makes the same site', async () => {
    const zip = join(dir, 'conversation.flowtape.zip');
    assert.equal(flowtape(['pack', SAMPLE, '-o', zip]).status, 0);
    const { url, viewer } = await writeAndServe(zip, 'site-zip');
    await session.page.goto(url);
    await viewer.ready();
    assert.equal(await viewer.nodeStatus('publish'), 'ok');
    await viewer.tab('events');
    assert.equal((await viewer.count()).total, 26);
  });

  test('a runs root makes a site with a run list; each row opens its run', async () => {
    const root = join(dir, 'runs');
    mkdirSync(root);
    cpSync(SAMPLE, join(root, 'conversation'), { recursive: true });
    cpSync(join(repoRoot, 'samples', 'checkpoint', 'bundle'), join(root, 'checkpoint'), { recursive: true });
    const { url, requests, viewer } = await writeAndServe(root, 'site-runs');
    const page = session.page;
    await page.goto(url);
    await viewer.ready();
    assert.equal(await viewer.runRows.count(), 2);
    assert.equal(await viewer.runRows.filter({ hasText: 'conversation' }).first().getAttribute('data-status'), 'completed');
    await page.locator('[data-testid="run-row"][data-run="conversation"]').click();
    await viewer.ready();
    assert.equal(await viewer.nodeStatus('publish'), 'ok');
    assert.ok(page.url().startsWith(`${url}?run=conversation`), page.url());
    const origin = new URL(url).origin;
    assert.deepEqual(requests.filter((r) => r.startsWith(origin) && !r.startsWith(url)), []);
  });
});
