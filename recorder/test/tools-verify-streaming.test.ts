// verify reads projections/steps.json as a stream and compares each step with the fold of its own attempt's events
// (verify-steps.ts). These tests prove it finds what the whole-document comparison found, on a bundle with
// thousands of attempts, and that the streaming scanner reads JSON documents exactly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyBundle } from '../src/tools/verify.ts';
import { scanArrayDocument } from '../src/tools/json-array-scan.ts';
import { writeLargeBundle } from '../../test/fixtures/scenarios.ts';

let root = '';
let large = '';
let events = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowtape-verify-stream-'));
  large = join(root, 'large');
  ({ events } = await writeLargeBundle(large, 6_000));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function copyWith(name: string, change: (steps: { steps: Array<Record<string, unknown>> } & Record<string, unknown>) => void): Promise<string> {
  const dir = join(root, name);
  await cp(large, dir, { recursive: true });
  const file = join(dir, 'projections/steps.json');
  const doc = JSON.parse(await readFile(file, 'utf8'));
  change(doc);
  await writeFile(file, JSON.stringify(doc));
  return dir;
}

test('a large valid bundle verifies', async () => {
  const report = await verifyBundle(large);
  assert.deepEqual(report.problems, []);
  assert.equal(report.summary.events, events);
  assert.ok(events >= 6_000);
});

test('a step changed deep in steps.json is found and named by pointer', async () => {
  const dir = await copyWith('changed', (doc) => {
    (doc.steps[1500]!.output as { inline: { text: string } }).inline.text = 'tampered';
  });
  const report = await verifyBundle(dir);
  assert.deepEqual(
    report.problems.map((p) => p.message),
    [`projections/steps.json: /steps/1500/output/inline/text: differs from the fold of the trace up to seq ${events}`],
  );
});

test('a missing, an extra and a reordered step are found', async () => {
  const missing = await verifyBundle(await copyWith('missing', (doc) => void doc.steps.pop()));
  assert.match(missing.problems[0]?.message ?? '', /^projections\/steps\.json: \/steps\/1999: differs from the fold .* \(missing: end#1\)/);
  const extra = await verifyBundle(await copyWith('extra', (doc) => void doc.steps.push(doc.steps[0]!)));
  assert.match(extra.problems[0]?.message ?? '', /^projections\/steps\.json: \/steps\/2000: differs from the fold .*an attempt the trace does not have/);
  const swapped = await verifyBundle(
    await copyWith('swapped', (doc) => {
      const [a, b] = [doc.steps[10]!, doc.steps[11]!];
      doc.steps[10] = b;
      doc.steps[11] = a;
    }),
  );
  assert.match(swapped.problems[0]?.message ?? '', /^projections\/steps\.json: \/steps\/10\/attemptId: differs from the fold/);
});

test('header fields and element types are validated while streaming', async () => {
  const seq = await verifyBundle(await copyWith('seq', (doc) => void (doc.seq = 'x')));
  assert.match(seq.problems[0]?.message ?? '', /^projections\/steps\.json: \/seq: /);
  const type = await verifyBundle(await copyWith('type', (doc) => void (doc.steps[42]!.attempt = -1)));
  assert.match(type.problems[0]?.message ?? '', /^projections\/steps\.json: \/steps\/42\/attempt: /);
  const runId = await verifyBundle(await copyWith('run-id', (doc) => void (doc.runId = 'another-run')));
  assert.deepEqual(runId.problems.map((p) => p.message), [`projections/steps.json: /runId: differs from the fold of the trace up to seq ${events}`]);
  const broken = join(root, 'broken');
  await cp(large, broken, { recursive: true });
  const file = join(broken, 'projections/steps.json');
  await writeFile(file, (await readFile(file, 'utf8')).slice(0, 5000));
  const torn = await verifyBundle(broken);
  assert.match(torn.problems[0]?.message ?? '', /^projections\/steps\.json: not valid JSON/);
});

test('the scanner yields fields and elements exactly, across any chunking', async () => {
  const doc = {
    schema: 'x',
    'we"ird\\key': [1, { a: '}]' }],
    steps: [{ s: 'a,b]}', n: [1, 2, { c: null }] }, 3, 'str"ing', true, null, -1.5e3, []],
    tail: { nested: { deep: ['[', '{'] } },
    n: 12,
  };
  const text = JSON.stringify(doc, null, 1);
  for (const size of [1, 2, 3, 7, 64, text.length]) {
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
    const fields: Record<string, unknown> = {};
    const elements: unknown[] = [];
    for await (const item of scanArrayDocument(chunks, 'steps')) {
      if (item.kind === 'field') fields[item.key] = JSON.parse(item.text);
      else elements.push(JSON.parse(item.text));
    }
    assert.deepEqual(elements, doc.steps, `chunk size ${size}`);
    assert.deepEqual(fields, { schema: 'x', 'we"ird\\key': doc['we"ird\\key'], tail: doc.tail, n: 12 }, `chunk size ${size}`);
  }
  for (const bad of ['[1]', '{"steps":[1,2}', '{"a":1 "b":2}', '{"steps":[1]} x', '{"steps":[1]', '{"steps":[1,,2]}', '{"steps":[1,]}', '{"steps":[1 2]}', '{"steps":[,1]}']) {
    await assert.rejects(
      (async () => {
        for await (const _ of scanArrayDocument([bad], 'steps')) void _;
      })(),
      /StepsScanError|not a JSON object|expected|unexpected|after the end/,
      bad,
    );
  }
});
