import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { packBundle } from '../src/tools/pack.ts';
import { diffBundles } from '../src/tools/diff.ts';
import { ZipBundleBackend } from '../src/tools/fs-backend.ts';
import { runCli } from './recorder-support.ts';
import { BundleBuilder } from '../../test/fixtures/bundle-builder.ts';
import { draftReviewFlow } from '../../test/fixtures/scenarios.ts';

async function scratch(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flowtape-pack-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function bundle(dir: string): Promise<string> {
  const f = new BundleBuilder(dir, draftReviewFlow(), { runId: 'run-pack' });
  f.runStarted({ topic: 'pack' });
  f.node('draft', { output: 'x'.repeat(200), artifacts: { report: 'a report\n' }, next: { to: 'review' } });
  f.node('review', {
    output: { verdict: 'approve' },
    turn: { sessionId: 'sess-1', prompt: 'Review', chunks: ['fine'] },
    next: { to: 'done', branch: { on: '$.verdict', value: 'approve', caseKey: 'approve' } },
  });
  f.node('done', { output: 'ok' });
  f.runCompleted('ok');
  f.finish();
  // Not part of the run: an artifact nothing references and a stray file.
  await writeFile(join(dir, 'artifacts', `sha256-${'0'.repeat(64)}.txt`), 'orphan');
  await writeFile(join(dir, 'notes.txt'), 'stray');
  return dir;
}

test('pack writes the bundle files and only referenced artifacts at the zip root, reproducibly', async (t) => {
  const root = await scratch(t);
  const dir = await bundle(join(root, 'run'));
  const output = join(root, 'run.flowtape.zip');
  const report = await packBundle(dir, { output });
  const entries = unzipSync(await readFile(output));
  const names = Object.keys(entries).sort();
  const artifacts = names.filter((n) => n.startsWith('artifacts/'));
  assert.deepEqual(
    names.filter((n) => !n.startsWith('artifacts/')),
    [
      'flow.json',
      'manifest.json',
      'projections/live.json',
      'projections/run.json',
      'projections/steps.json',
      'sessions/sess-1/binding.json',
      'sessions/sess-1/events.ndjson',
      'sessions/sess-1/record.json',
      'trace.ndjson',
    ],
  );
  // The long draft output, the report, the prompt… every referenced artifact; the orphan is left out.
  assert.equal(artifacts.length, report.artifacts);
  assert.ok(artifacts.length >= 2);
  assert.ok(!artifacts.some((n) => n.includes('0'.repeat(64))));
  assert.equal(new TextDecoder().decode(entries['trace.ndjson']), await readFile(join(dir, 'trace.ndjson'), 'utf8'));
  assert.deepEqual(report.missing, []);

  const again = join(root, 'again.zip');
  await packBundle(dir, { output: again });
  assert.deepEqual(await readFile(again), await readFile(output));

  // The zip reads back as the same run.
  const zipped = await ZipBundleBackend.open(output);
  assert.ok(zipped.list().includes('manifest.json'));
  const diff = await diffBundles(dir, output);
  assert.equal(diff.total, 0, JSON.stringify(diff.differences));
});

test('pack names what is wrong with a bundle it cannot pack', async (t) => {
  const root = await scratch(t);
  await assert.rejects(packBundle(join(root, 'missing')), /missing: no such bundle directory/);
  const dir = await bundle(join(root, 'run'));
  await assert.rejects(packBundle(dir, { output: join(dir, 'inside.zip') }), /cannot be written inside the bundle/);
  await rm(join(dir, 'flow.json'));
  await assert.rejects(packBundle(dir, { output: join(root, 'x.zip') }), /flow\.json: missing/);
  await writeFile(join(dir, 'manifest.json'), '{}');
  await assert.rejects(packBundle(dir, { output: join(root, 'x.zip') }), /manifest\.json: \/schema: missing/);
});

test('flowtape pack names the path in one line (exit 2) when it is not a bundle', async (t) => {
  const root = await scratch(t);
  await mkdir(join(root, 'empty'));
  await writeFile(join(root, 'file.txt'), 'not a bundle');
  await mkdir(join(root, 'broken'));
  await writeFile(join(root, 'broken', 'manifest.json'), '{');
  const cases: Array<[string, RegExp]> = [
    ['missing', /no such bundle directory/],
    ['empty', /not a flowtape bundle \(no manifest\.json\)/],
    ['file.txt', /not a bundle directory/],
    ['broken', /manifest\.json: not valid JSON/],
  ];
  for (const [name, problem] of cases) {
    const result = await runCli(['pack', name], { cwd: root, env: { FLOWTAPE_DEBUG: '' } });
    assert.equal(result.code, 2, `${name}: ${result.stdout}${result.stderr}`);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.ok(lines[0]!.startsWith(`flowtape: ${join(root, name)}: `), result.stderr);
    assert.match(lines[0]!, problem);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  }
});

test('pack never replaces what is at -o: an existing file, a folder or a symlink is refused with one line (exit 2)', async (t) => {
  const root = await scratch(t);
  const dir = await bundle(join(root, 'run'));
  await writeFile(join(root, 'precious.zip'), 'precious bytes');
  await mkdir(join(root, 'a-folder'));
  await writeFile(join(root, 'target.txt'), 'target bytes');
  await symlink(join(root, 'target.txt'), join(root, 'link.zip'));
  const cases: Array<[string, RegExp]> = [
    ['precious.zip', /precious\.zip: already exists; choose another -o or remove it first$/],
    ['a-folder', /a-folder: already exists \(a folder\); choose another -o/],
    ['link.zip', /link\.zip: already exists \(a symbolic link\); choose another -o/],
  ];
  for (const [name, problem] of cases) {
    await assert.rejects(packBundle(dir, { output: join(root, name) }), problem);
    const result = await runCli(['pack', dir, '-o', name], { cwd: root, env: { FLOWTAPE_DEBUG: '' } });
    assert.equal(result.code, 2, `${name}: ${result.stdout}${result.stderr}`);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr.trim(), problem);
  }
  assert.equal(await readFile(join(root, 'precious.zip'), 'utf8'), 'precious bytes');
  assert.equal(await readFile(join(root, 'target.txt'), 'utf8'), 'target bytes');
  assert.deepEqual(await readdir(join(root, 'a-folder')), []);
  // No temporary file is left behind.
  assert.deepEqual((await readdir(root)).sort(), ['a-folder', 'link.zip', 'precious.zip', 'run', 'target.txt']);
  // A fresh name works.
  const fresh = await packBundle(dir, { output: join(root, 'fresh.zip') });
  assert.ok(fresh.zipBytes > 0);
});
