// A packed bundle (`.zip`, e.g. from `flowtape pack`), unpacked in memory with fflate.
import { unzip } from 'fflate';
import { mapSource, type BundleSource } from './types.ts';

export async function zipSource(label: string, data: Uint8Array): Promise<BundleSource> {
  const entries = await new Promise<Record<string, Uint8Array>>((resolve, reject) => {
    unzip(data, (err, out) => (err ? reject(new Error(`${label}: not a readable zip (${err.message})`)) : resolve(out)));
  });
  const files = new Map<string, () => Promise<Uint8Array>>();
  for (const [name, bytes] of Object.entries(entries)) {
    if (name.endsWith('/')) continue; // directory entry
    const clean = name.replace(/^\.?\//, '');
    // Zip entries are names, not paths: refuse ones that would not be inside a folder.
    if (clean.startsWith('/') || clean.split('/').includes('..')) continue;
    files.set(clean, async () => bytes);
  }
  return mapSource(label, files);
}
