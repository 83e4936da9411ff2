/**
 * File primitives of the writer. Writes are synchronous: a batch is one `write` syscall and a snapshot a few, and
 * doing them inline means no await latency while the runtime keeps the event loop busy (each await of an async
 * fs call would wait for the runtime's next yield).
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Writes the whole buffer at the file's position, looping over partial writes (one syscall in the usual case). */
export function writeAllSync(fd: number, data: Uint8Array): void {
  let offset = 0;
  while (offset < data.byteLength) offset += writeSync(fd, data, offset, data.byteLength - offset);
}

let counter = 0;

/**
 * Replaces `path` with `data` through a temporary file in the same directory and a rename, so a reader (or a crash)
 * sees the old content or the new one, never a mix. `sync` also flushes the data to disk before the rename.
 */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, sync = false): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${++counter}.tmp`);
  const fd = openSync(temp, 'w');
  try {
    writeAllSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    if (sync) fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, path);
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

/**
 * fsync of a file or directory by path (async, so many can run at once: the filesystem journal commits them
 * together); directories make renames and new entries durable.
 */
export async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some filesystems refuse fsync on directories; the files themselves were synced already.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM') throw error;
  } finally {
    await handle.close();
  }
}
