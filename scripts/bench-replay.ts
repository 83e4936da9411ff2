/**
 * bench:replay — a recorded run of 60 ACP turns whose agent (the scripted agent, a real ACP process) takes realistic
 * time per turn (thinking, then streaming), replayed with `flowtape replay`'s library call. Prints the original
 * run's wall time, the replay's, and the floor: the same flow run against the same agent with no delays at all
 * (what the flow and the processes cost). The replay's output must be identical (diff: same).
 *
 *   pnpm bench:replay            # TURNS=60 DELAY_MS=1000 by default
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { acp, compute, defineFlow, record } from '../recorder/src/index.ts';
import { replayBundle } from '../recorder/src/tools/replay.ts';
import { benchFooter, benchHeader, ratio } from './bench-env.ts';

const TURNS = Number(process.env['TURNS'] ?? 60);
// Real agent turns take seconds (model latency, streaming); 1 s is a conservative stand-in.
const DELAY_MS = Number(process.env['DELAY_MS'] ?? 1000);
const agentBin = fileURLToPath(new URL('../recorder/bin/flowtape-scripted-agent.js', import.meta.url));

function flow() {
  const nodes: Record<string, ReturnType<typeof acp> | ReturnType<typeof compute>> = {};
  const edges: Array<{ from: string; to: string }> = [];
  for (let i = 1; i <= TURNS; i++) {
    nodes[`ask${i}`] = acp({ prompt: ({ outputs }) => `Step ${i} after: ${String(outputs[`ask${i - 1}`] ?? 'start')}` });
    if (i > 1) edges.push({ from: `ask${i - 1}`, to: `ask${i}` });
  }
  nodes['done'] = compute({ run: ({ outputs }) => ({ last: outputs[`ask${TURNS}`] }) });
  edges.push({ from: `ask${TURNS}`, to: 'done' });
  return defineFlow({ name: 'bench-replay', startAt: 'ask1', nodes, edges });
}

function script(delayMs: number): unknown {
  // A turn: think for 60% of the time, then stream the answer in five chunks over the rest.
  const chunk = Math.round((delayMs * 0.4) / 5);
  const steps: unknown[] = [{ thought: 'Considering the step.' }, { delayMs: Math.round(delayMs * 0.6) }];
  for (let i = 0; i < 5; i++) steps.push({ delayMs: chunk }, { message: `part ${i} ` });
  steps.push({ usage: { used: 1200, size: 200000 } });
  return { agent: { name: 'bench-agent', version: '1.0.0' }, turns: [], fallback: { steps } };
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await work();
  return [value, performance.now() - start];
}

async function main(): Promise<void> {
  console.log(benchHeader('bench:replay'));
  const root = mkdtempSync(join(tmpdir(), 'flowtape-bench-replay-'));
  try {
    const definition = flow();
    const runWith = (delayMs: number, name: string) => {
      const file = join(root, `${name}.json`);
      writeFileSync(file, JSON.stringify(script(delayMs)));
      return record(definition, {}, { cwd: root, outDir: join(root, name), agentCommand: [process.execPath, agentBin, '--script', file] });
    };
    const [original, originalMs] = await timed(() => runWith(DELAY_MS, 'recorded'));
    if (original.status !== 'completed') throw new Error(`the recorded run ${original.status}: ${original.error?.message}`);
    const [floorRun, floorMs] = await timed(() => runWith(0, 'floor'));
    if (floorRun.status !== 'completed') throw new Error(`the floor run ${floorRun.status}`);
    rmSync(join(root, 'recorded.json'));
    const [replayed, replayMs] = await timed(() => replayBundle(original.bundleDir, definition, { cwd: root, outDir: join(root, 'replays') }));
    const identical = replayed.diff.same && JSON.stringify(replayed.run.output) === JSON.stringify(original.output);
    console.log(`${TURNS} ACP turns, ${DELAY_MS} ms of recorded agent time per turn`);
    console.log(`original run (recorded):   ${(originalMs / 1000).toFixed(2)} s`);
    console.log(`replay (no agent):         ${(replayMs / 1000).toFixed(2)} s   ${ratio(originalMs, replayMs)} faster than the original (target ≥ 20×)`);
    console.log(`floor (same flow, agent with no delays): ${(floorMs / 1000).toFixed(2)} s   replay = ${ratio(replayMs, floorMs)} of the floor`);
    console.log(`identical output: ${identical ? 'yes' : 'NO'} (diff ${replayed.diff.same ? 'same' : `${replayed.diff.total} differences`}, status ${replayed.run.status}) · ${benchFooter()}`);
    if (!identical) process.exitCode = 1;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
