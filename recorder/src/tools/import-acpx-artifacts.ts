// The artifacts of an acpx run being imported: each one the trace refers to (or that lies in artifacts/) is checked
// against its name (sha256 of its content) once; only those that match are carried over, and values whose
// artifact is missing are kept inline from acpx's projections where they are there.
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import type { ArtifactRef, ValueRef } from '@flowtape/schema';
import type { AcpxRunFiles } from './import-acpx-source.ts';
import { asObject, isRef, type AcpxEvent, type Json } from './import-acpx-values.ts';

export class AcpxArtifacts {
  /** Source artifact path → verified (content matches the name), or undefined when missing or corrupt. */
  readonly checked = new Map<string, { size: number } | undefined>();

  constructor(
    private readonly files: AcpxRunFiles,
    private readonly warn: (message: string) => void,
  ) {}

  async check(trace: AcpxEvent[]): Promise<void> {
    const paths = new Set<string>();
    const visit = (value: unknown) => {
      if (Array.isArray(value)) value.forEach(visit);
      else if (asObject(value)) {
        const o = value as Json;
        if (isRef(o) && /^artifacts\/sha256-[0-9a-f]{64}(\.[a-z0-9]{1,16})?$/.test(o.path)) paths.add(o.path);
        Object.values(o).forEach(visit);
      }
    };
    for (const e of trace) visit(e.payload);
    let names: string[] = [];
    const artifactsDir = await this.files.source('artifacts');
    try {
      if (artifactsDir) names = await readdir(artifactsDir);
    } catch {
      // not a directory
    }
    for (const name of names) if (/^sha256-[0-9a-f]{64}(\.[a-z0-9]{1,16})?$/.test(name)) paths.add(`artifacts/${name}`);
    for (const path of [...paths].sort()) {
      let bytes: Buffer;
      const file = await this.files.source(path);
      try {
        if (!file) throw new Error('missing');
        bytes = await readFile(file);
      } catch {
        this.warn(`${path}: referenced by the acpx trace but missing`);
        this.checked.set(path, undefined);
        continue;
      }
      const hash = createHash('sha256').update(bytes).digest('hex');
      if (!path.includes(hash)) {
        this.warn(`${path}: content does not match its name (sha256 ${hash}); not imported`);
        this.checked.set(path, undefined);
        continue;
      }
      this.checked.set(path, { size: bytes.length });
    }
  }

  /** The content of a checked artifact: parsed when it is JSON, else its text; undefined when missing or unreadable. */
  async readJson(ref: unknown): Promise<unknown> {
    if (!isRef(ref) || !this.checked.get(ref.path)) return undefined;
    const file = await this.files.source(ref.path);
    try {
      const text = await readFile(file!, 'utf8');
      return (ref.mediaType ?? '').includes('json') || ref.path.endsWith('.json') ? JSON.parse(text) : text;
    } catch {
      return undefined;
    }
  }

  /** An acpx artifact ref as a flowtape one, when the file is there and matches its name. */
  ref(ref: unknown): ArtifactRef | undefined {
    if (!isRef(ref)) return undefined;
    const check = this.checked.get(ref.path);
    if (!check) return undefined;
    const sha256 = /sha256-([0-9a-f]{64})/.exec(ref.path)?.[1];
    if (!sha256) return undefined;
    const artifact: ArtifactRef = { path: ref.path, sha256, size: check.size, mediaType: ref.mediaType ?? (ref.path.endsWith('.json') ? 'application/json' : 'text/plain') };
    return artifact;
  }

  /** A value as acpx gave it: its artifact when that is there, else `fallback` inline (with a warning), else lost. */
  value(ref: unknown, fallback: unknown, what: string): ValueRef | undefined {
    const artifact = this.ref(ref);
    if (artifact) return { artifact };
    if (fallback !== undefined) {
      if (isRef(ref)) this.warn(`${what}: artifact ${ref.path} missing; the value is kept inline from the acpx projections`);
      return { inline: fallback as never };
    }
    if (isRef(ref)) this.warn(`${what}: artifact ${ref.path} missing; value lost`);
    return undefined;
  }
}
