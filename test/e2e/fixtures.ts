// Builds bundles for the viewer's end-to-end tests and benchmark. Every document and every trace line is
// validated against the schema's zod schemas before it is written, and the projections and conversation
// records are produced by the schema's own reducer and conversation builder — the same way the recorder
// writes them. Damage (torn lines, unknown event types, a newer major version) is applied on purpose, after.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  ArtifactRef,
  FlowSnapshot,
  Manifest,
  SCHEMA_IDS,
  SessionBinding,
  SessionEventLine,
  SessionRecord,
  TraceEvent,
  ConversationBuilder,
  initialState,
  reduce,
  sessionFiles,
  toLiveProjection,
  toRunProjection,
  toStepsProjection,
  type ProjectionState,
  type RunStatus,
} from '@flowtape/schema';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type EventInput = DistributiveOmit<TraceEvent, 'seq' | 'at' | 'runId'>;
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const BASE_TIME = Date.UTC(2026, 0, 15, 9, 0, 0);

/** Writes one bundle: trace lines are appended as they are added (so a live viewer sees them arrive). */
export class BundleWriter {
  seq = 0;
  state: ProjectionState = initialState();
  private clock = BASE_TIME;
  private readonly sessions = new Map<string, SessionWriter>();
  private pending: string[] = [];

  constructor(
    readonly dir: string,
    readonly runId: string,
    readonly flow: FlowSnapshot,
    readonly options: { validate?: 'all' | 'sample' } = {},
  ) {
    mkdirSync(join(dir, 'projections'), { recursive: true });
    mkdirSync(join(dir, 'artifacts'), { recursive: true });
    writeJson(join(dir, 'flow.json'), FlowSnapshot.parse(flow));
    writeFileSync(join(dir, 'trace.ndjson'), '');
  }

  now(advanceMs = 7): string {
    this.clock += advanceMs;
    return new Date(this.clock).toISOString();
  }

  event(input: EventInput, advanceMs = 7): TraceEvent {
    this.seq++;
    const raw = { seq: this.seq, at: this.now(advanceMs), runId: this.runId, ...input };
    const event = this.options.validate === 'sample' && this.seq % 97 !== 1 ? (raw as TraceEvent) : TraceEvent.parse(raw);
    this.state = reduce(this.state, event);
    this.pending.push(JSON.stringify(event));
    if (this.pending.length >= 5000) this.flush();
    return event;
  }

  /** Appends buffered trace lines to trace.ndjson. */
  flush(): void {
    // Session traffic first: a trace event never points at session lines that are not on disk yet.
    for (const s of this.sessions.values()) s.flush();
    if (this.pending.length === 0) return;
    appendFileSync(join(this.dir, 'trace.ndjson'), this.pending.join('\n') + '\n');
    this.pending = [];
  }

  artifact(content: string, ext: string, mediaType: string): ArtifactRef {
    const bytes = Buffer.from(content, 'utf8');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const ref = ArtifactRef.parse({ path: `artifacts/sha256-${sha256}.${ext}`, sha256, size: bytes.length, mediaType });
    writeFileSync(join(this.dir, ref.path), bytes);
    return ref;
  }

  session(sessionId: string, handle: string, agentCommand: string[] = ['scripted-agent']): SessionWriter {
    let s = this.sessions.get(sessionId);
    if (!s) {
      s = new SessionWriter(this, sessionId, handle, agentCommand);
      this.sessions.set(sessionId, s);
    }
    return s;
  }

  /** Writes session records, projections and the manifest (in that order: trace first, manifest last). */
  finish(opts: { complete: boolean; status?: RunStatus }): void {
    this.flush();
    for (const s of this.sessions.values()) s.writeRecord();
    writeJson(join(this.dir, 'projections', 'run.json'), toRunProjection(this.state));
    writeJson(join(this.dir, 'projections', 'live.json'), toLiveProjection(this.state));
    writeJson(join(this.dir, 'projections', 'steps.json'), toStepsProjection(this.state));
    const status = opts.status ?? this.state.status;
    const manifest = Manifest.parse({
      schema: SCHEMA_IDS.bundle,
      runId: this.runId,
      flowName: this.flow.name,
      status,
      complete: opts.complete,
      createdAt: new Date(BASE_TIME).toISOString(),
      updatedAt: new Date(this.clock).toISOString(),
      ...(opts.complete ? { endedAt: new Date(this.clock).toISOString() } : {}),
      lastSeq: this.seq,
      files: { flow: 'flow.json', trace: 'trace.ndjson', run: 'projections/run.json', live: 'projections/live.json', steps: 'projections/steps.json' },
      sessions: [...this.sessions.keys()].map((sessionId) => ({ sessionId, path: sessionFiles(sessionId).dir })),
      writer: { name: 'flowtape-e2e-fixtures', version: '1' },
    });
    writeJson(join(this.dir, 'manifest.json'), manifest);
  }
}

