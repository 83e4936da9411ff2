// Content that is not text: an agent message made of text, a resource link and an image. record.json lists the
// image and the link (pointing at the events.ndjson line that holds them), and the node's output, the turn's
// response and record.json's text agree. A real agent process (the flood fixture) writes the lines.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { acp, defineFlow, record, verifyBundle } from '@flowtape/recorder';
import { readLines, tempDir, traceOf } from '../recorder/test/recorder-support.ts';

const agent = fileURLToPath(new URL('../recorder/test/fixtures/flood-agent.mjs', import.meta.url));
const flow = defineFlow({ name: 'blocks', startAt: 'ask', nodes: { ask: acp({ prompt: 'Go' }) }, edges: [] });
// A 1×1 PNG.
const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

const chunk = (content: unknown): string =>
  JSON.stringify({ jsonrpc: '2.0', method: 'session/update', params: { sessionId: 'flood-1', update: { sessionUpdate: 'agent_message_chunk', content } } });

describe('content blocks that are not text', () => {
  it('an image and a resource link: listed in record.json, and the text agrees with the node output and the response', async () => {
    const dir = await tempDir('flowtape-blocks-');
    try {
      const bundleDir = join(dir.path, 'bundle');
      const steps = [
        { stdout: chunk({ type: 'text', text: 'See ' }) },
        { stdout: chunk({ type: 'resource_link', uri: 'file:///work/report.md', name: 'report.md' }) },
        { stdout: chunk({ type: 'image', mimeType: 'image/png', data: png }) },
        { answer: ' and the chart.' },
      ];
      const result = await record(flow, {}, { cwd: dir.path, bundleDir, agentCommand: [process.execPath, agent, JSON.stringify(steps)] });
      assert.equal(result.status, 'completed', JSON.stringify(result.error));
      assert.deepEqual((await verifyBundle(bundleDir)).problems.map((p) => p.message), []);

      const expectedText = 'See [report.md](file:///work/report.md) and the chart.';
      assert.equal(result.output, expectedText, 'the node output has the link as Markdown');
      const finished = traceOf(bundleDir).find((e) => e.type === 'acp.turn_finished')!;
      const response = finished.payload.response as { inline?: string; artifact?: { path: string } };
      const responseText = response.artifact ? readFileSync(join(bundleDir, response.artifact.path), 'utf8') : response.inline;
      assert.equal(responseText, expectedText, "the turn's response agrees");

      const recordJson = JSON.parse(readFileSync(join(bundleDir, 'sessions/s1/record.json'), 'utf8')) as {
        messages: Array<{ role: string; text?: string; content?: Array<{ blockType: string; mimeType?: string; uri?: string; name?: string; sessionEventSeq: number }> }>;
      };
      const reply = recordJson.messages.find((m) => m.role === 'agent')!;
      assert.equal(reply.text, expectedText, 'record.json agrees');
      assert.deepEqual(
        reply.content?.map(({ sessionEventSeq: _seq, ...item }) => item),
        [
          { blockType: 'resource_link', uri: 'file:///work/report.md', name: 'report.md' },
          { blockType: 'image', mimeType: 'image/png' },
        ],
      );
      const image = reply.content!.find((c) => c.blockType === 'image')!;
      const line = readLines<{ seq: number; message: any }>(join(bundleDir, 'sessions/s1/events.ndjson')).find((l) => l.seq === image.sessionEventSeq)!;
      assert.equal(line.message.params.update.content.data, png, 'the pointer leads to the image bytes');
    } finally {
      await dir.remove();
    }
  });
});
