/**
 * The cold figure of bench-recorder: a recorded run as `flowtape run` makes it, the first run of a fresh process,
 * whose code V8 has not compiled or optimized yet. The rows of bench-recorder come later in one long process (its
 * warm-up run, the 1-node runs and the smaller sizes ran before them), and its "once optimized" lines later still:
 * a library recording many runs in one process pays the compilation once, a command line user at every run.
 *
 * Each repetition starts two processes in turn, with the same loader as the benchmark (tsx's flags, or `--dist`):
 * one records a chain of N compute nodes, the other runs it without a recorder (runtime alone, also its process's
 * first run). Loading the recorder's modules is timed apart and not counted in the run. For the sizes acpx runs
 * too, a third process runs the chain with acpx's FlowRunner, also as its first run (loading acpx not counted), so
 * acpx ÷ flowtape is also given with both tools cold.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FlowDefinition, record as recordFn, runFlow as runFlowFn } from '@flowtape/recorder';
import { median, recordFigure } from './bench-env.ts';
import type { acpxOnce as acpxOnceFn } from './bench-recorder-acpx.ts';

/** What one child process reports (one JSON line on stdout). */
interface ColdRun {
  /** Wall time of the run, ms (record() or runFlow(), from the call until it resolved). */
  ms: number;
  /** CPU time (user + system, every thread of the process) during the run, ms. */
  cpuMs: number;
  /** Loading @flowtape/recorder (and the schema), ms: not part of `ms`. */
  importMs: number;
}

type ColdMode = 'record' | 'bare' | 'acpx';

/**
 * Cold repetitions per size, as many as the long-process rows: each is two processes (recorded, runtime alone), about
 * a second each under tsx, and a fresh process's first run varied 2–3× from one to the next at load 4.
 */
const COLD_REPS = 5;
const benchScript = fileURLToPath(new URL('bench-recorder.ts', import.meta.url));

/** Runs one child, `bench-recorder.ts --cold-child <n>:<mode>`, under this process's loader (tsx's --import flags). */
async function coldRun(n: number, mode: ColdMode, dist: boolean): Promise<ColdRun> {
  const args = [...process.execArgv, benchScript, '--cold-child', `${n}:${mode}`, ...(dist ? ['--dist'] : [])];
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ColdRun;
}

/**
 * The child's side (bench-recorder.ts `--cold-child <n>:record|bare`): this process's first run, recorded or not,
 * reported as one JSON line on stdout.
 */
export async function coldChild(
  spec: string,
  use: { chain(n: number): FlowDefinition; record: typeof recordFn; runFlow: typeof runFlowFn; importMs: number; acpxOnce: typeof acpxOnceFn },
): Promise<void> {
  const [size, mode] = spec.split(':');
  const n = Number(size);
  if (!Number.isInteger(n) || n < 1 || (mode !== 'record' && mode !== 'bare' && mode !== 'acpx')) {
    throw new Error(`--cold-child ${spec}: expected <nodes>:record, <nodes>:bare or <nodes>:acpx`);
  }
  const cwd = mkdtempSync(join(tmpdir(), 'flowtape-bench-cold-'));
  try {
    if (mode === 'acpx') {
      // acpxOnce loads acpx/flows before its clock starts, and times the run alone.
      const c0 = process.cpuUsage();
      const { perNode } = await use.acpxOnce(n, cwd);
      const cpu = process.cpuUsage(c0);
      const report: ColdRun = { ms: perNode * n, cpuMs: (cpu.user + cpu.system) / 1000, importMs: use.importMs };
      console.log(JSON.stringify(report));
      return;
    }
    const flow = use.chain(n);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    if (mode === 'record') await use.record(flow, { seed: 1 }, { cwd, bundleDir: join(cwd, 'bundle'), recorder: { redact: false } });
    else await use.runFlow(flow, { seed: 1 }, { cwd });
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    const report: ColdRun = { ms, cpuMs: (cpu.user + cpu.system) / 1000, importMs: use.importMs };
    console.log(JSON.stringify(report));
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** Cold acpx repetitions per size: a 2,000-node acpx run takes ~20 s. */
const acpxColdReps = (n: number) => (n <= 500 ? 3 : 1);

/**
 * Prints (and records, without a target) each size's cold figure: recorded run per node against runtime alone, both
 * the first run of a fresh process; and, for the sizes in `acpxSizes`, acpx ÷ flowtape with both tools cold.
 */
export async function coldRows(ns: number[], acpxSizes: number[], dist: boolean, fmtMs: (ms: number) => string): Promise<void> {
  if (ns.length === 0) return;
  console.log(`\nAs \`flowtape run\` records: the first run of a fresh process, its code not compiled yet (median of ${COLD_REPS}; loading the recorder not counted):`);
  for (const n of ns) {
    const rec: ColdRun[] = [];
    const bare: ColdRun[] = [];
    const acpx: ColdRun[] = [];
    // Alternating, so both see the same machine load.
    for (let r = 0; r < COLD_REPS; r++) {
      rec.push(await coldRun(n, 'record', dist));
      bare.push(await coldRun(n, 'bare', dist));
      if (acpxSizes.includes(n) && r < acpxColdReps(n)) acpx.push(await coldRun(n, 'acpx', dist));
    }
    const recMs = median(rec.map((x) => x.ms));
    const bareMs = median(bare.map((x) => x.ms));
    console.log(
      `  flowtape N=${String(n).padEnd(6)} ${fmtMs(recMs / n).padStart(10)}/node (run ${fmtMs(recMs)}, cpu ${fmtMs(median(rec.map((x) => x.cpuMs)))})` +
        `  |  runtime alone, also a fresh process: ${fmtMs(bareMs / n)}/node  |  × runtime alone ${(recMs / bareMs).toFixed(1)}` +
        `  |  loading the recorder ${fmtMs(median(rec.map((x) => x.importMs)))}`,
    );
    recordFigure('bench:recorder', {
      name: `recorded run per compute node, N=${n}, first run of a fresh process (as flowtape run)`,
      value: (recMs / n) * 1000,
      unit: 'µs/node',
      floor: (bareMs / n) * 1000,
      floorName: 'runtime alone, first run of a fresh process',
    });
    if (acpx.length > 0) {
      const acpxMs = median(acpx.map((x) => x.ms));
      console.log(`  acpx     N=${String(n).padEnd(6)} ${fmtMs(acpxMs / n).padStart(10)}/node, also a fresh process's first run (median of ${acpx.length})  |  acpx ÷ flowtape, both cold: ${(acpxMs / recMs).toFixed(0)}×`);
      recordFigure('bench:recorder', { name: `acpx per node ÷ flowtape per node, N=${n}, both the first run of a fresh process`, value: acpxMs / recMs, unit: '×' });
    }
  }
}
