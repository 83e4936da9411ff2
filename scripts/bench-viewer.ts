/**
 * pnpm bench:viewer [--events N] [--big N] [--steps N] [--runs N] [--big-runs N] [--bundle DIR] [--big-bundle DIR] [--keep]
 * — the viewer on large bundles, in headless Chromium.
 *
 * Builds synthetic bundles of N trace events (default 100,000) and of --big events (default 1,000,000; 0 skips
 * it; every document validated by the schema, the projections and conversation records made by the schema's
 * reducer and builder), serves each with the viewer server, and measures:
 *   - the floor, in the same Chromium, alternating with the viewer's loads: a bare page on the same origin that
 *     fetches the same trace.ndjson and JSON.parses every line (streamed, as the viewer reads it), timed from
 *     navigation start like the figures below;
 *   - time to interactive: from navigation start until the whole trace is on screen AND the page has answered
 *     a key press (the step's result is in the DOM) — so a busy main thread cannot hide; also the same for the
 *     first events shown while a large trace still streams in;
 *   - one step: ←/→ key press → React commit → forced style and layout, timed in the page, over many steps
 *     forward and back (back steps refold from a checkpoint), with the node tab and with the events tab open.
 *   - the CPU time the page's main thread used until then, next to the floor page's (CDP ThreadTime): it hardly
 *     depends on the machine's load, so it tells whether the page does less work when the times above are noisy;
 *   - the JS heap of the page after the whole trace is loaded (after a forced GC, CDP Runtime.getHeapUsage),
 *     next to the trace's size on disk.
 * Targets (issue 12): 100k: interactive ≤ 1.5 s (median of --runs fresh loads); 1M: first events and whole
 * trace interactive ≤ 3× the floor, heap ≤ 3× the trace on disk; p95 step ≤ 16 ms at both. Prints each figure
 * with its floor and ratio, the machine's load average and the commit; exits 1 if a target is missed.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSyntheticRun } from '../test/fixtures/scenarios.ts';
import type { Browser, Page } from 'playwright-core';
import { assertChromium, launchBrowser } from '../test/e2e/browser.ts';
import { ensureViewerBuilt } from '../viewer/server/ensure-built.ts';
import { benchFooter, benchHeader, ratio, recordFigure } from './bench-env.ts';
import { startViewerServer } from '../viewer/server/serve.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i === -1 ? undefined : Number(process.argv[i + 1]);
  return v !== undefined && Number.isFinite(v) && v >= 0 ? v : fallback;
}

function textArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

const EVENTS = arg('events', 100_000);
const BIG = arg('big', 1_000_000);
const STEPS = arg('steps', 200);
const RUNS = arg('runs', 5);
const BIG_RUNS = arg('big-runs', 3);
const TARGET_TTI_MS = 1500;
const TARGET_FLOOR_RATIO = 3;
const TARGET_HEAP_RATIO = 3;
const TARGET_STEP_P95_MS = 16;
const FLOOR_PATH = '__flowtape_floor__.html';
const FLOOR_NAME = 'fetch + JSON.parse of every line, bare page, same Chromium';

// The floor: what any viewer must do at least — fetch the trace and parse every line — in a page with nothing
// else in it. Streamed and split per chunk, as the viewer reads it; resolves with the time since navigation start.
const FLOOR_PAGE = `<!doctype html><meta charset="utf-8"><title>floor</title><script>
window.__flowtapeFloor = (async () => {
  const res = await fetch('/files/trace.ndjson', { cache: 'no-store' });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let pending = '';
  let lines = 0;
  let last;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const parts = (pending + decoder.decode(value, { stream: true })).split('\\n');
    pending = parts.pop();
    for (const p of parts) if (p !== '') { last = JSON.parse(p); lines++; }
  }
  pending += decoder.decode();
  if (pending !== '') { last = JSON.parse(pending); lines++; }
  return { ms: performance.now(), lines, seq: last && last.seq };
})();
</script>`;

const PROBE = `
window.__flowtapeProbe = new Promise((resolve) => {
  const out = { phases: {} };
  // Presses ← on the next task (as a person would) and resolves when the cursor has moved and layout is done.
  const press = (pos, done) => setTimeout(() => {
    const before = pos.getAttribute('data-cursor');
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowLeft', bubbles: true }));
    const wait = () => {
      if (pos.getAttribute('data-cursor') === before) return setTimeout(wait, 0);
      document.body.getBoundingClientRect();
      done(performance.now());
    };
    wait();
  }, 0);
  const watch = (selector, then) => {
    const el = document.querySelector(selector);
    if (!el) return setTimeout(() => watch(selector, then), 2);
    then(el);
  };
  watch('[data-testid="bundle"][data-ready="true"] [data-testid="cursor-pos"]', (pos) => {
    out.firstOnScreen = performance.now();
    press(pos, (t) => {
      out.firstAnswered = t;
      watch('[data-testid="bundle"][data-loading="false"] [data-testid="cursor-pos"]', (pos2) => {
        out.loadedOnScreen = performance.now();
        press(pos2, (t2) => {
          out.loadedAnswered = t2;
          for (const e of performance.getEntriesByType('mark')) {
            if (e.name.startsWith('flowtape:') && !(e.name.slice(9) in out.phases)) out.phases[e.name.slice(9)] = e.startTime;
          }
          resolve(out);
        });
      });
    });
  });
});
`;

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const fmt = (ms: number) => `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

interface Probe {
  firstOnScreen: number; firstAnswered: number; loadedOnScreen: number; loadedAnswered: number; phases: Record<string, number>;
}

/**
 * The CPU time the page's main thread has used so far (CDP Performance.getMetrics ThreadTime), read when the
 * returned function is called. Unlike the wall-clock figures it hardly changes with what else the machine runs,
 * so it shows whether a change made the page do less work even when the load average is high.
 */
