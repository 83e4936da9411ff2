/**
 * pnpm demo — records the `conversation` sample with the scripted ACP agent (a real ACP process, offline) into
 * .flowtape/runs/, verifies the bundle and says where it is.
 *
 *   tsx scripts/demo.ts [--out <runs-root>] [--no-view]
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { verifyBundle } from '@flowtape/recorder';
import { samples, recordSample } from '../samples/catalog.ts';

/**
 * What happens once the bundle is recorded. Viewer hook: replace the body with starting the viewer on
 * `bundleDir` (startViewerServer from viewer/server/serve.ts) and opening the browser; today it prints the command.
 */
export async function afterRecord(bundleDir: string, options: { view: boolean }): Promise<void> {
  if (!options.view) return;
  console.log(`open it in the viewer:  node recorder/bin/flowtape.js view ${bundleDir}`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, 'no-view': { type: 'boolean' } } });
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
