/**
 * pnpm bench:cli — start-up cost of the installed `flowtape` command, beside its floor and its peer.
 *
 * The packages are packed and installed into a fresh project outside the repository (as a user gets them), then
 * each command is run as a new process, interleaved round-robin so machine noise hits all of them alike:
 *
 *   node -e 0                  the floor: starting Node itself
 *   acpx --help                the peer tool's start-up (acpx 0.19, this repo's dev dependency)
 *   flowtape --help            commander and the command table only
 *   flowtape verify <sample>   loads the reader and verifies the committed conversation sample
 *   flowtape ls <runs-root>    lists a runs root holding the four sample bundles
 *
 * Prints the median and p90 wall time of each and the ratios to `node -e 0` and to `acpx --help`, between the
 * shared header and footer (commit, node, cores, load average: scripts/bench-env.ts).
 *
 *   tsx scripts/bench-cli.ts [--runs 30] [--keep]
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { packAndInstall, repoRoot } from '../test/package/project.ts';
import { benchFooter, benchHeader, ratio } from './bench-env.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' }, keep: { type: 'boolean' } } });
const runs = Number(values.runs);

console.log(benchHeader('bench:cli'));
console.log('packing and installing the packages into a fresh project…');
const env = packAndInstall('none');
const project = env.project;
const flowtape = join(project, 'node_modules/@flowtape/recorder/dist/cli/main.js');
const acpx = join(repoRoot, 'recorder/node_modules/acpx/dist/cli.js');
const runsRoot = join(project, 'runs');
mkdirSync(runsRoot);
for (const sample of ['conversation', 'checkpoint', 'retry-timeout', 'shell-routing']) {
  cpSync(join(repoRoot, 'samples', sample, 'bundle'), join(runsRoot, sample), { recursive: true });
}

const commands: Array<{ label: string; args: string[] }> = [
  { label: 'node -e 0', args: ['-e', '0'] },
  { label: 'acpx --help', args: [acpx, '--help'] },
  { label: 'flowtape --help', args: [flowtape, '--help'] },
  { label: 'flowtape verify <sample>', args: [flowtape, 'verify', join(runsRoot, 'conversation')] },
  { label: 'flowtape ls <runs-root>', args: [flowtape, 'ls', runsRoot] },
];

function once(args: string[]): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}: ${String(result.stderr)}`);
  return ms;
}

const times = new Map<string, number[]>(commands.map((c) => [c.label, []]));
for (const c of commands) once(c.args); // warm the file cache
for (let i = 0; i < runs; i++) for (const c of commands) times.get(c.label)!.push(once(c.args));

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const median = (label: string) => quantile(times.get(label)!, 0.5);
const floor = median('node -e 0');
const peer = median('acpx --help');
console.log(`\nCLI start-up, ${runs} interleaved runs each (wall time of a new process)`);
console.log(`${'command'.padEnd(28)}${'median'.padStart(10)}${'p90'.padStart(10)}${'× node -e 0'.padStart(14)}${'× acpx --help'.padStart(15)}`);
for (const c of commands) {
  const m = median(c.label);
  const p90 = quantile(times.get(c.label)!, 0.9);
  console.log(
    `${c.label.padEnd(28)}${`${m.toFixed(0)} ms`.padStart(10)}${`${p90.toFixed(0)} ms`.padStart(10)}${ratio(m, floor).padStart(14)}${ratio(m, peer).padStart(15)}`,
  );
}
console.log(`\ntargets: flowtape --help ≤ acpx --help (${ratio(median('flowtape --help'), peer)}) and ≤ 2× node -e 0 (${ratio(median('flowtape --help'), floor)})`);
console.log(benchFooter());
if (values.keep) console.log(`kept: ${env.root}`);
else rmSync(env.root, { recursive: true, force: true });