interface PermissionStep { permission: { title: string; allow: boolean } }

export class SessionWriter {
  seq = 0;
  private rpcId = 0;
  /** The conversation so far, built incrementally by the schema's builder (as the recorder does). */
  private readonly conversation = new ConversationBuilder();
  private pending: string[] = [];
  readonly acpSessionId: string;

  constructor(
    readonly bundle: BundleWriter,
    readonly sessionId: string,
    readonly handle: string,
    readonly agentCommand: string[],
  ) {
    this.acpSessionId = `acp-${sessionId}`;
    const files = sessionFiles(sessionId);
    mkdirSync(join(bundle.dir, files.dir), { recursive: true });
    writeFileSync(join(bundle.dir, files.events), '');
    writeJson(join(bundle.dir, files.binding), SessionBinding.parse({
      schema: SCHEMA_IDS.sessionBinding,
      sessionId,
      handle,
      acpSessionId: this.acpSessionId,
      mode: 'shared',
      agentCommand,
      createdAt: bundle.now(0),
    }));
  }

  line(direction: 'outgoing' | 'incoming' | 'stderr', message: Json | undefined, attemptId?: string, text?: string): SessionEventLine {
    this.seq++;
    const line = SessionEventLine.parse({
      seq: this.seq,
      at: this.bundle.now(1),
      direction,
      ...(message !== undefined ? { message } : {}),
      ...(text !== undefined ? { text } : {}),
      ...(attemptId ? { attemptId } : {}),
    });
    this.conversation.add(line);
    this.pending.push(JSON.stringify(line));
    if (this.pending.length >= 500) this.flush();
    return line;
  }

  flush(): void {
    if (this.pending.length === 0) return;
    appendFileSync(join(this.bundle.dir, sessionFiles(this.sessionId).events), this.pending.join('\n') + '\n');
    this.pending = [];
  }

  update(attemptId: string, update: Record<string, Json>): SessionEventLine {
    return this.line('incoming', { jsonrpc: '2.0', method: 'session/update', params: { sessionId: this.acpSessionId, update } }, attemptId);
  }

