/**
 * Rebuilds what the runtime needs to continue a waiting run from the bundle itself (the trace is the source of
 * truth), so `flowtape resume` works in a new process: input, outputs and results per node, attempt counts, the
 * checkpoint, how many sessions were opened, and the previous resume input.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BUNDLE_FILES,
  FlowSnapshot,
  Manifest,
  parseDocument,
  readTrace,
  Projector,
  SessionBinding,
  sessionFiles,
  type ValueRef,
  type TraceEvent,
} from '@flowtape/schema';
import { createReadStream } from 'node:fs';
import type { FlowNodeResult, RecordedSession, ResumeState } from '../runtime/index.ts';
import { describeJsonError } from '../json-error.ts';
import { appendedFile, refuseLinks } from './confine.ts';

export class ResumeBundleError extends Error {
  override name = 'ResumeBundleError';
}

export interface WaitingBundle {
  manifest: Manifest;
  flow: FlowSnapshot;
  state: ResumeState;
  /** From run.started: the run's cwd (absent in deterministic bundles) and whether it was deterministic. */
  cwd?: string;
  deterministic: boolean;
  /** `at` of the last trace event, in ms: a deterministic resume continues its clock from here. */
  lastAtMs: number;
  /** The seq of the last trace event: the resume goes ahead only if the trace still ends here (see resumeRecorded). */
  lastSeq: number;
}

/** The one error of a resume whose run does not wait (any more): the same whether it is found early or under the lock. */
export function notWaitingError(dir: string, status: string): ResumeBundleError {
  return new ResumeBundleError(`${dir}: the run is ${status.replace('_', ' ')}, not waiting at a checkpoint: nothing to resume`);
}

