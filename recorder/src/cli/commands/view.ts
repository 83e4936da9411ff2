/**
 * `flowtape view [bundle|runs-root|bundle.zip] [other-bundle]`: serves the viewer on loopback until interrupted;
 * with two bundles, the compare page (also what `flowtape diff <a> <b> --view` opens); with `--static -o <dir>`,
 * writes a static site instead (view-static.ts). The viewer (its prebuilt app
 * and read-only server) is the @flowtape/viewer package, a dependency, loaded only by this command.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CliCommand, CliContext } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { DEFAULT_RUNS_ROOT, parsePort } from '../input.ts';
import { argPath } from './tool-errors.ts';
import { writeStatic } from './view-static.ts';

type ViewerModule = typeof import('@flowtape/viewer/server');

async function loadViewer(): Promise<ViewerModule> {
  try {
    return await import('@flowtape/viewer/server');
  } catch (error) {
    throw new CliError(`the viewer is not available (${(error as Error).message.split('\n')[0]})`, 2);
  }
}

function openBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'cmd' : 'xdg-open';
  const args = process.platform === 'win32' ? ['/c', 'start', '', url] : [url];
  const child = spawn(command, args, { stdio: 'ignore', detached: true });
  child.on('error', () => {});
  child.unref();
}

/** The two bundles of a compare page, as `flowtape diff` names and normalises them (same locations, same roots). */
export async function compareInput(cwd: string, a: string, b: string): Promise<NonNullable<Parameters<ViewerModule['startViewerServer']>[0]['compare']>> {
  const { machineRoots } = await import('../../tools/diff.ts');
  return {
    a: { root: resolve(cwd, a), location: argPath(cwd, a) },
    b: { root: resolve(cwd, b), location: argPath(cwd, b) },
    machine: machineRoots(),
  };
}

/** Starts the viewer server, prints its URL, and serves until Ctrl-C. */
export async function serveViewer(
  cli: CliContext,
  options: Parameters<ViewerModule['startViewerServer']>[0],
  what: { path: string; open?: boolean; hint?: string; /** The URL on stderr only (stdout holds a document). */ quietStdout?: boolean },
): Promise<void> {
  const { io } = cli;
  const { startViewerServer, ViewerServerError } = await loadViewer();
  let server;
  try {
    server = await startViewerServer(options);
  } catch (error) {
    if (error instanceof ViewerServerError) throw new CliError(`${error.message}${what.hint ?? ''}`, 2);
    throw error;
  }
  if (!what.quietStdout) io.stdout(`${server.url}\n`);
  io.stderr(`flowtape: serving ${what.path} (${server.mode}) at ${server.url} — Ctrl-C to stop\n`);
  if (server.mode === 'runs') {
    const { listRuns } = await import('../../tools/list-runs.ts');
    const runs = await listRuns(options.root).catch(() => []);
    if (runs.length === 0) io.stderr(`flowtape: ${what.path} holds no bundle yet; runs written there appear in the list as they start\n`);
  }
  if (what.open) openBrowser(server.url);
  await new Promise<void>((done) => {
    const stop = io.onInterrupt(() => {
      stop();
      done();
    });
  });
  await server.close();
}

export const viewCommand: CliCommand = {
  register(program: Command, cli: CliContext) {
    program
      .command('view')
      .description('open a bundle, a runs root or a bundle .zip in the browser viewer (loopback only); with two bundles, compare them')
      .argument('[path]', 'a bundle directory, a runs root, or a .zip from `flowtape pack`', DEFAULT_RUNS_ROOT)
      .argument('[other]', 'a second bundle (directory or .zip): open both in the compare page, with the differences `flowtape diff` reports')
      .option('--port <n>', 'the port (default: any free port)', parsePort)
      .option('--open', 'open the default browser')
      .option('--static', 'write a static site instead of serving: the viewer and the bundle (verified first), for any static file host or bucket; needs -o')
      .option('-o, --output <dir>', 'with --static: the folder to create (a missing path or an empty folder, never written over)')
      .option('--json', 'with --static: print the report as JSON')
      .action(
        cli.action(async (path: string, other: string | undefined, flags: { port?: number; open?: boolean; static?: boolean; output?: string; json?: boolean }) => {
          if (flags.static) {
            if (other !== undefined) throw new UsageError('view --static: one bundle, .zip or runs root (a compare page needs the flowtape server)');
            if (flags.port !== undefined || flags.open) throw new UsageError('view --static writes files: --port and --open do not apply');
            if (flags.output === undefined) throw new UsageError('view --static: -o <dir> is required (the folder to write the site to)');
            return writeStatic(cli, path, flags.output, flags.json === true);
          }
          if (flags.output !== undefined || flags.json) throw new UsageError('view: -o and --json go with --static');
          const port = flags.port !== undefined ? { port: flags.port } : {};
          if (other !== undefined) {
            const compare = await compareInput(cli.io.cwd, path, other);
            await serveViewer(cli, { root: compare.a.root, host: '127.0.0.1', compare, ...port }, { path: `${path} ⇄ ${other}`, open: flags.open });
            return 0;
          }
          const hint = path === DEFAULT_RUNS_ROOT ? ' (no runs recorded here yet: `flowtape run <flow>` writes them there)' : '';
          const { machineRoots } = await import('../../tools/diff.ts');
          await serveViewer(cli, { root: resolve(cli.io.cwd, path), host: '127.0.0.1', machine: machineRoots(), ...port }, { path, open: flags.open, hint });
          return 0;
        }),
      );
  },
};
