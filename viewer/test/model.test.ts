// The model layer without a browser: loading tolerates damage and says where it is, the state at any cursor is
// exactly the schema's fold of the trace up to there, a live bundle is tailed, and cursor moves land where
// they should.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { project, toRunProjection, toStepsProjection, type ReducibleEvent } from '@flowtape/schema';
import { MapBackend } from '../src/backend/types.ts';
import { loadBundle, pollBundle, withValidation } from '../src/model/loader.ts';
import { CHECKPOINT_EVERY, TimelineBuilder } from '../src/model/timeline.ts';
import { isIssue, parseTraceLine } from '../src/model/trace-reader.ts';
import { createViewStore, moves } from '../src/model/store.ts';
import { findBackEdges, layoutGraph } from '../src/layout/layout.ts';
import { attemptsAt } from '../src/ui/hooks.ts';
import { writeNewerMajorRun, writeReviewRun, writeSyntheticRun, writeTornRun, writeUnknownTypesRun } from '../../test/fixtures/scenarios.ts';
import { removeDir, tempDir } from '../../test/e2e/helpers.ts';

/** A backend over a directory on disk, read at call time (so appends show up). */
class DirBackend extends MapBackend {
  override readonly live: boolean;
  constructor(dir: string, live = false) {
    const files = new Map<string, () => Promise<Uint8Array>>();
    const walk = (d: string) => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        if (statSync(p).isDirectory()) walk(p);
        else files.set(relative(dir, p).split(sep).join('/'), async () => new Uint8Array(await readFile(p)));
      }
    };
    walk(dir);
    // Files that may appear later (live): known names are read lazily too.
    for (const name of ['trace.ndjson', 'manifest.json']) files.set(name, async () => new Uint8Array(await readFile(join(dir, name))));
    super(dir, files);
    this.live = live;
  }
}

