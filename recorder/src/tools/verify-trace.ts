/**
 * `flowtape verify`: the trace — streamed, validated, folded by the reducer; its references to sessions and artifacts;
 * the projection files against the fold (steps.json compared while folding, see verify-steps.ts).
 */
import { createReadStream } from 'node:fs';
import {
  BUNDLE_FILES,
  PMap,
  Projector,
  initialState,
  readTrace,
  sessionFiles,
  toLiveProjection,
  toRunProjection,
  toStepsProjection,
  type Manifest,
  type ProjectionState,
  type ReducibleEvent,
  type TraceEvent,
} from '@flowtape/schema';
import { TOO_DEEP, firstDifference, jsonTextOrTooDeep } from './json-pointer.ts';
import { collectArtifacts } from './verify-artifacts.ts';
import { isRegularFile, type VerifyContext } from './verify-context.ts';
import { ENDED, type Projection, type Projections } from './verify-documents.ts';
import type { ArtifactUse, SessionFacts } from './verify-sessions.ts';
import { StepsItems } from './verify-steps-items.ts';
import { StepsComparer, isStub, stubFor } from './verify-steps.ts';
import { readLastTouches } from './verify-touches.ts';

export interface Fold {
  state: ProjectionState;
  states: Map<number, ProjectionState>;
  torn: boolean;
}

export async function verifyTrace(
  v: VerifyContext,
  path: string,
  manifest: Manifest | undefined,
  projections: Projections,
  sessions: Map<string, SessionFacts>,
  artifactUses: Map<string, ArtifactUse>,
): Promise<Fold> {
  const wanted = new Set(Object.values(projections).map((p) => p.seq));
  const states = new Map<number, ProjectionState>();
  let state = initialState();
  if (wanted.has(0)) states.set(0, state);
  let torn = false;
  const file = await v.resolve(path);
  if (!file || !(await isRegularFile(file))) {
    v.add(path, file ? 'not a regular file' : 'missing');
    return { state, states, torn };
  }
  const unknownTypes = new Set<string>();
  let first = true;
  const steps = projections.steps?.file ? await streamSteps(v, file, projections.steps) : undefined;
  let projector = new Projector(state);
  let folded = 0;
  for await (const { line, event, known } of readTrace(createReadStream(file), {
    file: path,
    onIssue: (issue) => {
      if (issue.problem === 'torn_tail') {
        torn = true;
        v.addTorn(path, issue.line, issue.message, `${issue.message}; \`flowtape repair\` removes it`);
      } else {
        v.add(path, issue.message, issue.line);
      }
    },
  })) {
    if (first && (event.seq !== 1 || event.type !== 'run.started')) {
      v.add(path, `the first event is ${event.type} (seq ${event.seq}), not run.started with seq 1`, line);
    }
    first = false;
    if (manifest && event.runId !== manifest.runId) {
      v.add(path, `/runId: "${event.runId}" is not the manifest's "${manifest.runId}"`, line, '/runId');
    }
    if (!known) unknownTypes.add(event.type);
    else checkReferences(v, event as TraceEvent, line, path, sessions, artifactUses);
    // Folded in place; a state is handed out only where a projection file says it stands, or when the steps
    // check replaces finished steps by stubs (that state goes on with a new Projector).
    projector.add(event);
    const count = ++folded;
    if (v.onProgress && (count & 4095) === 0) v.onProgress(count);
    if (steps) {
      const current = projector.peek();
      let stubbed = steps.fold(event, current);
      if (stubbed instanceof Promise) stubbed = await stubbed;
      if (stubbed !== current) projector = new Projector(stubbed);
    }
    if (wanted.has(projector.seq)) states.set(projector.seq, projector.state());
  }
  state = projector.state();
  await steps?.comparer.finish();
  v.summary.events = state.eventCount;
  v.summary.lastSeq = state.seq;
  if (first) v.add(path, 'empty: a bundle starts with run.started');
  if (unknownTypes.size > 0) v.notes.push(`${path}: event types this reader does not know: ${[...unknownTypes].join(', ')}`);
  for (const anomaly of state.anomalies) v.add(path, anomaly);
  if (ENDED.has(state.status)) {
    for (const step of state.steps) {
      if (step.status === 'running') v.add(path, `attempt ${step.attemptId} (seq ${step.startSeq}) has no node.outcome although the run ended`);
    }
  }
  if (manifest) {
    if (manifest.lastSeq > state.seq) {
      v.add(BUNDLE_FILES.manifest, `/lastSeq: ${manifest.lastSeq} is past the end of ${path} (${state.seq})`, undefined, '/lastSeq');
    }
    if (manifest.complete) {
      if (manifest.lastSeq !== state.seq) {
        v.add(BUNDLE_FILES.manifest, `/lastSeq: ${manifest.lastSeq}, but the complete trace ends at ${state.seq}`, undefined, '/lastSeq');
      }
      if (manifest.status !== state.status) {
        v.add(BUNDLE_FILES.manifest, `/status: "${manifest.status}", but the trace folds to "${state.status}"`, undefined, '/status');
      }
    }
  }
  return { state, states, torn };
}

