// Checkpoints: the run stops `waiting` with a plain-JSON resume state; resumeFlow continues after the checkpoint
// (as a new process would: from the JSON alone), numbering attempts on and routing on the resume input.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkpoint, compute, defineFlow, ResumeError, resumeFlow, runFlow, type ResumeState } from '../src/runtime/index.ts';
import { assertOneOutcomePerAttempt, assertOneRunEnd, Collector, tempDir } from './runtime-support.ts';

let dir: { path: string; remove(): Promise<void> };
before(async () => {
  dir = await tempDir();
});
after(async () => {
  await dir.remove();
});

const flow = defineFlow({
  name: 'review',
  startAt: 'draft',
  nodes: {
    draft: compute({ run: ({ input, attempt }) => ({ text: `draft ${attempt} of ${input.topic}` }) }),
    approve: checkpoint({ summary: 'Approve the draft?' }),
    publish: compute({ run: ({ outputs, resume }) => ({ published: outputs.draft.text, note: resume.note }) }),
  },
  edges: [
    { from: 'draft', to: 'approve' },
    { from: 'approve', switch: { on: '$resume.approved', cases: { true: 'publish', false: 'draft' } } },
  ],
});

describe('checkpoint', () => {
  it('stops waiting: node outcome ok, run.waiting with the summary, a JSON resume state', async () => {
    const seen = new Collector();
    const result = await runFlow(flow, { topic: 'tides' }, { cwd: dir.path, observer: seen, runId: 'cp-1' });
    assert.equal(result.status, 'waiting');
    assert.deepEqual(seen.trail(), [
      'run.started',
      'node.started:draft#1',
      'node.outcome:draft#1',
      'edge.taken:draft#1',
      'node.started:approve#1',
      'node.outcome:approve#1',
      'run.waiting',
    ]);
    assert.deepEqual(seen.of('run.waiting')[0], { type: 'run.waiting', checkpoint: 'approve', message: 'Approve the draft?' });
    assert.deepEqual(seen.of('node.outcome')[1]?.output, { checkpoint: 'approve', summary: 'Approve the draft?' });
    const state = result.resumeState!;
    assert.deepEqual(JSON.parse(JSON.stringify(state)), state, 'plain JSON');
    assert.equal(state.version, 1);
    assert.equal(state.runId, 'cp-1');
    assert.equal(state.checkpoint, 'approve');
    assert.deepEqual(state.input, { topic: 'tides' });
    assert.deepEqual(state.attempts, { draft: 1, approve: 1 });
    assert.deepEqual(state.outputs.draft, { text: 'draft 1 of tides' });
    assert.equal(state.sessionCount, 0);
  });

  it('resumes from the JSON state: run.resumed, the edge chosen by the resume input, attempts numbered on', async () => {
    const first = await runFlow(flow, { topic: 'tides' }, { cwd: dir.path, runId: 'cp-2' });
    const stored = JSON.stringify(first.resumeState);

    // Rejected: back to the draft (draft#2), waiting again at approve#2.
    const second = new Collector();
    const again = await resumeFlow(flow, JSON.parse(stored) as ResumeState, { approved: false }, { cwd: dir.path, observer: second });
    assert.equal(again.status, 'waiting');
    assert.equal(again.runId, 'cp-2');
    assert.deepEqual(second.trail(), [
      'run.resumed',
      'edge.taken:approve#1',
      'node.started:draft#2',
      'node.outcome:draft#2',
      'edge.taken:draft#2',
      'node.started:approve#2',
      'node.outcome:approve#2',
      'run.waiting',
    ]);
    assert.deepEqual(second.events[0], { type: 'run.resumed', checkpoint: 'approve', input: { approved: false } });
    assert.deepEqual(second.of('edge.taken')[0]?.branch, { on: '$resume.approved', value: false, caseKey: 'false' });
    assert.deepEqual(again.resumeState?.attempts, { draft: 2, approve: 2 });

    // Approved: publish with the second draft.
    const third = new Collector();
    const done = await resumeFlow(flow, JSON.parse(JSON.stringify(again.resumeState)) as ResumeState, { approved: true, note: 'ship it' }, {
      cwd: dir.path,
      observer: third,
    });
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.output, { published: 'draft 2 of tides', note: 'ship it' });
    assertOneRunEnd(third.events, 'run.completed');
    assertOneOutcomePerAttempt(third.events);
  });

  it('resumes in another process from the state file alone', async () => {
    const first = await runFlow(flow, { topic: 'rivers' }, { cwd: dir.path, runId: 'cp-3' });
    const stateFile = join(dir.path, 'state.json');
    await writeFile(stateFile, JSON.stringify(first.resumeState));
    const runtime = fileURLToPath(new URL('../src/runtime/index.ts', import.meta.url));
    const script = `
      import { readFileSync } from 'node:fs';
      import { checkpoint, compute, defineFlow, resumeFlow } from ${JSON.stringify(runtime)};
      const flow = defineFlow({
        name: 'review', startAt: 'draft',
        nodes: {
          draft: compute({ run: ({ input, attempt }) => ({ text: 'draft ' + attempt + ' of ' + input.topic }) }),
          approve: checkpoint({ summary: 'Approve the draft?' }),
          publish: compute({ run: ({ outputs, resume }) => ({ published: outputs.draft.text, note: resume.note }) }),
        },
        edges: [{ from: 'draft', to: 'approve' }, { from: 'approve', switch: { on: '$resume.approved', cases: { true: 'publish', false: 'draft' } } }],
      });
      const types = [];
      const result = await resumeFlow(flow, JSON.parse(readFileSync(${JSON.stringify(stateFile)}, 'utf8')), { approved: true, note: 'elsewhere' },
        { cwd: ${JSON.stringify(dir.path)}, observer: { onEvent: (e) => types.push(e.type + (e.attemptId ? ':' + e.attemptId : '')) } });
      console.log(JSON.stringify({ result, types }));
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('..', import.meta.url)), // where tsx resolves
    });
    assert.equal(child.status, 0, child.stderr);
    const { result, types } = JSON.parse(child.stdout) as { result: { status: string; output: unknown; runId: string }; types: string[] };
    assert.equal(result.status, 'completed');
    assert.equal(result.runId, 'cp-3');
    assert.deepEqual(result.output, { published: 'draft 1 of rivers', note: 'elsewhere' });
    assert.deepEqual(types, ['run.resumed', 'edge.taken:approve#1', 'node.started:publish#1', 'node.outcome:publish#1', 'run.completed']);
  });

  it('a checkpoint with run records its output; with no outgoing edge the resumed run completes with it', async () => {
    const gate = defineFlow({
      name: 'gate',
      startAt: 'hold',
      nodes: { hold: checkpoint({ run: ({ input }) => ({ waitingFor: input }) }) },
      edges: [],
    });
    const seen = new Collector();
    const waiting = await runFlow(gate, 'legal', { cwd: dir.path, observer: seen });
    assert.deepEqual(seen.of('node.outcome')[0]?.output, { waitingFor: 'legal' });
    assert.deepEqual(seen.of('run.waiting')[0], { type: 'run.waiting', checkpoint: 'hold' });
    const done = await resumeFlow(gate, waiting.resumeState!, undefined, { cwd: dir.path });
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.output, { waitingFor: 'legal' });
  });

  it('refuses a state that does not fit the flow, with one clear line', async () => {
    const first = await runFlow(flow, { topic: 'x' }, { cwd: dir.path });
    const state = first.resumeState!;
    await assert.rejects(resumeFlow({ ...flow, name: 'other' }, state, {}, { cwd: dir.path }), (e: unknown) => e instanceof ResumeError && /is for flow "review", not "other"/.test(e.message));
    await assert.rejects(resumeFlow(flow, { ...state, checkpoint: 'draft' }, {}, { cwd: dir.path }), /"draft" is not a checkpoint node/);
    await assert.rejects(resumeFlow(flow, { ...state, attempts: { ...state.attempts, gone: 1 } }, {}, { cwd: dir.path }), /node "gone" is not in flow "review"/);
    await assert.rejects(resumeFlow(flow, { ...state, version: 2 } as unknown as ResumeState, {}, { cwd: dir.path }), /unsupported or missing version/);
  });
});
