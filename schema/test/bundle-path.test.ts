// The one bundle-path rule: the function, the zod schema the manifest uses and the pattern in the generated JSON
// Schema must give the same answer, and a hostile path must fail all three wherever its trick sits in the path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BUNDLE_PATH_PATTERN, BundlePath, Manifest, bundlePathProblem, printablePath } from '../src/index.ts';

const good = ['trace.ndjson', 'projections/run.json', 'sessions/s1', 'a..b', '.hidden/x', 'a/.../b', 'ünïcode/名前.json', 'a b/c'];
const hostile = [
  'x\n/../../victim/precious.txt',
  'x\u2028/../../victim/precious.txt',
  'x\u2029/../../victim/precious.txt',
  'x\r/../victim',
  'x\u0085/../victim',
  '..',
  '../x',
  'a/..',
  'a/../b',
  './a',
  'a/./b',
  'a//b',
  'a/',
  '/etc/passwd',
  'C:/Windows',
  'a\\..\\b',
  'a\u0000b',
  'tab\there',
  'del\u007f',
  '',
  'a/'.repeat(600) + 'b',
];

test('bundle paths: plain relative names pass, every hostile path fails the function, the zod schema and the pattern', () => {
  const pattern = new RegExp(BUNDLE_PATH_PATTERN);
  for (const path of good) {
    assert.equal(bundlePathProblem(path), undefined, path);
    assert.ok(BundlePath.safeParse(path).success, path);
    assert.ok(pattern.test(path), path);
  }
  for (const path of hostile) {
    const shown = printablePath(path).slice(0, 60);
    assert.ok(bundlePathProblem(path), shown);
    assert.equal(BundlePath.safeParse(path).success, false, shown);
    // The JSON Schema pattern has no length limit of its own (maxLength does that).
    if (path.length <= 1024) assert.equal(pattern.test(path), false, shown);
  }
  // The generated JSON Schema carries that pattern.
  const schema = readFileSync(fileURLToPath(new URL('../json/manifest.schema.json', import.meta.url)), 'utf8');
  assert.equal(JSON.parse(schema).properties.files.properties.trace.pattern, BUNDLE_PATH_PATTERN);
});

test('a manifest naming a path with a newline before its ".." is rejected with one line', () => {
  const base = {
    schema: 'flowtape.bundle.v1',
    runId: 'r1',
    flowName: 'f',
    status: 'completed',
    complete: true,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    lastSeq: 1,
    files: { flow: 'flow.json', trace: 'trace.ndjson', run: 'projections/run.json', live: 'projections/live.json', steps: 'projections/steps.json' },
    sessions: [],
    writer: { name: 'flowtape', version: '0' },
  };
  assert.ok(Manifest.safeParse(base).success);
  const hostileManifest = { ...base, files: { ...base.files, run: 'x\n/../../victim/precious.txt' } };
  const result = Manifest.safeParse(hostileManifest);
  assert.equal(result.success, false);
  const message = result.error!.issues[0]!.message;
  assert.match(message, /^not a path inside the bundle \(unsafe character U\+000A in path\)$/);
});

test('printablePath keeps ordinary paths and escapes what would break a line', () => {
  assert.equal(printablePath('sessions/s1/events.ndjson'), 'sessions/s1/events.ndjson');
  assert.equal(printablePath('x\n/..'), '"x\\n/.."');
  assert.equal(printablePath('x\u2028y\u0085'), '"x\\u2028y\\u0085"');
});
