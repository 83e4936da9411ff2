// Reading a bundle's manifest.json and flow.json for the viewer: each problem becomes one issue naming the file, and
// loading goes on without the document (the default file layout, a graph built from the trace). A newer major
// version of the manifest is the one fatal case. Kept apart from loader.ts: a first load and a live poll both read
// them, and the trace's streaming is a job of its own.
import { BUNDLE_FILES, BundleFormatError, NewerFormatError, type FlowSnapshot, type Manifest } from '@flowtape/schema';
import type { BundleBackend } from '../backend/types.ts';
import type { BundleIssue } from './bundle-model.ts';
import { readDocument, type DeferredDocument } from './documents.ts';

const decoder = new TextDecoder();

export function describe(err: unknown, file: string): string {
  if (err instanceof BundleFormatError || err instanceof NewerFormatError) return err.message;
  return `${file}: ${(err as Error)?.message ?? String(err)}`;
}

/** `deferred` collects a manifest used after the structural check alone (documents.ts): zod checks it after load. */
export async function readManifest(backend: BundleBackend, issues: BundleIssue[], deferred?: DeferredDocument[]):
  Promise<{ manifest?: Manifest; text?: string; fatal?: string }> {
  const file = BUNDLE_FILES.manifest;
  let bytes: Uint8Array | undefined;
  try {
    bytes = await backend.read(file);
  } catch (err) {
    issues.push({ file, severity: 'error', message: describe(err, file) });
    return {};
  }
  if (!bytes) {
    issues.push({ file, severity: 'error', message: `${file}: missing — reading the default file layout` });
    return {};
  }
  const text = decoder.decode(bytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    issues.push({ file, severity: 'error', message: `${file}: not valid JSON (${(err as Error).message.split('\n')[0]})` });
    return { text };
  }
  try {
    return { manifest: await readDocument('manifest', value, file, deferred), text };
  } catch (err) {
    if (err instanceof NewerFormatError) return { text, fatal: err.message };
    issues.push({ file, severity: 'error', message: describe(err, file) });
    return { text };
  }
}

export async function readFlow(
  backend: BundleBackend,
  path: string,
  issues: BundleIssue[],
  prefetched?: Promise<Uint8Array | undefined>,
  deferred?: DeferredDocument[],
): Promise<FlowSnapshot | undefined> {
  try {
    const bytes = await (prefetched ?? backend.read(path));
    if (!bytes) {
      issues.push({ file: path, severity: 'error', message: `${path}: missing — the graph shows only nodes seen in the trace` });
      return undefined;
    }
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(bytes));
    } catch (err) {
      issues.push({ file: path, severity: 'error', message: `${path}: not valid JSON (${(err as Error).message.split('\n')[0]})` });
      return undefined;
    }
    return await readDocument('flow', value, path, deferred);
  } catch (err) {
    issues.push({ file: path, severity: 'error', message: describe(err, path) });
    return undefined;
  }
}
