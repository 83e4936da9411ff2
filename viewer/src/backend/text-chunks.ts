// A trace read as text a run of whole lines at a time: what the streamed parser consumes (model/trace-reader.ts),
// whether the bytes were read on the main thread or by the trace worker (trace-text.worker.ts, which cuts the runs
// and transfers their bytes; the page decodes them). Bytes are cut at the last newline of what has arrived, so a
// chunk's text never ends inside a line or inside a UTF-8 sequence (a newline byte is never part of a multi-byte one),
// and each chunk says how many bytes it covers: the offset a live bundle is tailed from is counted in bytes.

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
  /**
   * The file's length in bytes when the response said it (Content-Length, uncompressed): with the bytes read so far
   * it tells the loader how near the end is (model/loader.ts publishes no partial model just before the whole one).
   */
  readonly size?: number;
}

/** The length of a response's body as read, when its headers give it (a compressed body's length is not that). */
export function sizeOf(headers: Headers): number | undefined {
  if (headers.has('Content-Encoding')) return undefined;
  const length = headers.get('Content-Length');
  const size = length === null || length === '' ? NaN : Number(length);
  return Number.isSafeInteger(size) && size >= 0 ? size : undefined;
}

/**
 * Cuts byte chunks at their last newline: each run it returns is whole lines (ending in '\n'), copied into one
 * buffer of its own (the trace worker transfers it to the page), and `end` returns the unterminated rest.
 */
export class ByteLineCutter {
  private carry: Uint8Array[] = [];
  private carried = 0;

  /** The whole lines completed by `bytes`, or undefined when it holds no newline. */
  push(bytes: Uint8Array): Uint8Array | undefined {
    const cut = bytes.lastIndexOf(10);
    if (cut === -1) {
      if (bytes.length > 0) {
        this.carry.push(bytes);
        this.carried += bytes.length;
      }
      return undefined;
    }
    const run = this.join(bytes.subarray(0, cut + 1));
    this.carry = cut + 1 < bytes.length ? [bytes.subarray(cut + 1)] : [];
    this.carried = bytes.length - cut - 1;
    return run;
  }

  /** The bytes after the last newline, when there are any. */
  end(): Uint8Array | undefined {
    if (this.carried === 0) return undefined;
    const rest = this.join(new Uint8Array(0));
    this.carry = [];
    this.carried = 0;
    return rest;
  }

  private join(tail: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.carried + tail.length);
    let at = 0;
    for (const c of this.carry) {
      out.set(c, at);
      at += c.length;
    }
    out.set(tail, at);
    return out;
  }
}

const decoder = new TextDecoder('utf-8');

/**
 * The text of a run of bytes ByteLineCutter gave. Whole lines never end inside a UTF-8 sequence (a newline byte is
 * never part of a multi-byte one), so each run decodes on its own; an unterminated rest cut inside one decodes to
 * U+FFFD there, as the end of a stream does.
 */
export function textOf(run: Uint8Array, last?: boolean): TextChunk {
  const text = decoder.decode(run);
  return last ? { text, bytes: run.length, last } : { text, bytes: run.length };
}

/** Turns byte chunks into text chunks of whole lines (and, at the end, the unterminated rest). */
export class LineCutter {
  private readonly bytes = new ByteLineCutter();

  /** The whole lines completed by `bytes`, or undefined when it holds no newline. */
  push(bytes: Uint8Array): TextChunk | undefined {
    const run = this.bytes.push(bytes);
    return run && textOf(run);
  }

  /** The text after the last newline, when there is any. */
  end(): TextChunk | undefined {
    const rest = this.bytes.end();
    return rest && textOf(rest, true);
  }
}

/** A byte stream as text chunks, decoded on the calling thread; `size`: its length, when known. */
export function textSourceOf(stream: ReadableStream<Uint8Array>, size?: number): TextSource {
  const reader = stream.getReader();
  const cutter = new LineCutter();
  let ended = false;
  return {
    size,
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
