/**
 * pnpm bench:run-list [--runs N] [--loads N] — the run list of a runs-root of N bundles (default 10,000) in headless
 * Chromium: time to first row (navigation start → the first row in the DOM), median of --loads fresh page loads,
 * with the server's run index cold (every directory listed, every manifest and run projection read) and warm (kept
 * by the server: a stat per directory and two per run). The floor, measured in the same run, is the same page on a runs-root of one bundle;
 * the ratio says what the N runs cost over it. Also the /api/runs request alone, cold and warm, timed from Node.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_FILES, RunProjection, SCHEMA_IDS } from '@flowtape/schema';
import { writeManifestOnly } from '../test/fixtures/bundle-builder.ts';
import { launchBrowser } from '../test/e2e/browser.ts';
import { ensureViewerBuilt } from '../viewer/server/ensure-built.ts';
import { startViewerServer, type ViewerServer } from '../viewer/server/serve.ts';
import { forgetRunIndex } from '../viewer/server/runs.ts';
import { benchFooter, benchHeader, ratio } from './bench-env.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i === -1 ? undefined : Number(process.argv[i + 1]);
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : fallback;
}

const RUNS = arg('runs', 10_000);
const LOADS = arg('loads', 5);

function writeRoot(dir: string, runs: number): void {
  for (let i = 0; i < runs; i++) {
    const flow = ['nightly', 'review', 'triage'][i % 3]!;
    const bundle = join(dir, flow, `run-${String(i).padStart(6, '0')}`);
    const at = new Date(Date.UTC(2026, 0, 1) + i * 60_000);
    const status = i % 7 === 0 ? 'failed' : 'completed';
    writeManifestOnly(bundle, `run-${i}`, status, flow, at);
    mkdirSync(join(bundle, 'projections'), { recursive: true });
    writeFileSync(join(bundle, BUNDLE_FILES.run), JSON.stringify(RunProjection.parse({
      schema: SCHEMA_IDS.run, seq: 0, status, startedAt: at.toISOString(), durationMs: 1000 + i,
      ...(status === 'failed' ? { error: { message: `exit code ${i % 5}` } } : {}),
      attemptCount: 0, eventCount: 0, unknownEventCount: 0, unknownEventTypes: [], anomalies: [], nodes: [], edges: [],
    })));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function apiRuns(server: ViewerServer): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${server.url}api/runs`);
  await res.json();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  console.log(benchHeader('bench:run-list'));
  ensureViewerBuilt();
  const root = mkdtempSync(join(tmpdir(), 'flowtape-bench-runs-'));
  const big = join(root, 'big');
  const small = join(root, 'small');
  writeRoot(big, RUNS);
  writeRoot(small, 1);
  const browser = await launchBrowser();
  const servers: ViewerServer[] = [];
  try {
    const firstRow = async (server: ViewerServer): Promise<number> => {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const page = await context.newPage();
      await page.addInitScript(() => {
        new MutationObserver((_, obs) => {
          if (document.querySelector('[data-testid="run-row"]')) {
            (window as { __firstRow?: number }).__firstRow = performance.now();
            obs.disconnect();
          }
        }).observe(document, { childList: true, subtree: true });
      });
      await page.goto(server.url);
      await page.waitForFunction(() => (window as { __firstRow?: number }).__firstRow !== undefined, undefined, { timeout: 120_000 });
      const ms = await page.evaluate(() => (window as { __firstRow?: number }).__firstRow!);
      await context.close();
      return ms;
    };
    const serve = async (dir: string) => {
      const s = await startViewerServer({ root: dir, host: '127.0.0.1', port: 0 });
      servers.push(s);
      return s;
    };
    // Cold: the kept listings and summaries forgotten before each request, so every load reads every run.
    const cold: number[] = [];
    const apiCold: number[] = [];
    const coldServer = await serve(big);
    for (let i = 0; i < LOADS; i++) {
      forgetRunIndex();
      apiCold.push(await apiRuns(coldServer));
      forgetRunIndex();
      cold.push(await firstRow(coldServer));
    }
    // Warm: one server, its summaries kept.
    const warmServer = await serve(big);
    await apiRuns(warmServer);
    const warm: number[] = [];
    const apiWarm: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      apiWarm.push(await apiRuns(warmServer));
      warm.push(await firstRow(warmServer));
    }
    const floorServer = await serve(small);
    const floor: number[] = [];
    for (let i = 0; i < LOADS; i++) floor.push(await firstRow(floorServer));
    const f = median(floor);
    console.log(`floor: time to first row, runs-root of 1 bundle: ${f.toFixed(0)} ms (median of ${LOADS})`);
    console.log(`time to first row, ${RUNS.toLocaleString('en-US')} runs, summaries cold: ${median(cold).toFixed(0)} ms (${ratio(median(cold), f)} the floor)`);
    console.log(`time to first row, ${RUNS.toLocaleString('en-US')} runs, summaries kept by the server: ${median(warm).toFixed(0)} ms (${ratio(median(warm), f)} the floor)`);
    console.log(`/api/runs alone: cold ${median(apiCold).toFixed(0)} ms, kept ${median(apiWarm).toFixed(0)} ms (${ratio(median(apiCold), median(apiWarm))} faster kept) · ${benchFooter()}`);
  } finally {
    for (const s of servers) await s.close().catch(() => {});
    await browser.close();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
