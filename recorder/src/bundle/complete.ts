/**
 * Making a bundle complete (SPEC writing discipline rule 6): `complete: true` reaches disk only after every byte it
 * vouches for is durable, in two fsync waits rather than three.
 *
 *  1. The final manifest (saying `complete: true`) is written to its temporary file, not renamed: nothing reads it
 *     there, and a crash leaves the old manifest (`complete: false`) in place, plus a stray temporary file `verify`
 *     reports as such and `repair` ignores.
 *  2. One wave of fsyncs (the journal commits concurrent ones together): every file of the bundle (trace, session
 *     events, artifacts, projections, records, flow.json, bindings), every folder holding them (their names), and the
 *     manifest's temporary file. The files finished before the final projections (trace, session events, …) start
 *     theirs earlier: while the projections are built when the trace's unsynced tail is long, right after they are
 *     written otherwise (OVERLAP_FROM_LINES). Nothing has said `complete` yet, so their order among themselves does
 *     not matter.
 *  3. Only once every fsync of the wave has returned is the temporary manifest renamed into place: from that moment
 *     `complete: true` can be seen, and everything it describes is already on disk — including its own bytes, so the
 *     renamed file can never be empty or torn.
 *  4. The bundle folder is fsynced (again: it was in the wave too, so it is opened once), so the rename itself is
 *     durable before close() reports the bundle complete; with it, when the writer made the bundle folder (or the runs
 *     root above it), the folders holding those, so the bundle's own name is durable too. That needs no round of its
 *     own: a name lost in a crash loses the whole folder with it (no part of a bundle becomes visible), so it does not
 *     have to precede the rename. (Starting these fsyncs and flow.json's at open instead, while the run goes, measured
 *     slower here: both open and close took longer.)
 *
 * The final snapshot's files are fsynced through the descriptors that wrote them (renamed into place, still open), and
 * the files finished earlier by path (syncFinishedFiles): no path is looked up twice.
 *
 * A crash (of the process or of the machine) before step 3 returns leaves `complete: false`; after it, a complete
 * bundle. The earlier sequence fsynced the manifest's temporary file in a wait of its own between 2 and 3; since its
 * bytes are not visible before the rename, that wait bought nothing.
 */
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE_FILES, type ProjectionState } from '@flowtape/schema';
import type { ArtifactStore } from './artifacts.ts';
import type { BundleSessions } from './bundle-sessions.ts';
import type { CheckedPaths } from './confine.ts';
import { stageFileSync, syncFd, syncPath } from './fsio.ts';
import type { TraceObserver } from './recorder-api.ts';
import type { Snapshots } from './snapshots.ts';
import { closeObservers } from './trace-observers.ts';

/**
 * The fsyncs of the files finished before the final projections (the trace above all) start before those are built
 * only when the trace holds at least this many lines no fsync has covered yet (no periodic snapshot's background
 * fsync): then the trace's fsync takes long enough to be worth overlapping with building the projections. A short
 * tail's fsync is over in well under a millisecond, and started first, the projections' file creations and renames
 * ran while it did and were slower (strace, ext4: a rename 1.3 ms, a creation 0.18 ms, against a few tens of µs
 * otherwise): a 1-node run's close took a median 1.80 ms with the early start, 1.64 ms without (7 runs each,
 * bench:recorder's fixed cost, load ~2). 4,096 lines is about 1 MiB of trace.
 */
const OVERLAP_FROM_LINES = 4096;

/** What a closing writer made. */
export interface ClosingBundle {
  readonly bundleDir: string;
  readonly sessions: BundleSessions;
  readonly artifacts: ArtifactStore;
  /** This writer wrote flow.json (the run started here). */
  readonly wroteFlow: boolean;
  /** The folders (absolute) holding the folders made for this bundle: their entries are the new folders' names. */
  readonly madeParents: readonly string[];
}

/** The closing writer, as finishBundle uses it. */
export interface FinishingWriter extends ClosingBundle {
  /** Runs `fn` once every line queued so far is on disk, with the state they fold to (the trace writer's queue). */
  readonly trace: { task(fn: (state: ProjectionState) => void): Promise<void> };
  readonly snapshots: Snapshots;
  readonly checked: CheckedPaths;
  readonly options: { readonly traceObservers?: readonly TraceObserver[] };
  /** Writes every queued session line (throws the writer's first error). */
  flushSessions(): void;
  warn(message: string): void;
}

/**
 * What close() writes once the run's last event is queued: the last session lines, the final snapshot, the observers'
 * end, then the final manifest (`manifestText` of the final state) through makeComplete. The files complete once the
 * lines are (trace, session events, flow.json, bindings, artifacts) start their fsyncs before the final projections
 * are built when the trace's unsynced tail is long (OVERLAP_FROM_LINES: the trace's fsync and the final projections
 * overlap), else right after.
 */
