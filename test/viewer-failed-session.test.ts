// An ACP node whose agent refuses session/new, recorded for real (the scripted agent) and opened with the viewer's
// model: the failed session is listed, the attempt links to it, its binding carries the error and its raw events
// hold the refused handshake — what the session tab shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { acp, defineFlow, record } from '@flowtape/recorder';
import { MapBackend } from '../viewer/src/backend/types.ts';
import { loadBundle } from '../viewer/src/model/loader.ts';
import { loadSession } from '../viewer/src/model/sessions.ts';
import { sessionLineType } from '../viewer/src/ui/EventsPanel.tsx';
import { scriptedAgent, tempDir } from '../recorder/test/recorder-support.ts';

function dirBackend(dir: string): MapBackend {
  const files = new Map<string, () => Promise<Uint8Array>>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(relative(dir, p).split(sep).join('/'), async () => new Uint8Array(await readFile(p)));
    }
  };
  walk(dir);
  return new MapBackend(dir, files);
}

test('a session refused by its agent is listed in the viewer with its error and its raw handshake', async () => {
  const dir = await tempDir('flowtape-viewer-failed-');
  try {
    const agent = await scriptedAgent(dir.path, 'noauth', { sessionNew: { error: { code: -32000, message: 'Authentication required' } }, turns: [] });
    const flow = defineFlow({ name: 'refused', startAt: 'ask', nodes: { ask: acp({ prompt: 'hi' }) }, edges: [] });
    const bundleDir = join(dir.path, 'bundle');
    const result = await record(flow, {}, { cwd: dir.path, bundleDir, agentCommand: agent });
    assert.equal(result.status, 'failed');

    const { model } = await loadBundle(dirBackend(bundleDir));
    assert.equal(model.fatal, undefined);
    assert.deepEqual(model.issues, []);
    assert.deepEqual(model.sessions.map((s) => s.sessionId), ['s1'], 'the failed session is listed');
    const summary = model.timeline.final.sessions.get('s1');
    assert.equal(summary?.acpSessionId, undefined);
    assert.match(summary?.error?.message ?? '', /agent refused session\/new: Authentication required: the agent needs a login; it offers no auth method flowtape can use/);
    const step = model.timeline.final.steps.toArray().find((s) => s.attemptId === 'ask#1');
    assert.equal(step?.sessionId, 's1', 'the failed attempt opens its session');
    assert.equal(step?.status, 'failed');

    const data = await loadSession(dirBackend(bundleDir), model.sessions[0]!);
    assert.deepEqual(data.issues, []);
    assert.deepEqual(data.binding?.error, summary?.error, 'the binding carries the error');
    assert.deepEqual(data.messages, []);
    const types = data.events.map(sessionLineType);
    assert.deepEqual(types.filter((t) => t !== 'stderr'), ['initialize', 'response', 'session/new', 'response:error']);
    const refusal = data.events.find((r) => sessionLineType(r) === 'response:error')!.event.message as { error?: { message?: string } };
    assert.equal(refusal.error?.message, 'Authentication required');
  } finally {
    await dir.remove();
  }
});
