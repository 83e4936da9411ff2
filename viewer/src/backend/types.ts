// Where a bundle's bytes come from. The model layer reads bundles only through this interface, so it never
// knows whether the files came from the flowtape server, a dropped folder or a `.zip`.
import type { TextSource } from './text-chunks.ts';

export interface BundleBackend {
  /** Shown to the user: a run id, a folder name, a zip file name. */
  readonly label: string;
  /** True when the bundle may still be growing (served from disk by `flowtape view`). */
  readonly live: boolean;
  /** Relative (posix) paths of every file in the bundle. */
  list(): Promise<string[]>;
  /** The whole file, or undefined when it does not exist. */
  read(path: string): Promise<Uint8Array | undefined>;
  /** The file as a byte stream (for streamed parse), or undefined when it does not exist. */
  stream(path: string): Promise<ReadableStream<Uint8Array> | undefined>;
  /** The file as text a run of whole lines at a time, decoded off the main thread; where it is not given, `stream`'s bytes are decoded by the reader. */
  textStream?(path: string): Promise<TextSource | undefined>;
  /**
   * Bytes from `offset` to the current end (live follow). Empty when nothing was appended, undefined when
   * the file does not exist. Static backends return what `read` would, sliced.
   */
  readFrom(path: string, offset: number): Promise<Uint8Array | undefined>;
  /** A URL a worker can fetch the file from itself, when the bytes come from a server. */
  urlOf?(path: string): string;
}

/** A set of bundles found in one dropped folder or zip (a runs-root may hold many). */
export interface BundleSource {
  readonly label: string;
  /** Bundle prefixes ('' = the root is the bundle), one per manifest.json found. */
  readonly bundles: string[];
  open(prefix: string): BundleBackend;
}

/** Backend over an in-memory map of path → bytes loader (shared by the File API and zip backends). */
export class MapBackend implements BundleBackend {
  readonly live: boolean = false;
  constructor(
    readonly label: string,
    private readonly files: Map<string, () => Promise<Uint8Array>>,
  ) {}

  async list(): Promise<string[]> {
    return [...this.files.keys()].sort();
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    const load = this.files.get(path);
    return load ? load() : undefined;
  }

  async stream(path: string): Promise<ReadableStream<Uint8Array> | undefined> {
    const bytes = await this.read(path);
    if (!bytes) return undefined;
    return new ReadableStream<Uint8Array>({
      start(controller) {
        // Chunked so the streamed parser gets to yield between pieces, as it would over the network.
        const CHUNK = 1 << 20;
        for (let i = 0; i < bytes.length; i += CHUNK) controller.enqueue(bytes.subarray(i, i + CHUNK));
        controller.close();
      },
    });
  }

  async readFrom(path: string, offset: number): Promise<Uint8Array | undefined> {
    const bytes = await this.read(path);
    return bytes?.subarray(Math.min(offset, bytes.length));
  }
}

/** Finds bundle roots (directories holding manifest.json) among relative paths, shallowest first. */
export function findBundlePrefixes(paths: Iterable<string>): string[] {
  const prefixes: string[] = [];
  for (const p of paths) {
    if (p === 'manifest.json') prefixes.push('');
    else if (p.endsWith('/manifest.json')) prefixes.push(p.slice(0, -'/manifest.json'.length));
  }
  prefixes.sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
  // A manifest inside another bundle (e.g. an artifact that happens to be called manifest.json) is not a bundle.
  return prefixes.filter((p, i) => !prefixes.slice(0, i).some((q) => q === '' || p.startsWith(q + '/')));
}

/** The files under `prefix`, re-keyed relative to it. */
export function subtree<T>(files: Map<string, T>, prefix: string): Map<string, T> {
  if (prefix === '') return files;
  const out = new Map<string, T>();
  const start = prefix + '/';
  for (const [path, value] of files) if (path.startsWith(start)) out.set(path.slice(start.length), value);
  return out;
}

/** A BundleSource over a flat map of files (relative paths) — the shape both drop and zip produce. */
export function mapSource(label: string, files: Map<string, () => Promise<Uint8Array>>): BundleSource {
  const bundles = findBundlePrefixes(files.keys());
  return {
    label,
    bundles,
    open: (prefix) => new MapBackend(prefix === '' ? label : `${label}/${prefix}`, subtree(files, prefix)),
  };
}