function traceEvents(dir: string): ReducibleEvent[] {
  return readFileSync(join(dir, 'trace.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ReducibleEvent);
}

const asJson = (x: unknown) => JSON.stringify(x);

let dir: string;
before(() => { dir = tempDir('model'); });
after(() => removeDir(dir));

describe('timeline', () => {
  test('the state after any number of events is the schema fold of exactly those events', async () => {
    const bundle = join(dir, 'synthetic');
    writeSyntheticRun(bundle, 3 * CHECKPOINT_EVERY + 57);
    const { model } = await loadBundle(new DirBackend(bundle));
    const events = traceEvents(bundle);
    assert.equal(model.timeline.length, events.length);
    assert.deepEqual(model.issues, []);
    // Forward, backward, and jumps across checkpoints (the memo and the checkpoints must agree with a fresh fold).
    const cursors = [0, 1, 2, CHECKPOINT_EVERY - 1, CHECKPOINT_EVERY, CHECKPOINT_EVERY + 1, 700, 699, 698, 300, 301, events.length - 1, events.length, 5];
    for (const c of cursors) {
      const expected = project(events.slice(0, c));
      const actual = model.timeline.stateAt(c);
      assert.equal(asJson(toRunProjection(actual)), asJson(toRunProjection(expected)), `run projection at ${c}`);
      assert.equal(asJson(toStepsProjection(actual)), asJson(toStepsProjection(expected)), `steps at ${c}`);
    }
  });

  test('past its bound on checkpoints the spacing doubles, and every cursor still gets the fold of exactly its events', () => {
    const bundle = join(dir, 'synthetic-spaced');
    const every = 256;
    writeSyntheticRun(bundle, 9 * every + 31);
    const events = traceEvents(bundle);
    // A bound of 3 checkpoints: the spacing goes 256 → 512 → 1024 as the ~2,300 events are pushed.
    const builder = new TimelineBuilder(undefined, 3, every);
    events.forEach((e, i) => builder.push(e, i + 1));
    const timeline = builder.snapshot();
    assert.equal(timeline.every, 4 * every);
    assert.ok(timeline.checkpoints.length <= 3, `${timeline.checkpoints.length} checkpoints`);
    assert.equal(asJson(toStepsProjection(timeline.checkpoints[1]!)), asJson(toStepsProjection(project(events.slice(0, timeline.every)))));
    const cursors = [0, 1, 2047, 2048, 2049, 1500, 1499, 300, 2200, events.length - 1, events.length, 7];
    for (const c of cursors) {
      const expected = project(events.slice(0, c));
      const actual = timeline.stateAt(c);
      assert.equal(asJson(toRunProjection(actual)), asJson(toRunProjection(expected)), `run projection at ${c}`);
      assert.equal(asJson(toStepsProjection(actual)), asJson(toStepsProjection(expected)), `steps at ${c}`);
    }
  });

  test('attemptsAt reads, at any cursor, exactly the attempts of a node that state holds, in order', () => {
    const bundle = join(dir, 'synthetic-attempts');
    writeSyntheticRun(bundle, 3 * CHECKPOINT_EVERY + 17);
    const events = traceEvents(bundle);
    const builder = new TimelineBuilder();
    events.forEach((e, i) => builder.push(e, i + 1));
    const timeline = builder.snapshot();
    const nodeIds = new Set([...timeline.final.steps].map((s) => s.nodeId));
    let checked = 0;
    for (const c of [0, 1, 5, 40, 257, 500, events.length - 1, events.length]) {
      const state = timeline.stateAt(c);
      for (const nodeId of nodeIds) {
        const expected = [...state.steps].filter((s) => s.nodeId === nodeId);
        const list = attemptsAt(timeline, state, nodeId);
        assert.equal(list.length, expected.length, `${nodeId} at ${c}`);
        expected.forEach((step, k) => {
          assert.equal(list.at(k).attemptId, step.attemptId);
          assert.equal(list.indexOf(step.attemptId), k);
          checked++;
        });
        assert.equal(list.indexOf('no-such-attempt'), -1);
        assert.equal(list.indexOf(undefined), -1);
      }
      // An attempt of another node is not in this node's list.
      const other = [...state.steps].find((s) => s.nodeId !== [...nodeIds][0]);
      if (other) assert.equal(attemptsAt(timeline, state, [...nodeIds][0]!).indexOf(other.attemptId), -1);
    }
    assert.ok(checked > 100, `only ${checked} attempts checked: the run needs more attempts per node`);
  });

  test('countForSeq maps a deep-link seq to the cursor just after that event', async () => {
    const bundle = join(dir, 'review-seq');
    writeReviewRun(bundle);
    const { model } = await loadBundle(new DirBackend(bundle));
    assert.equal(model.timeline.countForSeq(0), 0);
    assert.equal(model.timeline.countForSeq(20), 20);
    assert.equal(model.timeline.countForSeq(10_000), model.timeline.length);
  });
});

describe('loading damaged bundles', () => {
  test('a torn last line is reported with its line and everything before it is read', async () => {
    const bundle = join(dir, 'torn');
    writeTornRun(bundle);
    const { model } = await loadBundle(new DirBackend(bundle));
    const lines = readFileSync(join(bundle, 'trace.ndjson'), 'utf8').split('\n');
    assert.equal(model.timeline.length, lines.length - 1);
    assert.equal(model.issues.length, 1);
    assert.match(model.issues[0]!.message, new RegExp(`^trace\\.ndjson:${lines.length}: torn last line`));
  });

  test('a bad line in the middle is named by line; unknown types are counted and kept', async () => {
    const bundle = join(dir, 'unknown');
    writeUnknownTypesRun(bundle);
    const text = readFileSync(join(bundle, 'trace.ndjson'), 'utf8').split('\n');
    text.splice(3, 0, '{ not json');
    writeFileSync(join(bundle, 'trace.ndjson'), text.join('\n'));
    const { model } = await loadBundle(new DirBackend(bundle));
    const messages = model.issues.map((i) => i.message);
    assert.ok(messages.some((m) => /^trace\.ndjson:4: not valid JSON/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /2 events of types this viewer does not know \(future\.telemetry, node\.annotated\)/.test(m)));
    assert.ok(messages.some((m) => /seq \d+ where \d+ was expected/.test(m)) === false, 'no seq gap: the bad line held no event');
    assert.equal(model.timeline.events.filter((e) => e.type === 'future.telemetry').length, 1);
    assert.equal(model.timeline.final.status, 'completed');
  });

  test('a newer major version stops with one message', async () => {
    const bundle = join(dir, 'newer');
    writeNewerMajorRun(bundle);
    const { model } = await loadBundle(new DirBackend(bundle));
    assert.match(model.fatal ?? '', /manifest\.json: format flowtape\.bundle\.v2 is newer than this reader/);
    assert.equal(model.timeline.length, 0);
  });

  test('events failing full validation are reported and left out of the replay', async () => {
    const bundle = join(dir, 'review-valid');
    writeReviewRun(bundle);
    const { model } = await loadBundle(new DirBackend(bundle));
    const validated = withValidation(model, [{ file: 'trace.ndjson', line: 2, message: 'trace.ndjson:2: /payload/attempt: bad' }]);
    assert.equal(validated.timeline.length, model.timeline.length - 1);
    assert.ok(!validated.timeline.lines.includes(2));
    assert.ok(validated.issues.some((i) => i.message.includes('left out of the replay')));
  });
});

describe('live tail', () => {
  test('a live run opened between its manifest and its first trace line: the trace is followed once it appears', async () => {
    const bundle = join(dir, 'live-before-first-line');
    writeReviewRun(bundle, { stopAfter: 2 });
    renameSync(join(bundle, 'trace.ndjson'), join(bundle, 'trace.later'));
    const backend = new DirBackend(bundle, true);
    const loaded = await loadBundle(backend);
    assert.equal(loaded.model.timeline.length, 0);
    assert.deepEqual(loaded.model.issues.map((i) => i.message), ['trace.ndjson: missing — no events to step through']);
    renameSync(join(bundle, 'trace.later'), join(bundle, 'trace.ndjson'));
    const next = await pollBundle(backend, loaded);
    assert.ok(next);
    assert.equal(next.model.timeline.length, traceEvents(bundle).length);
    assert.deepEqual(next.model.issues, [], 'the trace is no longer missing');
  });

  test('appended lines arrive, a half-written line waits, completion is noticed', async () => {
    const bundle = join(dir, 'live');
    const { writer, rest } = writeReviewRun(bundle, { stopAfter: 2 });
    const backend = new DirBackend(bundle, true);
    let loaded = await loadBundle(backend);
    const before = loaded.model.timeline.length;
    assert.equal(loaded.model.complete, false);
    assert.equal(await pollBundle(backend, loaded), undefined, 'nothing changed');

    rest.shift()!();
    writer.flush();
    appendFileSync(join(bundle, 'trace.ndjson'), '{"seq":');
    const next = await pollBundle(backend, loaded);
    assert.ok(next);
    assert.ok(next.model.timeline.length > before);
    assert.equal(next.model.issues.length, 0, 'a line being written is not an error');
    loaded = next;
    // The writer finishes the half line and the run.
    const trace = readFileSync(join(bundle, 'trace.ndjson'), 'utf8');
    writeFileSync(join(bundle, 'trace.ndjson'), trace.slice(0, -'{"seq":'.length));
    for (const step of rest) step();
    writer.finish({ complete: true });
    const done = await pollBundle(backend, loaded);
    assert.ok(done);
    assert.equal(done.model.complete, true);
    assert.equal(done.model.timeline.length, traceEvents(bundle).length);
    assert.equal(done.model.timeline.final.status, 'completed');
    assert.deepEqual(done.model.issues, []);
  });

  test('a run that finished with an unterminated last line: a whole event is folded, half a line is torn', async () => {
    for (const [name, tornTail] of [['whole', undefined], ['half', '{"seq":999,"at":"2026-01-15T09:00:']] as const) {
      const bundle = join(dir, `live-last-line-${name}`);
      const { writer, rest } = writeReviewRun(bundle, { stopAfter: 2 });
      const backend = new DirBackend(bundle, true);
      const loaded = await loadBundle(backend);
      for (const step of rest) step();
      writer.finish({ complete: true, tornTail });
      const tracePath = join(bundle, 'trace.ndjson');
      if (!tornTail) writeFileSync(tracePath, readFileSync(tracePath, 'utf8').replace(/\n$/, ''));
      const done = await pollBundle(backend, loaded);
      assert.ok(done, name);
      assert.equal(done.model.complete, true, name);
      if (tornTail) {
        assert.equal(done.model.timeline.length, readFileSync(tracePath, 'utf8').split('\n').length - 1, 'every whole line, not the torn one');
        assert.equal(done.model.issues.length, 1);
        assert.match(done.model.issues[0]!.message, /torn last line \(34 characters without a newline\)/);
      } else {
        assert.equal(done.model.timeline.length, traceEvents(bundle).length, 'the last event, without its newline, too');
        assert.equal(done.model.timeline.final.status, 'completed');
        assert.deepEqual(done.model.issues, []);
      }
    }
  });
});

describe('cursor moves', () => {
  test('node stepping stops just after each node.started, both ways', async () => {
    const bundle = join(dir, 'review-moves');
    writeReviewRun(bundle);
    const { model } = await loadBundle(new DirBackend(bundle));
    const store = createViewStore({ model, cursor: 0 });
    const starts = model.timeline.events.map((e, i) => (e.type === 'node.started' ? i + 1 : -1)).filter((i) => i > 0);
    const seen: number[] = [];
    for (let i = 0; i < starts.length; i++) {
      store.setState((s) => moves.stepNode(s, 1));
      seen.push(store.getState().cursor);
    }
    assert.deepEqual(seen, starts);
    store.setState((s) => moves.stepNode(s, 1));
    assert.equal(store.getState().cursor, model.timeline.length, 'past the last node start: the end');
    store.setState((s) => moves.stepNode(s, -1));
    assert.equal(store.getState().cursor, starts.at(-1));
    store.setState((s) => moves.step(s, -10_000));
    assert.equal(store.getState().cursor, 0);
  });
});

describe('layout', () => {
  test('loops are found as back edges and every node gets its own place', () => {
    const nodes = ['a', 'b', 'c', 'd'].map((id) => ({ id, width: 100, height: 40 }));
    const edges = [
      { id: 'a-b', from: 'a', to: 'b' },
      { id: 'b-c', from: 'b', to: 'c' },
      { id: 'c-b', from: 'c', to: 'b', label: 'retry' },
      { id: 'c-d', from: 'c', to: 'd', label: 'ok' },
    ];
    assert.deepEqual([...findBackEdges(nodes.map((n) => n.id), edges, 'a')], ['c-b']);
    const layout = layoutGraph(nodes, edges, { start: 'a' });
    const ys = ['a', 'b', 'c', 'd'].map((id) => layout.positions.get(id)!.y);
    assert.deepEqual([...ys].sort((x, y) => x - y), ys, 'the forward path reads top to bottom');
    assert.equal(new Set([...layout.positions.values()].map((p) => `${p.x},${p.y}`)).size, 4);
  });
});

test('a trace line the JSON parser finds too deep is one problem for that line, named as such', () => {
  // V8 parses any depth; other engines (and older V8) recurse and throw RangeError. Simulate that parser.
  const parse = JSON.parse;
  JSON.parse = () => { throw new RangeError('Maximum call stack size exceeded'); };
  try {
    const r = parseTraceLine('[[[[1]]]]', 7, 'trace.ndjson');
    assert.ok(r && isIssue(r));
    assert.equal(r.message, 'trace.ndjson:7: /: nested too deeply to validate');
  } finally {
    JSON.parse = parse;
  }
});
