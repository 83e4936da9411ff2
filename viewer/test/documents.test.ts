// manifest.json and flow.json read without zod for the first screen (model/documents.ts): the structural check
// only ever vouches for a document zod accepts as it is, with zod's own output (same keys, same order); anything
// else is parsed by zod at once, with zod's message; what it vouches for is checked in full by zod after load.
// Also the trace reader's slow path, which needs the lazily loaded schemas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ActionNodeSpec,
  AcpNodeSpec,
  BundleFormatError,
  CheckpointNodeSpec,
  ComputeNodeSpec,
  DecisionNodeSpec,
  DirectEdge,
  FlowSnapshot,
  Manifest,
  NewerFormatError,
  SwitchEdge,
  Writer,
  checkTraceEvent,
  parseDocument,
} from '@flowtape/schema';
import type { z } from 'zod';
import { MapBackend } from '../src/backend/types.ts';
import {
  DIRECT_EDGE_SHAPE, FILES_SHAPE, FLOW_SHAPE, MANIFEST_SHAPE, NODE_SHAPES, ORIGIN_SHAPE, REPLAY_SHAPE, SESSION_SHAPE, SWITCH_EDGE_SHAPE,
  SWITCH_SHAPE, WRITER_SHAPE, checkDocumentsLater, plainFlow, plainManifest, readDocument, type DeferredDocument,
} from '../src/model/documents.ts';
import { loadedSchemas } from '../src/model/lazy-schemas.ts';
import { loadBundle } from '../src/model/loader.ts';
import { writeReviewRun } from '../../test/fixtures/scenarios.ts';
import { removeDir, tempDir } from '../../test/e2e/helpers.ts';

const samples = fileURLToPath(new URL('../../samples/', import.meta.url));
const json = (x: unknown) => JSON.stringify(x);
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

function backendOf(dir: string): MapBackend {
  const files = new Map<string, () => Promise<Uint8Array>>();
  for (const name of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!name.isFile()) continue;
    const path = join(name.parentPath, name.name);
    files.set(path.slice(dir.length + 1), async () => new Uint8Array(readFileSync(path)));
  }
  return new MapBackend(dir, files);
}

// First, while the schemas are not loaded yet: the loader must wait for them, not skip or misreport the line.
test('a trace line that fails the cheap envelope check gets zod\'s message, the schemas loaded on demand', async () => {
  assert.equal(loadedSchemas(), undefined, 'this test runs before anything loaded the schemas');
  const dir = tempDir('documents-trace');
  try {
    writeReviewRun(dir, { runId: 'run-bad-line' });
    const lines = readFileSync(join(dir, 'trace.ndjson'), 'utf8').trimEnd().split('\n');
    const bad = JSON.parse(lines[2]!) as Record<string, unknown>;
    bad['seq'] = 'three';
    lines[2] = JSON.stringify(bad);
    writeFileSync(join(dir, 'trace.ndjson'), lines.join('\n') + '\n');
    const { model } = await loadBundle(backendOf(dir));
    const expected = checkTraceEvent(bad, 3, 'trace.ndjson', 'envelope');
    assert.equal(expected.ok, false);
    const issue = model.issues.find((i) => i.line === 3 && i.severity === 'error');
    assert.equal(issue?.message, expected.ok ? undefined : expected.error.message);
    assert.equal(model.timeline.length, lines.length - 1, 'every other line is folded, in order');
    assert.deepEqual(model.timeline.events.map((e) => e.seq), lines.map((_, i) => i + 1).filter((s) => s !== 3));
  } finally {
    removeDir(dir);
  }
});

type AnyObject = z.ZodObject<z.ZodRawShape>;
const unwrap = (s: z.ZodType): z.ZodType => ('unwrap' in s && typeof s.unwrap === 'function' ? unwrap(s.unwrap() as z.ZodType) : s);
const objectOf = (s: z.ZodType): AnyObject => {
  const inner = unwrap(s);
  return ('element' in inner ? unwrap((inner as unknown as { element: z.ZodType }).element) : inner) as AnyObject;
};

/** Keys in order, and which are required, of a zod object and of a structural shape. */
function zodKeys(schema: AnyObject): Array<[string, boolean]> {
  return Object.entries(schema.shape).map(([k, v]) => [k, !(v as z.ZodType).safeParse(undefined).success]);
}
function shapeKeys(shape: typeof MANIFEST_SHAPE): Array<[string, boolean]> {
  return shape.map(([k, , required]) => [k, required]);
}