/**
 * steps.json against the trace without holding either (verify-steps.ts): a first pass notes the last event of
 * every attempt; during the fold each step is compared once final, and the whole-run fold keeps a stub for it.
 */
async function streamSteps(v: VerifyContext, traceFile: string, projection: Projection) {
  const touches = await readLastTouches(traceFile);
  // Items already started by the header check are validated here as they are compared (verify-steps-items.ts).
  const items = projection.items ?? StepsItems.ofFile(projection.file!);
  const report = ({ pointer, message }: { pointer: string; message: string }) => v.add(projection.path, message, undefined, pointer);
  const comparer = new StepsComparer(items, projection.seq, touches, report, projection.items !== undefined);
  // Steps that are final and no longer the latest: replaced by a shared stub in the whole-run fold.
  const waiting: Array<{ index: number; seq: number }> = [];
  let stubbed = 0;
  return {
    comparer,
    /** The state with final steps stubbed; a promise only when the comparison had to wait for steps.json. */
    fold: (event: ReducibleEvent, state: ProjectionState): ProjectionState | Promise<ProjectionState> => {
      const waited = comparer.add(event);
      return waited ? waited.then(() => stubFinal(event, state)) : stubFinal(event, state);
    },
  };

  function stubFinal(event: ReducibleEvent, state: ProjectionState): ProjectionState {
    if (event.attemptId && touches.get(event.attemptId) === event.seq) {
      const index = state.stepIndex.get(event.attemptId);
      if (index !== undefined) waiting.push({ index, seq: event.seq });
    }
    let steps = state.steps;
    for (let i = 0; i < waiting.length; ) {
      const { index } = waiting[i]!;
      const step = steps.get(index);
      // Running steps (live.json) stay whole; so does the latest (run.json's lastNodeId) until another starts.
      if (!step || step.status === 'running') {
        waiting.splice(i, 1);
        continue;
      }
      if (index === steps.size - 1) {
        i++;
        continue;
      }
      steps = steps.set(index, stubFor(step));
      waiting.splice(i, 1);
      stubbed++;
    }
    if (steps === state.steps) return state;
    if (stubbed < 4096) return { ...state, steps };
    // No later event names a stubbed attempt (that is what final means), so the reducer will never look it up:
    // its entry in the attempt index can go too, or the index would still grow with the run.
    stubbed = 0;
    let stepIndex = PMap.empty<number>();
    for (const [id, index] of state.stepIndex.entries()) if (!isStub(steps.get(index))) stepIndex = stepIndex.set(id, index);
    return { ...state, steps, stepIndex };
  }
}

