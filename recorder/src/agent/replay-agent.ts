// The replay agent: a real ACP agent (the SDK's agent side) that serves a recorded bundle's sessions of one handle.
// It answers initialize and session/new/load as recorded; each session/prompt finds its recorded turn (by session,
// turn order and prompt digest) and re-sends that turn's messages without the recorded delays — notifications as
// they were, requests to the client made again so side effects and permission answers happen for real. A prompt the
// recording lacks is a miss: an error carrying a unified diff against the nearest recorded prompt, or, given a live
// agent, a turn proxied to it (marked `_meta["flowtape/replay"] = "live"` on its answer); the live agent logs in
// with the method the client authenticated with here, else the one the recording used.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { agent as agentApp, PROTOCOL_VERSION, RequestError, type AgentConnection, type AgentContext, type Stream } from '@agentclientprotocol/sdk';
import { createTwoFilesPatch } from 'diff';
import { LiveAgent } from './replay-live.ts';
import { promptDigest, sessionsOf, type RecordedAnswer, type RecordedSessionTape, type RecordedStep, type RecordedTurn, type Recording } from './replay-recording.ts';

export const REPLAY_META_KEY = 'flowtape/replay';
/** JSON-RPC error code of a miss (a prompt the recording does not hold). */
export const REPLAY_MISS_CODE = -32042;

export interface ReplayAgentOptions {
  recording: Recording;
  handle: string;
  /** Shared by every replay agent process of one replay: which recorded sessions and turns are used up. */
  stateDir: string;
  /** The live agent for misses (and for turns from `from` on). */
  live?: string[] | undefined;
  /** `--from <node>`: recorded turns of attempts from this node's first attempt on are not replayed. */
  from?: string | undefined;
  stream: Stream;
  writeRawLine(line: string): Promise<void>;
  writeStderrLine(line: string): void;
}

interface SessionState {
  tape?: RecordedSessionTape | undefined;
  /** The cwd of the new run's session: stands for the recorded cwd in everything re-sent. */
  cwd: string;
  mcpServers: unknown[];
  turn?: AbortController | undefined;
  live?: { agent: LiveAgent; sessionId: string } | undefined;
}

class Cancelled extends Error {}

