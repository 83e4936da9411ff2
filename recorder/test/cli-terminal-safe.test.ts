// Hostile text from agents, flows and bundles never reaches the terminal raw: the real `flowtape` bin, spawned on
// a flow whose node throws an error full of escape sequences and on bundles carrying them, prints them escaped
// (`\x1b`, `\x07`, `\x9b`, `\u202e`), keeps its own newlines, and writes `--json` documents exactly as
// JSON.stringify makes them.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BundleBuilder } from '../../test/fixtures/bundle-builder.ts';
import { REVIEW_FLOW, writeReviewRun } from '../../test/fixtures/scenarios.ts';
import { terminalSafe } from '@flowtape/schema';
import { recorderEntry, runCli, tempDir } from './recorder-support.ts';

/** Sets the window title, clears the screen, prints a green verdict; then a one-byte CSI (C1) and a right-to-left override. */
const HOSTILE = '\x1b]0;pwned\x07\x1b[2J\x1b[32mAll checks passed\u009b31m\u202egnp.exe';
/** The same, as flowtape shows it. */
const SHOWN = '\\x1b]0;pwned\\x07\\x1b[2J\\x1b[32mAll checks passed\\x9b31m\\u202egnp.exe';
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

function assertTerminalSafe(text: string, where: string): void {
  const raw = RAW_CONTROL.exec(text);
  assert.equal(raw, null, `${where}: raw U+${raw?.[0]?.charCodeAt(0).toString(16).padStart(4, '0')} in ${JSON.stringify(text)}`);
}

/**
 * `--json`: the document JSON.stringify makes of what was printed, byte for byte, which escapes every C0 control
 * (ESC as \u001b). (It leaves C1 and bidi characters as they are: a JSON consumer reads them as data.)
 */
function assertExactJson(stdout: string, indent?: number): unknown {
  const value = JSON.parse(stdout) as unknown;
  assert.equal(stdout, `${JSON.stringify(value, null, indent)}\n`);
  const raw = /[\u0000-\u0009\u000b-\u001f]/.exec(stdout);
  assert.equal(raw, null, `raw U+${raw?.[0]?.charCodeAt(0).toString(16).padStart(4, '0')} in the JSON document`);
  return value;
}

const hostileFlow = `import { compute, defineFlow } from ${JSON.stringify(recorderEntry)};
export default defineFlow({
  name: 'hostile',
  startAt: 'a',
  nodes: { a: compute({ run: () => { throw new Error(${JSON.stringify(HOSTILE)}); } }) },
  edges: [],
});
`;

