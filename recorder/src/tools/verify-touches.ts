/**
 * The first pass of verify's steps check (verify-steps.ts): the seq of the last trace event of every attempt.
 *
 * readLines + touchOf per line cost an async step, a line string and a regex match on it per event: a tenth of
 * verify's time. Here each chunk of the trace is decoded once and the writer's prefix is matched where each line starts
 * in it (a sticky copy of touchOf's pattern that cannot cross a newline), with no string per line. A line that has
 * not the prefix, or has another `"seq"` or `"attemptId"` after it, is cut out as readLines gives it and handed to
 * touchOf: the result is touchOf's, line for line (recorder/test/tools-verify-touch-reader.test.ts compares the two).
 */
import { createReadStream } from 'node:fs';
import { MAX_LINE_BYTES } from '@flowtape/schema';
import { LastTouch, WRITER_PREFIX, touchOf } from './verify-steps.ts';

/** touchOf's prefix, matched at a given index of a chunk; `[^"\\]` may not take a newline (a line has none). */
const PREFIX_AT = new RegExp(WRITER_PREFIX.source.slice(1).replaceAll('[^"\\\\]', '[^"\\\\\\n]'), 'y');

/** Reads `file` and records, per attempt, the seq of the last line that touches it, as touchOf reads each line. */
export async function readLastTouches(file: string): Promise<LastTouch> {
  const touches = new LastTouch();
  const reader = new TouchReader(touches);
  for await (const chunk of createReadStream(file, { highWaterMark: 64 * 1024 })) reader.add((chunk as Buffer).toString('latin1'));
  reader.end();
  return touches;
}

/**
 * The same over the trace's bytes as latin1 text (one character per byte: a copy, where decoding UTF-8 was most of
 * the pass), in pieces cut anywhere (tests cut them everywhere). The prefix is ASCII and `[^"\\]` takes the bytes
 * of any other character, so it matches here as on the decoded line; what touchOf or an attempt id needs as text
 * is decoded as readLines decodes it.
 */
export class TouchReader {
  /** The start of a line whose newline has not come yet, in pieces (joined once: a long line is not scanned again). */
  private carry: string[] = [];
  private carryUnits = 0;
  /** That line is longer than MAX_LINE_BYTES: readLines gives no text for it, so it is dropped up to its newline. */
  private tooLong = false;
  private lineNumber = 0;
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  /** Where the next `"seq"` / `"attemptId"` is in the text being read (each searched for once per occurrence). */
  private seqAt = -1;
  private attemptAt = -1;

  constructor(private readonly touches: LastTouch) {}

  add(text: string): void {
    const first = text.indexOf('\n');
    if (first === -1) {
      this.hold(text);
      return;
    }
    if (this.tooLong) {
      this.tooLong = false;
      this.lineNumber++;
    } else if (this.carry.length > 0) {
      this.hold(text.slice(0, first));
      const line = this.carry.join('');
      this.carry = [];
      this.carryUnits = 0;
      if (this.tooLong) this.lineNumber++;
      else this.whole(line, true);
      this.tooLong = false;
    } else {
      this.seqAt = this.attemptAt = -1;
      this.line(text, 0, first, true);
    }
    let start = first + 1;
    this.seqAt = this.attemptAt = -1;
    for (let end = text.indexOf('\n', start); end !== -1; end = text.indexOf('\n', start)) {
      this.line(text, start, end, true);
      start = end + 1;
    }
    if (start < text.length) this.hold(text.slice(start));
  }

  end(): void {
    if (!this.tooLong && this.carry.length > 0) this.whole(this.carry.join(''), false);
    this.carry = [];
    this.carryUnits = 0;
    this.tooLong = false;
  }

  /** Part of a line whose newline is still to come. */
  private hold(part: string): void {
    if (this.tooLong || part === '') return;
    this.carryUnits += part.length;
    // Over the limit: dropped instead of held.
    if (this.carryUnits > MAX_LINE_BYTES) {
      this.tooLong = true;
      this.carry = [];
      this.carryUnits = 0;
    } else this.carry.push(part);
  }

  /** Latin1 text of UTF-8 bytes, decoded (ASCII, an attempt id as the writer makes them, is the same text). */
  private utf8(latin1: string): string {
    for (let i = 0; i < latin1.length; i++) if (latin1.charCodeAt(i) >= 0x80) return this.decoder.decode(Buffer.from(latin1, 'latin1'));
    return latin1;
  }

  private whole(line: string, terminated: boolean): void {
    this.seqAt = this.attemptAt = -1;
    this.line(line, 0, line.length, terminated);
  }

  private line(text: string, start: number, end: number, terminated: boolean): void {
    this.lineNumber++;
    if (end - start > MAX_LINE_BYTES) return; // as readLines: no text for it
    if (this.lineNumber === 1 && text.startsWith(BOM, start)) start += BOM.length;
    PREFIX_AT.lastIndex = start;
    const match = PREFIX_AT.exec(text);
    if (match !== null) {
      const rest = PREFIX_AT.lastIndex;
      if (this.seqAt < rest) this.seqAt = indexOrEnd(text, '"seq"', rest);
      if (this.attemptAt < rest) this.attemptAt = indexOrEnd(text, '"attemptId"', rest);
      if (this.seqAt >= end && this.attemptAt >= end) {
        if (match[2] !== undefined) this.touches.set(this.utf8(match[2]), Number(match[1]));
        return;
      }
    }
    let stop = end;
    if (terminated && stop > start && text.charCodeAt(stop - 1) === 13) stop--;
    const touch = touchOf(this.decoder.decode(Buffer.from(text.slice(start, stop), 'latin1')));
    if (touch) this.touches.set(touch.attemptId, touch.seq);
  }
}

/** The UTF-8 bytes of U+FEFF, as latin1 text. */
const BOM = '\xef\xbb\xbf';

/** Where `needle` is at or after `from`, or the length of `text`. */
function indexOrEnd(text: string, needle: string, from: number): number {
  const at = text.indexOf(needle, from);
  return at === -1 ? text.length : at;
}
