// `flowtape run` and `flowtape resume`: the real bin, spawned in temp dirs; exit codes, stdout, stderr, bundles.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { verifyBundle } from '../src/tools/verify.ts';
import { assertContiguous, readJson, recorderEntry, runCli, scriptedAgent, tempDir, traceOf } from './recorder-support.ts';

const header = `import { acp, checkpoint, compute, defineFlow, shell } from ${JSON.stringify(recorderEntry)};\n`;

async function flowFile(dir: string, name: string, body: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, header + body);
  return file;
}

const okFlow = `export default defineFlow({
  name: 'cli-ok',
  startAt: 'a',
  nodes: {
    a: compute({ run: ({ input }) => ({ who: input.who ?? 'nobody' }) }),
    b: shell({ exec: { command: 'sh', args: ['-c', 'echo built'] } }),
  },
  edges: [{ from: 'a', to: 'b' }],
});`;

const failingFlow = `export default defineFlow({
  name: 'cli-fail',
  startAt: 'a',
  nodes: { a: shell({ exec: { command: 'sh', args: ['-c', 'echo broken >&2; exit 3'] } }) },
  edges: [],
});`;

/** No stack trace, ever: a line starting with "    at " is one. */
function assertNoStack(text: string): void {
  assert.doesNotMatch(text, /^\s+at /m, `no stack trace in: ${text}`);
}

