// Hybrid replay: the live agent a replay agent hands its misses to. A real ACP agent process started on first use;
// whatever it asks of its client (files, permissions, terminals) and every update it sends go to the replay agent's
// own client, with the session id translated, so the new run records the live turn like any other.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { client as clientApp, ndJsonStream, PROTOCOL_VERSION, RequestError, type AgentContext, type AuthMethod, type ClientConnection, type PromptResponse } from '@agentclientprotocol/sdk';
import { chooseAuthMethod, describeMethods } from '../acp/auth.ts';

/** JSON-RPC code of a live agent that could not start or log in (not ACP's -32000: that reads as the replay agent's own login). */
export const REPLAY_LIVE_CODE = -32043;

export class LiveAgent {
  private child: ChildProcessWithoutNullStreams | undefined;
  private connection: ClientConnection | undefined;
  private ready: Promise<void> | undefined;
  private client: AgentContext | undefined;
  private methods: AuthMethod[] = [];
  /** The replay session id a live session id stands for. */
  private replayIdOf: (liveId: string) => string | undefined = () => undefined;

  constructor(
    private readonly argv: string[],
    private readonly clientInit: Record<string, unknown>,
    private readonly log: (line: string) => void,
    /** The auth method to log in with: the new run's (`--auth`, the flow's `auth`), else the recorded binding's. */
    private readonly authMethodId: () => string | undefined = () => undefined,
  ) {}

  /** The replay agent's client, to which the live agent's requests and updates are passed. */
  attach(client: AgentContext, replayIdOf: (liveId: string) => string | undefined): void {
    this.client = client;
    this.replayIdOf = replayIdOf;
  }

  async newSession(cwd: string, mcpServers: unknown[]): Promise<string> {
    await this.start();
    try {
      const result = await this.connection!.agent.request('session/new', { cwd, mcpServers: mcpServers as never });
      return result.sessionId;
    } catch (error) {
      // ACP's "authentication required" would read as the replay agent's own: say it is the live agent's.
      if ((error as { code?: unknown }).code !== -32000) throw error;
      throw new RequestError(REPLAY_LIVE_CODE, `replay: the live agent needs a login: it offers ${describeMethods(this.methods)}; choose one with --auth <id> or log it in first`);
    }
  }

  async prompt(sessionId: string, prompt: unknown[]): Promise<PromptResponse> {
    await this.start();
    return this.connection!.agent.request('session/prompt', { sessionId, prompt: prompt as never });
  }

  async cancel(sessionId: string): Promise<void> {
    await this.connection?.agent.notify('session/cancel', { sessionId }).catch(() => {});
  }

  close(): void {
    this.connection?.close();
    this.child?.kill('SIGTERM');
  }

  private start(): Promise<void> {
    this.ready ??= this.spawn();
    return this.ready;
  }

  private async spawn(): Promise<void> {
    const [command, ...args] = this.argv as [string, ...string[]];
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stderr.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') this.log(line);
    });
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (error) => reject(new Error(`replay: cannot start the live agent ${command}: ${error.message}`)));
    });
    const forward = (params: unknown): unknown => {
      if (params === null || typeof params !== 'object') return params;
      const liveId = (params as { sessionId?: unknown }).sessionId;
      const replayId = typeof liveId === 'string' ? this.replayIdOf(liveId) : undefined;
      return replayId === undefined ? params : { ...params, sessionId: replayId };
    };
    const app = clientApp({ name: 'flowtape-replay' })
      .onRequest('*', ({ method, params }) => this.client!.request(method, forward(params)))
      .onNotification('*', async ({ method, params }) => {
        await this.client!.notify(method, forward(params));
      });
    const output = Writable.toWeb(child.stdin) as WritableStream<Uint8Array>;
    const input = Readable.toWeb(child.stdout) as ReadableStream<Uint8Array>;
    this.connection = app.connect(ndJsonStream(output, input));
    const capabilities = (this.clientInit['clientCapabilities'] as never) ?? { fs: { readTextFile: true, writeTextFile: true } };
    const init = await Promise.race([
      failed,
      this.connection.agent.request('initialize', { protocolVersion: PROTOCOL_VERSION, clientCapabilities: capabilities }),
    ]);
    this.methods = init.authMethods ?? [];
    await this.logIn(this.methods);
  }

  /**
   * Logs in as `flowtape run` would (acp/auth.ts): with the wanted method when the live agent offers it, else one
   * its environment points at; none: the agent logs in by itself (or refuses, and the turn says so).
   */
  private async logIn(methods: AuthMethod[]): Promise<void> {
    const wanted = this.authMethodId();
    const offered = wanted !== undefined && methods.some((m) => (m as { id?: unknown }).id === wanted);
    const choice = chooseAuthMethod(methods, offered ? wanted : undefined, process.env);
    if (choice.kind === 'none') return;
    if (choice.kind === 'refuse') throw new RequestError(REPLAY_LIVE_CODE, `replay: the live agent cannot log in: ${choice.message}`);
    try {
      await this.connection!.agent.request('authenticate', { methodId: choice.methodId });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new RequestError(REPLAY_LIVE_CODE, `replay: the live agent refused authenticate with ${choice.methodId} (it offers ${describeMethods(methods)}): ${reason}`);
    }
  }
}