async function readJson(dir: string, path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(join(dir, path), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ResumeBundleError(`${join(dir, path)}: ${code === 'ENOENT' ? 'missing (is this a bundle?)' : (error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ResumeBundleError(`${join(dir, path)}: not valid JSON (${describeJsonError(text, error)})`);
  }
}

/** The value a ValueRef stands for: inline, or the artifact's text (text/*) or JSON. */
export async function resolveValue(dir: string, ref: ValueRef | undefined): Promise<unknown> {
  if (ref === undefined) return undefined;
  if ('inline' in ref) return ref.inline;
  const text = await readFile(join(dir, ref.artifact.path), 'utf8');
  return ref.artifact.mediaType === 'application/json' ? (JSON.parse(text) as unknown) : text;
}

export async function loadWaitingBundle(dir: string): Promise<WaitingBundle> {
  // A packed bundle or any other file (it said ENOTDIR): a run resumes by appending to its folder.
  const kind = await stat(dir).then((info) => (info.isDirectory() ? 'folder' : 'file'), () => 'missing');
  if (kind === 'file') throw new ResumeBundleError(`${dir}: not a bundle directory (a run resumes by appending to its folder: unzip a packed bundle first)`);
  // Resuming writes to this bundle: one that holds a symlink (or a hard-linked file it appends to) is refused
  // before anything in it is read.
  try {
    refuseLinks(dir, dir, appendedFile(BUNDLE_FILES.trace));
  } catch (error) {
    throw new ResumeBundleError((error as Error).message);
  }
  let manifest: Manifest;
  let flow: FlowSnapshot;
  try {
    manifest = parseDocument(Manifest, await readJson(dir, BUNDLE_FILES.manifest), BUNDLE_FILES.manifest);
    flow = parseDocument(FlowSnapshot, await readJson(dir, manifest.files.flow), manifest.files.flow);
  } catch (error) {
    if (error instanceof ResumeBundleError) throw error;
    throw new ResumeBundleError(`${dir}: ${(error as Error).message}`);
  }
  const projector = new Projector();
  let started: Extract<TraceEvent, { type: 'run.started' }> | undefined;
  let lastResume: Extract<TraceEvent, { type: 'run.resumed' }> | undefined;
  const outcomes = new Map<string, Extract<TraceEvent, { type: 'node.outcome' }>>();
  const lastOk = new Map<string, Extract<TraceEvent, { type: 'node.outcome' }>>();
  const sessionIds = new Set<string>();
  const bound = new Map<string, Extract<TraceEvent, { type: 'session.bound' }>>();
  let waiting: Extract<TraceEvent, { type: 'run.waiting' }> | undefined;
  let lastAtMs = 0;
  for await (const { event, known } of readTrace(createReadStream(join(dir, manifest.files.trace)), { file: manifest.files.trace })) {
    projector.add(event);
    lastAtMs = Date.parse(event.at);
    if (event.sessionId) sessionIds.add(event.sessionId);
    if (!known) continue;
    const e = event as TraceEvent;
    if (e.type === 'run.started') started = e;
    else if (e.type === 'run.resumed') lastResume = e;
    else if (e.type === 'run.waiting') waiting = e;
    else if (e.type === 'session.bound' && e.sessionId) bound.set(e.sessionId, e);
    else if (e.type === 'node.outcome' && e.nodeId) {
      outcomes.set(e.nodeId, e);
      if (e.payload.outcome === 'ok') lastOk.set(e.nodeId, e);
    }
  }
  const projection = projector.state();
  if (projection.status !== 'waiting' || !projection.waitingAt) throw notWaitingError(dir, projection.status);
  // Session ids must not collide with recorded ones, bound or not.
  const dirs = await readdir(join(dir, BUNDLE_FILES.sessionsDir)).catch(() => [] as string[]);
  for (const name of dirs) sessionIds.add(name);

  const attempts: Record<string, number> = {};
  const nodeTypes = new Map<string, FlowNodeResult['nodeType']>();
  for (const step of projection.steps) {
    attempts[step.nodeId] = Math.max(attempts[step.nodeId] ?? 0, step.attempt);
    nodeTypes.set(step.nodeId, step.nodeType);
  }
  const outputs: Record<string, unknown> = {};
  for (const [nodeId, event] of lastOk) outputs[nodeId] = await resolveValue(dir, event.payload.output);
  const results: Record<string, FlowNodeResult> = {};
  for (const [nodeId, event] of outcomes) {
    const result: FlowNodeResult = {
      attemptId: event.attemptId!,
      nodeId,
      nodeType: nodeTypes.get(nodeId) ?? 'compute',
      outcome: event.payload.outcome,
      durationMs: event.payload.durationMs,
    };
    if (event.payload.output !== undefined) result.output = await resolveValue(dir, event.payload.output);
    if (event.payload.error !== undefined) result.error = event.payload.error;
    results[nodeId] = result;
  }
  const resumeInput = lastResume ? await resolveValue(dir, lastResume.payload.input) : undefined;
  const state: ResumeState = {
    version: 1,
    runId: manifest.runId,
    flowName: flow.name,
    input: await resolveValue(dir, started?.payload.input),
    checkpoint: projection.waitingAt,
    outputs,
    results,
    attempts,
    sessionCount: sessionIds.size,
    ...(resumeInput !== undefined ? { resume: resumeInput } : {}),
  };
  const sessions = await recordedSessions(dir, waiting?.payload.sessions ?? [], bound);
  if (sessions.length > 0) state.sessions = sessions;
  // One agent for every session (typically `--agent`): a resume without an agent goes on with it.
  const commands = new Set([...bound.values()].map((e) => JSON.stringify(e.payload.agentCommand)));
  if (commands.size === 1) state.agentCommand = JSON.parse([...commands][0]!) as string[];
  return {
    manifest,
    flow,
    state,
    ...(started?.payload.cwd ? { cwd: started.payload.cwd } : {}),
    deterministic: started?.payload.deterministic === true,
    lastAtMs,
    lastSeq: projection.seq,
  };
}

/**
 * The shared sessions the run left usable when it stopped (listed by `run.waiting`), with what a resumed run needs
 * to continue them: the agent's session id from `session.bound`, the cwd and auth method from `binding.json`.
 * A session whose binding cannot be read is left out: the resume then starts a new session for its handle.
 */
async function recordedSessions(
  dir: string,
  ids: readonly string[],
  bound: ReadonlyMap<string, Extract<TraceEvent, { type: 'session.bound' }>>,
): Promise<RecordedSession[]> {
  const sessions: RecordedSession[] = [];
  for (const sessionId of ids) {
    const event = bound.get(sessionId);
    if (!event || event.payload.mode !== 'shared') continue;
    let binding: SessionBinding;
    try {
      binding = parseDocument(SessionBinding, JSON.parse(await readFile(join(dir, sessionFiles(sessionId).binding), 'utf8')), sessionFiles(sessionId).binding);
    } catch {
      continue;
    }
    sessions.push({
      sessionId,
      handle: event.payload.handle,
      agentCommand: event.payload.agentCommand,
      acpSessionId: event.payload.acpSessionId,
      ...(binding.cwd !== undefined ? { cwd: binding.cwd } : {}),
      ...(binding.authMethodId !== undefined ? { authMethodId: binding.authMethodId } : {}),
    });
  }
  return sessions;
}
