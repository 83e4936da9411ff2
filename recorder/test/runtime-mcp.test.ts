// MCP servers for ACP sessions, against the scripted agent (a real process): what reaches `session/new` (checked from
// the agent's side with its `echoSession` step, and in the recorded traffic), which list wins, which nodes share a
// session, what the binding records, and that no secret value is written anywhere in the bundle.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { record } from '../src/record.ts';
import { acp, compute, defineFlow, runFlow, FlowDefinitionError, RunOptionsError, type FlowDefinition } from '../src/runtime/index.ts';
import { repairBundle } from '../src/tools/repair.ts';
import { verifyBundle } from '../src/tools/verify.ts';
import { readJson, readLines, tempDir, traceOf } from './recorder-support.ts';
import { Collector, scriptedAgent } from './runtime-support.ts';

const FILES_TOKEN = 'files-token-0123456789abcdef';
const GITHUB_TOKEN = 'ghp_0123456789abcdefABCDEF';

const echo = { match: { regex: '^Show session' }, steps: [{ echoSession: true }] };

/** Every file under `dir`, as text. */
function filesUnder(dir: string): Array<{ path: string; text: string }> {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [{ path, text: readFileSync(path, 'utf8') }];
  });
}

function sessionNewOf(bundle: string, sessionId: string): { cwd: string; mcpServers: unknown } {
  const lines = readLines<{ direction: string; message?: { method?: string; params?: unknown } }>(join(bundle, 'sessions', sessionId, 'events.ndjson'));
  const sent = lines.filter((l) => l.direction === 'outgoing' && l.message?.method === 'session/new');
  assert.equal(sent.length, 1, `one session/new in ${sessionId}`);
  return sent[0]!.message!.params as { cwd: string; mcpServers: unknown };
}

