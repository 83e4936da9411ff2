// A trace read as text a run of whole lines at a time: what the streamed parser consumes (model/trace-reader.ts),
// whether the bytes were decoded on the main thread or in the trace worker (trace-text.worker.ts). Bytes are cut at
// the last newline of what has arrived, so a chunk's text never ends inside a line or inside a UTF-8 sequence (a
// newline byte is never part of a multi-byte one), and each chunk says how many bytes it covers: the offset a live
// bundle is tailed from is counted in bytes.

export interface TextChunk {
  /** Whole lines, each ending in '\n'; or, when `last`, the unterminated text after the final newline. */
  text: string;
  /** The bytes `text` was decoded from. */
  bytes: number;
  last?: boolean;
}

/** Text chunks in order; read() resolves undefined at the end. */
export interface TextSource {
  read(): Promise<TextChunk | undefined>;
  cancel(): void;
}

/** Turns byte chunks into text chunks of whole lines (and, at the end, the unterminated rest). */
export class LineCutter {
  private readonly decoder = new TextDecoder('utf-8');
  private carry: Uint8Array[] = [];
  private carried = 0;

  /** The whole lines completed by `bytes`, or undefined when it holds no newline. */
  push(bytes: Uint8Array): TextChunk | undefined {
    const cut = bytes.lastIndexOf(10);
    if (cut === -1) {
      if (bytes.length > 0) {
        this.carry.push(bytes);
        this.carried += bytes.length;
      }
      return undefined;
    }
    let text = '';
    for (const c of this.carry) text += this.decoder.decode(c, { stream: true });
    text += this.decoder.decode(bytes.subarray(0, cut + 1));
    const chunk = { text, bytes: this.carried + cut + 1 };
    this.carry = cut + 1 < bytes.length ? [bytes.subarray(cut + 1)] : [];
    this.carried = bytes.length - cut - 1;
    return chunk;
  }

  /** The text after the last newline, when there is any. */
  end(): TextChunk | undefined {
    if (this.carried === 0) return undefined;
    let text = '';
    for (const c of this.carry) text += this.decoder.decode(c, { stream: true });
    text += this.decoder.decode();
    const chunk = { text, bytes: this.carried, last: true };
    this.carry = [];
    this.carried = 0;
    return chunk;
  }
}

/** A byte stream as text chunks, decoded on the calling thread. */
export function textSourceOf(stream: ReadableStream<Uint8Array>): TextSource {
  const reader = stream.getReader();
  const cutter = new LineCutter();
  let ended = false;
  return {
    async read() {
      while (!ended) {
        const { done, value } = await reader.read();
        if (done) {
          ended = true;
          reader.releaseLock();
          return cutter.end();
        }
        const chunk = cutter.push(value);
        if (chunk) return chunk;
      }
      return undefined;
    },
    cancel() {
      ended = true;
      void reader.cancel().catch(() => {});
    },
  };
}
