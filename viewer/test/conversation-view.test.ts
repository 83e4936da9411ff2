// The session tab's indexed view of a conversation gives exactly what filtering every entry gives: the entries the
// trace had reached at each watermark, and the first entry of each attempt's slice, for ordered conversations
// (binary search) and for entries out of order (the plain filter).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { project, type ConversationEntry, type ReducibleEvent, type Step } from '@flowtape/schema';
import { ConversationView, inSlice } from '../src/model/conversation-view.ts';
import { writeSyntheticRun } from '../../test/fixtures/scenarios.ts';
import { removeDir, tempDir } from '../../test/e2e/helpers.ts';

/** What the tab did before the index: a pass over every entry. */
function naive(messages: readonly ConversationEntry[], watermark: number, step: Step | undefined) {
  const visible = watermark === Infinity ? messages : messages.filter((m) => (m.sessionEvents?.from ?? 0) <= watermark);
  return { visible, first: visible.findIndex((m) => inSlice(m, step)) };
}

function check(messages: readonly ConversationEntry[], steps: readonly Step[]) {
  const view = ConversationView.of(messages);
  const lastSeq = Math.max(0, ...messages.map((m) => m.sessionEvents?.to ?? 0));
  let checked = 0;
  for (let watermark = 0; watermark <= lastSeq + 1; watermark += 7) {
    for (const step of [undefined, ...steps]) {
      const want = naive(messages, watermark, step);
      const shown = view.visible(watermark);
      assert.deepEqual(shown.entries.slice(0, shown.count), want.visible, `entries at watermark ${watermark}`);
      assert.equal(view.firstInSlice(shown, step), want.first, `first of ${step?.attemptId} at watermark ${watermark}`);
      if (want.first >= 0) checked++;
    }
  }
  const all = view.visible(Infinity);
  assert.equal(all.count, messages.length);
  for (const step of steps) assert.equal(view.firstInSlice(all, step), naive(messages, Infinity, step).first);
  assert.ok(checked > 10, 'some slices are on screen');
}

describe('conversation view', () => {
  let dir = '';
  let messages: ConversationEntry[] = [];
  let steps: Step[] = [];
  before(() => {
    dir = tempDir('conv-view');
    writeSyntheticRun(dir, 600);
    messages = (JSON.parse(readFileSync(join(dir, 'sessions/main/record.json'), 'utf8')) as { messages: ConversationEntry[] }).messages;
    const events = readFileSync(join(dir, 'trace.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ReducibleEvent);
    steps = [...project(events).steps].filter((s) => s.sessionId === 'main');
    assert.ok(messages.length > 20 && steps.length > 5);
  });
  after(() => removeDir(dir));

  test('entries in recorded order: the prefix and the slice found by search are the filtered ones', () => {
    check(messages, steps);
  });

  test('entries without an attempt id are found through the turns\u2019 message ranges', () => {
    // Older records carry no attempt id on an entry: the slice is the turn's range of entry indexes.
    const bare = messages.map((m, i) => (i % 3 === 0 ? { ...m, attemptId: undefined } : m)) as ConversationEntry[];
    const withRanges = steps.map((s): Step => {
      const own = bare.filter((m) => m.attemptId === undefined && messages[m.index]!.attemptId === s.attemptId);
      if (own.length === 0) return s;
      return { ...s, turns: [{ ...s.turns[0]!, messages: { from: own[0]!.index, to: own.at(-1)!.index } }, ...s.turns.slice(1)] } as Step;
    });
    check(bare, withRanges);
  });

  test('entries out of order are filtered one by one', () => {
    const shuffled = [...messages];
    [shuffled[1], shuffled[shuffled.length - 2]] = [shuffled[shuffled.length - 2]!, shuffled[1]!];
    check(shuffled, steps);
  });
});
