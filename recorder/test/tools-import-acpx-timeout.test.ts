// `flowtape import acpx` of real acpx runs where an ACP node times out and a later node uses the same session
// handle: acpx cancels the stalled turn, and respawns the agent (initialize + session/load) for the next turn.
// Everything expected is read from acpx's own files (its trace's conversation ranges, its session events), never
// written down here.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acp, compute, defineFlow } from 'acpx/flows';
import { SessionBinding, SessionEventLine, StepsProjection, TraceEvent } from '@flowtape/schema';
import { importAcpx } from '../src/tools/import-acpx.ts';
import { verifyBundle } from '../src/tools/verify.ts';
import { recordWithAcpx, startsReport } from './acpx-support.ts';

let root = '';
const savedHome = process.env.HOME;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowtape-acpx-timeout-'));
  process.env.HOME = join(root, 'home');
});
after(async () => {
  process.env.HOME = savedHome;
  await rm(root, { recursive: true, force: true });
});

const script = {
  agent: { name: 'stalling-agent', version: '2.3.4' },
  turns: [
    { match: { regex: '^Draft' }, steps: [{ message: 'Drafted.' }] },
    // Never answers: acpx's node timeout cancels the turn and the agent answers `cancelled`.
    { match: { regex: '^Stall' }, steps: [{ message: 'Working on it...' }, { hang: true }] },
    { match: { regex: '^After' }, steps: [{ message: 'Back again.' }] },
  ],
};

const timeoutFlow = () =>
  defineFlow({
    name: 'timeout',
    startAt: 'draft',
    nodes: {
      draft: acp({ session: { handle: 'main' }, prompt: () => 'Draft it' }),
      // Long enough for acpx to respawn the agent and send the prompt on a busy machine, so the turn really stalls.
      stall: acp({ session: { handle: 'main' }, timeoutMs: 8000, prompt: () => 'Stall now' }),
      after: acp({ session: { handle: 'main' }, prompt: () => 'After the stall' }),
      done: compute({ run: ({ outputs }) => ({ after: outputs.after }) }),
    },
    edges: [
      { from: 'draft', to: 'stall' },
      { from: 'stall', switch: { on: '$result.outcome', cases: { timed_out: 'after', ok: 'after', failed: 'after' } } },
      { from: 'after', to: 'done' },
    ],
  });

type Json = Record<string, unknown>;
const ndjson = async (path: string) =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Json);

/** What acpx itself wrote: its trace and the one shared session's binding and raw events. */
async function readAcpx(dir: string) {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { sessions: Array<{ id: string }> };
  assert.equal(manifest.sessions.length, 1, 'one shared session');
  const sessionId = manifest.sessions[0]!.id;
  const trace = await ndjson(join(dir, 'trace.ndjson'));
  const events = await ndjson(join(dir, 'sessions', sessionId, 'events.ndjson'));
  const binding = JSON.parse(await readFile(join(dir, 'sessions', sessionId, 'binding.json'), 'utf8')) as Json;
  // acpx's range of each attempt's turn, from whichever of its events carries one (node_outcome included).
  const ranges = new Map<string, { from: number; to: number }>();
  for (const e of trace) {
    const conversation = (e.payload as Json).conversation as { eventStartSeq?: number; eventEndSeq?: number } | undefined;
    if (conversation?.eventStartSeq !== undefined) ranges.set(e.attemptId as string, { from: conversation.eventStartSeq, to: conversation.eventEndSeq! });
  }
  const outcomes = new Map(trace.filter((e) => e.type === 'node_outcome').map((e) => [e.attemptId as string, (e.payload as Json).outcome]));
  return { sessionId, trace, events, binding, ranges, outcomes };
}

const message = (line: Json) => line.message as Json;
const promptText = (line: Json) => ((message(line).params as Json | undefined)?.prompt as Array<{ text?: string }> | undefined)?.map((b) => b.text ?? '').join('');

/** The stop reason the agent answered the prompt of acpx's range with, read from acpx's session events. */
function wireStopReason(events: Json[], range: { from: number; to: number }): unknown {
  const inRange = events.filter((l) => (l.seq as number) >= range.from && (l.seq as number) <= range.to);
  const prompt = inRange.find((l) => message(l).method === 'session/prompt')!;
  const answer = inRange.find((l) => l.seq! > prompt.seq! && message(l).method === undefined && message(l).id === message(prompt).id);
  return (message(answer!).result as Json | undefined)?.stopReason;
}

