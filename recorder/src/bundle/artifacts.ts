/** Content-addressed artifact files: `artifacts/sha256-<hex>.<ext>`, written once, atomically. */
import { createHash } from 'node:crypto';
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactRef } from '@flowtape/schema';
import { writeFileAtomic } from './fsio.ts';

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
  private readonly inFlight = new Set<Promise<void>>();
  private dirReady: Promise<unknown> | undefined;
  private failure: Error | undefined;
  /** Bundle-relative paths this store wrote, for the final fsync. */
  readonly written: string[] = [];

  constructor(private readonly bundleDir: string) {}

  /**
   * Hashes the bytes now (so the reference can go into the trace at once) and queues the write. A second put of
   * the same bytes reuses the file.
   */
  put(content: string | Uint8Array, mediaType: string): ArtifactRef {
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const path = `artifacts/sha256-${sha256}.${extensionOf(mediaType)}`;
    if (!this.known.has(path)) {
      this.known.add(path);
      const write = this.write(path, bytes).then(
        () => void this.inFlight.delete(write),
        (error: unknown) => {
          this.inFlight.delete(write);
          this.failure ??= error instanceof Error ? error : new Error(String(error));
        },
      );
      this.inFlight.add(write);
    }
    return { path, sha256, size: bytes.byteLength, mediaType };
  }

  private async write(path: string, bytes: Uint8Array): Promise<void> {
    this.dirReady ??= mkdir(join(this.bundleDir, 'artifacts'), { recursive: true });
    await this.dirReady;
    const file = join(this.bundleDir, path);
    try {
      await access(file);
      return; // same name, same bytes: content-addressed
    } catch {
      // not there yet
    }
    await writeFileAtomic(file, bytes);
    this.written.push(path);
  }

  /** Resolves when every queued write has landed; rejects with the first write error. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
  }
}
