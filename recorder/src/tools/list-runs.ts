/** The bundles below a runs root (or one bundle), each with status, flow, start, duration and usage: `flowtape ls`. */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { BUNDLE_FILES, Manifest, UsageTotals } from '@flowtape/schema';

export class ListRunsError extends Error {
  override name = 'ListRunsError';
}

export interface RunListing {
  path: string;
  runId?: string;
  flowName?: string;
  status?: string;
  complete?: boolean;
  createdAt?: string;
  endedAt?: string;
  durationMs?: number;
  /** Set when the writer of an unfinished run is gone (same host, pid not alive). */
  abandoned?: boolean;
  /** Tokens and cost the agents reported (from projections/run.json); absent when none did. */
  usage?: UsageTotals;
  problem?: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function describe(dir: string, name: string): Promise<RunListing> {
  const path = join(dir, name);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(path, BUNDLE_FILES.manifest), 'utf8'));
  } catch (error) {
    return { path, problem: `${BUNDLE_FILES.manifest}: ${(error as Error).message.split('\n')[0]}` };
  }
  const parsed = Manifest.safeParse(raw);
  if (!parsed.success) return { path, problem: `${BUNDLE_FILES.manifest}: not a v1 manifest` };
  const m = parsed.data;
  const ended = m.endedAt ? Date.parse(m.endedAt) - Date.parse(m.createdAt) : undefined;
  const writerGone =
    !m.complete && m.status === 'running' && m.writer.pid !== undefined && m.writer.hostname === hostname() && !alive(m.writer.pid);
  return {
    path,
    runId: m.runId,
    flowName: m.flowName,
    status: m.status,
    complete: m.complete,
    createdAt: m.createdAt,
    ...(m.endedAt ? { endedAt: m.endedAt } : {}),
    ...(ended !== undefined ? { durationMs: ended } : {}),
    ...(writerGone ? { abandoned: true } : {}),
    ...(await readUsage(path, m.files.run)),
  };
}

/**
 * The run's usage from its run projection (sized by the flow, not by the run's length). A missing, unreadable or
 * invalid projection only means no usage is shown: `verify` is the tool that reports such files.
 */
async function readUsage(path: string, file: string): Promise<{ usage?: UsageTotals }> {
  try {
    const run = JSON.parse(await readFile(join(path, file), 'utf8')) as { usage?: unknown };
    const usage = UsageTotals.safeParse(run?.usage);
    return usage.success ? { usage: usage.data } : {};
  } catch {
    return {};
  }
}

/**
 * A folder, or a symlink to one: a bundle linked into a runs root (`ln -s ../golden runs/golden`) is listed like the
 * bundle itself, as `verify`, `diff` and `view` accept it. A dangling or looping link is no bundle: skipped quietly.
 */
async function isFolder(root: string, entry: Dirent): Promise<boolean> {
  if (entry.isDirectory()) return true;
  if (!entry.isSymbolicLink()) return false;
  return stat(join(root, entry.name)).then((target) => target.isDirectory(), () => false);
}

export async function listRuns(root: string): Promise<RunListing[]> {
  let info;
  try {
    info = await stat(root);
  } catch {
    throw new ListRunsError(`${root}: no such directory`);
  }
  if (!info.isDirectory()) throw new ListRunsError(`${root}: not a directory`);
  // A bundle given directly lists itself.
  if (await stat(join(root, BUNDLE_FILES.manifest)).then(() => true, () => false)) {
    const parent = resolve(root, '..');
    return [await describe(parent, resolve(root).slice(parent.length + 1))];
  }
  const out: RunListing[] = [];
  // A bundle and a link to it in the same root are one run: listed once, under the folder's own name (links after
  // folders, so the folder is seen first), or the first link's when only links lead to it.
  const entries = (await readdir(root, { withFileTypes: true })).sort(
    (a, b) => Number(a.isSymbolicLink()) - Number(b.isSymbolicLink()) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const seen = new Set<string>();
  for (const entry of entries) {
    if (entry.name.startsWith('.') || !(await isFolder(root, entry))) continue;
    if (!(await stat(join(root, entry.name, BUNDLE_FILES.manifest)).then(() => true, () => false))) continue;
    const real = await realpath(join(root, entry.name));
    if (seen.has(real)) continue;
    seen.add(real);
    out.push(await describe(root, entry.name));
  }
  return out.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.path.localeCompare(b.path));
}
