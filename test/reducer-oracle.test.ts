// The reducer was rewritten for speed (issue 12): it folds in place and hands out immutable states. Its output must
// be byte-identical to the reducer it replaced, kept frozen in test/fixtures/reducer-v0 as the oracle: on every sample
// bundle, on recorded-style traces (the test fixtures' writers), on a corpus of malformed traces made from the
// samples, and on random ACP-heavy traces. States handed out along the way must never change afterwards (the viewer
// keeps them as checkpoints), and an event the fold cannot apply must leave the state as it was, as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Projector,
  initialState,
  project,
  reduce,
  toLiveProjection,
  toRunProjection,
  toStepsProjection,
  type ProjectionState,
  type ReducibleEvent,
} from '@flowtape/schema';
import * as oracle from './fixtures/reducer-v0/reducer.ts';
import { writeLargeBundle, writeSyntheticRun } from './fixtures/scenarios.ts';

const samplesDir = fileURLToPath(new URL('../samples', import.meta.url));

/** The three projection files' JSON (a digest of it for long traces: the texts at many cursors do not fit in memory). */
function text(state: ProjectionState): string {
  return short(JSON.stringify([toRunProjection(state), toLiveProjection(state), toStepsProjection(state)]));
}
function oracleText(state: oracle.ProjectionState): string {
  return short(JSON.stringify([oracle.toRunProjection(state), oracle.toLiveProjection(state), oracle.toStepsProjection(state)]));
}
function short(json: string): string {
  return json.length < 4096 ? json : `sha256:${createHash('sha256').update(json).digest('hex')} (${json.length} chars)`;
}

function readTrace(path: string): ReducibleEvent[] {
  const events: ReducibleEvent[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      events.push(JSON.parse(line) as ReducibleEvent);
    } catch {
      // a torn line: readers skip it
    }
  }
  return events;
}

/** The oracle's states after every event (an event it cannot apply leaves the state, as the viewer does). */
function oracleStates(events: readonly ReducibleEvent[], at: (count: number) => boolean = () => true): { texts: string[]; throws: boolean[] } {
  let state = oracle.initialState();
  const texts = [oracleText(state)];
  const throws: boolean[] = [];
  for (const event of events) {
    try {
      state = oracle.reduce(state, event);
      throws.push(false);
    } catch {
      throws.push(true);
    }
    texts.push(at(texts.length) ? oracleText(state) : '');
  }
  return { texts, throws };
}

/**
 * Checks the new reducer against the oracle in three ways: `reduce` event by event, a Projector that hands out a
 * state every `every` events (each compared when handed out and again at the end: it must not have changed), and
 * `project` on the events the oracle could apply. `cursors` limits the per-event comparisons on long traces.
 */
function compare(name: string, events: readonly ReducibleEvent[], every: number, cursors?: Set<number>): void {
  const handOut = (count: number) => count % every === 0 || count === events.length;
  const at = (count: number) => cursors === undefined || cursors.has(count) || count === events.length;
  const want = oracleStates(events, (count) => at(count) || handOut(count));

  let state = initialState();
  events.forEach((event, i) => {
    let threw = false;
    try {
      state = reduce(state, event);
    } catch {
      threw = true;
    }
    assert.equal(threw, want.throws[i], `${name}: reduce throws at event ${i} as the oracle does`);
    if (at(i + 1)) assert.equal(text(state), want.texts[i + 1], `${name}: reduce, after event ${i + 1}`);
  });

  const projector = new Projector();
  const handedOut: Array<{ index: number; state: ProjectionState; text: string }> = [];
  events.forEach((event, i) => {
    let threw = false;
    try {
      projector.add(event);
    } catch {
      threw = true;
    }
    assert.equal(threw, want.throws[i], `${name}: Projector.add throws at event ${i} as the oracle does`);
    if (handOut(i + 1)) {
      const handed = projector.state();
      const now = text(handed);
      assert.equal(now, want.texts[i + 1], `${name}: Projector, after event ${i + 1}`);
      handedOut.push({ index: i + 1, state: handed, text: now });
    }
  });
  for (const h of handedOut) assert.equal(text(h.state), h.text, `${name}: the state handed out after event ${h.index} is unchanged`);

  const applicable = events.filter((_, i) => !want.throws[i]);
  assert.equal(text(project(applicable)), want.texts.at(-1), `${name}: project`);
}

