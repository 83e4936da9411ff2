// Bundles the user drops (a folder or a .zip) or picks with a file input, read through the File APIs.
import { mapSource, type BundleSource } from './types.ts';

type Loader = () => Promise<Uint8Array>;

function fileLoader(file: File): Loader {
  return async () => new Uint8Array(await file.arrayBuffer());
}

function readEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

function entryFile(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function walkEntry(entry: FileSystemEntry, prefix: string, out: Map<string, Loader>): Promise<void> {
  if (entry.isFile) {
    const file = await entryFile(entry as FileSystemFileEntry);
    out.set(prefix + entry.name, fileLoader(file));
  } else if (entry.isDirectory) {
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    // readEntries returns batches (100 in Chromium) until it returns an empty one.
    for (;;) {
      const batch = await readEntries(reader);
      if (batch.length === 0) break;
      for (const child of batch) await walkEntry(child, `${prefix}${entry.name}/`, out);
    }
  }
}

/** A .zip file, unpacked by zip.ts: its own chunk, loaded only when a zip is opened. */
async function openZip(file: File): Promise<BundleSource> {
  const { zipSource } = await import('./zip.ts');
  return zipSource(file.name, new Uint8Array(await file.arrayBuffer()));
}

/** A dropped folder, or the first dropped .zip. Undefined when the drop held neither. */
export async function sourceFromDrop(data: DataTransfer): Promise<BundleSource | undefined> {
  const entries = [...data.items]
    .filter((item) => item.kind === 'file')
    .map((item) => item.webkitGetAsEntry())
    .filter((e): e is FileSystemEntry => e !== null);
  const dir = entries.find((e) => e.isDirectory);
  if (dir) {
    const files = new Map<string, Loader>();
    await walkEntry(dir, '', files);
    return mapSource(dir.name, stripTop(files, dir.name));
  }
  const zip = [...data.files].find((f) => f.name.toLowerCase().endsWith('.zip'));
  if (zip) return openZip(zip);
  return undefined;
}

/** Files from `<input type=file webkitdirectory>` (a folder) or a plain input holding a .zip. */
export async function sourceFromFileList(list: FileList): Promise<BundleSource | undefined> {
  const all = [...list];
  const zip = all.find((f) => f.name.toLowerCase().endsWith('.zip'));
  if (zip && all.length === 1) return openZip(zip);
  const files = new Map<string, Loader>();
  for (const f of all) files.set(f.webkitRelativePath || f.name, fileLoader(f));
  const top = all[0]?.webkitRelativePath.split('/')[0];
  if (!top) return files.size > 0 ? mapSource('files', files) : undefined;
  return mapSource(top, stripTop(files, top));
}

function stripTop(files: Map<string, Loader>, top: string): Map<string, Loader> {
  const out = new Map<string, Loader>();
  for (const [path, load] of files) out.set(path.startsWith(top + '/') ? path.slice(top.length + 1) : path, load);
  return out;
}
