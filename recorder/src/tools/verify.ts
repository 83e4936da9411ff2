/**
 * `flowtape verify`: checks a bundle against the v1 format. Every file against its schema; trace seq contiguity
 * and integrity (torn or bad lines); artifact hashes and sizes; projections equal to the reducer fold of the trace
 * at their seq (compared as JSON text); session files (contiguous events, a record equal to the conversation
 * rebuilt from the events, binding); cross references (prompt and turn ranges, sessions, artifacts); manifest paths
 * that stay inside the bundle. The trace and session events are streamed: memory does not grow with their length.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import {
  BUNDLE_FILES,
  BundleFormatError,
  bundlePathProblem,
  printablePath,
  ConversationBuilder,
  FlowSnapshot,
  PMap,
  LiveProjection,
  Manifest,
  NewerFormatError,
  RunProjection,
  SessionBinding,
  SessionEventLine,
  SessionRecord,
  StepsProjection,
  initialState,
  isSwitchEdge,
  parseDocument,
  readNdjson,
  readTrace,
  Projector,
  sessionFiles,
  toLiveProjection,
  toRunProjection,
  toStepsProjection,
  tooDeep,
  type ProjectionState,
  type ReducibleEvent,
  type TraceEvent,
} from '@flowtape/schema';
import { escapePointer, firstDifference } from './json-pointer.ts';
import { findLinks, linkProblem } from '../bundle/confine.ts';
import { LastTouch, StepsComparer, isStub, scanArrayDocument, stubFor, validateStepsDocument } from './verify-steps.ts';
import { artifactRef, decodeBase64 } from '../bundle/artifacts.ts';

export interface VerifyProblem {
  /** Bundle-relative file at fault. */
  file: string;
  line?: number;
  pointer?: string;
  /** One line naming the file (and line or JSON pointer). */
  message: string;
}

export interface VerifyReport {
  bundle: string;
  ok: boolean;
  problems: VerifyProblem[];
  /** Problems not shown because there were too many. */
  moreProblems: number;
  /** Facts that do not make the bundle invalid (an unfinished run, an unknown event type, leftovers). */
  notes: string[];
  summary: {
    runId?: string;
    flowName?: string;
    status?: string;
    complete?: boolean;
    events: number;
    lastSeq: number;
    sessions: number;
    artifacts: number;
  };
}

/** The input cannot be verified at all: not a directory, not a bundle, a newer format. */
export class VerifyInputError extends Error {
  override name = 'VerifyInputError';
}

export interface VerifyOptions {
  /** Stop listing problems after this many (default 200); the count of the rest is reported. */
  maxProblems?: number;
  /** Called every few thousand trace events with how many were checked so far (for progress on long bundles). */
  onProgress?: (events: number) => void;
}

const ENDED = new Set(['completed', 'failed', 'timed_out', 'cancelled']);
const ARTIFACT_NAME = /^sha256-([0-9a-f]{64})(?:\.([a-z0-9]{1,16}))?$/;

interface SessionFacts {
  lastSeq: number;
  /** Seq of every outgoing `session/prompt` line → its attemptId. */
  promptSeqs: Map<number, string | undefined>;
  claimed: Set<number>;
  messageCount: number | undefined;
}

interface ArtifactUse {
  size: number;
  sha256: string;
  file: string;
  line: number;
}

export async function verifyBundle(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  return new Verifier(dir, options.maxProblems ?? 200, options.onProgress).run();
}

class Verifier {
  private readonly root: string;
  private rootReal = '';
  private readonly problems: VerifyProblem[] = [];
  private moreProblems = 0;
  private readonly notes: string[] = [];
  private readonly summary: VerifyReport['summary'] = { events: 0, lastSeq: 0, sessions: 0, artifacts: 0 };

  constructor(
    private readonly dir: string,
    private readonly maxProblems: number,
    private readonly onProgress?: (events: number) => void,
  ) {
    this.root = resolve(dir);
  }

