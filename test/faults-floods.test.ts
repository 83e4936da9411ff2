// Agents that flood their output: a real agent process writes tens of MB to stderr, or a line that is not JSON
// to stdout and then keeps writing. The session's events.ndjson keeps at most the documented cap of each
// (AGENT_OUTPUT_CAP_BYTES of stderr, and of stdout that is not JSON), the rest is counted in one summary line per
// stream at the end of the session, nothing the agent wrote after the session closed is recorded, and the bundle
// passes verify.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { acp, AGENT_OUTPUT_CAP_BYTES, defineFlow, record, verifyBundle } from '@flowtape/recorder';
import { processesMentioning, readLines, tempDir, traceOf } from '../recorder/test/recorder-support.ts';

const floodAgent = fileURLToPath(new URL('../recorder/test/fixtures/flood-agent.mjs', import.meta.url));
const cap = AGENT_OUTPUT_CAP_BYTES;

interface Line {
  seq: number;
  direction: string;
  text?: string;
  message?: unknown;
  omitted?: { bytes: number; lines: number };
}

const flow = defineFlow({ name: 'flood', startAt: 'ask', nodes: { ask: acp({ prompt: 'Go' }) }, edges: [] });

/** Records one run against the flood agent with `steps`; checks the bundle passes verify and no process is left. */
async function runFlood(dir: string, steps: unknown[]) {
  const bundleDir = join(dir, 'bundle');
  const result = await record(flow, {}, { cwd: dir, bundleDir, agentCommand: [process.execPath, floodAgent, JSON.stringify(steps), dir] });
  const report = await verifyBundle(bundleDir);
  assert.deepEqual(report.problems.map((p) => p.message), [], 'the bundle passes verify');
  assert.deepEqual(processesMentioning(dir), [], 'no agent process is left');
  const events = join(bundleDir, 'sessions/s1/events.ndjson');
  return { result, bundleDir, events, size: statSync(events).size, lines: readLines<Line>(events) };
}

/** The summary lines (flowtape's, not the agent's): they carry `omitted`. */
function summaries(lines: Line[]): Line[] {
  return lines.filter((l) => l.omitted !== undefined);
}

