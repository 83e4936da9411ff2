// Logging in to the real codex-acp (a dev dependency) through runFlow and the bundle writer, offline. codex-acp
// advertises `chatgpt`, `codex-api-key` (env_var CODEX_API_KEY) and `openai-api-key` (env_var OPENAI_API_KEY) and
// refuses session/new until one is used. With a fake CODEX_API_KEY flowtape authenticates with `codex-api-key`, the
// session opens, and the prompt fails because there is no network (or, with one, because the key is fake): the node
// fails with one clear line, the bundle verifies and the key is nowhere in it. Without a key the node fails listing
// the methods codex-acp offered.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { record } from '../src/record.ts';
import { acp, defineFlow } from '../src/runtime/index.ts';
import { verifyBundle } from '../src/tools/verify.ts';
import { readJson, readLines, tempDir, traceOf } from './recorder-support.ts';

const codexBin = fileURLToPath(new URL('../node_modules/.bin/codex-acp', import.meta.url));
const FAKE_KEY = 'sk-flowtape-fake-4d1c9e7b20a35f68';
/** The node's own limit: a prompt that never ends would fail the test as a timeout, not hang it. */
const NODE_TIMEOUT_MS = 90_000;

const flow = defineFlow({
  name: 'codex-login',
  startAt: 'ask',
  nodes: { ask: acp({ prompt: 'Say hi', timeoutMs: NODE_TIMEOUT_MS }) },
  edges: [],
});

/**
 * A codex home of its own. With `noRetries`, its config turns codex's retries off, so the offline failure comes in
 * seconds (with them: about 45 s). That provider is not codex's built-in one, and codex-acp does not demand a login
 * for it: the test without a key keeps the built-in provider.
 */
async function codexHome(dir: string, noRetries: boolean): Promise<string> {
  const home = join(dir, 'home');
  await mkdir(home);
  if (noRetries) await writeFile(join(home, 'config.toml'), [
    'model_provider = "openai-no-retries"',
    '[model_providers.openai-no-retries]',
    'name = "OpenAI without retries"',
    'base_url = "https://api.openai.com/v1"',
    'wire_api = "responses"',
    'requires_openai_auth = true',
    'request_max_retries = 0',
    'stream_max_retries = 0',
    '',
  ].join('\n'));
  return home;
}

/** Processes whose environment holds `marker` (codex-acp and its native child), zombies left out. */
function processesWithEnv(marker: string): number[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid).filter((name) => {
    try {
      return readFileSync(`/proc/${name}/environ`, 'utf8').includes(marker) && !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${name}/stat`, 'utf8'));
    } catch {
      return false; // gone meanwhile, or not ours to read
    }
  }).map(Number);
}

function filesContaining(root: string, needle: string): string[] {
  return readdirSync(root).flatMap((name) => {
    const path = join(root, name);
    if (statSync(path).isDirectory()) return filesContaining(path, needle);
    return readFileSync(path).includes(needle) ? [path] : [];
  });
}

async function runCodex(dir: string, env: Record<string, string>, noRetries: boolean) {
  const home = await codexHome(dir, noRetries);
  const bundleDir = join(dir, 'bundle');
  const started = performance.now();
  const result = await record(flow, {}, {
    cwd: dir,
    bundleDir,
    agentCommand: codexBin,
    // Nothing of this machine's codex login or keys: only what the test gives.
    agentEnv: { HOME: home, CODEX_HOME: home, OPENAI_API_KEY: '', CODEX_API_KEY: '', ...env },
  });
  const elapsedMs = performance.now() - started;
  const report = await verifyBundle(bundleDir);
  assert.deepEqual(report.problems.map((p) => p.message), [], 'the bundle verifies');
  assert.equal(report.summary.complete, true, 'the bundle is complete');
  const events = readLines<{ direction: string; message?: any }>(join(bundleDir, 'sessions/s1/events.ndjson'));
  return { result, bundleDir, events, home, elapsedMs };
}

const outgoing = (events: Array<{ direction: string; message?: any }>) =>
  events.filter((e) => e.direction === 'outgoing' && typeof e.message?.method === 'string').map((e) => e.message);

describe('logging in to the real codex-acp', () => {
  it('with a fake CODEX_API_KEY: authenticate codex-api-key, session/new succeeds, the offline prompt fails in one line, no key in the bundle', async () => {
    assert.ok(existsSync(codexBin), `${codexBin} is installed (a dev dependency of recorder)`);
    const dir = await tempDir('flowtape-codex-auth-');
    try {
      const { result, bundleDir, events, home, elapsedMs } = await runCodex(dir.path, { CODEX_API_KEY: FAKE_KEY }, true);
      const sent = outgoing(events);
      assert.deepEqual(sent.map((m) => m.method), ['initialize', 'authenticate', 'session/new', 'session/prompt']);
      assert.deepEqual(sent[1].params, { methodId: 'codex-api-key' });
      const binding = readJson<{ acpSessionId?: string; authMethodId?: string; agent?: { name: string } }>(join(bundleDir, 'sessions/s1/binding.json'));
      assert.equal(binding.agent?.name, 'codex-acp');
      assert.equal(binding.authMethodId, 'codex-api-key');
      assert.ok(binding.acpSessionId, 'session/new gave a session id');
      assert.ok(traceOf(bundleDir).some((e) => e.type === 'session.bound'), 'the session was bound');

      assert.equal(result.status, 'failed');
      assert.equal(result.error?.code, 'rpc_error', result.error?.message);
      const message = result.error!.message;
      assert.match(message, /^node "ask": agent codex-acp: agent refused session\/prompt: \S/);
      assert.doesNotMatch(message, /\n|\u001b|^\s+at /m, 'one line, no colour codes, no stack');
      assert.ok(message.length < 1_000, `a short line (${message.length} characters)`);
      assert.ok(elapsedMs < NODE_TIMEOUT_MS, `the prompt failed by itself (${Math.round(elapsedMs)} ms), not by the node timeout`);

      assert.deepEqual(filesContaining(bundleDir, FAKE_KEY), [], 'the key is nowhere in the bundle');
      assert.deepEqual(processesWithEnv(home), [], 'codex-acp and its native child are gone');
    } finally {
      await dir.remove();
    }
  });

  it('without a key: the node fails with one line listing the methods codex-acp offered and how to choose', async () => {
    const dir = await tempDir('flowtape-codex-auth-');
    try {
      const { result, events, home } = await runCodex(dir.path, {}, false);
      assert.deepEqual(outgoing(events).map((m) => m.method), ['initialize', 'session/new']);
      assert.equal(result.error?.code, 'auth_required');
      assert.match(
        result.error!.message,
        /^node "ask": agent codex-acp: agent refused session\/new: Authentication required: the agent needs a login; it offers chatgpt \(Login with ChatGPT\), codex-api-key \(set CODEX_API_KEY\), openai-api-key \(set OPENAI_API_KEY\); choose one with --auth <id> \(or the flow's or node's `auth`\), or set FLOWTAPE_AUTH_<ID>=1/,
      );
      assert.doesNotMatch(result.error!.message, /\n/);
      assert.deepEqual(processesWithEnv(home), [], 'codex-acp and its native child are gone');
    } finally {
      await dir.remove();
    }
  });
});