describe('flowtape run', () => {
  it('runs a flow, prints the bundle path on stdout and progress per node on stderr (exit 0)', async () => {
    const dir = await tempDir('flowtape-cli-');
    try {
      await flowFile(dir.path, 'ok.flow.ts', okFlow);
      const result = await runCli(['run', 'ok.flow.ts', '--input', '{"who":"ada"}'], { cwd: dir.path });
      assert.equal(result.code, 0, result.stderr);
      const bundle = result.stdout.trim();
      assert.equal(result.stdout, `${bundle}\n`, 'stdout is the bundle path alone');
      assert.ok(bundle.startsWith(join(dir.path, '.flowtape', 'runs') + '/'), bundle);
      assert.match(result.stderr, /▸ a#1 \(compute\)/);
      assert.match(result.stderr, /✓ a#1 ok in \d+ ms/);
      assert.match(result.stderr, /✓ b#1 ok/);
      assert.match(result.stderr, /run completed in \d+ ms/);
      assert.doesNotMatch(result.stderr, /usage:/, 'no usage line when no agent reported usage');
      const report = await verifyBundle(bundle);
      assert.deepEqual(report.problems, []);
      assert.equal(report.summary.status, 'completed');
      assert.equal(readJson<{ flowFile: string }>(join(bundle, 'flow.json')).flowFile, 'ok.flow.ts');
      assert.deepEqual(traceOf(bundle)[0]!.payload.input, { inline: { who: 'ada' } });
    } finally {
      await dir.remove();
    }
  });

  it('takes --input @file, --out, --run-id and prints JSON with --json', async () => {
    const dir = await tempDir('flowtape-cli-');
    try {
      await flowFile(dir.path, 'ok.flow.ts', okFlow);
      await writeFile(join(dir.path, 'input.json'), '{"who":"grace"}');
      const result = await runCli(['run', 'ok.flow.ts', '--input', '@input.json', '--out', 'runs', '--run-id', 'my-run', '--json', '--quiet'], { cwd: dir.path });
      assert.equal(result.code, 0, result.stderr);
      const printed = JSON.parse(result.stdout) as { bundle: string; runId: string; status: string };
      assert.equal(printed.bundle, join(dir.path, 'runs', 'my-run'));
      assert.equal(printed.runId, 'my-run');
      assert.equal(printed.status, 'completed');
      assert.doesNotMatch(result.stderr, /▸/, '--quiet: no progress');
      assert.deepEqual(traceOf(printed.bundle)[0]!.payload.input, { inline: { who: 'grace' } });
    } finally {
      await dir.remove();
    }
  });

  it('exits 1 for a failed run, with the failure on stderr and a complete bundle', async () => {
    const dir = await tempDir('flowtape-cli-');
    try {
      await flowFile(dir.path, 'fail.flow.ts', failingFlow);
      const result = await runCli(['run', 'fail.flow.ts'], { cwd: dir.path });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /✗ a#1 failed in \d+ ms: shell: "sh -c .*" exited with code 3: broken/);
      assert.match(result.stderr, /flowtape: run failed in \d+ ms: node "a" failed/);
      assertNoStack(result.stderr);
      const bundle = result.stdout.trim();
      const report = await verifyBundle(bundle);
      assert.deepEqual(report.problems, []);
      assert.equal(report.summary.status, 'failed');
      assert.equal(report.summary.complete, true);
    } finally {
      await dir.remove();
    }
  });

  it('drives a real ACP agent given with --agent and --permission, recording its session', async () => {
    const dir = await tempDir('flowtape-cli-');
    try {
      const agent = await scriptedAgent(dir.path, 'agent', {
        turns: [{ match: 'Hello', steps: [{ thought: 'hm' }, { permission: { toolCallId: 't', ifAllowed: [{ message: 'allowed' }], ifRejected: [{ message: 'denied' }] } }] }],
      });
      await flowFile(dir.path, 'acp.flow.ts', `export default defineFlow({ name: 'cli-acp', startAt: 'ask', nodes: { ask: acp({ prompt: 'Hello' }) }, edges: [] });`);
      const command = agent.map((a) => JSON.stringify(a)).join(' ');
      for (const [policy, answer] of [['approve-all', 'allowed'], ['deny', 'denied']] as const) {
        const result = await runCli(['run', 'acp.flow.ts', '--agent', command, '--permission', policy, '--json'], { cwd: dir.path });
        assert.equal(result.code, 0, result.stderr);
        const { bundle } = JSON.parse(result.stdout) as { bundle: string };
        const outcome = traceOf(bundle).find((e) => e.type === 'node.outcome')!;
        assert.deepEqual(outcome.payload.output, { inline: answer });
        assert.ok(existsSync(join(bundle, 'sessions/s1/events.ndjson')));
        const report = await verifyBundle(bundle);
        assert.deepEqual(report.problems, []);
      }
    } finally {
      await dir.remove();
    }
  });

  it('passes the servers of --mcp-config to the agent and records them redacted', async () => {
    const dir = await tempDir('flowtape-cli-');
    const token = 'mcp-cli-secret-0123456789';
    try {
      const agent = await scriptedAgent(dir.path, 'agent', { turns: [{ match: 'Show session', steps: [{ echoSession: true }] }] });
      await flowFile(dir.path, 'mcp.flow.ts', `export default defineFlow({ name: 'cli-mcp', startAt: 'ask', nodes: { ask: acp({ prompt: 'Show session' }) }, edges: [] });`);
      await writeFile(join(dir.path, 'servers.json'), JSON.stringify({
        mcpServers: { notes: { command: '/opt/mcp/notes', args: ['--ro'], env: { NOTES_KEY: token } } },
      }));
      const command = agent.map((a) => JSON.stringify(a)).join(' ');
      const result = await runCli(['run', 'mcp.flow.ts', '--agent', command, '--mcp-config', 'servers.json', '--json'], { cwd: dir.path });
      assert.equal(result.code, 0, result.stderr);
      const { bundle } = JSON.parse(result.stdout) as { bundle: string };
      const server = { name: 'notes', command: '/opt/mcp/notes', args: ['--ro'], env: [{ name: 'NOTES_KEY', value: '[redacted:NOTES_KEY]' }] };
      assert.deepEqual(readJson<{ mcpServers: unknown }>(join(bundle, 'sessions/s1/binding.json')).mcpServers, [{ ...server, transport: 'stdio' }]);
      // The agent's echo of what it received, as recorded: the secret replaced there too.
      const output = traceOf(bundle).find((e) => e.type === 'node.outcome')!.payload.output as { inline: string };
      assert.deepEqual(JSON.parse(output.inline), { cwd: dir.path, mcpServers: [server] });
      for (const file of ['trace.ndjson', 'sessions/s1/events.ndjson', 'sessions/s1/record.json', 'sessions/s1/binding.json']) {
        assert.equal(readFileSync(join(bundle, file), 'utf8').includes(token), false, file);
      }
      assert.deepEqual((await verifyBundle(bundle)).problems, []);
    } finally {
      await dir.remove();
    }
  });

  it('logs the agent in with --auth <methodId>; an id the agent does not offer fails the run in one line', async () => {
    const dir = await tempDir('flowtape-cli-');
    try {
      const agent = await scriptedAgent(dir.path, 'login-agent', {
        agent: { name: 'login-agent' },
        authMethods: [{ id: 'api-key', name: 'API key', type: 'env_var', vars: [{ name: 'LOGIN_AGENT_KEY' }] }, { id: 'sso', name: 'Single sign-on' }],
        turns: [{ match: 'Hello', steps: [{ message: 'hi' }] }],
      });
      await flowFile(dir.path, 'acp.flow.ts', `export default defineFlow({ name: 'cli-auth', startAt: 'ask', nodes: { ask: acp({ prompt: 'Hello' }) }, edges: [] });`);
      const command = agent.map((a) => JSON.stringify(a)).join(' ');
      const used = await runCli(['run', 'acp.flow.ts', '--agent', command, '--auth', 'sso', '--json'], { cwd: dir.path });
      assert.equal(used.code, 0, used.stderr);
      const { bundle } = JSON.parse(used.stdout) as { bundle: string };
      assert.equal(readJson<{ authMethodId?: string }>(join(bundle, 'sessions/s1/binding.json')).authMethodId, 'sso');

      const unknown = await runCli(['run', 'acp.flow.ts', '--agent', command, '--auth', 'github', '--quiet'], { cwd: dir.path });
      assert.equal(unknown.code, 1);
      assert.match(
        unknown.stderr,
        /^flowtape: run failed in \d+ ms: node "ask": agent login-agent: the agent offers no auth method "github"; it offers: api-key \(set LOGIN_AGENT_KEY\), sso \(Single sign-on\)\n$/,
      );
      const empty = await runCli(['run', 'acp.flow.ts', '--agent', command, '--auth', ' '], { cwd: dir.path });
      assert.equal(empty.code, 2);
      assert.match(empty.stderr, /--auth: give an auth method id/);
      assertNoStack(empty.stderr);
    } finally {
      await dir.remove();
    }
  });

  it('ends with the tokens and cost the agent reported (text on stderr, `usage` in --json)', async () => {
    const dir = await tempDir('flowtape-cli-');
    try {
      const agent = await scriptedAgent(dir.path, 'agent', {
        turns: [{
          match: 'Hello',
          steps: [{ message: 'hi' }, { usage: { used: 150, size: 1000, cost: { amount: 0.0125, currency: 'USD' } } }],
          usage: { inputTokens: 1200, outputTokens: 30, totalTokens: 1230 },
        }],
      });
      await flowFile(dir.path, 'acp.flow.ts', `export default defineFlow({ name: 'cli-usage', startAt: 'ask', nodes: { ask: acp({ prompt: 'Hello' }) }, edges: [] });`);
      const command = agent.map((a) => JSON.stringify(a)).join(' ');
      const text = await runCli(['run', 'acp.flow.ts', '--agent', command, '--quiet'], { cwd: dir.path });
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stderr, /^flowtape: usage: 1,230 tokens \(1,200 in, 30 out\), 0\.0125 USD$/m);
      const json = await runCli(['run', 'acp.flow.ts', '--agent', command, '--json'], { cwd: dir.path });
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual((JSON.parse(json.stdout) as { usage: unknown }).usage, {
        turns: 1, tokens: { inputTokens: 1200, outputTokens: 30, totalTokens: 1230 }, cost: [{ currency: 'USD', amount: 0.0125 }],
      });
    } finally {
      await dir.remove();
    }
  });

  it('reports usage and input errors in one line with exit 2, never a stack trace', async () => {
    const dir = await tempDir('flowtape-cli-');
    try {
      await flowFile(dir.path, 'ok.flow.ts', okFlow);
      await writeFile(join(dir.path, 'broken.flow.ts'), 'export default defineFlow({ name: ');
      await writeFile(join(dir.path, 'empty.flow.ts'), 'export const x = 1;\n');
      await flowFile(dir.path, 'invalid.flow.ts', `export default defineFlow({ name: 'bad', startAt: 'a', nodes: { a: compute({ run: () => 1 }) }, edges: [{ from: 'a', to: 'nowhere' }] });`);
      await writeFile(join(dir.path, 'no-servers.json'), '{"servers": []}');
      await writeFile(join(dir.path, 'bad-mcp.json'), '{"mcpServers": {"web": {"url": "https://mcp.example.com/"}}}');
      await writeFile(join(dir.path, 'broken-mcp.json'), '{"mcpServers": [');
      const cases: Array<[string[], RegExp]> = [
        [[], /Usage: flowtape/],
        [['run'], /missing required argument 'flow'/],
        [['run', 'ok.flow.ts', '--bogus'], /unknown option '--bogus'/],
        [['run', 'ok.flow.ts', '--input', '{nope'], /--input: not valid JSON/],
        [['run', 'ok.flow.ts', '--input', '@missing.json'], /--input @missing.json: cannot read .*missing.json \(no such file\)/],
        [['run', 'ok.flow.ts', '--permission', 'maybe'], /--permission <policy>' argument 'maybe' is invalid/],
        [['run', 'ok.flow.ts', '--mcp-config', 'missing.json'], /^flowtape: --mcp-config missing.json: no such file\n$/],
        [['run', 'ok.flow.ts', '--mcp-config', 'broken-mcp.json'], /^flowtape: --mcp-config broken-mcp.json: not valid JSON \(.+\)\n$/],
        [['run', 'ok.flow.ts', '--mcp-config', 'no-servers.json'], /--mcp-config no-servers.json: expected a JSON object with "mcpServers"/],
        [['run', 'ok.flow.ts', '--mcp-config', 'bad-mcp.json'], /--mcp-config bad-mcp.json: `mcpServers.web` has an unknown key `url` for a stdio server \(a remote server needs `type`: "http" or "sse"\)/],
        [['run', 'nope.flow.ts'], /nope.flow.ts: no such flow file/],
        [['run', 'broken.flow.ts'], /broken.flow.ts: cannot load the flow \(/],
        [['run', 'empty.flow.ts'], /empty.flow.ts: exports no flow/],
        [['run', 'invalid.flow.ts'], /nowhere/],
        [['frobnicate'], /unknown command 'frobnicate'/],
        [['run', 'ok.flow.ts', '--out', 'ok.flow.ts'], /cannot create the bundle directory .*ok\.flow\.ts\/\S+: /],
        // A folder is unreadable as a flow for check too (it said "invalid", exit 1).
        [['check', '.'], /^flowtape: \.: not a file\n$/],
        // Node's errno text (EISDIR, ENOTDIR) said in words.
        [['run', 'ok.flow.ts', '--mcp-config', '.'], /^flowtape: --mcp-config \.: a folder, not a file\n$/],
        [['resume', 'ok.flow.ts'], /ok\.flow\.ts: not a bundle directory \(a run resumes by appending to its folder: unzip a packed bundle first\)\n$/],
      ];
      for (const [args, message] of cases) {
        const result = await runCli(args, { cwd: dir.path });
        assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, message, args.join(' '));
        assertNoStack(result.stderr);
        assert.equal(result.stdout, '', `${args.join(' ')}: nothing on stdout`);
      }
      assert.equal(existsSync(join(dir.path, '.flowtape')), false, 'no bundle for a run that never started');
    } finally {
      await dir.remove();
    }
  });

  it('has --help on every command (exit 0)', async () => {
    const dir = await tempDir('flowtape-cli-');
    try {
      for (const [args, expected] of [
        [['--help'], /Commands:[\s\S]*run[\s\S]*resume[\s\S]*ls[\s\S]*verify[\s\S]*view/],
        [['run', '--help'], /--input <json\|@file>[\s\S]*--out <dir>[\s\S]*--agent <command>[\s\S]*--permission <policy>[\s\S]*\(default:\s+approve-reads\)[\s\S]*--mcp-config <file>[\s\S]*--auth <methodId>[\s\S]*--deterministic/],
        [['resume', '--help'], /--input[\s\S]*--permission <policy>[\s\S]*\(default:\s+approve-reads\)[\s\S]*--mcp-config <file>[\s\S]*--auth <methodId>/],
        [['ls', '--help'], /--json/],
        [['verify', '--help'], /--json/],
        [['view', '--help'], /--port <n>[\s\S]*--open/],
        [['check', '--help'], /--no-types[\s\S]*--json/],
        [['help'], /Commands:[\s\S]*run[\s\S]*check/],
        [['help', 'diff'], /Usage: flowtape diff \[options\] <a> <b>/],
      ] as const) {
        const result = await runCli([...args], { cwd: dir.path });
        assert.equal(result.code, 0, args.join(' '));
        assert.match(result.stdout, expected, args.join(' '));
      }
      // Help shown because the command is missing is a usage error.
      const bare = await runCli([], { cwd: dir.path });
      assert.equal(bare.code, 2);
      assert.match(bare.stderr, /Usage: flowtape/);
    } finally {
      await dir.remove();
    }
  });
});

describe('flowtape resume', () => {
  it('continues a waiting run in the same bundle: seq continues, the resume input routes', async () => {
    const dir = await tempDir('flowtape-cli-');
    try {
      await flowFile(
        dir.path,
        'cp.flow.ts',
        `export default defineFlow({
          name: 'cli-cp',
          startAt: 'prep',
          nodes: {
            prep: compute({ run: () => ({ v: 1 }) }),
            gate: checkpoint({ summary: 'ok?' }),
            yes: compute({ run: ({ outputs, resume }) => ({ v: outputs.prep.v, by: resume.by }) }),
            no: compute({ run: () => 'rejected' }),
          },
          edges: [{ from: 'prep', to: 'gate' }, { from: 'gate', switch: { on: '$resume.approved', cases: { true: 'yes', false: 'no' } } }],
        });`,
      );
      const first = await runCli(['run', 'cp.flow.ts'], { cwd: dir.path });
      assert.equal(first.code, 0, first.stderr);
      const bundle = first.stdout.trim();
      assert.match(first.stderr, /run waiting at checkpoint "gate": continue with `flowtape resume /);
      assert.equal(readJson<{ status: string; complete: boolean }>(join(bundle, 'manifest.json')).status, 'waiting');

      const second = await runCli(['resume', bundle, '--input', '{"approved":true,"by":"bob"}'], { cwd: dir.path });
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.stdout.trim(), bundle);
      assert.match(second.stderr, /resuming cli-cp at gate/);
      const trace = traceOf(bundle);
      assertContiguous(trace.map((e) => e.seq));
      const types = trace.map((e) => e.type);
      assert.ok(types.indexOf('run.resumed') === types.indexOf('run.waiting') + 1);
      assert.deepEqual(trace.at(-1)!.payload.output, { inline: { v: 1, by: 'bob' } });
      const report = await verifyBundle(bundle);
      assert.deepEqual(report.problems, []);
      assert.equal(report.summary.status, 'completed');
      assert.equal(report.summary.complete, true);

      const again = await runCli(['resume', bundle], { cwd: dir.path });
      assert.equal(again.code, 2);
      assert.match(again.stderr, /the run is completed, not waiting at a checkpoint: nothing to resume/);
      assert.equal(readFileSync(join(bundle, 'trace.ndjson'), 'utf8').split('\n').length - 1, trace.length, 'a refused resume writes nothing');
      const missing = await runCli(['resume', join(dir.path, 'nope')], { cwd: dir.path });
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /manifest.json: missing \(is this a bundle\?\)/);
      assertNoStack(missing.stderr);
    } finally {
      await dir.remove();
    }
  });
});
