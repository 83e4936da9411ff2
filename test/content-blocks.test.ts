// Content that is not text: an agent message made of text, a resource link, an image, an audio clip and an embedded
// blob. record.json lists them (pointing at the events.ndjson line that holds them), the base64 bytes are stored as
// content-addressed artifacts that `repair` rebuilds alike, and the node's output, the turn's response and
// record.json's text agree. Real agent processes (the flood fixture, the scripted agent) write the lines.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { acp, defineFlow, record, verifyBundle } from '@flowtape/recorder';
import { packBundle } from '../recorder/src/tools/pack.ts';
import { repairBundle } from '../recorder/src/tools/repair.ts';
import { readLines, scriptedAgent, tempDir, traceOf } from '../recorder/test/recorder-support.ts';

const agent = fileURLToPath(new URL('../recorder/test/fixtures/flood-agent.mjs', import.meta.url));
const flow = defineFlow({ name: 'blocks', startAt: 'ask', nodes: { ask: acp({ prompt: 'Go' }) }, edges: [] });
// A 1×1 PNG.
const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
// Not real audio or data: what matters is that the bytes are kept as they were sent.
const wav = Buffer.from('RIFF....WAVEfmt ').toString('base64');
const blob = Buffer.from([0, 1, 2, 254, 255]).toString('base64');

type Item = { blockType: string; mimeType?: string; uri?: string; name?: string; sessionEventSeq: number; artifact?: { path: string } };

const chunk = (content: unknown): string =>
  JSON.stringify({ jsonrpc: '2.0', method: 'session/update', params: { sessionId: 'flood-1', update: { sessionUpdate: 'agent_message_chunk', content } } });