async function importedBundle(source: string, name: string) {
  const output = join(root, 'imported', name);
  const report = await importAcpx(source, { output });
  const verify = await verifyBundle(output);
  assert.deepEqual(verify.problems.map((p) => p.message), [], `verify of the imported ${name}`);
  const trace = (await ndjson(join(output, 'trace.ndjson'))).map((e) => TraceEvent.parse(e));
  const steps = StepsProjection.parse(JSON.parse(await readFile(join(output, 'projections/steps.json'), 'utf8'))).steps;
  const sessionDir = (id: string) => join(output, 'sessions', id);
  const lines = async (id: string) => (await ndjson(join(sessionDir(id), 'events.ndjson'))).map((l) => SessionEventLine.parse(l));
  const binding = async (id: string) => SessionBinding.parse(JSON.parse(await readFile(join(sessionDir(id), 'binding.json'), 'utf8')));
  return { output, report, trace, steps, lines, binding };
}

/** Checks an imported bundle against acpx's own record of the same run. */
async function checkAgainstAcpx(acpx: Awaited<ReturnType<typeof readAcpx>>, imported: Awaited<ReturnType<typeof importedBundle>>) {
  assert.equal(acpx.outcomes.get('stall#1'), 'timed_out', 'acpx timed the stalled node out');
  const importedLines = await imported.lines(acpx.sessionId);
  // acpx numbers its session lines 1, 2, 3…, as flowtape does: the same seq is the same line.
  assert.deepEqual(importedLines.map((l) => l.seq), acpx.events.map((l) => l.seq));
  const turns = imported.trace.filter((e) => e.type === 'acp.turn_finished');
  assert.deepEqual(turns.map((t) => t.attemptId), ['draft#1', 'stall#1', 'after#1']);
  for (const turn of turns) {
    const range = acpx.ranges.get(turn.attemptId!)!;
    assert.ok(range, `acpx recorded a range for ${turn.attemptId}`);
    const payload = turn.payload as { sessionEvents: { from: number; to: number }; stopReason: string | null };
    assert.deepEqual(payload.sessionEvents, range, `${turn.attemptId}: the turn's lines are the ones acpx gave it`);
    const owners = importedLines.filter((l) => l.seq >= range.from && l.seq <= range.to).map((l) => l.attemptId);
    assert.deepEqual(new Set(owners), new Set([turn.attemptId]), `${turn.attemptId}: every line of its range is tied to it`);
    assert.equal(payload.stopReason, wireStopReason(acpx.events, range), `${turn.attemptId}: the stop reason the agent answered`);
  }
  // The respawned agent's handshake is in the range of the turn that respawned it.
  for (const attemptId of ['stall#1', 'after#1']) {
    const range = acpx.ranges.get(attemptId)!;
    const methods = acpx.events.filter((l) => (l.seq as number) >= range.from && (l.seq as number) <= range.to).map((l) => message(l).method);
    assert.ok(methods.includes('initialize') && methods.includes('session/load'), `acpx respawned the agent for ${attemptId}: ${methods.join(' ')}`);
    const init = acpx.events.find((l) => (l.seq as number) >= range.from && message(l).method === 'initialize')!;
    assert.equal(importedLines.find((l) => l.seq === init.seq)!.attemptId, attemptId);
  }
  const stall = imported.steps.find((s) => s.attemptId === 'stall#1')!;
  assert.equal(stall.status, 'timed_out');
  assert.equal(stall.turns[0]!.stopReason, wireStopReason(acpx.events, acpx.ranges.get('stall#1')!));
  assert.equal(stall.turns[0]!.stopReason, 'cancelled');
  // The binding names the agent as it named itself in its initialize answer, not acpx's profile label.
  const answers = acpx.events.map(message).filter((m) => (m.result as Json | undefined)?.agentInfo !== undefined);
  const agentInfo = (answers[0]!.result as Json).agentInfo as { name: string; version: string };
  const binding = await imported.binding(acpx.sessionId);
  assert.deepEqual(binding.agent, { name: agentInfo.name, version: agentInfo.version });
  assert.notEqual(binding.agent?.name, acpx.binding.agentName);
}

let run: Promise<string> | undefined;
const timeoutRun = () => (run ??= recordWithAcpx(root, 'timeout', timeoutFlow(), {}, { script, agentName: 'codex' }));

test('a timed-out ACP node followed by a node on the same handle: ranges, stop reason and agent as acpx recorded them', async () => {
  const source = await timeoutRun();
  const acpx = await readAcpx(source);
  const imported = await importedBundle(source, 'timeout');
  assert.equal(imported.report.status, 'completed', JSON.stringify(imported.report.warnings));
  await checkAgainstAcpx(acpx, imported);
  // The timed-out turn keeps what the agent said before it stalled (acpx has it only on node_outcome).
  const stallTurn = imported.steps.find((s) => s.attemptId === 'stall#1')!.turns[0]!;
  assert.ok(stallTurn.response && 'artifact' in stallTurn.response, 'the partial response of the timed-out turn');
  assert.equal(await readFile(join(imported.output, stallTurn.response.artifact.path), 'utf8'), 'Working on it...');
});

