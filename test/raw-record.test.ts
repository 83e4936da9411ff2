// The raw record is raw: a JSON-RPC line that serialising its parsed message would alter (integers beyond 2^53,
// `1e400`, `-0`, duplicate keys, other spacing) is kept byte for byte in events.ndjson (`raw`), next to the parsed
// `message`; lines that serialise back to themselves carry no copy. Secrets are redacted from the copy as well.
// A real agent process (the flood fixture) writes the lines.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { acp, defineFlow, record, verifyBundle } from '@flowtape/recorder';
import { tempDir } from '../recorder/test/recorder-support.ts';

const agent = fileURLToPath(new URL('../recorder/test/fixtures/flood-agent.mjs', import.meta.url));
const flow = defineFlow({ name: 'raw', startAt: 'ask', nodes: { ask: acp({ prompt: 'Go' }) }, edges: [] });

const secret = 'hunter2-very-secret-value';
/** A session/update whose numbers and keys JSON.parse + JSON.stringify would change, with spacing of its own. */
const lossy =
  '{"jsonrpc": "2.0", "method": "session/update", "params": {"sessionId": "flood-1", "update": {"sessionUpdate": "agent_message_chunk", ' +
  '"content": {"type": "text", "text": "n="}}, "_meta": {"big": 12345678901234567890123, "huge": 1e400, "neg": -0, "dup": 1, "dup": 2, ' +
  `"token": "${secret}"}}}`;

describe('the raw record', () => {
  it('keeps a line that re-serialisation would alter byte for byte, and only such lines', async () => {
    const dir = await tempDir('flowtape-raw-');
    try {
      const bundleDir = join(dir.path, 'bundle');
      const result = await record(flow, {}, {
        cwd: dir.path,
        bundleDir,
        agentCommand: [process.execPath, agent, JSON.stringify([{ stdout: lossy }, { answer: 'done' }])],
        recorder: { env: { FLOWTAPE_TEST_TOKEN: secret } },
      });
      assert.equal(result.status, 'completed', JSON.stringify(result.error));
      assert.equal(result.output, 'n=done');
      const report = await verifyBundle(bundleDir);
      assert.deepEqual(report.problems.map((p) => p.message), []);

      const text = readFileSync(join(bundleDir, 'sessions/s1/events.ndjson'), 'utf8');
      const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as { direction: string; message?: any; raw?: string });
      const withRaw = lines.filter((l) => l.raw !== undefined);
      assert.equal(withRaw.length, 1, 'only the altered line carries a copy');
      const expected = lossy.replace(secret, '[redacted:FLOWTAPE_TEST_TOKEN]');
      assert.equal(withRaw[0]!.raw, expected, 'byte for byte, secret redacted');
      assert.equal(withRaw[0]!.message.params._meta.dup, 2, 'message is the parsed line');
      // (Inside the JSON string `raw`, only quotes are escaped: numbers appear in the file exactly as written.)
      for (const literal of ['12345678901234567890123', '1e400', ': -0, ']) {
        assert.ok(text.includes(literal), `${literal} is in events.ndjson as the agent wrote it`);
      }
      assert.ok(!text.includes(secret), 'the secret appears nowhere');
    } finally {
      await dir.remove();
    }
  });
});
