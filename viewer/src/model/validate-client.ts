// Runs full trace validation in a Web Worker (validate.worker.ts); resolves with the lines that failed.
import type { TraceIssue } from './trace-reader.ts';
import type { ValidateRequest, ValidateResponse } from './validate.worker.ts';

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

/** Validates trace bytes; resolves to [] when workers are unavailable (validation is then skipped, not faked). */
export function validateTrace(file: string, chunks: Uint8Array[], lineOffset = 0): Promise<TraceIssue[]> {
  const w = getWorker();
  if (!w || chunks.length === 0) return Promise.resolve([]);
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    w.postMessage({ id, file, lineOffset, chunks } satisfies ValidateRequest);
  });
}
