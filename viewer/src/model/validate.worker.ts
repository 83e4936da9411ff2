// Full validation of trace lines against the schema's zod schemas, off the main thread: the viewer folds a
// large trace after a cheap structural check and learns here, a moment later, which lines are not what the
// format says. Only payload/envelope validity is reported; JSON errors and torn lines the main thread saw.
import { checkTraceEvent, readLines } from '@flowtape/schema';

export interface ValidateRequest {
  id: number;
  file: string;
  /** Line number of the first line, minus one. */
  lineOffset: number;
  /** The bytes themselves, or where to fetch them (the first `bytes` bytes of `url`). */
  source: { chunks: Uint8Array[] } | { url: string; bytes: number };
}

export interface ValidateResponse {
  id: number;
  issues: Array<{ file: string; line: number; message: string }>;
}

self.onmessage = async (e: MessageEvent<ValidateRequest>) => {
  const { id, file, lineOffset, source } = e.data;
  const issues: ValidateResponse['issues'] = [];
  let bytes: ReadableStream<Uint8Array> | Uint8Array[];
  if ('url' in source) {
    if (source.bytes === 0) return void (self as unknown as Worker).postMessage({ id, issues } satisfies ValidateResponse);
    const res = await fetch(source.url, { cache: 'no-store', headers: { Range: `bytes=0-${source.bytes - 1}` } });
    if (!res.ok || !res.body) return void (self as unknown as Worker).postMessage({ id, issues } satisfies ValidateResponse);
    bytes = res.body;
  } else {
    bytes = source.chunks;
  }
  for await (const { text, line: rel, terminated } of readLines(bytes)) {
    if (!terminated || text.trim() === '') continue;
    const line = lineOffset + rel;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      continue;
    }
    const checked = checkTraceEvent(value, line, file, 'full');
    if (!checked.ok) issues.push({ file, line, message: checked.error.message });
  }
  (self as unknown as Worker).postMessage({ id, issues } satisfies ValidateResponse);
};
