/** `flowtape verify`: the artifacts directory (names, hashes, sizes, references), links, and leftovers of writers. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BUNDLE_FILES, printablePath } from '@flowtape/schema';
import { findLinks, linkProblem } from '../bundle/confine.ts';
import { isRegularFile, type VerifyContext } from './verify-context.ts';
import type { ArtifactUse } from './verify-sessions.ts';

const ARTIFACT_NAME = /^sha256-([0-9a-f]{64})(?:\.([a-z0-9]{1,16}))?$/;

export async function verifyArtifacts(v: VerifyContext, uses: Map<string, ArtifactUse>): Promise<void> {
  const dir = BUNDLE_FILES.artifactsDir;
  let names: string[] = [];
  try {
    names = await readdir(join(v.root, dir));
  } catch {
    // no artifacts directory: fine unless something references one (below)
  }
  const present = new Map<string, number>();
  for (const name of names.sort()) {
    const path = `${dir}/${name}`;
    if (name.startsWith('.') && name.endsWith('.tmp')) {
      v.notes.push(`${path}: a temporary file left by an interrupted write`);
      continue;
    }
    const match = ARTIFACT_NAME.exec(name);
    if (!match) {
      v.add(path, 'not a content-addressed name (sha256-<hex>.<ext>)');
      continue;
    }
    const file = await v.resolve(path);
    if (!file) continue;
    if (!(await isRegularFile(file))) {
      v.add(path, 'not a regular file');
      continue;
    }
    const { sha256, size } = await hashFile(file);
    if (sha256 !== match[1]) v.add(path, `content hash is ${sha256}: the file does not match its name`);
    present.set(path, size);
  }
  v.summary.artifacts = present.size;
  for (const [path, use] of uses) {
    const size = present.get(path);
    const where = use.line > 0 ? `${use.file}:${use.line}` : use.file;
    if (size === undefined) {
      if (!names.includes(path.slice(dir.length + 1))) v.add(path, `missing (referenced at ${where})`);
      continue;
    }
    if (size !== use.size) v.add(path, `is ${size} bytes, but ${where} says ${use.size}`);
    if (!path.includes(use.sha256)) v.add(use.file, `artifact sha256 ${use.sha256} does not match its path ${path}`, use.line);
  }
}

/**
 * A bundle holds regular files and folders only: writers refuse symlinks (a write through one lands outside) and
 * hard-linked files they append to. A symlink already reported as leading outside is not reported twice.
 */
export function verifyLinks(v: VerifyContext): void {
  const reported = new Set(v.problems.map((p) => p.file));
  for (const entry of findLinks(v.root)) {
    if (entry.kind === 'symlink' && reported.has(entry.path)) continue;
    v.add(printablePath(entry.path), linkProblem(entry));
  }
}

export async function noteLeftovers(v: VerifyContext): Promise<void> {
  for (const dir of ['', 'projections']) {
    let names: string[] = [];
    try {
      names = await readdir(join(v.root, dir));
    } catch {
      continue;
    }
    for (const name of names) {
      const path = dir ? `${dir}/${name}` : name;
      if (name === '.flowtape.lock') v.notes.push(`${path}: a writer holds (or held) the lock`);
      else if (name.startsWith('.') && name.endsWith('.tmp')) v.notes.push(`${path}: a temporary file left by an interrupted write`);
    }
  }
}

/** Every artifact reference inside a payload (ValueRefs and `artifact.written`). */
export function collectArtifacts(value: unknown, found: (ref: { path: string; sha256: string; size: number }) => void): void {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) collectArtifacts(item, found);
    return;
  }
  const record = value as Record<string, unknown>;
  if (typeof record.path === 'string' && record.path.startsWith('artifacts/') && typeof record.sha256 === 'string' && typeof record.size === 'number') {
    found({ path: record.path, sha256: record.sha256, size: record.size });
    return;
  }
  for (const key in record) {
    // Inline values are user data, not references.
    if (key === 'inline') continue;
    collectArtifacts(record[key], found);
  }
}

async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).byteLength;
  }
  return { sha256: hash.digest('hex'), size };
}
