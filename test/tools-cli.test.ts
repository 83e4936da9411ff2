// The bundle tools through the real `flowtape` CLI (import acpx: recorder/test/tools-import-acpx.test.ts), spawned in temporary directories: exit codes (diff: 0 same,
// 1 different, 2 error), output formats, and one-line errors without stack traces.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFile, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BundleBuilder } from './fixtures/bundle-builder.ts';
import { draftReviewFlow } from './fixtures/scenarios.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const bin = join(repo, 'recorder/bin/flowtape.js');
const sample = join(repo, 'samples/conversation/bundle');
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flowtape-cli-tools-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function flowtape(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, FLOWTAPE_DEBUG: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertOneLineError(r: { stderr: string }, pattern: RegExp): void {
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

async function reviewBundle(name: string, verdict: string): Promise<string> {
  const f = new BundleBuilder(join(dir, name), draftReviewFlow(), { runId: `run-${name}` });
  f.runStarted({ topic: 'cli' });
  f.node('draft', { output: 'draft', next: { to: 'review' } });
  f.node('review', { output: { verdict }, next: { to: 'done', branch: { on: '$.verdict', value: verdict, caseKey: verdict } } });
  f.node('done', { output: 'ok' });
  f.runCompleted('ok');
  return f.finish();
}

test('diff exits 0 for the same run, 1 for a different one (text, --json, --markdown), 2 for bad input', async () => {
  const same = flowtape('diff', sample, sample);
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stdout, /no differences/);

  const a = await reviewBundle('a', 'approve');
  const b = await reviewBundle('b', 'approve-with-notes');
  const text = flowtape('diff', 'a', 'b');
  assert.equal(text.code, 1, text.stderr);
  assert.match(text.stdout, /node review · attempt review#1\n {2}~ \/output\/verdict: "approve" → "approve-with-notes"/);

  const json = flowtape('diff', a, b, '--json');
  assert.equal(json.code, 1);
  const parsed = JSON.parse(json.stdout) as { same: boolean; differences: Array<{ path: string }> };
  assert.equal(parsed.same, false);
  assert.ok(parsed.differences.some((d) => d.path === '/attempts/review#1/output/verdict'));

  const markdown = flowtape('diff', a, b, '--markdown');
  assert.equal(markdown.code, 1);
  assert.match(markdown.stdout, /^### flowtape diff: \d+ differences?/);
  assert.ok(Buffer.byteLength(markdown.stdout) < 64 * 1024);

  const ignored = flowtape('diff', a, b, '--ignore', '/attempts/review#1/output', '--ignore', '**/branch');
  assert.equal(ignored.code, 0, ignored.stdout);

  const missing = flowtape('diff', a, 'nowhere');
  assert.equal(missing.code, 2);
  assertOneLineError(missing, /^flowtape: nowhere: no such bundle/);
  const both = flowtape('diff', a, b, '--json', '--markdown');
  assert.equal(both.code, 2);
});

test('verify takes several bundles (a glob over a runs folder): each verified, lines named by bundle, worst verdict as exit code', async () => {
  const good = join(dir, 'many-good');
  const torn = join(dir, 'many-torn');
  await cp(sample, good, { recursive: true });
  await cp(sample, torn, { recursive: true });
  await appendFile(join(torn, 'trace.ndjson'), '{"seq":27,"at":"2026-01-01T00:00');
  const invalid = flowtape('verify', good, torn);
  assert.equal(invalid.code, 1, invalid.stdout + invalid.stderr);
  assert.match(invalid.stdout, new RegExp(`^${good}: valid \\(completed`, 'm'));
  assert.match(invalid.stdout, new RegExp(`^${torn}: trace\\.ndjson:\\d+: `, 'm'), 'a problem line names its bundle');
  assert.match(invalid.stdout, new RegExp(`^${torn}: invalid: \\d+ problem`, 'm'));
  // One that cannot be verified does not stop the others; it is one line on stderr and makes the exit code 2.
  const missing = join(dir, 'many-none');
  const some = flowtape('verify', missing, good);
  assert.equal(some.code, 2);
  assertOneLineError(some, /^flowtape: .*many-none: no such directory/);
  assert.match(some.stdout, new RegExp(`^${good}: valid`, 'm'));
  const json = flowtape('verify', good, torn, missing, '--json');
  assert.equal(json.code, 2);
  const reports = JSON.parse(json.stdout) as Array<{ bundle: string; ok: boolean; error?: string }>;
  assert.deepEqual(reports.map((r) => [r.bundle.endsWith('many-good'), r.ok]), [[true, true], [false, false], [false, false]]);
  assert.match(reports[2]!.error ?? '', /no such directory/);
  // One bundle: the verdict line as before, no prefix on its problem lines.
  const one = flowtape('verify', torn);
  assert.equal(one.code, 1);
  assert.match(one.stdout, /^trace\.ndjson:\d+: /m);
});

test('repair makes a torn bundle pass verify; pack makes a zip that diffs as the same', async () => {
  const torn = join(dir, 'torn');
  await cp(sample, torn, { recursive: true });
  await appendFile(join(torn, 'trace.ndjson'), '{"seq":27,"at":"2026-01-01T00:00');
  const broken = flowtape('verify', torn);
  assert.equal(broken.code, 1, broken.stdout + broken.stderr);
  const repaired = flowtape('repair', torn);
  assert.equal(repaired.code, 0, repaired.stderr);
  assert.match(repaired.stdout, /drop a torn last line from trace\.ndjson/);
  const verified = flowtape('verify', torn);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  assert.match(flowtape('repair', torn).stdout, /nothing to repair/);
  assertOneLineError(flowtape('repair', join(dir, 'none')), /^flowtape: .*none: no such bundle directory/);

  const packed = flowtape('pack', sample, '-o', 'conversation.zip');
  assert.equal(packed.code, 0, packed.stderr);
  assert.match(packed.stdout, /conversation\.zip: \d+ files \(\d+ artifacts\)/);
  assert.equal(flowtape('diff', sample, 'conversation.zip').code, 0);
});
