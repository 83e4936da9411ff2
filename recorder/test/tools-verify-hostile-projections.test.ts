// Projections a reviewer made by hand, each once passed off as valid or crashing verify: a second `steps` key (a
// JSON.parse reader, the viewer, keeps the last one), a steps.json without its schema id (an invalid document, not a
// failure of the command), and unknown keys nested deeper than the stack goes (valid by the schema, but not what the
// trace folds to). Each must come back as a problem in the report, never as valid and never as a thrown error.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyBundle } from '../src/tools/verify.ts';

const SAMPLE = new URL('../../samples/conversation/bundle', import.meta.url);
let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowtape-verify-hostile-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The sample bundle with one projection file rewritten, verified. */
async function verifyWith(name: string, file: string, edit: (text: string) => string) {
  const dir = join(root, name);
  await cp(SAMPLE, dir, { recursive: true });
  const path = join(dir, 'projections', file);
  await writeFile(path, edit(await readFile(path, 'utf8')));
  return verifyBundle(dir);
}

const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

test('the sample itself is valid (the cases below differ from it in one file only)', async () => {
  const report = await verifyWith('as-is', 'steps.json', (text) => text);
  assert.equal(report.ok, true, report.problems.map((p) => p.message).join('\n'));
});

test('a second "steps" key is not valid: JSON.parse readers see the last one', async () => {
  for (const [name, last, expected] of [
    ['steps-null', 'null', /\/steps: .*expected array/],
    ['steps-empty', '[]', /\/steps\/0: differs from the fold/],
  ] as const) {
    const report = await verifyWith(name, 'steps.json', (text) => `${text.trimEnd().slice(0, -1)},"steps":${last}}\n`);
    assert.equal(report.ok, false, name);
    assert.match(report.problems[0]?.message ?? '', expected, name);
  }
});

test('a steps.json without its schema id is reported as a problem', async () => {
  const report = await verifyWith('no-schema', 'steps.json', (text) => {
    const { schema: _schema, ...rest } = JSON.parse(text) as Record<string, unknown>;
    return JSON.stringify(rest);
  });
  assert.equal(report.ok, false);
  assert.match(report.problems[0]?.message ?? '', /steps\.json: \/schema: missing \(expected "flowtape\.steps\.v1"\)/);
});

test('unknown keys nested deeper than the stack goes make a projection differ, not verify crash', async () => {
  const steps = await verifyWith('deep-step', 'steps.json', (text) => text.replace(/"steps":\s*\[\s*\{/, (open) => `${open}"junk":${deep(20_000)},`));
  assert.equal(steps.ok, false);
  assert.match(steps.problems[0]?.message ?? '', /steps\.json: \/steps\/0: differs from the fold .*nested too deeply to compare/);
  const run = await verifyWith('deep-run', 'run.json', (text) => text.replace('{', `{"junk":${deep(20_000)},`));
  assert.equal(run.ok, false);
  assert.match(run.problems[0]?.message ?? '', /run\.json: \/: differs from the fold .*nested too deeply to compare/);
});