function checkReferences(
  v: VerifyContext,
  event: TraceEvent,
  line: number,
  path: string,
  sessions: Map<string, SessionFacts>,
  artifactUses: Map<string, ArtifactUse>,
): void {
  collectArtifacts(event.payload, (ref) => {
    if (!artifactUses.has(ref.path)) artifactUses.set(ref.path, { ...ref, file: path, line });
  });
  if (event.scope !== 'session' && event.scope !== 'acp') return;
  const sessionId = event.sessionId;
  const facts = sessionId === undefined ? undefined : sessions.get(sessionId);
  if (!sessionId || !facts) {
    v.add(path, `${event.type}: session ${sessionId ?? '(none)'} is not listed in ${BUNDLE_FILES.manifest}`, line, '/sessionId');
    return;
  }
  if ((event.type === 'session.bound' || event.type === 'session.failed') && event.payload.path !== sessionFiles(sessionId).dir) {
    v.add(path, `/payload/path: "${event.payload.path}" is not "${sessionFiles(sessionId).dir}"`, line, '/payload/path');
  }
  if (event.type === 'acp.prompt_sent') {
    const seq = event.payload.sessionEventSeq;
    const events = sessionFiles(sessionId).events;
    if (!facts.promptSeqs.has(seq)) {
      v.add(path, `/payload/sessionEventSeq: ${seq} is not a session/prompt request in ${events}`, line, '/payload/sessionEventSeq');
    } else if (facts.claimed.has(seq)) {
      v.add(path, `/payload/sessionEventSeq: the prompt at ${events}:${seq} is claimed by an earlier acp.prompt_sent`, line, '/payload/sessionEventSeq');
    } else {
      const owner = facts.promptSeqs.get(seq);
      if (owner !== undefined && event.attemptId !== undefined && owner !== event.attemptId) {
        v.add(path, `/payload/sessionEventSeq: the prompt at ${events}:${seq} belongs to ${owner}, not ${event.attemptId}`, line, '/payload/sessionEventSeq');
      }
    }
    facts.claimed.add(seq);
    if (facts.messageCount !== undefined && event.payload.messageIndex >= facts.messageCount) {
      v.add(path, `/payload/messageIndex: ${event.payload.messageIndex} is past the end of the ${facts.messageCount} messages of ${sessionFiles(sessionId).events}`, line, '/payload/messageIndex');
    }
  }
  if (event.type === 'acp.turn_finished') {
    const { sessionEvents, messages } = event.payload;
    if (sessionEvents.from > sessionEvents.to || sessionEvents.to > facts.lastSeq) {
      v.add(
        path,
        `/payload/sessionEvents: ${sessionEvents.from}..${sessionEvents.to} is not within 1..${facts.lastSeq} of ${sessionFiles(sessionId).events}`,
        line,
        '/payload/sessionEvents',
      );
    }
    if (messages && facts.messageCount !== undefined && (messages.from > messages.to || messages.to >= facts.messageCount)) {
      v.add(
        path,
        `/payload/messages: ${messages.from}..${messages.to} is not within the ${facts.messageCount} messages of ${sessionFiles(sessionId).events}`,
        line,
        '/payload/messages',
      );
    }
  }
}

export function compareProjections(v: VerifyContext, path: string, projections: Projections, fold: Fold): void {
  const render = { run: toRunProjection, live: toLiveProjection, steps: toStepsProjection } as const;
  for (const key of ['run', 'live', 'steps'] as const) {
    const projection = projections[key];
    if (!projection) continue;
    if (projection.seq > fold.state.seq) {
      v.add(projection.path, `/seq: ${projection.seq} is past the end of the trace (${fold.state.seq}): written before the trace`, undefined, '/seq');
      continue;
    }
    if (projection.seq < fold.state.seq) v.addLag(projection.path, '/seq', projection.seq, path, fold.state.seq);
    const state = fold.states.get(projection.seq);
    if (!state) continue; // a seq that is not on a valid line was reported with the trace
    if (key === 'steps' && projection.file) {
      // The steps themselves were compared while the trace was folded; here only the rest of the document.
      if ((projection.runId ?? null) !== (state.runId ?? null)) {
        v.add(projection.path, `/runId: differs from the fold of the trace up to seq ${projection.seq}`, undefined, '/runId');
      }
      continue;
    }
    const expected = JSON.stringify(render[key](state));
    const actual = jsonTextOrTooDeep(projection.raw);
    if (actual === TOO_DEEP) {
      v.add(projection.path, `/: differs from the fold of the trace up to seq ${projection.seq} (${TOO_DEEP})`, undefined, '');
      continue;
    }
    if (actual !== expected) {
      const pointer = firstDifference(projection.raw, JSON.parse(expected));
      v.add(projection.path, `${pointer || '/'}: differs from the fold of the trace up to seq ${projection.seq}`, undefined, pointer);
    }
  }
}
