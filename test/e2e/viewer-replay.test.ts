// A replayed bundle in the viewer: the run header says which recorded run it replays (manifest `replayOf`), links to
// it when the served runs root holds it, and says from which node it ran live; each ACP turn says whether it came
// from the recording or a live agent. A recorded bundle shows none of this.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './browser.ts';
import { openViewer, removeDir, tempDir, type ViewerHarness } from './helpers.ts';

const liveScript = { agent: { name: 'live-agent', version: '1.0.0' }, turns: [], fallback: { steps: [{ message: 'LIVE answer' }] } };

describe('a replayed bundle', () => {
  let dir: string;
  let h: ViewerHarness;

  before(async () => {
    dir = tempDir('replay');
    const work = join(dir, 'work');
    cpSync(join(repoRoot, 'samples/conversation'), work, { recursive: true });
    rmSync(join(work, 'agent.json'));
    writeFileSync(join(work, 'live.json'), JSON.stringify(liveScript));
    cpSync(join(work, 'bundle'), join(dir, 'runs', 'recorded'), { recursive: true });
    const replay = (name: string, args: string[], status: number): void => {
      const run = spawnSync(process.execPath, [join(repoRoot, 'recorder/bin/flowtape.js'), 'replay', 'bundle', '--permission', 'approve-all', '--out', join(dir, 'replays'), '-q', '--json', ...args], {
        cwd: work,
        encoding: 'utf8',
      });
      assert.equal(run.status, status, run.stderr);
      cpSync(JSON.parse(run.stdout).bundle as string, join(dir, 'runs', name), { recursive: true });
    };
    replay('replayed', [], 0);
    const agent = `${process.execPath} ${join(repoRoot, 'recorder/bin/flowtape-scripted-agent.js')} --script live.json`;
    replay('forked', ['--from', 'write', '--agent', agent], 1);
    h = await openViewer(join(dir, 'runs'));
  });
  after(async () => {
    await h?.close();
    removeDir(dir);
  });

  test('says what it replays and links to it; the recorded run does not', async () => {
    const page = h.session.page;
    await h.viewer.open('run=replayed');
    assert.equal(await page.getByTestId('replay-of').textContent(), 'replay of 20260101T000000Z-conversation');
    // Same run id as the replay (a deterministic replay keeps it): the link goes to the recording, not to itself.
    await page.getByTestId('replay-source').click();
    await page.waitForURL(/run=recorded/);
    await page.getByTestId('run-id').waitFor();
    assert.equal(await page.getByTestId('replay-of').count(), 0);
  });

  test('each ACP turn says whether the recording or a live agent answered it', async () => {
    const page = h.session.page;
    const origins = async (): Promise<string[][]> => {
      await page.getByTestId('entry').first().waitFor();
      return page.getByTestId('entry').evaluateAll((entries) =>
        entries
          .filter((e) => e.getAttribute('data-role') === 'user')
          .map((e) => [e.getAttribute('data-attempt') ?? '', e.querySelector('[data-testid="turn-origin"]')?.textContent ?? '']),
      );
    };
    await h.viewer.open('run=forked&tab=session');
    assert.match((await page.getByTestId('replay-of').textContent()) ?? '', /live from write$/);
    assert.deepEqual(await origins(), [['summarise#1', 'from the recording'], ['write#1', 'live agent']]);
    await h.viewer.open('run=recorded&tab=session');
    assert.deepEqual(await origins(), [['summarise#1', ''], ['write#1', '']]);
  });
});