  /**
   * One ACP turn: the prompt request, the agent's updates, its response; with the matching trace events
   * (`acp.prompt_sent` … `acp.turn_finished`) and prompt/response artifacts.
   */
  turn(nodeId: string, attemptId: string, prompt: string, updates: Array<Record<string, Json> | PermissionStep>): void {
    const b = this.bundle;
    const messagesBefore = this.conversation.messages.length;
    const id = ++this.rpcId;
    const request = this.line('outgoing', { jsonrpc: '2.0', id, method: 'session/prompt', params: { sessionId: this.acpSessionId, prompt: [{ type: 'text', text: prompt }] } }, attemptId);
    const promptRef = b.artifact(prompt, 'txt', 'text/plain');
    b.event({ scope: 'artifact', type: 'artifact.written', nodeId, attemptId, payload: { artifact: promptRef, role: 'prompt' } });
    b.event({ scope: 'acp', type: 'acp.prompt_sent', nodeId, attemptId, sessionId: this.sessionId, payload: { prompt: { artifact: promptRef, preview: prompt.slice(0, 200) }, messageIndex: messagesBefore, sessionEventSeq: request.seq } });
    let agentText = '';
    for (const u of updates) {
      if ('permission' in u) {
        const perm = (u as PermissionStep).permission;
        const pid = 1000 + ++this.rpcId;
        this.line('incoming', { jsonrpc: '2.0', id: pid, method: 'session/request_permission', params: {
          sessionId: this.acpSessionId,
          toolCall: { toolCallId: `perm-${pid}`, title: perm.title },
          options: [{ optionId: 'allow', name: 'Allow once', kind: 'allow_once' }, { optionId: 'reject', name: 'Reject', kind: 'reject_once' }],
        } }, attemptId);
        this.line('outgoing', { jsonrpc: '2.0', id: pid, result: { outcome: { outcome: 'selected', optionId: perm.allow ? 'allow' : 'reject' } } }, attemptId);
        continue;
      }
      if (u.sessionUpdate === 'agent_message_chunk') agentText += String((u.content as { text?: string }).text ?? '');
      this.update(attemptId, u as Record<string, Json>);
    }
    const response = this.line('incoming', { jsonrpc: '2.0', id, result: { stopReason: 'end_turn' } }, attemptId);
    const messagesAfter = this.conversation.messages.length;
    const responseRef = b.artifact(agentText, 'txt', 'text/plain');
    b.event({ scope: 'artifact', type: 'artifact.written', nodeId, attemptId, payload: { artifact: responseRef, role: 'response' } });
    b.event({ scope: 'acp', type: 'acp.turn_finished', nodeId, attemptId, sessionId: this.sessionId, payload: {
      stopReason: 'end_turn',
      sessionEvents: { from: request.seq, to: response.seq },
      ...(messagesAfter > messagesBefore ? { messages: { from: messagesBefore, to: messagesAfter - 1 } } : {}),
      response: agentText.length > 120 ? { artifact: responseRef, preview: agentText.slice(0, 120) } : { inline: agentText },
    } });
  }

