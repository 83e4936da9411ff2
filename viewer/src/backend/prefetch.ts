// The first thing the page runs, before any of the app's code (the schema's zod validators, React, the graph) is
// fetched or evaluated: it asks the server what it serves and, when that is one bundle (or the run the address
// names), requests the files the loader reads first — manifest, flow and trace — at once. The loader takes these
// responses over (HttpBackend asks takePrefetched before it fetches) instead of requesting the files again, so the
// trace's bytes are under way while the code that parses them still downloads and compiles. It imports nothing
// that pulls in the schema, so the entry chunk stays small.
import { encodePath } from './fetched-files.ts';
import { SITE_META } from './static.ts';
import { readTraceText, startTraceWorker, type OpenedText } from './trace-text.ts';
import type { ServerInfo } from './http.ts';

/**
 * The files loadBundle (model/loader.ts) reads before anything else, at their default paths (the schema's
 * BUNDLE_FILES, spelled out here so this module does not import the schema; a unit test keeps them equal).
 */
export const FIRST_FILES = ['manifest.json', 'flow.json', 'trace.ndjson'] as const;

/** Where `flowtape view` serves a bundle's files: '' = the one bundle it serves, else a run below its root. */
export function filesBase(run: string): string {
  return run === '' ? '/files/' : `/files/${encodePath(run)}/`;
}

/** The run the app opens over HTTP for this server answer and address ('' = the served bundle), or none. */
export function runToOpen(info: ServerInfo, search: string = location.search): string | undefined {
  if (info.mode === 'bundle') return '';
  const q = new URLSearchParams(search);
  if (info.mode !== 'runs' || (q.has('compare') && q.has('with'))) return undefined;
  return q.get('run') ?? undefined;
}

export async function fetchServerInfo(): Promise<ServerInfo | undefined> {
  try {
    const res = await fetch('/api/info', { cache: 'no-store' });
    if (!res.ok) return undefined;
    return (await res.json()) as ServerInfo;
  } catch {
    return undefined;
  }
}

let info: Promise<ServerInfo | undefined> | undefined;
const responses = new Map<string, Promise<Response>>();
const texts = new Map<string, Promise<OpenedText>>();

/** Asks /api/info and, when it names one bundle to open, requests its first files. A static site is left alone. */
export function prefetchServed(doc: Document = document): void {
  if (doc.querySelector(`meta[name="${SITE_META}"]`)) return;
  info = fetchServerInfo();
  // The worker that will read the trace starts while /api/info is answered: its start-up is then off the path.
  const worker = startTraceWorker();
  void info.then((served) => {
    const run = served && runToOpen(served);
    if (run === undefined) return void worker?.terminate();
    performance.mark('flowtape:prefetch');
    for (const path of FIRST_FILES) {
      const url = filesBase(run) + encodePath(path);
      const ignore = () => { /* the loader sees the failure when it takes the response */ };
      if (path === 'trace.ndjson') {
        // Fetched by a worker (trace-text.ts): the page only decodes, splits and parses the lines.
        const text = readTraceText(url, worker);
        text.catch(ignore);
        texts.set(url, text);
        continue;
      }
      const res = fetch(url, { cache: 'no-store' });
      res.catch(ignore);
      responses.set(url, res);
    }
  });
}

/** The answer to /api/info that prefetchServed asked for, once; undefined when it asked none. */
export function takePrefetchedInfo(): Promise<ServerInfo | undefined> | undefined {
  const taken = info;
  info = undefined;
  return taken;
}

/** The trace requested ahead as text (readTraceText), once. */
export function takePrefetchedText(url: string): Promise<OpenedText> | undefined {
  const res = texts.get(url);
  texts.delete(url);
  return res;
}

/** The response to a plain GET of `url` requested ahead, once: a later read of the file fetches it afresh. */
export function takePrefetched(url: string): Promise<Response> | undefined {
  const res = responses.get(url);
  responses.delete(url);
  return res;
}