describe('content blocks that are not text', () => {
  it('an image, audio, an embedded blob and a resource link: listed in record.json, bytes in artifacts that repair rebuilds, and the text agrees with the node output and the response', async () => {
    const dir = await tempDir('flowtape-blocks-');
    try {
      const bundleDir = join(dir.path, 'bundle');
      const steps = [
        { stdout: chunk({ type: 'text', text: 'See ' }) },
        { stdout: chunk({ type: 'resource_link', uri: 'file:///work/report.md', name: 'report.md' }) },
        { stdout: chunk({ type: 'image', mimeType: 'image/png', data: png }) },
        { stdout: chunk({ type: 'audio', mimeType: 'audio/wav', data: wav }) },
        { stdout: chunk({ type: 'resource', resource: { uri: 'file:///work/data.bin', mimeType: 'application/x-thing', blob: blob } }) },
        { answer: ' and the chart.' },
      ];
      const result = await record(flow, {}, { cwd: dir.path, bundleDir, agentCommand: [process.execPath, agent, JSON.stringify(steps)] });
      assert.equal(result.status, 'completed', JSON.stringify(result.error));
      assert.deepEqual((await verifyBundle(bundleDir)).problems.map((p) => p.message), []);

      const expectedText = 'See [report.md](file:///work/report.md)[file:///work/data.bin](file:///work/data.bin) and the chart.';
      assert.equal(result.output, expectedText, 'the node output has the link as Markdown');
      const finished = traceOf(bundleDir).find((e) => e.type === 'acp.turn_finished')!;
      const response = finished.payload.response as { inline?: string; artifact?: { path: string } };
      const responseText = response.artifact ? readFileSync(join(bundleDir, response.artifact.path), 'utf8') : response.inline;
      assert.equal(responseText, expectedText, "the turn's response agrees");

      const recordJson = JSON.parse(readFileSync(join(bundleDir, 'sessions/s1/record.json'), 'utf8')) as {
        messages: Array<{ role: string; text?: string; content?: Item[] }>;
      };
      const reply = recordJson.messages.find((m) => m.role === 'agent')!;
      assert.equal(reply.text, expectedText, 'record.json agrees');
      const stored = (base64: string, ext: string, mediaType: string) => {
        const sha256 = createHash('sha256').update(Buffer.from(base64, 'base64')).digest('hex');
        return { path: `artifacts/sha256-${sha256}.${ext}`, sha256, size: Buffer.from(base64, 'base64').byteLength, mediaType };
      };
      assert.deepEqual(
        reply.content?.map(({ sessionEventSeq: _seq, ...item }) => item),
        [
          { blockType: 'resource_link', uri: 'file:///work/report.md', name: 'report.md' },
          { blockType: 'image', mimeType: 'image/png', artifact: stored(png, 'png', 'image/png') },
          { blockType: 'audio', mimeType: 'audio/wav', artifact: stored(wav, 'wav', 'audio/wav') },
          { blockType: 'resource', mimeType: 'application/x-thing', uri: 'file:///work/data.bin', artifact: stored(blob, 'bin', 'application/x-thing') },
        ],
      );
      const image = reply.content!.find((c) => c.blockType === 'image')!;
      const line = readLines<{ seq: number; message: any }>(join(bundleDir, 'sessions/s1/events.ndjson')).find((l) => l.seq === image.sessionEventSeq)!;
      assert.equal(line.message.params.update.content.data, png, 'the pointer leads to the image bytes');
      for (const item of reply.content!.filter((c) => c.artifact)) {
        const data = readLines<{ seq: number; message: any }>(join(bundleDir, 'sessions/s1/events.ndjson')).find((l) => l.seq === item.sessionEventSeq)!
          .message.params.update.content;
        assert.deepEqual(readFileSync(join(bundleDir, item.artifact!.path)), Buffer.from(data.data ?? data.resource.blob, 'base64'), `${item.blockType}: the artifact holds the decoded bytes`);
      }

      // repair: a record.json and an artifact lost (a copy that left them behind) come back the same.
      const recordText = readFileSync(join(bundleDir, 'sessions/s1/record.json'), 'utf8');
      const imagePath = join(bundleDir, image.artifact!.path);
      rmSync(imagePath);
      assert.ok((await verifyBundle(bundleDir)).problems.some((p) => p.file === image.artifact!.path && /missing/.test(p.message)), 'verify misses the image');
      writeFileSync(join(bundleDir, 'sessions/s1/record.json'), '{}');
      const report = await repairBundle(bundleDir);
      assert.ok(report.rewritten.includes(image.artifact!.path), JSON.stringify(report.rewritten));
      assert.deepEqual(readFileSync(imagePath), Buffer.from(png, 'base64'), 'the image is rebuilt from events.ndjson');
      assert.deepEqual(JSON.parse(readFileSync(join(bundleDir, 'sessions/s1/record.json'), 'utf8')).messages, JSON.parse(recordText).messages);
      assert.deepEqual((await verifyBundle(bundleDir)).problems.map((p) => p.message), []);
    } finally {
      await dir.remove();
    }
  });

  it("the scripted agent's image step (a file next to the script, or inline base64) becomes an artifact", async () => {
    const dir = await tempDir('flowtape-blocks-');
    try {
      const bundleDir = join(dir.path, 'bundle');
      writeFileSync(join(dir.path, 'chart.png'), Buffer.from(png, 'base64'));
      const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>').toString('base64');
      const agentCommand = await scriptedAgent(dir.path, 'images', {
        fallback: {
          steps: [
            { message: 'Chart: ' },
            { image: { path: 'chart.png', mimeType: 'image/png' } },
            { image: { data: svg, mimeType: 'image/svg+xml' } },
          ],
        },
      });
      const result = await record(flow, {}, { cwd: dir.path, bundleDir, agentCommand });
      assert.equal(result.status, 'completed', JSON.stringify(result.error));
      assert.equal(result.output, 'Chart:', 'the images add no text');
      const recordJson = JSON.parse(readFileSync(join(bundleDir, 'sessions/s1/record.json'), 'utf8')) as { messages: Array<{ role: string; content?: Item[] }> };
      const items = recordJson.messages.find((m) => m.role === 'agent')!.content!;
      assert.deepEqual(items.map((i) => [i.blockType, i.mimeType, i.artifact?.path.replace(/sha256-[0-9a-f]{64}/, 'sha256-…')]), [
        ['image', 'image/png', 'artifacts/sha256-….png'],
        // An SVG can carry script: its file gets no image extension, so the viewer server never serves it as one.
        ['image', 'image/svg+xml', 'artifacts/sha256-….bin'],
      ]);
      assert.deepEqual(readFileSync(join(bundleDir, items[0]!.artifact!.path)), Buffer.from(png, 'base64'));
      assert.ok(existsSync(join(bundleDir, items[1]!.artifact!.path)));
      assert.deepEqual((await verifyBundle(bundleDir)).problems.map((p) => p.message), []);
      // flowtape pack takes them along: the trace does not name them, record.json does.
      const packed = await packBundle(bundleDir, { output: join(dir.path, 'images.flowtape.zip') });
      for (const item of items) assert.ok(packed.files.includes(item.artifact!.path), `${item.artifact!.path} packed`);
    } finally {
      await dir.remove();
    }
  });
});
