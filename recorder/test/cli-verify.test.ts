// `flowtape verify` and `flowtape ls`: the real bin against sample bundles, damaged copies and non-bundles.
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, readdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readJson, repoRoot, runCli, tempDir } from './recorder-support.ts';

const sample = join(repoRoot, 'samples/conversation/bundle');

/** A fresh copy of the conversation sample, damaged by `damage`. */
async function damaged(dir: string, name: string, damage: (bundle: string) => void): Promise<string> {
  const bundle = join(dir, name);
  cpSync(sample, bundle, { recursive: true });
  damage(bundle);
  return bundle;
}

function editJson(file: string, edit: (value: any) => void): void {
  const value = JSON.parse(readFileSync(file, 'utf8'));
  edit(value);
  writeFileSync(file, JSON.stringify(value, null, 2));
}

describe('flowtape verify', () => {
  it('passes a valid bundle (exit 0) and prints a one-line verdict', async () => {
    const result = await runCli(['verify', sample], { cwd: repoRoot });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /conversation\/bundle: valid \(completed, \d+ events, 1 session, \d+ artifacts\)\n$/);
    const json = await runCli(['verify', sample, '--json'], { cwd: repoRoot });
    assert.equal(json.code, 0);
    const report = JSON.parse(json.stdout) as { ok: boolean; problems: unknown[]; summary: { status: string } };
    assert.equal(report.ok, true);
    assert.deepEqual(report.problems, []);
    assert.equal(report.summary.status, 'completed');
  });

  it('names the file and the line or JSON pointer of every problem (exit 1)', async () => {
    const dir = await tempDir('flowtape-verify-');
    try {
      const cases: Array<[string, (bundle: string) => void, RegExp]> = [
        ['projection', (b) => editJson(join(b, 'projections/run.json'), (v) => (v.status = 'failed')), /^projections\/run\.json: \/status: differs from the fold of the trace up to seq \d+$/m],
        ['steps', (b) => editJson(join(b, 'projections/steps.json'), (v) => (v.steps[1].status = 'failed')), /^projections\/steps\.json: \/steps\/1\/status: differs from the fold/m],
        [
          'artifact',
          (b) => {
            const name = readdirSync(join(b, 'artifacts'))[0]!;
            appendFileSync(join(b, 'artifacts', name), 'tampered');
          },
          /^artifacts\/sha256-[0-9a-f]{64}\.\w+: content hash is [0-9a-f]{64}: the file does not match its name$/m,
        ],
        [
          'gap',
          (b) => {
            const lines = readFileSync(join(b, 'trace.ndjson'), 'utf8').split('\n');
            lines.splice(4, 1);
            writeFileSync(join(b, 'trace.ndjson'), lines.join('\n'));
          },
          /^trace\.ndjson:5: seq 6 where 5 was expected$/m,
        ],
        ['torn', (b) => appendFileSync(join(b, 'trace.ndjson'), '{"seq":99,"at":"2026-'), /^trace\.ndjson:\d+: torn last line \(\d+ characters without a newline\): the writer stopped mid-append; `flowtape repair` removes it$/m],
        ['bad event', (b) => {
          const lines = readFileSync(join(b, 'trace.ndjson'), 'utf8').split('\n');
          lines[2] = lines[2]!.replace('"durationMs":', '"durationMs":"soon","x":');
          writeFileSync(join(b, 'trace.ndjson'), lines.join('\n'));
        }, /^trace\.ndjson:3: \/payload\/durationMs: /m],
        ['escape', (b) => editJson(join(b, 'manifest.json'), (v) => (v.files.trace = '../../etc/passwd')), /^manifest\.json: \/files\/trace: /m],
        [
          'symlink',
          (b) => {
            unlinkSync(join(b, 'flow.json'));
            symlinkSync('/etc/hostname', join(b, 'flow.json'));
          },
          /^flow\.json: leads outside the bundle \(symlink\)$/m,
        ],
        [
          'session line',
          (b) => {
            const file = join(b, 'sessions/s1/events.ndjson');
            const lines = readFileSync(file, 'utf8').split('\n');
            lines[3] = lines[3]!.replace('"direction":"incoming"', '"direction":"sideways"');
            writeFileSync(file, lines.join('\n'));
          },
          /^sessions\/s1\/events\.ndjson:4: \/direction: /m,
        ],
        ['record', (b) => editJson(join(b, 'sessions/s1/record.json'), (v) => (v.messages[1].text = 'rewritten')), /^sessions\/s1\/record\.json: \/messages\/1\/text: differs from the conversation rebuilt from sessions\/s1\/events\.ndjson/m],
        ['complete lie', (b) => editJson(join(b, 'manifest.json'), (v) => (v.status = 'running')), /^manifest\.json: \/complete: true while the status is "running"$/m],
      ];
      for (const [name, damage, expected] of cases) {
        const bundle = await damaged(dir.path, name.replace(' ', '-'), damage);
        const result = await runCli(['verify', bundle], { cwd: dir.path });
        assert.equal(result.code, 1, `${name}: ${result.stdout}${result.stderr}`);
        assert.match(result.stdout, expected, name);
        assert.match(result.stdout, /: invalid: \d+ problems? \(/, name);
        assert.doesNotMatch(result.stdout + result.stderr, /^\s+at /m, `${name}: no stack trace`);
      }
      const json = await runCli(['verify', join(dir.path, 'torn'), '--json'], { cwd: dir.path });
      assert.equal(json.code, 1);
      const report = JSON.parse(json.stdout) as { ok: boolean; problems: Array<{ file: string; line?: number }> };
      assert.equal(report.ok, false);
      assert.equal(report.problems[0]!.file, 'trace.ndjson');
      assert.ok(report.problems[0]!.line! > 1);
    } finally {
      await dir.remove();
    }
  });

  it('exits 2 with one line for input it cannot verify at all', async () => {
    const dir = await tempDir('flowtape-verify-');
    try {
      await mkdir(join(dir.path, 'empty'));
      writeFileSync(join(dir.path, 'file.txt'), 'hello');
      const newer = await damaged(dir.path, 'newer', (b) => editJson(join(b, 'manifest.json'), (v) => (v.schema = 'flowtape.bundle.v2')));
      for (const [target, expected] of [
        [join(dir.path, 'missing'), /missing: no such directory/],
        [join(dir.path, 'file.txt'), /file\.txt: not a directory/],
        [join(dir.path, 'empty'), /empty: not a flowtape bundle \(no manifest\.json\)/],
        [newer, /manifest\.json: format flowtape\.bundle\.v2 is newer than this reader \(it reads v1\); upgrade flowtape to open it/],
      ] as const) {
        const result = await runCli(['verify', target], { cwd: dir.path });
        assert.equal(result.code, 2, `${target}: ${result.stderr}`);
        assert.match(result.stderr, expected);
        assert.equal(result.stderr.trim().split('\n').length, 1, 'one line');
      }
    } finally {
      await dir.remove();
    }
  });
});

