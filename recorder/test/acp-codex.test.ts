// The client against a real ACP agent: @zed-industries/codex-acp, without credentials (an empty HOME and
// CODEX_HOME, no API keys in the environment). It answers initialize and refuses session/new.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { AcpAgent, AcpError, isGroupAlive, type AcpTrafficRecord } from '../src/acp/index.ts';
import { waitUntilGone } from '../src/acp/process.ts';
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
      assert.equal(error.code, 'auth_required');
      // The line lists what codex-acp offered and how to pick one.
      assert.match(error.message, /^agent refused session\/new: Authentication required: the agent needs a login; it offers .*codex-api-key \(set CODEX_API_KEY\).*; choose one with --auth <id>/);
      const wire = traffic.filter((r) => r.direction !== 'stderr').map((r) => r.message as { method?: string; error?: unknown });
      assert.deepEqual(wire.map((m) => m.method ?? (m.error ? 'error' : 'result')), ['initialize', 'result', 'session/new', 'error']);
    } finally {
      await agent?.close();
      await dir.remove();
    }
    // codex-acp is a Node wrapper around a native binary: the whole process group must be gone.
    assertGone(agent?.pid);
  });

  // codex-acp does not exit when its stdin closes, so only the client's exit hook stands between a host that
  // exits without close() and an orphaned agent.
  it('is killed with its whole process group when the host exits without closing it', async () => {
    const dir = await tempDir('flowtape-codex-');
    try {
      const home = join(dir.path, 'home');
      await mkdir(home);
      const host = `
        import { AcpAgent } from ${JSON.stringify(new URL('../src/acp/index.ts', import.meta.url).href)};
        const agent = await AcpAgent.start({ command: ${JSON.stringify(codexBin)}, cwd: ${JSON.stringify(dir.path)}, inheritEnv: false,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: ${JSON.stringify(home)}, CODEX_HOME: ${JSON.stringify(home)} } });
        process.stdout.write(String(agent.pid));
        process.exit(0);`;
      const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', host], {
        encoding: 'utf8',
        cwd: fileURLToPath(new URL('..', import.meta.url)), // where tsx resolves
      });
      assert.equal(result.status, 0, result.stderr);
      const pid = Number(result.stdout);
      assert.ok(pid > 0);
      await waitUntilGone(() => isGroupAlive(pid), 5_000);
      assertGone(pid);
    } finally {
      await dir.remove();
    }
  });
});
