// Serves the agent's fs/read_text_file and fs/write_text_file requests inside the run directory only.
// Refused: any `..` segment, absolute paths outside the directory, and symlinks whose target is outside.
import { lstat, mkdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, normalize, resolve, sep } from 'node:path';
import { RequestError } from '@agentclientprotocol/sdk';

const maxReadBytes = 16 * 1024 * 1024;

export class FsJail {
  private realRoot: Promise<string>;

  constructor(readonly root: string) {
    this.realRoot = realpath(root);
    this.realRoot.catch(() => {});
  }

  async readTextFile(path: string, line?: number | null, limit?: number | null): Promise<string> {
    const target = await this.resolveRequested(path);
    let real: string;
    try {
      real = await realpath(target);
    } catch (error) {
      throw fsError(error, path);
    }
    await this.assertInside(real, path);
    const info = await stat(real);
    if (!info.isFile()) throw refused(`not a regular file: ${path}`);
    if (info.size > maxReadBytes) throw refused(`file is larger than ${maxReadBytes} bytes: ${path}`);
    const content = await readFile(real, 'utf8').catch((error: unknown) => {
      throw fsError(error, path);
    });
    if ((line === undefined || line === null) && (limit === undefined || limit === null)) return content;
    const lines = content.split('\n');
    const start = Math.max(0, (line ?? 1) - 1);
    return lines.slice(start, limit === undefined || limit === null ? undefined : start + limit).join('\n');
  }

  async writeTextFile(path: string, content: string): Promise<void> {
    const target = await this.resolveRequested(path);
    // An existing target (possibly a symlink) must really be inside; so must the nearest existing ancestor.
    const existing = await lstat(target).catch(() => undefined);
    if (existing) {
      let real: string;
      try {
        real = await realpath(target);
      } catch {
        throw refused(`path is a dangling symlink: ${path}`);
      }
      await this.assertInside(real, path);
      if (!(await stat(real)).isFile()) throw refused(`not a regular file: ${path}`);
    } else {
      let ancestor = dirname(target);
      while (!(await lstat(ancestor).catch(() => undefined))) ancestor = dirname(ancestor);
      await this.assertInside(await realpath(ancestor), path);
      await mkdir(dirname(target), { recursive: true });
    }
    await writeFile(target, content, 'utf8').catch((error: unknown) => {
      throw fsError(error, path);
    });
  }

  /** Checks the path as written and returns it made absolute (relative paths are taken from the root). */
  private async resolveRequested(path: string): Promise<string> {
    if (path.includes('\0')) throw refused('path contains a NUL byte');
    if (path.split(/[\\/]/).includes('..')) throw refused(`path may not contain "..": ${path}`);
    const target = isAbsolute(path) ? normalize(path) : resolve(this.root, path);
    const root = resolve(this.root);
    if (!isInside(target, root) && !isInside(target, await this.realRoot)) {
      throw refused(`path is outside the run directory: ${path}`);
    }
    return target;
  }

  private async assertInside(real: string, requested: string): Promise<void> {
    if (!isInside(real, await this.realRoot)) throw refused(`path leads outside the run directory (symlink): ${requested}`);
  }
}

function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function refused(message: string): RequestError {
  return new RequestError(-32602, message);
}

function fsError(error: unknown, path: string): RequestError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new RequestError(-32002, `no such file: ${path}`);
  if (code === 'EACCES' || code === 'EPERM') return new RequestError(-32602, `permission denied: ${path}`);
  if (code === 'EISDIR') return new RequestError(-32602, `not a regular file: ${path}`);
  return new RequestError(-32603, `cannot access ${path}: ${(error as Error).message}`);
}