  async run(): Promise<VerifyReport> {
    await this.checkInput();
    const manifest = await this.verifyManifest();
    const files = manifest?.files ?? {
      flow: BUNDLE_FILES.flow,
      trace: BUNDLE_FILES.trace,
      run: BUNDLE_FILES.run,
      live: BUNDLE_FILES.live,
      steps: BUNDLE_FILES.steps,
    };
    for (const [key, path] of Object.entries(files)) await this.checkInside(path, `/files/${key}`);
    await this.verifyFlow(files.flow);
    const projections = await this.readProjections(files);
    const sessionIds = manifest?.sessions.map((s) => s.sessionId) ?? [];
    for (const [i, s] of (manifest?.sessions ?? []).entries()) {
      await this.checkInside(s.path, `/sessions/${i}/path`);
      if (s.path !== sessionFiles(s.sessionId).dir) {
        this.add(BUNDLE_FILES.manifest, `/sessions/${i}/path: "${s.path}" is not "${sessionFiles(s.sessionId).dir}"`, undefined, `/sessions/${i}/path`);
      }
    }
    const sessions = new Map<string, SessionFacts>();
    const artifactUses = new Map<string, ArtifactUse>();
    for (const id of sessionIds) sessions.set(id, await this.verifySession(id, artifactUses));
    await this.noteUnlistedSessions(new Set(sessionIds));
    this.summary.sessions = sessionIds.length;
    const fold = await this.verifyTrace(files.trace, manifest, projections, sessions, artifactUses);
    this.compareProjections(projections, fold);
    await this.verifyArtifacts(artifactUses);
    this.verifyLinks();
    await this.noteLeftovers();
    return {
      bundle: this.dir,
      ok: this.problems.length === 0 && this.moreProblems === 0,
      problems: this.problems,
      moreProblems: this.moreProblems,
      notes: this.notes,
      summary: this.summary,
    };
  }

  // ——— helpers ———

  private add(file: string, text: string, line?: number, pointer?: string): void {
    if (this.problems.length >= this.maxProblems) {
      this.moreProblems++;
      return;
    }
    const where = line === undefined ? file : `${file}:${line}`;
    const message = text.startsWith(`${file}:`) || text.startsWith(`${file} `) ? text : `${where}: ${text}`;
    this.problems.push({ file, ...(line !== undefined ? { line } : {}), ...(pointer ? { pointer } : {}), message });
  }

  private addError(file: string, error: unknown): void {
    if (error instanceof NewerFormatError) throw new VerifyInputError(error.message);
    if (error instanceof BundleFormatError) {
      this.add(error.file || file, error.message, error.line, error.pointer);
      return;
    }
    this.add(file, `cannot read (${oneLine(error)})`);
  }

  private async checkInput(): Promise<void> {
    let info;
    try {
      info = await stat(this.root);
    } catch (error) {
      throw new VerifyInputError(`${this.dir}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : oneLine(error)}`);
    }
    if (!info.isDirectory()) throw new VerifyInputError(`${this.dir}: not a directory (verify takes a bundle directory)`);
    this.rootReal = await realpath(this.root);
    try {
      await stat(join(this.root, BUNDLE_FILES.manifest));
    } catch {
      throw new VerifyInputError(`${this.dir}: not a flowtape bundle (no ${BUNDLE_FILES.manifest})`);
    }
  }

  /** Bundle-relative path → absolute file, or undefined when it is missing or leaves the bundle (reported). */
  private async resolve(path: string): Promise<string | undefined> {
    const file = resolve(this.root, path);
    try {
      const real = await realpath(file);
      if (!isInside(this.rootReal, real)) {
        this.add(path, 'leads outside the bundle (symlink)');
        return undefined;
      }
      return real;
    } catch {
      return undefined;
    }
  }

  private async checkInside(path: string, pointer: string): Promise<void> {
    const problem = bundlePathProblem(path);
    if (problem) {
      this.add(BUNDLE_FILES.manifest, `${pointer}: ${printablePath(path)} is not a path inside the bundle (${problem})`, undefined, pointer);
      return;
    }
    await this.resolve(path);
  }

  private async readJson(path: string, required = true): Promise<unknown> {
    const file = await this.resolve(path);
    if (!file) {
      if (required) this.add(path, 'missing');
      return undefined;
    }
    // A FIFO would block the read forever, a directory fails it: say what is there instead.
    if (!(await isRegularFile(file))) {
      this.add(path, 'not a regular file');
      return undefined;
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      this.add(path, `cannot read (${oneLine(error)})`);
      return undefined;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      this.add(path, `not valid JSON (${oneLine(error)})`);
      return undefined;
    }
  }