export async function finishBundle(writer: FinishingWriter, manifestText: (state: ProjectionState) => string): Promise<void> {
  // The final snapshot's files, renamed into place and still open: makeComplete fsyncs and closes them.
  let written: number[] = [];
  const observers = writer.options.traceObservers ?? [];
  try {
    let early: Promise<unknown> = Promise.resolve();
    let manifest: string | undefined;
    await writer.trace.task((state) => {
      writer.flushSessions();
      const startSyncs = () => {
        early = Promise.all([writer.snapshots.settled(), syncFinishedFiles(writer)]);
        // Awaited in makeComplete; a failure meanwhile must not go unhandled.
        early.catch(() => {});
      };
      // Read before the final snapshot, which moves it to the last seq.
      const overlap = state.seq - writer.snapshots.reflectedSeq >= OVERLAP_FROM_LINES;
      if (overlap) startSyncs();
      written = writer.snapshots.write(state, true);
      if (!overlap) startSyncs();
      // No observer to finish: the final manifest is known now, without a second trip through the queue.
      if (observers.length === 0) manifest = manifestText(state);
    });
    manifest ??= await manifestAfterObservers(writer, observers, manifestText);
    // Everything becomes durable, then the manifest saying so.
    const wave = { files: written, folders: bundleFolders(writer), started: early, checked: writer.checked, names: writer.madeParents };
    written = [];
    await makeComplete(writer.bundleDir, BUNDLE_FILES.manifest, manifest, wave);
  } finally {
    for (const fd of written) closeQuietly(fd);
  }
}

/** Every event is committed: observers finish now, so what they report is in the final manifest. */
async function manifestAfterObservers(
  writer: FinishingWriter,
  observers: NonNullable<FinishingWriter['options']['traceObservers']>,
  manifestText: (state: ProjectionState) => string,
): Promise<string> {
  await closeObservers(observers, (m) => writer.warn(m));
  let manifest = '';
  await writer.trace.task((state) => {
    manifest = manifestText(state);
  });
  return manifest;
}

/**
 * Starts the fsyncs of the files no longer written to once the last lines are: all but the final snapshot's. Those
 * written once, early (flow.json, bindings: only those this writer made), are synced if still there.
 */
export function syncFinishedFiles(bundle: ClosingBundle): Promise<unknown> {
  const at = (path: string) => join(bundle.bundleDir, path);
  const once: string[] = bundle.wroteFlow ? [BUNDLE_FILES.flow] : [];
  for (const session of bundle.sessions.values()) once.push(session.files.events, session.files.binding);
  return Promise.all([
    syncPath(at(BUNDLE_FILES.trace)),
    ...once.map((path) => syncPath(at(path), true)),
    ...bundle.artifacts.written.map((path) => syncPath(at(path))),
  ]);
}

/** The folders below the bundle folder whose entries the bundle's files need (bundle-relative). */
export function bundleFolders(bundle: ClosingBundle): string[] {
  const dirs = ['projections'];
  if (bundle.artifacts.written.length > 0) dirs.push('artifacts');
  for (const session of bundle.sessions.values()) dirs.push(session.files.dir);
  if (bundle.sessions.size > 0) dirs.push(BUNDLE_FILES.sessionsDir);
  return dirs;
}

/** What makeComplete makes durable besides the manifest. */
export interface CompleteWave {
  /** Descriptors of files just written (the final snapshot's): fsynced in the wave, then closed. */
  files: readonly number[];
  /** Bundle-relative folders to fsync in the wave (the bundle folder itself always is). */
  folders: readonly string[];
  /** fsyncs of the wave the caller issued earlier (files it had finished writing): they must have returned too. */
  started?: Promise<unknown>;
  checked?: CheckedPaths;
  /** Folders (absolute) naming folders made for the bundle: fsynced with the bundle folder, after the rename. */
  names?: readonly string[];
}

export async function makeComplete(bundleDir: string, manifestPath: string, manifestText: string, wave: CompleteWave): Promise<void> {
  // The bundle folder is fsynced twice (in the wave, and after the rename): opened once.
  let dirFd: number | undefined;
  try {
    dirFd = openSync(bundleDir, 'r');
    const manifest = stageFileSync(bundleDir, manifestPath, (write) => write(manifestText), wave.checked);
    try {
      // Every fsync of the wave settles before anything is closed or renamed (none may still use a descriptor).
      const results = await Promise.allSettled([
        wave.started,
        syncFd(manifest.fd),
        syncFd(dirFd, true),
        ...wave.files.map((fd) => syncFd(fd)),
        ...wave.folders.map((path) => syncPath(join(bundleDir, path))),
      ]);
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
      manifest.commit();
    } catch (error) {
      manifest.discard();
      throw error;
    }
    await Promise.all([syncFd(dirFd, true), ...(wave.names ?? []).map((dir) => syncPath(dir))]);
  } finally {
    for (const fd of wave.files) closeQuietly(fd);
    if (dirFd !== undefined) closeQuietly(dirFd);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed: nothing to release
  }
}
