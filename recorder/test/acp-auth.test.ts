// Agents that need a login, against the scripted agent (a real ACP process) and recorded into real bundles:
// how flowtape chooses an auth method (explicit, or the one whose credentials are in the environment), the one-line
// refusals when it cannot, and that a credential never reaches a byte of the bundle — even one the agent echoes,
// under a variable whose name does not look secret.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { record } from '../src/record.ts';
import { acp, compute, defineFlow, type FlowDefinition } from '../src/runtime/index.ts';
import { verifyBundle } from '../src/tools/verify.ts';
import { agentBin, readJson, readLines, scriptedAgent, tempDir, traceOf } from './recorder-support.ts';

/** Not a secret-looking name (no KEY, TOKEN, AUTH…): only the agent's `env_var` method says it holds a credential. */
const CREDENTIAL = 'ACME_LOGIN';
const SECRET = 'acme-7f3a9c2e51d84b06';
const SSO_SECRET = 'sso-52be08d1c7a94f3e';

const script = {
  agent: { name: 'acme-agent', version: '2.0.0' },
  authMethods: [
    { id: 'acme-login', name: 'Use ACME_LOGIN', type: 'env_var', vars: [{ name: CREDENTIAL }] },
    { id: 'sso', name: 'Single sign-on' },
    { id: 'browser', name: 'Log in in a browser', type: 'terminal' },
  ],
  turns: [
    // A leaky agent: the credential goes out as a message and on stderr.
    { match: 'leak', steps: [{ echoEnv: CREDENTIAL }] },
    { match: 'leak both', steps: [{ echoEnv: CREDENTIAL }, { message: ' ' }, { echoEnv: 'FLOWTAPE_AUTH_SSO' }] },
    { match: 'hi', steps: [{ message: 'hello' }] },
  ],
};

let dir: { path: string; remove(): Promise<void> };
let agent: string[];

before(async () => {
  dir = await tempDir('flowtape-auth-');
  agent = await scriptedAgent(dir.path, 'acme', script);
});
after(async () => {
  await dir.remove();
});

function oneNode(prompt: string, extra: { auth?: string; flowAuth?: string } = {}): FlowDefinition {
  return defineFlow({
    name: 'login',
    startAt: 'ask',
    ...(extra.flowAuth ? { auth: extra.flowAuth } : {}),
    nodes: { ask: acp({ prompt, timeoutMs: 30_000, ...(extra.auth ? { auth: extra.auth } : {}) }) },
    edges: [],
  });
}

let runs = 0;
async function run(flow: FlowDefinition, options: { env?: Record<string, string>; auth?: string; agentCommand?: string[] } = {}) {
  const bundleDir = join(dir.path, `run-${++runs}`);
  const result = await record(flow, {}, {
    cwd: dir.path,
    bundleDir,
    agentCommand: options.agentCommand ?? agent,
    // The environment the agent gets; process.env has none of these variables.
    agentEnv: { [CREDENTIAL]: '', FLOWTAPE_AUTH_SSO: '', ...options.env },
    ...(options.auth ? { auth: options.auth } : {}),
  });
  return { result, bundleDir, events: readLines<{ direction: string; text?: string; message?: any }>(join(bundleDir, 'sessions/s1/events.ndjson')) };
}

const sent = (events: Array<{ direction: string; message?: any }>, method: string) =>
  events.filter((e) => e.direction === 'outgoing' && e.message?.method === method).map((e) => e.message.params);

/** Every file under `root` whose bytes contain `needle`. */
function filesContaining(root: string, needle: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    if (statSync(path).isDirectory()) found.push(...filesContaining(path, needle));
    else if (readFileSync(path).includes(needle)) found.push(path);
  }
  return found;
}

