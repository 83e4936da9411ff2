// Runs full trace validation in a Web Worker (validate.worker.ts); resolves with the lines that failed. Also zod's
// check of manifest.json and flow.json after load (documents.ts), in the same worker.
import type { BundleIssue } from './bundle-model.ts';
import { checkDocumentsLater, type DeferredDocument } from './documents.ts';
import type { TraceIssue } from './trace-reader.ts';
import type { ValidateDocumentsRequest, ValidateRequest, ValidateResponse } from './validate.worker.ts';

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, (issues: TraceIssue[]) => void>();

function getWorker(): Worker | undefined {
  if (worker) return worker;
  if (typeof Worker === 'undefined') return undefined;
  try {
    worker = new Worker(new URL('./validate.worker.ts', import.meta.url), { type: 'module', name: 'flowtape-validate' });
  } catch {
    return undefined;
  }
  worker.onmessage = (e: MessageEvent<ValidateResponse>) => {
    pending.get(e.data.id)?.(e.data.issues);
    pending.delete(e.data.id);
  };
  worker.onerror = () => {
    for (const resolve of pending.values()) resolve([]);
    pending.clear();
  };
  return worker;
}

/**
 * Validates trace bytes in the worker: either the bytes themselves (their buffers are transferred, so the caller
 * gives them up) or the first `bytes` bytes of a URL the worker fetches on its own. Resolves to [] when workers
 * are unavailable (validation is then skipped, not faked).
 */
export function validateTrace(file: string, source: ValidateRequest['source'], lineOffset = 0): Promise<TraceIssue[]> {
  const w = getWorker();
  if (!w || ('chunks' in source && source.chunks.length === 0)) return Promise.resolve([]);
  const id = nextId++;
  const transfer = new Set<ArrayBuffer>();
  let message: ValidateRequest;
  if ('chunks' in source) {
    // Hand whole buffers over instead of copying them; copy only views into shared buffers.
    const owned = source.chunks.map((c) => (c.byteOffset === 0 && c.byteLength === c.buffer.byteLength ? c : c.slice()));
    for (const c of owned) if (c.buffer instanceof ArrayBuffer) transfer.add(c.buffer);
    message = { id, file, lineOffset, source: { chunks: owned } };
  } else {
    message = { id, file, lineOffset, source };
  }
  return new Promise((resolve) => {
    pending.set(id, resolve);
    w.postMessage(message, [...transfer]);
  });
}

/**
 * zod's check of the documents the first screen used after the structural check, in the worker (which loads the
 * schemas for the trace anyway); on this thread, the schemas loaded on demand, where workers are unavailable.
 */
export function validateDocuments(documents: readonly DeferredDocument[]): Promise<BundleIssue[]> {
  if (documents.length === 0) return Promise.resolve([]);
  const w = getWorker();
  if (!w) return checkDocumentsLater(documents);
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, (issues) => resolve(issues.map((i): BundleIssue => ({ file: i.file, severity: 'error', message: i.message }))));
    w.postMessage({ id, documents: [...documents] } satisfies ValidateDocumentsRequest);
  });
}
