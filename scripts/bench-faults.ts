/**
 * pnpm bench:faults — what a SIGKILL at a random moment of a run leaves behind. Real processes throughout.
 *
 *   1. Crashes: `flowtape run` (recorder/bin/flowtape.js) of a looping flow with ACP sessions (the real scripted
 *      agent), shell nodes and compute nodes (scripts/bench-faults-flow.ts) is SIGKILLed once per trial, at a moment
 *      drawn uniformly over the run (from its trace appearing to the length of an uninterrupted run, measured first).
 *      Per trial:
 *        - readable: the schema reader opens the bundle (manifest, flow, trace, every session's events; a torn last
 *          line is the only issue allowed) and `flowtape verify --json` exits 0 or 1 (2 means "not a bundle");
 *        - verify after one repair: `flowtape repair` once, then `flowtape verify` exits 0;
 *        - complete lines lost: every line ending in \n of trace.ndjson and sessions/<id>/events.ndjson before the
 *          repair that is missing after it;
 *        - processes left after 5 s: the CLI's descendants (a /proc scan just before the kill), the pids the shell
 *          nodes wrote, and any process naming the work dir or the flow's sleep — alive 5 s after the kill.
 *      Targets: all readable, all verify, 0 lines lost, 0 processes left. Leftovers are killed after each trial.
 *   2. Concurrency: bench:concurrency's resume races (2 and 4 concurrent `flowtape resume`) and shared writers.
 *
 * Prints a table with the load average, core count, node version and commit; exits 1 when a target is missed.
 *
 *   tsx scripts/bench-faults.ts [--trials 50] [--laps 4] [--race-trials 20] [--writer-trials 3] [--no-concurrency] [--json] [--keep]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadFlow, loadManifest, loadSessionEvents, loadTrace, type ReadIssue } from '@flowtape/schema';
import { openBundle } from '../recorder/src/tools/fs-backend.ts';
import { benchConcurrency, type ConcurrencyFigures } from './bench-concurrency.ts';
import { writeFaultsFlow } from './bench-faults-flow.ts';
import { alive, descendants, procInfo, processesMentioning, type Proc } from './bench-faults-procs.ts';
import { benchFooter, benchHeader, commit, loadAverage as load, repoRoot } from './bench-env.ts';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '50' },
    laps: { type: 'string', default: '4' },
    'race-trials': { type: 'string', default: '20' },
    'writer-trials': { type: 'string', default: '3' },
    'no-concurrency': { type: 'boolean' },
    json: { type: 'boolean' },
    keep: { type: 'boolean' },
  },
});
const trials = Number(values.trials);
const LEFT_AFTER_MS = 5_000;

const flowtapeBin = join(repoRoot, 'recorder/bin/flowtape.js');
// With --json the human-readable lines go to stderr, so stdout is one JSON document.
const say = (line: string) => (values.json ? process.stderr.write(`${line}\n`) : console.log(line));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], cwd: string): { child: ChildProcess; done: Promise<Exit> } {
  const child = spawn(process.execPath, [flowtapeBin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return { child, done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))) };
}

/** The files a writer appends to, relative to the bundle: the ones whose complete lines must survive a repair. */
function appendedFiles(bundle: string): string[] {
  const sessions = join(bundle, 'sessions');
  const names = existsSync(sessions) ? readdirSync(sessions).sort() : [];
  return ['trace.ndjson', ...names.map((s) => `sessions/${s}/events.ndjson`)].filter((f) => existsSync(join(bundle, f)));
}

/** Every complete line (ending in \n) of each appended file; a torn tail is not one. */
function completeLines(bundle: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of appendedFiles(bundle)) {
    const text = readFileSync(join(bundle, file), 'utf8');
    out.set(file, text.slice(0, text.lastIndexOf('\n') + 1).split('\n').slice(0, -1));
  }
  return out;
}

/** Lines of `before` that `after` no longer holds (as a multiset: a line kept once does not cover two). */
function linesLost(before: Map<string, string[]>, after: Map<string, string[]>): { lost: number; where: string[] } {
  let lost = 0;
  const where: string[] = [];
  for (const [file, lines] of before) {
    const left = new Map<string, number>();
    for (const line of after.get(file) ?? []) left.set(line, (left.get(line) ?? 0) + 1);
    let missing = 0;
    for (const line of lines) {
      const n = left.get(line) ?? 0;
      if (n === 0) missing++;
      else left.set(line, n - 1);
    }
    if (missing > 0) where.push(`${file}: ${missing} of ${lines.length}`);
    lost += missing;
  }
  return { lost, where };
}

