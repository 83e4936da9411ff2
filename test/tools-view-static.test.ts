// `flowtape view --static` through the real CLI: what it refuses (one line, exit 2, nothing left behind), what it
// publishes of an unfinished run, and its --json report. The site in a browser: test/e2e/viewer-static.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BundleBuilder } from './fixtures/bundle-builder.ts';
import { draftReviewFlow } from './fixtures/scenarios.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const bin = join(repo, 'recorder/bin/flowtape.js');
const sample = join(repo, 'samples/conversation/bundle');
const agent = join(repo, 'recorder/bin/flowtape-scripted-agent.js');
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flowtape-cli-static-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function flowtape(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, FLOWTAPE_DEBUG: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertRefused(r: { code: number | null; stdout: string; stderr: string }, pattern: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(r.stdout, '');
}

test('view --static refuses a missing or malformed bundle and a non-empty -o, in one line, writing nothing', async () => {
  assertRefused(flowtape('view', '--static', 'no-such-run', '-o', 'site'), /no-such-run: no such bundle, runs directory or \.zip$/);
  assert.equal(existsSync(join(dir, 'site')), false);

  const broken = join(dir, 'broken');
  await cp(sample, broken, { recursive: true });
  writeFileSync(join(broken, 'manifest.json'), '{"schema": "flowtape.bundle.v1", ');
  assertRefused(flowtape('view', '--static', 'broken', '-o', 'site'), /broken: manifest\.json/);
  assert.equal(existsSync(join(dir, 'site')), false);

  mkdirSync(join(dir, 'busy'));
  writeFileSync(join(dir, 'busy', 'notes.txt'), 'mine');
  assertRefused(flowtape('view', '--static', sample, '-o', 'busy'), /busy: already exists and is not empty; choose another -o/);
  assert.deepEqual(readdirSync(join(dir, 'busy')), ['notes.txt']);

  mkdirSync(join(dir, 'empty-dir'));
  assertRefused(flowtape('view', '--static', 'empty-dir', '-o', 'site'), /empty-dir: no bundle in it/);
  assertRefused(flowtape('view', '--static', sample, '-o', join(sample, 'site')), /cannot be written inside what it publishes/);
  assert.equal(existsSync(join(sample, 'site')), false);
  assertRefused(flowtape('view', '--static', sample), /-o <dir> is required/);
  assertRefused(flowtape('view', '--static', sample, sample, '-o', 'site'), /one bundle, \.zip or runs root/);
  assertRefused(flowtape('view', sample, '-o', 'site'), /-o and --json go with --static/);
});

test('view --static does not publish a bundle whose copy fails verification, and removes what it wrote', async () => {
  const tampered = join(dir, 'tampered');
  await cp(sample, tampered, { recursive: true });
  const artifact = readdirSync(join(tampered, 'artifacts'))[0]!;
  writeFileSync(join(tampered, 'artifacts', artifact), 'not what was recorded\n');
  mkdirSync(join(dir, 'out-empty'));
  assertRefused(flowtape('view', '--static', 'tampered', '-o', 'out-empty'), new RegExp(`tampered: not published: artifacts/${artifact}.*flowtape verify`));
  // The folder was there (empty) before: it stays, empty.
  assert.deepEqual(readdirSync(join(dir, 'out-empty')), []);

  // A finished run whose trace was cut mid-line (a crash) is repaired first, not published as whole.
  const torn = new BundleBuilder(join(dir, 'torn'), draftReviewFlow(), { runId: 'run-torn' });
  torn.runStarted({ topic: 'static' });
  torn.node('draft', { output: 'draft', next: { to: 'review' } });
  torn.node('review', { output: { verdict: 'approve' }, next: { to: 'done', branch: { on: '$.verdict', value: 'approve', caseKey: 'approve' } } });
  torn.node('done', { output: 'ok' });
  torn.runCompleted('ok');
  torn.finish({ tornTail: '{"seq":99,"at":"2026' });
  assertRefused(flowtape('view', '--static', 'torn', '-o', 'site-torn'), /torn: not published: trace\.ndjson.*flowtape repair.*flowtape verify torn/);
  assert.equal(existsSync(join(dir, 'site-torn')), false);

  // An artifact a static host could serve as a script-running page is not published.
  const html = new BundleBuilder(join(dir, 'html'), draftReviewFlow(), { runId: 'run-html' });
  html.runStarted({ topic: 'static' });
  const attempt = html.start('draft');
  html.event({ scope: 'artifact', type: 'artifact.written', nodeId: 'draft', attemptId: attempt, payload: { artifact: html.artifact('<script>alert(1)</script>', 'html', 'text/html'), role: 'output' } });
  html.outcome('draft', attempt, { outcome: 'ok', output: html.value('draft') });
  html.finish();
  assertRefused(flowtape('view', '--static', 'html', '-o', 'site-html'), /artifacts\/sha256-[0-9a-f]+\.html: not published: a static host could serve a \.html file/);
  assert.equal(existsSync(join(dir, 'site-html')), false);
});

test('view --static publishes an unfinished run as recorded so far, marked, without the half-written last line', () => {
  const f = new BundleBuilder(join(dir, 'running'), draftReviewFlow(), { runId: 'run-running' });
  f.runStarted({ topic: 'static' });
  f.node('draft', { output: 'draft', next: { to: 'review' } });
  f.finish({ tornTail: '{"seq":5,"at":"2026' });
  const r = flowtape('view', '--static', 'running', '-o', 'site-running', '--json');
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { bundles: Array<{ id: string; complete: boolean; status: string; path: string }>; warnings: string[] };
  assert.deepEqual(report.bundles.map((b) => [b.id, b.complete, b.status, b.path]), [['run-running', false, 'running', 'bundle']]);
  assert.match(report.warnings.join('\n'), /running: the run is not complete \(status running\); published as recorded so far, up to seq \d+/);
  const trace = readFileSync(join(dir, 'site-running', 'bundle', 'trace.ndjson'), 'utf8');
  assert.ok(trace.endsWith('\n') && !trace.includes('"seq":5,"at":"2026\n'), 'the half-written line is not published');
  const index = JSON.parse(readFileSync(join(dir, 'site-running', 'flowtape-site.json'), 'utf8')) as { bundles: Array<{ complete: boolean; files: string[] }> };
  assert.equal(index.bundles[0]!.complete, false);
  assert.ok(index.bundles[0]!.files.includes('trace.ndjson'));
  // The published copy is a valid bundle on its own.
  const verify = flowtape('verify', join(dir, 'site-running', 'bundle'));
  assert.equal(verify.code, 0, verify.stdout);
});

test('view --static text output names the site and how to serve it; --help lists the options', () => {
  const r = flowtape('view', '--static', sample, '-o', 'site-text');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /site-text: static viewer site: run 20260101T000000Z-conversation \(completed\), \d+ bundle files/);
  assert.match(r.stderr, /python3 -m http\.server -d site-text/);
  const html = readFileSync(join(dir, 'site-text', 'index.html'), 'utf8');
  assert.match(html, /<meta name="flowtape-site" content="flowtape-site.json" \/>/);
  // The viewer server's policy, as a <meta> (a static host sends no headers of ours); frame-ancestors has no effect there.
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self';[^"]*object-src 'none'[^"]*" \/>/);
  assert.doesNotMatch(html, /frame-ancestors/);
  assert.doesNotMatch(html, /(src|href)="\//, 'no root-relative URL: the site works under any path prefix');
  const help = flowtape('view', '--help');
  assert.match(help.stdout, /--static/);
  assert.match(help.stdout, /-o, --output <dir>/);
});

test('view --static publishes a run while flowtape run is still writing it, marked unfinished', async () => {
  const work = join(dir, 'live');
  mkdirSync(work);
  for (const f of ['conversation.flow.ts', 'notes.txt']) copyFileSync(join(repo, 'samples/conversation', f), join(work, f));
  // The conversation sample's agent, made to pause for a long time inside its second turn.
  const script = JSON.parse(readFileSync(join(repo, 'samples/conversation/agent.json'), 'utf8')) as { turns: Array<{ steps: unknown[] }> };
  script.turns[1]!.steps.unshift({ delayMs: 60_000 });
  writeFileSync(join(work, 'agent.json'), JSON.stringify(script));
  const run = spawn(process.execPath, [bin, 'run', 'conversation.flow.ts', '--input', '{"file":"notes.txt"}', '--agent', `node ${agent} --script agent.json`,
    '--permission', 'approve-all', '--out', 'runs', '-q'], { cwd: work, stdio: 'ignore' });
  try {
    // Wait until the second turn's prompt is in the session traffic and its acp.prompt_sent in the trace: the run
    // is mid-turn, its writers active. The two files are written by separate queues, so under load either can land
    // first.
    let bundle = '';
    for (let i = 0; i < 600 && !bundle; i++) {
      await new Promise((done) => setTimeout(done, 100));
      const runs = existsSync(join(work, 'runs')) ? readdirSync(join(work, 'runs')) : [];
      const events = runs[0] ? join(work, 'runs', runs[0], 'sessions') : '';
      const session = events && existsSync(events) ? readdirSync(events)[0] : undefined;
      // A session's folder is made before its events.ndjson: read what exists so far, nothing if not yet there.
      if (!session || !readIfThere(join(events, session, 'events.ndjson')).includes('Write the summary')) continue;
      if (secondPromptIn(readIfThere(join(work, 'runs', runs[0]!, 'trace.ndjson')))) bundle = join(work, 'runs', runs[0]!);
    }
    assert.ok(bundle, 'the run reached its second turn');
    const r = flowtape('view', '--static', bundle, '-o', 'site-live', '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { bundles: Array<{ complete: boolean; status: string }>; warnings: string[] };
    assert.deepEqual(report.bundles.map((b) => [b.complete, b.status]), [[false, 'running']]);
    assert.match(report.warnings.join('\n'), /the run is not complete \(status running\); published as recorded so far, up to seq \d+, marked unfinished/);
    // The copy holds the run up to its second turn, whole lines only.
    const trace = readFileSync(join(dir, 'site-live', 'bundle', 'trace.ndjson'), 'utf8');
    assert.ok(trace.endsWith('\n'));
    assert.ok(secondPromptIn(trace), 'the second prompt is published');
  } finally {
    run.kill('SIGINT');
    await once(run, 'exit');
  }
});

/** Whether a trace's text holds the acp.prompt_sent of the conversation's second turn (node `write`, attempt 1). */
function secondPromptIn(trace: string): boolean {
  return trace.split('\n').some((l) => l.endsWith('}') && l.includes('"acp.prompt_sent"') && l.includes('"write#1"'));
}

function readIfThere(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}
