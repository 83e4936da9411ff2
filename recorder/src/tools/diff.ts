/**
 * `flowtape diff` on files: opens the two bundles (directories or `.zip`) and runs the one diff engine of
 * `@flowtape/schema/diff`, which the viewer's compare mode runs too. This machine's temp and home directories are
 * volatile roots.
 */
import { homedir, tmpdir } from 'node:os';
import { diffBundleSides, type DiffOptions, type DiffResult, type DiffSide } from '@flowtape/schema/diff';
import { openBundle } from './fs-backend.ts';

export type { DiffOptions, DiffResult, Difference, DiffSection, PathHunk, SideSummary } from '@flowtape/schema/diff';
export { SECTIONS } from '@flowtape/schema/diff';

/** A bundle on disk as one side of a diff. */
export function fileSide(location: string): DiffSide {
  return {
    location,
    open: async () => {
      const backend = await openBundle(location);
      return { backend, dir: backend.dir };
    },
  };
}

/** This machine's volatile roots, as `flowtape diff` and `flowtape view <a> <b>` give them to the engine. */
export function machineRoots(): NonNullable<DiffOptions['machine']> {
  return { tmpDir: tmpdir(), homeDir: homedir() };
}

export function diffBundles(locationA: string, locationB: string, options: DiffOptions = {}): Promise<DiffResult> {
  return diffBundleSides(fileSide(locationA), fileSide(locationB), { machine: machineRoots(), ...options });
}
