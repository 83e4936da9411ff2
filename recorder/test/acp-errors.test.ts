// Clear errors from agents: a failed ACP node's one line names the agent by its agentInfo name (or, before the agent
// answered initialize, by the script it runs — `node x.js` is "x.js", never "node"), carries the JSON-RPC error's
// message and a short, terminal-safe rendering of its `data`, and the last lines of the agent's stderr.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { acp, defineFlow, runFlow, type AgentCommand } from '../src/runtime/index.ts';
import { assertNoChildren, childPids, Collector, scriptedAgent, tempDir } from './runtime-support.ts';

let dir: { path: string; remove(): Promise<void> };
let baseline: number[] = [];

before(async () => {
  dir = await tempDir('flowtape-errors-');
  baseline = childPids();
});
after(async () => {
  await dir.remove();
});

const flow = (prompt: string) => defineFlow({ name: 'errors', startAt: 'ask', nodes: { ask: acp({ prompt, timeoutMs: 30_000 }) }, edges: [] });

async function failure(prompt: string, agentCommand: AgentCommand): Promise<{ code?: string; message: string }> {
  const seen = new Collector();
  const result = await runFlow(flow(prompt), null, { cwd: dir.path, observer: seen, agentCommand });
  assertNoChildren(baseline);
  assert.equal(result.status, 'failed');
  const error = seen.of('node.outcome')[0]?.error;
  assert.ok(error, 'the attempt failed with an error');
  assert.doesNotMatch(error.message, /[\n\u001b]/, 'one line, no raw escape');
  return error;
}

describe('clear agent errors', () => {
  it('`node x.js` that exits before initialize: named "x.js", with the last lines of its stderr (colours dropped)', async () => {
    const script = join(dir.path, 'x.js');
    await writeFile(script, [
      'process.stderr.write("loading config\\n");',
      'process.stderr.write("\\u001b[33mwarning\\u001b[0m: config is old\\n\\n");',
      'process.stderr.write("using defaults\\n");',
      'process.stderr.write("\\u001b[31mfatal\\u001b[0m: cannot be used with root/sudo privileges\\n");',
      'process.exit(2);',
    ].join('\n'));
    // As `flowtape run --agent "node x.js"` gives it: a command line split into words.
    const error = await failure('hi', `${JSON.stringify(process.execPath)} ${JSON.stringify(script)}`);
    assert.equal(error.code, 'agent_exited');
    assert.equal(
      error.message,
      'node "ask": agent x.js: agent exited with code 2 during initialize (stderr: warning: config is old | using defaults | fatal: cannot be used with root/sudo privileges)',
    );
  });

  it('an agent that dies with a backtrace: the line that reads like the cause comes first, then the last lines', async () => {
    const script = join(dir.path, 'panics.js');
    await writeFile(script, [
      'process.stderr.write("WARNING: proceeding without helpers\\n");',
      'process.stderr.write("Error: error loading config: config.toml:1:2: built-in providers cannot be overridden\\n\\n");',
      'process.stderr.write("Stack backtrace:\\n");',
      'for (let i = 0; i < 6; i++) process.stderr.write(`   ${i}: frame_${i}\\n      at ./src/frame_${i}.rs:${i}:8\\n`);',
      'process.exit(1);',
    ].join('\n'));
    const error = await failure('hi', [process.execPath, script]);
    assert.equal(
      error.message,
      'node "ask": agent panics.js: agent exited with code 1 during initialize (stderr: Error: error loading config: config.toml:1:2: built-in providers cannot be overridden … at ./src/frame_4.rs:4:8 | 5: frame_5 | at ./src/frame_5.rs:5:8)',
    );
  });

  it('a refused prompt: named by agentInfo, with the JSON-RPC message, its data and the stderr before it', async () => {
    const agent = await scriptedAgent(dir.path, 'refuses', {
      agent: { name: 'claude-like', version: '1.0.0' },
      turns: [{
        match: 'hi',
        steps: [
          { stderr: 'starting turn' },
          { stderr: 'Error: --dangerously-skip-permissions cannot be used with root/sudo privileges' },
          { error: { code: -32603, message: 'Internal error', data: { details: 'cannot be used with root/sudo privileges' } } },
        ],
      }],
    });
    const error = await failure('hi', agent);
    assert.equal(error.code, 'rpc_error');
    assert.equal(
      error.message,
      'node "ask": agent claude-like: agent refused session/prompt: Internal error (data: {"details":"cannot be used with root/sudo privileges"}) (stderr: starting turn | Error: --dangerously-skip-permissions cannot be used with root/sudo privileges)',
    );
  });

  it('data that is long or carries terminal controls is clipped and shown escaped', async () => {
    const agent = await scriptedAgent(dir.path, 'noisy', {
      agent: { name: 'noisy-agent' },
      turns: [{ match: 'hi', steps: [{ error: { code: 1, message: 'bad\u001b]0;pwned\u0007 thing', data: `\u001b[2J${'x'.repeat(5_000)}` } }] }],
    });
    const error = await failure('hi', agent);
    const prefix = 'node "ask": agent noisy-agent: agent refused session/prompt: bad\\x1b]0;pwned\\x07 thing (data: \\x1b[2J';
    assert.equal(error.message.slice(0, prefix.length), prefix);
    assert.match(error.message, /^[^\u0000-\u001f\u007f-\u009f]*$/, 'no control character at all');
    assert.match(error.message, /x… *\)$/, 'the data is clipped');
    assert.ok(error.message.length < 400, `clipped (${error.message.length} characters)`);
  });

  it('a long refusal is cut at 500 characters, the same in session.failed as in the outcome', async () => {
    const script = join(dir.path, 'verbose.js');
    await writeFile(script, [
      'process.stdin.once("data", (line) => {',
      '  const { id } = JSON.parse(String(line).split("\\n")[0]);',
      '  for (let i = 0; i < 3; i++) process.stderr.write(`log line ${i} ${"y".repeat(120)}\\n`);',
      '  const error = { code: -32603, message: "m".repeat(300), data: "d".repeat(300) };',
      '  setTimeout(() => process.stdout.write(JSON.stringify({ jsonrpc: "2.0", id, error }) + "\\n"), 20);',
      '});',
    ].join('\n'));
    const seen = new Collector();
    const result = await runFlow(flow('hi'), null, { cwd: dir.path, observer: seen, agentCommand: [process.execPath, script] });
    assertNoChildren(baseline);
    const outcome = seen.of('node.outcome')[0]?.error;
    assert.equal(result.error?.code, 'rpc_error');
    assert.equal(outcome?.message.length, 501, 'cut at 500 characters and an ellipsis');
    assert.match(outcome!.message, /^node "ask": agent verbose\.js: agent refused initialize: m{160}… \(data: d{200}…\) \(stderr: log line 1 y+…$/);
    assert.equal(seen.of('session.failed')[0]?.error.message, outcome?.message);
  });

  it('an agent that refuses initialize: named by the script it runs', async () => {
    const agent = await scriptedAgent(dir.path, 'no-init', { initialize: { error: { code: -32602, message: 'Unsupported protocol version', data: { supported: [2] } } } });
    const error = await failure('hi', agent);
    assert.equal(error.code, 'rpc_error');
    assert.equal(error.message, 'node "ask": agent flowtape-scripted-agent.js: agent refused initialize: Unsupported protocol version (data: {"supported":[2]})');
  });
});
