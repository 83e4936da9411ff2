// What the replay agent serves: a bundle's sessions read back from their raw ACP traffic (events.ndjson) into
// the answers the recorded agent gave — initialize, session/new, session/load — and its prompt turns, each with
// the messages the agent sent during the turn (session/update notifications, requests to the client) in order.
import { createHash } from 'node:crypto';
import { loadManifest, loadSessionBinding, loadSessionEvents, loadTrace } from '@flowtape/schema';
import { openBundle } from '../tools/fs-backend.ts';

/** A JSON-RPC answer as recorded: a result or an error. */
export type RecordedAnswer = { result: unknown } | { error: { code: number; message: string; data?: unknown } };

/** One message the agent sent while answering: a notification (re-sent as is) or a request to the client. */
export interface RecordedStep {
  kind: 'notify' | 'request';
  method: string;
  params: unknown;
  /** The line byte for byte, when it differs from `params` serialised (notifications are re-sent from it). */
  raw?: string;
  /** terminal/create: the terminal id the recorded client gave (later requests name it; a new client gives another). */
  recordedTerminalId?: string;
}

export interface RecordedTurn {
  /** Position among the session's turns, from 0. */
  index: number;
  attemptId?: string;
  prompt: unknown[];
  /** sha256 of the prompt blocks' JSON: how a new prompt finds its turn. */
  digest: string;
  steps: RecordedStep[];
  /** Absent when the recording ends before the agent answered (a crash, a kill): replayed as an error. */
  answer?: RecordedAnswer;
  /**
   * The client cancelled the turn (a node timeout, Ctrl-C) once `atStep` of the steps had come.
   */
  cancel?: { atStep: number };
}

export interface RecordedSessionTape {
  sessionId: string;
  handle: string;
  acpSessionId: string;
  /** The cwd the client sent in session/new (or load): paths under it are mapped to the new run's cwd. */
  cwd?: string;
  /** The ACP auth method the recorded run logged in with (binding `authMethodId`): a live agent logs in with it too. */
  authMethodId?: string;
  initialize?: RecordedAnswer;
  sessionNew?: RecordedAnswer;
  /** Updates and answer of the first recorded session/load (a respawned agent reattaching). */
  sessionLoad?: { steps: RecordedStep[]; answer: RecordedAnswer };
  turns: RecordedTurn[];
}

export interface Recording {
  runId: string;
  sessions: RecordedSessionTape[];
  /** Trace seq of each attempt's node.started: orders attempts for `--from`. */
  attemptStarts: Map<string, number>;
  /** Seq of the first node.started of each node. */
  nodeStarts: Map<string, number>;
  /** Each attempt's recorded outcome (`timed_out` tells a turn its node's timeout cancelled). */
  outcomes: Map<string, string>;
}

export class RecordingError extends Error {
  override name = 'RecordingError';
}

/**
 * The digest turns are matched by: sha256 of the prompt blocks as JSON with keys sorted (an SDK may reorder keys
 * when it parses a message), the recorded cwd standing for the live one.
 */
