// verify reads steps.json once: its elements are validated as the fold compares them, and a steps.json that is not
// plainly valid is verified a second time, validating it whole before the fold (verify-steps-items.ts). Whatever the
// document holds, the report must be the one the validate-first way gives: compared here, report for report.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VerifyContext, verifyBundle, verifyOnce } from '../src/tools/verify.ts';
import { writeLargeBundle } from '../../test/fixtures/scenarios.ts';
import { scanArrayDocument } from '../src/tools/json-array-scan.ts';

let root = '';
let large = '';
let events = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowtape-verify-once-'));
  large = join(root, 'large');
  ({ events } = writeLargeBundle(large, 9_000));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

type Doc = { steps: Array<Record<string, unknown>> } & Record<string, unknown>;
const STEPS = 'projections/steps.json';

/** A copy of the large bundle with steps.json's text replaced (and maybe more changed). */
async function copyWith(name: string, text: (doc: Doc, raw: string) => string, more?: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(root, name);
  await cp(large, dir, { recursive: true });
  const raw = await readFile(join(dir, STEPS), 'utf8');
  await writeFile(join(dir, STEPS), text(JSON.parse(raw) as Doc, raw));
  await more?.(dir);
  return dir;
}
const edit = (change: (doc: Doc) => void) => (doc: Doc) => {
  change(doc);
  return JSON.stringify(doc);
};
const noTrace = (dir: string) => rm(join(dir, 'trace.ndjson'));

const cases: Array<[string, (doc: Doc, raw: string) => string, ((dir: string) => Promise<void>)?]> = [
  ['as written', (_, raw) => raw],
  ['an invalid element early', edit((d) => void (d.steps[3]!.attempt = -1))],
  ['an invalid element last', edit((d) => void (d.steps.at(-1)!.status = 'bogus'))],
  ['a valid element that differs', edit((d) => void (d.steps[100]!.status = 'failed'))],
  ['a differing element, then an invalid one', edit((d) => void ((d.steps[5]!.heartbeats = 7), (d.steps[50]!.nodeId = '')))],
  ['the steps as other JSON text (indented)', (doc) => JSON.stringify(doc, null, 2)],
  ['indented, with an invalid element', (doc) => (((doc.steps[9]!.startSeq = 0), JSON.stringify(doc, null, 2)))],
  ['seq again after the steps (the last one counts)', (_, raw) => `${raw.trimEnd().slice(0, -1)},"seq":${events - 1}}`],
  ['an unknown field after the steps', (_, raw) => `${raw.trimEnd().slice(0, -1)},"note":1}`],
  ['a field after the steps that is not JSON', (_, raw) => `${raw.trimEnd().slice(0, -1)},"note":nope}`],
  ['torn', (_, raw) => raw.slice(0, Math.floor(raw.length * 0.7))],
  ['no steps', edit((d) => void (d.steps = []))],
  ['seq after the first step only', (_, raw) => raw.replace(/"seq":\d+,/, '').replace(/\]\}\s*$/, `],"seq":${events}}`)],
  ['an invalid header', edit((d) => void (d.seq = -3))],
  ['no trace, steps as written', (_, raw) => raw, noTrace],
  ['no trace, an invalid element late', edit((d) => void (d.steps[d.steps.length - 2]!.turns = 5)), noTrace],
];

/** The cases that are a valid bundle; every other one has a problem to report. */
const VALID = new Set(['as written', 'the steps as other JSON text (indented)', 'an unknown field after the steps', 'seq after the first step only']);

for (const [name, text, more] of cases) {
  test(`steps.json ${name}: the report of the validate-first way`, async () => {
    const dir = await copyWith(name.replace(/\W+/g, '-'), text, more);
    const once = await verifyBundle(dir);
    const validatedFirst = await verifyOnce(new VerifyContext(dir, 200, undefined, true));
    assert.deepEqual(once, validatedFirst);
    assert.equal(once.ok, VALID.has(name), `problems: ${JSON.stringify(once.problems.slice(0, 2))}`);
  });
}

test('progress does not start over when steps.json is verified a second time', async () => {
  const dir = await copyWith('progress', edit((d) => void (d.steps.at(-1)!.attempt = 0)));
  const seen: number[] = [];
  const report = await verifyBundle(dir, { onProgress: (n) => seen.push(n) });
  assert.match(report.problems[0]?.message ?? '', /^projections\/steps\.json: \/steps\/\d+\/attempt: /);
  assert.ok(events > 8192);
  assert.deepEqual(seen, [4096, 8192]);
});

test('the scanner skips strings by search: escapes at every cut are read as JSON.parse reads them', async () => {
  const strings = ['a\\', 'b\\"c', '\\\\\\"', '"]}{[,', 'é \u2028 𝄞', '', '\\', 'x"'];
  const doc = { schema: 's\\"', steps: strings.map((s, i) => ({ s, i, n: [s, { [s]: s }] })), after: ['\\', '"'] };
  const text = JSON.stringify(doc);
  for (let size = 1; size <= 12; size++) {
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
    const elements: unknown[] = [];
    const fields: Record<string, unknown> = {};
    for await (const item of scanArrayDocument(chunks, 'steps')) {
      if (item.kind === 'element') elements.push(JSON.parse(item.text));
      else fields[item.key] = JSON.parse(item.text);
    }
    assert.deepEqual(elements, doc.steps, `cut every ${size}`);
    assert.deepEqual(fields, { schema: doc.schema, after: doc.after }, `cut every ${size}`);
  }
});

test('the scanner searches a string full of escapes once for its closing quote, not once per escape', async () => {
  // 20,000 escapes in one string of one 64 KB-sized chunk: searching to the quote again after every escape made the
  // scan quadratic in the escapes (a Windows path or control characters in a step's output). Counted, not timed.
  const s = 'a\n'.repeat(20_000);
  const text = JSON.stringify({ schema: 'x', steps: [{ s }] });
  const realIndexOf = String.prototype.indexOf;
  let quoteSearches = 0;
  String.prototype.indexOf = function (this: string, needle: string, from?: number) {
    if (needle === '"') quoteSearches++;
    return realIndexOf.call(this, needle, from);
  };
  const elements: unknown[] = [];
  try {
    for await (const item of scanArrayDocument([text], 'steps')) if (item.kind === 'element') elements.push(JSON.parse(item.text));
  } finally {
    String.prototype.indexOf = realIndexOf;
  }
  assert.deepEqual(elements, [{ s }]);
  assert.ok(quoteSearches < 100, `${quoteSearches} searches for a quote`);
});

test('steps.json is closed when verify stops before the fold (a newer session file)', { skip: process.platform !== 'linux' }, async () => {
  const dir = join(root, 'newer-session');
  await cp(new URL('../../samples/conversation/bundle', import.meta.url), dir, { recursive: true });
  const binding = join(dir, 'sessions/s1/binding.json');
  await writeFile(binding, (await readFile(binding, 'utf8')).replace('flowtape.session-binding.v1', 'flowtape.session-binding.v9'));
  const stepsOpen = async () => {
    let open = 0;
    for (const fd of await readdir('/proc/self/fd')) {
      const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
      if (target.endsWith(join(dir, STEPS))) open++;
    }
    return open;
  };
  await assert.rejects(verifyBundle(dir), /newer/);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(await stepsOpen(), 0);
});
