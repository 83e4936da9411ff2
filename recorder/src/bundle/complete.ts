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
 *     theirs earlier, while the projections are built. Nothing has said `complete` yet, so their order among themselves does not
 *     matter.
 *  3. Only once every fsync of the wave has returned is the temporary manifest renamed into place: from that moment
 *     `complete: true` can be seen, and everything it describes is already on disk — including its own bytes, so the
 *     renamed file can never be empty or torn.
 *  4. The bundle folder is fsynced, so the rename itself is durable before close() reports the bundle complete.
 *
 * A crash (of the process or of the machine) before step 3 returns leaves `complete: false`; after it, a complete
 * bundle. The earlier sequence fsynced the manifest's temporary file in a wait of its own between 2 and 3; since its
 * bytes are not visible before the rename, that wait bought nothing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE_FILES } from '@flowtape/schema';
import type { ArtifactStore } from './artifacts.ts';
import type { BundleSessions } from './bundle-sessions.ts';
import { stageFileSync, syncFd, syncPath } from './fsio.ts';

/** What a closing writer made. */
export interface ClosingBundle {
  readonly bundleDir: string;
  readonly sessions: BundleSessions;
  readonly artifacts: ArtifactStore;
  /** This writer wrote flow.json (the run started here). */
  readonly wroteFlow: boolean;
}

/** The files no longer written to once the last lines are (bundle-relative): all but the final snapshot's. */
export function finishedFiles(bundle: ClosingBundle): string[] {
  const sessionFiles = [...bundle.sessions.values()].flatMap((s) => [s.files.events, s.files.binding]);
  return [
    BUNDLE_FILES.trace,
    // flow.json and bindings were written once, early: durable now like the rest (only those this writer made).
    ...[...(bundle.wroteFlow ? [BUNDLE_FILES.flow] : []), ...sessionFiles].filter((f) => existsSync(join(bundle.bundleDir, f))),
    ...bundle.artifacts.written,
  ];
}

/** The folders whose entries the bundle's files need (bundle-relative; `.` is the bundle folder). */
export function bundleFolders(bundle: ClosingBundle): string[] {
  const dirs = ['.', 'projections'];
  if (bundle.artifacts.written.length > 0) dirs.push('artifacts');
  for (const session of bundle.sessions.values()) dirs.push(session.files.dir);
  if (bundle.sessions.size > 0) dirs.push(BUNDLE_FILES.sessionsDir);
  return dirs;
}

/**
 * `paths`: bundle-relative files and folders to fsync in the wave; `started`: fsyncs of the wave the caller issued
 * earlier (files it had finished writing), which must also have returned before the rename.
 */
export async function makeComplete(
  bundleDir: string,
  manifestPath: string,
  manifestText: string,
  paths: readonly string[],
  started: Promise<unknown> = Promise.resolve(),
): Promise<void> {
  const manifest = stageFileSync(bundleDir, manifestPath, (write) => write(manifestText));
  try {
    await Promise.all([started, syncFd(manifest.fd), ...paths.map((path) => syncPath(join(bundleDir, path)))]);
    manifest.commit();
  } catch (error) {
    manifest.discard();
    throw error;
  }
  await syncPath(bundleDir);
}