test('the structural shapes list the schemas\' fields, in the schemas\' order, required where zod requires them', () => {
  const m = Manifest.shape;
  const pairs: Array<[typeof MANIFEST_SHAPE, AnyObject, string]> = [
    [MANIFEST_SHAPE, Manifest as unknown as AnyObject, 'manifest'],
    [FILES_SHAPE, objectOf(m.files), 'files'],
    [SESSION_SHAPE, objectOf(m.sessions), 'sessions[]'],
    [WRITER_SHAPE, Writer as unknown as AnyObject, 'writer'],
    [ORIGIN_SHAPE, objectOf(m.origin), 'origin'],
    [REPLAY_SHAPE, objectOf(m.replayOf), 'replayOf'],
    [FLOW_SHAPE, FlowSnapshot as unknown as AnyObject, 'flow'],
    [NODE_SHAPES['acp']!, AcpNodeSpec as unknown as AnyObject, 'acp'],
    [NODE_SHAPES['compute']!, ComputeNodeSpec as unknown as AnyObject, 'compute'],
    [NODE_SHAPES['action']!, ActionNodeSpec as unknown as AnyObject, 'action'],
    [NODE_SHAPES['checkpoint']!, CheckpointNodeSpec as unknown as AnyObject, 'checkpoint'],
    [NODE_SHAPES['decision']!, DecisionNodeSpec as unknown as AnyObject, 'decision'],
    [DIRECT_EDGE_SHAPE, DirectEdge as unknown as AnyObject, 'direct edge'],
    [SWITCH_EDGE_SHAPE, SwitchEdge as unknown as AnyObject, 'switch edge'],
    [SWITCH_SHAPE, objectOf(SwitchEdge.shape.switch), 'switch'],
  ];
  for (const [shape, schema, name] of pairs) assert.deepEqual(shapeKeys(shape), zodKeys(schema), name);
  assert.deepEqual(Object.keys(NODE_SHAPES).sort(), ['acp', 'action', 'checkpoint', 'compute', 'decision']);
});

/** Every manifest and flow the repository has: the samples, and a run written by the recorder's bundle writer. */
function documents(): Array<{ name: string; manifest: unknown; flow: unknown }> {
  const out = readdirSync(samples, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => ({
    name: d.name,
    manifest: JSON.parse(readFileSync(join(samples, d.name, 'bundle', 'manifest.json'), 'utf8')) as unknown,
    flow: JSON.parse(readFileSync(join(samples, d.name, 'bundle', 'flow.json'), 'utf8')) as unknown,
  }));
  assert.ok(out.length >= 4, 'the samples are there');
  return out;
}

/** Ways to break or stretch a document: every field removed, retyped, emptied; an extra key; nested variants. */
function mutations(doc: Record<string, unknown>): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  const at = (path: string, edit: (d: Record<string, unknown>) => void) => {
    const d = clone(doc);
    edit(d);
    out.push([path, d]);
  };
  for (const key of Object.keys(doc)) {
    at(`-${key}`, (d) => delete d[key]);
    for (const value of [42, -1, 1.5, 'x', '', null, true, [], {}, '../escape', 'bad id!']) at(`${key}=${json(value)}`, (d) => { d[key] = value; });
  }
  at('+extra', (d) => { d['extra'] = 1; });
  at('reversed', (d) => { for (const k of Object.keys(doc).reverse()) { const v = d[k]; delete d[k]; d[k] = v; } });
  const nested = (key: string, index?: number) => {
    const target = (d: Record<string, unknown>) => {
      const v = d[key];
      return (index === undefined ? v : Array.isArray(v) ? v[index] : undefined) as Record<string, unknown> | undefined;
    };
    const sample = target(doc);
    if (!sample || typeof sample !== 'object') return;
    for (const k of Object.keys(sample)) {
      at(`${key}.${k}-`, (d) => { delete target(d)![k]; });
      for (const value of [7, '', null, 'x', '../up', '/abs', ['x'], { a: 1 }]) at(`${key}.${k}=${json(value)}`, (d) => { target(d)![k] = value; });
    }
    at(`${key}+extra`, (d) => { target(d)!['extra'] = 1; });
  };
  for (const key of ['files', 'writer', 'origin', 'replayOf']) nested(key);
  for (const key of ['sessions', 'nodes', 'edges']) nested(key, 0);
  at('edge to+switch', (d) => {
    const edges = d['edges'] as Array<Record<string, unknown>> | undefined;
    if (edges?.[0]) edges[0] = { ...edges[0], to: 'x', switch: { on: '$.x', cases: {} } };
  });
  return out;
}

/** Manifest fields the structural check leaves to zod's later check (patterns of ids and times). */
const DEFERRED = /^\/(runId|createdAt|updatedAt|endedAt|sessions\/\d+\/sessionId|replayOf\/(runId|traceSha256))$/;