function sampleTraces(): Array<{ name: string; events: ReducibleEvent[] }> {
  return readdirSync(samplesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => ({ name: d.name, events: readTrace(join(samplesDir, d.name, 'bundle', 'trace.ndjson')) }));
}

/** A small deterministic PRNG (mulberry32), so a failing case can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One thing broken in a copy of `events`: the malformed corpus. */
const MUTATIONS: Array<(events: Record<string, unknown>[], i: number, rnd: () => number) => void> = [
  (e, i) => void e.splice(i, 1), // a line lost
  (e, i) => void e.splice(i, 0, structuredClone(e[i]!)), // a line twice
  (e, i) => void (i + 1 < e.length && e.splice(i, 2, e[i + 1]!, e[i]!)), // two lines swapped
  (e, i) => void (e[i]!.type = 'future.thing'), // an unknown type
  (e, i) => void delete e[i]!.attemptId,
  (e, i) => void delete e[i]!.nodeId,
  (e, i) => void delete e[i]!.sessionId,
  (e, i) => void (e[i]!.attemptId = 'ghost#1'),
  (e, i) => void (e[i]!.sessionId = 'other'),
  (e, i) => void delete e[i]!.payload,
  (e, i) => void (e[i]!.payload = null),
  (e, i) => void (e[i]!.payload = {}),
  (e, i) => void (e[i]!.attemptId = 7),
  (e, i) => void (e[i]!.seq = 'x'),
  (e, i, rnd) => void e.splice(i, 0, structuredClone(e[Math.floor(rnd() * e.length)]!)), // a line from elsewhere
  (e, i) => void e.splice(i + 1, 0, { seq: 999, at: 'x', runId: 'r', scope: 'run', type: 'run.completed', payload: { durationMs: 1 } }),
  (e, i) => void e.splice(i, 0, { seq: 5, at: 'x', runId: 'r', scope: 'run', type: 'run.waiting', payload: { checkpoint: 'cp' } }),
  (e, i) => void e.splice(i, 0, { seq: 5, at: 'x', runId: 'r', scope: 'run', type: 'run.resumed', payload: { checkpoint: 'cp' } }),
  (e, i) => {
    const p = e[i]!.payload as Record<string, unknown> | undefined;
    if (p && typeof p === 'object') p.usage = { tokens: { inputTokens: -1, outputTokens: 'many' }, cost: { amount: 1, currency: 'usd' } };
  },
  (e, i) => {
    const p = e[i]!.payload as Record<string, unknown> | undefined;
    if (p && typeof p === 'object') delete p.sessionEvents;
  },
];

test('the reducer gives byte-identical projections to the old one on every sample bundle, at every event', () => {
  const samples = sampleTraces();
  assert.ok(samples.length >= 4, 'the samples are there');
  for (const { name, events } of samples) {
    assert.ok(events.length > 10, `${name} has a trace`);
    for (const every of [1, 3, 256]) compare(`sample ${name} (hand-out every ${every})`, events, every);
  }
});

test('the reducer gives byte-identical projections to the old one on a malformed corpus made from the samples', () => {
  let cases = 0;
  let throwing = 0;
  for (const { name, events } of sampleTraces()) {
    for (let m = 0; m < MUTATIONS.length; m++) {
      for (let k = 0; k < 6; k++) {
        const rnd = random(1000 * m + k + name.length);
        const copy = structuredClone(events) as unknown as Record<string, unknown>[];
        const times = 1 + Math.floor(rnd() * 3);
        for (let t = 0; t < times; t++) MUTATIONS[m]!(copy, Math.floor(rnd() * copy.length), rnd);
        const mutated = copy as unknown as ReducibleEvent[];
        if (oracleStates(mutated).throws.some(Boolean)) throwing++;
        compare(`${name}, mutation ${m}, case ${k}`, mutated, 1 + Math.floor(rnd() * 5));
        cases++;
      }
    }
  }
  assert.ok(cases >= 400, `${cases} malformed traces`);
  assert.ok(throwing > 20, `${throwing} of them have events the fold cannot apply (the careful path is exercised)`);
});

