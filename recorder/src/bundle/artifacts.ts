/** Content-addressed artifact files: `artifacts/sha256-<hex>.<ext>`, written once, atomically. */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ArtifactRef } from '@flowtape/schema';
import { ensureFolder } from './confine.ts';
import { writeFileAtomicSync } from './fsio.ts';

const EXTENSIONS: Record<string, string> = {
  'text/plain': 'txt',
  'text/markdown': 'md',
  'application/json': 'json',
};

export function extensionOf(mediaType: string): string {
  return EXTENSIONS[mediaType] ?? 'bin';
}

export class ArtifactStore {
  /** Bundle-relative paths known to exist (written or found by this store). */
  private readonly known = new Set<string>();
  private dirReady = false;
  /** Bundle-relative paths this store wrote, for the final fsync. */
  readonly written: string[] = [];

  constructor(private readonly bundleDir: string) {}

  /**
   * Writes the bytes (once: a second put of the same bytes reuses the file) and returns the reference. The file
   * exists before the trace line that references it is even queued.
   */
  put(content: string | Uint8Array, mediaType: string): ArtifactRef {
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const path = `artifacts/sha256-${sha256}.${extensionOf(mediaType)}`;
    if (!this.known.has(path)) {
      if (!this.dirReady) {
        ensureFolder(this.bundleDir, 'artifacts');
        this.dirReady = true;
      }
      if (!existsSync(join(this.bundleDir, path))) {
        writeFileAtomicSync(this.bundleDir, path, bytes);
        this.written.push(path);
      }
      this.known.add(path);
    }
    return { path, sha256, size: bytes.byteLength, mediaType };
  }
}
