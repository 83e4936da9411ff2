// Starts the viewer for a test through the real CLI — `flowtape view <root> --port 0` — and reads the URL it
// prints, building the app first when viewer/dist is missing or stale (CI runs the tests on a clean clone).
// FLOWTAPE_E2E_SERVER=export starts the server in-process from viewer/server/serve.ts instead.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureViewerBuilt } from '../../viewer/server/ensure-built.ts';
import { startViewerServer } from '../../viewer/server/serve.ts';
import { repoRoot } from './browser.ts';

export interface RunningViewer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const CLI = join(repoRoot, 'recorder', 'bin', 'flowtape.js');

export async function startViewer(root: string): Promise<RunningViewer> {
  ensureViewerBuilt();
  if (process.env.FLOWTAPE_E2E_SERVER === 'export' || !existsSync(CLI)) {
    const server = await startViewerServer({ root, host: '127.0.0.1', port: 0 });
    return { url: server.url, port: server.port, close: () => server.close() };
  }
  return startCliServer(['view', root, '--port', '0']);
}

/** Any `flowtape` command that serves the viewer (`view a b`, `diff a b --view`): started, its URL read, stopped with SIGINT. */
export async function startCliServer(args: string[]): Promise<RunningViewer> {
  ensureViewerBuilt();
  const child = spawn(process.execPath, [CLI, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // not left running behind the failed test
      reject(new Error(`flowtape ${args[0]} printed no URL in 30 s; stderr: ${stderr}`));
    }, 30_000);
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const m = /^(http:\/\/127\.0\.0\.1:\d+\/)\s*$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`flowtape ${args[0]} exited with ${code}: ${stderr.trim()}`));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    close: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGINT');
    }),
  };
}