test('the reducer gives byte-identical projections to the old one on recorded-style traces (fixture writers)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowtape-oracle-'));
  try {
    writeSyntheticRun(join(dir, 'synthetic'), 6_000);
    writeLargeBundle(join(dir, 'large'), 20_000, 1);
    for (const name of ['synthetic', 'large']) {
      const events = readTrace(join(dir, name, 'trace.ndjson'));
      const cursors = new Set(Array.from({ length: 40 }, (_, i) => Math.floor((i * events.length) / 40)));
      compare(`${name} (${events.length} events)`, events, 256, cursors);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A random trace over a few nodes and sessions, heavy on ACP turns, with loops, usage and out-of-order lines. */
function randomTrace(rnd: () => number, length: number): ReducibleEvent[] {
  const events: Record<string, unknown>[] = [];
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
  const nodes = ['a', 'b', 'c', 'd'];
  const attempts = new Map<string, number>();
  const push = (type: string, payload: unknown, extra: Record<string, unknown> = {}) =>
    events.push({ seq: events.length + 1, at: `2026-01-01T00:00:${String(events.length % 60).padStart(2, '0')}.000Z`, runId: 'r', scope: type.split('.')[0], type, ...extra, payload });
  push('run.started', { flowName: 'random', input: { inline: 1 } });
  while (events.length < length) {
    const nodeId = pick(nodes);
    const n = rnd() < 0.2 ? attempts.get(nodeId) ?? 1 : (attempts.get(nodeId) ?? 0) + 1;
    attempts.set(nodeId, n);
    const scope = { nodeId, attemptId: `${nodeId}#${n}` };
    const sessionId = pick(['s1', 's2', 's3']);
    push('node.started', { nodeType: pick(['acp', 'compute', 'action']), attempt: n }, scope);
    const turns = Math.floor(rnd() * 4);
    if (turns > 0) push('session.bound', { handle: sessionId, acpSessionId: `acp-${sessionId}`, mode: pick(['shared', 'isolated']) }, { ...scope, sessionId });
    for (let t = 0; t < turns; t++) {
      if (rnd() < 0.9) push('acp.prompt_sent', { sessionEventSeq: events.length, messageIndex: t }, { ...scope, sessionId });
      const usage = rnd() < 0.6
        ? { tokens: { inputTokens: Math.floor(rnd() * 1000), outputTokens: Math.floor(rnd() * 100) }, cost: { amount: rnd(), currency: pick(['USD', 'EUR']) }, context: { used: 10, size: 100 } }
        : undefined;
      push('acp.turn_finished', { stopReason: pick(['end_turn', 'cancelled', null]), sessionEvents: { from: 1, to: 2 }, messages: { from: t, to: t + 1 }, ...(usage ? { usage } : {}) }, { ...scope, sessionId });
    }
    for (let h = Math.floor(rnd() * 3); h > 0; h--) push('node.heartbeat', { elapsedMs: h }, scope);
    if (rnd() < 0.3) {
      push('action.started', { actionType: 'shell', command: ['echo', 'x'] }, scope);
      push('action.completed', { actionType: 'shell', ok: true, exitCode: 0, durationMs: 1, output: { inline: 'x' } }, scope);
    }
    if (rnd() < 0.2) push('artifact.written', { role: 'out', artifact: { path: 'artifacts/sha256-00.txt', sha256: '00', bytes: 1, mediaType: 'text/plain' } }, scope);
    if (rnd() < 0.2) push('session.failed', { handle: sessionId, mode: 'shared', error: { message: 'no' } }, { ...scope, sessionId });
    push('node.outcome', { outcome: pick(['ok', 'ok', 'failed', 'timed_out']), durationMs: Math.floor(rnd() * 50), output: { inline: events.length } }, scope);
    push('edge.taken', { from: nodeId, to: pick(nodes), ...(rnd() < 0.5 ? { branch: { on: '$.x', value: 1, caseKey: '1' } } : {}) }, scope);
    if (rnd() < 0.03) push('run.waiting', { checkpoint: 'cp' });
    if (rnd() < 0.03) push('run.resumed', { checkpoint: 'cp' });
  }
  push(pick(['run.completed', 'run.failed', 'run.cancelled', 'run.timed_out']), { durationMs: 5, error: { message: 'x' }, reason: 'sigint', timeoutMs: 9 });
  if (rnd() < 0.3) push('node.started', { nodeType: 'compute', attempt: 1 }, { nodeId: 'late', attemptId: 'late#1' });
  // Shuffle a few neighbours: traces from a broken writer.
  for (let s = Math.floor(rnd() * 3); s > 0; s--) {
    const i = Math.floor(rnd() * (events.length - 1));
    [events[i], events[i + 1]] = [events[i + 1]!, events[i]!];
  }
  return events as unknown as ReducibleEvent[];
}

test('the reducer gives byte-identical projections to the old one on random ACP-heavy traces', () => {
  for (let seed = 1; seed <= 150; seed++) {
    const rnd = random(seed);
    compare(`random trace, seed ${seed}`, randomTrace(rnd, 20 + Math.floor(rnd() * 300)), 1 + Math.floor(rnd() * 40));
  }
});

test('an oracle that differs is caught: the comparison can fail', () => {
  const { events } = sampleTraces()[0]!;
  const state = project(events);
  const old = oracle.project(events);
  assert.equal(text(state), oracleText(old));
  const altered = { ...state, eventCount: state.eventCount + 1 };
  assert.notEqual(text(altered), oracleText(old));
});

test('a step keeps its keys in the order they were first set, whatever order its outcome, edge and other changes come in', () => {
  const ev = (seq: number, type: string, payload: unknown, extra: Record<string, unknown> = {}) =>
    ({ seq, at: `2026-01-01T00:00:${String(seq).padStart(2, '0')}.000Z`, runId: 'r', scope: type.split('.')[0], type, nodeId: 'a', attemptId: 'a#1', ...extra, payload }) as unknown as ReducibleEvent;
  const changes: Array<(seq: number) => ReducibleEvent> = [
    (seq) => ev(seq, 'node.outcome', { outcome: 'ok', durationMs: 3, output: { inline: 1 } }),
    (seq) => ev(seq, 'edge.taken', { from: 'a', to: 'b' }),
    (seq) => ev(seq, 'node.heartbeat', { elapsedMs: 1 }),
    (seq) => ev(seq, 'session.bound', { handle: 's', acpSessionId: 'acp-s', mode: 'shared' }, { sessionId: 's' }),
    (seq) => ev(seq, 'node.outcome', {}), // an outcome with nothing in it
  ];
  let cases = 0;
  const orders = (items: number[]): number[][] => (items.length <= 1 ? [items] : items.flatMap((x) => orders(items.filter((y) => y !== x)).map((rest) => [x, ...rest])));
  for (const order of orders([0, 1, 2, 3])) {
    for (const first of [[], [4]]) {
      const picked = [...first, ...order];
      const events = [
        ev(1, 'run.started', { flowName: 'f' }, { nodeId: undefined, attemptId: undefined }),
        ev(2, 'node.started', { nodeType: 'compute', attempt: 1 }),
        ...picked.map((c, i) => changes[c]!(3 + i)),
        ev(3 + picked.length, 'edge.taken', { from: 'a', to: 'c' }),
      ];
      for (const every of [1, 2, 100]) compare(`changes ${picked.join(',')} (hand-out every ${every})`, events, every);
      cases++;
    }
  }
  assert.equal(cases, 48);
});