export function startReplayAgent(options: ReplayAgentOptions): AgentConnection {
  const tapes = sessionsOf(options.recording, options.handle);
  const sessions = new Map<string, SessionState>();
  let clientInit: Record<string, unknown> = {};
  /** The method the new run's client logged in with (its `--auth`, the flow's `auth`, or its environment's choice). */
  let clientAuth: string | undefined;
  let live: LiveAgent | undefined;
  const forkSeq = options.from === undefined ? undefined : options.recording.nodeStarts.get(options.from);

  const claim = (name: string): boolean => {
    try {
      mkdirSync(join(options.stateDir, name));
      return true;
    } catch {
      return false;
    }
  };
  const liveAgent = (client: AgentContext): LiveAgent => {
    // The live agent logs in like the run would: with the client's method, else the one the recording used.
    live ??= new LiveAgent(options.live!, clientInit, options.writeStderrLine, () => clientAuth ?? tapes.find((t) => t.authMethodId !== undefined)?.authMethodId);
    live.attach(client, (liveId) => [...sessions.entries()].find(([, s]) => s.live?.sessionId === liveId)?.[0]);
    return live;
  };

  const app = agentApp({ name: 'flowtape-replay' })
    .onRequest('initialize', ({ params }) => {
      clientInit = params as unknown as Record<string, unknown>;
      const recorded = tapes.find((t) => t.initialize !== undefined)?.initialize;
      if (recorded) return answer(recorded) as never;
      return { protocolVersion: PROTOCOL_VERSION, agentCapabilities: { loadSession: true }, authMethods: [], agentInfo: { name: 'flowtape-replay', version: '1' } };
    })
    .onRequest('authenticate', ({ params }) => {
      clientAuth = params.methodId;
      return {};
    })
    .onRequest('session/new', async ({ params, client }) => {
      // A recording may lack the handshake (an acpx import starts at the first prompt): the binding's id stands in.
      const tape = tapes.find((t) => (t.sessionNew !== undefined || t.acpSessionId !== '') && claim(`session-${t.sessionId}`));
      if (tape) {
        const result = (tape.sessionNew ? answer(tape.sessionNew) : { sessionId: tape.acpSessionId }) as { sessionId: string };
        sessions.set(result.sessionId, { tape, cwd: params.cwd, mcpServers: params.mcpServers });
        return result as never;
      }
      if (!options.live) throw new RequestError(REPLAY_MISS_CODE, `replay miss: the recording has no more sessions of handle "${options.handle}"`);
      const state: SessionState = { cwd: params.cwd, mcpServers: params.mcpServers };
      const liveId = await liveAgent(client).newSession(params.cwd, params.mcpServers);
      state.live = { agent: live!, sessionId: liveId };
      sessions.set(liveId, state);
      return { sessionId: liveId };
    })
    .onRequest('session/load', async ({ params, client }) => {
      const tape = tapes.find((t) => t.acpSessionId === params.sessionId);
      if (!tape) throw RequestError.resourceNotFound(params.sessionId);
      claim(`session-${tape.sessionId}`);
      const state: SessionState = sessions.get(params.sessionId) ?? { tape, cwd: params.cwd, mcpServers: params.mcpServers };
      sessions.set(params.sessionId, state);
      if (!tape.sessionLoad) return {};
      await new TurnReplay(client, state, new AbortController().signal, options).steps(tape.sessionLoad.steps);
      return answer(tape.sessionLoad.answer) as never;
    })
    .onRequest('session/resume', ({ params }) => {
      const tape = tapes.find((t) => t.acpSessionId === params.sessionId);
      if (!tape) throw RequestError.resourceNotFound(params.sessionId);
      if (!sessions.has(params.sessionId)) sessions.set(params.sessionId, { tape, cwd: params.cwd, mcpServers: params.mcpServers ?? [] });
      return {};
    })
    .onNotification('session/cancel', ({ params }) => {
      const state = sessions.get(params.sessionId);
      state?.turn?.abort();
      if (state?.live) void state.live.agent.cancel(state.live.sessionId);
    })
    .onRequest('session/prompt', async ({ params, client, signal }) => {
      const state = sessions.get(params.sessionId);
      if (!state) throw RequestError.sessionNotFound(params.sessionId);
      const tape = state.tape;
      const asRecorded = tape?.cwd !== undefined ? mapStrings(params.prompt, state.cwd, tape.cwd) : params.prompt;
      const digest = promptDigest(asRecorded);
      const turn = tape?.turns.find((t) => t.digest === digest && !isAfterFork(t) && claim(`turn-${tape.sessionId}-${t.index}`));
      if (turn) {
        const controller = new AbortController();
        const onAbort = (): void => controller.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        state.turn = controller;
        try {
          const replay = new TurnReplay(client, state, controller.signal, options);
          // A turn its node's timeout cancelled: the new run's timeout cancels it at the same point.
          const timedOut = turn.attemptId !== undefined && options.recording.outcomes.get(turn.attemptId) === 'timed_out';
          if (turn.cancel && timedOut) await replay.cancelledTurn(turn.steps, turn.cancel.atStep);
          else await replay.steps(turn.steps);
        } catch (error) {
          if (error instanceof Cancelled) return { stopReason: 'cancelled' as const };
          throw error;
        } finally {
          signal.removeEventListener('abort', onAbort);
          state.turn = undefined;
        }
        if (!turn.answer) throw new RequestError(REPLAY_MISS_CODE, 'replay: the recording ends before the agent answered this prompt');
        const result = answer(turn.answer);
        return (tape?.cwd === undefined ? result : mapStrings(result, tape.cwd, state.cwd)) as never;
      }
      if (options.live) {
        if (!state.live) state.live = { agent: liveAgent(client), sessionId: await liveAgent(client).newSession(state.cwd, state.mcpServers) };
        const result = await state.live.agent.prompt(state.live.sessionId, params.prompt);
        const meta = typeof result._meta === 'object' && result._meta !== null ? result._meta : {};
        return { ...result, _meta: { ...meta, [REPLAY_META_KEY]: 'live' } } as never;
      }
      const forked = tape?.turns.find((t) => t.digest === digest && isAfterFork(t));
      if (forked) throw new RequestError(REPLAY_MISS_CODE, `replay: --from ${options.from}: this turn comes at or after the fork and needs a live agent (--agent)`);
      throw missError(tape, asRecorded, options.handle);
    });

  function isAfterFork(turn: RecordedTurn): boolean {
    if (forkSeq === undefined || turn.attemptId === undefined) return false;
    return (options.recording.attemptStarts.get(turn.attemptId) ?? 0) >= forkSeq;
  }

  const connection = app.connect(options.stream);
  void connection.closed.then(() => live?.close());
  return connection;
}

/** The result a recorded answer gives, or the error it throws. */
function answer(recorded: RecordedAnswer): unknown {
  if ('error' in recorded) throw new RequestError(recorded.error.code, recorded.error.message, recorded.error.data);
  return recorded.result;
}

