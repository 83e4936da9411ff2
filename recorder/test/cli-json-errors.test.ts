// `--json` and a command that could not do its job (found from the outside: `verify --json`, `diff --json`,
// `run --json` printed nothing on stdout when they exited 2, so a script parsing stdout got no document).
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { runCli, tempDir } from './recorder-support.ts';

const sample = fileURLToPath(new URL('../../samples/conversation/bundle', import.meta.url));

test('--json: a command that fails with exit 2 still prints one JSON document, {"error": …}, and its line on stderr', async () => {
  const dir = await tempDir('flowtape-json-errors-');
  try {
    const cases: Array<[string[], RegExp]> = [
      [['run', 'nope.flow.ts', '--json'], /nope\.flow\.ts: no such flow file/],
      [['verify', 'missing-bundle', '--json'], /missing-bundle/],
      [['diff', sample, 'missing-bundle', '--json'], /missing-bundle/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args, { cwd: dir.path });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      const document = JSON.parse(result.stdout) as { error: { message: string; exitCode: number } };
      assert.match(document.error.message, message, args.join(' '));
      assert.equal(document.error.exitCode, 2);
      assert.ok(result.stderr.includes(document.error.message), `the same line on stderr: ${result.stderr}`);
    }
    // Without --json, stdout stays empty.
    const plain = await runCli(['run', 'nope.flow.ts'], { cwd: dir.path });
    assert.equal(plain.code, 2);
    assert.equal(plain.stdout, '');
  } finally {
    await dir.remove();
  }
});

test('--json as the value of another option is not a request for JSON', async () => {
  const dir = await tempDir('flowtape-json-value-');
  try {
    const result = await runCli(['run', 'nope.flow.ts', '--input', '--json'], { cwd: dir.path });
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, '');
  } finally {
    await dir.remove();
  }
});
