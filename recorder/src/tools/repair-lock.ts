/**
 * The bundle lock as `flowtape repair` sees it: a real repair takes it (proper-lockfile, the lock the recorder takes
 * for each shared batch); a dry run only looks at it, so it writes nothing (not even the lock folder, whose making and
 * removal change the bundle folder's mtime) and works on a read-only bundle.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';

/** The lock file the recorder uses for shared writes (`recorder/src/bundle/recorder.ts`). */
export const BUNDLE_LOCKFILE = '.flowtape.lock';

/** The same staleness the recorder's writer uses: a lock not refreshed for this long belongs to a dead process. */
const STALE_MS = 10_000;
const POLL_MS = 100;

type Refuse = (message: string) => never;

const lockOptions = (bundleDir: string) => ({ lockfilePath: join(bundleDir, BUNDLE_LOCKFILE), realpath: false, stale: STALE_MS });

const heldByWriter = 'the bundle is locked by another process (a live writer); not repairing';

/** An errno error without the path and syscall Node appends (`EACCES: permission denied, mkdir '…'`). */
function reason(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  const text = String(message ?? error).split('\n')[0]!.replace(/, \w+ '.*'$/, '');
  return code && !text.startsWith(code) ? `${code}: ${text}` : text;
}

/** Permission and read-only-filesystem errors: the likely cause is a bundle the user may read but not write. */
function looksReadOnly(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
}

/**
 * Takes the bundle lock, waiting up to `waitMs` while another process holds it. Only a held lock is waited for: any
 * other failure (a read-only bundle, say) is refused at once in one line, not retried for `waitMs` and then thrown as a
 * raw errno.
 */
export async function lockBundle(bundleDir: string, waitMs: number, refuse: Refuse): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await lockfile.lock(bundleDir, lockOptions(bundleDir));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') {
        refuse(`cannot lock the bundle to repair it (${reason(error)}${looksReadOnly(error) ? '; read-only?' : ''})`);
      }
      if (Date.now() >= deadline) refuse(heldByWriter);
      await sleep(POLL_MS);
    }
  }
}

/**
 * For a dry run: refuses, as a real repair would, when a live process holds the lock for longer than `waitMs`, without
 * taking it. A writer holds it only for a batch, so a lock that is freed while we wait is no reason to refuse.
 */
export async function refuseIfLocked(bundleDir: string, waitMs: number, refuse: Refuse): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    let held: boolean;
    try {
      held = await lockfile.check(bundleDir, lockOptions(bundleDir));
    } catch (error) {
      refuse(`cannot check the bundle lock (${reason(error)})`);
    }
    if (!held) return;
    if (Date.now() >= deadline) refuse(heldByWriter);
    await sleep(POLL_MS);
  }
}