async function mainThreadClock(page: Page): Promise<() => Promise<number>> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  return async () => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    await cdp.detach();
    return (metrics.find((m) => m.name === 'ThreadTime')?.value ?? NaN) * 1000;
  };
}

/** One fresh load of the floor page; its time since navigation start and its main thread's CPU time. */
async function floorLoad(browser: Browser, url: string, events: number): Promise<{ ms: number; cpuMs: number }> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    // Served by the harness on the viewer server's origin, so the trace is fetched exactly as the viewer fetches it.
    await page.route(url + FLOOR_PATH, (route) => route.fulfill({ contentType: 'text/html', body: FLOOR_PAGE }));
    const cpu = await mainThreadClock(page);
    await page.goto(url + FLOOR_PATH, { waitUntil: 'commit' });
    const r = (await page.evaluate('window.__flowtapeFloor')) as { ms: number; lines: number };
    if (r.lines !== events) throw new Error(`floor page parsed ${r.lines} lines, the trace has ${events} events`);
    return { ms: r.ms, cpuMs: await cpu() };
  } finally {
    await context.close();
  }
}

/** One fresh load of the viewer, timed in the page by PROBE. */
async function viewerLoad(browser: Browser, url: string): Promise<{ page: Page; probe: Probe; cpuMs: number; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // The probe runs in the page from before the app starts: as soon as the bundle is on screen it presses ←
  // (on the next task, as a person would) and notes when the cursor moved. No harness latency included.
  await page.addInitScript(PROBE);
  const cpu = await mainThreadClock(page);
  await page.goto(url, { waitUntil: 'commit' });
  await page.waitForSelector('[data-testid="bundle"][data-loading="false"]', { timeout: 600_000 });
  const probe = (await page.evaluate('window.__flowtapeProbe')) as Probe;
  if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
  return { page, probe, cpuMs: await cpu(), close: () => context.close() };
}

/** One step = key press → commit → style/layout, measured in the page. */
function measureSteps(p: Page, steps: Array<'ArrowLeft' | 'ArrowRight'>): Promise<number[]> {
  return p.evaluate(async (keys) => {
    const pos = document.querySelector('[data-testid="cursor-pos"]')!;
    const times: number[] = [];
    for (const key of keys) {
      const before = pos.getAttribute('data-cursor');
      const t = performance.now();
      window.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
      // useSyncExternalStore updates commit synchronously in a microtask; yield until the DOM shows it.
      let spins = 0;
      while (pos.getAttribute('data-cursor') === before && spins++ < 100) await Promise.resolve();
      if (pos.getAttribute('data-cursor') === before) await new Promise((r) => setTimeout(r, 0));
      document.body.getBoundingClientRect();
      times.push(performance.now() - t);
      // Let the browser paint between steps, as between real key presses.
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    }
    return times;
  }, steps);
}

/** Steps forward and back from the end, from mid-trace, with the events tab and with the session tab open. */
async function stepTimes(p: Page): Promise<Record<string, number[]>> {
  const half = Math.floor(STEPS / 2);
  const back = Array<'ArrowLeft'>(half).fill('ArrowLeft');
  const fwd = Array<'ArrowRight'>(half).fill('ArrowRight');
  const nodeTab = [...(await measureSteps(p, back)), ...(await measureSteps(p, fwd))];
  // From the middle of the run as well (deep in the trace, away from the memoised end state).
  await p.evaluate(() => {
    const strip = document.querySelector('[data-testid="scrubber"]') as HTMLElement;
    const r = strip.getBoundingClientRect();
    const opts = { bubbles: true, clientX: r.left + r.width * 0.5, clientY: r.top + 5, pointerId: 1, buttons: 1 };
    strip.dispatchEvent(new PointerEvent('pointerdown', opts));
    strip.dispatchEvent(new PointerEvent('pointerup', opts));
  });
  const middle = [...(await measureSteps(p, back)), ...(await measureSteps(p, fwd))];
  await p.getByTestId('tab-events').click();
  await p.getByTestId('event-row').first().waitFor();
  const eventsTab = [...(await measureSteps(p, back)), ...(await measureSteps(p, fwd))];
  await p.getByTestId('tab-session').click();
  await p.getByTestId('entry').first().waitFor({ timeout: 60_000 });
  const sessionTab = [...(await measureSteps(p, back)), ...(await measureSteps(p, fwd))];
  return { 'node tab, from the end': nodeTab, 'node tab, mid-trace': middle, 'events tab': eventsTab, 'session tab': sessionTab };
}

