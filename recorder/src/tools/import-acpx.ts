/**
 * `flowtape import acpx <run-dir>`: converts a bundle written by acpx (`acpx.flow-run-bundle.v1`, the `nodeType`
 * form of every published acpx and the older `kind` form) into a flowtape v1 bundle that passes `verify`.
 *
 * What acpx does not record is derived, and marked as such where it matters:
 *  - edges: acpx writes no edge event; `edge.taken` is recomputed from flow.json and the node's output or result,
 *    and only written when the next attempt in the trace is the edge's target;
 *  - stop reasons: read from the `session/prompt` response in the session's events, also for a turn that timed out
 *    (acpx cancels it; the agent answers `cancelled`);
 *  - turn ranges: acpx's own (`conversation` on `acp_response_parsed` and `node_outcome`), so a respawned agent's
 *    `initialize`/`session/load` stays with the turn that respawned it (import-acpx-turns.ts);
 *  - the binding's agent: the `agentInfo` of the recorded `initialize` answer (acpx's binding has only its
 *    profile label, e.g. "codex");
 *  - function actions: `action.started`/`action.completed` around the attempt (acpx records only the outcome);
 *  - a failed shell command (no `action_completed` in acpx): an `action.completed` with `ok: false`;
 *  - an interrupted run (acpx: `run_failed` "Interrupted", no outcome for the running attempt): the attempt ends
 *    `cancelled` and the run `run.cancelled`; a checkpoint that left the run waiting: `run.waiting`;
 *  - a node timeout that failed the run (acpx status `timed_out`): `run.failed` with code `node_timed_out`
 *    (flowtape's `timed_out` run status is for the run timeout).
 * Sessions keep their raw traffic (directions renamed, lines tied to the attempt of their turn); record.json is
 * rebuilt from it. Artifacts are copied when their content matches their name.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  FlowSnapshot,
  TraceEvent,
  describeZodError,
  initialState,
  reduce,
  sessionFiles,
  type ArtifactRef,
  type ErrorInfo,
  type TraceEventType,
  type ValueRef,
} from '@flowtape/schema';
import { convertAcpxFlow } from './import-acpx-flow.ts';
import { AcpxRunFiles } from './import-acpx-source.ts';
import { assignTurns, recordedAgent, type SessionData } from './import-acpx-turns.ts';
import {
  ACPX_BUNDLE_SCHEMA,
  ACPX_FLOW_SCHEMA,
  ENDED,
  acpxAgentCommand,
  asObject,
  attemptNumber,
  errorInfo,
  evaluateSwitch,
  ImportError,
  isIsolatedSession,
  isRef,
  str,
  type AcpxEvent,
  type Json,
} from './import-acpx-values.ts';
import { checkImportOutput, writeImportedBundle } from './import-acpx-write.ts';

export { ACPX_BUNDLE_SCHEMA, ImportError } from './import-acpx-values.ts';

export interface ImportOptions {
  /** The flowtape bundle directory to create (default `<run-dir name>.flowtape` in the current directory). */
  output?: string;
  /** Recorded as the writer version. */
  version?: string;
}

export interface ImportReport {
  output: string;
  runId: string;
  status: string;
  /** `nodeType` (acpx 0.4.0 and later) or `kind` (the older form). */
  form: 'nodeType' | 'kind';
  events: number;
  sessions: number;
  artifacts: number;
  /** What could not be carried over exactly (missing artifacts, unknown events, torn lines…). */
  warnings: string[];
}

export function defaultImportName(sourceDir: string): string {
  return `${basename(resolve(sourceDir))}.flowtape`;
}

export async function importAcpx(sourceDir: string, options: ImportOptions = {}): Promise<ImportReport> {
  return new AcpxImporter(resolve(sourceDir), sourceDir, options).run();
}

