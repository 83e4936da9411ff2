// Partial models while a large trace streams in (model/loader.ts): one is published early so the bundle is on screen
// before its last line is read, but none when the whole trace is about to arrive (it would cost a full render and be
// replaced at once); the whole model's timeline and node starts are those of every event, however many partials came
// before it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MapBackend } from '../src/backend/types.ts';
import { textOf, type TextSource } from '../src/backend/text-chunks.ts';
import { endIsNear, loadBundle } from '../src/model/loader.ts';
import { nodeStartsOf, type BundleModel } from '../src/model/bundle-model.ts';
import { TimelineBuilder } from '../src/model/timeline.ts';
import { writeSyntheticRun } from '../../test/fixtures/scenarios.ts';
import { removeDir, tempDir } from '../../test/e2e/helpers.ts';

const CHUNKS = 10;
/** What reading one chunk of the trace takes on the test's clock. */
const CHUNK_MS = 100;

/**
 * A bundle whose trace arrives as text in CHUNKS runs of whole lines, each read advancing the clock by CHUNK_MS (the
 * lines themselves are folded in no time), with `size` as the source's length.
 */
class PacedBackend extends MapBackend {
  override readonly live = false;
  now = 0;
  constructor(dir: string, private readonly size: (bytes: number) => number | undefined) {
    const files = new Map<string, () => Promise<Uint8Array>>();
    for (const name of ['manifest.json', 'flow.json']) files.set(name, async () => new Uint8Array(readFileSync(join(dir, name))));
    super(dir, files);
    this.trace = new Uint8Array(readFileSync(join(dir, 'trace.ndjson')));
  }

  private readonly trace: Uint8Array;

  async textStream(): Promise<TextSource> {
    const bytes = this.trace;
    const cuts: number[] = [];
    for (let k = 1; k < CHUNKS; k++) cuts.push(bytes.indexOf(10, Math.floor((k * bytes.length) / CHUNKS)) + 1);
    cuts.push(bytes.length);
    let from = 0;
    let k = 0;
    return {
      size: this.size(bytes.length),
      read: async () => {
        if (k === cuts.length) return undefined;
        const run = bytes.subarray(from, cuts[k]);
        from = cuts[k++]!;
        this.now += CHUNK_MS;
        return textOf(run);
      },
      cancel: () => {},
    };
  }
}

interface Published {
  events: number;
  /** The clock when it was published: k * CHUNK_MS after k chunks were read. */
  at: number;
  model: BundleModel;
}

async function load(backend: PacedBackend): Promise<{ partials: Published[]; model: BundleModel }> {
  const partials: Published[] = [];
  const { model } = await loadBundle(backend, {
    onPartial: (m) => partials.push({ events: m.timeline.length, at: backend.now, model: m }),
    now: () => backend.now,
    yieldTo: () => Promise.resolve(),
  });
  return { partials, model };
}

let dir: string;
let bundle: string;
let total: number;
before(() => {
  dir = tempDir('partials');
  bundle = join(dir, 'run');
  total = writeSyntheticRun(bundle, 4000).seq;
});
after(() => removeDir(dir));

describe('partial models while the trace streams in', () => {
  test('the end is near when the rest, at the rate read so far, takes less than 300 ms; an unknown or wrong size says nothing', () => {
    assert.equal(endIsNear(1000, 900, 1000), true, '100 bytes left at ~1.1 ms per byte… read 900 in 1000 ms: ~111 ms to go');
    assert.equal(endIsNear(1000, 500, 1000), false, 'half read in 1 s: ~1 s to go');
    assert.equal(endIsNear(1000, 200, 200), false, 'a fifth in 200 ms: ~800 ms to go');
    assert.equal(endIsNear(1000, 800, 800), true, 'four fifths in 800 ms: ~200 ms to go');
    assert.equal(endIsNear(1000, 1000, 500), true, 'all bytes read: only folding is left');
    assert.equal(endIsNear(undefined, 900, 1000), false, 'no size: no judgement');
    assert.equal(endIsNear(1000, 1200, 1000), false, 'more read than the size said (a compressed length): no judgement');
    assert.equal(endIsNear(1000, 0, 1000), false, 'nothing read yet: no rate');
  });

  test('with the trace size known, the early partial is published and none in the last stretch', async () => {
    const { partials, model } = await load(new PacedBackend(bundle, (bytes) => bytes));
    assert.equal(model.timeline.length, total);
    // The first chance, 2 chunks read at 200 ms: 800 ms to go → published. The next, 600 ms later with 8 of 10 chunks
    // read: 200 ms to go → not, nor after it.
    assert.deepEqual(partials.map((p) => p.at), [2 * CHUNK_MS]);
    assert.ok(partials[0]!.events > 0 && partials[0]!.events < total / 4, `${partials[0]!.events} events`);
  });

  test('without a size (or with one the bytes read pass), partials are timed as before: the late one too', async () => {
    // A size the first chunk already passes: a length that was not the body's (compressed), found out at once.
    for (const size of [() => undefined, (bytes: number) => Math.floor(bytes / 20)]) {
      const { partials, model } = await load(new PacedBackend(bundle, size));
      assert.equal(model.timeline.length, total);
      assert.deepEqual(partials.map((p) => p.at), [2 * CHUNK_MS, 8 * CHUNK_MS]);
    }
  });

  test('the whole model, after partials, holds every event and every node start; a partial is not changed by what follows', async () => {
    const { partials, model } = await load(new PacedBackend(bundle, () => undefined));
    assert.equal(partials.length, 2);
    const lengths = partials.map((p) => p.model.timeline.length);
    for (const p of partials) {
      assert.deepEqual(p.model.nodeStarts, nodeStartsOf(p.model.timeline));
      assert.equal(p.model.loading, true);
    }
    assert.deepEqual(partials.map((p) => p.model.timeline.length), lengths, 'partials keep their length as loading goes on');
    assert.equal(model.loading, false);
    assert.deepEqual(model.nodeStarts, nodeStartsOf(model.timeline));
    assert.ok(model.nodeStarts.length > partials[1]!.model.nodeStarts.length);
    assert.equal(model.timeline.events.at(-1)!.seq, total);
  });

  test('a finished builder takes no more events (its arrays are the timeline\'s now)', () => {
    const builder = new TimelineBuilder();
    const timeline = builder.finish();
    assert.throws(() => builder.push({ seq: 1, at: '', runId: 'r', scope: 'run', type: 'run.started', payload: {} } as never, 1), /push after finish/);
    assert.equal(timeline.length, 0);
  });
});