/** The page's JS heap after a full GC (the trace is loaded, validated, and on screen). */
async function heapAfterLoad(p: Page): Promise<number> {
  // Full validation runs in a worker after the load; its result can rebuild the model, so wait for it to be idle.
  await p.waitForTimeout(1000);
  const cdp = await p.context().newCDPSession(p);
  await cdp.send('HeapProfiler.enable');
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  await cdp.detach();
  return usedSize;
}

interface BundleFigures { ok: boolean }

async function benchBundle(browser: Browser, bundle: string, runs: number, big: boolean): Promise<BundleFigures> {
  const traceBytes = statSync(join(bundle, 'trace.ndjson')).size;
  const server = await startViewerServer({ root: bundle, host: '127.0.0.1' });
  try {
    const ttis: number[] = [];
    const firsts: number[] = [];
    const floors: number[] = [];
    const cpus: number[] = [];
    const floorCpus: number[] = [];
    let last: Awaited<ReturnType<typeof viewerLoad>> | undefined;
    let total = 0;
    for (let run = 0; run < runs; run++) {
      // Floor and viewer loads alternate, so whatever else the machine does weighs on both alike.
      await last?.close();
      last = await viewerLoad(browser, server.url);
      const { probe } = last;
      total = Number(await last.page.getByTestId('cursor-pos').getAttribute('data-total'));
      const { ms: floor, cpuMs: floorCpu } = await floorLoad(browser, server.url, total);
      floors.push(floor);
      cpus.push(last.cpuMs);
      floorCpus.push(floorCpu);
      firsts.push(probe.firstAnswered);
      ttis.push(probe.loadedAnswered);
      const ph = (k: string) => probe.phases[k] ?? NaN;
      console.log(`  load ${run + 1}: entry module ${fmt(ph('start'))}, app ${fmt(ph('app'))}; trace streamed ${fmt(ph('trace-start'))}–${fmt(ph('trace-end'))};`
        + ` first events on screen ${fmt(probe.firstOnScreen)}, key answered ${fmt(probe.firstAnswered)};`
        + ` whole trace on screen ${fmt(probe.loadedOnScreen)}, key answered ${fmt(probe.loadedAnswered)}; main thread CPU ${fmt(last.cpuMs)}; floor ${fmt(floor)} (CPU ${fmt(floorCpu)})`);
    }
    const p = last!.page;
    const heap = await heapAfterLoad(p);
    const steps = await stepTimes(p);
    await last!.close();

    // Medians of several fresh loads: one load on a busy two-core machine can be slowed by anything else running.
    const tti = pct(ttis, 50);
    const first = pct(firsts, 50);
    const floor = pct(floors, 50);
    const all = Object.values(steps).flat();
    const p95 = pct(all, 95);
    const label = `${total.toLocaleString('en-US')} trace events`;
    console.log(`viewer — ${label}, trace ${mb(traceBytes)} on disk, headless Chromium, ${runs} loads, ${all.length} steps`);
    console.log(`  floor (${FLOOR_NAME}):  median ${fmt(floor)}   worst ${fmt(Math.max(...floors))}`);
    console.log(`  time to interactive, whole trace loaded:        median ${fmt(tti)}   worst ${fmt(Math.max(...ttis))}   ${ratio(tti, floor)} floor`
      + `   target ${big ? `≤ ${TARGET_FLOOR_RATIO}× floor` : `≤ ${TARGET_TTI_MS} ms`}`);
    console.log(`  time to interactive, first events (streaming):  median ${fmt(first)}   worst ${fmt(Math.max(...firsts))}   ${ratio(first, floor)} floor`
      + `${big ? `   target ≤ ${TARGET_FLOOR_RATIO}× floor` : ''}`);
    const cpu = pct(cpus, 50);
    const floorCpu = pct(floorCpus, 50);
    console.log(`  main thread CPU until interactive (whole trace): median ${fmt(cpu)}   floor's ${fmt(floorCpu)}   ${ratio(cpu, floorCpu)} (less load-sensitive than the times above)`);
    console.log(`  JS heap after load (after GC):                  ${mb(heap)}   ${ratio(heap, traceBytes)} the trace on disk   target ≤ ${TARGET_HEAP_RATIO}×`);
    for (const [name, xs] of Object.entries(steps)) {
      console.log(`  step, ${name.padEnd(22)} p50 ${fmt(pct(xs, 50)).padStart(8)}   p95 ${fmt(pct(xs, 95)).padStart(8)}   max ${fmt(Math.max(...xs)).padStart(8)}`);
    }
    console.log(`  step p95 overall: ${fmt(p95)}   target ≤ ${TARGET_STEP_P95_MS} ms`);
    console.log(`  ${benchFooter()}`);

    const bench = 'bench:viewer';
    const floorOf = { floor, floorName: FLOOR_NAME };
    recordFigure(bench, { name: `viewer, ${total} events, time to interactive (whole trace), median`, value: tti, unit: 'ms', ...floorOf,
      target: big ? `≤ ${TARGET_FLOOR_RATIO}× floor` : `≤ ${TARGET_TTI_MS} ms` });
    recordFigure(bench, { name: `viewer, ${total} events, first events on screen, median`, value: first, unit: 'ms', ...floorOf,
      ...(big ? { target: `≤ ${TARGET_FLOOR_RATIO}× floor` } : {}) });
    recordFigure(bench, { name: `viewer, ${total} events, step p95`, value: p95, unit: 'ms', target: `≤ ${TARGET_STEP_P95_MS} ms` });
    recordFigure(bench, { name: `viewer, ${total} events, JS heap after load`, value: heap / 1e6, unit: 'MB', floor: traceBytes / 1e6,
      floorName: 'trace.ndjson on disk', target: `≤ ${TARGET_HEAP_RATIO}× floor` });
    const ok = (big ? tti <= TARGET_FLOOR_RATIO * floor && first <= TARGET_FLOOR_RATIO * floor : tti <= TARGET_TTI_MS)
      && p95 <= TARGET_STEP_P95_MS && heap <= TARGET_HEAP_RATIO * traceBytes;
    return { ok };
  } finally {
    await server.close();
  }
}

