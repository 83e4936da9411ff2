// The scripted ACP agent: a real ACP agent (the SDK's agent side) whose behaviour comes from a script, so
// demos, samples and tests run offline and deterministically. Session ids come from a counter; nothing in
// its output depends on a clock.
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import {
  agent as agentApp,
  PROTOCOL_VERSION,
  RequestError,
  type AgentConnection,
  type AgentContext,
  type ContentBlock,
  type PermissionOption,
  type RequestPermissionResponse,
  type SessionUpdate,
  type Stream,
  type StopReason,
  type ToolCallContent,
} from '@agentclientprotocol/sdk';
import type { ImageStep, Script, ScriptToolCallContent, Step, Turn, TurnMatch } from './script.ts';
import { ScriptedAuth } from './scripted-auth.ts';

/** What the agent needs from its process: the ACP stream plus raw access for `garbage`, `stderr`, `exit`. */
export interface ScriptedAgentIo {
  stream: Stream;
  /** Writes raw text to stdout, after everything the ACP stream has written so far. */
  writeRawLine(line: string): Promise<void>;
  writeStderrLine(line: string): void;
  exit(code: number): void;
  /** The agent's environment, for `env_var` auth methods and `echoEnv` (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

interface SessionState {
  cwd: string;
  /** As received in session/new or session/load, for `echoSession`. */
  mcpServers: unknown;
  turn?: AbortController | undefined;
}

class Cancelled extends Error {}

const defaultPermissionOptions: PermissionOption[] = [
  { optionId: 'allow', name: 'Allow', kind: 'allow_once' },
  { optionId: 'reject', name: 'Reject', kind: 'reject_once' },
];

