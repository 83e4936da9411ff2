// `flowtape replay` of a shell node whose command changed: the node fails with one line naming node and attempt, and
// the report shows a unified diff of the recorded command and the new one (an argument a line), as a prompt miss does.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { recordRun, writeFlow } from './recorded-run-support.ts';
import { runCli, tempDir } from './recorder-support.ts';

let dir: { path: string; remove(): Promise<void> };
let bundle: string;

function flow(file: string, args: string[]): void {
  writeFlow(dir.path, file, ['defineFlow', 'shell'], `{
  name: 'shell-miss',
  startAt: 'build',
  nodes: { build: shell({ exec: { command: 'node', args: ${JSON.stringify(args)} } }) },
  edges: [],
}`);
}

before(async () => {
  dir = await tempDir('flowtape-replay-shell-miss-');
  flow('build.flow.ts', ['-e', 'console.log(1)', '--', 'release', '--target', 'linux-x64', '--verbose']);
  bundle = await recordRun(dir.path, 'build.flow.ts');
});

after(async () => {
  await dir?.remove();
});

describe('flowtape replay: a changed shell command', () => {
  it('fails its node with one line and shows a diff of the two commands, argument by argument', async () => {
    flow('changed.flow.ts', ['-e', 'console.log(1)', '--', 'release', '--target', 'linux-arm64', '--verbose']);
    const result = await runCli(['replay', bundle, '--flow', 'changed.flow.ts', '-q'], { cwd: dir.path });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^flowtape: node "build" attempt build#1: replay miss: the command is now "node .*linux-arm64.*", the recording ran "node .*linux-x64.*"/m);
    assert.match(result.stderr, /^--- recorded build#1$/m);
    assert.match(result.stderr, /^-linux-x64$/m);
    assert.match(result.stderr, /^\+linux-arm64$/m);
    assert.match(result.stderr, /^ --verbose$/m, 'unchanged arguments are context');
    assert.doesNotMatch(result.stderr, /^\s+at /m);
    const json = await runCli(['replay', bundle, '--flow', 'changed.flow.ts', '-q', '--json'], { cwd: dir.path });
    const report = JSON.parse(json.stdout) as { misses: Array<{ nodeId: string; attemptId: string; diff: string }> };
    assert.deepEqual(report.misses.map((m) => [m.nodeId, m.attemptId]), [['build', 'build#1']]);
    assert.match(report.misses[0]!.diff, /^\+linux-arm64$/m);
  });
});
