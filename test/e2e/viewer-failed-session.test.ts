// A node whose agent refused session/new (the scripted agent, recorded for real): the session tab of the failed
// attempt shows the session's error and the raw handshake; the events tab lists the session's traffic.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { acp, defineFlow, record } from '@flowtape/recorder';
import { scriptedAgent } from '../../recorder/test/recorder-support.ts';
import { screenshot } from './browser.ts';
import { openViewer, removeDir, tempDir, type ViewerHarness } from './helpers.ts';

describe('a session that could not be started', () => {
  let dir: string;
  let h: ViewerHarness;

  before(async () => {
    dir = tempDir('failed-session');
    const agent = await scriptedAgent(dir, 'noauth', { sessionNew: { error: { code: -32000, message: 'Authentication required' } }, turns: [] });
    const flow = defineFlow({ name: 'refused', startAt: 'ask', nodes: { ask: acp({ prompt: 'hi' }) }, edges: [] });
    const result = await record(flow, {}, { cwd: dir, bundleDir: join(dir, 'refused'), agentCommand: agent });
    assert.equal(result.status, 'failed');
    h = await openViewer(dir);
  });
  after(async () => {
    await h?.close();
    removeDir(dir);
  });

  test('the failed attempt\'s session tab shows the error and the refused handshake', async () => {
    await h.viewer.open('run=refused&node=ask&tab=session');
    const error = h.session.page.getByTestId('session-error');
    await error.waitFor();
    assert.match((await error.textContent()) ?? '', /could not be started \(auth_required\): .*agent refused session\/new: Authentication required/);
    const types = await h.session.page.getByTestId('handshake-line').evaluateAll((els) => els.map((e) => e.getAttribute('data-type')));
    assert.deepEqual(types.filter((t) => t !== 'stderr'), ['initialize', 'response', 'session/new', 'response:error']);
    assert.match((await h.session.page.getByTestId('handshake').textContent()) ?? '', /Authentication required/);
    await screenshot(h.session.page, 'session-failed');

    await h.viewer.tab('events');
    await h.viewer.filter('source', 's1');
    // The session's lines load asynchronously: wait for the count of its traffic.
    await h.session.page.locator(`[data-testid="events-count"][data-total="${types.length}"]`).waitFor();
    assert.equal((await h.viewer.count()).total, types.length, 'the events tab lists the session traffic');
  });
});
