// The sessions of a bundle as `flowtape repair` rebuilds them: each one's traffic (its torn tail), binding and record,
// planned from the trace and the raw events, then written.
import { closeSync, existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BUNDLE_FILES,
  ConversationBuilder,
  FlowSnapshot,
  Manifest,
  SCHEMA_IDS,
  SessionBinding,
  SessionEventLine,
  TraceEvent,
  getStep,
  readNdjson,
  sessionFiles,
  type ArtifactRef,
  type McpServerBinding,
  type ProjectionState,
} from '@flowtape/schema';
import { FsBundleBackend } from './fs-backend.ts';
import { ensureFolder, writableFile } from '../bundle/confine.ts';
import { openAppendSync, writeFileAtomicSync } from '../bundle/fsio.ts';
import { artifactRef, decodeBase64 } from '../bundle/artifacts.ts';
import { mcpServersForBinding } from '../bundle/redact.ts';
import type { RepairOptions, RepairReport } from './repair.ts';
import { readRange, safeParse } from './repair-files.ts';
import { applyTail, noteTail, planTail, type TailPlan } from './repair-tail.ts';
import type { TraceFold } from './repair-trace.ts';

const SESSION_DIR = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** Sessions named by the trace, the old manifest or a directory under sessions/ (sorted, no duplicates). */
export async function sessionCandidates(bundleDir: string, state: ProjectionState, old: Manifest | undefined): Promise<string[]> {
  const ids = new Set<string>(state.sessions.keys());
  for (const s of old?.sessions ?? []) ids.add(s.sessionId);
  const entries = await readdir(join(bundleDir, BUNDLE_FILES.sessionsDir), { withFileTypes: true }).catch(() => []);
  for (const entry of entries) if (entry.isDirectory() && SESSION_DIR.test(entry.name)) ids.add(entry.name);
  return [...ids].sort();
}

/**
 * The artifacts of message blocks (images, audio, embedded blobs): hashed as the recorder stores them, so the rebuilt
 * record.json names the same files; those missing from artifacts/ are kept to be written.
 */
export class BlobPlan {
  readonly missing = new Map<string, Buffer>();

  constructor(private readonly bundleDir: string) {}

  readonly store = (base64: string, mediaType: string): ArtifactRef => {
    const bytes = decodeBase64(base64);
    const ref = artifactRef(bytes, mediaType);
    if (!this.missing.has(ref.path) && !existsSync(join(this.bundleDir, ...ref.path.split('/')))) this.missing.set(ref.path, bytes);
    return ref;
  };
}

export interface SessionPlan {
  sessionId: string;
  files: ReturnType<typeof sessionFiles>;
  /**
   * `listed`: bound or failed in the trace, or with its binding.json; `failed`: its writer died during the agent
   * handshake (traffic, no binding, no event) and the run is abandoned by this repair: recorded as failed;
   * `unlisted`: the same in a run that ended, left out of the manifest (verify notes it).
   */
  fate: 'listed' | 'failed' | 'unlisted';
  tail: TailPlan | undefined;
  binding: SessionBinding | undefined;
  /** binding.json is missing or invalid: written from the trace. */
  writeBinding: boolean;
  builder: ConversationBuilder;
  firstAt: string | undefined;
  lastAt: string | undefined;
  /** The attempt of the first line that names one (the attempt that opened the session). */
  attemptId: string | undefined;
  agent: { name: string; version?: string } | undefined;
  protocolVersion: number | undefined;
  /** What the client sent the agent to set the session up (the first `session/new`, or `session/load`/`resume`). */
  setup: { cwd?: string; mcpServers?: McpServerBinding[]; authMethodId?: string };
}