  private parse<T>(schema: Parameters<typeof parseDocument>[0], value: unknown, path: string): T | undefined {
    if (value === undefined) return undefined;
    try {
      return parseDocument(schema, value, path) as T;
    } catch (error) {
      this.addError(path, error);
      return undefined;
    }
  }

  // ——— documents ———

  private async verifyManifest(): Promise<Manifest | undefined> {
    const raw = await this.readJson(BUNDLE_FILES.manifest);
    const manifest = this.parse<Manifest>(Manifest, raw, BUNDLE_FILES.manifest);
    if (!manifest) return undefined;
    Object.assign(this.summary, {
      runId: manifest.runId,
      flowName: manifest.flowName,
      status: manifest.status,
      complete: manifest.complete,
    });
    if (manifest.complete && !ENDED.has(manifest.status)) {
      this.add(BUNDLE_FILES.manifest, `/complete: true while the status is "${manifest.status}"`, undefined, '/complete');
    }
    if (!manifest.complete) {
      this.notes.push(
        manifest.status === 'waiting'
          ? 'the run is waiting at a checkpoint (resume it to finish)'
          : `the bundle is not complete (status "${manifest.status}"): the run is still going or its writer stopped`,
      );
    }
    return manifest;
  }

  private async verifyFlow(path: string): Promise<void> {
    const flow = this.parse<FlowSnapshot>(FlowSnapshot, await this.readJson(path), path);
    if (!flow) return;
    const ids = new Set<string>();
    flow.nodes.forEach((node, i) => {
      if (ids.has(node.id)) this.add(path, `/nodes/${i}/id: duplicate node id "${node.id}"`, undefined, `/nodes/${i}/id`);
      ids.add(node.id);
    });
    if (!ids.has(flow.startAt)) this.add(path, `/startAt: "${flow.startAt}" is not a node`, undefined, '/startAt');
    flow.edges.forEach((edge, i) => {
      const targets: Array<[string, string]> = [[`/edges/${i}/from`, edge.from]];
      if (isSwitchEdge(edge)) {
        for (const [key, to] of Object.entries(edge.switch.cases)) targets.push([`/edges/${i}/switch/cases/${escapePointer(key)}`, to]);
        if (edge.switch.default !== undefined) targets.push([`/edges/${i}/switch/default`, edge.switch.default]);
      } else {
        targets.push([`/edges/${i}/to`, edge.to]);
      }
      for (const [pointer, id] of targets) if (!ids.has(id)) this.add(path, `${pointer}: "${id}" is not a node`, undefined, pointer);
    });
  }

  private async readProjections(files: Manifest['files']): Promise<Projections> {
    const out: Projections = {};
    const entries = [
      ['run', files.run, RunProjection],
      ['live', files.live, LiveProjection],
      ['steps', files.steps, StepsProjection],
    ] as const;
    for (const [key, path, schema] of entries) {
      if (key === 'steps') {
        // Streamed (see verify-steps.ts): its size grows with the run; read whole only to report a broken file.
        const file = await this.resolve(path);
        const streamed = file && (await isRegularFile(file)) ? await validateStepsDocument(file, path) : undefined;
        if (streamed?.ok === true) {
          out.steps = { path, raw: undefined, seq: streamed.seq, runId: streamed.runId, file };
          continue;
        }
        if (streamed && streamed.ok === false) {
          this.add(path, streamed.message, undefined, streamed.pointer);
          continue;
        }
      }
      const raw = await this.readJson(path);
      const parsed = this.parse<{ seq: number }>(schema, raw, path);
      if (parsed) out[key] = { path, raw, seq: parsed.seq };
    }
    return out;
  }

  // ——— sessions ———