test('on every sample and thousands of mutations, the structural check vouches only for what zod accepts, with zod\'s output', () => {
  let vouched = 0;
  let declined = 0;
  let deferred = 0;
  const check = (kind: 'manifest' | 'flow', name: string, value: unknown) => {
    const schema = kind === 'manifest' ? Manifest : FlowSnapshot;
    const plain = kind === 'manifest' ? plainManifest(value) : plainFlow(value);
    const parsed = schema.safeParse(value);
    if (plain === undefined) return void declined++;
    vouched++;
    if (parsed.success) {
      assert.equal(json(plain), json(parsed.data), `${name}: the same value as zod's, keys in the same order`);
      return;
    }
    // Only the manifest's id and time patterns may be left to the later check; never a flow field, a type or a path.
    assert.equal(kind, 'manifest', `${name}: a flow zod rejects was vouched for (${parsed.error.issues[0]?.message})`);
    for (const issue of parsed.error.issues) assert.match('/' + issue.path.join('/'), DEFERRED, name);
    deferred++;
  };
  for (const d of documents()) {
    check('manifest', `${d.name} manifest`, d.manifest);
    check('flow', `${d.name} flow`, d.flow);
    for (const [what, m] of mutations(d.manifest as Record<string, unknown>)) check('manifest', `${d.name} manifest ${what}`, m);
    for (const [what, f] of mutations(d.flow as Record<string, unknown>)) check('flow', `${d.name} flow ${what}`, f);
  }
  // Not vacuous: samples and harmless mutations are vouched for, most breakages declined, some left for later.
  assert.ok(vouched >= 8 && declined > 100 && deferred > 5, `vouched ${vouched}, declined ${declined}, deferred ${deferred}`);
});

test('readDocument: a document zod rejects gets zod\'s message now; one vouched for is checked by zod later, same message', async () => {
  const [sample] = documents();
  const manifest = sample!.manifest as Record<string, unknown>;
  const expectError = (value: unknown, file: string, schema: typeof Manifest | typeof FlowSnapshot) => {
    try {
      parseDocument(schema, value, file);
    } catch (err) {
      return err as Error;
    }
    return assert.fail('zod accepts it');
  };
  // Declined: zod's message, thrown now.
  for (const broken of [{ ...manifest, runId: 42 }, { ...manifest, files: { ...(manifest['files'] as object), trace: '../../etc/passwd' } }, { ...manifest, schema: 'flowtape.run.v1' }]) {
    const expected = expectError(broken, 'manifest.json', Manifest);
    await assert.rejects(readDocument('manifest', broken, 'manifest.json', []), (err: Error) => err.message === expected.message && err instanceof BundleFormatError);
  }
  const flow = { ...(sample!.flow as Record<string, unknown>), nodes: [{ id: 'a', nodeType: 'robot' }] };
  const flowError = expectError(flow, 'flow.json', FlowSnapshot);
  await assert.rejects(readDocument('flow', flow, 'flow.json', []), (err: Error) => err.message === flowError.message);
  // A newer major: the same NewerFormatError as parseDocument.
  await assert.rejects(readDocument('manifest', { ...manifest, schema: 'flowtape.bundle.v2' }, 'manifest.json', []),
    (err: Error) => err instanceof NewerFormatError && /format flowtape\.bundle\.v2 is newer than this reader/.test(err.message));

  // Vouched for: used now, listed, and zod's verdict later carries the message zod would have given at once.
  const deferred: DeferredDocument[] = [];
  const badId = { ...manifest, runId: 'not a run id!' };
  const used = await readDocument('manifest', badId, 'manifest.json', deferred);
  assert.equal(used.runId, 'not a run id!');
  assert.equal(deferred.length, 1);
  const good = await readDocument('flow', sample!.flow, 'flow.json', deferred);
  assert.equal(json(good), json(FlowSnapshot.parse(sample!.flow)));
  const issues = await checkDocumentsLater(deferred);
  assert.deepEqual(issues, [{ file: 'manifest.json', severity: 'error', message: expectError(badId, 'manifest.json', Manifest).message }]);
});

test('the loader: a manifest zod rejects is reported with zod\'s message and the default layout read, as before', async () => {
  const dir = tempDir('documents-load');
  try {
    writeReviewRun(dir, { runId: 'run-bad-manifest' });
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, lastSeq: -3 }));
    const { model, tail } = await loadBundle(backendOf(dir));
    let expected = '';
    try { parseDocument(Manifest, { ...manifest, lastSeq: -3 }, 'manifest.json'); } catch (err) { expected = (err as Error).message; }
    assert.match(expected, /^manifest\.json: \/lastSeq: /);
    assert.deepEqual(model.issues.map((i) => i.message), [expected]);
    assert.equal(model.manifest, undefined);
    assert.ok(model.timeline.length > 0, 'the trace at the default path is read');
    assert.deepEqual(tail.documents?.map((d) => d.kind), ['flow'], 'the flow, vouched for, is left for the later check');

    // A manifest whose only fault is a run id pattern: shown at once, reported by the later check.
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, runId: 'run id with spaces' }));
    const later = await loadBundle(backendOf(dir));
    assert.deepEqual(later.model.issues, []);
    assert.equal(later.model.manifest?.runId, 'run id with spaces');
    const issues = await checkDocumentsLater(later.tail.documents ?? []);
    assert.equal(issues.length, 1);
    assert.match(issues[0]!.message, /^manifest\.json: \/runId: /);
  } finally {
    removeDir(dir);
  }
});
