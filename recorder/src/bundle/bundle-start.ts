/**
 * What a writer does once, before its first trace line: the bundle folder made (with projections/) or checked, the
 * folders made for it remembered, a folder already holding a bundle refused, and the first manifest written. Separate
 * from the writer (recorder.ts) because none of it is part of the steady writing: it runs at the first event only.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BUNDLE_FILES, type Manifest, type ProjectionState } from '@flowtape/schema';
import { ensureFolder, type CheckedPaths } from './confine.ts';
import { writeFileAtomicChunksSync } from './fsio.ts';
import { TraceExistsError } from './trace-writer.ts';

/**
 * Makes sure the bundle folder and its projections/ exist. The bundle folder usually exists (record() made it): one
 * mkdir, of projections/, and no more. `onMade` gets the topmost folder made for the bundle, before projections/ is
 * made in it (see foldersAbove).
 */
export function prepareBundleFolder(bundleDir: string, checked: CheckedPaths, onMade: (made: string) => void): void {
  try {
    ensureFolder(bundleDir, 'projections', checked);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const made = mkdirSync(bundleDir, { recursive: true });
    if (made !== undefined) onMade(made);
    ensureFolder(bundleDir, 'projections', checked);
  }
}

/**
 * The folders holding the folders from `made` down to the bundle folder (outermost first): those were just made
 * (mkdir), so their names get fsynced (in these parents) before the bundle says complete. `made` not above the bundle:
 * undefined.
 */
export function foldersAbove(bundleDir: string, made: string): string[] | undefined {
  const parents: string[] = [];
  for (let dir = bundleDir; ; dir = dirname(dir)) {
    parents.push(dirname(dir));
    if (dir === made) break;
    if (dirname(dir) === dir) return undefined;
  }
  return parents.reverse();
}

/**
 * Throws when the folder already holds a bundle (a manifest or a trace): the exclusive writer replaces neither its
 * flow.json nor its manifest. (Of two runs started into one folder at the same moment, the trace's O_EXCL creation
 * still lets exactly one append.)
 */
export function refuseExistingBundle(bundleDir: string): void {
  for (const file of [BUNDLE_FILES.manifest, BUNDLE_FILES.trace]) {
    if (existsSync(join(bundleDir, file))) {
      throw new TraceExistsError(`${join(bundleDir, file)} already exists: a bundle is never overwritten (use resume)`);
    }
  }
}

/** The writer as its first manifest needs it. */
export interface StartingWriter {
  readonly bundleDir: string;
  readonly shared: boolean;
  readonly checked: CheckedPaths;
  readonly trace: { readonly state: ProjectionState; task(fn: (state: ProjectionState) => void): Promise<void> };
  manifest(state: ProjectionState, complete: boolean): Manifest;
}

/**
 * The manifest is written before the first trace line (SPEC, writing discipline rule 1): from the moment a line
 * can be on disk, the bundle names its writer (pid, host, `exclusive`), so `repair` can always tell a crashed run
 * from a live one, and `verify`, `ls` and the viewer always find a bundle. Written here rather than after the first
 * line because a SIGKILL between that line and the manifest left a trace that no tool would repair.
 * The exclusive writer writes it at once, before the runtime starts any node; a shared writer under the lock,
 * only if the bundle has neither a line nor a manifest yet (another writer may have started it).
 */
export function writeFirstManifest(writer: StartingWriter, fail: (error: unknown) => void): void {
  const write = (state: ProjectionState) =>
    writeFileAtomicChunksSync(
      writer.bundleDir,
      BUNDLE_FILES.manifest,
      (chunk) => chunk(`${JSON.stringify(writer.manifest(state, false), null, 2)}\n`),
      false,
      writer.checked,
    );
  if (!writer.shared) {
    write(writer.trace.state);
    return;
  }
  writer.trace
    .task((state) => {
      if (state.seq === 0 && !existsSync(join(writer.bundleDir, BUNDLE_FILES.manifest))) write(state);
    })
    .catch((error: unknown) => {
      fail(error);
    });
}