describe('agents that need a login (scripted agent)', () => {
  it('credentials of one env_var method in the environment: authenticate with it, session bound, binding records the method', async () => {
    const { result, bundleDir, events } = await run(oneNode('hi'), { env: { [CREDENTIAL]: SECRET } });
    assert.equal(result.status, 'completed', result.error?.message);
    assert.equal(result.output, 'hello');
    assert.deepEqual(sent(events, 'authenticate'), [{ methodId: 'acme-login' }]);
    // authenticate comes after initialize's answer and before session/new.
    const order = events.filter((e) => e.direction === 'outgoing').map((e) => e.message.method);
    assert.deepEqual(order.slice(0, 3), ['initialize', 'authenticate', 'session/new']);
    assert.ok(events.some((e) => e.direction === 'stderr' && e.text === 'flowtape-scripted-agent: authenticated with acme-login'), 'the agent says which method it was given');
    const binding = readJson<{ authMethodId?: string; agent?: { name: string } }>(join(bundleDir, 'sessions/s1/binding.json'));
    assert.equal(binding.authMethodId, 'acme-login');
    assert.equal(binding.agent?.name, 'acme-agent');
    assert.equal((await verifyBundle(bundleDir)).ok, true);
  });

  it('a credential the agent echoes never reaches the bundle, though its variable name does not look secret', async () => {
    // The echoed text is also made into a large node output, so it goes to an artifact too.
    const flow = defineFlow({
      name: 'leaky',
      startAt: 'ask',
      nodes: {
        ask: acp({ prompt: 'leak', timeoutMs: 30_000 }),
        big: compute({ run: ({ outputs }) => ({ copies: Array.from({ length: 400 }, () => outputs['ask']) }) }),
      },
      edges: [{ from: 'ask', to: 'big' }],
    });
    const { result, bundleDir, events } = await run(flow, { env: { [CREDENTIAL]: SECRET } });
    assert.equal(result.status, 'completed', result.error?.message);
    // The agent did send it (so redaction had work to do) ...
    assert.equal(result.output && (result.output as { copies: string[] }).copies[0], `${CREDENTIAL}=${SECRET}`);
    assert.ok(events.some((e) => e.direction === 'stderr' && e.text === `${CREDENTIAL}=[redacted:${CREDENTIAL}]`), 'the echo is recorded, redacted');
    assert.ok(traceOf(bundleDir).some((e) => e.type === 'artifact.written'), 'the big output went to an artifact');
    // ... and no file of the bundle holds it: trace, events, record, binding, manifest, projections, artifacts.
    assert.deepEqual(filesContaining(bundleDir, SECRET), []);
    assert.equal((await verifyBundle(bundleDir)).ok, true);
  });

  it('FLOWTAPE_AUTH_* values and the variables of a method not chosen are redacted as well', async () => {
    const { result, bundleDir } = await run(oneNode('leak both'), { env: { [CREDENTIAL]: SECRET, FLOWTAPE_AUTH_SSO: SSO_SECRET }, auth: 'sso' });
    assert.equal(result.status, 'completed', result.error?.message);
    assert.equal(result.output, `${CREDENTIAL}=${SECRET} FLOWTAPE_AUTH_SSO=${SSO_SECRET}`, 'the agent echoed both');
    assert.deepEqual(filesContaining(bundleDir, SECRET), []);
    assert.deepEqual(filesContaining(bundleDir, SSO_SECRET), []);
  });

  it('a credential the agent prints on stderr before it answers initialize is redacted too', async () => {
    // The scripted agent behind a preload that prints the credential at once, before the agent has said which
    // variables hold credentials: the recorder must hold that line back until it knows.
    const early = join(dir.path, 'early-leak.mjs');
    await writeFile(early, `process.stderr.write('starting with ' + process.env.${CREDENTIAL} + '\\n');\nawait import(${JSON.stringify(pathToFileURL(agentBin).href)});\n`);
    const command = [process.execPath, early, ...agent.slice(2)];
    const { result, bundleDir, events } = await run(oneNode('hi'), { env: { [CREDENTIAL]: SECRET }, agentCommand: command });
    assert.equal(result.status, 'completed', result.error?.message);
    assert.ok(events.some((e) => e.direction === 'stderr' && e.text === `starting with [redacted:${CREDENTIAL}]`), 'the early line is recorded, redacted');
    assert.deepEqual(filesContaining(bundleDir, SECRET), []);
  });

  it('credentials for two methods: one line refusing to guess, no authenticate sent', async () => {
    const { result, events } = await run(oneNode('hi'), { env: { [CREDENTIAL]: SECRET, FLOWTAPE_AUTH_SSO: '1' } });
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.code, 'auth_required');
    assert.equal(
      result.error?.message,
      'node "ask": agent acme-agent: the environment has credentials for several of the agent\'s auth methods (acme-login (set ACME_LOGIN), sso (Single sign-on)); choose one with --auth <id> (or the flow\'s or node\'s `auth`)',
    );
    assert.deepEqual(sent(events, 'authenticate'), []);
  });

  it('no credentials: the node fails with one line listing the offered methods and how to choose', async () => {
    const { result, bundleDir, events } = await run(oneNode('hi'));
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.code, 'auth_required');
    assert.equal(
      result.error?.message,
      'node "ask": agent acme-agent: agent refused session/new: Authentication required: the agent needs a login; it offers acme-login (set ACME_LOGIN), sso (Single sign-on), browser (an interactive login flowtape cannot run); choose one with --auth <id> (or the flow\'s or node\'s `auth`), or set FLOWTAPE_AUTH_<ID>=1',
    );
    assert.deepEqual(sent(events, 'authenticate'), []);
    assert.equal(readJson<{ authMethodId?: string }>(join(bundleDir, 'sessions/s1/binding.json')).authMethodId, undefined);
    assert.equal((await verifyBundle(bundleDir)).ok, true);
  });

  it('an explicit method (runFlow auth, the CLI\'s --auth) is used even when another has credentials', async () => {
    const { result, bundleDir, events } = await run(oneNode('hi'), { env: { [CREDENTIAL]: SECRET }, auth: 'sso' });
    assert.equal(result.status, 'completed', result.error?.message);
    assert.deepEqual(sent(events, 'authenticate'), [{ methodId: 'sso' }]);
    assert.equal(readJson<{ authMethodId?: string }>(join(bundleDir, 'sessions/s1/binding.json')).authMethodId, 'sso');
  });

  it('a node\'s auth wins over the flow\'s, which wins over the run\'s', async () => {
    const byNode = await run(oneNode('hi', { auth: 'sso', flowAuth: 'acme-login' }), { env: { [CREDENTIAL]: SECRET }, auth: 'acme-login' });
    assert.deepEqual(sent(byNode.events, 'authenticate'), [{ methodId: 'sso' }]);
    const byFlow = await run(oneNode('hi', { flowAuth: 'sso' }), { auth: 'acme-login' });
    assert.deepEqual(sent(byFlow.events, 'authenticate'), [{ methodId: 'sso' }]);
  });

  it('an explicit method the agent does not offer, or a terminal one: one clear line, nothing sent', async () => {
    const unknown = await run(oneNode('hi'), { auth: 'github' });
    assert.equal(unknown.result.error?.code, 'auth_required');
    assert.equal(
      unknown.result.error?.message,
      'node "ask": agent acme-agent: the agent offers no auth method "github"; it offers: acme-login (set ACME_LOGIN), sso (Single sign-on), browser (an interactive login flowtape cannot run)',
    );
    assert.deepEqual(sent(unknown.events, 'authenticate'), []);
    const terminal = await run(oneNode('hi'), { auth: 'browser' });
    assert.match(terminal.result.error!.message, /^node "ask": agent acme-agent: auth method "browser" is an interactive terminal login, which flowtape cannot run; log in with the agent itself first$/);
  });

  it('a method the agent refuses: the line names the method, the agent\'s message and its data', async () => {
    // Explicitly asked for, without its variable set: the agent answers -32000 with data naming what is missing.
    const { result, events } = await run(oneNode('hi'), { auth: 'acme-login' });
    assert.deepEqual(sent(events, 'authenticate'), [{ methodId: 'acme-login' }]);
    assert.equal(result.error?.code, 'auth_required');
    assert.equal(
      result.error?.message,
      'node "ask": agent acme-agent: agent refused authenticate with acme-login (as asked): Authentication required: ACME_LOGIN not set (data: {"missing":["ACME_LOGIN"]})',
    );
  });
});