  private async verifySession(sessionId: string, artifactUses: Map<string, ArtifactUse>): Promise<SessionFacts> {
    const files = sessionFiles(sessionId);
    const facts: SessionFacts = { lastSeq: 0, promptSeqs: new Map(), claimed: new Set(), messageCount: undefined };
    const binding = this.parse<SessionBinding>(SessionBinding, await this.readJson(files.binding), files.binding);
    if (binding && binding.sessionId !== sessionId) {
      this.add(files.binding, `/sessionId: "${binding.sessionId}" is not "${sessionId}"`, undefined, '/sessionId');
    }
    const rawRecord = await this.readJson(files.record);
    const record = this.parse<SessionRecord>(SessionRecord, rawRecord, files.record);
    if (record && record.sessionId !== sessionId) {
      this.add(files.record, `/sessionId: "${record.sessionId}" is not "${sessionId}"`, undefined, '/sessionId');
    }
    if (record) {
      // Images, audio and embedded blobs of the messages: their artifacts must be there, whole.
      for (const entry of record.messages) {
        if (entry.role !== 'agent' && entry.role !== 'user' && entry.role !== 'thought') continue;
        for (const { artifact } of entry.content ?? []) {
          if (artifact && !artifactUses.has(artifact.path)) artifactUses.set(artifact.path, { ...artifact, file: files.record, line: 0 });
        }
      }
    }
    // The rebuilt record names the artifacts the recorder stored (hashed, not written).
    const builder = new ConversationBuilder((base64, mediaType) => artifactRef(decodeBase64(base64), mediaType));
    let atRecord: string | undefined = record && record.lastSeq === 0 ? '[]' : undefined;
    const file = await this.resolve(files.events);
    if (!file) {
      this.add(files.events, 'missing');
    } else if (!(await isRegularFile(file))) {
      this.add(files.events, 'not a regular file');
    } else {
      let expected = 1;
      for await (const { line, value } of readNdjson(createReadStream(file), {
        file: files.events,
        onIssue: (issue) => this.add(files.events, issue.message, issue.line),
      })) {
        let parsed: ReturnType<typeof SessionEventLine.safeParse>;
        try {
          parsed = SessionEventLine.safeParse(value);
        } catch (error) {
          if (!(error instanceof RangeError)) throw error;
          this.add(files.events, tooDeep(files.events, line).message, line);
          continue;
        }
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          const pointer = issue ? issue.path.map((p) => `/${escapePointer(String(p))}`).join('') : '';
          this.add(files.events, `${pointer || '/'}: ${issue?.message ?? 'invalid'}`, line, pointer);
          continue;
        }
        const event = parsed.data;
        if (event.seq !== expected) this.add(files.events, `seq ${event.seq} where ${expected} was expected`, line);
        expected = event.seq + 1;
        facts.lastSeq = event.seq;
        const message = event.message as { method?: unknown } | undefined;
        if (event.direction === 'outgoing' && message?.method === 'session/prompt') facts.promptSeqs.set(event.seq, event.attemptId);
        builder.add(event);
        if (record && event.seq === record.lastSeq) atRecord = JSON.stringify(builder.messages);
      }
    }
    if (record) {
      facts.messageCount = record.messages.length;
      if (record.lastSeq > facts.lastSeq) {
        this.add(files.record, `/lastSeq: ${record.lastSeq} is past the last event (${facts.lastSeq}) of ${files.events}`, undefined, '/lastSeq');
      } else if (atRecord !== undefined) {
        const recorded = (rawRecord as { messages?: unknown }).messages;
        const rebuilt = JSON.parse(atRecord) as unknown;
        if (JSON.stringify(recorded) !== atRecord) {
          const pointer = `/messages${firstDifference(recorded, rebuilt)}`;
          this.add(files.record, `${pointer}: differs from the conversation rebuilt from ${files.events} up to seq ${record.lastSeq}`, undefined, pointer);
        }
      }
    }
    return facts;
  }

  private async noteUnlistedSessions(listed: Set<string>): Promise<void> {
    let names: string[] = [];
    try {
      names = await readdir(join(this.root, BUNDLE_FILES.sessionsDir));
    } catch {
      return;
    }
    for (const name of names.sort()) {
      if (!listed.has(name)) this.notes.push(`${BUNDLE_FILES.sessionsDir}/${name} is not listed in ${BUNDLE_FILES.manifest} (a session that never got bound)`);
    }
  }

  // ——— trace ———

  private async verifyTrace(
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
    const file = await this.resolve(path);
    if (!file || !(await isRegularFile(file))) {
      this.add(path, file ? 'not a regular file' : 'missing');
      return { state, states, torn };
    }
    const unknownTypes = new Set<string>();
    let first = true;
    const steps = projections.steps?.file ? await this.streamSteps(file, projections.steps) : undefined;
    let projector = new Projector(state);
    let folded = 0;
    for await (const { line, event, known } of readTrace(createReadStream(file), {
      file: path,
      onIssue: (issue) => {
        if (issue.problem === 'torn_tail') {
          torn = true;
          this.add(path, `${issue.message}; \`flowtape repair\` removes it`, issue.line);
        } else {
          this.add(path, issue.message, issue.line);
        }
      },
    })) {
      if (first && (event.seq !== 1 || event.type !== 'run.started')) {
        this.add(path, `the first event is ${event.type} (seq ${event.seq}), not run.started with seq 1`, line);
      }
      first = false;
      if (manifest && event.runId !== manifest.runId) {
        this.add(path, `/runId: "${event.runId}" is not the manifest's "${manifest.runId}"`, line, '/runId');
      }
      if (!known) unknownTypes.add(event.type);
      else this.checkReferences(event as TraceEvent, line, path, sessions, artifactUses);
      // Folded in place; a state is handed out only where a projection file says it stands, or when the steps
      // check replaces finished steps by stubs (that state goes on with a new Projector).
      projector.add(event);
      const count = ++folded;
      if (this.onProgress && (count & 4095) === 0) this.onProgress(count);
      if (steps) {
        const current = projector.peek();
        const stubbed = await steps.fold(event, current);
        if (stubbed !== current) projector = new Projector(stubbed);
      }
      if (wanted.has(projector.seq)) states.set(projector.seq, projector.state());
    }
    state = projector.state();
    await steps?.comparer.finish();
    this.summary.events = state.eventCount;
    this.summary.lastSeq = state.seq;
    if (first) this.add(path, 'empty: a bundle starts with run.started');
    if (unknownTypes.size > 0) this.notes.push(`${path}: event types this reader does not know: ${[...unknownTypes].join(', ')}`);
    for (const anomaly of state.anomalies) this.add(path, anomaly);
    if (ENDED.has(state.status)) {
      for (const step of state.steps) {
        if (step.status === 'running') this.add(path, `attempt ${step.attemptId} (seq ${step.startSeq}) has no node.outcome although the run ended`);
      }
    }
    if (manifest) {
      if (manifest.lastSeq > state.seq) {
        this.add(BUNDLE_FILES.manifest, `/lastSeq: ${manifest.lastSeq} is past the end of ${path} (${state.seq})`, undefined, '/lastSeq');
      }
      if (manifest.complete) {
        if (manifest.lastSeq !== state.seq) {
          this.add(BUNDLE_FILES.manifest, `/lastSeq: ${manifest.lastSeq}, but the complete trace ends at ${state.seq}`, undefined, '/lastSeq');
        }
        if (manifest.status !== state.status) {
          this.add(BUNDLE_FILES.manifest, `/status: "${manifest.status}", but the trace folds to "${state.status}"`, undefined, '/status');
        }
      }
    }
    return { state, states, torn };
  }

  /**
   * steps.json against the trace without holding either (verify-steps.ts): a first pass notes the last event of
   * every attempt; during the fold each step is compared once final, and the whole-run fold keeps a stub for it.
   */
  private async streamSteps(traceFile: string, projection: Projection) {
    const touches = new LastTouch();
    for await (const { value } of readNdjson(createReadStream(traceFile), {})) {
      const e = value as { seq?: unknown; attemptId?: unknown } | null;
      if (e && typeof e.seq === 'number' && typeof e.attemptId === 'string') touches.set(e.attemptId, e.seq);
    }
    const elements = scanArrayDocument(createReadStream(projection.file!, { highWaterMark: 64 * 1024 }), 'steps');
    const comparer = new StepsComparer(elements, projection.seq, touches, ({ pointer, message }) => this.add(projection.path, message, undefined, pointer));
    // Steps that are final and no longer the latest: replaced by a shared stub in the whole-run fold.
    const waiting: Array<{ index: number; seq: number }> = [];
    let stubbed = 0;
    return {
      comparer,
      fold: async (event: ReducibleEvent, state: ProjectionState): Promise<ProjectionState> => {
        await comparer.add(event);
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
      },
    };
  }

  private checkReferences(
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
      this.add(path, `${event.type}: session ${sessionId ?? '(none)'} is not listed in ${BUNDLE_FILES.manifest}`, line, '/sessionId');
      return;
    }
    if ((event.type === 'session.bound' || event.type === 'session.failed') && event.payload.path !== sessionFiles(sessionId).dir) {
      this.add(path, `/payload/path: "${event.payload.path}" is not "${sessionFiles(sessionId).dir}"`, line, '/payload/path');
    }
    if (event.type === 'acp.prompt_sent') {
      const seq = event.payload.sessionEventSeq;
      const events = sessionFiles(sessionId).events;
      if (!facts.promptSeqs.has(seq)) {
        this.add(path, `/payload/sessionEventSeq: ${seq} is not a session/prompt request in ${events}`, line, '/payload/sessionEventSeq');
      } else if (facts.claimed.has(seq)) {
        this.add(path, `/payload/sessionEventSeq: the prompt at ${events}:${seq} is claimed by an earlier acp.prompt_sent`, line, '/payload/sessionEventSeq');
      } else {
        const owner = facts.promptSeqs.get(seq);
        if (owner !== undefined && event.attemptId !== undefined && owner !== event.attemptId) {
          this.add(path, `/payload/sessionEventSeq: the prompt at ${events}:${seq} belongs to ${owner}, not ${event.attemptId}`, line, '/payload/sessionEventSeq');
        }
      }
      facts.claimed.add(seq);
      if (facts.messageCount !== undefined && event.payload.messageIndex >= facts.messageCount) {
        this.add(path, `/payload/messageIndex: ${event.payload.messageIndex} is past the end of ${sessionFiles(sessionId).record}`, line, '/payload/messageIndex');
      }
    }
    if (event.type === 'acp.turn_finished') {
      const { sessionEvents, messages } = event.payload;
      if (sessionEvents.from > sessionEvents.to || sessionEvents.to > facts.lastSeq) {
        this.add(
          path,
          `/payload/sessionEvents: ${sessionEvents.from}..${sessionEvents.to} is not within 1..${facts.lastSeq} of ${sessionFiles(sessionId).events}`,
          line,
          '/payload/sessionEvents',
        );
      }
      if (messages && facts.messageCount !== undefined && (messages.from > messages.to || messages.to >= facts.messageCount)) {
        this.add(
          path,
          `/payload/messages: ${messages.from}..${messages.to} is not within the ${facts.messageCount} messages of ${sessionFiles(sessionId).record}`,
          line,
          '/payload/messages',
        );
      }
    }
  }

  private compareProjections(projections: Projections, fold: Fold): void {
    const render = { run: toRunProjection, live: toLiveProjection, steps: toStepsProjection } as const;
    for (const key of ['run', 'live', 'steps'] as const) {
      const projection = projections[key];
      if (!projection) continue;
      if (projection.seq > fold.state.seq) {
        this.add(projection.path, `/seq: ${projection.seq} is past the end of the trace (${fold.state.seq}): written before the trace`, undefined, '/seq');
        continue;
      }
      const state = fold.states.get(projection.seq);
      if (!state) continue; // a seq that is not on a valid line was reported with the trace
      if (key === 'steps' && projection.file) {
        // The steps themselves were compared while the trace was folded; here only the rest of the document.
        if ((projection.runId ?? null) !== (state.runId ?? null)) {
          this.add(projection.path, `/runId: differs from the fold of the trace up to seq ${projection.seq}`, undefined, '/runId');
        }
        continue;
      }
      const expected = JSON.stringify(render[key](state));
      if (JSON.stringify(projection.raw) !== expected) {
        const pointer = firstDifference(projection.raw, JSON.parse(expected));
        this.add(projection.path, `${pointer || '/'}: differs from the fold of the trace up to seq ${projection.seq}`, undefined, pointer);
      }
    }
  }

  // ——— artifacts ———

  private async verifyArtifacts(uses: Map<string, ArtifactUse>): Promise<void> {
    const dir = BUNDLE_FILES.artifactsDir;
    let names: string[] = [];
    try {
      names = await readdir(join(this.root, dir));
    } catch {
      // no artifacts directory: fine unless something references one (below)
    }
    const present = new Map<string, number>();
    for (const name of names.sort()) {
      const path = `${dir}/${name}`;
      if (name.startsWith('.') && name.endsWith('.tmp')) {
        this.notes.push(`${path}: a temporary file left by an interrupted write`);
        continue;
      }
      const match = ARTIFACT_NAME.exec(name);
      if (!match) {
        this.add(path, 'not a content-addressed name (sha256-<hex>.<ext>)');
        continue;
      }
      const file = await this.resolve(path);
      if (!file) continue;
      if (!(await isRegularFile(file))) {
        this.add(path, 'not a regular file');
        continue;
      }
      const { sha256, size } = await hashFile(file);
      if (sha256 !== match[1]) this.add(path, `content hash is ${sha256}: the file does not match its name`);
      present.set(path, size);
    }
    this.summary.artifacts = present.size;
    for (const [path, use] of uses) {
      const size = present.get(path);
      const where = use.line > 0 ? `${use.file}:${use.line}` : use.file;
      if (size === undefined) {
        if (!names.includes(path.slice(dir.length + 1))) this.add(path, `missing (referenced at ${where})`);
        continue;
      }
      if (size !== use.size) this.add(path, `is ${size} bytes, but ${where} says ${use.size}`);
      if (!path.includes(use.sha256)) this.add(use.file, `artifact sha256 ${use.sha256} does not match its path ${path}`, use.line);
    }
  }

  /**
   * A bundle holds regular files and folders only: writers refuse symlinks (a write through one lands outside) and
   * hard-linked files they append to. A symlink already reported as leading outside is not reported twice.
   */
  private verifyLinks(): void {
    const reported = new Set(this.problems.map((p) => p.file));
    for (const entry of findLinks(this.root)) {
      if (entry.kind === 'symlink' && reported.has(entry.path)) continue;
      this.add(printablePath(entry.path), linkProblem(entry));
    }
  }

  private async noteLeftovers(): Promise<void> {
    for (const dir of ['', 'projections']) {
      let names: string[] = [];
      try {
        names = await readdir(join(this.root, dir));
      } catch {
        continue;
      }
      for (const name of names) {
        const path = dir ? `${dir}/${name}` : name;
        if (name === '.flowtape.lock') this.notes.push(`${path}: a writer holds (or held) the lock`);
        else if (name.startsWith('.') && name.endsWith('.tmp')) this.notes.push(`${path}: a temporary file left by an interrupted write`);
      }
    }
  }
}

interface Projection {
  path: string;
  raw: unknown;
  seq: number;
  /** A streamed steps.json: the file, and the header's runId (the steps are compared during the fold). */
  file?: string;
  runId?: string;
}

interface Projections {
  run?: Projection;
  live?: Projection;
  steps?: Projection;
}

interface Fold {
  state: ProjectionState;
  states: Map<number, ProjectionState>;
  torn: boolean;
}

function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/** Every artifact reference inside a payload (ValueRefs and `artifact.written`). */
export function collectArtifacts(value: unknown, found: (ref: { path: string; sha256: string; size: number }) => void): void {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) collectArtifacts(item, found);
    return;
  }
  const record = value as Record<string, unknown>;
  if (typeof record.path === 'string' && record.path.startsWith('artifacts/') && typeof record.sha256 === 'string' && typeof record.size === 'number') {
    found({ path: record.path, sha256: record.sha256, size: record.size });
    return;
  }
  for (const key in record) {
    // Inline values are user data, not references.
    if (key === 'inline') continue;
    collectArtifacts(record[key], found);
  }
}

/** Streams need a regular file: a directory in its place would fail mid-read (EISDIR). */
async function isRegularFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).byteLength;
  }
  return { sha256: hash.digest('hex'), size };
}