function bundleFor(dir: string, name: string, events: number, given: string | undefined): string {
  if (given) {
    console.log(`using the bundle in ${given}`);
    return given;
  }
  const bundle = join(dir, name);
  process.stdout.write(`writing a ${events.toLocaleString('en-US')}-event bundle… `);
  const t0 = performance.now();
  const writer = writeSyntheticRun(bundle, events);
  console.log(`${writer.seq.toLocaleString('en-US')} events, ${writer.state.steps.size.toLocaleString('en-US')} attempts in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return bundle;
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    // Without this, --help was an unknown flag and started the whole benchmark (minutes of CPU on a shared machine).
    console.log('usage: pnpm bench:viewer [--events N] [--big N] [--steps N] [--runs N] [--big-runs N] [--bundle DIR] [--big-bundle DIR] [--keep]');
    console.log('  --events N      size of the first bundle (default 100,000; 0 skips it)');
    console.log('  --big N         size of the large bundle (default 1,000,000; 0 skips it)');
    console.log('  --runs N        fresh loads of the first bundle (default 5); --big-runs N of the large one (default 3)');
    console.log('  --steps N       key presses per step measurement (default 200)');
    console.log('  --bundle DIR    use this bundle instead of writing one (--big-bundle DIR: the large one); --keep keeps the written ones');
    console.log('  prints each phase of each load, the figures with their floor and ratio, the load average and the commit');
    return;
  }
  assertChromium(); // before minutes of building and writing: no browser, no benchmark
  console.log(benchHeader('bench:viewer'));
  process.stdout.write('building the viewer… ');
  ensureViewerBuilt();
  console.log('ok');
  const dir = mkdtempSync(join(tmpdir(), 'flowtape-bench-viewer-'));
  try {
    const sizes: Array<{ bundle: string; runs: number; big: boolean }> = [];
    if (EVENTS > 0) sizes.push({ bundle: bundleFor(dir, 'bundle', EVENTS, textArg('bundle')), runs: RUNS, big: false });
    if (BIG > 0) sizes.push({ bundle: bundleFor(dir, 'big', BIG, textArg('big-bundle')), runs: BIG_RUNS, big: true });
    const browser = await launchBrowser();
    let ok = true;
    try {
      for (const { bundle, runs, big } of sizes) {
        console.log('');
        const r = await benchBundle(browser, bundle, runs, big);
        ok &&= r.ok;
      }
    } finally {
      await browser.close();
    }
    console.log(ok ? 'targets met' : 'TARGET MISSED');
    process.exitCode = ok ? 0 : 1;
  } finally {
    if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
    else console.log(`bundles kept in ${dir}`);
  }
}

main().catch((err: unknown) => {
  console.error(`bench-viewer: ${(err as Error).message}`);
  process.exit(2);
});
