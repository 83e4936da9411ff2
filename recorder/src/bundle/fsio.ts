/**
 * File primitives of the writer. Writes are synchronous: a batch is one `write` syscall and a snapshot a few, and
 * doing them inline means no await latency while the runtime keeps the event loop busy (each await of an async
 * fs call would wait for the runtime's next yield).
 */
import { closeSync, constants, fstatSync, fsync, fsyncSync, ftruncateSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { O_NOFOLLOW, checkWritable, writableFile } from './confine.ts';

/** Writes the whole buffer at the file's position, looping over partial writes (one syscall in the usual case). */
export function writeAllSync(fd: number, data: Uint8Array): void {
  let offset = 0;
  while (offset < data.byteLength) offset += writeSync(fd, data, offset, data.byteLength - offset);
}

let counter = 0;

/**
 * Replaces the bundle file `path` with `data` through a temporary file in the same folder and a rename, so a reader
 * (or a crash) sees the old content or the new one, never a mix. `sync` also flushes the data to disk before the
 * rename. The path is confined to the bundle (`confine.ts`); the temporary file is created exclusively, so a name
 * planted in its place is never followed or overwritten.
 */
export function writeFileAtomicSync(bundleDir: string, path: string, data: string | Uint8Array, sync = false): void {
  const file = writableFile(bundleDir, path, 'replace');
  const { temp, fd } = createTemp(file);
  try {
    writeAllSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    if (sync) fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, file);
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(temp, { force: true });
    throw error;
  }
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
  const file = writableFile(bundleDir, path, 'in-place');
  const flags =
    (options.read ? constants.O_RDWR : constants.O_WRONLY) |
    constants.O_APPEND |
    constants.O_CREAT |
    (options.exclusive ? constants.O_EXCL : 0) |
    O_NOFOLLOW;
  const fd = openSync(file, flags, 0o666);
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
export async function syncPath(path: string): Promise<void> {
  const fd = openSync(path, 'r');
  try {
    await new Promise<void>((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
  } catch (error) {
    // Some filesystems refuse fsync on directories; the files themselves were synced already.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM') throw error;
  } finally {
    closeSync(fd);
  }
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
