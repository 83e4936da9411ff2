// The trace of an acpx run as flowtape trace events, each checked against the schema and folded by the reducer as
// it is made. What acpx does not record is derived here (see import-acpx.ts): edges, function actions, the end of
// a failed shell command, the outcome of attempts an interrupted run left open, a checkpoint's run.waiting.
import { join } from 'node:path';
import {
  TraceEvent,
  describeZodError,
  initialState,
  reduce,
  sessionFiles,
  type ErrorInfo,
  type FlowSnapshot,
  type TraceEventType,
  type ValueRef,
} from '@flowtape/schema';
import type { AcpxArtifacts } from './import-acpx-artifacts.ts';
import type { SessionData } from './import-acpx-turns.ts';
import {
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

export class AcpxTraceConverter {
  readonly events: TraceEvent[] = [];
  state = initialState();

  constructor(
    private readonly label: string,
    private readonly sessions: Map<string, SessionData>,
    private readonly artifacts: AcpxArtifacts,
    private readonly warn: (message: string) => void,
    /** `kind` when the flow or an event is of acpx's older form. */
    public form: 'nodeType' | 'kind',
  ) {}

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

  async convert(trace: AcpxEvent[], runId: string, flow: FlowSnapshot, steps: Map<string, Json>, runProjection: Json | undefined, manifest: Json): Promise<void> {
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
          const input = this.artifacts.value(p.inputArtifact, runProjection?.input, 'run input');
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
          const artifact = this.artifacts.ref(ref);
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
          const prompt = this.artifacts.value(p.promptArtifact, str(steps.get(e.attemptId)?.promptText) ?? null, `${e.attemptId} prompt`);
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
          const response = this.artifacts.value(p.rawResponseArtifact, str(steps.get(e.attemptId)?.rawText), `${e.attemptId} response`);
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
          const stdout = this.artifacts.value(p.stdoutArtifact, undefined, `${e.attemptId} stdout`);
          const stderr = this.artifacts.value(p.stderrArtifact, undefined, `${e.attemptId} stderr`);
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
          const output = p.outputInline !== undefined ? ({ inline: p.outputInline } as ValueRef) : this.artifacts.value(p.outputArtifact, stepOutput, `${e.attemptId} output`);
          // A turn that timed out or failed gets no acp_response_parsed: what the agent said is only here.
          const unfinished = [...attempt.prompted].some((id) => !attempt.finishedTurns.has(id));
          const partial = unfinished ? this.artifacts.value(p.rawResponseArtifact, undefined, `${e.attemptId} response`) : undefined;
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
          const outputValue = p.outputInline !== undefined ? p.outputInline : ((await this.artifacts.readJson(p.outputArtifact)) ?? stepOutput);
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
