/**
 * pnpm bench:concurrency — do concurrent writers of one bundle stay correct? Real processes throughout.
 *
 *   1. Resume races: a waiting bundle of samples/checkpoint (recorded once by `flowtape run`, copied per trial) is
 *      resumed by 2, then 4, `flowtape resume` processes (recorder/bin/flowtape.js) started together. A trial has
 *      more than one winner when the trace holds more than one `run.resumed` or more than one process exits 0
 *      (target: 0 such trials). Every other process must exit 2 with the "not waiting" error; every bundle must
 *      verify.
 *   2. Shared writers: 4 processes (recorder/test/recorder-append-worker.ts, session mode) append attempts and ACP
 *      turns to one bundle and one session at once, through the lock, while the owner holds the bundle open.
 *      Counted per appended file (trace.ndjson, sessions/<id>/events.ndjson): lines whose seq another line already
 *      has (target: 0 in every file), and gaps.
 *
 * Prints the figures between the shared header and footer (commit, node, cores, load average: scripts/bench-env.ts).
 *
 *   tsx scripts/bench-concurrency.ts [--trials 20] [--writer-trials 3] [--per-worker 150] [--keep]
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRecorder } from '../recorder/src/bundle/index.ts';
import { verifyBundle } from '../recorder/src/tools/verify.ts';
import { benchFooter, benchHeader, loadAverage as load, repoRoot } from './bench-env.ts';

const flowtapeBin = join(repoRoot, 'recorder/bin/flowtape.js');
const worker = join(repoRoot, 'recorder/test/recorder-append-worker.ts');
const checkpointFlow = 'samples/checkpoint/checkpoint.flow.ts';


interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, onStdout?: (chunk: string) => void): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      onStdout?.(c);
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function lines(file: string): Array<Record<string, unknown>> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return { seq: undefined, torn: true };
      }
    });
}

/** Lines whose seq an earlier line of the file already has, seqs missing below the highest, and unreadable lines. */
function seqFacts(file: string): { lines: number; duplicates: number; gaps: number; bad: number } {
  const all = lines(file);
  const seen = new Set<number>();
  let duplicates = 0;
  let bad = 0;
  let max = 0;
  for (const line of all) {
    const seq = line.seq;
    if (typeof seq !== 'number') {
      bad++;
      continue;
    }
    if (seen.has(seq)) duplicates++;
    seen.add(seq);
    max = Math.max(max, seq);
  }
  return { lines: all.length, duplicates, gaps: max - seen.size, bad };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** What bench:faults reports from this bench (it runs the same trials through this function). */
export interface ConcurrencyFigures {
  trials: number;
  /** Resume trials with more than one winner, by the number of concurrent resumes. */
  multiWinner: Record<number, number>;
  /** Duplicate seqs in any appended file, worst shared-writer trial. */
  worstDuplicates: number;
}

export async function benchConcurrency(options: { trials: number; writerTrials: number; perWorker: number; keep?: boolean }): Promise<ConcurrencyFigures> {
  const { trials, writerTrials, perWorker } = options;
  const values = { keep: options.keep };
  const work = mkdtempSync(join(tmpdir(), 'flowtape-bench-concurrency-'));
  console.log(benchHeader('bench:concurrency'));
  console.log(`work dir ${work}${values.keep ? ' (kept)' : ''}`);

  try {
    // ——— 1. resume races ———
    const template = join(work, 'template');
    const first = await run(process.execPath, [flowtapeBin, 'run', checkpointFlow, '--input', '{"version":"9.9.9"}', '--out', template, '--run-id', 'waiting', '-q'], repoRoot);
    const waitingBundle = join(template, 'waiting');
    const waitingTrace = lines(join(waitingBundle, 'trace.ndjson'));
    if (first.code !== 0 || waitingTrace.at(-1)?.type !== 'run.waiting') {
      throw new Error(`could not record a waiting bundle of ${checkpointFlow} (exit ${first.code}): ${first.stderr.trim()}`);
    }
    console.log(`\nresume races — ${checkpointFlow} waiting at "approval" (seq ${waitingTrace.length}), real \`flowtape resume\` processes started together`);
    const raceSummary: Record<number, number> = {};
    for (const contenders of [2, 4]) {
      let multiWinner = 0;
      let cleanLosers = 0;
      let verified = 0;
      const winnersPerTrial = new Map<number, number>();
      const odd: string[] = [];
      const times: number[] = [];
      for (let trial = 1; trial <= trials; trial++) {
        const bundle = join(work, `race-${contenders}-${trial}`);
        cpSync(waitingBundle, bundle, { recursive: true });
        const started = performance.now();
        const exits = await Promise.all(
          Array.from({ length: contenders }, (_, i) =>
            run(process.execPath, [flowtapeBin, 'resume', bundle, '--input', JSON.stringify({ approved: true, by: `p${i}` }), '-q'], repoRoot),
          ),
        );
        times.push(performance.now() - started);
        const trace = lines(join(bundle, 'trace.ndjson'));
        const resumed = trace.filter((e) => e.type === 'run.resumed').length;
        const zeroExits = exits.filter((e) => e.code === 0).length;
        const winners = Math.max(resumed, zeroExits);
        winnersPerTrial.set(winners, (winnersPerTrial.get(winners) ?? 0) + 1);
        if (winners > 1) multiWinner++;
        const losers = exits.filter((e) => e.code !== 0);
        if (losers.length === contenders - 1 && losers.every((e) => e.code === 2 && /not waiting at a checkpoint: nothing to resume\n$/.test(e.stderr))) cleanLosers++;
        else odd.push(`trial ${trial}: ${exits.map((e) => `exit ${e.code}${e.code === 0 ? '' : ` ${e.stderr.trim().split('\n').at(-1)}`}`).join(' | ')}`);
        const report = await verifyBundle(bundle);
        if (report.ok) verified++;
        else odd.push(`trial ${trial}: verify: ${report.problems.slice(0, 2).map((p) => p.message).join('; ')}`);
        if (!values.keep) rmSync(bundle, { recursive: true, force: true });
      }
      raceSummary[contenders] = multiWinner;
      const distribution = [...winnersPerTrial.entries()].sort(([a], [b]) => a - b).map(([w, n]) => `${w} winner${w === 1 ? '' : 's'} ×${n}`).join(', ');
      console.log(
        `  ${contenders} concurrent resumes, ${trials} trials: trials with more than one winner ${multiWinner} (target 0) · ${distribution} · ` +
          `losers all exit 2 "not waiting" in ${cleanLosers}/${trials} · bundles verify ${verified}/${trials} · median trial ${(median(times) / 1000).toFixed(2)} s`,
      );
      for (const line of odd.slice(0, 5)) console.log(`    ${line}`);
    }
    console.log(`  load average ${load()}`);

    // ——— 2. shared writers ———
    console.log(`\nshared writers — 4 processes × ${perWorker} attempts, each an ACP turn in session s1, appending through the lock at once`);
    let worst = 0;
    for (let trial = 1; trial <= writerTrials; trial++) {
      const bundle = join(work, `writers-${trial}`);
      const flow = { schema: 'flowtape.flow.v1' as const, name: 'writers', startAt: 'x', nodes: [{ id: 'x', nodeType: 'acp' as const, sessionMode: 'shared' as const, sessionHandle: 'main' }], edges: [] };
      const owner = createRecorder(bundle, { shared: true, redact: false });
      let t = Date.UTC(2026, 0, 1);
      const x1 = { nodeId: 'x', attemptId: 'x#1' };
      owner.onEvent({ type: 'run.started', runId: `writers-${trial}`, flow, input: {}, cwd: work, deterministic: false }, t++);
      owner.onEvent({ type: 'node.started', ...x1, nodeType: 'acp', attempt: 1 }, t++);
      owner.onEvent({ type: 'acp.traffic', sessionId: 's1', attemptId: 'x#1', direction: 'outgoing', message: { jsonrpc: '2.0', id: 1, method: 'session/new', params: { cwd: work, mcpServers: [] } } }, t++);
      owner.onEvent({ type: 'acp.traffic', sessionId: 's1', attemptId: 'x#1', direction: 'incoming', message: { jsonrpc: '2.0', id: 1, result: { sessionId: 'acp-1' } } }, t++);
      owner.onEvent({ type: 'session.bound', ...x1, sessionId: 's1', handle: 'main', acpSessionId: 'acp-1', mode: 'shared', reused: false, agentCommand: ['agent'], cwd: work }, t++);
      await owner.flush();
      const go = join(work, `go-${trial}`);
      let ready = 0;
      const started = performance.now();
      const exits = Promise.all(
        [1, 2, 3, 4].map((id) =>
          run(process.execPath, ['--import', 'tsx', worker, bundle, String(id), String(perWorker), go, 'session'], repoRoot, (c) => (ready += c.split('ready').length - 1)),
        ),
      );
      while (ready < 4) await new Promise((resolve) => setTimeout(resolve, 10));
      writeFileSync(go, '');
      const results = await exits;
      const seconds = (performance.now() - started) / 1000;
      owner.onEvent({ type: 'node.outcome', ...x1, outcome: 'ok', durationMs: 1 }, t++);
      owner.onEvent({ type: 'run.completed', output: null, durationMs: 1 }, t++);
      await owner.close();
      const files = ['trace.ndjson', ...readdirSync(join(bundle, 'sessions')).map((s) => `sessions/${s}/events.ndjson`)];
      const facts = files.map((file) => ({ file, ...seqFacts(join(bundle, file)) }));
      worst = Math.max(worst, ...facts.map((f) => f.duplicates));
      const report = await verifyBundle(bundle);
      const failed = results.filter((r) => r.code !== 0);
      console.log(
        `  trial ${trial}: ${facts.map((f) => `${f.file} ${f.lines} lines, duplicate seqs ${f.duplicates}, gaps ${f.gaps}${f.bad ? `, unreadable ${f.bad}` : ''}`).join(' · ')} · ` +
          `workers exit 0 ${results.length - failed.length}/4 · verify ${report.ok ? 'ok' : `${report.problems.length} problems`} · ${seconds.toFixed(1)} s`,
      );
      for (const f of failed) console.log(`    worker exit ${f.code}: ${f.stderr.trim().split('\n').at(-1)}`);
      if (!report.ok) for (const p of report.problems.slice(0, 3)) console.log(`    ${p.message}`);
      if (!values.keep) rmSync(bundle, { recursive: true, force: true });
    }
    console.log(`  duplicate seqs in any appended file, worst trial: ${worst} (target 0)`);

    console.log(
      `\nsummary: resume trials with more than one winner — 2 concurrent: ${raceSummary[2]}/${trials}, 4 concurrent: ${raceSummary[4]}/${trials}; ` +
        `shared writers, duplicate seqs in any file: ${worst} · ${benchFooter()}`,
    );
    return { trials, multiWinner: raceSummary, worstDuplicates: worst };
  } finally {
    if (!values.keep) rmSync(work, { recursive: true, force: true });
  }
}

// Run directly (pnpm bench:concurrency), not when bench:faults imports the function.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      trials: { type: 'string', default: '20' },
      'writer-trials': { type: 'string', default: '3' },
      'per-worker': { type: 'string', default: '150' },
      keep: { type: 'boolean' },
    },
  });
  await benchConcurrency({ trials: Number(values.trials), writerTrials: Number(values['writer-trials']), perWorker: Number(values['per-worker']), keep: values.keep });
}
