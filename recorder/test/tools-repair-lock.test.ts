// `flowtape repair` and the bundle lock: a dry run writes nothing (not even the lock) and works on a read-only bundle;
// a lock that cannot be taken for another reason than a live holder is one line, not a raw errno (review13, finding 4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, utimesSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { BUNDLE_LOCKFILE, RepairError, repairBundle } from '../src/tools/repair.ts';
import { BundleBuilder, linearFlow } from '../../test/fixtures/bundle-builder.ts';
import { flowtapeBin } from './recorder-support.ts';

async function scratch(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flowtape-repair-lock-'));
  t.after(async () => {
    await chmodTree(dir, 0o755).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

/** A run whose writer died with b#1 open: a repair has something to do (close b#1, mark the run abandoned). */
function abandonedRun(dir: string): void {
  const f = new BundleBuilder(dir, linearFlow('three', ['a', 'b', 'c']), {
    runId: 'run-crashed',
    writer: { name: 'flowtape', version: '0.1.0', pid: deadPid(), hostname: hostname() },
  });
  f.runStarted({ x: 1 });
  f.node('a', { output: 1, next: { to: 'b' } });
  f.node('b', { open: true });
  f.finish();
}

async function chmodTree(path: string, mode: number): Promise<void> {
  await chmod(path, mode);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (entry.isDirectory()) await chmodTree(join(path, entry.name), mode);
    else if (entry.isFile()) await chmod(join(path, entry.name), mode & 0o555);
  }
}

/** Every file's bytes and every folder's mtime below `dir`: what "writes nothing" means. */
async function footprint(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>([['.', String(statSync(dir).mtimeMs)]]);
  const walk = async (rel: string) => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        out.set(`${path}/`, String(statSync(join(dir, path)).mtimeMs));
        await walk(path);
      } else {
        out.set(path, await readFile(join(dir, path), 'utf8'));
      }
    }
  };
  await walk('');
  return out;
}

const past = new Date('2020-01-01T00:00:00Z');

test('repair --dry-run writes nothing: no lock folder made, the bundle folder keeps its mtime', async (t) => {
  const dir = join(await scratch(t), 'bundle');
  abandonedRun(dir);
  utimesSync(dir, past, past);
  const before = await footprint(dir);

  const report = await repairBundle(dir, { dryRun: true });
  assert.equal(report.abandoned, true, 'the dry run still says what a repair would do');
  assert.deepEqual(report.interrupted, ['b#1']);
  assert.equal(statSync(dir).mtimeMs, past.getTime(), 'the bundle folder was written to (a lock made and removed)');
  assert.equal(existsSync(join(dir, BUNDLE_LOCKFILE)), false);
  assert.deepEqual(await footprint(dir), before);

  // The real repair still takes the lock (and releases it).
  const repaired = await repairBundle(dir);
  assert.equal(repaired.abandoned, true);
  assert.equal(existsSync(join(dir, BUNDLE_LOCKFILE)), false);
});

test('repair --dry-run still refuses while a live process holds the lock, and goes on once it is released', async (t) => {
  const dir = join(await scratch(t), 'bundle');
  abandonedRun(dir);
  const release = await lockfile.lock(dir, { lockfilePath: join(dir, BUNDLE_LOCKFILE), realpath: false });
  try {
    await assert.rejects(repairBundle(dir, { dryRun: true, lockWaitMs: 200 }), (error: Error) => {
      assert.ok(error instanceof RepairError, String(error));
      assert.match(error.message, /locked by another process \(a live writer\); not repairing/);
      return true;
    });
    // A writer holds the lock for one batch: a dry run waits for it as a repair does.
    const waited = repairBundle(dir, { dryRun: true, lockWaitMs: 5000 });
    setTimeout(() => void release(), 300);
    assert.equal((await waited).abandoned, true);
  } finally {
    await release().catch(() => {});
  }
});

test('a lock that cannot be made (a stale file in its place) is one RepairError line, not a raw errno', async (t) => {
  const dir = join(await scratch(t), 'bundle');
  abandonedRun(dir);
  // proper-lockfile finds EEXIST, sees a stale lock and fails to rmdir a file (ENOTDIR): fails as root too.
  await writeFile(join(dir, BUNDLE_LOCKFILE), '');
  utimesSync(join(dir, BUNDLE_LOCKFILE), past, past);
  const started = Date.now();
  await assert.rejects(repairBundle(dir), (error: Error) => {
    assert.ok(error instanceof RepairError, String(error));
    assert.equal(error.message, `${dir}: cannot lock the bundle to repair it (ENOTDIR: not a directory)`);
    return true;
  });
  assert.ok(Date.now() - started < 2500, 'only a held lock is waited for');
  // A dry run does not take the lock, so it is not in its way.
  assert.equal((await repairBundle(dir, { dryRun: true })).abandoned, true);
});

/** Runs the CLI as an unprivileged user when we are root (root may write anywhere), else as ourselves. */
function runAsUser(args: string[], cwd: string) {
  const asRoot = process.getuid?.() === 0;
  const [command, ...rest] = asRoot
    ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, flowtapeBin, ...args]
    : [process.execPath, flowtapeBin, ...args];
  return spawnSync(command!, rest, { cwd, encoding: 'utf8' });
}

const setprivMissing = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).error !== undefined;

/** A bundle with every write bit off: read-only to the user `runAsUser` runs the CLI as (root ignores the bits). */
async function readOnlyRun(t: { after: (fn: () => Promise<void>) => void }): Promise<{ root: string; dir: string }> {
  const root = await scratch(t);
  const dir = join(root, 'bundle');
  abandonedRun(dir);
  await chmod(root, 0o755);
  await chmodTree(dir, 0o555);
  utimesSync(dir, past, past);
  return { root, dir };
}

const skip = setprivMissing ? 'root without setpriv' : false;

test('a read-only bundle: repair --dry-run reports what a repair would do, and writes nothing', { skip }, async (t) => {
  const { root, dir } = await readOnlyRun(t);
  const dry = runAsUser(['repair', '--dry-run', dir], root);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /would mark the run abandoned \(its writer is gone, b#1 interrupted\)/);
  assert.equal(statSync(dir).mtimeMs, past.getTime());
});

test('a read-only bundle: repair says in one line that it cannot lock it', { skip }, async (t) => {
  const { root, dir } = await readOnlyRun(t);
  const real = runAsUser(['repair', dir], root);
  assert.equal(real.status, 2, real.stdout);
  assert.equal(real.stderr, `flowtape: ${dir}: cannot lock the bundle to repair it (EACCES: permission denied; read-only?)\n`);
  assert.equal(real.stdout, '');
  assert.equal(statSync(dir).mtimeMs, past.getTime());
});
