/**
 * The trace writer's line encoding: `{"seq":<n>,` + an event's text after its `{` + a newline, encoded straight into
 * one reused buffer and written with one `write` per batch (trace-writer.ts).
 */
import { writeAllSync, writeTextSync } from './fsio.ts';

/** Bytes of `{"seq":` (every line starts with them). */
const SEQ_PREFIX = [0x7b, 0x22, 0x73, 0x65, 0x71, 0x22, 0x3a];
/** The encoding buffer grows up to this size; a batch larger than it is written in several writes. */
const MAX_LINES_BUFFER = 4 << 20;
let linesBuffer = Buffer.allocUnsafeSlow(1 << 18);
/** The UTF-8 of the last head and of each type part (event-json.ts: a few dozen types, a head per millisecond). */
let lastHead = '';
let lastHeadBytes = Buffer.alloc(0);
const typePartBytes = new Map<string, Buffer>();

/**
 * Encodes trace lines (`{"seq":<n>,` + the body after its `{` + newline) straight into one reused buffer, written
 * with one `write` per batch: no per-line strings (concatenation, slices) and no flattening of a batch-sized text.
 * The buffer is the module's: a batch is encoded and written synchronously, so writers never share it at once.
 */
export class LineEncoder {
  private pos = 0;
  private written = 0;

  constructor(private readonly fd: number) {}

  put(seq: number, body: string): void {
    if (!this.room(body.length)) {
      this.written += writeTextSync(this.fd, '{"seq":' + seq + ',' + body.slice(1) + '\n');
      return;
    }
    const buffer = linesBuffer;
    let pos = this.seqPrefix(seq);
    // The body's `{` is overwritten by the comma after the seq.
    const start = pos;
    pos += buffer.write(body, pos, 'utf8');
    buffer[start] = 0x2c;
    buffer[pos++] = 0x0a;
    this.pos = pos;
  }

  /**
   * The line of an event given in parts (`head` starts with the text's `{`). The head (one per millisecond) and the
   * type part (one per type) are encoded once and copied (a copy costs a third of encoding a short string); the ids
   * and the payload are encoded where they go.
   */
  putInParts(seq: number, head: string, ids: string, typePart: string, payload: string): void {
    if (!this.room(head.length + ids.length + typePart.length + payload.length + 1)) {
      this.put(seq, head + ids + typePart + payload + '}');
      return;
    }
    if (head !== lastHead) {
      lastHeadBytes = Buffer.from(head, 'utf8');
      lastHead = head;
    }
    let typeBytes = typePartBytes.get(typePart);
    if (typeBytes === undefined) typePartBytes.set(typePart, (typeBytes = Buffer.from(typePart, 'utf8')));
    const buffer = linesBuffer;
    let pos = this.seqPrefix(seq);
    buffer.set(lastHeadBytes, pos);
    buffer[pos] = 0x2c;
    pos += lastHeadBytes.byteLength;
    if (ids.length > 0) pos += buffer.write(ids, pos, 'utf8');
    buffer.set(typeBytes, pos);
    pos += typeBytes.byteLength;
    pos += buffer.write(payload, pos, 'utf8');
    buffer[pos++] = 0x7d;
    buffer[pos++] = 0x0a;
    this.pos = pos;
  }

  /**
   * Makes room in the buffer for a line whose text has `chars` UTF-16 units; false when it is larger than the buffer
   * may grow (written on its own). The prefix and seq take at most 7 + 16 bytes, a unit at most 3, the newline 1.
   */
  private room(chars: number): boolean {
    const needed = 24 + chars * 3;
    if (this.pos + needed <= linesBuffer.byteLength) return true;
    this.flush();
    if (needed <= linesBuffer.byteLength) return true;
    if (needed > MAX_LINES_BUFFER) return false;
    linesBuffer = Buffer.allocUnsafeSlow(Math.min(MAX_LINES_BUFFER, Math.max(needed, linesBuffer.byteLength * 2)));
    return true;
  }

  /** Encodes `{"seq":<seq>` at the current position and returns the position after it. */
  private seqPrefix(seq: number): number {
    const buffer = linesBuffer;
    let pos = this.pos;
    for (let i = 0; i < 7; i++) buffer[pos + i] = SEQ_PREFIX[i]!;
    pos += 7;
    // The seq's digits, without making a string of them.
    let digits = 1;
    for (let rest = seq; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    for (let k = digits - 1, rest = seq; k >= 0; k--, rest = Math.floor(rest / 10)) buffer[pos + k] = 0x30 + (rest % 10);
    return pos + digits;
  }

  /** Writes what is encoded and returns the batch's byte count. */
  end(): number {
    this.flush();
    return this.written;
  }

  private flush(): void {
    if (this.pos === 0) return;
    writeAllSync(this.fd, linesBuffer.subarray(0, this.pos));
    this.written += this.pos;
    this.pos = 0;
  }
}