  writeRecord(): void {
    this.flush();
    const files = sessionFiles(this.sessionId);
    writeJson(join(this.bundle.dir, files.record), SessionRecord.parse({
      schema: SCHEMA_IDS.sessionRecord,
      sessionId: this.sessionId,
      acpSessionId: this.acpSessionId,
      handle: this.handle,
      lastSeq: this.seq,
      updatedAt: this.bundle.now(0),
      messages: this.conversation.messages,
    }));
  }
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

// ---------------------------------------------------------------------------------------------------------
// The review flow: plan → implement → test (shell) → route (switch on $.verdict: pass → finish, fail → implement)

export const REVIEW_FLOW: FlowSnapshot = {
  schema: SCHEMA_IDS.flow,
  name: 'review-loop',
  description: 'Plan, implement, test, and loop back until the tests pass.',
  startAt: 'plan',
  nodes: [
    { id: 'plan', nodeType: 'acp', title: 'Plan the change', sessionHandle: 'main', sessionMode: 'shared', promptSource: 'Plan: {{task}}' },
    { id: 'implement', nodeType: 'acp', title: 'Implement', sessionHandle: 'main', sessionMode: 'shared', promptSource: 'Implement the plan' },
    { id: 'test', nodeType: 'action', actionType: 'shell', title: 'Run tests', command: 'npm test' },
    { id: 'route', nodeType: 'decision', title: 'Tests green?', choices: ['pass', 'fail'] },
    { id: 'review', nodeType: 'acp', title: 'Review', sessionHandle: 'reviewer', sessionMode: 'isolated' },
    { id: 'finish', nodeType: 'compute', title: 'Summarise' },
  ],
  edges: [
    { from: 'plan', to: 'implement' },
    { from: 'implement', to: 'test' },
    { from: 'test', to: 'route' },
    { from: 'route', switch: { on: '$.verdict', cases: { pass: 'review', fail: 'implement' } } },
    { from: 'review', to: 'finish' },
  ],
};

export const XSS_SCRIPT = '<script>window.__xss = (window.__xss || 0) + 1</script>';
export const XSS_IMG = '<img src=x onerror="window.__xss = (window.__xss || 0) + 1">';

export interface ReviewRunOptions {
  /** Put script and onerror payloads into agent text, thoughts, tool titles and artifacts. */
  xss?: boolean;
  /** Write only the first `stopAfter` steps and leave the manifest incomplete (a run being written). */
  stopAfter?: number;
  runId?: string;
}

/** The attempts of the review run, in order; `stopAfter` cuts the run after that many. */
export function reviewSteps(w: BundleWriter, opts: ReviewRunOptions): Array<() => void> {
  const main = () => w.session('main-1', 'main');
  const evil = opts.xss ? ` ${XSS_SCRIPT} ${XSS_IMG}` : '';
  const start = (nodeId: string, nodeType: 'acp' | 'compute' | 'action' | 'checkpoint' | 'decision', attempt: number) => {
    const attemptId = `${nodeId}#${attempt}`;
    w.event({ scope: 'node', type: 'node.started', nodeId, attemptId, payload: { nodeType, attempt } });
    return attemptId;
  };
  const outcome = (nodeId: string, attemptId: string, ok: boolean, output?: Json, error?: string) =>
    w.event({ scope: 'node', type: 'node.outcome', nodeId, attemptId, payload: {
      outcome: ok ? 'ok' : 'failed',
      durationMs: 1200,
      ...(output !== undefined ? { output: { inline: output } } : {}),
      ...(error ? { error: { message: error, code: 'exit_code' } } : {}),
    } }, 1200);
  const edge = (from: string, to: string, attemptId: string, branch?: { value: string }) =>
    w.event({ scope: 'edge', type: 'edge.taken', nodeId: from, attemptId, payload: {
      from, to, ...(branch ? { branch: { on: '$.verdict', value: branch.value, caseKey: branch.value } } : {}),
    } });
  const bind = (nodeId: string, attemptId: string, sessionId: string, handle: string, reused: boolean) =>
    w.event({ scope: 'session', type: 'session.bound', nodeId, attemptId, sessionId, payload: {
      handle, acpSessionId: `acp-${sessionId}`, mode: 'shared', reused, agentCommand: ['scripted-agent'], path: `sessions/${sessionId}`,
    } });
  const shell = (nodeId: string, attemptId: string, ok: boolean, stdout: string) => {
    w.event({ scope: 'action', type: 'action.started', nodeId, attemptId, payload: { actionType: 'shell', command: 'npm test', cwd: '/work' } });
    const out = w.artifact(stdout, 'txt', 'text/plain');
    w.event({ scope: 'artifact', type: 'artifact.written', nodeId, attemptId, payload: { artifact: out, role: 'stdout' } });
    w.event({ scope: 'action', type: 'action.completed', nodeId, attemptId, payload: {
      actionType: 'shell', ok, durationMs: 900, exitCode: ok ? 0 : 1, signal: null,
      stdout: { artifact: out, preview: stdout.slice(0, 80) }, stderr: { inline: ok ? '' : 'Error: 1 test failed' + evil },
    } }, 900);
  };

  return [
    () => {
      w.event({ scope: 'run', type: 'run.started', payload: { flowName: REVIEW_FLOW.name, input: { inline: { task: 'add a --verbose flag' } } } });
      const a = start('plan', 'acp', 1);
      bind('plan', a, 'main-1', 'main', false);
      main().turn('plan', a, 'Plan: add a --verbose flag', [
        { sessionUpdate: 'agent_thought_chunk', content: { type: 'text', text: 'The CLI entry is src/cli.ts; flags are parsed with commander.' + evil } },
        { sessionUpdate: 'plan', entries: [{ content: 'Add the flag', status: 'pending', priority: 'high' }, { content: 'Test it', status: 'pending', priority: 'medium' }] },
        { sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: 'PLAN-MESSAGE: add the flag in src/cli.ts, then a test.' + evil } },
      ]);
      outcome('plan', a, true, { plan: 'two steps' });
      edge('plan', 'implement', a);
    },
    () => {
      const a = start('implement', 'acp', 1);
      bind('implement', a, 'main-1', 'main', true);
      main().turn('implement', a, 'Implement the plan', [
        { sessionUpdate: 'tool_call', toolCallId: 'edit-1', title: 'Edit src/cli.ts' + evil, kind: 'edit', status: 'pending' },
        { permission: { title: 'Write src/cli.ts', allow: true } },
        { sessionUpdate: 'tool_call_update', toolCallId: 'edit-1', status: 'completed', content: [{ type: 'content', content: { type: 'text', text: 'wrote 12 lines' } }] },
        { sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: 'IMPLEMENT-1-MESSAGE: the flag is in.' + evil } },
      ]);
      outcome('implement', a, true);
      edge('implement', 'test', a);
    },
    () => {
      const a = start('test', 'action', 1);
      shell('test', a, false, '1 failing\n  ✗ --verbose prints nothing' + evil);
      outcome('test', a, false, undefined, 'npm test exited with code 1');
      edge('test', 'route', a);
    },
    () => {
      const a = start('route', 'decision', 1);
      outcome('route', a, true, { verdict: 'fail' });
      edge('route', 'implement', a, { value: 'fail' });
    },
    () => {
      const a = start('implement', 'acp', 2);
      bind('implement', a, 'main-1', 'main', true);
      main().turn('implement', a, 'The test failed: 1 failing. Fix it.', [
        { sessionUpdate: 'tool_call', toolCallId: 'edit-2', title: 'Edit src/log.ts', kind: 'edit', status: 'in_progress' },
        { sessionUpdate: 'tool_call_update', toolCallId: 'edit-2', status: 'completed' },
        { sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: 'IMPLEMENT-2-MESSAGE: fixed the logger.' + evil } },
      ]);
      outcome('implement', a, true);
      edge('implement', 'test', a);
    },
    () => {
      const a = start('test', 'action', 2);
      shell('test', a, true, '4 passing');
      outcome('test', a, true);
      edge('test', 'route', a);
    },
    () => {
      const a = start('route', 'decision', 2);
      outcome('route', a, true, { verdict: 'pass' });
      edge('route', 'review', a, { value: 'pass' });
    },
    () => {
      const a = start('review', 'acp', 1);
      bind('review', a, 'reviewer-1', 'reviewer', false);
      w.session('reviewer-1', 'reviewer').turn('review', a, 'Review the diff', [
        { sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: 'REVIEW-MESSAGE: looks good.' + evil } },
      ]);
      outcome('review', a, true, { approved: true });
      edge('review', 'finish', a);
    },
    () => {
      const a = start('finish', 'compute', 1);
      outcome('finish', a, true, { summary: 'done' + evil });
      w.event({ scope: 'run', type: 'run.completed', payload: { output: { inline: { summary: 'done' } }, durationMs: 9000 } });
    },
  ];
}

