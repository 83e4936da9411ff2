// The view in the address bar (app/deep-link.ts): written as the view changes once the whole trace is read, never
// while it streams in (a partial model moves the cursor to the head; the deep link's seq must survive the load).
import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { syncUrl } from '../src/app/deep-link.ts';
import { createViewStore } from '../src/model/store.ts';
import { Timeline } from '../src/model/timeline.ts';
import type { BundleModel } from '../src/model/bundle-model.ts';
import type { ReducibleEvent } from '@flowtape/schema';

const globals = globalThis as unknown as { location?: unknown; history?: unknown };
let written: string[];

beforeEach(() => {
  written = [];
  const location = { pathname: '/', search: '?run=r&seq=2', hash: '' };
  globals.location = location;
  globals.history = {
    state: null,
    replaceState(_state: unknown, _title: string, url: string) {
      written.push(url);
      location.search = url.slice(url.indexOf('?'));
    },
  };
  mock.timers.enable({ apis: ['setTimeout'] });
});

afterEach(() => {
  mock.timers.reset();
  delete globals.location;
  delete globals.history;
});

function modelOf(events: number, loading: boolean): BundleModel {
  const list = Array.from({ length: events }, (_, i) => ({ seq: i + 1 }) as ReducibleEvent);
  const timeline = new Timeline(list, list.map((_, i) => i + 1), [], Timeline.empty().final);
  return { timeline, loading, label: 'r', live: false, complete: true, issues: [], sessions: [], nodeStarts: [], sessionVersions: new Map(), version: 0, invalidLines: new Set() };
}

test('the address bar is not written while the trace streams in, and is once the whole model is there', () => {
  const store = createViewStore();
  const stop = syncUrl(store, 'r');
  try {
    store.setState({ model: modelOf(10, true), cursor: 10, follow: true });
    mock.timers.tick(500);
    store.setState({ model: modelOf(40, true), cursor: 40 });
    mock.timers.tick(500);
    assert.deepEqual(written, [], 'partial models: the deep link (seq=2) stays');
    store.setState({ model: modelOf(50, false), cursor: 2, follow: false });
    mock.timers.tick(500);
    assert.deepEqual(written, [], 'the cursor is on the deep link: the address is already right');
    store.setState({ cursor: 7 });
    mock.timers.tick(500);
    assert.deepEqual(written, ['/?run=r&seq=7']);
  } finally {
    stop();
  }
});
