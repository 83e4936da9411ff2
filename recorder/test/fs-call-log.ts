// The order of a recorder's fsyncs and renames, for the tests of when a bundle becomes durable and complete:
// fs.fsync, fs.fsyncSync and fs.renameSync are wrapped (the real calls still run) while a function runs.
import fs, { readlinkSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { relative } from 'node:path';

/**
 * Runs `fn` and returns what happened under `root`, in order: "sync <path>" when an fsync starts or returns (`syncAt`),
 * "rename <path>" once a file is renamed into place (paths relative to `root`, "." for root itself; a manifest's
 * temporary file is "<folder>/manifest.json (temp)").
 */
export async function fsCallLog(root: string, syncAt: 'start' | 'return', fn: () => Promise<void>): Promise<string[]> {
  const log: string[] = [];
  const realFsync = fs.fsync;
  const realFsyncSync = fs.fsyncSync;
  const realRenameSync = fs.renameSync;
  const rel = (path: string) => relative(root, path) || '.';
  const name = (fd: number) => rel(readlinkSync(`/proc/self/fd/${fd}`)).replace(/\.manifest\.json\.\d+\.\d+\.tmp$/, 'manifest.json (temp)');
  fs.fsync = ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
    const path = name(fd);
    if (syncAt === 'start') log.push(`sync ${path}`);
    realFsync(fd, (error) => {
      if (syncAt === 'return') log.push(`sync ${path}`);
      callback(error);
    });
  }) as typeof fs.fsync;
  fs.fsyncSync = (fd: number) => {
    const path = name(fd);
    if (syncAt === 'start') log.push(`sync ${path}`);
    realFsyncSync(fd);
    if (syncAt === 'return') log.push(`sync ${path}`);
  };
  fs.renameSync = (from: fs.PathLike, to: fs.PathLike) => {
    realRenameSync(from, to);
    log.push(`rename ${rel(String(to))}`);
  };
  syncBuiltinESMExports();
  try {
    await fn();
  } finally {
    fs.fsync = realFsync;
    fs.fsyncSync = realFsyncSync;
    fs.renameSync = realRenameSync;
    syncBuiltinESMExports();
  }
  return log;
}