describe('terminal-safe output', () => {
  it('terminalSafe escapes C0 (but newline and tab), DEL, C1 and bidi controls visibly, and only those', () => {
    assert.equal(terminalSafe(HOSTILE), SHOWN);
    assert.equal(terminalSafe('a\rb\u0000c\u007fd\u0085e\u2066f\u2069g\u202ah'), 'a\\x0db\\x00c\\x7fd\\x85e\\u2066f\\u2069g\\u202ah');
    const plain = 'line 1\n\tline 2 — é ü 中 😀 \u00a0 \u200d\n';
    assert.equal(terminalSafe(plain), plain);
    assert.equal(terminalSafe(terminalSafe(HOSTILE)), SHOWN, 'applying it twice changes nothing');
  });

  it('run: an error message with escape sequences is shown escaped in the progress and verdict lines', async () => {
    const dir = await tempDir('flowtape-term-');
    try {
      writeFileSync(join(dir.path, 'hostile.flow.ts'), hostileFlow);
      const result = await runCli(['run', 'hostile.flow.ts'], { cwd: dir.path });
      assert.equal(result.code, 1, result.stderr);
      assertTerminalSafe(result.stdout, 'stdout');
      assertTerminalSafe(result.stderr, 'stderr');
      const lines = result.stderr.split('\n');
      assert.equal(lines[0], 'flowtape: running hostile');
      assert.ok(lines.some((l) => /^ {2}✗ a#1 failed in \d+ ms: /.test(l) && l.endsWith(SHOWN)), result.stderr);
      assert.match(result.stderr, /^flowtape: run failed in \d+ ms: .*\\x1b\]0;pwned\\x07/m);

      const json = await runCli(['run', 'hostile.flow.ts', '--json'], { cwd: dir.path });
      assert.equal(json.code, 1, json.stderr);
      assertTerminalSafe(json.stderr, 'stderr --json');
      const printed = assertExactJson(json.stdout) as { status: string; error: { message: string } };
      assert.equal(printed.status, 'failed');
      assert.ok(printed.error.message.includes('\x1b[2J'), 'the JSON document carries the message itself');
    } finally {
      await dir.remove();
    }
  });

  it('verify: a trace line with raw escape bytes is quoted escaped; --json stays exact JSON', async () => {
    const dir = await tempDir('flowtape-term-');
    try {
      const bundle = join(dir.path, 'bundle');
      writeReviewRun(bundle);
      const trace = join(bundle, 'trace.ndjson');
      const lines = readFileSync(trace, 'utf8').split('\n');
      // A bad line in the middle: not JSON, starting with raw ESC bytes (JSON.parse quotes them in its error).
      writeFileSync(trace, [...lines.slice(0, 3), HOSTILE, ...lines.slice(3)].join('\n'));
      // And an event type from "a newer format" whose name carries them (verify lists unknown types in a note).
      appendFileSync(trace, JSON.stringify({ seq: 999, at: '2026-01-15T09:00:09.000Z', runId: 'run-review-1', scope: 'x', type: `x.${HOSTILE}`, payload: {} }) + '\n');
      const result = await runCli(['verify', bundle], { cwd: dir.path });
      assert.equal(result.code, 1, result.stderr);
      assertTerminalSafe(result.stdout, 'stdout');
      assertTerminalSafe(result.stderr, 'stderr');
      assert.match(result.stdout, /^trace\.ndjson:4: not valid JSON \(.*\\x1b.*\)$/m);
      assert.ok(result.stdout.includes(`x.${SHOWN}`), result.stdout);
      assert.match(result.stdout, /: invalid: \d+ problems \(/);

      const json = await runCli(['verify', bundle, '--json'], { cwd: dir.path });
      assert.equal(json.code, 1);
      const report = assertExactJson(json.stdout, 2) as { notes: string[] };
      assert.ok(report.notes.some((n) => n.includes(`x.${HOSTILE}`)), 'the JSON report carries the text itself');
    } finally {
      await dir.remove();
    }
  });

  it('diff: text and Markdown show values with escape sequences escaped; --json stays exact JSON', async () => {
    const dir = await tempDir('flowtape-term-');
    try {
      const write = (name: string, note: string) => {
        const w = new BundleBuilder(join(dir.path, name), REVIEW_FLOW, { runId: `run-${name}` });
        w.runStarted({ task: 'x' });
        w.node('plan', { output: { note }, turn: { sessionId: 'main-1', handle: 'main', prompt: 'plan', chunks: [note] } });
        w.runCompleted();
        w.finish();
      };
      write('a', 'calm');
      write('b', HOSTILE);
      for (const format of [[], ['--markdown']]) {
        const result = await runCli(['diff', 'a', 'b', ...format], { cwd: dir.path });
        assert.equal(result.code, 1, result.stderr);
        assertTerminalSafe(result.stdout, `stdout ${format.join(' ')}`);
        assertTerminalSafe(result.stderr, `stderr ${format.join(' ')}`);
        assert.ok(result.stdout.includes('All checks passed'), result.stdout);
        assert.ok(result.stdout.includes('\\x1b[2J') || result.stdout.includes('\\u001b[2J'), result.stdout);
        assert.ok(result.stdout.includes('\\u202e'), result.stdout);
        assert.ok(result.stdout.split('\n').length > 5, 'its own lines stay lines');
      }
      const json = await runCli(['diff', 'a', 'b', '--json'], { cwd: dir.path });
      assert.equal(json.code, 1);
      assertExactJson(json.stdout, 2);
    } finally {
      await dir.remove();
    }
  });
});
