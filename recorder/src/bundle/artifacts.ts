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
  // Images and audio an agent sends in a message (record.json's content items). An SVG is `bin`: the viewer
  // server gives it no image type, so it is never rendered (it can carry script).
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'audio/wav': 'wav',
  'audio/mpeg': 'mp3',
  'audio/ogg': 'ogg',
};

export function extensionOf(mediaType: string): string {
  return EXTENSIONS[mediaType.split(';')[0]!.trim().toLowerCase()] ?? 'bin';
}

/** The reference `bytes` get as an artifact (nothing is written). */
export function artifactRef(bytes: Uint8Array, mediaType: string): ArtifactRef {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { path: `artifacts/sha256-${sha256}.${extensionOf(mediaType)}`, sha256, size: bytes.byteLength, mediaType };
}

/** The bytes of a content block's base64 `data` (or `blob`), as the artifact holding them has them. */
export function decodeBase64(base64: string): Buffer {
  return Buffer.from(base64, 'base64');
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
    const ref = artifactRef(bytes, mediaType);
    const { path } = ref;
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
    return ref;
  }

  /** A BlobStore for the conversation builder: a content block's base64 bytes, stored. */
  readonly storeBlob = (base64: string, mediaType: string): ArtifactRef => this.put(decodeBase64(base64), mediaType);
}