class AcpxImporter {
  private readonly warnings: string[] = [];
  private form: 'nodeType' | 'kind' = 'nodeType';
  private readonly events: TraceEvent[] = [];
  private state = initialState();
  private readonly artifactsUsed = new Map<string, ArtifactRef>();
  /** Source artifact path → verified (content matches the name), or undefined when missing or corrupt. */
  private readonly artifactCheck = new Map<string, { size: number } | undefined>();
  private readonly sessions = new Map<string, SessionData>();
  private readonly files: AcpxRunFiles;

  constructor(
    private readonly dir: string,
    private readonly label: string,
    private readonly options: ImportOptions,
  ) {
    this.files = new AcpxRunFiles(dir, label, (message) => this.warn(message));
  }

  private warn(message: string): void {
    if (this.warnings.length < 100) this.warnings.push(message);
  }

  async run(): Promise<ImportReport> {
    try {
      if (!(await stat(this.dir)).isDirectory()) throw new Error('not a directory');
    } catch {
      throw new ImportError(`${this.label}: no such acpx run directory`);
    }
    // Refused before any work, and again by the final rename: nothing that exists is ever replaced.
    const output = resolve(this.options.output ?? defaultImportName(this.label));
    await checkImportOutput(output);
    const manifest = await this.files.readJson('manifest.json', true);
    if (manifest.schema !== ACPX_BUNDLE_SCHEMA) {
      throw new ImportError(
        `${join(this.label, 'manifest.json')}: /schema: ${JSON.stringify(manifest.schema ?? null)} is not an acpx run bundle (${ACPX_BUNDLE_SCHEMA})`,
      );
    }
    const paths = asObject(manifest.paths) ?? {};
    const pathOf = (key: string, fallback: string) => str(paths[key]) ?? fallback;
    const flowDoc = await this.files.readJson(pathOf('flow', 'flow.json'), true);
    if (flowDoc.schema !== undefined && flowDoc.schema !== ACPX_FLOW_SCHEMA) {
      this.warn(`${pathOf('flow', 'flow.json')}: /schema: "${String(flowDoc.schema)}" is not ${ACPX_FLOW_SCHEMA}; read anyway`);
    }
    const runProjection = await this.files.readJson(pathOf('runProjection', 'projections/run.json'), false);
    const stepsRaw = await this.files.readStepsProjection(pathOf('stepsProjection', 'projections/steps.json'));
    const tracePath = pathOf('trace', 'trace.ndjson');
    const trace = this.files.parseTrace(await this.files.readNdjson(tracePath), tracePath);
    if (trace.length === 0) throw new ImportError(`${join(this.label, tracePath)}: no events`);
    const runId = str(manifest.runId) ?? trace[0]!.runId ?? 'acpx-run';

    const acpxNodes = asObject(flowDoc.nodes) ?? {};
    if (Object.values(acpxNodes).some((n) => asObject(n)?.kind !== undefined && asObject(n)?.nodeType === undefined)) this.form = 'kind';
    const flow = convertAcpxFlow(flowDoc, manifest, this.label, (message) => this.warn(message));

    await this.checkArtifacts(trace);
    await this.loadSessions(manifest, trace);
    await this.convertTrace(trace, runId, flow, stepsRaw, runProjection, manifest);

    const artifacts = await writeImportedBundle(output, {
      runId,
      flow,
      events: this.events,
      state: this.state,
      sessions: this.sessions,
      artifactCheck: this.artifactCheck,
      source: (path) => this.files.source(path),
      dir: this.dir,
      form: this.form,
      version: this.options.version,
    });
    return {
      output,
      runId,
      status: this.state.status,
      form: this.form,
      events: this.events.length,
      sessions: this.sessions.size,
      artifacts,
      warnings: this.warnings,
    };
  }

  // ——— sessions ———

