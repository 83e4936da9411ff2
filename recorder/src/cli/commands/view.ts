/** `flowtape view <bundle|runs-root|bundle.zip>`: serves the viewer on loopback until interrupted. */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CliCommand, CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import { parsePort } from '../input.ts';

type ViewerModule = typeof import('../../../../viewer/server/serve.ts');

async function loadViewer(): Promise<ViewerModule> {
  try {
    return (await import('../../../../viewer/server/serve.ts')) as ViewerModule;
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
      .argument('<path>', 'a bundle directory, a runs root, or a .zip from `flowtape pack`')
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
            if (error instanceof ViewerServerError) throw new CliError(error.message, 2);
            throw error;
          }
          io.stdout(`${server.url}\n`);
          io.stderr(`flowtape: serving ${path} (${server.mode}) at ${server.url} — Ctrl-C to stop\n`);
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
