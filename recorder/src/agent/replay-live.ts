// Hybrid replay: the live agent a replay agent hands its misses to. A real ACP agent process started on first use;
// whatever it asks of its client (files, permissions, terminals) and every update it sends go to the replay agent's
// own client, with the session id translated, so the new run records the live turn like any other.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { client as clientApp, ndJsonStream, PROTOCOL_VERSION, type AgentContext, type ClientConnection, type PromptResponse } from '@agentclientprotocol/sdk';

export class LiveAgent {
  private child: ChildProcessWithoutNullStreams | undefined;
  private connection: ClientConnection | undefined;
  private ready: Promise<void> | undefined;
  private client: AgentContext | undefined;
  /** The replay session id a live session id stands for. */
  private replayIdOf: (liveId: string) => string | undefined = () => undefined;

  constructor(
    private readonly argv: string[],
    private readonly clientInit: Record<string, unknown>,
    private readonly log: (line: string) => void,
  ) {}

  /** The replay agent's client, to which the live agent's requests and updates are passed. */
  attach(client: AgentContext, replayIdOf: (liveId: string) => string | undefined): void {
    this.client = client;
    this.replayIdOf = replayIdOf;
  }

  async newSession(cwd: string, mcpServers: unknown[]): Promise<string> {
    await this.start();
    const result = await this.connection!.agent.request('session/new', { cwd, mcpServers: mcpServers as never });
    return result.sessionId;
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
    await Promise.race([
      failed,
      this.connection.agent.request('initialize', { protocolVersion: PROTOCOL_VERSION, clientCapabilities: capabilities }),
    ]);
  }
}
