// flowtape as users get it: the packages packed by the release path (`pnpm -r pack`), `npm install`ed into a fresh
// project outside the repository, and used there — TypeScript, acpx-style and .mjs flows run by `npx flowtape`,
// verified, diffed and viewed in Chromium; the library from a plain Node program and from CommonJS; a strict
// TypeScript consumer; and a flow in a bare directory with no package.json, run by the CLI's absolute path.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser } from './e2e/browser.ts';
import { packAndInstall, repoRoot, run, type Installed } from './package/project.ts';
import {
  ACPX_FLOW,
  BARE_FLOW,
  CJS_FLOW,
  CJS_PROGRAM,
  CONSUMER,
  CONSUMER_TSCONFIG,
  DECOY_INDEX,
  MJS_FLOW,
  PROGRAM,
  write,
  writeConversation,
} from './package/files.ts';

interface RunJson {
  bundle: string;
  status: string;
}

function walkFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walkFiles(path, out);
    else out.push(path);
  }
  return out;
}

describe('installed from the packed tarballs into a fresh project', { timeout: 600_000 }, () => {
  let env: Installed;
  const flowtape = (args: string[], cwd = env.project) => run('npx', ['--no-install', 'flowtape', ...args], cwd);
  const runFlow = (args: string[]): RunJson => {
    const result = flowtape(['run', ...args, '--json', '-q']);
    assert.equal(result.status, 0, `flowtape run ${args.join(' ')}:\n${result.stdout}${result.stderr}`);
    return JSON.parse(result.stdout) as RunJson;
  };

  // A module an earlier build emitted whose source is gone since: the release build must not ship it.
  const stale = ['schema/dist', 'recorder/dist', 'viewer/dist/server'].map((dir) => join(repoRoot, dir, 'left-by-an-earlier-build.js'));

  before(() => {
    for (const file of stale) write(file, 'export const stale = true;\n');
    env = packAndInstall();
    writeConversation(env.project);
    write(join(env.project, 'flows/acpx-style.flow.ts'), ACPX_FLOW);
    write(join(env.project, 'flows/plain.flow.mjs'), MJS_FLOW);
    write(join(env.project, 'record-a-run.mjs'), PROGRAM);
    write(join(env.project, 'require-it.cjs'), CJS_PROGRAM);
    write(join(env.project, 'consumer.ts'), CONSUMER);
    write(join(env.project, 'tsconfig.consumer.json'), CONSUMER_TSCONFIG);
  });
  after(() => {
    if (env) rmSync(env.root, { recursive: true, force: true });
    for (const file of stale) rmSync(file, { force: true });
  });

  test('the tarballs hold what this build made, not a module left in dist/ by an earlier build', () => {
    const installed = join(env.project, 'node_modules/@flowtape');
    assert.deepEqual(walkFiles(installed).filter((f) => f.endsWith('left-by-an-earlier-build.js')), []);
    assert.deepEqual(stale.filter((f) => existsSync(f)), [], 'the build removed them from dist/');
  });

  test('npm install prints no engine warning and no installed file imports TypeScript source', () => {
    assert.doesNotMatch(env.installLog, /EBADENGINE|Unsupported engine/i, env.installLog);
    const installed = join(env.project, 'node_modules/@flowtape');
    assert.deepEqual(readdirSync(installed).sort(), ['recorder', 'schema', 'viewer']);
    const sources = walkFiles(installed).filter((f) => /\.(c|m)?js$|\.d\.ts$/.test(f));
    assert.ok(sources.length > 20, `${sources.length} JavaScript files installed`);
    const tsImport = /(?:from\s*|import\s*\(\s*)['"][^'"]+\.(?:c|m)?tsx?['"]/;
    assert.deepEqual(sources.filter((f) => tsImport.test(readFileSync(f, 'utf8'))), []);
    assert.deepEqual(walkFiles(installed).filter((f) => /\.(c|m)?tsx?$/.test(f) && !f.endsWith('.d.ts')), [], 'no .ts source ships');
    assert.deepEqual(walkFiles(installed).filter((f) => /\/test\//.test(f)), [], 'no tests ship');
    const app = join(installed, 'viewer/dist/app/index.html');
    assert.match(readFileSync(app, 'utf8'), /<script type="module"/, 'the viewer app ships prebuilt');
  });

  test('the README\'s "Your first flow" commands, run as written, work in the project', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Your first flow'), readme.indexOf('\n## ', readme.indexOf('## Your first flow') + 5));
    const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    assert.ok(blocks.length >= 2, 'the section has its shell blocks');
    // `view` serves until Ctrl-C; it is checked in Chromium below.
    const script = blocks.join('\n').split('\n').filter((line) => !line.startsWith('npx flowtape view')).join('\n');
    const dir = join(env.project, 'first-flow');
    mkdirSync(dir);
    const result = run('bash', ['-euo', 'pipefail', '-c', script], dir);
    assert.equal(result.status, 0, `README commands failed:\n${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /valid flow "hello", types checked/);
    assert.match(result.stdout, /^completed\s+hello\s/m, 'flowtape ls shows the run');
    assert.match(result.stdout, /: valid \(completed, \d+ events, 1 session/);
    assert.match(result.stdout, /^no differences$/m, 'the new run diffs as the same as the golden');
  });

  test('the README\'s "Share a run as a static site" commands write a site that python3 -m http.server serves to Chromium', async () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const blocksOf = (heading: string): string[] => {
      const at = readme.indexOf(heading);
      const section = readme.slice(at, readme.indexOf('\n## ', at + 5));
      return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    };
    // The first block of "Your first flow" writes the flow and the agent's script (the rest is covered above).
    const first = blocksOf('## Your first flow')[0]!;
    const [share] = blocksOf('## Share a run as a static site');
    assert.ok(share?.includes('npx flowtape view --static'), 'the section has its shell block');
    // The server runs until stopped: started here, on a free port, under a sub-path (the project folder served).
    const script = [first, ...share!.split('\n').filter((line) => !line.startsWith('python3 -m http.server'))].join('\n');
    const dir = join(env.project, 'static-site');
    mkdirSync(dir);
    const result = run('bash', ['-euo', 'pipefail', '-c', script], dir);
    assert.equal(result.status, 0, `README commands failed:\n${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /site: static viewer site: run \S+ \(completed\)/);
    const server = spawn('python3', ['-u', '-m', 'http.server', '-d', dir, '--bind', '127.0.0.1', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const port = await new Promise<string>((done, fail) => {
        let out = '';
        server.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /port (\d+)/.exec(out);
          if (match) done(match[1]!);
        });
        server.on('exit', (code) => fail(new Error(`python3 -m http.server exited (${code}): ${out}`)));
      });
      const browser = await launchBrowser();
      try {
        const page = await browser.newPage();
        await page.goto(`http://127.0.0.1:${port}/site/`);
        await page.locator('[data-ready="true"]').first().waitFor({ timeout: 30_000 });
        const ids = await page.locator('.react-flow__node [data-testid^="node-"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
        assert.deepEqual(ids.sort(), ['apologise', 'greet', 'reply', 'thanks']);
        await page.getByTestId('node-reply').click();
        await page.getByTestId('attempt').getByText('Hello to you too!').first().waitFor();
      } finally {
        await browser.close();
      }
    } finally {
      server.kill('SIGINT');
    }
  });

  test('the README\'s "Replay in CI" commands, run as written after "Your first flow", work in the project', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const blocksOf = (heading: string): string[] => {
      const at = readme.indexOf(heading);
      const section = readme.slice(at, readme.indexOf('\n## ', at + 5));
      return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    };
    const first = blocksOf('## Your first flow').join('\n').split('\n').filter((line) => !line.startsWith('npx flowtape view')).join('\n');
    const replay = blocksOf('## Replay in CI');
    assert.ok(replay.length >= 2, 'the section has its shell blocks');
    const dir = join(env.project, 'replay-in-ci');
    mkdirSync(dir);
    // The agent's script is gone before the replays: every recorded turn must come from the recording.
    const script = [first, replay[0]!.replace('# in CI:', 'mv agent.json agent.json.away\n# in CI:'), 'mv agent.json.away agent.json', ...replay.slice(1)].join('\n');
    const result = run('bash', ['-euo', 'pipefail', '-c', script], dir);
    assert.equal(result.status, 0, `README commands failed:\n${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /^no differences$/m, 'the replay of the golden is the same');
    assert.match(result.stdout, /node thanks · attempt thanks#1\n {2}\+ \/output\/polite: only in b: true/);
    assert.match(result.stderr, /node "reply" attempt reply#1: replay miss: prompt not in the recording/);
    assert.match(result.stderr, /^\+Answer this greeting warmly: Hello, Ada!$/m);
    assert.match(result.stderr, /live turns \(--agent\): reply#1/);
    assert.equal(result.stdout.match(/^exit 1$/gm)?.length, 3, result.stdout);
  });

  test('npx flowtape runs a TypeScript flow importing @flowtape/recorder with the scripted agent; verify and diff pass', () => {
    const agent = ['--agent', 'flowtape-scripted-agent --script flows/agent.json', '--permission', 'approve-all', '--out', 'runs'];
    const first = runFlow(['flows/conversation.flow.ts', ...agent]);
    const second = runFlow(['flows/conversation.flow.ts', ...agent]);
    assert.equal(first.status, 'completed');
    const verify = flowtape(['verify', first.bundle]);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /valid \(completed, \d+ events, 1 session/);
    const diff = flowtape(['diff', first.bundle, second.bundle]);
    assert.equal(diff.status, 0, diff.stdout + diff.stderr);
    const summary = readFileSync(join(first.bundle, 'sessions/s1/record.json'), 'utf8');
    assert.match(summary, /ship on Friday/, 'the agent read notes.txt from the project');
  });

  test('an acpx-style flow (imports acpx/flows, acpx not installed) runs on flowtape\'s runtime', () => {
    const result = runFlow(['flows/acpx-style.flow.ts', '--out', 'runs']);
    assert.equal(result.status, 'completed');
    const trace = readFileSync(join(result.bundle, 'trace.ndjson'), 'utf8');
    assert.match(trace, /"extracted":\{"verdict":"ship"\}/);
    assert.match(trace, /"fenced":\{"a":1\}/);
    assert.equal(flowtape(['verify', result.bundle]).status, 0);
  });

  test('an .mjs flow runs, and diff tells it apart from another flow', () => {
    const plain = runFlow(['flows/plain.flow.mjs', '--input', '{"n": 4}', '--out', 'runs']);
    assert.equal(plain.status, 'completed');
    assert.match(readFileSync(join(plain.bundle, 'trace.ndjson'), 'utf8'), /"n":10/);
    const acpx = runFlow(['flows/acpx-style.flow.ts', '--out', 'runs']);
    assert.equal(flowtape(['diff', plain.bundle, acpx.bundle]).status, 1);
  });

  test('flowtape check validates and type-checks a flow with the project\'s TypeScript', () => {
    const ok = flowtape(['check', 'flows/conversation.flow.ts']);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /valid flow "conversation", types checked/);
    write(join(env.project, 'flows/broken.flow.ts'), MJS_FLOW.replace("startAt: 'count'", "startAt: 'count', runTimeoutMs: 'soon'"));
    const broken = flowtape(['check', 'flows/broken.flow.ts']);
    assert.equal(broken.status, 1, broken.stdout + broken.stderr);
    assert.match(broken.stdout, /broken\.flow\.ts:\d+:\d+: error TS2322/);
    assert.match(broken.stdout, /runTimeoutMs/);
  });

  test('a plain Node ES module program records a run through the library; CommonJS can require it', () => {
    const result = run('node', ['record-a-run.mjs'], env.project);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const out = JSON.parse(result.stdout) as { status: string; valid: boolean; bundleDir: string };
    assert.deepEqual([out.status, out.valid], ['completed', true]);
    assert.ok(out.bundleDir.startsWith(join(env.project, 'runs/program')), out.bundleDir);
    const cjs = run('node', ['require-it.cjs'], env.project);
    assert.equal(cjs.status, 0, cjs.stdout + cjs.stderr);
    assert.equal(cjs.stdout.trim(), 'function function');
  });

  test('tsc (NodeNext, strict, no skipLibCheck) type-checks a consumer against the installed declarations', () => {
    const result = run(join(env.project, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.consumer.json'], env.project);
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  test('the CLI by absolute path runs a flow in a bare directory, with a decoy runtime beside it never loaded', () => {
    const bare = join(env.root, 'bare');
    write(join(bare, 'hello.flow.ts'), BARE_FLOW);
    write(join(bare, 'node_modules/@flowtape/recorder/package.json'), JSON.stringify({ name: '@flowtape/recorder', main: 'index.js' }));
    write(join(bare, 'node_modules/@flowtape/recorder/index.js'), DECOY_INDEX);
    write(join(bare, 'hello.flow.mts'), BARE_FLOW);
    write(join(bare, 'hello-cjs.flow.js'), CJS_FLOW);
    const bin = join(env.project, 'node_modules/.bin/flowtape');
    for (const file of ['hello.flow.ts', 'hello.flow.mts', 'hello-cjs.flow.js']) {
      const result = run(bin, ['run', file, '--json', '-q'], bare);
      assert.equal(result.status, 0, `${file}: ${result.stdout}${result.stderr}`);
      const { bundle, status } = JSON.parse(result.stdout) as RunJson;
      assert.equal(status, 'completed', file);
      assert.ok(bundle.startsWith(join(bare, '.flowtape/runs')), bundle);
      assert.match(readFileSync(join(bundle, 'trace.ndjson'), 'utf8'), /hello bare directory/, file);
    }
  });

  test('flowtape view serves a bundle and Chromium shows its graph', async () => {
    const { bundle } = runFlow(['flows/plain.flow.mjs', '--out', 'runs']);
    const bin = join(env.project, 'node_modules/.bin/flowtape');
    const server = spawn(bin, ['view', bundle], { cwd: env.project, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let url = '';
    server.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((done) => server.on('exit', done));
    try {
      url = await new Promise<string>((done, fail) => {
        let out = '';
        server.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /^(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(out);
          if (match) done(match[1]!);
        });
        void exited.then((code) => fail(new Error(`flowtape view exited ${code}: ${stderr}`)));
      });
      const browser = await launchBrowser();
      try {
        const page = await browser.newPage();
        await page.goto(url);
        await page.locator('[data-ready="true"]').first().waitFor({ timeout: 30_000 });
        const ids = await page.locator('.react-flow__node [data-testid^="node-"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
        assert.deepEqual(ids.sort(), ['count', 'double']);
      } finally {
        await browser.close();
      }
    } finally {
      server.kill('SIGINT');
    }
    assert.equal(await exited, 0, `the server closes cleanly on Ctrl-C: ${stderr}`);
    await assert.rejects(fetch(url), 'nothing listens after Ctrl-C');
  });
});