  private async loadSessions(manifest: Json, trace: AcpxEvent[]): Promise<void> {
    const listed = Array.isArray(manifest.sessions) ? manifest.sessions.map(asObject).filter((s) => s !== undefined) : [];
    const ids = new Map<string, Json>();
    for (const entry of listed) {
      const id = str(entry.id) ?? str(entry.sessionId);
      if (id) ids.set(id, entry);
    }
    for (const e of trace) if (e.sessionId && !ids.has(e.sessionId)) ids.set(e.sessionId, {});
    for (const [id, entry] of ids) {
      if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(id)) {
        this.warn(`session "${id}": not a usable directory name; not imported`);
        continue;
      }
      const bindingPath = str(entry.bindingPath) ?? `sessions/${id}/binding.json`;
      const eventsPath = str(entry.eventsPath) ?? `sessions/${id}/events.ndjson`;
      const binding = (await this.files.readJson(bindingPath, false)) ?? {};
      const raw = await this.files.readNdjson(eventsPath);
      const session: SessionData = {
        id,
        handle: str(binding.handle) ?? str(entry.handle) ?? 'main',
        binding,
        lines: [],
        oldToNew: new Map(),
        prompts: [],
        ranges: new Map(),
        turns: new Map(),
      };
      for (const { line, value } of raw) {
        const o = asObject(value);
        const direction = o?.direction === 'outbound' || o?.direction === 'outgoing' ? 'outgoing' : o?.direction === 'inbound' || o?.direction === 'incoming' ? 'incoming' : undefined;
        if (!o || !direction || typeof o.at !== 'string' || Number.isNaN(Date.parse(o.at))) {
          this.warn(`${eventsPath}:${line}: not an acpx session event; skipped`);
          continue;
        }
        const seq = session.lines.length + 1;
        const oldSeq = typeof o.seq === 'number' ? o.seq : seq;
        session.oldToNew.set(oldSeq, seq);
        session.lines.push({ seq, at: new Date(o.at).toISOString(), direction, message: (o.message ?? null) as never, oldSeq });
      }
      this.sessions.set(id, session);
    }
    // Which attempt prompted each session, and the event ranges acpx gave each turn.
    for (const e of trace) {
      const conversation = asObject(e.payload.conversation);
      // acpx puts the session id on the event, or only in the payload (`node_outcome`, the one event a timed-out
      // or failed turn gets) and in its conversation range.
      const sessionId = e.sessionId ?? str(e.payload.sessionId) ?? str(conversation?.sessionId);
      const session = sessionId ? this.sessions.get(sessionId) : undefined;
      if (!session || !e.attemptId) continue;
      if (e.type === 'acp_prompt_prepared') session.prompts.push(e.attemptId);
      if (conversation && typeof conversation.eventStartSeq === 'number' && typeof conversation.eventEndSeq === 'number') {
        session.ranges.set(e.attemptId, { from: conversation.eventStartSeq, to: conversation.eventEndSeq });
      }
    }
    for (const session of this.sessions.values()) {
      assignTurns(session, (message) => this.warn(message));
      const label = str(session.binding.agentName);
      if (label && !recordedAgent(session.lines)?.agent) {
        this.warn(`sessions/${session.id}: no answer to initialize recorded; the binding names no agent (acpx's profile was "${label}")`);
      }
    }
  }

  // ——— trace ———

  private emit(type: TraceEventType, fields: { nodeId?: string; attemptId?: string; sessionId?: string; payload: Json }, at: string, runId: string, source: AcpxEvent): void {
    const raw = { seq: this.events.length + 1, at, runId, scope: type.slice(0, type.indexOf('.')), type, ...fields };
    const parsed = TraceEvent.safeParse(JSON.parse(JSON.stringify(raw)));
    if (!parsed.success) {
      throw new ImportError(
        `${join(this.label, 'trace.ndjson')}:${source.line}: ${source.type} cannot be converted: ${describeZodError(parsed.error, type).message}`,
      );
    }
    this.events.push(parsed.data);
    this.state = reduce(this.state, parsed.data);
  }

  /** An acpx artifact ref as a flowtape one, when the file is there and matches its name. */
  private artifactRef(ref: unknown): ArtifactRef | undefined {
    if (!isRef(ref)) return undefined;
    const check = this.artifactCheck.get(ref.path);
    if (!check) return undefined;
    const sha256 = /sha256-([0-9a-f]{64})/.exec(ref.path)?.[1];
    if (!sha256) return undefined;
    const artifact: ArtifactRef = { path: ref.path, sha256, size: check.size, mediaType: ref.mediaType ?? (ref.path.endsWith('.json') ? 'application/json' : 'text/plain') };
    this.artifactsUsed.set(ref.path, artifact);
    return artifact;
  }

  private async checkArtifacts(trace: AcpxEvent[]): Promise<void> {
    const paths = new Set<string>();
    const visit = (value: unknown) => {
      if (Array.isArray(value)) value.forEach(visit);
      else if (asObject(value)) {
        const o = value as Json;
        if (isRef(o) && /^artifacts\/sha256-[0-9a-f]{64}(\.[a-z0-9]{1,16})?$/.test(o.path)) paths.add(o.path);
        Object.values(o).forEach(visit);
      }
    };
    for (const e of trace) visit(e.payload);
    let names: string[] = [];
    const artifactsDir = await this.files.source('artifacts');
    try {
      if (artifactsDir) names = await readdir(artifactsDir);
    } catch {
      // not a directory
    }
    for (const name of names) if (/^sha256-[0-9a-f]{64}(\.[a-z0-9]{1,16})?$/.test(name)) paths.add(`artifacts/${name}`);
    for (const path of [...paths].sort()) {
      let bytes: Buffer;
      const file = await this.files.source(path);
      try {
        if (!file) throw new Error('missing');
        bytes = await readFile(file);
      } catch {
        this.warn(`${path}: referenced by the acpx trace but missing`);
        this.artifactCheck.set(path, undefined);
        continue;
      }
      const hash = createHash('sha256').update(bytes).digest('hex');
      if (!path.includes(hash)) {
        this.warn(`${path}: content does not match its name (sha256 ${hash}); not imported`);
        this.artifactCheck.set(path, undefined);
        continue;
      }
      this.artifactCheck.set(path, { size: bytes.length });
    }
  }

  private async readArtifactJson(ref: unknown): Promise<unknown> {
    if (!isRef(ref) || !this.artifactCheck.get(ref.path)) return undefined;
    const file = await this.files.source(ref.path);
    try {
      const text = await readFile(file!, 'utf8');
      return (ref.mediaType ?? '').includes('json') || ref.path.endsWith('.json') ? JSON.parse(text) : text;
    } catch {
      return undefined;
    }
  }

  private value(ref: unknown, fallback: unknown, what: string): ValueRef | undefined {
    const artifact = this.artifactRef(ref);
    if (artifact) return { artifact };
    if (fallback !== undefined) {
      if (isRef(ref)) this.warn(`${what}: artifact ${ref.path} missing; the value is kept inline from the acpx projections`);
      return { inline: fallback as never };
    }
    if (isRef(ref)) this.warn(`${what}: artifact ${ref.path} missing; value lost`);
    return undefined;
  }

  private async convertTrace(trace: AcpxEvent[], runId: string, flow: FlowSnapshot, steps: Map<string, Json>, runProjection: Json | undefined, manifest: Json): Promise<void> {
    const first = trace[0]!;
    const runStartMs = Date.parse(first.at);
    const open = new Map<string, { nodeId: string; startMs: number; nodeType: string; shellStarted: boolean; shellDone: boolean; functionAction: boolean; prompted: Set<string>; finishedTurns: Set<string> }>();
    const nodeSpecs = new Map(flow.nodes.map((n) => [n.id, n]));
    // The node of the next attempt after each event: an edge is only written when the run really went there.
    const nextStarted: Array<string | undefined> = new Array(trace.length);
    let upcoming: string | undefined;
    for (let i = trace.length - 1; i >= 0; i--) {
      nextStarted[i] = upcoming;
      if (trace[i]!.type === 'node_started') upcoming = trace[i]!.nodeId;
    }
    // Roles of artifact_written events, from the refs that later events of the same attempt give them.
    const roles = new Map<string, string[]>();
    for (const e of trace) {
      if (!e.attemptId) continue;
      const add = (ref: unknown, role: string) => {
        if (!isRef(ref)) return;
        const key = `${e.attemptId}\u0000${ref.path}`;
        const list = roles.get(key) ?? [];
        if (!list.includes(role) || role === 'stdout' || role === 'stderr') list.push(role);
        roles.set(key, list);
      };
      if (e.type === 'acp_prompt_prepared') add(e.payload.promptArtifact, 'prompt');
      if (e.type === 'acp_response_parsed') add(e.payload.rawResponseArtifact, 'response');
      if (e.type === 'action_completed') {
        add(e.payload.stdoutArtifact, 'stdout');
        add(e.payload.stderrArtifact, 'stderr');
      }
      if (e.type === 'node_outcome') {
        add(e.payload.rawResponseArtifact, 'response');
        add(e.payload.outputArtifact, 'output');
      }
    }
    const boundSessions = new Set<string>();
    let ended = false;

    const bind = (attemptId: string, sessionId: string, at: string, source: AcpxEvent) => {
      const attempt = open.get(attemptId);
      const session = this.sessions.get(sessionId);
      if (!attempt || !session || attempt.prompted.has(sessionId)) return;
      attempt.prompted.add(sessionId);
      const binding = session.binding;
      const agentCommand = acpxAgentCommand(binding);
      this.emit(
        'session.bound',
        {
          nodeId: attempt.nodeId,
          attemptId,
          sessionId,
          payload: {
            handle: session.handle,
            acpSessionId: str(binding.acpSessionId) ?? str(binding.agentSessionId) ?? sessionId,
            mode: isIsolatedSession(session) ? 'isolated' : 'shared',
            reused: boundSessions.has(sessionId),
            agentCommand,
            path: sessionFiles(sessionId).dir,
          },
        },
        at,
        runId,
        source,
      );
      boundSessions.add(sessionId);
    };

    const finishTurn = (attemptId: string, sessionId: string, at: string, source: AcpxEvent, response: ValueRef | undefined, error?: ErrorInfo) => {
      const attempt = open.get(attemptId);
      const session = this.sessions.get(sessionId);
      const turn = session?.turns.get(attemptId);
      if (!attempt || !session || !turn || attempt.finishedTurns.has(sessionId)) return;
      attempt.finishedTurns.add(sessionId);
      this.emit(
        'acp.turn_finished',
        {
          nodeId: attempt.nodeId,
          attemptId,
          sessionId,
          payload: {
            // What the agent answered, also for a turn that failed or timed out (acpx cancels a timed-out turn and
            // the agent answers `cancelled`); null when it never answered.
            stopReason: turn.stopReason,
            sessionEvents: { from: turn.start, to: Math.max(turn.promptSeq, turn.lastSeq) },
            ...(turn.messagesEnd > turn.messageIndex ? { messages: { from: turn.messageIndex, to: turn.messagesEnd - 1 } } : {}),
            ...(response ? { response } : {}),
            ...(error ? { error } : {}),
          },
        },
        at,
        runId,
        source,
      );
    };

    const closeAttempt = (attemptId: string, outcome: string, error: ErrorInfo | undefined, at: string, source: AcpxEvent) => {
      const attempt = open.get(attemptId);
      if (!attempt) return;
      const durationMs = Math.max(0, Date.parse(at) - attempt.startMs);
      for (const sessionId of attempt.prompted) finishTurn(attemptId, sessionId, at, source, undefined, error ?? { message: `the attempt ended ${outcome}` });
      if (attempt.shellStarted && !attempt.shellDone) {
        this.emit('action.completed', { nodeId: attempt.nodeId, attemptId, payload: { actionType: 'shell', ok: false, durationMs, ...(error ? { error } : {}) } }, at, runId, source);
      }
      this.emit('node.outcome', { nodeId: attempt.nodeId, attemptId, payload: { outcome, durationMs, ...(error ? { error } : {}) } }, at, runId, source);
      open.delete(attemptId);
    };

    for (const [index, e] of trace.entries()) {
      const p = e.payload;
      const attempt = e.attemptId ? open.get(e.attemptId) : undefined;
      const scope = attempt && e.attemptId ? { nodeId: attempt.nodeId, attemptId: e.attemptId } : {};
      switch (e.type) {
        case 'run_started': {
          const input = this.value(p.inputArtifact, runProjection?.input, 'run input');
          this.emit('run.started', { payload: { flowName: str(p.flowName) ?? flow.name, ...(input ? { input } : {}) } }, e.at, runId, e);
          break;
        }
        case 'node_started': {
          if (!e.nodeId || !e.attemptId) {
            this.warn(`trace.ndjson:${e.line}: node_started without nodeId/attemptId; skipped`);
            break;
          }
          const spec = nodeSpecs.get(e.nodeId);
          const rawType = str(p.nodeType) ?? str(p.kind) ?? spec?.nodeType ?? 'compute';
          if (p.kind !== undefined && p.nodeType === undefined) this.form = 'kind';
          const nodeType = ['acp', 'compute', 'action', 'checkpoint', 'decision'].includes(rawType) ? rawType : 'compute';
          const functionAction = spec?.nodeType === 'action' && spec.actionType === 'function';
          open.set(e.attemptId, {
            nodeId: e.nodeId,
            startMs: Date.parse(e.at),
            nodeType,
            shellStarted: false,
            shellDone: false,
            functionAction,
            prompted: new Set(),
            finishedTurns: new Set(),
          });
          this.emit('node.started', { nodeId: e.nodeId, attemptId: e.attemptId, payload: { nodeType, attempt: attemptNumber(e.attemptId) } }, e.at, runId, e);
          if (functionAction) this.emit('action.started', { nodeId: e.nodeId, attemptId: e.attemptId, payload: { actionType: 'function' } }, e.at, runId, e);
          break;
        }
        case 'node_heartbeat':
          if (attempt) this.emit('node.heartbeat', { ...scope, payload: { elapsedMs: Math.max(0, Date.parse(e.at) - attempt.startMs) } }, e.at, runId, e);
          break;
        case 'artifact_written': {
          const ref = p.artifact ?? (e as unknown as Json).artifact;
          const artifact = this.artifactRef(ref);
          if (!artifact) {
            if (isRef(ref)) this.warn(`trace.ndjson:${e.line}: artifact_written for ${ref.path}, which is missing; skipped`);
            break;
          }
          const key = `${e.attemptId}\u0000${artifact.path}`;
          const role = roles.get(key)?.shift() ?? 'artifact';
          if (!attempt) break;
          this.emit('artifact.written', { ...scope, payload: { artifact, role } }, e.at, runId, e);
          break;
        }
        case 'session_bound': {
          // Bound to the ACP attempt running now (acpx does not say which).
          const current = [...open.keys()].at(-1);
          if (e.sessionId && current) bind(current, e.sessionId, e.at, e);
          break;
        }
        case 'acp_prompt_prepared': {
          const sessionId = e.sessionId ?? str(p.sessionId);
          if (!attempt || !e.attemptId || !sessionId) break;
          bind(e.attemptId, sessionId, e.at, e);
          const turn = this.sessions.get(sessionId)?.turns.get(e.attemptId);
          const prompt = this.value(p.promptArtifact, str(steps.get(e.attemptId)?.promptText) ?? null, `${e.attemptId} prompt`);
          if (!turn || !prompt) {
            this.warn(`trace.ndjson:${e.line}: the prompt of ${e.attemptId} is not in sessions/${sessionId}/events.ndjson; no acp.prompt_sent`);
            attempt.prompted.delete(sessionId);
            break;
          }
          this.emit('acp.prompt_sent', { ...scope, sessionId, payload: { prompt, messageIndex: turn.messageIndex, sessionEventSeq: turn.promptSeq } }, e.at, runId, e);
          break;
        }
        case 'acp_response_parsed': {
          const sessionId = e.sessionId ?? str(p.sessionId);
          if (!attempt || !e.attemptId || !sessionId) break;
          const response = this.value(p.rawResponseArtifact, str(steps.get(e.attemptId)?.rawText), `${e.attemptId} response`);
          finishTurn(e.attemptId, sessionId, e.at, e, response);
          break;
        }
        case 'action_prepared': {
          if (!attempt) break;
          const action = asObject(p.action) ?? {};
          const command = [str(action.command) ?? '', ...(Array.isArray(action.args) ? action.args.map(String) : [])];
          attempt.shellStarted = true;
          this.emit('action.started', { ...scope, payload: { actionType: 'shell', command, ...(str(action.cwd) ? { cwd: action.cwd } : {}) } }, e.at, runId, e);
          break;
        }
        case 'action_completed': {
          if (!attempt) break;
          const action = asObject(p.action) ?? {};
          const exitCode = typeof action.exitCode === 'number' ? action.exitCode : null;
          const stdout = this.value(p.stdoutArtifact, undefined, `${e.attemptId} stdout`);
          const stderr = this.value(p.stderrArtifact, undefined, `${e.attemptId} stderr`);
          if (!attempt.shellStarted) {
            attempt.shellStarted = true;
            this.emit('action.started', { ...scope, payload: { actionType: 'shell', command: [str(action.command) ?? '', ...(Array.isArray(action.args) ? action.args.map(String) : [])] } }, e.at, runId, e);
          }
          attempt.shellDone = true;
          this.emit(
            'action.completed',
            {
              ...scope,
              payload: {
                actionType: 'shell',
                ok: exitCode === 0 && !action.signal,
                durationMs: typeof action.durationMs === 'number' ? action.durationMs : Math.max(0, Date.parse(e.at) - attempt.startMs),
                exitCode,
                signal: str(action.signal) ?? null,
                ...(stdout ? { stdout } : {}),
                ...(stderr ? { stderr } : {}),
              },
            },
            e.at,
            runId,
            e,
          );
          break;
        }
        case 'node_outcome': {
          if (!attempt || !e.attemptId) {
            this.warn(`trace.ndjson:${e.line}: node_outcome for ${e.attemptId ?? '(no attempt)'}, which is not running; skipped`);
            break;
          }
          const outcome = ['ok', 'failed', 'timed_out', 'cancelled'].includes(String(p.outcome)) ? String(p.outcome) : 'failed';
          const error = errorInfo(p.error, outcome === 'timed_out' ? 'timed_out' : undefined);
          const durationMs = typeof p.durationMs === 'number' && p.durationMs >= 0 ? p.durationMs : Math.max(0, Date.parse(e.at) - attempt.startMs);
          const stepOutput = steps.get(e.attemptId)?.output;
          const output = p.outputInline !== undefined ? ({ inline: p.outputInline } as ValueRef) : this.value(p.outputArtifact, stepOutput, `${e.attemptId} output`);
          // A turn that timed out or failed gets no acp_response_parsed: what the agent said is only here.
          const unfinished = [...attempt.prompted].some((id) => !attempt.finishedTurns.has(id));
          const partial = unfinished ? this.value(p.rawResponseArtifact, undefined, `${e.attemptId} response`) : undefined;
          for (const sessionId of attempt.prompted) {
            finishTurn(e.attemptId, sessionId, e.at, e, partial, outcome === 'ok' ? undefined : (error ?? { message: `the turn ended ${outcome}` }));
          }
          if (attempt.functionAction) {
            this.emit('action.completed', { ...scope, payload: { actionType: 'function', ok: outcome === 'ok', durationMs, ...(output ? { output } : {}), ...(error ? { error } : {}) } }, e.at, runId, e);
          } else if (attempt.shellStarted && !attempt.shellDone) {
            this.emit('action.completed', { ...scope, payload: { actionType: 'shell', ok: false, durationMs, ...(error ? { error } : {}) } }, e.at, runId, e);
          }
          this.emit('node.outcome', { ...scope, payload: { outcome, durationMs, ...(output ? { output } : {}), ...(error ? { error } : {}) } }, e.at, runId, e);
          open.delete(e.attemptId);
          // The edge acpx followed (it records none): recomputed, and kept only if the next attempt agrees.
          const outputValue = p.outputInline !== undefined ? p.outputInline : ((await this.readArtifactJson(p.outputArtifact)) ?? stepOutput);
          const edge = flow.edges.find((candidate) => candidate.from === attempt.nodeId);
          const next = nextStarted[index];
          if (edge && next !== undefined) {
            if ('switch' in edge) {
              const onResult = edge.switch.on.startsWith('$result');
              if (outcome === 'ok' || onResult) {
                const result = { attemptId: e.attemptId, nodeId: attempt.nodeId, nodeType: attempt.nodeType, outcome, durationMs, output: outputValue, error: p.error ?? undefined };
                const evaluated = evaluateSwitch(edge.switch.on, outputValue, result);
                if (evaluated.ok) {
                  const caseKey = String(evaluated.value);
                  const to = edge.switch.cases[caseKey];
                  if (to === next) {
                    this.emit('edge.taken', { ...scope, payload: { from: attempt.nodeId, to, branch: { on: edge.switch.on, value: evaluated.value as never, caseKey } } }, e.at, runId, e);
                  }
                }
              }
            } else if (outcome === 'ok' && edge.to === next) {
              this.emit('edge.taken', { ...scope, payload: { from: attempt.nodeId, to: edge.to } }, e.at, runId, e);
            }
          }
          break;
        }
        case 'run_completed':
          for (const id of [...open.keys()]) closeAttempt(id, 'failed', { message: 'the run completed before this attempt had an outcome' }, e.at, e);
          this.emit('run.completed', { payload: { durationMs: Math.max(0, Date.parse(e.at) - runStartMs) } }, e.at, runId, e);
          ended = true;
          break;
        case 'run_failed': {
          const durationMs = Math.max(0, Date.parse(e.at) - runStartMs);
          const message = typeof p.error === 'string' ? p.error : str(asObject(p.error)?.message);
          if (message === 'Interrupted') {
            for (const id of [...open.keys()]) closeAttempt(id, 'cancelled', { message: 'Interrupted', code: 'cancelled' }, e.at, e);
            this.emit('run.cancelled', { payload: { reason: 'interrupted', durationMs } }, e.at, runId, e);
          } else {
            const code = p.status === 'timed_out' ? 'node_timed_out' : undefined;
            for (const id of [...open.keys()]) closeAttempt(id, 'failed', errorInfo(p.error, code), e.at, e);
            this.emit('run.failed', { payload: { error: errorInfo(p.error ?? 'the run failed', code)!, durationMs } }, e.at, runId, e);
          }
          ended = true;
          break;
        }
        default:
          this.warn(`trace.ndjson:${e.line}: acpx event type "${e.type}" is not known to this importer; skipped`);
      }
    }
    // A checkpoint stopped the run: acpx says so only in its projections.
    const status = str(manifest.status) ?? str(runProjection?.status);
    if (!ended && status === 'waiting') {
      const last = this.state.steps.last();
      const checkpoint = str(runProjection?.waitingOn) ?? (last?.nodeType === 'checkpoint' ? last.nodeId : undefined);
      if (checkpoint) {
        const spec = nodeSpecs.get(checkpoint);
        const message = spec?.nodeType === 'checkpoint' ? spec.message : undefined;
        this.emit('run.waiting', { payload: { checkpoint, ...(message ? { message } : {}) } }, trace.at(-1)!.at, runId, trace.at(-1)!);
      }
    } else if (!ended && status && ENDED.has(status)) {
      this.warn(`the acpx manifest says "${status}" but its trace has no run end; imported as still running`);
    }
  }

}