/** Opens the bundle the way the viewer does; undefined when readable, else why not. */
async function readerProblem(bundle: string): Promise<string | undefined> {
  const issues: ReadIssue[] = [];
  try {
    const backend = await openBundle(bundle);
    const manifest = await loadManifest(backend);
    await loadFlow(backend, manifest);
    for await (const _ of loadTrace(backend, manifest, { onIssue: (i) => issues.push(i) }));
    for (const file of appendedFiles(bundle).slice(1)) {
      for await (const _ of loadSessionEvents(backend, file.split('/')[1]!, (i) => issues.push(i)));
    }
  } catch (error) {
    return `reader: ${(error as Error).message.split('\n')[0]}`;
  }
  // A kill mid-append leaves one torn last line per file; the reader reports it and reads the rest.
  const bad = issues.filter((i) => i.problem !== 'torn_tail');
  return bad.length > 0 ? `reader: ${bad[0]!.message}` : undefined;
}

/** The attempt the trace left open ("ask (acp)", …), or where the run was between nodes. */
function openAttempt(trace: string[]): string {
  const open = new Map<string, string>();
  let last = 'run start (no event yet)';
  for (const line of trace) {
    let e: { type: string; attemptId?: string; nodeId?: string; payload?: { nodeType?: string } };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      continue; // the reader check reports it
    }
    if (e.type === 'node.started') open.set(e.attemptId!, `${e.nodeId} (${e.payload?.nodeType})`);
    if (e.type === 'node.outcome') open.delete(e.attemptId!);
    last = e.type;
  }
  return [...open.values()].at(-1) ?? `between nodes (after ${last})`;
}

interface Trial {
  trial: number;
  killAtMs: number;
  /** The run ended on its own before the kill landed. */
  finished: boolean;
  /** What the run was doing: the open attempt's node, from the trace as the kill left it. */
  during: string;
  readable: boolean;
  verified: boolean;
  linesLost: number;
  processesLeft: number;
  notes: string[];
}

interface Setup {
  work: string;
  flow: ReturnType<typeof writeFaultsFlow>;
}

function runArgs(setup: Setup, out: string): string[] {
  return ['run', setup.flow.flowFile, '--agent', setup.flow.agentCommand, '--permission', 'approve-all', '--out', out, '--run-id', 'run', '-q'];
}

