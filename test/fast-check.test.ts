// The fast path of trace validation (schema/src/fast-check.ts) may only answer "valid, and this is what zod returns"
// or "don't know". Compared here with zod alone on every line of the samples and the test fixtures' runs, and on
// thousands of mutations of them (a key removed, a value replaced, a key added, at every depth): whenever the fast
// path answers, zod must accept the line and return the same JSON, key order included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Step, TraceEnvelope, TraceEvent, checkTraceEvent, describeZodError, isKnownEventType, isPlainlyValidStep } from '@flowtape/schema';
import { fastTraceEvent } from '../schema/src/fast-check.ts';
import { writeReviewRun, writeSyntheticRun } from './fixtures/scenarios.ts';

const samplesDir = fileURLToPath(new URL('../samples', import.meta.url));

/** zod alone, as validate.ts did before the fast path. */
function zodOnly(value: unknown, depth: 'full' | 'envelope'): { event: unknown; known: boolean } | undefined {
  const checked = zodCheck(value, depth);
  return 'message' in checked ? undefined : checked;
}

function zodCheck(value: unknown, depth: 'full' | 'envelope'): { event: unknown; known: boolean } | { message: string } {
  const envelope = TraceEnvelope.safeParse(value);
  if (!envelope.success) return { message: describeZodError(envelope.error, 'trace.ndjson', 7).message };
  const known = isKnownEventType(envelope.data.type);
  if (!known || depth === 'envelope') return { event: envelope.data, known };
  const full = TraceEvent.safeParse(value);
  return full.success ? { event: full.data, known } : { message: describeZodError(full.error, 'trace.ndjson', 7).message };
}

function lines(path: string): unknown[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
}

