/**
 * Bundles on disk (a directory) or packed (`.zip` from `flowtape pack`), read through the schema package's
 * `BundleBackend` so every tool (diff, verify, repair, import) reads bundles the way the viewer does.
 */
import { createReadStream, type Stats } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { unzipSync, type UnzipFileInfo } from 'fflate';
import { BundleFormatError, bundlePathProblem, printablePath, type BundleBackend, type ByteSource } from '@flowtape/schema';

/** A bundle backend that also says where it reads from (for messages and volatile-path normalisation). */
export interface NamedBackend extends BundleBackend {
  /** The directory or zip file, as given. */
  readonly location: string;
  /** Absolute directory of the bundle on disk; undefined for a zip. */
  readonly dir?: string;
}

/** Refuses paths that could leave the bundle, by the schema's one rule (`bundlePathProblem`). */
export function checkBundleRelative(path: string): string[] {
  const problem = bundlePathProblem(path);
  if (problem) throw new BundleFormatError(`${printablePath(path)}: not a path inside the bundle (${problem})`, path);
  return path.split('/');
}

function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

/** What a non-regular file is, for messages: "a directory", "a FIFO", … */
export function fileKind(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  return info.isFile() ? 'a regular file' : 'not a regular file';
}

/** A bundle directory. Reads stay inside it, also through symlinks. */
export class FsBundleBackend implements NamedBackend {
  readonly dir: string;
  private rootReal: string | undefined;

  constructor(readonly location: string) {
    this.dir = resolve(location);
  }

  /** The absolute file for a bundle path, or undefined when it does not exist. Throws when it leaves the bundle. */
  async resolveFile(path: string): Promise<string | undefined> {
    const file = resolve(this.dir, ...checkBundleRelative(path));
    this.rootReal ??= await realpath(this.dir).catch(() => this.dir);
    let real: string;
    try {
      real = await realpath(file);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    if (!isInside(this.rootReal, real)) throw new BundleFormatError(`${path}: symlink leads out of the bundle`, path);
    return real;
  }

  async readText(path: string): Promise<string | undefined> {
    const bytes = await this.readBytes(path);
    return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
  }

  async readBytes(path: string): Promise<Uint8Array | undefined> {
    const file = await this.regularFile(path);
    if (!file) return undefined;
    try {
      return await readFile(file);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async readStream(path: string): Promise<ByteSource | undefined> {
    const file = await this.regularFile(path);
    if (!file) return undefined;
    return createReadStream(file, { highWaterMark: 32 * 1024 });
  }

  /**
   * The file for a bundle path, or undefined when it does not exist. Something else in its place (a directory, a
   * FIFO, a device) is an error naming the path: reading a FIFO would block forever, a directory fails mid-read.
   */
  private async regularFile(path: string): Promise<string | undefined> {
    const file = await this.resolveFile(path);
    if (!file) return undefined;
    let info;
    try {
      info = await stat(file);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    if (!info.isFile()) throw new BundleFormatError(`${path}: not a regular file (${fileKind(info)})`, path);
    return file;
  }
}

/**
 * What a packed bundle may unpack to, at most: it is held in memory. A zip claiming more (a zip bomb, or a bundle
 * too large to share this way) is refused before anything is inflated.
 */
export const MAX_UNPACKED_BYTES = 2 ** 31;

/** A packed bundle, unpacked in memory (zips are for sharing; they are small next to a live trace). */
export class ZipBundleBackend implements NamedBackend {
  readonly dir = undefined;
  private constructor(
    readonly location: string,
    private readonly files: Map<string, Uint8Array>,
  ) {}

  static async open(file: string, options: { maxUnpackedBytes?: number } = {}): Promise<ZipBundleBackend> {
    const data = await readFile(file);
    const unzip = (filter: (entry: UnzipFileInfo) => boolean) => {
      try {
        return unzipSync(data, { filter });
      } catch (error) {
        throw new BundleFormatError(`${file}: not a readable zip (${(error as Error).message})`, file);
      }
    };
    const clean = (name: string) => name.replace(/^\.?\//, '');
    const nameOf = (entry: UnzipFileInfo) => clean(entry.name);
    // First the names and sizes alone (the filter keeps nothing): entries outside the bundle are never inflated, and
    // a bundle that would not fit in memory is refused before any of it is.
    const entries: UnzipFileInfo[] = [];
    unzip((entry) => {
      if (!entry.name.endsWith('/')) entries.push(entry);
      return false;
    });
    // The bundle is at the root, or in the shallowest folder holding a manifest.json.
    const manifests = entries.map(nameOf).filter((p) => p === 'manifest.json' || p.endsWith('/manifest.json'));
    manifests.sort((a, b) => a.split('/').length - b.split('/').length);
    const top = manifests[0];
    if (top === undefined) throw new BundleFormatError(`${file}: no manifest.json in the zip`, file);
    const prefix = top.slice(0, -'manifest.json'.length);
    const inBundle = (entry: UnzipFileInfo) => !entry.name.endsWith('/') && nameOf(entry).startsWith(prefix);
    const unpacked = entries.filter(inBundle).reduce((sum, entry) => sum + entry.originalSize, 0);
    const max = options.maxUnpackedBytes ?? MAX_UNPACKED_BYTES;
    if (unpacked > max) {
      throw new BundleFormatError(
        `${file}: the bundle unpacks to ${unpacked.toLocaleString('en-US')} bytes, more than the ${max.toLocaleString('en-US')} a zip is opened with: unzip it and open the folder`,
        file,
      );
    }
    const files = new Map<string, Uint8Array>();
    for (const [name, bytes] of Object.entries(unzip(inBundle))) files.set(clean(name).slice(prefix.length), bytes);
    return new ZipBundleBackend(file, files);
  }

  list(): string[] {
    return [...this.files.keys()].sort();
  }

  async readBytes(path: string): Promise<Uint8Array | undefined> {
    return this.readBytesSync(path);
  }

  /** The bytes are in memory already: for readers that need them synchronously (the span builder). */
  readBytesSync(path: string): Uint8Array | undefined {
    return this.files.get(checkBundleRelative(path).join('/'));
  }

  async readText(path: string): Promise<string | undefined> {
    const bytes = await this.readBytes(path);
    return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
  }

  async readStream(path: string): Promise<ByteSource | undefined> {
    const bytes = await this.readBytes(path);
    if (bytes === undefined) return undefined;
    const CHUNK = 256 * 1024;
    return (function* () {
      for (let i = 0; i < bytes.length; i += CHUNK) yield bytes.subarray(i, i + CHUNK);
    })();
  }
}

/** Opens a bundle directory or a `.zip`; a clear error when it is neither. */
export async function openBundle(location: string): Promise<FsBundleBackend | ZipBundleBackend> {
  let st;
  try {
    st = await stat(location);
  } catch {
    throw new BundleFormatError(`${location}: no such bundle (not a directory or .zip file)`, location);
  }
  if (st.isDirectory()) return new FsBundleBackend(location);
  if (st.isFile()) return ZipBundleBackend.open(location);
  throw new BundleFormatError(`${location}: not a directory or .zip file`, location);
}