/** An uninterrupted run: the floor, and the span the kill moments are drawn from (trace appearing → exit). */
async function warmUp(setup: Setup): Promise<{ wallMs: number; runMs: number }> {
  const out = join(setup.work, 'warm-up');
  const started = performance.now();
  const run = cli(runArgs(setup, out), setup.work);
  let traceAt: number | undefined;
  const watch = setInterval(() => (traceAt ??= existsSync(join(out, 'run/trace.ndjson')) ? performance.now() : undefined), 5);
  const exit = await run.done;
  clearInterval(watch);
  const ended = performance.now();
  if (exit.code !== 0) throw new Error(`the uninterrupted run failed (exit ${exit.code}): ${exit.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const verify = await cli(['verify', join(out, 'run')], setup.work).done;
  if (verify.code !== 0) throw new Error(`the uninterrupted run's bundle does not verify: ${verify.stdout.trim()}`);
  rmSync(out, { recursive: true, force: true });
  return { wallMs: ended - started, runMs: ended - (traceAt ?? started) };
}

async function trial(setup: Setup, n: number, spanMs: number): Promise<Trial> {
  const out = join(setup.work, `trial-${n}`);
  const bundle = join(out, 'run');
  const notes: string[] = [];
  const killAtMs = Math.random() * spanMs;
  const run = cli(runArgs(setup, out), setup.work);
  const self = procInfo(run.child.pid!);
  let exited = false;
  void run.done.then(() => (exited = true));
  // t = 0 when the trace file appears: the run has begun writing its bundle.
  while (!exited && !existsSync(join(bundle, 'trace.ndjson'))) await sleep(5);
  await sleep(killAtMs);
  const finished = exited;
  // Everything the run started that is alive now, taken as close to the kill as possible.
  const tree: Proc[] = finished ? [] : descendants(run.child.pid!);
  run.child.kill('SIGKILL');
  const killedAt = performance.now();
  const exit = await run.done;
  if (finished && exit.code !== 0) notes.push(`the run exited ${exit.code} before the kill: ${exit.stderr.trim().split('\n').at(-1)}`);

  const problem = existsSync(bundle) ? await readerProblem(bundle) : 'no bundle directory';
  const verifyBefore = await cli(['verify', bundle, '--json'], setup.work).done;
  const readable = problem === undefined && (verifyBefore.code === 0 || verifyBefore.code === 1);
  if (problem) notes.push(problem);
  if (verifyBefore.code !== 0 && verifyBefore.code !== 1) notes.push(`verify --json before repair: exit ${verifyBefore.code}: ${verifyBefore.stderr.trim().split('\n').at(-1)}`);

  const before = existsSync(bundle) ? completeLines(bundle) : new Map<string, string[]>();
  const during = openAttempt(before.get('trace.ndjson') ?? []);
  const repair = await cli(['repair', bundle], setup.work).done;
  if (repair.code !== 0) notes.push(`repair: exit ${repair.code}: ${(repair.stderr || repair.stdout).trim().split('\n').at(-1)}`);
  const verify = await cli(['verify', bundle], setup.work).done;
  if (verify.code !== 0) notes.push(`verify after repair: exit ${verify.code}: ${(verify.stdout + verify.stderr).trim().split('\n').slice(0, 3).join(' | ')}`);
  const lost = linesLost(before, existsSync(bundle) ? completeLines(bundle) : new Map());
  if (lost.lost > 0) notes.push(`complete lines lost: ${lost.where.join(', ')}`);

  // Processes left: wait out the rest of the 5 s (repair and verify above ran meanwhile), then look.
  await sleep(Math.max(0, LEFT_AFTER_MS - (performance.now() - killedAt)));
  const pidsWritten = existsSync(setup.flow.pidFile) ? readFileSync(setup.flow.pidFile, 'utf8').split('\n').filter(Boolean).map(Number) : [];
  const left = new Map<number, string>();
  for (const p of tree) if (alive(p)) left.set(p.pid, p.comm);
  const others = [...pidsWritten.map(procInfo), ...processesMentioning([setup.work, setup.flow.marker])];
  for (const proc of others) {
    // Only processes started after this trial's CLI: a pid in the file may have been handed out again since.
    if (proc && proc.start >= (self?.start ?? 0)) left.set(proc.pid, proc.comm);
  }
  if (left.size > 0) notes.push(`left after 5 s: ${[...left].map(([pid, comm]) => `${pid} (${comm})`).join(', ')}`);
  // Clean up so the next trial starts from nothing.
  for (const pid of left.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  rmSync(setup.flow.pidFile, { force: true });
  if (!values.keep) rmSync(out, { recursive: true, force: true });
  return { trial: n, killAtMs, finished, during, readable, verified: verify.code === 0, linesLost: lost.lost, processesLeft: left.size, notes };
}

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'flowtape-bench-faults-'));
  mkdirSync(work, { recursive: true });
  const setup: Setup = {
    work,
    flow: writeFaultsFlow(work, {
      recorderEntry: join(repoRoot, 'recorder/src/index.ts'),
      agentBin: join(repoRoot, 'recorder/bin/flowtape-scripted-agent.js'),
      laps: Number(values.laps),
    }),
  };
  say(benchHeader('bench:faults'));
  say(`work dir ${work}${values.keep ? ' (kept)' : ''}`);
  try {
    const floor = await warmUp(setup);
    say(`floor: an uninterrupted run of the flow (${values.laps} laps of ACP, shell and compute nodes) takes ${(floor.wallMs / 1000).toFixed(2)} s wall, ` +
      `${(floor.runMs / 1000).toFixed(2)} s from its trace appearing to exit; kills land uniformly in [0, ${(floor.runMs / 1000).toFixed(2)} s] of that\n`);
    const results: Trial[] = [];
    const started = performance.now();
    let endedFirst = 0;
    for (let n = 1; n <= trials; n++) {
      const t = await trial(setup, n, floor.runMs);
      // A kill after the run ended on its own tests nothing: not counted, the trial is drawn again.
      if (t.finished) {
        endedFirst++;
        n--;
        continue;
      }
      results.push(t);
      const ok = t.readable && t.verified && t.linesLost === 0 && t.processesLeft === 0;
      if (!ok || n % 10 === 0) say(`  trial ${n}: kill at ${Math.round(t.killAtMs)} ms, during ${t.during} · ${ok ? 'ok' : t.notes.join(' · ')}`);
    }
    const count = (f: (t: Trial) => boolean) => results.filter(f).length;
    const figures = {
      trials,
      readable: count((t) => t.readable),
      verifiedAfterOneRepair: count((t) => t.verified),
      completeLinesLost: results.reduce((s, t) => s + t.linesLost, 0),
      processesLeftAfter5s: results.reduce((s, t) => s + t.processesLeft, 0),
      trialsWithProcessesLeft: count((t) => t.processesLeft > 0),
      runsEndedBeforeTheKill: endedFirst,
    };
    const during = new Map<string, number>();
    for (const t of results) during.set(t.during, (during.get(t.during) ?? 0) + 1);
    const rows: Array<[string, string, string]> = [
      ['trials (SIGKILL at a random moment)', String(trials), ''],
      ['bundles readable', `${figures.readable}/${trials}`, `${trials}/${trials}`],
      ['verify after one repair passing', `${figures.verifiedAfterOneRepair}/${trials}`, `${trials}/${trials}`],
      ['complete lines lost', String(figures.completeLinesLost), '0'],
      ['processes left after 5 s', `${figures.processesLeftAfter5s} (in ${figures.trialsWithProcessesLeft} trials)`, '0'],
    ];
    say(`\ncrashes — ${((performance.now() - started) / 1000).toFixed(0)} s · load average ${load()}`);
    say(`  kills landed during: ${[...during].sort(([, a], [, b]) => b - a).map(([what, k]) => `${what} ${k}`).join(', ')}` +
      ` (${endedFirst} more runs ended before their kill; not counted, drawn again)`);
    const w = Math.max(...rows.map(([name]) => name.length));
    say(`  ${'figure'.padEnd(w)}  ${'result'.padEnd(18)}  target`);
    for (const [name, result, target] of rows) say(`  ${name.padEnd(w)}  ${result.padEnd(18)}  ${target}`);

    let concurrency: ConcurrencyFigures | undefined;
    if (!values['no-concurrency']) {
      say('');
      // bench:concurrency prints its own lines; under --json they must not reach stdout.
      const log = console.log;
      if (values.json) console.log = (...args: unknown[]) => process.stderr.write(`${args.join(' ')}\n`);
      try {
        concurrency = await benchConcurrency({ trials: Number(values['race-trials']), writerTrials: Number(values['writer-trials']), perWorker: 150, keep: values.keep });
      } finally {
        console.log = log;
      }
    }

    const missed: string[] = [];
    if (figures.readable < trials) missed.push('bundles readable');
    if (figures.verifiedAfterOneRepair < trials) missed.push('verify after one repair');
    if (figures.completeLinesLost > 0) missed.push('complete lines lost');
    if (figures.processesLeftAfter5s > 0) missed.push('processes left after 5 s');
    if (concurrency && (concurrency.multiWinner[2]! > 0 || concurrency.multiWinner[4]! > 0)) missed.push('resume trials with more than one winner');
    if (concurrency && concurrency.worstDuplicates > 0) missed.push('duplicate seqs');

    say(
      `\nsummary: ${trials} SIGKILLs — readable ${figures.readable}/${trials}, verify after one repair ${figures.verifiedAfterOneRepair}/${trials}, ` +
        `complete lines lost ${figures.completeLinesLost}, processes left after 5 s ${figures.processesLeftAfter5s}` +
        (concurrency
          ? `; resume trials with more than one winner — 2 concurrent: ${concurrency.multiWinner[2]}/${concurrency.trials}, 4 concurrent: ${concurrency.multiWinner[4]}/${concurrency.trials}; ` +
            `4 shared writers, duplicate seqs in any file: ${concurrency.worstDuplicates}`
          : '') +
        ` · floor ${(floor.wallMs / 1000).toFixed(2)} s · ${benchFooter()}`,
    );
    say(missed.length === 0 ? 'all targets met' : `targets missed: ${missed.join(', ')}`);
    if (values.json) {
      console.log(JSON.stringify({ commit: commit(), load: loadavg(), floorMs: floor.wallMs, ...figures, concurrency, missed, perTrial: results }, null, 2));
    }
    return missed.length === 0 ? 0 : 1;
  } finally {
    if (!values.keep) rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench:faults: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
