// A replayed bundle in the viewer: the run header says which recorded run it replays (manifest `replayOf`) and
// from which node it ran live; a recorded bundle shows no such line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './browser.ts';
import { openViewer, removeDir, tempDir, type ViewerHarness } from './helpers.ts';

describe('a replayed bundle', () => {
  let dir: string;
  let h: ViewerHarness;

  before(async () => {
    dir = tempDir('replay');
    const work = join(dir, 'work');
    cpSync(join(repoRoot, 'samples/conversation'), work, { recursive: true });
    rmSync(join(work, 'agent.json'));
    cpSync(join(work, 'bundle'), join(dir, 'runs', 'recorded'), { recursive: true });
    const replay = spawnSync(process.execPath, [join(repoRoot, 'recorder/bin/flowtape.js'), 'replay', 'bundle', '--permission', 'approve-all', '--out', join(dir, 'replays'), '-q', '--json'], {
      cwd: work,
      encoding: 'utf8',
    });
    assert.equal(replay.status, 0, replay.stderr);
    cpSync(JSON.parse(replay.stdout).bundle as string, join(dir, 'runs', 'replayed'), { recursive: true });
    h = await openViewer(join(dir, 'runs'));
  });
  after(async () => {
    await h?.close();
    removeDir(dir);
  });

  test('says what it replays; the recorded run does not', async () => {
    const page = h.session.page;
    await h.viewer.open('run=replayed');
    assert.equal(await page.getByTestId('replay-of').textContent(), 'replay of 20260101T000000Z-conversation');
    await h.viewer.open('run=recorded');
    await page.getByTestId('run-id').waitFor();
    assert.equal(await page.getByTestId('replay-of').count(), 0);
  });
});