describe('flowtape ls', () => {
  it('lists the runs below a runs root with status, flow, start, duration and usage; --json for machines', async () => {
    const dir = await tempDir('flowtape-ls-');
    try {
      const root = join(dir.path, 'runs');
      await mkdir(root);
      for (const name of ['conversation', 'checkpoint', 'retry-timeout']) cpSync(join(repoRoot, 'samples', name, 'bundle'), join(root, name), { recursive: true });
      editJson(join(root, 'retry-timeout/manifest.json'), (v) => {
        v.status = 'running';
        v.complete = false;
        delete v.endedAt;
      });
      await mkdir(join(root, 'not-a-bundle'));
      const result = await runCli(['ls', root], { cwd: dir.path });
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.trim().split('\n');
      // The conversation sample's agent reports usage: the TOKENS and COST columns appear, `-` for runs without.
      assert.match(lines[0]!, /^STATUS\s+FLOW\s+STARTED\s+DURATION\s+TOKENS\s+COST\s+BUNDLE$/);
      assert.equal(lines.length, 4, 'three bundles, the plain directory is skipped');
      assert.match(result.stdout, /completed\s+conversation\s+2026-01-01 00:00:00Z\s+\d+ ms\s+4,250\s+0\.0211 USD\s+.*runs\/conversation/);
      assert.match(result.stdout, /completed\s+checkpoint\s+2026-01-01 00:00:00Z\s+\d+ ms\s+-\s+-\s+.*runs\/checkpoint/);
      assert.match(result.stdout, /running\s+retry-timeout\s+2026-01-01 00:00:00Z\s+-\s+/);
      const json = await runCli(['ls', root, '--json'], { cwd: dir.path });
      const runs = JSON.parse(json.stdout) as Array<{ flowName: string; status: string; complete: boolean; durationMs?: number }>;
      assert.deepEqual(runs.map((r) => [r.flowName, r.status, r.complete]).sort(), [
        ['checkpoint', 'completed', true],
        ['conversation', 'completed', true],
        ['retry-timeout', 'running', false],
      ]);
      assert.ok(runs.every((r) => r.status === 'running' || typeof r.durationMs === 'number'));
      const usage = Object.fromEntries((runs as Array<{ flowName: string; usage?: unknown }>).map((r) => [r.flowName, r.usage]));
      assert.deepEqual(usage, {
        conversation: {
          turns: 2,
          tokens: { inputTokens: 3500, outputTokens: 750, totalTokens: 4250, cachedReadTokens: 2560, thoughtTokens: 64 },
          cost: [{ currency: 'USD', amount: 0.0211 }],
        },
        checkpoint: undefined,
        'retry-timeout': undefined,
      });
      const plain = await runCli(['ls', join(root, 'checkpoint')], { cwd: dir.path });
      assert.match(plain.stdout.split('\n')[0]!, /^STATUS\s+FLOW\s+STARTED\s+DURATION\s+BUNDLE$/, 'no usage, no usage columns');
      const missing = await runCli(['ls', join(dir.path, 'nope')], { cwd: dir.path });
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /nope: no such directory/);
      const empty = await runCli(['ls', join(root, 'not-a-bundle')], { cwd: dir.path });
      assert.equal(empty.code, 0);
      assert.match(empty.stderr, /no runs in/);
      assert.ok(readJson(join(root, 'conversation/manifest.json')));
    } finally {
      await dir.remove();
    }
  });
});
