// Bundles served by `flowtape view` (viewer/server/serve.ts): files under /files/<run>/, a listing at
// /api/list, byte ranges for live tailing.
import { encodePath, FetchedFiles } from './fetched-files.ts';
import { filesBase, takePrefetched, takePrefetchedText } from './prefetch.ts';
import type { TextSource } from './text-chunks.ts';
import { readTraceText } from './trace-text.ts';
import type { BundleBackend } from './types.ts';

export interface ServerInfo {
  mode: 'bundle' | 'runs' | 'zip' | 'compare';
  name: string;
  /** Compare mode: the two bundles and what the diff engine needs to run as the CLI does (viewer/server/compare.ts). */
  compare?: CompareInfo;
  /** Runs mode: the served root as the CLI was given it, and the machine's volatile roots (to compare two runs). */
  root?: string;
  machine?: CompareInfo['machine'];
}

export interface CompareSideInfo {
  /** The run's path on the server: `a`/`b` in compare mode, a run id of a runs-root. */
  run: string;
  kind: 'dir' | 'zip';
  location: string;
  dir?: string;
}

export interface CompareInfo {
  a: CompareSideInfo;
  b: CompareSideInfo;
  machine: { tmpDir?: string; homeDir?: string };
  options: { ignore?: string[]; usage?: boolean; maxDetails?: number };
}

export { fetchServerInfo } from './prefetch.ts';

export class HttpBackend extends FetchedFiles implements BundleBackend {
  readonly live = true;
  private readonly base: string;

  /** `run` is the bundle's path below the served root ('' when the server serves one bundle). */
  constructor(readonly run: string, readonly label: string = run || 'bundle') {
    super();
    this.base = filesBase(run);
  }

  urlOf(path: string): string {
    return new URL(this.base + encodePath(path), location.href).toString();
  }

  async list(): Promise<string[]> {
    const res = await fetch(`/api/list?run=${encodeURIComponent(this.run)}`, { cache: 'no-store' });
    if (!res.ok) throw new Error(`cannot list bundle ${this.label}: HTTP ${res.status}`);
    return ((await res.json()) as { files: string[] }).files;
  }

  protected async get(path: string, init?: RequestInit): Promise<Response | undefined> {
    const url = this.base + encodePath(path);
    // The entry module may have requested this file already (backend/prefetch.ts), before the app's code had loaded.
    const res = await ((init ? undefined : takePrefetched(url)) ?? fetch(url, { cache: 'no-store', ...init }));
    if (res.status === 404) return undefined;
    if (!res.ok && res.status !== 416) throw new Error(`${path}: HTTP ${res.status}`);
    return res;
  }

  /** The file as text, fetched and decoded off the main thread (trace-text.ts); requested ahead by the entry module. */
  async textStream(path: string): Promise<TextSource | undefined> {
    const url = this.base + encodePath(path);
    const { status, source } = await (takePrefetchedText(url) ?? readTraceText(url));
    if (status === 404) return undefined;
    if (!source) throw new Error(`${path}: HTTP ${status}`);
    return source;
  }

  async readFrom(path: string, offset: number): Promise<Uint8Array | undefined> {
    if (offset === 0) return this.read(path);
    // `?from=` answers 200 with what was appended (possibly nothing), where a Range past the end would be a 416.
    const res = await fetch(`${this.base}${encodePath(path)}?from=${offset}`, { cache: 'no-store' });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    // A server without `?from=` sends the whole file.
    return res.headers.has('X-File-Size') ? bytes : bytes.subarray(Math.min(offset, bytes.length));
  }
}

/** The packed bundle of a server started on a `.zip` (or, in compare mode, side `run`'s). */
export async function fetchServedZip(run?: string): Promise<Uint8Array> {
  const url = run ? `/zip/${run}` : '/bundle.zip';
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}