/** A complete (or, with stopAfter, half-written) run of REVIEW_FLOW. Returns the writer for further appends. */
export function writeReviewRun(dir: string, opts: ReviewRunOptions = {}): { writer: BundleWriter; rest: Array<() => void> } {
  const w = new BundleWriter(dir, opts.runId ?? 'run-review-1', REVIEW_FLOW);
  const steps = reviewSteps(w, opts);
  const n = opts.stopAfter ?? steps.length;
  for (const step of steps.slice(0, n)) step();
  w.finish({ complete: n >= steps.length });
  return { writer: w, rest: steps.slice(n) };
}

/** A finished review run whose trace ends in a torn line (the writer was killed mid-append). */
export function writeTornRun(dir: string): void {
  const { writer } = writeReviewRun(dir, { runId: 'run-torn', stopAfter: 4 });
  writer.finish({ complete: true, status: 'failed' });
  appendFileSync(join(dir, 'trace.ndjson'), '{"seq":999,"at":"2026-01-15T09:00:');
}

/** A review run with events of types this reader does not know (a newer minor version of the format). */
export function writeUnknownTypesRun(dir: string): void {
  const w = new BundleWriter(dir, 'run-unknown', REVIEW_FLOW);
  const steps = reviewSteps(w, {});
  steps[0]!();
  w.flush();
  const unknown = (type: string, payload: Record<string, unknown>) => {
    w.seq++;
    appendFileSync(join(dir, 'trace.ndjson'), JSON.stringify({ seq: w.seq, at: w.now(), runId: w.runId, scope: 'future', type, nodeId: 'plan', payload }) + '\n');
  };
  unknown('future.telemetry', { cpu: 0.5 });
  unknown('node.annotated', { note: 'from a newer recorder' });
  for (const step of steps.slice(1)) step();
  w.finish({ complete: true });
}

/** A bundle from a newer major version of the format. */
export function writeNewerMajorRun(dir: string): void {
  writeReviewRun(dir, { runId: 'run-newer' });
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  manifest.schema = 'flowtape.bundle.v2';
  writeJson(join(dir, 'manifest.json'), manifest);
}

