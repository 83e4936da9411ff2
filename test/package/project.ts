// A user's project outside the repository, made the way a user makes one: the packages are packed with the
// release path (`pnpm -r pack`), then `npm install`ed from the tarballs into a fresh directory under the system's
// temp dir, together with TypeScript and @types/node for the consumer's own type check.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface Installed {
  /** The temp root holding everything (removed by the test). */
  root: string;
  /** The user's project: package.json, node_modules with flowtape installed. */
  project: string;
  /** The tarballs `pnpm -r pack` wrote. */
  tarballs: string[];
  /** What `npm install` printed (its warnings are checked). */
  installLog: string;
}

export function run(command: string, args: string[], cwd: string, timeout = 240_000): SpawnSyncReturns<string> {
  return spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' },
  });
}

function mustRun(command: string, args: string[], cwd: string): string {
  const result = run(command, args, cwd);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status ?? result.signal} in ${cwd}:\n${result.stdout}${result.stderr}`);
  }
  return result.stdout + result.stderr;
}

/** Packs the workspace and installs the tarballs into a fresh project; `extras` are npm specs installed with them. */
export function packAndInstall(extras: 'typescript' | 'none' = 'typescript'): Installed {
  const root = mkdtempSync(join(tmpdir(), 'flowtape-install-'));
  const packs = join(root, 'packs');
  mkdirSync(packs);
  mustRun('pnpm', ['-r', '--reporter=silent', 'pack', '--pack-destination', packs], repoRoot);
  const tarballs = readdirSync(packs).filter((f) => f.endsWith('.tgz')).map((f) => join(packs, f));
  const project = join(root, 'my-project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-project', version: '1.0.0', private: true, type: 'module' }, null, 2));
  const typescript = JSON.parse(mustRun('node', ['-p', 'JSON.stringify(require("typescript/package.json").version)'], repoRoot)) as string;
  const more = extras === 'typescript' ? [`typescript@${typescript}`, '@types/node@20'] : [];
  const installLog = mustRun('npm', ['install', '--no-fund', '--no-audit', ...tarballs, ...more], project);
  return { root, project, tarballs, installLog };
}
