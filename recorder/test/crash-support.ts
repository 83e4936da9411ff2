// Crash points of a real `flowtape run`: the CLI is started with fixtures/crash-after.mjs preloaded, which SIGKILLs it
// right after its Nth change to the bundle folder (a folder or file created, bytes written, a file renamed into place).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flowtapeBin, recorderEntry, type CliResult } from './recorder-support.ts';

const crashHook = fileURLToPath(new URL('./fixtures/crash-after.mjs', import.meta.url));

/** A small run with a compute node, a shell node (a process the run starts) and another compute node. */
export async function writeCrashFlow(dir: string): Promise<string> {
  const file = join(dir, 'crash.flow.ts');
  await writeFile(
    file,
    `import { compute, defineFlow, shell } from ${JSON.stringify(recorderEntry)};
export default defineFlow({
  name: 'crash',
  startAt: 'a',
  nodes: {
    a: compute({ run: () => ({ n: 1 }) }),
    b: shell({ exec: { command: 'sh', args: ['-c', 'echo built'] } }),
    c: compute({ run: () => ({ done: true }) }),
  },
  edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }],
});
`,
  );
  return file;
}

export interface CrashRun extends CliResult {
  /** `<runs>/<runId>`. */
  bundle: string;
  /** The changes made, one per line: "<n> <call> <bundle-relative path>". */
  changes: string[];
}

/**
 * `flowtape run <flowFile> --out <runs> --run-id run`, SIGKILLed right after its `after`th change to the bundle
 * (0: not killed, the changes are only logged).
 */
export async function runKilledAfter(dir: string, flowFile: string, runs: string, after: number): Promise<CrashRun> {
  const bundle = join(runs, 'run');
  const log = join(dir, `changes-${after}.txt`);
  const child = spawn(process.execPath, ['--import', crashHook, flowtapeBin, 'run', flowFile, '--out', runs, '--run-id', 'run', '-q'], {
    cwd: dir,
    env: { ...process.env, FLOWTAPE_CRASH_DIR: bundle, FLOWTAPE_CRASH_AFTER: String(after), FLOWTAPE_CRASH_LOG: log },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  const changes = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  return { code, signal, stdout, stderr, bundle, changes };
}

/** The number of the change that first wrote bytes to `file` (e.g. the first trace line), from an unkilled run's log. */
export function firstWriteTo(changes: string[], file: string): number {
  const line = changes.find((c) => c.endsWith(` write ${file}`));
  if (!line) throw new Error(`no write to ${file} among the run's changes:\n${changes.join('\n')}`);
  return Number(line.split(' ')[0]);
}