describe('MCP servers', () => {
  let dir: { path: string; remove(): Promise<void> };
  let agent: string[];
  before(async () => {
    dir = await tempDir('flowtape-mcp-');
    agent = await scriptedAgent(dir.path, 'echo', { turns: [echo] });
  });
  after(() => dir.remove());

  it('reach session/new as sent, node lists replace the flow\'s, and the bundle records them with every secret redacted', async () => {
    const flow = defineFlow({
      name: 'mcp',
      startAt: 'a',
      agentCommand: agent,
      // The map form of .mcp.json files; DEBUG is too short to find in free text, but still redacted where it is sent.
      mcpServers: { files: { command: '/usr/local/bin/mcp-files', args: ['--root', '.'], env: { FILES_TOKEN, DEBUG: '1' } } },
      nodes: {
        a: acp({ prompt: 'Show session a', parse: (text) => JSON.parse(text) as unknown }),
        // ACP's array form; replaces the flow's list, so this node needs a session of its own.
        b: acp({
          prompt: 'Show session b',
          parse: (text) => JSON.parse(text) as unknown,
          mcpServers: [{ type: 'http', name: 'github', url: 'https://mcp.example.com/github', headers: [{ name: 'Authorization', value: `Bearer ${GITHUB_TOKEN}` }] }],
        }),
        // The flow's list again: the session of `a` is reused.
        c: acp({ prompt: 'Show session c', parse: (text) => JSON.parse(text) as unknown }),
        collect: compute({ run: ({ outputs }) => ({ a: outputs.a, b: outputs.b, c: outputs.c }) }),
      },
      edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'c', to: 'collect' }],
    });
    const result = await record(flow, {}, {
      cwd: dir.path,
      outDir: join(dir.path, 'runs'),
      // The flow's list replaces the run's: this one is never sent.
      mcpServers: [{ name: 'run-level', command: '/bin/true' }],
    });
    assert.equal(result.status, 'completed', JSON.stringify(result.error));

    // What the agent received (the run result is in memory: not redacted).
    const files = { name: 'files', command: '/usr/local/bin/mcp-files', args: ['--root', '.'], env: [{ name: 'FILES_TOKEN', value: FILES_TOKEN }, { name: 'DEBUG', value: '1' }] };
    const github = { type: 'http', name: 'github', url: 'https://mcp.example.com/github', headers: [{ name: 'Authorization', value: `Bearer ${GITHUB_TOKEN}` }] };
    const output = result.output as Record<'a' | 'b' | 'c', { cwd: string; mcpServers: unknown }>;
    assert.deepEqual(output.a, { cwd: dir.path, mcpServers: [files] });
    assert.deepEqual(output.b, { cwd: dir.path, mcpServers: [github] });
    assert.deepEqual(output.c, output.a);

    const bundle = result.bundleDir;
    const bound = traceOf(bundle).filter((e) => e.type === 'session.bound').map((e) => `${e.attemptId} ${e.sessionId} ${e.payload.reused}`);
    assert.deepEqual(bound, ['a#1 s1 false', 'b#1 s2 false', 'c#1 s1 true']);

    // Recorded: the binding and the raw session/new carry the servers with their values redacted.
    const filesRedacted = { ...files, env: [{ name: 'FILES_TOKEN', value: '[redacted:FILES_TOKEN]' }, { name: 'DEBUG', value: '[redacted:DEBUG]' }] };
    const githubRedacted = { ...github, headers: [{ name: 'Authorization', value: '[redacted:Authorization]' }] };
    // The binding in the format's names: `transport` for ACP's `type`.
    const { type: _type, ...githubFields } = githubRedacted;
    assert.deepEqual(readJson<{ mcpServers: unknown }>(join(bundle, 'sessions/s1/binding.json')).mcpServers, [{ transport: 'stdio', ...filesRedacted }]);
    assert.deepEqual(readJson<{ mcpServers: unknown }>(join(bundle, 'sessions/s2/binding.json')).mcpServers, [{ transport: 'http', ...githubFields }]);
    assert.deepEqual(sessionNewOf(bundle, 's1').mcpServers, [filesRedacted]);
    assert.deepEqual(sessionNewOf(bundle, 's2').mcpServers, [githubRedacted]);

    // No secret anywhere, not even in the agent's echo of them (the header's token is found without its "Bearer").
    for (const { path, text } of filesUnder(bundle)) {
      for (const secret of [FILES_TOKEN, GITHUB_TOKEN]) assert.equal(text.includes(secret), false, `${secret} in ${path}`);
    }
    assert.match(readFileSync(join(bundle, 'sessions/s1/events.ndjson'), 'utf8'), /\[redacted:FILES_TOKEN\]/);
    assert.deepEqual((await verifyBundle(bundle)).problems, []);

    // repair rebuilds a lost binding.json with the servers, the cwd and the agent, from the session's own traffic.
    for (const id of ['s1', 's2']) {
      const path = join(bundle, `sessions/${id}/binding.json`);
      const { createdAt: _at, ...recorded } = readJson<Record<string, unknown>>(path);
      rmSync(path);
      await repairBundle(bundle);
      const { createdAt: _again, ...rebuilt } = readJson<Record<string, unknown>>(path);
      assert.deepEqual(rebuilt, recorded, `${id}: the rebuilt binding`);
    }
    assert.deepEqual((await verifyBundle(bundle)).problems, []);
  });

  it('the run\'s list is used when the flow has none; `mcpServers: []` on a node means none', async () => {
    const flow = defineFlow({
      name: 'mcp-run-level',
      startAt: 'a',
      agentCommand: agent,
      nodes: {
        a: acp({ prompt: 'Show session a', parse: (text) => JSON.parse(text) as unknown }),
        b: acp({ prompt: 'Show session b', parse: (text) => JSON.parse(text) as unknown, mcpServers: [] }),
        collect: compute({ run: ({ outputs }) => ({ a: outputs.a, b: outputs.b }) }),
      },
      edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'collect' }],
    });
    const collector = new Collector();
    const result = await runFlow(flow, {}, {
      cwd: dir.path,
      observer: collector,
      mcpServers: { notes: { type: 'sse', url: 'http://127.0.0.1:9/sse' } },
    });
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    const output = result.output as Record<'a' | 'b', { mcpServers: unknown }>;
    assert.deepEqual(output.a.mcpServers, [{ type: 'sse', name: 'notes', url: 'http://127.0.0.1:9/sse', headers: [] }]);
    assert.deepEqual(output.b.mcpServers, []);
    // Different servers, different sessions.
    assert.deepEqual(collector.of('session.bound').map((e) => [e.sessionId, e.reused, e.mcpServers?.length]), [['s1', false, 1], ['s2', false, undefined]]);
  });

  it('refuses an http server to an agent that does not advertise mcpCapabilities.http, naming the server', async () => {
    const plain = await scriptedAgent(dir.path, 'no-http', { mcpCapabilities: {}, turns: [echo] });
    const flow = defineFlow({
      name: 'mcp-unsupported',
      startAt: 'a',
      nodes: { a: acp({ prompt: 'Show session', agentCommand: plain, mcpServers: { github: { type: 'http', url: 'https://mcp.example.com/' } } }) },
      edges: [],
    });
    const collector = new Collector();
    const result = await runFlow(flow, {}, { cwd: dir.path, observer: collector });
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.code, 'mcp_unsupported');
    assert.match(result.error!.message, /^node "a": agent [^:]+: MCP server "github" is http, which the agent does not support \(its initialize answer has no mcpCapabilities\.http\): use a stdio server$/);
    const failed = collector.of('session.failed');
    assert.equal(failed.length, 1);
    assert.deepEqual(failed[0]!.mcpServers, [{ type: 'http', name: 'github', url: 'https://mcp.example.com/', headers: [] }]);
    const sent = collector.of('acp.traffic').filter((e) => e.direction === 'outgoing').map((e) => (e.message as { method?: string }).method);
    assert.equal(sent.includes('session/new'), false, 'no session/new was sent');
  });

  it('rejects bad MCP server lists with one line naming the flow, the node and the entry', () => {
    const flowWith = (mcpServers: unknown, where: 'flow' | 'node'): FlowDefinition => ({
      name: 'bad-mcp',
      startAt: 'a',
      // Not built with acp(), which would refuse the node before defineFlow sees it.
      nodes: { a: { nodeType: 'acp', prompt: 'hi', ...(where === 'node' ? { mcpServers: mcpServers as never } : {}) } },
      edges: [],
      ...(where === 'flow' ? { mcpServers: mcpServers as never } : {}),
    });
    const cases: Array<[unknown, 'flow' | 'node', string]> = [
      [{ files: { args: [] } }, 'node', 'flow "bad-mcp": node "a": `mcpServers.files.command` must be a non-empty string'],
      [[{ name: 'x', command: 'x', disabled: true }], 'node', 'flow "bad-mcp": node "a": `mcpServers[0]` has an unknown key `disabled` for a stdio server'],
      [{ web: { url: 'https://x.example/' } }, 'flow', 'flow "bad-mcp": `mcpServers.web` has an unknown key `url` for a stdio server (a remote server needs `type`: "http" or "sse")'],
      [{ web: { type: 'http', url: 'ftp://x.example/' } }, 'flow', 'flow "bad-mcp": `mcpServers.web.url` must be an http:// or https:// URL'],
      [[{ name: 'x', command: 'a' }, { name: 'x', command: 'b' }], 'flow', 'flow "bad-mcp": `mcpServers[1]`: two MCP servers are named "x"'],
      [{ x: { command: 'a', env: { TOKEN: 42 } } }, 'node', 'flow "bad-mcp": node "a": `mcpServers.x.env.TOKEN` must have a string value'],
      [{ x: { type: 'websocket', url: 'wss://x' } }, 'node', 'flow "bad-mcp": node "a": `mcpServers.x.type` must be "stdio", "http" or "sse" (got "websocket")'],
      ['servers.json', 'flow', 'flow "bad-mcp": `mcpServers` must be an array of MCP servers or an object of name → server'],
    ];
    for (const [servers, where, message] of cases) {
      assert.throws(() => defineFlow(flowWith(servers, where)), (error: Error) => {
        assert.ok(error instanceof FlowDefinitionError);
        assert.equal(error.message, message);
        return true;
      });
    }
    const ok = defineFlow(flowWith(undefined, 'node'));
    return assert.rejects(runFlow(ok, {}, { cwd: dir.path, mcpServers: [{ name: 'x' }] as never }), (error: Error) => {
      assert.ok(error instanceof RunOptionsError);
      assert.equal(error.message, 'run options: `mcpServers[0].command` must be a non-empty string');
      return true;
    });
  });
});