// ---------------------------------------------------------------------------------------------------------
// A large synthetic run for the benchmark: a loop of ten nodes (ACP turns in one shared session, a shell
// action, a switch) repeated until the trace holds `events` events.

export const SYNTHETIC_FLOW: FlowSnapshot = {
  schema: SCHEMA_IDS.flow,
  name: 'synthetic-loop',
  startAt: 'fetch',
  nodes: [
    { id: 'fetch', nodeType: 'compute', title: 'Fetch work item' },
    { id: 'triage', nodeType: 'decision', title: 'Triage' },
    { id: 'plan', nodeType: 'acp', title: 'Plan', sessionHandle: 'main', sessionMode: 'shared' },
    { id: 'code', nodeType: 'acp', title: 'Code', sessionHandle: 'main', sessionMode: 'shared' },
    { id: 'lint', nodeType: 'action', actionType: 'shell', title: 'Lint', command: 'npm run lint' },
    { id: 'test', nodeType: 'action', actionType: 'shell', title: 'Test', command: 'npm test' },
    { id: 'check', nodeType: 'decision', title: 'Check' },
    { id: 'review', nodeType: 'acp', title: 'Review', sessionHandle: 'reviewer', sessionMode: 'shared' },
    { id: 'record', nodeType: 'compute', title: 'Record result' },
    { id: 'report', nodeType: 'compute', title: 'Report' },
  ],
  edges: [
    { from: 'fetch', to: 'triage' },
    { from: 'triage', switch: { on: '$.kind', cases: { code: 'plan', skip: 'record' } } },
    { from: 'plan', to: 'code' },
    { from: 'code', to: 'lint' },
    { from: 'lint', to: 'test' },
    { from: 'test', to: 'check' },
    { from: 'check', switch: { on: '$.verdict', cases: { retry: 'code', ok: 'review' } } },
    { from: 'review', to: 'record' },
    { from: 'record', switch: { on: '$.more', cases: { yes: 'fetch', no: 'report' } } },
  ],
};