/** Starts serving ACP on `io.stream` according to `script`. */
export function startScriptedAgent(script: Script, io: ScriptedAgentIo): AgentConnection {
  const sessions = new Map<string, SessionState>();
  const turnUses = new Map<Turn, number>();
  let sessionCounter = 0;
  const auth = new ScriptedAuth(script.authMethods ?? [], io.env ?? process.env, (line) => io.writeStderrLine(line));

  const app = agentApp({ name: script.agent.name })
    .onRequest('initialize', () => {
      if (script.initialize) throw toRequestError(script.initialize.error);
      return {
        protocolVersion: script.protocolVersion ?? PROTOCOL_VERSION,
        agentCapabilities: {
          loadSession: script.capabilities.loadSession,
          promptCapabilities: { image: false, audio: false, embeddedContext: false },
          ...(script.capabilities.resume ? { sessionCapabilities: { resume: {} } } : {}),
          mcpCapabilities: script.mcpCapabilities ?? { http: true, sse: true },
        },
        authMethods: auth.advertised(),
        agentInfo: { name: script.agent.name, version: script.agent.version, ...(script.agent.title ? { title: script.agent.title } : {}) },
      };
    })
    .onRequest('authenticate', ({ params }) => auth.authenticate(params.methodId))
    .onRequest('session/new', ({ params }) => {
      auth.require();
      if (script.sessionNew) throw toRequestError(script.sessionNew.error);
      const sessionId = `sess-${++sessionCounter}`;
      sessions.set(sessionId, { cwd: params.cwd, mcpServers: params.mcpServers });
      return { sessionId };
    })
    // A client that respawns the agent between turns (acpx does, flowtape does on resume) reattaches with
    // session/load. The scripted agent keeps no history: it re-adopts the session id, replays the script's
    // `sessionLoad.replay` steps as the history, and serves the next prompt from the script.
    .onRequest('session/load', async ({ params, client }) => {
      if (!script.capabilities.loadSession) throw RequestError.methodNotFound('session/load');
      auth.require();
      if (script.sessionLoad?.error) throw toRequestError(script.sessionLoad.error);
      if (!sessions.has(params.sessionId)) sessions.set(params.sessionId, { cwd: params.cwd, mcpServers: params.mcpServers ?? [] });
      const replay = script.sessionLoad?.replay;
      if (replay) await new TurnRun(client, params.sessionId, sessions.get(params.sessionId)!, new AbortController().signal, io).steps(replay);
      return {};
    })
    // session/resume: the same without replaying history (advertised only with `capabilities.resume`).
    .onRequest('session/resume', ({ params }) => {
      if (!script.capabilities.resume) throw RequestError.methodNotFound('session/resume');
      auth.require();
      if (!sessions.has(params.sessionId)) sessions.set(params.sessionId, { cwd: params.cwd, mcpServers: params.mcpServers ?? [] });
      return {};
    })
    .onNotification('session/cancel', ({ params }) => {
      sessions.get(params.sessionId)?.turn?.abort();
    })
    .onRequest('session/prompt', async ({ params, signal, client }) => {
      const session = sessions.get(params.sessionId);
      if (!session) throw RequestError.sessionNotFound(params.sessionId);
      if (session.turn) throw RequestError.invalidRequest(undefined, `a prompt is already running in session ${params.sessionId}`);
      const text = promptText(params.prompt);
      const { steps, usage, afterAnswer } = pickTurn(text);
      const turn = new AbortController();
      const onRequestAbort = (): void => turn.abort();
      signal.addEventListener('abort', onRequestAbort, { once: true });
      session.turn = turn;
      try {
        const run = new TurnRun(client, params.sessionId, session, turn.signal, io);
        const stopReason = await run.steps(steps);
        // Sent once the answer is on its way (the SDK writes it when this handler returns), so they come after it.
        if (afterAnswer) setImmediate(() => void new TurnRun(client, params.sessionId, session, new AbortController().signal, io).steps(afterAnswer).catch(() => {}));
        return { stopReason: stopReason ?? 'end_turn', ...(usage ? { usage } : {}) };
      } catch (error) {
        if (error instanceof Cancelled) return { stopReason: 'cancelled' as const };
        throw error;
      } finally {
        signal.removeEventListener('abort', onRequestAbort);
        session.turn = undefined;
      }
    });

  function pickTurn(text: string): { steps: Step[]; usage?: Record<string, unknown> | undefined; afterAnswer?: Step[] | undefined } {
    for (const turn of script.turns) {
      const used = turnUses.get(turn) ?? 0;
      if (turn.times !== undefined && used >= turn.times) continue;
      if (!matches(turn.match, text)) continue;
      turnUses.set(turn, used + 1);
      return turn;
    }
    if (script.fallback) return script.fallback;
    const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
    return { steps: [{ error: { code: -32000, message: `scripted agent has no turn matching prompt ${JSON.stringify(shown)}` } }] };
  }

  return app.connect(io.stream);
}

function matches(match: TurnMatch, text: string): boolean {
  if (typeof match === 'string') return match === text;
  return new RegExp(match.regex, match.flags).test(text);
}

function promptText(prompt: ContentBlock[]): string {
  return prompt.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('\n');
}

function toRequestError(error: { code: number; message: string; data?: unknown }): RequestError {
  return new RequestError(error.code, error.message, error.data);
}

/** Executes the steps of one prompt turn. */
class TurnRun {
  constructor(
    private readonly client: AgentContext,
    private readonly sessionId: string,
    private readonly session: SessionState,
    private readonly signal: AbortSignal,
    private readonly io: ScriptedAgentIo,
  ) {}

  /** Runs steps in order; returns the stop reason if a step ended the turn. */
  async steps(steps: Step[]): Promise<StopReason | undefined> {
    for (const step of steps) {
      if (this.signal.aborted) throw new Cancelled();
      const stop = await this.step(step);
      if (stop) return stop;
    }
    return undefined;
  }

