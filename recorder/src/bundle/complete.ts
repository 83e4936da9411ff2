/**
 * Making a bundle complete (SPEC writing discipline rule 6): `complete: true` reaches disk only after every byte it
 * vouches for is durable, in two fsync waits rather than three.
 *
 *  1. The final manifest (saying `complete: true`) is written to its temporary file, not renamed: nothing reads it
 *     there, and a crash leaves the old manifest (`complete: false`) in place, plus a stray temporary file `verify`
 *     reports as such and `repair` ignores.
 *  2. One wave of fsyncs, all issued at once (the journal commits them together): every file of the bundle (trace,
 *     session events, artifacts, projections, records, flow.json, bindings), every folder holding them (their names),
 *     and the manifest's temporary file. Nothing has said `complete` yet, so their order among themselves does not
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
import { join } from 'node:path';
import { stageFileSync, syncFd, syncPath } from './fsio.ts';

export async function makeComplete(bundleDir: string, manifestPath: string, manifestText: string, paths: readonly string[]): Promise<void> {
  const manifest = stageFileSync(bundleDir, manifestPath, (write) => write(manifestText));
  try {
    await Promise.all([syncFd(manifest.fd), ...paths.map((path) => syncPath(join(bundleDir, path)))]);
    manifest.commit();
  } catch (error) {
    manifest.discard();
    throw error;
  }
  await syncPath(bundleDir);
}
