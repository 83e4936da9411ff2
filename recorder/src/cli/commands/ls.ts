/** `flowtape ls [runs-root]`: the bundles below a directory with status, flow, start, duration and usage. */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { CliCommand, CliContext } from '../context.ts';
import { terminalSafeInline } from '@flowtape/schema/terminal-safe';
import { asCliErrors } from './tool-errors.ts';

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
          const { listRuns } = await import('../../tools/list-runs.ts');
          const runs = await asCliErrors(() => listRuns(resolve(io.cwd, root)));
          if (flags.json) {
            cli.json(runs, 2);
            return 0;
          }
          if (runs.length === 0) {
            io.stderr(`flowtape: no runs in ${root}\n`);
            return 0;
          }
          const { formatCost, formatCount, tokenTotal } = await import('@flowtape/schema');
          // Usage columns only when some run reported usage.
          const withUsage = runs.some((r) => r.usage);
          const usageCells = (r: (typeof runs)[number]): string[] => {
            if (!withUsage) return [];
            const tokens = tokenTotal(r.usage?.tokens);
            return [tokens === undefined ? '-' : formatCount(tokens), formatCost(r.usage?.cost) ?? '-'];
          };
          const rows = runs.map((r) => [
            r.problem ? 'unreadable' : `${r.status}${r.abandoned ? ' (writer gone)' : !r.complete && r.status !== 'running' && r.status !== 'waiting' ? ' (incomplete)' : ''}`,
            r.flowName ?? '-',
            r.createdAt ? r.createdAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-',
            duration(r.durationMs),
            ...usageCells(r),
            r.problem ? `${terminalSafeInline(r.path)}: ${r.problem}` : terminalSafeInline(r.path),
          ]);
          const header = ['STATUS', 'FLOW', 'STARTED', 'DURATION', ...(withUsage ? ['TOKENS', 'COST'] : []), 'BUNDLE'];
          const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
          for (const row of [header, ...rows]) {
            io.stdout(`${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`);
          }
          return 0;
        }),
      );
  },
};
