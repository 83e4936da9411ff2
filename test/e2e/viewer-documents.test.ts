// manifest.json and flow.json in the browser (model/documents.ts): a document the structural check vouches for is
// shown at once and checked by zod after load, in the validation worker; a fault only zod sees (a run id's pattern)
// is then reported with zod's message. One that fails the structural check gets zod's message from the load itself.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Manifest, parseDocument } from '@flowtape/schema';
import { writeReviewRun } from '../fixtures/scenarios.ts';
import { openViewer, removeDir, tempDir, type ViewerHarness } from './helpers.ts';

function zodMessage(value: unknown): string {
  try {
    parseDocument(Manifest, value, 'manifest.json');
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('zod accepts it');
}

describe('manifest.json checked after load', () => {
  let dir: string;
  let h: ViewerHarness;
  let badId: string;
  let badSeq: string;

  before(async () => {
    dir = tempDir('documents');
    writeReviewRun(join(dir, 'bad-run-id'), { runId: 'run-bad-run-id' });
    const manifest = JSON.parse(readFileSync(join(dir, 'bad-run-id', 'manifest.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'bad-run-id', 'manifest.json'), JSON.stringify({ ...manifest, runId: 'not a run id!' }));
    badId = zodMessage({ ...manifest, runId: 'not a run id!' });
    writeReviewRun(join(dir, 'bad-last-seq'), { runId: 'run-bad-last-seq' });
    writeFileSync(join(dir, 'bad-last-seq', 'manifest.json'), JSON.stringify({ ...manifest, runId: 'run-bad-last-seq', lastSeq: 'many' }));
    badSeq = zodMessage({ ...manifest, lastSeq: 'many' });
    h = await openViewer(dir);
  });
  after(async () => {
    await h?.close();
    removeDir(dir);
  });

  test('a fault only zod sees: the run is shown, and zod\'s message follows from the worker', async () => {
    await h.viewer.open('run=bad-run-id');
    assert.equal(await h.viewer.nodeStatus('finish'), 'ok');
    assert.match(badId, /^manifest\.json: \/runId: /);
    await h.session.page.getByTestId('issues').filter({ hasText: badId }).waitFor({ timeout: 10_000 });
    assert.deepEqual(h.session.errors, []);
  });

  test('a fault the structural check sees: zod\'s message from the load, the default layout read', async () => {
    await h.viewer.open('run=bad-last-seq');
    assert.match(badSeq, /^manifest\.json: \/lastSeq: /);
    await h.session.page.getByTestId('issues').filter({ hasText: badSeq }).waitFor({ timeout: 10_000 });
    assert.equal(await h.viewer.nodeStatus('finish'), 'ok');
  });
});
