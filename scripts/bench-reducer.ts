/**
 * pnpm bench:reducer — what folding a trace with the schema's one reducer costs per event, at growing run lengths,
 * next to its floor measured in the same run: `JSON.parse` of the same lines (what any reader pays for an event).
 * The recorder folds every event it writes, the viewer folds to its cursor, verify and repair fold whole traces,
 * so this cost must be small and flat. Two mixes: chained compute nodes (3 events per node) and ACP-heavy runs
 * (sessions bound, several prompt/turn pairs per attempt with usage, heartbeats). Median of 5 folds, after a
 * warm-up of at least 300k events or two folds (see WARM_UP_EVENTS), the floor alike; the cold first fold is printed
 * too.
 *
 * Then what rendering the three projection files of each fold's final state costs (the recorder's close and its
 * periodic snapshots, repair, import): the objects `toRunProjection`, `toLiveProjection` and `toStepsProjection`
 * make, next to `JSON.stringify` of those same objects, which writing them costs at least.
 *
 * Each figure is given twice: wall-clock time, and the CPU time of the process (every thread: the garbage collector's
 * helpers count). On a shared machine the wall-clock figure also holds the time spent waiting for a core, so compare
 * CPU figures (and ratios) between runs there.
 */
import {
  project,
  type ProjectionState,
  type ReducibleEvent,
  toLiveProjection,
  toRunProjection,
  toStepsProjection,
  TraceEvent,
} from '@flowtape/schema';
import { benchFooter, benchHeader, ratio, recordFigure } from './bench-env.ts';

const at = '2026-01-01T00:00:00.000Z';

function builder() {
  const events: ReducibleEvent[] = [];
  let seq = 0;
  const push = (e: Omit<ReducibleEvent, 'seq' | 'at' | 'runId'>) => events.push({ seq: ++seq, at, runId: 'bench', ...e } as ReducibleEvent);
  return { events, push };
}

function chain(nodes: number): ReducibleEvent[] {
  const { events, push } = builder();
  push({ scope: 'run', type: 'run.started', payload: { flowName: 'chain' } });
  for (let i = 0; i < nodes; i++) {
    const scope = { nodeId: `n${i}`, attemptId: `n${i}#1` };
    push({ scope: 'node', type: 'node.started', ...scope, payload: { nodeType: 'compute', attempt: 1 } });
    push({ scope: 'node', type: 'node.outcome', ...scope, payload: { outcome: 'ok', durationMs: 1, output: { inline: i } } });
    push({ scope: 'edge', type: 'edge.taken', ...scope, payload: { from: `n${i}`, to: `n${i + 1}` } });
  }
  push({ scope: 'run', type: 'run.completed', payload: { durationMs: 1 } });
  return events;
}

