// The conversation sample recorded with the real CLI, from the repository root, as the README says, diffs as the
// same as the committed golden (samples/conversation/bundle, recorded by scripts/regen-samples.ts through
// samples/catalog.ts). The two record the agent command differently — the CLI as typed
// (`flowtape-scripted-agent --script agent.json`, found on the PATH, the script relative to --cwd), the sample
// script as `node <flowtape>/recorder/bin/flowtape-scripted-agent.js --script <cwd>/agent.json` — and `diff`
// normalises the difference away (schema/src/diff/normalize.ts, normalizeCommand). The unit tests below pin that rule: a
// different directory is the same, a different script file name or program is not.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deepDiff, DiffCollector, IgnoreRules, Normalizer, normalizeCommand } from '@flowtape/schema/diff';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node recorder/bin/flowtape.js <args>` from the repository root, with the workspace's bins on the PATH
 *  (as `pnpm exec` puts them there). */
function flowtape(args: string[]): Promise<Result> {
  const bins = [join(repoRoot, 'node_modules', '.bin'), join(repoRoot, 'recorder', 'node_modules', '.bin')];
  const env = { ...process.env, PATH: [...bins, process.env.PATH ?? ''].join(delimiter), NO_COLOR: '1' };
  return new Promise((resolve) => {
    execFile(process.execPath, ['recorder/bin/flowtape.js', ...args], { cwd: repoRoot, env, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the conversation sample recorded from the CLI', () => {
  it('diffs as the same as the committed golden (diff exit 0, "no differences")', async (t) => {
    const out = await mkdtemp(join(tmpdir(), 'flowtape-cli-golden-'));
    t.after(() => rm(out, { recursive: true, force: true }));
    // The README's command line: the run in the sample's directory (the agent reads notes.txt there and its script
    // path is relative to it), with the sample's input. Not deterministic: diff ignores times, ids and paths.
    const run = await flowtape([
      'run',
      'samples/conversation/conversation.flow.ts',
      '--cwd',
      'samples/conversation',
      '--input',
      '{"file": "notes.txt"}',
      '--agent',
      'flowtape-scripted-agent --script agent.json',
      '--permission',
      'approve-all',
      '-q',
      '--out',
      out,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /run completed/);
    const bundle = run.stdout.trim();
    assert.ok(bundle.startsWith(out), bundle);

    const diff = await flowtape(['diff', 'samples/conversation/bundle', bundle]);
    assert.equal(diff.code, 0, `${diff.stdout}\n${diff.stderr}`);
    assert.match(diff.stdout, /no differences/);

    const json = await flowtape(['diff', 'samples/conversation/bundle', bundle, '--json']);
    assert.equal(json.code, 0, json.stdout + json.stderr);
    assert.equal((JSON.parse(json.stdout) as { same: boolean }).same, true);
  });
});

describe('agent command normalisation', () => {
  const golden = ['node', '<flowtape>/recorder/bin/flowtape-scripted-agent.js', '--script', '<cwd>/agent.json'];

  /** The session binding differences `diff` reports, each side with its own normaliser (and run cwd), as diff.ts does. */
  function bindingDiff(a: string[], b: string[], cwd: { a?: string; b?: string } = {}): string[] {
    const side = (agentCommand: string[], runCwd: string | undefined) => {
      const normalizer = new Normalizer();
      normalizer.addPath(runCwd, '<cwd>');
      return normalizer.value({ handle: 'main', mode: 'shared', agentCommand, agent: { name: 'notes-agent' }, protocolVersion: 1 });
    };
    const out = new DiffCollector(new IgnoreRules(), 100);
    deepDiff(side(a, cwd.a), side(b, cwd.b), '/sessions/main/binding', { section: 'session', session: 'main' }, out);
    return out.differences.map((d) => `${d.path}: ${JSON.stringify(d.a)} -> ${JSON.stringify(d.b)}`);
  }

  it('only the directories of the executable and of path arguments are volatile', () => {
    const expected = normalizeCommand(['flowtape-scripted-agent', '--script', 'agent.json']);
    assert.deepEqual(expected, ['flowtape-scripted-agent', '--script', 'agent.json']);
    for (const argv of [
      golden,
      ['/usr/local/bin/node', '/home/ada/flowtape/recorder/bin/flowtape-scripted-agent.js', '--script', '/srv/x/agent.json'],
      ['/work/main/node_modules/.bin/flowtape-scripted-agent', '--script', '../../samples/conversation/agent.json'],
      ['flowtape-scripted-agent', '--script', '/somewhere/else/agent.json'],
      ['node', './bin/flowtape-scripted-agent.mjs', '--script', '~/agent.json'],
    ]) {
      assert.deepEqual(normalizeCommand(argv), expected, JSON.stringify(argv));
    }
    // `--opt=path` keeps its option and loses the path's directory.
    assert.deepEqual(normalizeCommand(['agent', '--script=/a/b/agent.json']), ['agent', '--script=agent.json']);
  });

  it('bindings differing only in the absolute directory of the agent script diff as the same', () => {
    assert.deepEqual(
      bindingDiff(
        ['node', '/home/ada/flowtape/recorder/bin/flowtape-scripted-agent.js', '--script', '/home/ada/samples/agent.json'],
        ['node', '/ci/build/recorder/bin/flowtape-scripted-agent.js', '--script', '/tmp/flowtape-x-AbC123/agent.json'],
      ),
      [],
    );
    // The golden's deterministic placeholders against the CLI's argv as typed, and against absolute paths in the run's cwd.
    assert.deepEqual(bindingDiff(golden, ['flowtape-scripted-agent', '--script', 'agent.json']), []);
    assert.deepEqual(
      bindingDiff(golden, ['/usr/bin/node', '/opt/flowtape/recorder/bin/flowtape-scripted-agent.js', '--script', '/runs/here/agent.json'], { b: '/runs/here' }),
      [],
    );
  });

  it('a different script file name or a different program diffs as different', () => {
    assert.deepEqual(bindingDiff(golden, [...golden.slice(0, 3), '<cwd>/other-agent.json']), [
      '/sessions/main/binding/agentCommand/2: "agent.json" -> "other-agent.json"',
    ]);
    assert.deepEqual(bindingDiff(['flowtape-scripted-agent', '--script', '/x/agent.json'], ['flowtape-scripted-agent', '--script', '/x/agent-v2.json']), [
      '/sessions/main/binding/agentCommand/2: "agent.json" -> "agent-v2.json"',
    ]);
    assert.deepEqual(bindingDiff(golden, ['node', '<flowtape>/recorder/bin/other-agent.js', '--script', '<cwd>/agent.json']), [
      '/sessions/main/binding/agentCommand/0: "flowtape-scripted-agent" -> "other-agent"',
    ]);
    assert.deepEqual(bindingDiff(golden, ['codex-acp', '--script', '<cwd>/agent.json']), [
      '/sessions/main/binding/agentCommand/0: "flowtape-scripted-agent" -> "codex-acp"',
    ]);
    assert.equal(bindingDiff(['/usr/bin/python3', 'agent.py'], ['/usr/bin/node', 'agent.py']).length, 1);
    // Arguments that are not paths keep their text: a model name with a slash is not a directory, nor is a URL.
    assert.equal(bindingDiff(['agent', '--model', 'openai/gpt-4o'], ['agent', '--model', 'other/gpt-4o']).length, 1);
    assert.equal(bindingDiff(['agent', '--endpoint', 'https://a.example/v1'], ['agent', '--endpoint', 'https://b.example/v1']).length, 1);
  });

  it('the run directory passed as an argument stays the run directory, not its last segment', () => {
    const n = new Normalizer();
    n.addPath('/work/main/samples/conversation', '<cwd>');
    assert.deepEqual(n.value({ agentCommand: ['agent', '--root', '/work/main/samples/conversation/'] }), { agentCommand: ['agent', '--root', '<cwd>'] });
    assert.deepEqual(n.value({ agentCommand: ['agent', '--root', '<cwd>'] }), { agentCommand: ['agent', '--root', '<cwd>'] });
    assert.deepEqual(bindingDiff(['agent', '--root', '/a/conversation'], ['agent', '--root', '/b/conversation'], { a: '/a/conversation' }).length, 1);
  });
});