test('without acpx ranges in its trace, a respawned handshake still goes to the turn that caused it', async () => {
  const source = await timeoutRun();
  const acpx = await readAcpx(source);
  // The same run with every `conversation` range taken out of the trace (as acpx versions that write none).
  const stripped = join(root, 'no-ranges');
  await cp(source, stripped, { recursive: true });
  const lines = acpx.trace.map((e) => {
    const { conversation: _dropped, ...payload } = e.payload as Json;
    return JSON.stringify({ ...e, payload });
  });
  await writeFile(join(stripped, 'trace.ndjson'), lines.join('\n') + '\n');
  assert.doesNotMatch(await readFile(join(stripped, 'trace.ndjson'), 'utf8'), /eventStartSeq/);
  const imported = await importedBundle(stripped, 'no-ranges');
  // Still checked against the ranges of acpx's untouched trace.
  await checkAgainstAcpx(acpx, imported);
});

test('a node that times out before its prompt went out (the respawned agent was slow) has its handshake and no turn; the next node keeps its own prompt', async (t) => {
  // The stalled node's agent start (acpx respawns the agent for it) sleeps past the node's timeout: the compute node
  // before it arms the agent's wrapper.
  const armFile = join(root, 'slow-start.armed');
  const flow = defineFlow({
    name: 'slow-start',
    startAt: 'draft',
    nodes: {
      draft: acp({ session: { handle: 'main' }, prompt: () => 'Draft it' }),
      arm: compute({ run: () => (writeFileSync(armFile, ''), 'armed') }),
      stall: acp({ session: { handle: 'main' }, timeoutMs: 1000, prompt: () => 'Stall now' }),
      after: acp({ session: { handle: 'main' }, prompt: () => 'After the stall' }),
    },
    edges: [
      { from: 'draft', to: 'arm' },
      { from: 'arm', to: 'stall' },
      { from: 'stall', switch: { on: '$result.outcome', cases: { timed_out: 'after', ok: 'after', failed: 'after' } } },
    ],
  });
  const source = await recordWithAcpx(root, 'slow-start', flow, {}, { script, slowStart: { armFile, ms: 4000 } });
  const acpx = await readAcpx(source);
  const imported = await importedBundle(source, 'slow-start');
  const lines = await imported.lines(acpx.sessionId);
  const prompts = acpx.events.filter((l) => message(l).method === 'session/prompt');
  // Whether acpx sends a prompt its node's timeout has already passed is acpx's timing, not flowtape's: on some runs
  // it still sends it after the slow start (then cancels it). The import of that case is covered by the tests above;
  // this one needs the node to have timed out before its prompt, and says so when acpx did not produce that.
  if (prompts.length !== 2) {
    const why = `acpx sent ${prompts.length} prompts (${prompts.map((l) => JSON.stringify(promptText(l))).join(', ')}): it did not time ` +
      `the node out (1000 ms) before its prompt on this run. Agent starts: ${await startsReport(armFile)}`;
    console.log(`skipped: ${why}`);
    t.skip(why);
    return;
  }
  const turns = imported.trace.filter((e) => e.type === 'acp.turn_finished');
  for (const attemptId of ['draft#1', 'stall#1', 'after#1']) {
    const range = acpx.ranges.get(attemptId)!;
    assert.ok(range, `acpx recorded a range for ${attemptId}`);
    const owned = lines.filter((l) => l.seq >= range.from && l.seq <= range.to);
    assert.ok(owned.every((l) => l.attemptId === attemptId), `${attemptId}: the lines of its acpx range are tied to it`);
    const prompt = prompts.find((l) => (l.seq as number) >= range.from && (l.seq as number) <= range.to);
    const turn = turns.find((t) => t.attemptId === attemptId);
    assert.equal(turn !== undefined, prompt !== undefined, `${attemptId}: a turn exactly when acpx sent its prompt`);
    if (turn) assert.deepEqual((turn.payload as { sessionEvents: unknown }).sessionEvents, range);
  }
  // Each turn is the attempt's own prompt: the stalled node did not take the next node's.
  const record = JSON.parse(await readFile(join(imported.output, 'sessions', acpx.sessionId, 'record.json'), 'utf8')) as {
    messages: Array<{ role: string; text?: string; attemptId?: string }>;
  };
  assert.deepEqual(
    record.messages.filter((m) => m.role === 'user').map((m) => [m.attemptId, m.text]),
    [
      ['draft#1', 'Draft it'],
      ['after#1', 'After the stall'],
    ],
  );
});