  private async step(step: Step): Promise<StopReason | undefined> {
    if (step.message !== undefined) await this.update({ sessionUpdate: 'agent_message_chunk', content: text(step.message) });
    else if (step.thought !== undefined) await this.update({ sessionUpdate: 'agent_thought_chunk', content: text(step.thought) });
    else if (step.image) await this.update({ sessionUpdate: 'agent_message_chunk', content: await image(step.image) });
    else if (step.toolCall) await this.update({ sessionUpdate: 'tool_call', ...this.withAbsolutePaths(step.toolCall) });
    else if (step.toolCallUpdate) await this.update({ sessionUpdate: 'tool_call_update', ...this.withAbsolutePaths(step.toolCallUpdate) }); else if (step.plan) await this.update({ sessionUpdate: 'plan', entries: step.plan });
    else if (step.permission) return this.permission(step.permission);
    else if (step.readFile) await this.readFile(step.readFile);
    else if (step.writeFile) await this.writeFile(step.writeFile);
    else if (step.usage) await this.update({ sessionUpdate: 'usage_update', ...step.usage } as SessionUpdate);
    else if (step.delayMs !== undefined) await this.wait(step.delayMs);
    else if (step.stderr !== undefined) this.io.writeStderrLine(step.stderr);
    else if (step.echoEnv !== undefined) await this.echoEnv(step.echoEnv);
    else if (step.garbage !== undefined) await this.io.writeRawLine(step.garbage);
    else if (step.raw !== undefined) await this.io.writeRawLine(JSON.stringify(step.raw));
    else if (step.echoSession) {
      const setup = { cwd: this.session.cwd, mcpServers: this.session.mcpServers };
      await this.update({ sessionUpdate: 'agent_message_chunk', content: text(JSON.stringify(setup)) });
    }
    else if (step.error) throw toRequestError(step.error);
    else if (step.exit !== undefined) {
      this.io.exit(step.exit);
      await this.wait(undefined);
    } else if (step.hang) await this.wait(undefined);
    else if (step.stopReason) return step.stopReason;
    return undefined;
  }

  /** A leaky agent, for redaction tests: the variable's value goes out as a message and on stderr. */
  private async echoEnv(name: string): Promise<void> {
    const value = (this.io.env ?? process.env)[name];
    const shown = value === undefined ? `${name} is not set` : `${name}=${value}`;
    this.io.writeStderrLine(shown);
    await this.update({ sessionUpdate: 'agent_message_chunk', content: text(shown) });
  }

  private update(update: SessionUpdate): Promise<void> {
    return this.client.notify('session/update', { sessionId: this.sessionId, update });
  }

  private async permission(step: NonNullable<Step['permission']>): Promise<StopReason | undefined> {
    const options = step.options ?? defaultPermissionOptions;
    const request: Promise<RequestPermissionResponse> = this.client.request('session/request_permission', {
      sessionId: this.sessionId,
      toolCall: {
        toolCallId: step.toolCallId,
        ...(step.title !== undefined ? { title: step.title } : {}),
        ...(step.kind !== undefined ? { kind: step.kind } : {}),
        ...(step.rawInput !== undefined ? { rawInput: step.rawInput } : {}),
      },
      options,
    });
    const response = await this.untilCancelled(request);
    const outcome = response.outcome;
    // ACP: a client answers `cancelled` only after it sent session/cancel, so the turn is over — even when this answer
    // is handled before the cancel notification that preceded it on the wire.
    if (outcome.outcome === 'cancelled') throw new Cancelled();
    const chosen = outcome.outcome === 'selected' ? options.find((o) => o.optionId === outcome.optionId) : undefined;
    const allowed = chosen !== undefined && chosen.kind.startsWith('allow');
    const branch = allowed
      ? (step.ifAllowed ?? [])
      : (step.ifRejected ?? [{ toolCallUpdate: { toolCallId: step.toolCallId, status: 'failed' as const } }]);
    return this.steps(branch);
  }

  private async readFile(step: NonNullable<Step['readFile']>): Promise<void> {
    const request = this.client.request('fs/read_text_file', {
      sessionId: this.sessionId,
      path: this.resolve(step.path),
      ...(step.line !== undefined ? { line: step.line } : {}),
      ...(step.limit !== undefined ? { limit: step.limit } : {}),
    });
    await this.report(request.then((r) => r.content), step.toolCallId, step.echo === true);
  }

