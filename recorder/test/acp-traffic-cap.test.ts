// The capped stderr splitter on its own (the flooding agents are in test/faults-floods.test.ts): whatever the chunk
// boundaries, it records exactly the stream's first `cap` bytes as lines, never splits a character, and counts the
// rest — the recorded bytes plus the omitted ones are always the whole stream.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CappedLines, utf8Prefix } from '../src/acp/traffic.ts';

/** Feeds `stream` in chunks of `size` bytes, then ends it; returns the recorded lines and the omitted counts. */
function feed(stream: Buffer, cap: number, size: number): { lines: string[]; bytes: number; count: number } {
  const capped = new CappedLines(cap);
  const lines: string[] = [];
  for (let at = 0; at < stream.length; at += size) lines.push(...capped.push(stream.subarray(at, at + size)));
  const last = capped.flush();
  if (last !== undefined) lines.push(last);
  return { lines, bytes: capped.omitted.bytes, count: capped.omitted.bytes === 0 ? 0 : capped.omitted.lines };
}

describe('CappedLines', () => {
  it('cuts the line crossing the cap at a character boundary, for every chunking', () => {
    const stream = Buffer.from('ab\n€€€\nlast line\n', 'utf8'); // '€' is 3 bytes
    for (let size = 1; size <= stream.length; size++) {
      // Cap 6: 'ab\n' (3) then 3 bytes of '€€€' fit: one whole '€'.
      assert.deepEqual(feed(stream, 6, size), { lines: ['ab', '€'], bytes: stream.length - 6, count: 2 }, `chunks of ${size}`);
      // Cap 7: the 7th byte starts the second '€': the cut moves back to 6 bytes.
      assert.deepEqual(feed(stream, 7, size), { lines: ['ab', '€'], bytes: stream.length - 6, count: 2 }, `chunks of ${size}`);
      // Cap 10: the 10th byte starts the third '€': two of them are recorded.
      assert.deepEqual(feed(stream, 10, size), { lines: ['ab', '€€'], bytes: stream.length - 9, count: 2 }, `chunks of ${size}`);
      // Cap 13: '€€€\n' ends exactly at the cap; the next line is all omitted.
      assert.deepEqual(feed(stream, 13, size), { lines: ['ab', '€€€'], bytes: stream.length - 13, count: 1 }, `chunks of ${size}`);
      // Under the cap: everything recorded, nothing counted.
      assert.deepEqual(feed(stream, 100, size), { lines: ['ab', '€€€', 'last line'], bytes: 0, count: 0 }, `chunks of ${size}`);
    }
  });

  it('after stop(), a partial line and everything later is counted, not recorded', () => {
    const capped = new CappedLines(1000);
    assert.deepEqual(capped.push(Buffer.from('one\ntw')), ['one']);
    capped.stop();
    assert.deepEqual(capped.push(Buffer.from('o\nthree\n')), []);
    assert.equal(capped.flush(), undefined);
    assert.equal(capped.omitted.bytes, 10);
    assert.equal(capped.omitted.lines, 2);
    assert.equal(capped.omitted.summary('stderr'), 'flowtape: 10 more bytes (2 lines) of stderr not recorded: written after the session closed');
  });

  it('utf8Prefix keeps whole characters only', () => {
    assert.equal(utf8Prefix('a€b', 1), 'a');
    assert.equal(utf8Prefix('a€b', 3), 'a');
    assert.equal(utf8Prefix('a€b', 4), 'a€');
    assert.equal(utf8Prefix('a€b', 5), 'a€b');
  });
});