export function promptDigest(prompt: unknown): string {
  return createHash('sha256').update(canonicalJson(prompt)).digest('hex');
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

interface JsonRpc {
  id?: number | string | null;
  method?: string;
  params?: Record<string, unknown>;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** Reads every session of the bundle at `location` (a directory or a packed .zip). */
export async function loadRecording(location: string): Promise<Recording> {
  const backend = await openBundle(location);
  const manifest = await loadManifest(backend);
  const attemptStarts = new Map<string, number>();
  const nodeStarts = new Map<string, number>();
  const outcomes = new Map<string, string>();
  for await (const { event } of loadTrace(backend, manifest)) {
    if (event.type === 'node.outcome' && event.attemptId !== undefined) outcomes.set(event.attemptId, String((event.payload as { outcome?: unknown }).outcome));
    if (event.type !== 'node.started' || event.attemptId === undefined) continue;
    attemptStarts.set(event.attemptId, event.seq);
    if (event.nodeId !== undefined && !nodeStarts.has(event.nodeId)) nodeStarts.set(event.nodeId, event.seq);
  }
  const sessions: Array<{ tape: RecordedSessionTape; createdAt: string }> = [];
  for (const { sessionId } of manifest.sessions) {
    const binding = await loadSessionBinding(backend, sessionId).catch(() => undefined);
    const tape: RecordedSessionTape = { sessionId, handle: binding?.handle ?? 'main', acpSessionId: binding?.acpSessionId ?? '', turns: [] };
    if (binding?.cwd !== undefined) tape.cwd = binding.cwd;
    if (binding?.authMethodId !== undefined) tape.authMethodId = binding.authMethodId;
    await fillTape(tape, loadSessionEvents(backend, sessionId));
    sessions.push({ tape, createdAt: binding?.createdAt ?? '' });
  }
  // The manifest lists sessions by id as text (s10 before s2): the run opened them in binding order.
  sessions.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  return { runId: manifest.runId, sessions: sessions.map((s) => s.tape), attemptStarts, nodeStarts, outcomes };
}

/** Folds the raw traffic into the tape: requests the client sent, and what the agent sent until each answer. */
async function fillTape(tape: RecordedSessionTape, events: ReturnType<typeof loadSessionEvents>): Promise<void> {
  // Outgoing (client → agent) requests awaiting their answer, by JSON-RPC id.
  const pending = new Map<string, { method: string; turn?: RecordedTurn; load?: RecordedStep[] }>();
  let open: { steps: RecordedStep[] } | undefined;
  // Agent → client requests awaiting the client's answer, by JSON-RPC id (another id space than `pending`).
  const asked = new Map<string, RecordedStep>();
  for await (const { event } of events) {
    const message = event.message as JsonRpc | undefined;
    if (event.direction === 'stderr' || message === undefined || typeof message !== 'object' || message === null) continue;
    const key = JSON.stringify(message.id ?? null);
    if (event.direction === 'outgoing') {
      if (message.method === undefined) {
        // The client's answer to an agent request: the new client answers anew; only a terminal id is kept, to map.
        const step = asked.get(key);
        asked.delete(key);
        const id = (message.result as { terminalId?: unknown } | undefined)?.terminalId;
        if (step && typeof id === 'string') step.recordedTerminalId = id;
        continue;
      }
      if (message.id === undefined) {
        if (message.method === 'session/cancel' && open !== undefined && 'digest' in open) {
          const turn = open as RecordedTurn;
          turn.cancel ??= { atStep: turn.steps.length };
        }
        continue;
      }
      const entry: { method: string; turn?: RecordedTurn; load?: RecordedStep[] } = { method: message.method };
      if (message.method === 'session/prompt') {
        const prompt = Array.isArray(message.params?.['prompt']) ? (message.params['prompt'] as unknown[]) : [];
        const turn: RecordedTurn = { index: tape.turns.length, prompt, digest: promptDigest(prompt), steps: [] };
        if (event.attemptId !== undefined) turn.attemptId = event.attemptId;
        tape.turns.push(turn);
        entry.turn = turn;
        open = turn;
      } else if (message.method === 'session/load' && tape.sessionLoad === undefined) {
        entry.load = [];
        open = { steps: entry.load };
      }
      if ((message.method === 'session/new' || message.method === 'session/load') && typeof message.params?.['cwd'] === 'string') {
        tape.cwd ??= message.params['cwd'];
      }
      pending.set(key, entry);
      continue;
    }
    // incoming: a notification or request from the agent, or an answer to one of the client's requests
    if (message.method !== undefined) {
      const step: RecordedStep = { kind: message.id === undefined ? 'notify' : 'request', method: message.method, params: message.params };
      if (event.raw !== undefined) step.raw = event.raw;
      if (step.kind === 'request') asked.set(key, step);
      open?.steps.push(step);
      continue;
    }
    const request = pending.get(key);
    if (!request) continue;
    pending.delete(key);
    const answer: RecordedAnswer = message.error !== undefined ? { error: message.error } : { result: message.result ?? null };
    if (request.method === 'initialize') tape.initialize ??= answer;
    else if (request.method === 'session/new') tape.sessionNew ??= answer;
    else if (request.load) tape.sessionLoad = { steps: request.load, answer };
    else if (request.turn) request.turn.answer = answer;
    if (request.turn || request.load) open = undefined;
  }
}

/** Recorded sessions of `handle`, in the order the run opened them. */
export function sessionsOf(recording: Recording, handle: string): RecordedSessionTape[] {
  return recording.sessions.filter((s) => s.handle === handle);
}

export function assertRecording(recording: Recording, location: string): void {
  if (recording.sessions.length === 0) throw new RecordingError(`${location}: the bundle has no ACP session to replay`);
}
