// The file helpers of `flowtape repair`: what exists where, streamed prefixes, the last newline, durable appends.
import { closeSync, createReadStream, fsyncSync } from 'node:fs';
import { stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { ByteSource } from '@flowtape/schema';
import { openAppendSync, writeAllSync } from '../bundle/fsio.ts';
import { jsonEqual } from '@flowtape/schema/diff';
import { fileKind } from './fs-backend.ts';

/**
 * Whether a bundle path exists; something of the wrong kind there (or in place of one of its directories) is
 * refused with one line naming it.
 */
export async function pathExists(bundleDir: string, path: string, want: 'file' | 'dir', refuse: (message: string) => never): Promise<boolean> {
  const segments = path.split('/');
  for (let i = 1; i <= segments.length; i++) {
    const kind = i === segments.length ? want : 'dir';
    let info;
    try {
      info = await stat(join(bundleDir, ...segments.slice(0, i)));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw error;
    }
    if (kind === 'file' ? !info.isFile() : !info.isDirectory()) {
      const what = kind === 'file' ? 'a regular file' : 'a directory';
      refuse(`${segments.slice(0, i).join('/')}: ${fileKind(info)} where ${what} should be; move it away and run repair again`);
    }
  }
  return true;
}

/** The first `keep` bytes of a file, streamed. */
export function readRange(path: string, keep: number): ByteSource {
  return keep === 0 ? [] : createReadStream(path, { start: 0, end: keep - 1, highWaterMark: 64 * 1024 });
}

export function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export async function findLastNewline(handle: FileHandle, size: number): Promise<number> {
  const block = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - block.length);
    const { bytesRead } = await handle.read(block, 0, end - start, start);
    const at = block.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (at !== -1) return start + at;
    end = start;
  }
  return -1;
}

export function appendLines(bundleDir: string, path: string, text: string): void {
  const fd = openAppendSync(bundleDir, path);
  try {
    writeAllSync(fd, Buffer.from(text, 'utf8'));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `file` when something is there (its kind is checked where it is opened), else undefined. */
export async function existing(file: string): Promise<string | undefined> {
  return (await stat(file).catch(() => undefined)) ? file : undefined;
}

/** Files written by the recorder may be indented differently: compare content, not bytes. */
export function sameJson(text: string, value: unknown): boolean {
  const parsed = safeParse(text);
  return parsed !== undefined && jsonEqual(parsed, JSON.parse(JSON.stringify(value)));
}