export async function planSession(
  backend: FsBundleBackend,
  sessionId: string,
  state: ProjectionState,
  fold: TraceFold,
  exists: (path: string, want?: 'file' | 'dir') => Promise<boolean>,
  abandoning: boolean,
  report: RepairReport,
  refuse: (message: string) => never,
  blobs: BlobPlan,
): Promise<SessionPlan | undefined> {
  const files = sessionFiles(sessionId);
  await exists(files.dir, 'dir');
  const hasEvents = await exists(files.events);
  const hasBinding = await exists(files.binding);
  await exists(files.record);
  let binding: SessionBinding | undefined;
  if (hasBinding) {
    const parsed = SessionBinding.safeParse(safeParse((await backend.readText(files.binding)) ?? ''));
    if (parsed.success && parsed.data.sessionId === sessionId) binding = parsed.data;
  }
  const inTrace = state.sessions.has(sessionId);
  const fate = inTrace || binding ? 'listed' : abandoning ? 'failed' : 'unlisted';
  if (fate === 'unlisted') {
    report.warnings.push(`${files.dir}: no binding.json and no session.bound or session.failed event: not listed in ${BUNDLE_FILES.manifest}`);
    return undefined;
  }
  if (fate === 'listed' && !hasEvents) refuse(`${files.events}: missing; a session's traffic cannot be rebuilt from the trace`);
  const plan: SessionPlan = {
    sessionId,
    files,
    fate,
    tail: undefined,
    binding,
    writeBinding: false,
    builder: new ConversationBuilder(blobs.store),
    firstAt: undefined,
    lastAt: undefined,
    attemptId: undefined,
    agent: undefined,
    protocolVersion: undefined,
    setup: {},
  };
  // Written from the trace event and what the traffic says (agent, cwd, MCP servers): after the traffic is read.
  const rebuildBinding = (): void => {
    if (binding || !inTrace) return;
    plan.binding = bindingFrom(fold.sessionEvents.get(sessionId)!, plan);
    plan.writeBinding = true;
  };
  if (!hasEvents) {
    rebuildBinding();
    return plan;
  }
  const eventsPath = writableFile(backend.dir, files.events, 'in-place');
  plan.tail = await planTail(eventsPath, files.events, (line) => SessionEventLine.safeParse(safeParse(line)).success, report);
  noteTail(plan.tail, report);
  let initializeId: unknown;
  for await (const { line, value } of readNdjson(readRange(eventsPath, plan.tail.keep), {
    file: files.events,
    onIssue: (issue) => report.warnings.push(issue.message),
  })) {
    const parsed = SessionEventLine.safeParse(value);
    if (!parsed.success) {
      report.warnings.push(`${files.events}:${line}: not a valid session event (left in place)`);
      continue;
    }
    const event = parsed.data;
    plan.builder.add(event);
    plan.firstAt ??= event.at;
    plan.lastAt = event.at;
    plan.attemptId ??= event.attemptId;
    // The agent's answer to `initialize` says who it is (kept in a failed session's binding).
    const message = event.message as { id?: unknown; method?: unknown; result?: { protocolVersion?: unknown; agentInfo?: { name?: unknown; version?: unknown } } } | undefined;
    if (event.direction === 'outgoing') readSetup(plan, event.message);
    if (event.direction === 'outgoing' && message?.method === 'initialize') initializeId = message.id;
    else if (event.direction === 'incoming' && initializeId !== undefined && message?.id === initializeId && message.result) {
      const { protocolVersion, agentInfo } = message.result;
      if (Number.isInteger(protocolVersion)) plan.protocolVersion = protocolVersion as number;
      if (typeof agentInfo?.name === 'string') {
        plan.agent = { name: agentInfo.name, ...(typeof agentInfo.version === 'string' ? { version: agentInfo.version } : {}) };
      }
    }
  }
  rebuildBinding();
  return plan;
}

/** The `session.failed` of a session whose writer died during the agent handshake; its node from flow.json. */
export function handshakeFailed(plan: SessionPlan, state: ProjectionState, flow: FlowSnapshot | undefined, seq: number, at: string, runId: string): TraceEvent {
  const step = plan.attemptId === undefined ? undefined : getStep(state, plan.attemptId);
  const open = step?.status === 'running' ? step : undefined;
  const node = open ? flow?.nodes.find((n) => n.id === open.nodeId) : undefined;
  const spec = node?.nodeType === 'acp' ? node : undefined;
  const mode = spec?.sessionMode ?? 'shared';
  return TraceEvent.parse({
    seq,
    at,
    runId,
    scope: 'session',
    type: 'session.failed',
    ...(open ? { nodeId: open.nodeId, attemptId: open.attemptId } : {}),
    sessionId: plan.sessionId,
    payload: {
      handle: spec?.sessionHandle ?? (mode === 'isolated' ? 'isolated' : 'main'),
      mode,
      agentCommand: spec?.agentCommand ?? [],
      path: plan.files.dir,
      error: { message: 'the writer stopped during the agent handshake, before session/new succeeded', code: 'interrupted' },
    },
  });
}

const SETUP_METHODS: ReadonlySet<unknown> = new Set(['session/new', 'session/load', 'session/resume']);

/**
 * The binding's cwd, MCP servers and auth method from the client's own requests in events.ndjson (as the recorder
 * wrote them: MCP env and header values are redacted there already). Only the first setup request counts: a resumed
 * run's `session/load` continues the session the binding describes.
 */
