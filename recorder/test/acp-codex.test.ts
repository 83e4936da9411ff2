// The client against a real ACP agent: @zed-industries/codex-acp, without credentials (an empty HOME and
// CODEX_HOME, no API keys in the environment). It answers initialize and refuses session/new.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { AcpAgent, AcpError, type AcpTrafficRecord } from '../src/acp/index.ts';
import { assertGone, rejection, tempDir } from './acp-support.ts';

const codexBin = fileURLToPath(new URL('../node_modules/.bin/codex-acp', import.meta.url));

describe('ACP client with the real codex-acp agent', () => {
  it('initializes, then reports the refused session/new clearly and leaves no process', async () => {
    const dir = await tempDir('flowtape-codex-');
    const home = join(dir.path, 'home');
    const run = join(dir.path, 'run');
    await mkdir(home);
    await mkdir(run);
    const traffic: AcpTrafficRecord[] = [];
    let agent: AcpAgent | undefined;
    try {
      agent = await AcpAgent.start({
        command: codexBin,
        cwd: run,
        inheritEnv: false,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, CODEX_HOME: home },
        onTraffic: (record) => traffic.push(record),
      });
      assert.equal(agent.protocolVersion, 1);
      assert.equal(agent.agentInfo?.name, 'codex-acp');
      assert.match(agent.agentInfo?.version ?? '', /^\d+\.\d+\.\d+/);
      assert.ok(agent.authMethods.length > 0, 'codex-acp lists its auth methods');

      const error = await rejection(agent.newSession(run));
      assert.ok(error instanceof AcpError);
      assert.equal(error.code, 'rpc_error');
      assert.equal(error.message, 'agent refused session/new: Authentication required');
      const wire = traffic.filter((r) => r.direction !== 'stderr').map((r) => r.message as { method?: string; error?: unknown });
      assert.deepEqual(wire.map((m) => m.method ?? (m.error ? 'error' : 'result')), ['initialize', 'result', 'session/new', 'error']);
    } finally {
      await agent?.close();
      await dir.remove();
    }
    // codex-acp is a Node wrapper around a native binary: the whole process group must be gone.
    assertGone(agent?.pid);
  });
});
