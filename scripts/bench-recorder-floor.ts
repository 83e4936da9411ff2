/**
 * The durable-bundle floor of bench-recorder: what it costs, with no recorder at all, to put on disk, durably, the
 * very bundle a recorded run just wrote. Its folders are made and its files created with the same bytes (read back
 * from the recorded bundle before each write, outside the timing), written with plain `fs` calls, and made durable
 * with the fsyncs the recorder's close makes (complete.ts): every file and every folder of the bundle in one wave of
 * concurrent fsyncs, then the manifest renamed into place from its temporary file (it says `complete`, so it is
 * visible last), then the bundle folder and the folder holding it (the bundle folder is new: its name) fsynced.
 *
 * What the recorder does on top, and the floor does not: the trace's lines encoded from events and appended in
 * batches while the run goes, the reducer's fold, the projections built and serialized, flow.json built from the
 * flow, the first manifest, files replaced through temporary files (readers see whole files), paths confined to
 * the bundle, the fsyncs of flow.json and the trace opened by path.
 */
import { closeSync, fsync, mkdirSync, openSync, readdirSync, readSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** The file that says the bundle is complete: written last, through a temporary file and a rename. */
const MANIFEST = 'manifest.json';
/** Files are copied in pieces of this size: a 1,000,000-node trace is larger than memory should hold at once. */
const PIECE = 1 << 24;
let buffer: Buffer | undefined;

/** The bundle's folders (bundle-relative, parents first; '' is the bundle folder) and files. */
function walk(root: string, rel = '', out = { folders: [''], files: [] as string[] }): typeof out {
  for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) {
      out.folders.push(path);
      walk(root, path, out);
    } else if (entry.isFile()) out.files.push(path);
  }
  return out;
}

const fsyncFd = (fd: number): Promise<void> => new Promise((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));

/**
 * Writes a durable copy of `bundleDir` as `<into>/bundle` (`into` exists, the bundle folder is made here) and returns
 * the time it took in ms, not counting the reads of the recorded bundle.
 */
export async function durableFloor(bundleDir: string, into: string): Promise<number> {
  const { folders, files } = walk(bundleDir);
  // The manifest last, as in the recorder: it is the file that says the rest is there.
  files.sort((a, b) => Number(a === MANIFEST) - Number(b === MANIFEST));
  const target = join(into, 'bundle');
  buffer ??= Buffer.allocUnsafe(PIECE);
  let ms = 0;
  const timed = <T>(fn: () => T): T => {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      ms += performance.now() - t0;
    }
  };
  timed(() => {
    for (const folder of folders) mkdirSync(join(target, folder));
  });
  const fds: number[] = [];
  try {
    for (const file of files) {
      const fd = timed(() => openSync(join(target, file === MANIFEST ? `.${MANIFEST}.tmp` : file), 'wx'));
      fds.push(fd);
      const source = openSync(join(bundleDir, file), 'r');
      try {
        for (let n = readSync(source, buffer, 0, PIECE, null); n > 0; n = readSync(source, buffer, 0, PIECE, null)) {
          const piece = buffer.subarray(0, n);
          timed(() => {
            for (let offset = 0; offset < n; ) offset += writeSync(fd, piece, offset);
          });
        }
      } finally {
        closeSync(source);
      }
    }
    const t0 = performance.now();
    const folderFds = folders.map((folder) => openSync(join(target, folder), 'r'));
    fds.push(...folderFds);
    await Promise.all([...fds].map(fsyncFd));
    if (files.includes(MANIFEST)) renameSync(join(target, `.${MANIFEST}.tmp`), join(target, MANIFEST));
    const parent = openSync(into, 'r');
    fds.push(parent);
    await Promise.all([fsyncFd(folderFds[0]!), fsyncFd(parent)]);
    for (const fd of fds.splice(0)) closeSync(fd);
    ms += performance.now() - t0;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  return ms;
}
