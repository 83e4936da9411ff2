/**
 * A tolerant, streaming NDJSON reader for Node and browsers (web streams and async iterables only, no `node:`
 * imports). A torn final line — a writer killed mid-append — is reported as an issue, never thrown; a bad line in
 * the middle is reported with its line number and reading goes on.
 */

export type ByteSource =
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array | string>
  | Iterable<Uint8Array | string>;

export interface NdjsonLine {
  /** 1-based line number in the file. */
  line: number;
  value: unknown;
  /** Length of the line in bytes of UTF-16 text, without the newline (for progress and offsets). */
  length: number;
}

export interface NdjsonIssue {
  line: number;
  /** `torn_tail`: the last line has no newline and is not valid JSON; `invalid_json`: a complete line is not JSON. */
  problem: 'torn_tail' | 'invalid_json';
  message: string;
}

export interface ReadNdjsonOptions {
  /** Named in issue messages, e.g. `trace.ndjson`. */
  file?: string;
  onIssue?: (issue: NdjsonIssue) => void;
}

async function* chunksOf(source: ByteSource): AsyncGenerator<Uint8Array | string> {
  if (typeof (source as ReadableStream<Uint8Array>).getReader === 'function') {
    const reader = (source as ReadableStream<Uint8Array>).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  } else {
    yield* source as AsyncIterable<Uint8Array | string>;
  }
}

/** Splits a byte or text stream into lines; the final line is yielded with `terminated: false` when it has no newline. */
export async function* readLines(source: ByteSource): AsyncGenerator<{ text: string; line: number; terminated: boolean }> {
  const decoder = new TextDecoder('utf-8');
  let pending = '';
  let line = 0;
  for await (const chunk of chunksOf(source)) {
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let end = pending.indexOf('\n'); end !== -1; end = pending.indexOf('\n', start)) {
      line++;
      const text = pending.charCodeAt(end - 1) === 13 ? pending.slice(start, end - 1) : pending.slice(start, end);
      yield { text, line, terminated: true };
      start = end + 1;
    }
    pending = pending.slice(start);
  }
  pending += decoder.decode();
  if (pending.length > 0) yield { text: pending, line: line + 1, terminated: false };
}

/** Parses NDJSON lines. Blank lines are skipped. */
export async function* readNdjson(source: ByteSource, options: ReadNdjsonOptions = {}): AsyncGenerator<NdjsonLine> {
  for await (const { text, line, terminated } of readLines(source)) {
    const parsed = parseLine(text, line, terminated, options);
    if (parsed) yield parsed;
  }
}

/** The same, over text already in memory. */
export function parseNdjsonText(text: string, options: ReadNdjsonOptions = {}): NdjsonLine[] {
  const out: NdjsonLine[] = [];
  let start = 0;
  let line = 0;
  while (start < text.length) {
    const end = text.indexOf('\n', start);
    line++;
    const terminated = end !== -1;
    const stop = terminated ? end : text.length;
    const parsed = parseLine(text.slice(start, stop > start && text.charCodeAt(stop - 1) === 13 ? stop - 1 : stop), line, terminated, options);
    if (parsed) out.push(parsed);
    start = stop + 1;
  }
  return out;
}

function parseLine(text: string, line: number, terminated: boolean, options: ReadNdjsonOptions): NdjsonLine | undefined {
  if (text.trim() === '') return undefined;
  try {
    return { line, value: JSON.parse(text), length: text.length };
  } catch (error) {
    const file = options.file ?? 'ndjson';
    const issue: NdjsonIssue = terminated
      ? { line, problem: 'invalid_json', message: `${file}:${line}: not valid JSON (${shortReason(error)})` }
      : {
          line,
          problem: 'torn_tail',
          message: `${file}:${line}: torn last line (${text.length} characters without a newline): the writer stopped mid-append`,
        };
    options.onIssue?.(issue);
    return undefined;
  }
}

function shortReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.slice(0, 120);
}
