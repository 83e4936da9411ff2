// Bad bundles open with a clear message and show what could be read, never a blank page: a torn last line,
// unknown event types, a newer major version, missing files, an event that fails validation. And the
// server refuses requests that would leave the bundle.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { screenshot } from './browser.ts';
import { REVIEW_FLOW, writeAbandonedRun, writeNewerMajorRun, writeReviewRun, writeTornRun, writeUnknownTypesRun } from '../fixtures/scenarios.ts';
import { openViewer, readTraceFile, removeDir, tempDir, type ViewerHarness } from './helpers.ts';

function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}` } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('bad bundles', () => {
  let dir: string;
  let h: ViewerHarness;

  before(async () => {
    dir = tempDir('bad');
    writeTornRun(join(dir, 'torn'));
    writeAbandonedRun(join(dir, 'abandoned'));
    writeUnknownTypesRun(join(dir, 'unknown'));
    writeNewerMajorRun(join(dir, 'newer'));
    writeReviewRun(join(dir, 'no-flow'), { runId: 'run-no-flow' });
    rmSync(join(dir, 'no-flow', 'flow.json'));
    writeReviewRun(join(dir, 'no-trace'), { runId: 'run-no-trace' });
    rmSync(join(dir, 'no-trace', 'trace.ndjson'));
    writeReviewRun(join(dir, 'no-manifest'), { runId: 'run-no-manifest' });
    rmSync(join(dir, 'no-manifest', 'manifest.json'));
    writeReviewRun(join(dir, 'bad-manifest'), { runId: 'run-bad-manifest' });
    writeFileSync(join(dir, 'bad-manifest', 'manifest.json'), '{"schema": "flowtape.bundle.v1", "runId": 42');
    writeReviewRun(join(dir, 'invalid-event'), { runId: 'run-invalid' });
    // A known event type whose payload is wrong: it passes the structural check, fails the schema.
    const lines = readFileSync(join(dir, 'invalid-event', 'trace.ndjson'), 'utf8').trimEnd().split('\n');
    const bad = JSON.parse(lines[1]!) as { payload: Record<string, unknown> };
    bad.payload.attempt = 'first';
    lines[1] = JSON.stringify(bad);
    writeFileSync(join(dir, 'invalid-event', 'trace.ndjson'), lines.join('\n') + '\n');
    // Something outside the bundles, and ways to reach it.
    writeFileSync(join(dir, '..', `${dir.split('/').pop()}-secret.txt`), 'SECRET');
    writeReviewRun(join(dir, 'escape'), { runId: 'run-escape' });
    symlinkSync(join(dir, '..', `${dir.split('/').pop()}-secret.txt`), join(dir, 'escape', 'artifacts', 'leak.txt'));
    mkdirSync(join(dir, 'escape', 'sessions', 'x'), { recursive: true });
    h = await openViewer(dir);
  });
  after(async () => {
    await h?.close();
    rmSync(join(dir, '..', `${dir.split('/').pop()}-secret.txt`), { force: true });
    removeDir(dir);
  });

  test('a torn last line: everything before it is shown, with a message', async () => {
    await h.viewer.open('run=torn');
    assert.match((await h.viewer.issues.textContent()) ?? '', /trace\.ndjson:\d+: torn last line/);
    const good = readTraceFile(join(dir, 'torn')).length;
    assert.equal((await h.viewer.cursor()).total, good);
    assert.deepEqual((await h.viewer.nodeIds()).sort(), REVIEW_FLOW.nodes.map((n) => n.id).sort());
    assert.equal(await h.viewer.nodeStatus('route'), 'ok');
    await screenshot(h.session.page, 'bad-torn');
  });

  test('an attempt the writer never finished is shown as such at the end of the trace', async () => {
    await h.viewer.open('run=abandoned&node=route');
    assert.equal(await h.viewer.nodeStatus('route'), 'running');
    assert.match((await h.session.page.getByTestId('attempt-abandoned').textContent()) ?? '', /No outcome was recorded/);
    await h.viewer.press('ArrowLeft');
    assert.equal(await h.session.page.getByTestId('attempt-abandoned').count(), 0, 'mid-trace a running attempt is just running');
  });

  test('unknown event types: listed raw, the rest replays, with a message', async () => {
    await h.viewer.open('run=unknown&tab=events');
    assert.match((await h.viewer.issues.textContent()) ?? '', /2 events of types this viewer does not know \(future\.telemetry, node\.annotated\)/);
    await h.viewer.filter('type', 'future.telemetry');
    await h.viewer.waitForShown(1);
    assert.equal(await h.viewer.nodeStatus('finish'), 'ok');
    assert.equal(await h.session.page.getByTestId('run-status').textContent(), 'completed');
    await screenshot(h.session.page, 'bad-unknown-types');
  });

  test('a newer major version: one clear message', async () => {
    await h.viewer.open('run=newer');
    assert.match((await h.viewer.fatal.textContent()) ?? '', /manifest\.json: format flowtape\.bundle\.v2 is newer than this reader/);
    await screenshot(h.session.page, 'bad-newer-major');
  });

  test('missing flow.json: the graph is built from the trace, with a message', async () => {
    await h.viewer.open('run=no-flow');
    assert.match((await h.viewer.issues.textContent()) ?? '', /flow\.json: missing/);
    assert.deepEqual((await h.viewer.nodeIds()).sort(), REVIEW_FLOW.nodes.map((n) => n.id).sort());
  });

  test('missing trace.ndjson: the flow is shown, with a message', async () => {
    await h.viewer.open('run=no-trace');
    assert.match((await h.viewer.issues.textContent()) ?? '', /trace\.ndjson: missing/);
    assert.equal((await h.viewer.nodeIds()).length, REVIEW_FLOW.nodes.length);
    assert.equal(await h.viewer.nodeStatus('plan'), 'pending');
  });

  test('a trace without manifest.json is not badged as being written (found from the outside: "live — being written")', async () => {
    await h.viewer.open('run=no-manifest');
    await h.viewer.liveBadge.waitFor({ timeout: 5000 });
    const badge = (await h.viewer.liveBadge.textContent()) ?? '';
    assert.match(badge, /no manifest\.json: damaged, not being written/);
    assert.doesNotMatch(badge, /live — being written/);
  });

  test('an unreadable manifest: the default layout is read, with a message', async () => {
    await h.viewer.open('run=bad-manifest');
    assert.match((await h.viewer.issues.textContent()) ?? '', /manifest\.json: not valid JSON/);
    assert.equal(await h.viewer.nodeStatus('finish'), 'ok');
  });

  test('an event that fails validation is reported by line and left out of the replay', async () => {
    await h.viewer.open('run=invalid-event');
    await h.session.page.getByTestId('issues').filter({ hasText: 'trace.ndjson:2' }).waitFor({ timeout: 5000 });
    assert.match((await h.viewer.issues.textContent()) ?? '', /trace\.ndjson:2: \/payload\/attempt/);
    assert.equal((await h.viewer.cursor()).total, readTraceFile(join(dir, 'invalid-event')).length - 1);
    await screenshot(h.session.page, 'bad-invalid-event');
  });

  test('requests for /../ or through a symlink out of the bundle are refused', async () => {
    const port = h.server.port;
    for (const path of ['/files/../secret.txt', '/files/escape/../../x', '/files/%2e%2e/%2e%2e/etc/passwd', '/../../etc/passwd']) {
      const r = await rawGet(port, path);
      assert.equal(r.status, 403, path);
    }
    const leak = await rawGet(port, '/files/escape/artifacts/leak.txt');
    assert.equal(leak.status, 403);
    assert.ok(!leak.body.includes('SECRET'));
    // The same from inside the page.
    await h.viewer.open('run=escape');
    const status = await h.session.page.evaluate(async () => (await fetch('/files/escape/artifacts/leak.txt')).status);
    assert.equal(status, 403);
    // Missing files show up as failed resource loads in the console (expected here); nothing may throw.
    assert.deepEqual(h.session.errors.filter((e) => !/Failed to load resource: .*(403|404)/.test(e)), []);
  });
});
