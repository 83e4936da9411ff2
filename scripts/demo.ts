/**
 * pnpm demo — records the `conversation` sample with the scripted ACP agent (a real ACP process, offline) into
 * .flowtape/runs/, verifies the bundle, says where it is, and opens it in the viewer (`flowtape view --open`,
 * serving on 127.0.0.1 until Ctrl-C; `--no-view` stops after recording).
 *
 *   tsx scripts/demo.ts [--out <runs-root>] [--no-view]
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { verifyBundle } from '@flowtape/recorder';
import { samples, recordSample } from '../samples/catalog.ts';
import { ensureViewerBuilt } from '../viewer/server/ensure-built.ts';

/**
 * Opens the bundle with the real `flowtape view --open`. In a terminal it serves until Ctrl-C; without one (a script,
 * CI) it checks that the viewer answers, prints the URL and stops, so the command never waits on nobody.
 */
export async function afterRecord(bundleDir: string, options: { view: boolean }): Promise<void> {
  const bin = fileURLToPath(new URL('../recorder/bin/flowtape.js', import.meta.url));
  if (!options.view) {
    console.log(`open it in the viewer:  node ${bin} view ${bundleDir}`);
    return;
  }
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  if (interactive) {
    console.log('opening it in the viewer (the URL follows; Ctrl-C stops the server)');
    // Ctrl-C reaches both processes; the viewer closes cleanly and the demo ends with it.
    process.on('SIGINT', () => {});
    const child = spawn(process.execPath, [bin, 'view', bundleDir, '--open'], { stdio: 'inherit' });
    const code = await new Promise<number | null>((done) => child.on('exit', done));
    if (code !== 0) throw new Error(`flowtape view exited with code ${code}`);
    return;
  }
  const child = spawn(process.execPath, [bin, 'view', bundleDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((done, fail) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /^(http:\/\/127\.0\.0\.1:\d+\/)\s*$/m.exec(out);
        if (match) done(match[1]!);
      });
      child.on('exit', (code) => fail(new Error(`flowtape view exited with code ${code}`)));
    });
    const page = await fetch(url);
    if (!page.ok) throw new Error(`the viewer answered ${page.status} at ${url}`);
    console.log(`viewer: ${url} answered (not a terminal, so it stops now; run \`node ${bin} view ${bundleDir}\` to browse)`);
  } finally {
    child.kill('SIGINT');
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, 'no-view': { type: 'boolean' } } });
  // Builds the viewer app only when its sources changed since the last build.
  ensureViewerBuilt();
  const spec = samples.find((s) => s.name === 'conversation')!;
  const runsRoot = resolve(values.out ?? join('.flowtape', 'runs'));
  const bundleDir = join(runsRoot, `demo-${new Date().toISOString().replace(/[-:.]/g, '')}`);
  console.error(`recording the "${spec.name}" sample: ${spec.shows}`);
  const result = await recordSample(spec, bundleDir, { deterministic: false });
  const report = await verifyBundle(bundleDir);
  console.log(`run ${result.status} in ${Math.round(result.durationMs)} ms`);
  console.log(`bundle: ${bundleDir}`);
  console.log(`verify: ${report.ok ? 'valid' : `invalid (${report.problems.length} problems)`} — ${report.summary.events} events, ${report.summary.sessions} ACP session, ${report.summary.artifacts} artifacts`);
  await afterRecord(bundleDir, { view: !values['no-view'] });
  return result.status === 'completed' && report.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