export function writeSyntheticRun(dir: string, events: number): BundleWriter {
  const w = new BundleWriter(dir, 'run-synthetic', SYNTHETIC_FLOW, { validate: 'sample' });
  const attempts = new Map<string, number>();
  const start = (nodeId: string, nodeType: 'acp' | 'compute' | 'action' | 'decision') => {
    const attempt = (attempts.get(nodeId) ?? 0) + 1;
    attempts.set(nodeId, attempt);
    const attemptId = `${nodeId}#${attempt}`;
    w.event({ scope: 'node', type: 'node.started', nodeId, attemptId, payload: { nodeType, attempt } });
    return attemptId;
  };
  const done = (nodeId: string, attemptId: string, output?: Json, ok = true) =>
    w.event({ scope: 'node', type: 'node.outcome', nodeId, attemptId, payload: {
      outcome: ok ? 'ok' : 'failed', durationMs: 40, ...(output !== undefined ? { output: { inline: output } } : {}),
    } }, 40);
  const edge = (from: string, to: string, attemptId: string, on?: string, value?: string) =>
    w.event({ scope: 'edge', type: 'edge.taken', nodeId: from, attemptId, payload: {
      from, to, ...(on ? { branch: { on, value: value ?? null, caseKey: value } } : {}),
    } });
  const acp = (nodeId: string, sessionId: string, handle: string, text: string) => {
    const a = start(nodeId, 'acp');
    w.event({ scope: 'session', type: 'session.bound', nodeId, attemptId: a, sessionId, payload: {
      handle, acpSessionId: `acp-${sessionId}`, mode: 'shared', reused: true, agentCommand: ['scripted-agent'], path: `sessions/${sessionId}`,
    } });
    w.session(sessionId, handle).turn(nodeId, a, `${nodeId}: next step`, [
      { sessionUpdate: 'agent_thought_chunk', content: { type: 'text', text: `thinking about ${a}` } },
      { sessionUpdate: 'agent_message_chunk', content: { type: 'text', text } },
    ]);
    return a;
  };
  const shell = (nodeId: string, command: string, ok: boolean) => {
    const a = start(nodeId, 'action');
    w.event({ scope: 'action', type: 'action.started', nodeId, attemptId: a, payload: { actionType: 'shell', command } });
    w.event({ scope: 'action', type: 'action.completed', nodeId, attemptId: a, payload: {
      actionType: 'shell', ok, durationMs: 30, exitCode: ok ? 0 : 1, signal: null, stdout: { inline: ok ? 'ok' : '1 failing' },
    } }, 30);
    done(nodeId, a, undefined, ok);
    return a;
  };

  w.event({ scope: 'run', type: 'run.started', payload: { flowName: SYNTHETIC_FLOW.name, deterministic: true } });
  for (let i = 0; ; i++) {
    const last = w.seq > events - 100;
    let a = start('fetch', 'compute');
    w.event({ scope: 'node', type: 'node.heartbeat', nodeId: 'fetch', attemptId: a, payload: { elapsedMs: 20 } });
    done('fetch', a, { item: i });
    edge('fetch', 'triage', a);
    a = start('triage', 'decision');
    const kind = i % 5 === 4 ? 'skip' : 'code';
    done('triage', a, { kind });
    edge('triage', kind === 'code' ? 'plan' : 'record', a, '$.kind', kind);
    if (kind === 'code') {
      a = acp('plan', 'main', 'main', `Plan for item ${i}.`);
      done('plan', a);
      edge('plan', 'code', a);
      for (let attempt = 0; ; attempt++) {
        a = acp('code', 'main', 'main', `Code for item ${i}, try ${attempt + 1}.`);
        done('code', a);
        edge('code', 'lint', a);
        a = shell('lint', 'npm run lint', true);
        edge('lint', 'test', a);
        const ok = attempt > 0 || i % 3 !== 0;
        a = shell('test', 'npm test', ok);
        edge('test', 'check', a);
        a = start('check', 'decision');
        done('check', a, { verdict: ok ? 'ok' : 'retry' });
        edge('check', ok ? 'review' : 'code', a, '$.verdict', ok ? 'ok' : 'retry');
        if (ok) break;
      }
      a = acp('review', 'reviewer', 'reviewer', `Item ${i} looks fine.`);
      done('review', a);
      edge('review', 'record', a);
    }
    a = start('record', 'compute');
    done('record', a, { recorded: i });
    edge('record', last ? 'report' : 'fetch', a, '$.more', last ? 'no' : 'yes');
    if (last) break;
  }
  const a = start('report', 'compute');
  while (w.seq < events - 2) w.event({ scope: 'node', type: 'node.heartbeat', nodeId: 'report', attemptId: a, payload: { elapsedMs: w.seq } }, 1);
  done('report', a, { items: 'all' });
  w.event({ scope: 'run', type: 'run.completed', payload: { durationMs: 1000 } });
  w.finish({ complete: true });
  return w;
}

/** A bundle holding only its manifest (enough for the run list), for runs-roots with very many runs. */
export function writeManifestOnly(dir: string, runId: string, status: RunStatus, flowName: string, startedAt: Date): void {
  mkdirSync(dir, { recursive: true });
  const at = startedAt.toISOString();
  writeJson(join(dir, 'manifest.json'), Manifest.parse({
    schema: SCHEMA_IDS.bundle,
    runId,
    flowName,
    status,
    complete: status !== 'running',
    createdAt: at,
    updatedAt: at,
    lastSeq: 0,
    files: { flow: 'flow.json', trace: 'trace.ndjson', run: 'projections/run.json', live: 'projections/live.json', steps: 'projections/steps.json' },
    sessions: [],
    writer: { name: 'flowtape-e2e-fixtures', version: '1' },
  }));
}

/** A run whose writer died mid-attempt: the last attempt has no outcome, the manifest was marked abandoned. */
export function writeAbandonedRun(dir: string): void {
  const w = new BundleWriter(dir, 'run-abandoned', REVIEW_FLOW);
  const steps = reviewSteps(w, {});
  for (const step of steps.slice(0, 3)) step();
  w.event({ scope: 'node', type: 'node.started', nodeId: 'route', attemptId: 'route#1', payload: { nodeType: 'decision', attempt: 1 } });
  w.finish({ complete: true, status: 'failed' });
}
