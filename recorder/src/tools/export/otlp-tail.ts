/**
 * Follows an NDJSON file that one writer appends to: each `read` returns the values of the complete lines added
 * since the last one (a line still being written waits for its newline). Damaged lines are skipped: an export
 * shows what could be read, like every reader of a bundle.
 *
 * Reads in large slices into one reused buffer and parses each line where it lies in the decoded text, so a long
 * run costs one string per slice, not a copy per line.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/** Bytes read at a time. */
const SLICE = 1 << 20;

export class NdjsonTail {
  private offset = 0;
  private rest = '';
  /** A character cut by the end of a slice stays for the next one. */
  private readonly decoder = new StringDecoder('utf8');
  private buffer: Buffer | undefined;

  constructor(readonly path: string) {}

  read(): unknown[] {
    if (!existsSync(this.path)) return [];
    const values: unknown[] = [];
    const fd = openSync(this.path, 'r');
    try {
      const size = fstatSync(fd).size;
      const buffer = (this.buffer ??= Buffer.allocUnsafe(SLICE));
      while (this.offset < size) {
        const n = readSync(fd, buffer, 0, Math.min(buffer.length, size - this.offset), this.offset);
        if (n === 0) break;
        this.offset += n;
        this.parse(this.rest + this.decoder.write(buffer.subarray(0, n)), values);
      }
    } finally {
      closeSync(fd);
    }
    return values;
  }

  /** Parses the complete lines of `text`; what follows the last newline waits for the next slice. */
  private parse(text: string, values: unknown[]): void {
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      if (end > start) {
        try {
          values.push(JSON.parse(text.slice(start, end)));
        } catch {
          // a damaged (or blank) line
        }
      }
      start = end + 1;
    }
    this.rest = start === 0 ? text : text.slice(start);
  }
}
