/** `flowtape ls <runs-root>`: the bundles below a directory with status, flow, start and duration. */
import type { Command } from 'commander';
import { readdir, readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { BUNDLE_FILES, Manifest } from '@flowtape/schema';
import type { CliCommand, CliContext } from '../context.ts';
import { UsageError } from '../errors.ts';

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
  };
}

export async function listRuns(root: string): Promise<RunListing[]> {
  let info;
  try {
    info = await stat(root);
  } catch {
    throw new UsageError(`${root}: no such directory`);
  }
  if (!info.isDirectory()) throw new UsageError(`${root}: not a directory`);
  // A bundle given directly lists itself.
  if (await stat(join(root, BUNDLE_FILES.manifest)).then(() => true, () => false)) {
    const parent = resolve(root, '..');
    return [await describe(parent, resolve(root).slice(parent.length + 1))];
  }
  const out: RunListing[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    if (!(await stat(join(root, entry.name, BUNDLE_FILES.manifest)).then(() => true, () => false))) continue;
    out.push(await describe(root, entry.name));
  }
  return out.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.path.localeCompare(b.path));
}

function duration(ms: number | undefined): string {
  if (ms === undefined) return '-';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export const lsCommand: CliCommand = {
  register(program: Command, cli: CliContext) {
    program
      .command('ls')
      .description('list the runs (bundles) below a directory')
      .argument('[runs-root]', 'the runs root', '.flowtape/runs')
      .option('--json', 'print the list as JSON')
      .action(
        cli.action(async (root: string, flags: { json?: boolean }) => {
          const { io } = cli;
          const runs = await listRuns(resolve(io.cwd, root));
          if (flags.json) {
            io.stdout(`${JSON.stringify(runs, null, 2)}\n`);
            return 0;
          }
          if (runs.length === 0) {
            io.stderr(`flowtape: no runs in ${root}\n`);
            return 0;
          }
          const rows = runs.map((r) => [
            r.problem ? 'unreadable' : `${r.status}${r.abandoned ? ' (writer gone)' : !r.complete && r.status !== 'running' && r.status !== 'waiting' ? ' (incomplete)' : ''}`,
            r.flowName ?? '-',
            r.createdAt ? r.createdAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-',
            duration(r.durationMs),
            r.problem ? `${r.path}: ${r.problem}` : r.path,
          ]);
          const header = ['STATUS', 'FLOW', 'STARTED', 'DURATION', 'BUNDLE'];
          const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
          for (const row of [header, ...rows]) {
            io.stdout(`${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`);
          }
          return 0;
        }),
      );
  },
};
