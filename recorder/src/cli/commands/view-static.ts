/**
 * `flowtape view --static <bundle|bundle.zip|runs-root> -o <dir>`: writes the viewer and the bundle as a static site
 * (recorder/src/tools/static-site.ts) instead of serving them.
 */
import { resolve } from 'node:path';
import type { CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import { argPath, asCliErrors } from './tool-errors.ts';

export async function writeStatic(cli: CliContext, path: string, output: string, json: boolean): Promise<number> {
  const { io } = cli;
  let viewer: { defaultDistDir: string; APP_CSP: string };
  try {
    viewer = await import('@flowtape/viewer/server');
  } catch (error) {
    throw new CliError(`the viewer is not available (${(error as Error).message.split('\n')[0]})`, 2);
  }
  const { writeStaticSite } = await import('../../tools/static-site.ts');
  const report = await asCliErrors(() => writeStaticSite(argPath(io.cwd, path), { output: resolve(io.cwd, output), appDir: viewer.defaultDistDir, csp: viewer.APP_CSP }));
  if (json) {
    cli.json(report, 2);
    return 0;
  }
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  const [first] = report.bundles;
  const what =
    report.bundles.length === 1 && first
      ? `run ${first.runId} (${first.status}), ${first.files} bundle files (${kb(first.bytes)})`
      : `${report.bundles.length} runs, ${report.bundles.reduce((n, b) => n + b.files, 0)} bundle files (${kb(report.bundles.reduce((n, b) => n + b.bytes, 0))})`;
  io.stdout(`${report.output}: static viewer site: ${what}, ${report.app.files} app files (${kb(report.app.bytes)})\n`);
  for (const warning of report.warnings) io.stderr(`warning: ${warning}\n`);
  io.stderr(`flowtape: serve the folder with any static file server (e.g. python3 -m http.server -d ${output}) or upload it to a bucket, and open its index.html over http(s)\n`);
  return 0;
}
