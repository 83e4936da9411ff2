// Every way an agent can fail ends in one clear AcpError, never a hang, and never an orphan process.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AcpAgent, AcpError, isProcessAlive } from '../src/acp/index.ts';
import { assertGone, messages, rejection, script, startScripted, tempDir } from './acp-support.ts';

const failures = script('failures.json');

describe('ACP client failures', () => {
  let dir: { path: string; remove(): Promise<void> };
  before(async () => {
    dir = await tempDir();
  });
  after(() => dir.remove());

  it('cancels a hanging prompt on abort: session/cancel, the agent answers cancelled, the prompt rejects', async () => {
    const { agent, recorded } = await startScripted(failures, dir.path);
    try {
      const { sessionId } = await agent.newSession(dir.path);
      const controller = new AbortController();
      const prompt = agent.prompt(sessionId, 'hang', { signal: controller.signal });
      // Abort once the agent is visibly working on the turn.
      await until(() => messages(recorded.updates).includes('Working on it...'));
      controller.abort();
      const error = await rejection(prompt);
      assert.ok(error instanceof AcpError);
      assert.equal(error.code, 'cancelled');
      assert.equal(error.stopReason, 'cancelled');
      assert.equal(error.message, 'prompt cancelled; the agent stopped with cancelled');
      const tail = recorded.traffic.slice(-2).map((r) => r.message);
      assert.deepEqual(tail, [
        { jsonrpc: '2.0', method: 'session/cancel', params: { sessionId } },
        { jsonrpc: '2.0', id: 2, result: { stopReason: 'cancelled' } },
      ]);
      // The session is usable again after the cancelled turn.
      await assert.rejects(agent.prompt(sessionId, 'nothing matches this'), { code: 'rpc_error' });
    } finally {
      await agent.close();
    }
    assertGone(agent.pid);
  });

  it('rejects with timeout when a prompt exceeds timeoutMs, after cancelling it', async () => {
    const { agent, recorded } = await startScripted(failures, dir.path);
    try {
      const { sessionId } = await agent.newSession(dir.path);
      const error = await rejection(agent.prompt(sessionId, 'hang', { timeoutMs: 200 }));
      assert.equal(error.code, 'timeout');
      assert.equal(error.message, 'agent did not finish session/prompt within 200 ms; the agent stopped with cancelled');
      assert.ok(recorded.traffic.some((r) => (r.message as { method?: string } | undefined)?.method === 'session/cancel'));
    } finally {
      await agent.close();
    }
    assertGone(agent.pid);
  });

  it('rejects at once when the signal is already aborted, without sending the prompt', async () => {
    const { agent, recorded } = await startScripted(failures, dir.path);
    try {
      const { sessionId } = await agent.newSession(dir.path);
      const before = recorded.traffic.length;
      await assert.rejects(agent.prompt(sessionId, 'hang', { signal: AbortSignal.abort() }), { code: 'cancelled' });
      assert.equal(recorded.traffic.length, before);
    } finally {
      await agent.close();
    }
    assertGone(agent.pid);
  });

  it('reports an agent that exits mid-turn, with its exit code and stderr, and leaves no process', async () => {
    const { agent, recorded } = await startScripted(failures, dir.path);
    const pid = agent.pid;
    try {
      const { sessionId } = await agent.newSession(dir.path);
      const error = await rejection(agent.prompt(sessionId, 'crash'));
      assert.ok(error instanceof AcpError);
      assert.equal(error.code, 'agent_exited');
      assert.equal(error.exitCode, 3);
      assert.equal(error.message, 'agent exited with code 3 during session/prompt (stderr: fatal error: out of luck)');
      assert.deepEqual(messages(recorded.updates), ['About to crash.']);
      assert.equal(isProcessAlive(pid!), false);
      // Later calls fail at once, with the same cause.
      await assert.rejects(agent.prompt(sessionId, 'hang'), {
        code: 'agent_exited',
        message: 'agent exited with code 3; cannot send session/prompt (stderr: fatal error: out of luck)',
      });
      await assert.rejects(agent.newSession(dir.path), { code: 'agent_exited' });
    } finally {
      await agent.close();
    }
    assertGone(pid);
  });

  it('treats a non-JSON line on stdout as a protocol error naming the line, and shuts the agent down', async () => {
    const { agent, recorded } = await startScripted(failures, dir.path);
    try {
      const { sessionId } = await agent.newSession(dir.path);
      const error = await rejection(agent.prompt(sessionId, 'garbage'));
      assert.equal(error.code, 'protocol_error');
      assert.equal(error.message, 'agent protocol error during session/prompt: non-JSON line on stdout: "this is not JSON-RPC"');
      assert.deepEqual(recorded.traffic.at(-1), { direction: 'incoming', text: 'this is not JSON-RPC' });
      assert.deepEqual(messages(recorded.updates), ['Here comes garbage.']);
    } finally {
      await agent.close();
    }
    // The script would keep the agent alive for a minute: close() shut it down.
    assertGone(agent.pid);
  });

  it('treats a JSON line that is not JSON-RPC as a protocol error too', async () => {
    const { agent, recorded } = await startScripted(script('protocol.json'), dir.path);
    try {
      const { sessionId } = await agent.newSession(dir.path);
      const error = await rejection(agent.prompt(sessionId, 'not json-rpc'));
      assert.equal(error.code, 'protocol_error');
      assert.equal(error.message, 'agent protocol error during session/prompt: not a JSON-RPC 2.0 message on stdout: {"level":"info","msg":"a log line on stdout"}');
      // `json`: the line itself, handed on so the writer does not serialise the message again.
      assert.deepEqual(recorded.traffic.at(-1), {
        direction: 'incoming',
        message: { level: 'info', msg: 'a log line on stdout' },
        json: '{"level":"info","msg":"a log line on stdout"}',
      });
    } finally {
      await agent.close();
    }
    assertGone(agent.pid);
  });

  it('passes session/update kinds newer than the SDK through, and skips malformed ones', async () => {
    const { agent, recorded } = await startScripted(script('protocol.json'), dir.path);
    try {
      const { sessionId } = await agent.newSession(dir.path);
      assert.deepEqual(await agent.prompt(sessionId, 'future'), { stopReason: 'end_turn' });
      assert.deepEqual(recorded.updates.map((n) => n.update as unknown), [
        { sessionUpdate: 'future_update', detail: 42 },
        { sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: 'still here' } },
      ]);
      // The malformed one is still in the traffic, as sent.
      assert.ok(recorded.traffic.some((r) => JSON.stringify(r.message) === '{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"sess-1"}}'));
    } finally {
      await agent.close();
    }
    assertGone(agent.pid);
  });

  it('reports a missing agent command as agent_missing', async () => {
    const error = await rejection(AcpAgent.start({ command: 'flowtape-no-such-agent-command', cwd: dir.path }));
    assert.ok(error instanceof AcpError);
    assert.equal(error.code, 'agent_missing');
    assert.equal(error.message, 'agent command not found: flowtape-no-such-agent-command');
  });

  it('reports a run directory that does not exist', async () => {
    await assert.rejects(AcpAgent.start({ command: process.execPath, cwd: `${dir.path}/missing` }), {
      code: 'invalid_cwd',
      message: `run directory does not exist: ${dir.path}/missing`,
    });
  });

  it('reports a refused session/new with the agent\'s own message', async () => {
    const { agent } = await startScripted(script('auth-required.json'), dir.path);
    try {
      assert.deepEqual(agent.agentInfo, { name: 'scripted-auth', version: '1.0.0' });
      const error = await rejection(agent.newSession(dir.path));
      assert.ok(error instanceof AcpError);
      assert.equal(error.code, 'auth_required');
      assert.equal(error.rpcCode, -32000);
      assert.match(error.message, /^agent refused session\/new: Authentication required: the agent needs a login; /);
    } finally {
      await agent.close();
    }
    assertGone(agent.pid);
  });

  it('reports a bad script as the agent exiting during initialize, quoting its one-line error', async () => {
    const { path } = dir;
    const error = await rejection(startScripted(`${path}/absent.json`, path));
    assert.equal(error.code, 'agent_exited');
    assert.equal(error.message,
      `agent exited with code 2 during initialize (stderr: flowtape-scripted-agent: cannot read script ${path}/absent.json: no such file)`);
    assert.ok(error instanceof AcpError);
    assertGone(error.pid);
  });

  it('times out an agent that never answers initialize, and kills it and its children even if they ignore SIGTERM', async () => {
    const pidFile = join(dir.path, 'pids.json');
    // An agent that reads stdin but never answers, ignores SIGTERM and has a child of its own doing the same.
    const stubborn = 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000);';
    const agentCode = `
      const { spawn } = require('node:child_process');
      const child = spawn(process.execPath, ['-e', ${JSON.stringify(stubborn)}], { stdio: 'ignore' });
      require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, JSON.stringify([process.pid, child.pid]));
      process.stdin.resume();
      ${stubborn}`;
    const error = await rejection(AcpAgent.start({
      command: process.execPath,
      args: ['-e', agentCode],
      cwd: dir.path,
      // Long enough for the agent to start and write its pids on a loaded machine (node's start-up can take seconds).
      requestTimeoutMs: 3000,
      closeGraceMs: 100,
    }));
    assert.equal(error.code, 'timeout');
    assert.equal(error.message, 'agent did not answer initialize within 3000 ms');
    const [leader, child] = JSON.parse(await readFile(pidFile, 'utf8')) as [number, number];
    assert.equal((error as AcpError).pid, leader);
    assertGone(leader);
    assert.equal(isProcessAlive(child), false, 'the agent\'s own child is gone too');
  });

  it('rejects a pending request when the agent process is killed from outside', async () => {
    const { agent } = await startScripted(failures, dir.path);
    try {
      const { sessionId } = await agent.newSession(dir.path);
      const prompt = agent.prompt(sessionId, 'hang');
      process.kill(agent.pid!, 'SIGKILL');
      const error = await rejection(prompt);
      assert.equal(error.code, 'agent_exited');
      assert.equal(error.message, 'agent was killed by SIGKILL during session/prompt');
    } finally {
      await agent.close();
    }
    assertGone(agent.pid);
  });

  it('rejects a pending prompt when the client closes the agent', async () => {
    const { agent } = await startScripted(failures, dir.path);
    const { sessionId } = await agent.newSession(dir.path);
    const rejected = rejection(agent.prompt(sessionId, 'hang'));
    await agent.close();
    const error = await rejected;
    assert.equal(error.code, 'agent_exited');
    assert.equal(error.message, 'agent was closed during session/prompt');
    assertGone(agent.pid);
    await agent.close(); // idempotent
  });
});

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}
