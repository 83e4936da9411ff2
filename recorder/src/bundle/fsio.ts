/**
 * File primitives of the writer. Writes are synchronous: a batch is one `write` syscall and a snapshot a few, and
 * doing them inline means no await latency while the runtime keeps the event loop busy (each await of an async
 * fs call would wait for the runtime's next yield).
 */
import { closeSync, constants, fstatSync, fsync, fsyncSync, ftruncateSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { O_NOFOLLOW, bundleSegments, checkWritable, writableFile, type CheckedPaths } from './confine.ts';

/** Writes the whole buffer at the file's position, looping over partial writes (one syscall in the usual case). */
export function writeAllSync(fd: number, data: Uint8Array): void {
  let offset = 0;
  while (offset < data.byteLength) offset += writeSync(fd, data, offset, data.byteLength - offset);
}

/**
 * The size (in characters) of the pieces large texts are written in. Below V8's large-object threshold (128 KiB): a
 * larger string is allocated, and flattened, in its own mapped pages, which measured 3× slower to build and encode.
 */
export const WRITE_CHUNK = 1 << 16;

/**
 * Writes `text` as UTF-8 at the file's position and returns its byte count. Encoded into one reused buffer: a fresh Buffer per chunk (Buffer.from)
 * costs a large allocation each time, and its external memory drives the garbage collector — measured 50× slower
 * than encoding into memory already held, for chunks of a few hundred KiB.
 */
export function writeTextSync(fd: number, text: string): number {
  // A UTF-16 unit takes at most 3 bytes of UTF-8.
  const needed = text.length * 3;
  if (needed > MAX_SCRATCH) {
    const bytes = Buffer.from(text, 'utf8');
    writeAllSync(fd, bytes);
    return bytes.byteLength;
  }
  if (scratch.byteLength < needed) scratch = Buffer.allocUnsafeSlow(Math.max(needed, scratch.byteLength * 2));
  const length = scratch.write(text, 0, 'utf8');
  writeAllSync(fd, scratch.subarray(0, length));
  return length;
}

/** The largest encoding buffer kept (larger texts are encoded on their own, rarely: writers hand out ~64 KiB chunks). */
const MAX_SCRATCH = 16 << 20;
let scratch = Buffer.allocUnsafeSlow(1 << 18);

let counter = 0;

/**
 * Replaces the bundle file `path` with `data` through a temporary file in the same folder and a rename, so a reader
 * (or a crash) sees the old content or the new one, never a mix. `sync` also flushes the data to disk before the
 * rename. The path is confined to the bundle (`confine.ts`); the temporary file is created exclusively, so a name
 * planted in its place is never followed or overwritten.
 */
export function writeFileAtomicSync(bundleDir: string, path: string, data: string | Uint8Array, sync = false): void {
  writeFileAtomicChunksSync(bundleDir, path, (write) => write(data), sync);
}

/**
 * writeFileAtomicSync with the content given piece by piece: `produce` calls `write` for each chunk, in order. A
 * large document (steps.json of a million attempts) is then never one string or one buffer. `checked`: see
 * CheckedPaths (the path is added once renamed into place).
 */
export function writeFileAtomicChunksSync(
  bundleDir: string,
  path: string,
  produce: (write: (chunk: string | Uint8Array) => void) => void,
  sync = false,
  checked?: CheckedPaths,
): void {
  const staged = stageFileSync(bundleDir, path, produce, checked);
  try {
    if (sync) fsyncSync(staged.fd);
    staged.commit();
  } catch (error) {
    staged.discard();
    throw error;
  }
}

/**
 * A replacement of a bundle file, written to its temporary file but not yet renamed into place: the caller fsyncs
 * `fd` when it chooses (e.g. together with other files), then `commit()` renames it into place (and closes it), or
 * `discard()` removes it. Until the rename, the old content is what every reader (and a crash) sees.
 * `commit(true)` renames and leaves `fd` open, for an fsync after the rename (the caller closes it): no path is
 * opened again to fsync what was just written. (A class, not closures: a snapshot stages several files.)
 */
export class StagedFile {
  private open = true;

  constructor(
    readonly fd: number,
    private readonly temp: string,
    private readonly file: string,
    private readonly path: string,
    private readonly checked: CheckedPaths | undefined,
  ) {}

  commit(keepOpen = false): void {
    if (!keepOpen) this.close();
    renameSync(this.temp, this.file);
    this.checked?.add(this.path);
  }

  discard(): void {
    try {
      this.close();
    } catch {
      // already closed
    }
    rmSync(this.temp, { force: true });
  }

  private close(): void {
    if (!this.open) return;
    this.open = false;
    closeSync(this.fd);
  }
}

export function stageFileSync(
  bundleDir: string,
  path: string,
  produce: (write: (chunk: string | Uint8Array) => void) => void,
  checked?: CheckedPaths,
): StagedFile {
  const file = writableFile(bundleDir, path, 'replace', checked);
  const { temp, fd } = createTemp(file);
  const staged = new StagedFile(fd, temp, file, path, checked);
  try {
    produce((chunk) => (typeof chunk === 'string' ? writeTextSync(fd, chunk) : writeAllSync(fd, chunk)));
  } catch (error) {
    staged.discard();
    throw error;
  }
  return staged;
}

function createTemp(file: string): { temp: string; fd: number } {
  for (let tries = 0; ; tries++) {
    const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${++counter}.tmp`);
    try {
      return { temp, fd: openSync(temp, 'wx') };
    } catch (error) {
      // A stale temp file of an earlier process with our pid: take the next name.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || tries >= 100) throw error;
    }
  }
}

/**
 * Opens the bundle file `path` for appending (created when missing; `exclusive`: must not exist yet), confined to
 * the bundle and with one link. `read` also allows reading (a shared trace catches up with other writers).
 */
export function openAppendSync(bundleDir: string, path: string, options: { read?: boolean; exclusive?: boolean } = {}): number {
  // Created exclusively and not following a symlink, a file at the bundle's top is new, regular and has one link:
  // neither the lstat before nor the fstat after could find anything wrong with it.
  const fresh = options.exclusive === true && bundleSegments(path).length === 1;
  const file = fresh ? join(bundleDir, path) : writableFile(bundleDir, path, 'in-place');
  const flags =
    (options.read ? constants.O_RDWR : constants.O_WRONLY) |
    constants.O_APPEND |
    constants.O_CREAT |
    (options.exclusive ? constants.O_EXCL : 0) |
    O_NOFOLLOW;
  const fd = openSync(file, flags, 0o666);
  if (fresh) return fd;
  try {
    // Checked again on what was opened: the name may have changed since the lstat.
    checkWritable(fstatSync(fd), path, 'in-place');
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

/**
 * fsync of a file or directory by path (async, so many can run at once: the filesystem journal commits them
 * together); directories make renames and new entries durable. Opened and closed synchronously (microseconds): only
 * the fsync itself waits in the thread pool, one round trip per path.
 */
export async function syncPath(path: string, ifPresent = false): Promise<void> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    // `ifPresent`: a file that may be gone (removed by hand) has nothing left to make durable.
    if (ifPresent && (error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    await syncFd(fd, true);
  } finally {
    closeSync(fd);
  }
}

/**
 * fsync of an open descriptor in the thread pool. `folder`: a directory, which some filesystems refuse to fsync; the
 * files in it were synced already.
 */
export function syncFd(fd: number, folder = false): Promise<void> {
  return new Promise<void>((resolve, reject) =>
    fsync(fd, (error) => {
      const code = error?.code;
      if (error && !(folder && (code === 'EISDIR' || code === 'EINVAL' || code === 'EPERM'))) reject(error);
      else resolve();
    }),
  );
}

/**
 * The complete lines appended to the open append-mode file `fd` after byte `offset` (by other processes, or an
 * earlier run), as text, and how many bytes they take. A torn last line (a writer died mid-append) is cut from the
 * file: the caller appends only while it is the one writer (or holds the lock), so those bytes are dead, and our
 * first line must not join them. `name` is the file for messages.
 */
export function readAppendedSync(fd: number, offset: number, name: string, onWarning: (message: string) => void): { text: string; bytes: number } {
  const { size } = fstatSync(fd);
  if (size === offset) return { text: '', bytes: 0 };
  if (size < offset) throw new Error(`${name}: the file shrank under the writer (from ${offset} to ${size} bytes)`);
  const buffer = Buffer.alloc(size - offset);
  let read = 0;
  while (read < buffer.byteLength) {
    const bytesRead = readSync(fd, buffer, read, buffer.byteLength - read, offset + read);
    if (bytesRead === 0) break;
    read += bytesRead;
  }
  const complete = buffer.lastIndexOf(0x0a, read - 1) + 1;
  if (complete < read) {
    onWarning(`${name}: removed a torn last line (${read - complete} bytes) left by a writer that stopped mid-append`);
    ftruncateSync(fd, offset + complete);
  }
  return { text: buffer.subarray(0, complete).toString('utf8'), bytes: complete };
}
