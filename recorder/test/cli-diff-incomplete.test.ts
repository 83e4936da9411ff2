// `flowtape diff` and the exit code of a comparison that could not read every line (found from the outside: a
// bundle `verify` rejects, its invalid line skipped with a warning, came out "no differences", exit 0, so a CI gate
// passed it).
import assert from 'node:assert/strict';
import { appendFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { runCli, tempDir } from './recorder-support.ts';

const sample = fileURLToPath(new URL('../../samples/conversation/bundle', import.meta.url));

test('diff: no difference but an unreadable line exits 2 with one line saying the comparison is incomplete', async () => {
  const dir = await tempDir('flowtape-diff-incomplete-');
  try {
    const whole = await runCli(['diff', sample, sample], { cwd: dir.path });
    assert.equal(whole.code, 0, whole.stderr);
    const damaged = join(dir.path, 'damaged');
    cpSync(sample, damaged, { recursive: true });
    appendFileSync(join(damaged, 'trace.ndjson'), '{"seq":999,"pad":"not an event"}\n');
    for (const args of [[], ['--json']]) {
      const result = await runCli(['diff', sample, damaged, ...args], { cwd: dir.path });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, /^flowtape: the comparison is incomplete: 1 problem\(s\) reading the bundles/m);
      assert.match(result.stdout, /trace\.ndjson:\d+/, 'the unreadable line is named in the report');
    }
    // A difference found stays a difference (1), damaged or not.
    const differs = await runCli(['diff', join(sample, '..', '..', 'checkpoint', 'bundle'), damaged], { cwd: dir.path });
    assert.equal(differs.code, 1, differs.stderr);
  } finally {
    await dir.remove();
  }
});