/** A miss: one line, and in `data` the unified diff between the nearest recorded prompt and this one. */
function missError(tape: RecordedSessionTape | undefined, prompt: unknown, handle: string): RequestError {
  const turns = tape?.turns ?? [];
  if (turns.length === 0) return new RequestError(REPLAY_MISS_CODE, `replay miss: the recording has no turn in session "${handle}" for this prompt`, { replayMiss: { diff: '' } });
  const text = promptText(prompt);
  let nearest = turns[0]!;
  let best = Infinity;
  for (const turn of turns) {
    const distance = changedLines(promptText(turn.prompt), text);
    if (distance < best) [nearest, best] = [turn, distance];
  }
  const label = nearest.attemptId ?? `turn ${nearest.index + 1}`;
  const diff = createTwoFilesPatch(`recorded ${label}`, 'new prompt', `${promptText(nearest.prompt)}\n`, `${text}\n`, undefined, undefined, { context: 3 });
  return new RequestError(REPLAY_MISS_CODE, `replay miss: prompt not in the recording (nearest recorded prompt: ${label})`, {
    replayMiss: { nearest: nearest.attemptId ?? null, diff },
  });
}

function changedLines(a: string, b: string): number {
  const left = new Set(a.split('\n'));
  const right = b.split('\n');
  return right.filter((line) => !left.has(line)).length + Math.abs(a.split('\n').length - right.length);
}

/** Prompt blocks as text for a person: text blocks as they are, other blocks as JSON. */
function promptText(prompt: unknown): string {
  if (!Array.isArray(prompt)) return JSON.stringify(prompt);
  return prompt
    .map((block: { type?: unknown; text?: unknown }) => (block?.type === 'text' && typeof block.text === 'string' ? block.text : JSON.stringify(block)))
    .join('\n');
}

/** Every string in `value` with `from` replaced by `to` (the recorded cwd and the new one). */
export function mapStrings<T>(value: T, from: string, to: string): T {
  if (from === to || from === '') return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return v.split(from).join(to);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item)]));
    return v;
  };
  return walk(value) as T;
}

/** Re-sends a recorded turn's messages to the new client, in order, as fast as the client takes them. */
class TurnReplay {
  /** Ids the new client gave (terminals) in place of the recorded ones. */
  private readonly ids = new Map<string, string>();

  constructor(
    private readonly client: AgentContext,
    private readonly state: SessionState,
    private readonly signal: AbortSignal,
    private readonly io: Pick<ReplayAgentOptions, 'writeRawLine'>,
  ) {}

  async steps(steps: RecordedStep[]): Promise<void> {
    for (const step of steps) {
      if (this.signal.aborted) throw new Cancelled();
      await this.step(step);
    }
  }

  /**
   * A turn whose node timed out while the agent worked: the steps sent before the client's cancel, then a wait for
   * the new client's cancel (its node has the same timeout; the wait is the flow's, not the agent's), then the rest,
   * as recorded. Other cancelled turns (an interrupted run) answer `cancelled` at once, as recorded.
   */
  async cancelledTurn(steps: RecordedStep[], atStep: number): Promise<void> {
    for (const [i, step] of steps.entries()) {
      if (i === atStep) await this.cancelled();
      // After the cancel a request is made but not awaited for long: the recorded agent went on regardless.
      await this.step(step).catch((error: unknown) => {
        if (!(error instanceof Cancelled)) throw error;
      });
    }
    if (atStep >= steps.length) await this.cancelled();
  }

  private cancelled(): Promise<void> {
    if (this.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  private async step(step: RecordedStep): Promise<void> {
    const recordedCwd = this.state.tape?.cwd;
    const moved = recordedCwd !== undefined && recordedCwd !== this.state.cwd;
    let params = moved ? mapStrings(step.params, recordedCwd, this.state.cwd) : step.params;
    for (const [from, to] of this.ids) params = mapStrings(params, from, to);
    if (step.kind === 'notify') {
      // Byte for byte when nothing in it had to change.
      if (step.raw !== undefined && !moved && this.ids.size === 0) await this.io.writeRawLine(step.raw);
      else await this.client.notify(step.method, params);
      return;
    }
    try {
      const result = await this.untilCancelled(this.client.request<Record<string, unknown>>(step.method, params));
      const recordedId = step.method === 'terminal/create' ? step.recordedTerminalId : undefined;
      if (recordedId !== undefined && typeof result?.['terminalId'] === 'string') this.ids.set(recordedId, result['terminalId']);
    } catch (error) {
      if (error instanceof Cancelled) throw error;
      // The client refused (a path outside the run, a rejected permission): the recorded agent's reaction follows.
    }
  }

  private untilCancelled<T>(promise: Promise<T>): Promise<T> {
    promise.catch(() => {});
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(new Cancelled());
      if (this.signal.aborted) onAbort();
      this.signal.addEventListener('abort', onAbort, { once: true });
      promise.then(resolve, reject).finally(() => this.signal.removeEventListener('abort', onAbort));
    });
  }
}
