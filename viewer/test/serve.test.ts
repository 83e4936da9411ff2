// The viewer server is read-only, loopback-only and never serves anything outside the directory it was given.
// Requests are sent with raw paths (node:http), because a browser or `fetch` would normalise `..` away.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startViewerServer, ViewerServerError, type ViewerServer } from '../server/serve.ts';

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string }

function get(server: ViewerServer, path: string, opts: { host?: string; method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port: server.port,
      path,
      method: opts.method ?? 'GET',
      headers: { host: opts.host ?? `127.0.0.1:${server.port}`, ...opts.headers },
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const SECRET = 'top-secret-outside-the-bundle';
let tmp: string;
let dist: string;
let bundle: string;
let runsRoot: string;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'flowtape-serve-'));
  dist = join(tmp, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(dist, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(tmp, 'secret.txt'), SECRET);
  mkdirSync(join(tmp, 'outside-dir'));
  writeFileSync(join(tmp, 'outside-dir', 'x.txt'), SECRET);

  runsRoot = join(tmp, 'runs');
  bundle = join(runsRoot, 'run-a');
  mkdirSync(join(bundle, 'artifacts'), { recursive: true });
  writeFileSync(join(bundle, 'manifest.json'), '{"schema":"test"}');
  writeFileSync(join(bundle, 'trace.ndjson'), '0123456789');
  writeFileSync(join(bundle, 'artifacts', 'page.html'), '<script>alert(1)</script>');
  symlinkSync(join(tmp, 'secret.txt'), join(bundle, 'link-out.txt'));
  symlinkSync(join(tmp, 'outside-dir'), join(bundle, 'dir-out'));
  symlinkSync('trace.ndjson', join(bundle, 'link-in.ndjson'));
  mkdirSync(join(runsRoot, 'flow-x', 'run-b'), { recursive: true });
  writeFileSync(join(runsRoot, 'flow-x', 'run-b', 'manifest.json'), '{}');
  symlinkSync(join(tmp, 'outside-dir'), join(runsRoot, 'escape'));
  // A run that died before its manifest was written: still a bundle (the viewer shows what it can read).
  mkdirSync(join(runsRoot, 'no-manifest'));
  writeFileSync(join(runsRoot, 'no-manifest', 'trace.ndjson'), '');
});

after(() => rmSync(tmp, { recursive: true, force: true }));

