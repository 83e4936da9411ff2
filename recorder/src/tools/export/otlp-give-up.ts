/**
 * An OTLP/HTTP exporter that gives up at the first failure. The SDK's exporter retries a refused connection with
 * back-off (about 1 s, then 1.5 s, … until its timeout), and its shutdown waits for those retries: a run whose
 * collector is down would end, then wait, for spans that cannot leave. Here a connection that cannot be made (no
 * one listening, no such host) fails the export at once, as does any failed export; every later export then
 * fails at once with the same reason and shutdown waits for nothing. The bundle keeps every span: the warning says
 * to export it later.
 */
import type { Agent as HttpAgent } from 'node:http';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { UNREACHABLE_CODES } from './otlp-probe.ts';

type Callback = (result: ExportResult) => void;

export class GiveUpExporter implements SpanExporter {
  /** Why export stopped: set once, by the first failure. */
  private failure: Error | undefined;
  /** Exports handed to the inner exporter and not answered yet: failed at once when the collector turns out gone. */
  private readonly pending = new Set<Callback>();
  private readonly inner: SpanExporter;

  /** `build` makes the inner exporter with the agent factory its HTTP requests must go through. */
  constructor(build: (agentFactory: (protocol: string) => Promise<HttpAgent>) => SpanExporter) {
    this.inner = build((protocol) => this.agent(protocol));
  }

  export(spans: ReadableSpan[], resultCallback: Callback): void {
    if (this.failure) return resultCallback({ code: ExportResultCode.FAILED, error: this.failure });
    let answered = false;
    const answer: Callback = (result) => {
      if (answered) return;
      answered = true;
      this.pending.delete(answer);
      resultCallback(result);
    };
    this.pending.add(answer);
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) this.giveUp(result.error ?? new Error('the collector refused the spans'));
      answer(result);
    });
  }

  shutdown(): Promise<void> {
    // After a failure the inner exporter's shutdown would wait for its retries: let them end on their own.
    if (this.failure) {
      this.inner.shutdown().catch(() => {});
      return Promise.resolve();
    }
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.failure ? Promise.resolve() : (this.inner.forceFlush?.() ?? Promise.resolve());
  }

  private giveUp(error: Error): void {
    this.failure ??= error;
    for (const answer of [...this.pending]) answer({ code: ExportResultCode.FAILED, error: this.failure });
  }

  /** The SDK's own agent (kept alive), watched: a connection that cannot be made gives up at once. */
  private async agent(protocol: string): Promise<HttpAgent> {
    const { Agent } = protocol === 'http:' ? await import('node:http') : await import('node:https');
    const agent = new Agent({ keepAlive: true });
    const connect = agent.createConnection.bind(agent);
    agent.createConnection = (options, callback) => {
      const socket = connect(options, callback);
      socket?.once('error', (error: NodeJS.ErrnoException) => {
        if (error.code && UNREACHABLE_CODES.has(error.code)) this.giveUp(error);
      });
      return socket;
    };
    return agent;
  }
}
