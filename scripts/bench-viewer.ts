/**
 * pnpm bench:viewer [--events N] [--steps N] [--runs N] [--bundle DIR] [--keep] — the viewer on a large bundle, in headless Chromium.
 *
 * Builds a synthetic bundle of N trace events (default 100,000; every document validated by the schema, the
 * projections and conversation records made by the schema's reducer and builder), serves it with the viewer
 * server, and measures:
 *   - time to interactive: from navigation start until the whole trace is on screen AND the page has answered
 *     a key press (the step's result is in the DOM) — so a busy main thread cannot hide; also the same for the
 *     first events shown while a large trace still streams in;
 *   - one step: ←/→ key press → React commit → forced style and layout, timed in the page, over many steps
 *     forward and back (back steps refold from a checkpoint), with the node tab and with the events tab open.
 * Targets (BRIEF): interactive ≤ 1.5 s (median of --runs fresh loads), p95 step ≤ 16 ms. Prints figures and the
 * machine's load average; exits 1 if a target is missed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSyntheticRun } from '../test/fixtures/scenarios.ts';
import { assertChromium, launchBrowser } from '../test/e2e/browser.ts';
import { ensureViewerBuilt } from '../viewer/server/ensure-built.ts';
import { recordFigure } from './bench-env.ts';
import { startViewerServer } from '../viewer/server/serve.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i === -1 ? undefined : Number(process.argv[i + 1]);
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : fallback;
}

const EVENTS = arg('events', 100_000);
const STEPS = arg('steps', 200);
const RUNS = arg('runs', 5);
const TARGET_TTI_MS = 1500;
const TARGET_STEP_P95_MS = 16;

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

async function main(): Promise<void> {
  assertChromium(); // before minutes of building and writing: no browser, no benchmark
  process.stdout.write('building the viewer… ');
  ensureViewerBuilt();
  console.log('ok');
  const dir = mkdtempSync(join(tmpdir(), 'flowtape-bench-viewer-'));
  try {
    const given = process.argv.indexOf('--bundle');
    let bundle = join(dir, 'bundle');
    if (given !== -1 && process.argv[given + 1]) {
      bundle = process.argv[given + 1]!;
      console.log(`using the bundle in ${bundle}`);
    } else {
      process.stdout.write(`writing a ${EVENTS.toLocaleString()}-event bundle… `);
      const t0 = performance.now();
      const writer = writeSyntheticRun(bundle, EVENTS);
      console.log(`${writer.seq.toLocaleString()} events, ${writer.state.steps.size.toLocaleString()} attempts in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }

    const server = await startViewerServer({ root: bundle, host: '127.0.0.1' });
    const browser = await launchBrowser();
    try {
      const ttis: number[] = [];
      const firsts: number[] = [];
      let page;
      for (let run = 0; run < RUNS; run++) {
        const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
        page = await context.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        // The probe runs in the page from before the app starts: as soon as the bundle is on screen it presses ←
        // (on the next task, as a person would) and notes when the cursor moved. No harness latency included.
        await page.addInitScript(PROBE);
        await page.goto(server.url, { waitUntil: 'commit' });
        await page.waitForSelector('[data-testid="bundle"][data-loading="false"]', { timeout: 60_000 });
        const probe = (await page.evaluate('window.__flowtapeProbe')) as {
          firstOnScreen: number; firstAnswered: number; loadedOnScreen: number; loadedAnswered: number; phases: Record<string, number>;
        };
        if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
        firsts.push(probe.firstAnswered);
        ttis.push(probe.loadedAnswered);
        const ph = (k: string) => probe.phases[k] ?? NaN;
        console.log(`  load ${run + 1}: app started ${fmt(ph('start'))}; trace streamed ${fmt(ph('trace-start'))}–${fmt(ph('trace-end'))};`
          + ` first events on screen ${fmt(probe.firstOnScreen)}, key answered ${fmt(probe.firstAnswered)};`
          + ` whole trace on screen ${fmt(probe.loadedOnScreen)}, key answered ${fmt(probe.loadedAnswered)}`);
        if (run < RUNS - 1) await context.close();
      }
      const p = page!;
      const total = Number(await p.getByTestId('cursor-pos').getAttribute('data-total'));

      // One step = key press → commit → style/layout, measured in the page.
      const measure = (steps: Array<'ArrowLeft' | 'ArrowRight'>) => p.evaluate(async (keys) => {
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

      const half = Math.floor(STEPS / 2);
      const back = Array<'ArrowLeft'>(half).fill('ArrowLeft');
      const fwd = Array<'ArrowRight'>(half).fill('ArrowRight');
      const nodeTab = [...(await measure(back)), ...(await measure(fwd))];
      // From the middle of the run as well (deep in the trace, away from the memoised end state).
      await p.evaluate(() => {
        const strip = document.querySelector('[data-testid="scrubber"]') as HTMLElement;
        const r = strip.getBoundingClientRect();
        const opts = { bubbles: true, clientX: r.left + r.width * 0.5, clientY: r.top + 5, pointerId: 1, buttons: 1 };
        strip.dispatchEvent(new PointerEvent('pointerdown', opts));
        strip.dispatchEvent(new PointerEvent('pointerup', opts));
      });
      const middle = [...(await measure(back)), ...(await measure(fwd))];
      await p.getByTestId('tab-events').click();
      await p.getByTestId('event-row').first().waitFor();
      const eventsTab = [...(await measure(back)), ...(await measure(fwd))];
      await p.getByTestId('tab-session').click();
      await p.getByTestId('entry').first().waitFor({ timeout: 30_000 });
      const sessionTab = [...(await measure(back)), ...(await measure(fwd))];

      // The median of several fresh loads: one load on a busy two-core machine can be slowed by anything else
      // running; the worst is printed too.
      const tti = pct(ttis, 50);
      const all = [...nodeTab, ...middle, ...eventsTab, ...sessionTab];
      console.log('');
      console.log(`viewer benchmark — ${total.toLocaleString()} trace events, headless Chromium (${process.platform}, ${RUNS} loads, ${all.length} steps)`);
      console.log(`  time to interactive, whole trace loaded:        median ${fmt(tti)}   worst ${fmt(Math.max(...ttis))}   target ≤ ${TARGET_TTI_MS} ms`);
      console.log(`  time to interactive, first events (streaming):  median ${fmt(pct(firsts, 50))}   worst ${fmt(Math.max(...firsts))}`);
      console.log(`  machine load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (${cpus().length} cores)`);
      const row = (name: string, xs: number[]) =>
        console.log(`  step, ${name.padEnd(22)} p50 ${fmt(pct(xs, 50)).padStart(8)}   p95 ${fmt(pct(xs, 95)).padStart(8)}   max ${fmt(Math.max(...xs)).padStart(8)}`);
      row('node tab, from the end', nodeTab);
      row('node tab, mid-trace', middle);
      row('events tab', eventsTab);
      row('session tab', sessionTab);
      const p95 = pct(all, 95);
      console.log(`  step p95 overall: ${fmt(p95)}   target ≤ ${TARGET_STEP_P95_MS} ms`);
      recordFigure('bench:viewer', { name: `viewer, ${total} events, time to interactive (whole trace), median`, value: tti, unit: 'ms', target: `≤ ${TARGET_TTI_MS} ms (no floor measured yet)` });
      recordFigure('bench:viewer', { name: `viewer, ${total} events, first events on screen, median`, value: pct(firsts, 50), unit: 'ms' });
      recordFigure('bench:viewer', { name: `viewer, ${total} events, step p95`, value: p95, unit: 'ms', target: `≤ ${TARGET_STEP_P95_MS} ms` });
      const ok = tti <= TARGET_TTI_MS && p95 <= TARGET_STEP_P95_MS;
      console.log(ok ? 'targets met' : 'TARGET MISSED');
      process.exitCode = ok ? 0 : 1;
    } finally {
      await browser.close();
      await server.close();
    }
  } finally {
    if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
    else console.log(`bundle kept in ${dir}`);
  }
}

main().catch((err: unknown) => {
  console.error(`bench-viewer: ${(err as Error).message}`);
  process.exit(2);
});