describe('viewer server on a bundle', () => {
  let server: ViewerServer;
  before(async () => { server = await startViewerServer({ root: bundle, distDir: dist, host: '127.0.0.1' }); });
  after(() => server.close());

  test('listens on loopback and prints a 127.0.0.1 URL', () => {
    assert.equal(server.mode, 'bundle');
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  test('serves the app and bundle files', async () => {
    const app = await get(server, '/');
    assert.equal(app.status, 200);
    assert.match(String(app.headers['content-security-policy']), /script-src 'self'/);
    assert.equal((await get(server, '/files/trace.ndjson')).body, '0123456789');
    assert.equal((await get(server, '/assets/app.js')).status, 200);
    assert.equal((await get(server, '/api/info')).body, JSON.stringify({ mode: 'bundle', name: 'run-a' }));
  });

  test('bundle files are sandboxed data, never documents', async () => {
    const r = await get(server, '/files/artifacts/page.html');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/octet-stream');
    assert.match(String(r.headers['content-security-policy']), /sandbox/);
  });

  test('byte ranges serve appended bytes for live tailing', async () => {
    const r = await get(server, '/files/trace.ndjson', { headers: { range: 'bytes=4-' } });
    assert.equal(r.status, 206);
    assert.equal(r.body, '456789');
    assert.equal((await get(server, '/files/trace.ndjson', { headers: { range: 'bytes=10-' } })).status, 416);
    const from = await get(server, '/files/trace.ndjson?from=7');
    assert.equal(from.status, 200);
    assert.equal(from.body, '789');
    const none = await get(server, '/files/trace.ndjson?from=10');
    assert.equal(none.status, 200);
    assert.equal(none.body, '');
    assert.equal(none.headers['x-file-size'], '10');
  });

  for (const path of [
    '/files/../secret.txt',
    '/files/%2e%2e/secret.txt',
    '/files/..%2fsecret.txt',
    '/files/artifacts/../../secret.txt',
    '/files//etc/passwd',
    '/files/%2fetc%2fpasswd',
    '/files/..%5csecret.txt',
    '/assets/../../secret.txt',
    '/../secret.txt',
  ]) {
    test(`refuses ${path}`, async () => {
      const r = await get(server, path);
      assert.equal(r.status, 403, `${path} → ${r.status} ${r.body}`);
      assert.ok(!r.body.includes(SECRET));
    });
  }

  test('refuses symlinks that lead out of the bundle, follows ones that stay inside', async () => {
    const out = await get(server, '/files/link-out.txt');
    assert.equal(out.status, 403);
    assert.ok(!out.body.includes(SECRET));
    const dirOut = await get(server, '/files/dir-out/x.txt');
    assert.equal(dirOut.status, 403);
    assert.equal((await get(server, '/files/link-in.ndjson')).body, '0123456789');
  });

  test('the file list leaves out symlinks that lead out', async () => {
    const { files } = JSON.parse((await get(server, '/api/list?run=')).body) as { files: string[] };
    assert.deepEqual(files, ['artifacts/page.html', 'link-in.ndjson', 'manifest.json', 'trace.ndjson']);
  });

  test('refuses foreign Host headers (DNS rebinding)', async () => {
    for (const host of ['evil.example', `evil.example:${server.port}`, '127.0.0.1:1', '127.0.0.1']) {
      const r = await get(server, '/files/trace.ndjson', { host });
      assert.equal(r.status, 403, `host ${host}`);
    }
    assert.equal((await get(server, '/', { host: `localhost:${server.port}` })).status, 200);
  });

  test('is read-only', async () => {
    for (const method of ['PUT', 'POST', 'DELETE']) {
      assert.equal((await get(server, '/files/trace.ndjson', { method })).status, 405);
    }
  });

  test('does not list directories', async () => {
    assert.equal((await get(server, '/files/artifacts/')).status, 404);
  });
});

describe('viewer server on a runs-root', () => {
  let server: ViewerServer;
  before(async () => { server = await startViewerServer({ root: runsRoot, distDir: dist }); });
  after(() => server.close());

  test('lists every bundle below the root, not through symlinks that lead out', async () => {
    assert.equal(server.mode, 'runs');
    const { runs } = JSON.parse((await get(server, '/api/runs')).body) as { runs: Array<{ id: string }> };
    assert.deepEqual(runs.map((r) => r.id).sort(), ['flow-x/run-b', 'no-manifest', 'run-a']);
    assert.match((runs as Array<{ id: string; error?: string }>).find((r) => r.id === 'no-manifest')?.error ?? '', /manifest\.json/);
  });

  test('serves one run’s files by its path and refuses escapes', async () => {
    assert.equal((await get(server, '/files/run-a/trace.ndjson')).body, '0123456789');
    assert.equal((await get(server, '/files/escape/x.txt')).status, 403);
    assert.equal((await get(server, '/api/list?run=escape')).status, 403);
    assert.equal((await get(server, '/api/list?run=..')).status, 403);
  });
});

test('refuses a missing root and a non-loopback host with a clear error', async () => {
  await assert.rejects(startViewerServer({ root: join(tmp, 'nope'), distDir: dist }), (e: unknown) =>
    e instanceof ViewerServerError && /no such file or directory/.test(e.message));
  await assert.rejects(startViewerServer({ root: bundle, distDir: dist, host: '0.0.0.0' as '127.0.0.1' }), ViewerServerError);
});

describe('viewer server comparing two bundles', () => {
  let server: ViewerServer;
  let zip: string;
  before(async () => {
    zip = join(tmp, 'other.zip');
    writeFileSync(zip, 'PK-not-really');
    server = await startViewerServer({
      root: bundle,
      distDir: dist,
      host: '127.0.0.1',
      compare: { a: { root: bundle, location: 'runs/run-a' }, b: { root: zip, location: 'other.zip' }, machine: { tmpDir: '/tmp', homeDir: '/home/u' } },
    });
  });
  after(() => server.close());

  test('tells the page both sides, as the user named them, and the volatile roots', async () => {
    const info = JSON.parse((await get(server, '/api/info')).body) as { mode: string; compare: { a: { location: string; kind: string }; b: { kind: string }; machine: unknown } };
    assert.equal(info.mode, 'compare');
    assert.deepEqual([info.compare.a.location, info.compare.a.kind, info.compare.b.kind], ['runs/run-a', 'dir', 'zip']);
    assert.deepEqual(info.compare.machine, { tmpDir: '/tmp', homeDir: '/home/u' });
  });

  test('serves side a under /files/a/ and the packed side b at /zip/b, nothing else', async () => {
    assert.equal((await get(server, '/files/a/trace.ndjson')).body, '0123456789');
    assert.equal((await get(server, '/api/list?run=a')).status, 200);
    assert.equal((await get(server, '/zip/b')).body, 'PK-not-really');
    assert.equal((await get(server, '/zip/a')).status, 404);
    assert.equal((await get(server, '/files/b/manifest.json')).status, 404);
    assert.equal((await get(server, '/files/c/manifest.json')).status, 404);
    assert.equal((await get(server, '/api/runs')).status, 404);
  });

  test('never leaves a side: dot segments, symlinks out', async () => {
    for (const path of ['/files/a/../../secret.txt', '/files/a/%2e%2e/%2e%2e/secret.txt', '/files/a/link-out.txt', '/files/a/dir-out/x.txt']) {
      const r = await get(server, path);
      assert.ok(r.status === 403 || r.status === 404, `${path}: ${r.status}`);
      assert.ok(!r.body.includes(SECRET), path);
    }
  });
});

test('compare refuses a side that is not a bundle, naming it as the user did', async () => {
  await assert.rejects(
    startViewerServer({ root: bundle, distDir: dist, host: '127.0.0.1', compare: { a: { root: bundle, location: 'a' }, b: { root: runsRoot, location: 'runs/' } } }),
    (err: Error) => err instanceof ViewerServerError && /^runs\/: not a bundle directory or \.zip/.test(err.message),
  );
});
