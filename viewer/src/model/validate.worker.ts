// Full validation of trace lines against the schema's zod schemas, off the main thread: the viewer folds a
// large trace after a cheap structural check and learns here, a moment later, which lines are not what the
// format says. Only payload/envelope validity is reported; JSON errors and torn lines the main thread saw.
// Also zod's check of manifest.json and flow.json when the first screen used them after the structural check alone
// (documents.ts): the worker has the schemas loaded anyway, the page's main thread need not load them for it.
import { FlowSnapshot, Manifest, checkTraceEvent, parseDocument, readLines } from '@flowtape/schema';
import { documentIssues, type DeferredDocument } from './documents.ts';

export interface ValidateRequest {
  id: number;
  file: string;
  /** Line number of the first line, minus one. */
  lineOffset: number;
  /** The bytes themselves, or where to fetch them (the first `bytes` bytes of `url`). */
  source: { chunks: Uint8Array[] } | { url: string; bytes: number };
}

export interface ValidateDocumentsRequest {
  id: number;
  documents: DeferredDocument[];
}

export interface ValidateResponse {
  id: number;
  /** Trace issues have a line; a document's issue has none. */
  issues: Array<{ file: string; line?: number; message: string }>;
}

self.onmessage = async (e: MessageEvent<ValidateRequest | ValidateDocumentsRequest>) => {
  if ('documents' in e.data) {
    const { id, documents } = e.data;
    const issues = documentIssues({ FlowSnapshot, Manifest, parseDocument }, documents).map(({ file, message }) => ({ file, message }));
    return void (self as unknown as Worker).postMessage({ id, issues } satisfies ValidateResponse);
  }
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
