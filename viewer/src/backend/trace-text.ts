// Reads a served trace through the trace worker (trace-text.worker.ts), which fetches it off the main thread and
// transfers runs of whole lines: the page decodes each with one call. Where no worker can be started (or its script
// fails to load), the page fetches and decodes the file itself, with the same result.
import { sizeOf, textOf, textSourceOf, type TextSource } from './text-chunks.ts';
import type { TraceTextMessage, TraceTextRequest } from './trace-text.worker.ts';

/** The response's status and, when it is a success, the file as text. */
export interface OpenedText {
  status: number;
  source?: TextSource;
}

async function onThisThread(url: string): Promise<OpenedText> {
  const res = await fetch(url, { cache: 'no-store' });
  return { status: res.status, source: res.ok && res.body ? textSourceOf(res.body, sizeOf(res.headers)) : undefined };
}

/** A trace worker started ahead (while the page still asks what to open), or undefined where none can start. */
export function startTraceWorker(): Worker | undefined {
  try {
    if (typeof Worker === 'undefined') return undefined;
    return new Worker(new URL('./trace-text.worker.ts', import.meta.url), { type: 'module', name: 'flowtape-trace' });
  } catch {
    return undefined;
  }
}

/**
 * Starts reading `url` (a plain GET, uncached) in `worker` (by default a new one; it is the reader's from now on and
 * ends with it) and resolves once the server has answered.
 */
export function readTraceText(url: string, worker: Worker | undefined = startTraceWorker()): Promise<OpenedText> {
  if (!worker) return onThisThread(url);
  const queue: TraceTextMessage[] = [];
  let waiter: ((m: TraceTextMessage) => void) | undefined;
  const deliver = (m: TraceTextMessage) => {
    const w = waiter;
    waiter = undefined;
    if (w) w(m);
    else queue.push(m);
  };
  const next = () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise<TraceTextMessage>((resolve) => { waiter = resolve; }));
  worker.onmessage = (e: MessageEvent<TraceTextMessage>) => deliver(e.data);
  worker.onerror = (e) => {
    e.preventDefault();
    deliver({ error: `the trace reader stopped${e.message ? `: ${e.message}` : ''}` });
  };
  worker.postMessage({ url: new URL(url, location.href).toString() } satisfies TraceTextRequest);

  let taken = 0;
  let finished = false;
  let size: number | undefined;
  const finish = () => {
    finished = true;
    worker.terminate();
  };
  const source: TextSource = {
    get size() {
      return size;
    },
    async read() {
      if (finished) return undefined;
      const m = await next();
      if ('run' in m) {
        taken += m.run.length;
        worker.postMessage({ taken } satisfies TraceTextRequest);
        return textOf(m.run, m.last);
      }
      finish();
      if ('error' in m) throw new Error(m.error);
      return undefined;
    },
    cancel() {
      if (!finished) finish();
    },
  };
  return next().then((m) => {
    if ('status' in m) {
      size = m.size;
      const ok = m.status >= 200 && m.status < 300;
      if (!ok) finish();
      return { status: m.status, source: ok ? source : undefined };
    }
    // No answer from the worker (its script did not load, or the fetch failed there): the page asks itself, and
    // reports what it gets.
    finish();
    return onThisThread(url);
  });
}