function corpus(): unknown[] {
  const events: unknown[] = [];
  for (const name of readdirSync(samplesDir, { withFileTypes: true })) {
    if (name.isDirectory()) events.push(...lines(join(samplesDir, name.name, 'bundle', 'trace.ndjson')));
  }
  const dir = mkdtempSync(join(tmpdir(), 'flowtape-fast-check-'));
  try {
    writeReviewRun(join(dir, 'review'), { xss: true });
    writeSyntheticRun(join(dir, 'synthetic'), 400);
    events.push(...lines(join(dir, 'review', 'trace.ndjson')), ...lines(join(dir, 'synthetic', 'trace.ndjson')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return events;
}

const REPLACEMENTS: unknown[] = [null, true, 0, -1, 1.5, 2 ** 53, '', 'x', 'a#1', 'artifacts/x', [], {}, [1], { inline: 1 }, 'é'.repeat(201)];

/** Every variant of `value` with one change somewhere inside it. */
function* mutations(value: unknown): Generator<unknown> {
  if (typeof value !== 'object' || value === null) return;
  const copy = (): any => JSON.parse(JSON.stringify(value));
  const keys = Array.isArray(value) ? value.map((_, i) => String(i)) : Object.keys(value);
  for (const key of keys) {
    const child = (value as Record<string, unknown>)[key];
    if (!Array.isArray(value)) {
      const removed = copy();
      delete removed[key];
      yield removed;
    }
    for (const replacement of REPLACEMENTS) {
      const replaced = copy();
      replaced[key] = replacement;
      yield replaced;
    }
    for (const inner of mutations(child)) {
      const nested = copy();
      nested[key] = inner;
      yield nested;
    }
  }
  if (!Array.isArray(value)) {
    yield { ...copy(), extra: 1 };
    const text = JSON.stringify(value);
    yield JSON.parse(text === '{}' ? '{"__proto__":{"x":1}}' : text.replace(/^\{/, '{"__proto__":{"x":1},'));
    // The same keys in another order: zod returns them in the schema's order.
    yield Object.fromEntries(Object.entries(copy()).reverse());
  }
}

function compare(value: unknown, depth: 'full' | 'envelope', counts: { fast: number; slow: number }): void {
  const fast = fastTraceEvent(value, depth);
  if (fast === undefined) {
    counts.slow++;
    return;
  }
  counts.fast++;
  const zod = zodOnly(value, depth);
  assert.ok(zod, `the fast path accepted what zod rejects: ${JSON.stringify(value)}`);
  assert.equal(JSON.stringify(fast.event), JSON.stringify(zod.event), `different output for ${JSON.stringify(value)}`);
  assert.equal(fast.known, zod.known);
}

test('the fast path accepts every valid line of the samples and fixtures, with the output zod gives', () => {
  const events = corpus();
  assert.ok(events.length > 500);
  for (const depth of ['full', 'envelope'] as const) {
    const counts = { fast: 0, slow: 0 };
    for (const event of events) compare(event, depth, counts);
    assert.equal(counts.slow, 0, `${counts.slow} valid lines went to zod (${depth})`);
  }
});

test('on mutated lines the fast path answers only where zod accepts, with the same output', () => {
  const events = corpus();
  // One line of each type and scope, and a few more, keeps the test short.
  const seen = new Set<string>();
  const picked = events.filter((e) => {
    const key = `${(e as { type: string }).type} ${Object.keys((e as { payload: object }).payload).sort().join(',')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const counts = { fast: 0, slow: 0 };
  for (const event of picked) {
    for (const mutated of mutations(event)) {
      for (const depth of ['full', 'envelope'] as const) compare(mutated, depth, counts);
    }
  }
  // Both answers were given many times (the comparison tested something).
  assert.ok(counts.fast > 1000 && counts.slow > 1000, JSON.stringify(counts));
});

test('checkTraceEvent gives the same verdict and message with and without the fast path', () => {
  for (const event of corpus().slice(0, 40)) {
    for (const mutated of mutations(event)) {
      const checked = checkTraceEvent(mutated, 7, 'trace.ndjson');
      const zod = zodCheck(mutated, 'full');
      if (checked.ok) assert.equal(JSON.stringify(checked.event), JSON.stringify('event' in zod ? zod.event : zod));
      else assert.equal(checked.error.message, 'message' in zod ? zod.message : 'accepted by zod');
    }
  }
});

test('a line nested deeper than the fast path walks is left to zod', () => {
  let deep: unknown = 1;
  for (let i = 0; i < 100; i++) deep = [deep];
  const event = { seq: 1, at: '2026-01-01T00:00:00.000Z', runId: 'r', scope: 'run', type: 'run.started', payload: { flowName: 'f', input: { inline: deep } } };
  assert.equal(fastTraceEvent(event, 'full'), undefined);
  assert.equal(checkTraceEvent(event, 1).ok, true);
});

test('steps: the fast check vouches only for elements zod accepts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowtape-fast-check-steps-'));
  try {
    writeReviewRun(join(dir, 'review'), { xss: true });
    writeSyntheticRun(join(dir, 'synthetic'), 400);
    const steps: unknown[] = [];
    for (const bundle of [join(dir, 'review'), join(dir, 'synthetic'), ...readdirSync(samplesDir).map((name) => join(samplesDir, name, 'bundle'))]) {
      try {
        steps.push(...(JSON.parse(readFileSync(join(bundle, 'projections', 'steps.json'), 'utf8')) as { steps: unknown[] }).steps);
      } catch {
        // not a sample directory
      }
    }
    assert.ok(steps.length > 20);
    for (const step of steps) assert.ok(isPlainlyValidStep(step), `a valid step went to zod: ${JSON.stringify(step).slice(0, 200)}`);
    let vouched = 0;
    let asked = 0;
    for (const step of steps.slice(0, 30)) {
      for (const mutated of mutations(step)) {
        if (!isPlainlyValidStep(mutated)) {
          asked++;
          continue;
        }
        vouched++;
        assert.ok(Step.safeParse(mutated).success, `vouched for an invalid step: ${JSON.stringify(mutated)}`);
      }
    }
    assert.ok(vouched > 500 && asked > 500, JSON.stringify({ vouched, asked }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
