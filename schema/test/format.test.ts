import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BundleFormatError,
  Manifest,
  NewerFormatError,
  TRACE_EVENT_TYPES,
  loadManifest,
  parseDocument,
  parseSchemaId,
  type BundleBackend,
} from '../src/index.ts';

const schemaDir = fileURLToPath(new URL('..', import.meta.url));

const manifest = {
  schema: 'flowtape.bundle.v1',
  runId: 'run-1',
  flowName: 'review',
  status: 'completed',
  complete: true,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:09.000Z',
  lastSeq: 12,
  files: { flow: 'flow.json', trace: 'trace.ndjson', run: 'projections/run.json', live: 'projections/live.json', steps: 'projections/steps.json' },
  sessions: [{ sessionId: 's1', path: 'sessions/s1' }],
  writer: { name: 'flowtape', version: '0.1.0' },
};

function backendOf(files: Record<string, string>): BundleBackend {
  return {
    readText: async (path) => files[path],
    readStream: async (path) => (files[path] === undefined ? undefined : [files[path]!]),
  };
}

test('a valid manifest loads; unknown fields from a newer minor version are ignored', async () => {
  const loaded = await loadManifest(backendOf({ 'manifest.json': JSON.stringify({ ...manifest, addedInV1_3: { x: 1 } }) }));
  assert.equal(loaded.runId, 'run-1');
  assert.equal('addedInV1_3' in loaded, false);
});

test('a bundle from a newer major version gets a clear "newer than this reader" error', async () => {
  const backend = backendOf({ 'manifest.json': JSON.stringify({ ...manifest, schema: 'flowtape.bundle.v2' }) });
  await assert.rejects(loadManifest(backend), (error: unknown) => {
    assert.ok(error instanceof NewerFormatError);
    assert.equal(error.message, 'manifest.json: format flowtape.bundle.v2 is newer than this reader (it reads v1); upgrade flowtape to open it');
    return true;
  });
});

test('bad manifests name the file and the JSON pointer', async () => {
  const cases: Array<[Record<string, string>, string]> = [
    [{}, 'manifest.json: missing'],
    [{ 'manifest.json': '{"schema":' }, 'manifest.json: not valid JSON'],
    [{ 'manifest.json': JSON.stringify({ ...manifest, schema: 'acpx.flow-run-bundle.v1' }) }, 'manifest.json: /schema: "acpx.flow-run-bundle.v1" is not "flowtape.bundle.v1"'],
    [{ 'manifest.json': JSON.stringify({ ...manifest, lastSeq: -1 }) }, 'manifest.json: /lastSeq:'],
    [{ 'manifest.json': JSON.stringify({ ...manifest, files: { ...manifest.files, trace: '../../etc/passwd' } }) }, 'manifest.json: /files/trace:'],
    [{ 'manifest.json': JSON.stringify({ ...manifest, files: { ...manifest.files, trace: '/etc/passwd' } }) }, 'manifest.json: /files/trace:'],
    [{ 'manifest.json': JSON.stringify({ ...manifest, sessions: [{ sessionId: '../x', path: 'sessions/x' }] }) }, 'manifest.json: /sessions/0/sessionId:'],
  ];
  for (const [files, expected] of cases) {
    await assert.rejects(loadManifest(backendOf(files)), (error: unknown) => {
      assert.ok(error instanceof BundleFormatError, String(error));
      assert.ok(error.message.startsWith(expected), `${error.message} should start with ${expected}`);
      assert.ok(!error.message.includes('\n'), 'one line');
      return true;
    });
  }
});

test('parseDocument and parseSchemaId', () => {
  assert.deepEqual(parseSchemaId('flowtape.trace-event.v12'), { doc: 'trace-event', major: 12 });
  assert.equal(parseSchemaId('other.v1'), undefined);
  assert.equal(parseDocument(Manifest, manifest, 'm.json').flowName, 'review');
});

test('the schema package is browser-safe: no node: imports, zod its only runtime dependency', () => {
  const pkg = JSON.parse(readFileSync(join(schemaDir, 'package.json'), 'utf8'));
  assert.deepEqual(Object.keys(pkg.dependencies), ['zod']);
  const srcDir = join(schemaDir, 'src');
  const files = readdirSync(srcDir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
  // The diff engine lives in src/diff/ (the CLI and the viewer both run it): checked like the rest.
  assert.ok(files.includes(join('diff', 'bundles.ts')), 'src/diff/ is checked');
  for (const file of files) {
    const source = readFileSync(join(srcDir, file), 'utf8');
    const imports = [...source.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]!);
    for (const specifier of imports) {
      assert.ok(specifier === 'zod' || specifier.startsWith('./') || specifier.startsWith('../'), `${file} imports ${specifier}`);
    }
    assert.doesNotMatch(source, /\bprocess\.|\bBuffer\b|require\(/, `${file} uses a Node-only global`);
  }
});

test('every event type has a JSON Schema in trace-event.schema.json', () => {
  const generated = JSON.parse(readFileSync(join(schemaDir, 'json/trace-event.schema.json'), 'utf8'));
  const types = generated.oneOf.map((s: { properties: { type: { const: string } } }) => s.properties.type.const);
  assert.deepEqual([...types].sort(), [...TRACE_EVENT_TYPES].sort());
  assert.equal(generated.$id, 'flowtape.trace-event.v1');
});