function readSetup(plan: SessionPlan, value: unknown): void {
  const message = value as { method?: unknown; params?: { cwd?: unknown; mcpServers?: unknown; methodId?: unknown } } | undefined;
  const params = message?.params;
  if (!params || typeof params !== 'object') return;
  if (message.method === 'authenticate' && typeof params.methodId === 'string' && plan.setup.cwd === undefined) {
    plan.setup.authMethodId = params.methodId;
  } else if (SETUP_METHODS.has(message.method) && plan.setup.cwd === undefined && typeof params.cwd === 'string') {
    plan.setup.cwd = params.cwd;
    if (Array.isArray(params.mcpServers) && params.mcpServers.length > 0) plan.setup.mcpServers = mcpServersForBinding(params.mcpServers);
  }
}

/** binding.json from the trace event that created the session (and what the session's traffic says). */
export function bindingFrom(event: TraceEvent, plan: SessionPlan): SessionBinding {
  if (event.type !== 'session.bound' && event.type !== 'session.failed') throw new Error(`not a session event: ${event.type}`);
  const payload = event.payload;
  return SessionBinding.parse({
    schema: SCHEMA_IDS.sessionBinding,
    sessionId: plan.sessionId,
    handle: payload.handle,
    ...(event.type === 'session.bound' ? { acpSessionId: event.payload.acpSessionId } : {}),
    mode: payload.mode,
    agentCommand: payload.agentCommand,
    ...(plan.setup.cwd !== undefined ? { cwd: plan.setup.cwd } : {}),
    ...(plan.protocolVersion !== undefined ? { protocolVersion: plan.protocolVersion } : {}),
    ...(plan.agent ? { agent: plan.agent } : {}),
    ...(plan.setup.authMethodId !== undefined ? { authMethodId: plan.setup.authMethodId } : {}),
    ...(plan.setup.mcpServers ? { mcpServers: plan.setup.mcpServers } : {}),
    createdAt: plan.firstAt ?? event.at,
    ...(event.attemptId ? { boundBy: event.attemptId } : {}),
    ...(event.type === 'session.failed' ? { error: event.payload.error } : {}),
  });
}

/** A session's torn tail, events.ndjson of a failed session without traffic, binding.json and record.json. */
export async function writeSession(
  backend: FsBundleBackend,
  plan: SessionPlan,
  state: ProjectionState,
  write: (path: string, text: string) => Promise<void>,
  report: RepairReport,
  options: RepairOptions,
): Promise<void> {
  const { files, sessionId, binding } = plan;
  if (!options.dryRun && plan.tail) await applyTail(plan.tail);
  if (!plan.tail) {
    // A failed session keeps an events.ndjson, even empty (as the recorder writes one).
    report.rewritten.push(files.events);
    report.changed = true;
    if (!options.dryRun) {
      ensureFolder(backend.dir, files.dir);
      closeSync(openAppendSync(backend.dir, files.events));
    }
  }
  if (plan.writeBinding && binding) await write(files.binding, `${JSON.stringify(binding, null, 2)}\n`);
  const summary = state.sessions.get(sessionId);
  const handle = binding?.handle ?? summary?.handle;
  // A session that failed to start has no ACP id: its record says so with an empty one.
  const acpSessionId = binding?.acpSessionId ?? summary?.acpSessionId ?? (binding?.error ?? summary?.error ? '' : undefined);
  if (handle === undefined || acpSessionId === undefined) {
    report.warnings.push(`${files.dir}: no binding.json and no session.bound event; record.json not rebuilt`);
    return;
  }
  const record = {
    schema: SCHEMA_IDS.sessionRecord,
    sessionId,
    acpSessionId,
    handle,
    lastSeq: plan.builder.lastSeq,
    updatedAt: plan.lastAt ?? binding?.createdAt ?? state.updatedAt,
    messages: plan.builder.messages,
  };
  const text = `${JSON.stringify(record, null, 2)}\n`;
  const file = writableFile(backend.dir, files.record, 'replace');
  const current = safeParse((await readFile(file, 'utf8').catch(() => undefined)) ?? '') as Partial<typeof record> | undefined;
  // The record's own `updatedAt` is the writer's clock: an up-to-date record is left as it is. Its messages are
  // compared as text, as verify compares them with the conversation rebuilt from the events.
  if (
    current &&
    current.lastSeq === record.lastSeq &&
    current.sessionId === sessionId &&
    current.handle === handle &&
    current.acpSessionId === acpSessionId &&
    JSON.stringify(current.messages) === JSON.stringify(record.messages)
  ) {
    return;
  }
  report.rewritten.push(files.record);
  report.changed = true;
  if (!options.dryRun) writeFileAtomicSync(backend.dir, files.record, text, true);
}
