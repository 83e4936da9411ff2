/**
 * Follows an NDJSON file that one writer appends to: each `read` returns the values of the complete lines added
 * since the last one (a line still being written waits for its newline). Damaged lines are skipped: an export
 * shows what could be read, like every reader of a bundle.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export class NdjsonTail {
  private offset = 0;
  private rest = '';
  /** A character cut by the end of a read stays for the next one. */
  private readonly decoder = new StringDecoder('utf8');

  constructor(readonly path: string) {}

  read(): unknown[] {
    if (!existsSync(this.path)) return [];
    const fd = openSync(this.path, 'r');
    let text: string;
    try {
      const size = fstatSync(fd).size;
      if (size <= this.offset) return [];
      const buffer = Buffer.alloc(size - this.offset);
      let read = 0;
      while (read < buffer.length) {
        const n = readSync(fd, buffer, read, buffer.length - read, this.offset + read);
        if (n === 0) break;
        read += n;
      }
      this.offset += read;
      text = this.rest + this.decoder.write(buffer.subarray(0, read));
    } finally {
      closeSync(fd);
    }
    const end = text.lastIndexOf('\n');
    this.rest = end === -1 ? text : text.slice(end + 1);
    if (end === -1) return [];
    const values: unknown[] = [];
    for (const line of text.slice(0, end).split('\n')) {
      if (line.trim() === '') continue;
      try {
        values.push(JSON.parse(line));
      } catch {
        // a damaged line
      }
    }
    return values;
  }
}