describe('faults: agents that flood their output', () => {
  it('20 MB of stderr, then a normal answer: the first 1 MiB recorded, the rest counted in one summary', async (t) => {
    const dir = await tempDir('flowtape-flood-');
    try {
      const lineBytes = 1001; // 1000 × 'x' and '\n'
      const total = 20_000 * lineBytes;
      const { result, size, lines } = await runFlood(dir.path, [{ flood: 2, bytes: total, line: lineBytes }, { answer: 'done' }]);
      t.diagnostic(`events.ndjson: ${size} bytes for ${total} bytes of stderr`);
      assert.equal(cap, 1024 * 1024, 'the documented cap');
      assert.equal(result.status, 'completed', JSON.stringify(result.error));
      assert.equal(result.output, 'done');

      // Whole lines up to the cap, then the part of the line that crosses it; nothing else of the agent's stderr.
      const stderr = lines.filter((l) => l.direction === 'stderr' && l.omitted === undefined).map((l) => l.text!);
      const whole = Math.floor(cap / lineBytes);
      const cut = cap - whole * lineBytes;
      assert.equal(stderr.length, whole + 1);
      assert.ok(stderr.slice(0, whole).every((text) => text === 'x'.repeat(1000)));
      assert.equal(stderr[whole], 'x'.repeat(cut));

      // The rest of the stream, counted exactly: its bytes (newlines included) and its lines (the cut one included).
      const [summary, ...more] = summaries(lines);
      assert.equal(more.length, 0, 'one summary: stdout was all JSON');
      assert.equal(summary?.direction, 'stderr');
      assert.deepEqual(summary.omitted, { bytes: total - cap, lines: 20_000 - whole });
      assert.match(summary.text!, /^flowtape: 18971424 more bytes \(18953 lines\) of stderr not recorded: over the 1048576-byte cap/);
      assert.equal(lines.at(-1), summary, 'the summary is the last line of the session');
      assert.ok(size < cap + 256 * 1024, `events.ndjson is ${size} bytes: the cap plus the JSON-RPC traffic`);
    } finally {
      await dir.remove();
    }
  });

  it('a line that is not JSON, then 10 MB on stdout and 10 MB on stderr: the node fails, nothing after that line is recorded', async () => {
    const dir = await tempDir('flowtape-flood-');
    try {
      const megs = 10_000_000;
      const { result, bundleDir, size, lines } = await runFlood(dir.path, [
        { stdout: 'this is not json' },
        { flood: 1, bytes: megs, line: 1000 },
        { flood: 2, bytes: megs, line: 1000 },
        { hang: true },
      ]);
      assert.equal(result.status, 'failed');
      assert.equal(result.error?.code, 'protocol_error', result.error?.message);
      const turn = traceOf(bundleDir).find((e) => e.type === 'acp.turn_finished')!;
      assert.equal(turn.payload.error.code, 'protocol_error');

      // The bad line is the agent's last recorded line: after it come only flowtape's summaries.
      const bad = lines.findIndex((l) => l.direction === 'incoming' && l.text === 'this is not json');
      assert.ok(bad >= 0, 'the line that is not JSON is recorded');
      const after = lines.slice(bad + 1).filter((l) => l.omitted === undefined);
      assert.equal(after.length, 0, `nothing from the agent after the session closed, found ${after.length} lines from seq ${after[0]?.seq}`);
      assert.equal(summaries(lines).length, 2, 'one summary for stdout, one for stderr');
      assert.ok(turn.payload.sessionEvents.to >= lines[bad]!.seq, 'the failed turn covers the bad line');
      const byDirection = Object.fromEntries(summaries(lines).map((l) => [l.direction, l.omitted]));
      // Everything written after the bad line was read and counted, none of it recorded.
      assert.deepEqual(byDirection, { incoming: { bytes: megs, lines: megs / 1000 }, stderr: { bytes: megs, lines: megs / 1000 } });
      assert.ok(size < 64 * 1024, `events.ndjson is ${size} bytes`);
    } finally {
      await dir.remove();
    }
  });

  it('an answer, then stderr without end (stdin closing ignored): the run ends, the agent is stopped, the file stays bounded', async () => {
    const dir = await tempDir('flowtape-flood-');
    try {
      const started = Date.now();
      const { result, size, lines } = await runFlood(dir.path, [{ answer: 'done' }, { flood: 2, bytes: 'forever', line: 1000 }]);
      assert.equal(result.status, 'completed', JSON.stringify(result.error));
      assert.ok(Date.now() - started < 30_000, 'close() stopped the agent');
      const [summary, ...more] = summaries(lines);
      assert.equal(more.length, 0);
      assert.equal(lines.at(-1), summary, 'the summary is the last line: nothing after the session closed');
      assert.ok(summary!.omitted!.bytes > 0);
      const recorded = lines.filter((l) => l.direction === 'stderr' && l.omitted === undefined);
      // Exactly the cap: whole 1000-byte lines with their newlines, then the cut one (no newline of its own).
      assert.equal(recorded.length, Math.floor(cap / 1000) + 1);
      assert.equal(recorded.at(-1)!.text!.length, cap % 1000);
      assert.ok(size < cap + 256 * 1024, `events.ndjson is ${size} bytes`);
    } finally {
      await dir.remove();
    }
  });

  it('one 100 MB stderr line without a newline: its first 1 MiB recorded, the rest counted as one line', async () => {
    const dir = await tempDir('flowtape-flood-');
    try {
      const total = 100 * 1024 * 1024;
      const { result, size, lines } = await runFlood(dir.path, [{ flood: 2, bytes: total, line: 0 }, { answer: 'done' }]);
      assert.equal(result.status, 'completed', JSON.stringify(result.error));
      const stderr = lines.filter((l) => l.direction === 'stderr');
      assert.equal(stderr.length, 2);
      assert.equal(stderr[0]!.text, 'x'.repeat(cap));
      assert.deepEqual(stderr[1]!.omitted, { bytes: total - cap, lines: 1 });
      assert.ok(size < cap + 256 * 1024, `events.ndjson is ${size} bytes`);
    } finally {
      await dir.remove();
    }
  });
});
