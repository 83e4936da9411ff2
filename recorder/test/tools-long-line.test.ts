// Lines longer than the reader's limit (MAX_LINE_BYTES, 64 MiB): every tool that reads a bundle — verify, diff,
// repair — reports such a line once, naming file, line and length, and reads the lines around it; repair leaves an
// unterminated last line of that size in place instead of reading it whole. (Reading is linear: schema/test/ndjson.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { appendFile, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyBundle } from '../src/tools/verify.ts';
import { diffBundles } from '../src/tools/diff.ts';
import { repairBundle } from '../src/tools/repair.ts';
import { writeReviewRun } from '../../test/fixtures/scenarios.ts';

const EVENTS = 'sessions/main-1/events.ndjson';
/** The documented limit (SPEC.md, "Reading a bundle"; MAX_LINE_BYTES in @flowtape/schema). */
const LIMIT = 64 * 1024 * 1024;
const HUGE = LIMIT + 100;
const TOO_LONG = `${EVENTS}:3: line too long (${HUGE} bytes; the limit is 64 MiB): not read`;

let root = '';
let bundle = '';

/** Writes `bytes` bytes of one JSON string (`"aaa…"`) without holding them as a string. */
async function writeHugeValue(file: string, bytes: number, flags: 'a' | 'w'): Promise<void> {
  const out = createWriteStream(file, { flags });
  const block = Buffer.alloc(1024 * 1024, 'a');
  out.write('"');
  let left = bytes - 2;
  while (left > 0) {
    const part = left >= block.length ? block : block.subarray(0, left);
    left -= part.length;
    if (!out.write(part)) await once(out, 'drain');
  }
  out.end('"');
  await once(out, 'finish');
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowtape-long-line-'));
  bundle = join(root, 'bundle');
  writeReviewRun(bundle);
  // A 64 MiB + 100 byte line between session lines 2 and 3.
  const file = join(bundle, EVENTS);
  const lines = (await readFile(file, 'utf8')).split('\n');
  const rewritten = join(root, 'events.tmp');
  await appendFile(rewritten, lines.slice(0, 2).join('\n') + '\n');
  await writeHugeValue(rewritten, HUGE, 'a');
  await appendFile(rewritten, '\n' + lines.slice(2).join('\n'));
  await rename(rewritten, file);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('verify reports a line over the limit once, with file, line and length', async () => {
  const report = await verifyBundle(bundle);
  const long = report.problems.filter((p) => p.message.includes('line too long'));
  assert.deepEqual(long, [{ file: EVENTS, line: 3, message: TOO_LONG }]);
  // The lines after it were read: the session's events stay contiguous.
  assert.ok(!report.problems.some((p) => /seq \d+ where/.test(p.message)), JSON.stringify(report.problems));
});

test('diff warns about it and still compares the sessions', async () => {
  const result = await diffBundles(bundle, bundle);
  assert.equal(result.same, true);
  // Both sides are read at once: their warnings come in either order.
  assert.deepEqual([...result.warnings].sort(), [`a: ${TOO_LONG}`, `b: ${TOO_LONG}`]);
});

test('repair warns about it, and leaves an unterminated last line over the limit in place', async () => {
  const trace = join(bundle, 'trace.ndjson');
  const before = (await stat(trace)).size;
  await writeHugeValue(trace, HUGE, 'a');
  const report = await repairBundle(bundle, { force: true });
  assert.deepEqual(report.tornLines, []);
  assert.ok(report.warnings.includes(TOO_LONG), report.warnings.join('\n'));
  assert.ok(
    report.warnings.includes(`trace.ndjson: the last line has no newline and is ${HUGE} bytes, over the 64 MiB line limit; left in place`),
    report.warnings.join('\n'),
  );
  assert.equal((await stat(trace)).size, before + HUGE);
});