  private async writeFile(step: NonNullable<Step['writeFile']>): Promise<void> {
    const path = this.resolve(step.path);
    const request = this.client.request('fs/write_text_file', { sessionId: this.sessionId, path, content: step.content });
    await this.report(request.then(() => `wrote ${Buffer.byteLength(step.content)} bytes to ${step.path}`), step.toolCallId, false);
  }

  // Makes the outcome of an fs request visible: on the tool call (completed with the text, or failed with the
  // error) and, with `echo`, as an agent message.
  private async report(result: Promise<string>, toolCallId: string | undefined, echo: boolean): Promise<void> {
    let outcome: { ok: true; text: string } | { ok: false; error: { code: number; message: string } };
    try {
      outcome = { ok: true, text: await this.untilCancelled(result) };
    } catch (error) {
      if (error instanceof Cancelled || !(error instanceof RequestError)) throw error;
      outcome = { ok: false, error: { code: error.code, message: error.message } };
    }
    if (toolCallId !== undefined) {
      await this.update(outcome.ok
        ? { sessionUpdate: 'tool_call_update', toolCallId, status: 'completed', content: [toolContent(outcome.text)] }
        : { sessionUpdate: 'tool_call_update', toolCallId, status: 'failed', content: [toolContent(outcome.error.message)], rawOutput: { error: outcome.error } });
    }
    if (echo || (!outcome.ok && toolCallId === undefined)) {
      await this.update({ sessionUpdate: 'agent_message_chunk', content: text(outcome.ok ? outcome.text : `error: ${outcome.error.message}`) });
    }
  }

  /** Relative script paths are joined to the session cwd as text: `..` stays visible to the client. */
  private resolve(path: string): string {
    return isAbsolute(path) ? path : `${this.session.cwd.replace(/\/+$/, '')}/${path}`;
  }

  /** A tool call as ACP wants it: locations and diff paths absolute, string content as text blocks. */
  private withAbsolutePaths<T extends { content?: ScriptToolCallContent[] | undefined; locations?: Array<{ path: string; line?: number | undefined }> | undefined }>(
    call: T,
  ): Omit<T, 'content' | 'locations'> & { content?: ToolCallContent[]; locations?: Array<{ path: string; line?: number }> } {
    const { content, locations } = call;
    // Spread first so the keys keep the script's order (the traffic reads as the script was written).
    return {
      ...call,
      ...(content ? { content: content.map((item) => this.absoluteDiff(toolContent(item))) } : {}),
      ...(locations ? { locations: locations.map((l) => ({ ...l, path: this.resolve(l.path) })) } : {}),
    };
  }

  private absoluteDiff(item: ToolCallContent): ToolCallContent {
    return item.type === 'diff' ? { ...item, path: this.resolve(item.path) } : item;
  }

  /** Waits `ms` (or forever) unless the turn is cancelled first. */
  private wait(ms: number | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = ms === undefined ? undefined : setTimeout(() => {
        this.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(new Cancelled());
      };
      if (this.signal.aborted) onAbort();
      else this.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private untilCancelled<T>(promise: Promise<T>): Promise<T> {
    promise.catch(() => {});
    return Promise.race([promise, this.wait(undefined).then(() => promise)]);
  }
}

function text(value: string): ContentBlock {
  return { type: 'text', text: value };
}

/** An image block; a `path` not read at load time (a script given as text) is read now, relative to the cwd. */
async function image(step: ImageStep): Promise<ContentBlock> {
  const data = step.data ?? (await readFile(step.path!)).toString('base64');
  return { type: 'image', data, mimeType: step.mimeType, ...(step.uri !== undefined ? { uri: step.uri } : {}) };
}

function toolContent(item: ScriptToolCallContent): ToolCallContent {
  if (typeof item === 'string') return { type: 'content', content: text(item) };
  return item as ToolCallContent;
}
