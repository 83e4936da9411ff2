// A packed bundle (`.zip`, e.g. from `flowtape pack`), unpacked in memory with fflate: each entry when it is first
// read, so what no bundle in the zip references (or a zip bomb beside the bundle) is never inflated.
import { unzip, type UnzipFileInfo } from 'fflate';
import { mapSource, type BundleSource } from './types.ts';

/** The largest entry inflated (its declared size): held in memory, as a browser tab can. */
const MAX_ENTRY_BYTES = 2 ** 30;

function unzipWith(label: string, data: Uint8Array, filter: (entry: UnzipFileInfo) => boolean): Promise<Record<string, Uint8Array>> {
  return new Promise((resolve, reject) => {
    unzip(data, { filter }, (err, out) => (err ? reject(new Error(`${label}: not a readable zip (${err.message})`)) : resolve(out)));
  });
}

export async function zipSource(label: string, data: Uint8Array): Promise<BundleSource> {
  // The names and sizes alone: the filter keeps nothing.
  const entries = new Map<string, UnzipFileInfo>();
  await unzipWith(label, data, (entry) => {
    if (!entry.name.endsWith('/')) entries.set(entry.name, entry); // not a directory entry
    return false;
  });
  const files = new Map<string, () => Promise<Uint8Array>>();
  for (const [name, entry] of entries) {
    const clean = name.replace(/^\.?\//, '');
    // Zip entries are names, not paths: refuse ones that would not be inside a folder.
    if (clean.startsWith('/') || clean.split('/').includes('..')) continue;
    let bytes: Promise<Uint8Array> | undefined;
    files.set(clean, () => {
      if (entry.originalSize > MAX_ENTRY_BYTES) {
        return Promise.reject(new Error(`${label}: ${clean} unpacks to ${entry.originalSize.toLocaleString('en-US')} bytes, more than a zip entry is opened with here: unzip it and open the folder`));
      }
      bytes ??= unzipWith(label, data, (other) => other.name === name).then((out) => out[name] ?? new Uint8Array(0));
      return bytes;
    });
  }
  return mapSource(label, files);
}
