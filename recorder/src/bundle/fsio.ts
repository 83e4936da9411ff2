/** Small file primitives of the writer: full appends, atomic replaces, fsync of files and directories. */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Writes the whole buffer at the end of the file, looping over partial writes (one syscall in the usual case). */
export async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.byteLength) {
    const { bytesWritten } = await handle.write(data, offset, data.byteLength - offset);
    offset += bytesWritten;
  }
}

let counter = 0;

/**
 * Replaces `path` with `data` through a temporary file in the same directory and a rename, so a reader (or a crash)
 * sees the old content or the new one, never a mix. `sync` also flushes the data to disk before the rename.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, sync = false): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${++counter}.tmp`);
  const handle = await open(temp, 'w');
  try {
    await writeAll(handle, typeof data === 'string' ? Buffer.from(data) : data);
    if (sync) await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** fsync of a file or a directory by path; directories make renames and new entries durable. */
export async function syncPath(path: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    await handle.sync();
  } catch (error) {
    // Some filesystems refuse fsync on directories; the data files were synced already.
    if ((error as NodeJS.ErrnoException).code !== 'EISDIR' && (error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
  } finally {
    await handle?.close();
  }
}
