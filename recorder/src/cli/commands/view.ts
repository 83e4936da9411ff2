/**
 * `flowtape view [bundle|runs-root|bundle.zip]`: serves the viewer on loopback until interrupted. The viewer (its
 * prebuilt app and read-only server) is the @flowtape/viewer package, a dependency, loaded only by this command.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CliCommand, CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import { DEFAULT_RUNS_ROOT, parsePort } from '../input.ts';

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

export const viewCommand: CliCommand = {
  register(program: Command, cli: CliContext) {
    program
      .command('view')
      .description('open a bundle, a runs root or a bundle .zip in the browser viewer (loopback only)')
      .argument('[path]', 'a bundle directory, a runs root, or a .zip from `flowtape pack`', DEFAULT_RUNS_ROOT)
      .option('--port <n>', 'the port (default: any free port)', parsePort)
      .option('--open', 'open the default browser')
      .action(
        cli.action(async (path: string, flags: { port?: number; open?: boolean }) => {
          const { io } = cli;
          const { startViewerServer, ViewerServerError } = await loadViewer();
          let server;
          try {
            server = await startViewerServer({ root: resolve(io.cwd, path), host: '127.0.0.1', ...(flags.port !== undefined ? { port: flags.port } : {}) });
          } catch (error) {
            if (error instanceof ViewerServerError) {
              const hint = path === DEFAULT_RUNS_ROOT ? ' (no runs recorded here yet: `flowtape run <flow>` writes them there)' : '';
              throw new CliError(`${error.message}${hint}`, 2);
            }
            throw error;
          }
          io.stdout(`${server.url}\n`);
          io.stderr(`flowtape: serving ${path} (${server.mode}) at ${server.url} — Ctrl-C to stop\n`);
          if (server.mode === 'runs') {
            const { listRuns } = await import('../../tools/list-runs.ts');
            const runs = await listRuns(resolve(io.cwd, path)).catch(() => []);
            if (runs.length === 0) io.stderr(`flowtape: ${path} holds no bundle yet; runs written there appear in the list as they start\n`);
          }
          if (flags.open) openBrowser(server.url);
          await new Promise<void>((done) => {
            const stop = io.onInterrupt(() => {
              stop();
              done();
            });
          });
          await server.close();
          return 0;
        }),
      );
  },
};