/** ACP nodes in a loop over 3 shared sessions: 3 turns each (with usage) and 2 heartbeats, 12 events per node. */
function acpHeavy(targetEvents: number): ReducibleEvent[] {
  const { events, push } = builder();
  push({ scope: 'run', type: 'run.started', payload: { flowName: 'acp' } });
  let sessionSeq = 1;
  for (let i = 0; events.length < targetEvents - 1; i++) {
    const nodeId = `agent${i % 7}`;
    const sessionId = `s${i % 3}`;
    const scope = { nodeId, attemptId: `${nodeId}#${Math.floor(i / 7) + 1}` };
    push({ scope: 'node', type: 'node.started', ...scope, payload: { nodeType: 'acp', attempt: Math.floor(i / 7) + 1 } });
    push({ scope: 'session', type: 'session.bound', ...scope, sessionId, payload: { handle: sessionId, acpSessionId: `acp-${sessionId}`, mode: 'shared', reused: i >= 3, agentCommand: ['agent'], path: `sessions/${sessionId}` } });
    for (let t = 0; t < 3; t++) {
      push({ scope: 'acp', type: 'acp.prompt_sent', ...scope, sessionId, payload: { prompt: { inline: `step ${i}, turn ${t}: go on` }, sessionEventSeq: sessionSeq, messageIndex: t * 2 } });
      push({ scope: 'node', type: 'node.heartbeat', ...scope, payload: { elapsedMs: 10 } });
      const usage = { tokens: { inputTokens: 1200 + t, outputTokens: 300, totalTokens: 1500 + t }, cost: { amount: 0.01, currency: 'USD' }, context: { used: 4000, size: 200000 } };
      push({
        scope: 'acp',
        type: 'acp.turn_finished',
        ...scope,
        sessionId,
        payload: { stopReason: 'end_turn', response: { inline: 'ok' }, sessionEvents: { from: sessionSeq, to: sessionSeq + 40 }, messages: { from: t * 2, to: t * 2 + 1 }, usage },
      });
      sessionSeq += 41;
    }
    push({ scope: 'node', type: 'node.outcome', ...scope, payload: { outcome: 'ok', durationMs: 30, output: { inline: 'done' } } });
    push({ scope: 'edge', type: 'edge.taken', ...scope, payload: { from: nodeId, to: `agent${(i + 1) % 7}` } });
  }
  push({ scope: 'run', type: 'run.completed', payload: { durationMs: 1 } });
  return events;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Milliseconds of CPU time this process has used (user and system, every thread). */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

interface Timing {
  /** Median wall-clock milliseconds. */
  wall: number;
  /** Median CPU milliseconds. */
  cpu: number;
  /** Wall-clock milliseconds of the first run: cold, compiling as it goes. */
  first: number;
}

/**
 * Events a fold (and its floor, alike) runs through before it is timed. V8 compiles the fold's hot functions in
 * tiers as it sees events: measured run by run, the acp-heavy fold of 30k events settled only from its sixth run
 * on (about 180k events in), so two runs' warm-up timed a 30k fold half compiled. The cold first run is printed too.
 */
const WARM_UP_EVENTS = 300_000;

/** Times `fn`, a pass over `events` events (0: not a pass over events, warmed up twice). */
function time(fn: () => void, events = 0): Timing {
  const start = performance.now();
  fn(); // warm-up: at least twice, and at least WARM_UP_EVENTS events
  const first = performance.now() - start;
  const warmUps = events > 0 ? Math.max(2, Math.ceil(WARM_UP_EVENTS / events)) : 2;
  for (let run = 1; run < warmUps; run++) fn();
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const cpu = cpuMs();
    const start = performance.now();
    fn();
    walls.push(performance.now() - start);
    cpus.push(cpuMs() - cpu);
  }
  return { wall: median(walls), cpu: median(cpus), first };
}

function render(state: ProjectionState): unknown[] {
  return [toRunProjection(state), toLiveProjection(state), toStepsProjection(state)];
}

