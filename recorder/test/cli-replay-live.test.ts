// `flowtape replay` of runs recorded with a login (ACP `authenticate`), and how the live agent of a hybrid / --from
// replay logs in: like a normal run, with the run's --auth or else the method the recording used.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { recordConversation, scriptedAgentCommand } from './recorded-run-support.ts';
import { readJson, runCli } from './recorder-support.ts';

const login = [{ id: 'notes-login', name: 'Notes login' }];
const liveScript = { agent: { name: 'live-agent', version: '1.0.0' }, authMethods: login, turns: [], fallback: { steps: [{ message: 'LIVE answer' }] } };
const liveAgent = scriptedAgentCommand('live.json');

let dir: { path: string; remove(): Promise<void> };
let source: string;

function replay(args: string[]): ReturnType<typeof runCli> {
  return runCli(['replay', source, '--permission', 'approve-all', '--out', 'replays', ...args], { cwd: dir.path });
}

/** The stderr lines the new bundle recorded in its sessions (a live agent's log comes through the replay agent's). */
function sessionStderr(bundle: string): string[] {
  const lines: string[] = [];
  for (const session of readdirSync(join(bundle, 'sessions'))) {
    for (const line of readFileSync(join(bundle, 'sessions', session, 'events.ndjson'), 'utf8').split('\n').filter(Boolean)) {
      const event = JSON.parse(line) as { direction: string; text?: string };
      if (event.direction === 'stderr' && event.text !== undefined) lines.push(event.text);
    }
  }
  return lines;
}

before(async () => {
  ({ dir, source } = await recordConversation('flowtape-replay-live-', {
    script: (script) => ({ ...script, authMethods: login }),
    files: { 'live.json': liveScript },
    runArgs: ['--auth', 'notes-login'],
  }));
});

after(async () => {
  await dir?.remove();
});

describe('flowtape replay of a run that logged in', () => {
  it('answers permissions by the policy the run recorded (manifest permissionPolicy) when --permission is not given', async () => {
    assert.equal(readJson<{ permissionPolicy?: string }>(join(source, 'manifest.json')).permissionPolicy, 'approve-all');
    const result = await runCli(['replay', source, '--out', 'replays', '--json', '-q'], { cwd: dir.path });
    assert.equal(result.code, 0, result.stdout);
    const replayed = JSON.parse(result.stdout) as { bundle: string };
    assert.equal(readJson<{ permissionPolicy?: string }>(join(replayed.bundle, 'manifest.json')).permissionPolicy, 'approve-all');
    // Told otherwise, the write is refused: a difference.
    const denied = await runCli(['replay', source, '--out', 'replays', '--permission', 'deny', '-q'], { cwd: dir.path });
    assert.equal(denied.code, 1, denied.stderr);
  });

  it('replays with no agent and no --auth: the same as the recording (the login included)', async () => {
    const result = await replay(['-q']);
    assert.equal(result.code, 0, result.stderr + result.stdout);
  });

  it('--from: the live agent logs in with the method the recording used, and answers the turn', async () => {
    const binding = readJson<{ authMethodId?: string }>(join(source, 'sessions', readdirSync(join(source, 'sessions'))[0]!, 'binding.json'));
    assert.equal(binding.authMethodId, 'notes-login');
    const result = await replay(['--from', 'write', '--json', '-q', '--agent', liveAgent]);
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout) as { bundle: string; status: string; liveTurns: string[]; misses: unknown[] };
    assert.equal(report.status, 'completed', result.stderr);
    assert.deepEqual(report.liveTurns, ['write#1']);
    assert.ok(sessionStderr(report.bundle).includes('flowtape-scripted-agent: authenticated with notes-login'), sessionStderr(report.bundle).join('\n'));
  });

  it('--auth names the method: the run and the live agent log in with it', async () => {
    const result = await replay(['--from', 'write', '--json', '-q', '--auth', 'notes-login', '--agent', liveAgent]);
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout) as { bundle: string; status: string; liveTurns: string[] };
    assert.equal(report.status, 'completed', result.stderr);
    assert.deepEqual(report.liveTurns, ['write#1']);
    assert.ok(sessionStderr(report.bundle).includes('flowtape-scripted-agent: authenticated with notes-login'));
  });

  it('a live agent that needs a login it cannot get: the turn fails with one line saying so', async () => {
    writeFileSync(join(dir.path, 'other.json'), JSON.stringify({ ...liveScript, authMethods: [{ id: 'other-login', name: 'Other' }] }));
    const result = await replay(['--from', 'write', '--json', '-q', '--agent', scriptedAgentCommand('other.json')]);
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout) as { status: string };
    assert.equal(report.status, 'failed');
    assert.match(JSON.stringify(report), /the live agent needs a login: it offers other-login/);
  });
});