const pad = (text: string, width: number) => text.padStart(width);
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  // Without this, --help was an unknown flag and started the whole benchmark (minutes of CPU on a shared machine).
  console.log('usage: pnpm bench:reducer [--quick] [--sizes N,N,...] [--mix compute|acp-heavy]');
  console.log('  --quick         30,000 events only');
  console.log('  --sizes N,...   these run lengths in events (default 30,000, 300,000 and 1,000,000)');
  console.log('  --mix NAME      one mix only: compute (chained compute nodes) or acp-heavy (default both)');
  console.log('  prints per mix and size the fold per event with its JSON.parse floor (wall and CPU), then the rendering of the');
  console.log('  final state with its JSON.stringify floor, the load average and the commit');
  process.exit(0);
}
/** The value after `flag` on the command line, if any. */
const option = (flag: string): string | undefined => {
  const at = process.argv.indexOf(flag);
  return at === -1 ? undefined : process.argv[at + 1];
};
const sizes = process.argv.includes('--quick') ? [30_000] : (option('--sizes')?.split(',').map(Number) ?? [30_000, 300_000, 1_000_000]);
/** A bad option: one line, no stack trace. */
const usageError = (message: string): never => {
  console.error(`bench:reducer: ${message} (--help for the usage)`);
  process.exit(2);
};
if (sizes.some((size) => !Number.isInteger(size) || size < 10)) usageError(`--sizes takes whole numbers of events (at least 10), not ${option('--sizes')}`);
const onlyMix = option('--mix');
if (onlyMix !== undefined && onlyMix !== 'compute' && onlyMix !== 'acp-heavy') usageError(`--mix takes compute or acp-heavy, not ${onlyMix}`);
console.log(benchHeader('bench:reducer'));
console.log(
  `µs per event (median of 5, after ${WARM_UP_EVENTS.toLocaleString('en')} events of warm-up or two runs); the floor is JSON.parse of the same lines; target ≤ 2 µs per event`,
);
console.log('mix          events       fold      floor    ratio  │  fold CPU  floor CPU    ratio  │  cold: fold   floor');
const renders: string[] = [];
for (const [mix, make] of [
  ['compute', (n: number) => chain(Math.floor(n / 3))],
  ['acp-heavy', acpHeavy],
] as const) {
  if (onlyMix !== undefined && mix !== onlyMix) continue;
  for (const size of sizes) {
    let events: ReducibleEvent[] | undefined = make(size);
    for (const e of events.slice(0, 40)) TraceEvent.parse(e); // the generators make valid events
    const lines = events.map((e) => JSON.stringify(e));
    const n = events.length;
    let state: ProjectionState | undefined;
    const fold = time(() => {
      // The previous run's state let go first: kept alive, it doubled the heap each fold's collections walk, which
      // no caller of the reducer (one state per trace) pays.
      state = undefined;
      state = project(events!);
    }, n);
    events = undefined; // the render and the floor run without the events held
    renders.push(renderFigure(mix, n, state!));
    state = undefined;
    const floor = time(() => {
      for (const line of lines) JSON.parse(line);
    }, n);
    const us = (ms: number) => (ms * 1000) / n;
    const [foldUs, floorUs, foldCpuUs, floorCpuUs] = [us(fold.wall), us(floor.wall), us(fold.cpu), us(floor.cpu)];
    console.log(
      `${mix.padEnd(10)} ${pad(String(n), 8)}  ${pad(foldUs.toFixed(2), 6)} µs  ${pad(floorUs.toFixed(2), 6)} µs  ${pad(ratio(foldUs, floorUs), 7)}  │ ` +
        `${pad(foldCpuUs.toFixed(2), 6)} µs  ${pad(floorCpuUs.toFixed(2), 6)} µs  ${pad(ratio(foldCpuUs, floorCpuUs), 7)}  │ ` +
        `${pad(us(fold.first).toFixed(2), 8)} µs  ${pad(us(floor.first).toFixed(2), 6)} µs`,
    );
    recordFigure('bench:reducer', { name: `reducer fold, ${mix}, ${n} events`, value: foldUs, unit: 'µs/event', floor: floorUs, floorName: 'JSON.parse of the line', target: '≤ 2 µs/event' });
    // The target is on the time a user waits (wall clock, above); CPU time counts the garbage collector's helper
    // threads on the other core too, so it is printed beside it for a shared machine, without a target of its own.
    recordFigure('bench:reducer', { name: `reducer fold (CPU time), ${mix}, ${n} events`, value: foldCpuUs, unit: 'µs/event', floor: floorCpuUs, floorName: 'JSON.parse of the line (CPU time)' });
  }
}
console.log('rendering the projections of the final state (median of 5); the floor is JSON.stringify of the same objects');
console.log('mix          events   attempts      render       floor    ratio  │  render CPU   floor CPU    ratio');
for (const line of renders) console.log(line);
console.log(benchFooter());

function renderFigure(mix: string, n: number, state: ProjectionState): string {
  const made = render(state);
  const rendered = time(() => render(state));
  const floor = time(() => {
    for (const projection of made) JSON.stringify(projection);
  });
  const attempts = state.steps.size;
  recordFigure('bench:reducer', {
    name: `projections rendered, ${mix}, ${n} events (${attempts} attempts)`,
    value: rendered.wall,
    unit: 'ms',
    floor: floor.wall,
    floorName: 'JSON.stringify of the same objects',
  });
  const ms = (value: number) => `${pad(value.toFixed(1), 7)} ms`;
  return (
    `${mix.padEnd(10)} ${pad(String(n), 8)}   ${pad(String(attempts), 8)}  ${ms(rendered.wall)}  ${ms(floor.wall)}  ${pad(ratio(rendered.wall, floor.wall), 7)}  │  ` +
    `${ms(rendered.cpu)}  ${ms(floor.cpu)}  ${pad(ratio(rendered.cpu, floor.cpu), 7)}`
  );
}
