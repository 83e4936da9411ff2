/**
 * Live OpenTelemetry export: a TraceObserver of the bundle writer. Spans are built by the same span builder as
 * `flowtape export otlp`, from the same bundle, and handed to the SDK's BatchSpanProcessor as attempts finish.
 *
 * The work runs on a worker thread (otlp-live-worker.ts) that follows the bundle's trace.ndjson: the writer only
 * tells it, at most once per batch delay, that lines were committed. Building, serializing and sending spans so
 * costs the run's own thread next to nothing (see `pnpm bench:otlp`). The run never waits for export except for a
 * bounded final flush, and never fails because of it: an unreachable collector, or a worker that cannot start,
 * becomes a warning the writer keeps in the bundle's manifest.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BUNDLE_FILES } from '@flowtape/schema';
import type { TraceObserver } from '../../bundle/recorder.ts';
import type { SpanStreamOptions } from './otlp-stream.ts';
import { NdjsonTail } from './otlp-tail.ts';
import { unreachableReason } from './otlp-probe.ts';
import { describeTarget, OtlpConfigError, protocolOf, tracesUrl } from './otlp-target.ts';

export interface LiveOtlpOptions extends SpanStreamOptions {
  /** Build and send spans on the run's own thread (always so with a custom `exporter`, which cannot be moved). */
  inThread?: boolean;
}

/** What the worker is given: plain data only. */
export interface LiveWorkerData {
  bundleDir: string;
  options: Omit<SpanStreamOptions, 'exporter' | 'onNotice'>;
  /** Faults the tests inject into the worker's start (never set outside tests). */
  faults?: LiveWorkerFaults;
}

export interface LiveWorkerFaults {
  /** The worker's start takes this much longer (a slow machine loading OpenTelemetry). */
  startDelayMs?: number;
  /** The worker throws this, uncaught, as it starts (a crash). */
  crashAtStart?: string;
}

/**
 * For tests only, and not part of the package's API (not exported from its entry points): faults the next workers
 * start with. Kept in the module, not in options or the environment, so no user can set them.
 */
export const liveWorkerFaults: LiveWorkerFaults = {};

export type LiveWorkerMessage = { kind: 'read' } | { kind: 'close' };
export type LiveWorkerReply =
  | { kind: 'ready' }
  | { kind: 'notice'; line: string }
  | { kind: 'closed'; warnings: string[]; cpuMs?: number }
  | { kind: 'failed'; message: string };

/**
 * The CPU time of the last export worker that closed, its own thread only (Linux; undefined elsewhere): what live
 * export cost, for `pnpm bench:otlp`. Not part of the package's API.
 */
export const liveWorkerUsage: { cpuMs?: number } = {};

/** The longest the run's start waits for the export worker to be up (it goes on starting beside the run after). */
const READY_TIMEOUT_MS = 5000;
/**
 * With no collector there, how long close() lets a worker still loading answer (it rarely can: then the warning has
 * no count, and the run is not kept waiting for one).
 */
const UNREACHABLE_FLUSH_MS = 100;

/**
 * The observer for one bundle. A bad endpoint or protocol the caller gave is refused here, before the run starts
 * (an OtlpConfigError), not discovered at its end; one that only the environment gives turns live export off with a
 * warning (checkTarget).
 */
export async function createLiveOtlp(bundleDir: string, options: LiveOtlpOptions = {}): Promise<TraceObserver> {
  const env = options.env ?? process.env;
  if (!options.exporter) {
    const refused = checkTarget(options, env);
    if (refused) return refused;
  }
  if (options.exporter || options.inThread) return inThreadObserver(bundleDir, options);
  // A function cannot cross to the worker: its notices come back as messages, passed on here.
  const { exporter: _e, inThread: _i, onNotice, ...plain } = options;
  const faults = Object.keys(liveWorkerFaults).length > 0 ? { faults: { ...liveWorkerFaults } } : {};
  const url = options.file ? undefined : tracesUrl(options, env);
  const collector = url ? { url, target: describeTarget(options, env) } : undefined;
  const observer = new WorkerObserver({ bundleDir, options: { ...plain, env: { ...env } }, ...faults }, options.batchDelayMs ?? 1000, options.flushTimeoutMs ?? 2000, collector, onNotice);
  // No collector there: the run need not wait for the worker to load (close() asks again).
  const unreachable = url ? unreachableReason(url).then((reason) => (reason ? Promise.resolve() : new Promise<void>(() => {}))) : undefined;
  await observer.started(READY_TIMEOUT_MS, unreachable);
  return observer;
}

/**
 * A target the user gave (`--otlp URL`, options) that is wrong is refused: the run has not started and the fix is
 * at hand. A wrong one that comes from the environment only (OTEL_EXPORTER_OTLP_PROTOCOL=grpc set for the whole
 * machine, an endpoint with another scheme) must not fail every run: the run goes without live export and the
 * bundle's manifest says why.
 */
function checkTarget(options: LiveOtlpOptions, env: Record<string, string | undefined>): TraceObserver | undefined {
  // What the options say on their own: a mistake there is the caller's, refused.
  if (options.protocol !== undefined) protocolOf(options, {});
  if (options.endpoint !== undefined) tracesUrl(options, {});
  try {
    describeTarget(options, env);
    return undefined;
  } catch (error) {
    // Nowhere to send spans, with live export asked for: refused too.
    if (!(error instanceof OtlpConfigError) || !envNamesEndpoint(options, env)) throw error;
    const warning = `OpenTelemetry live export off: ${error.message} (OTEL_EXPORTER_OTLP_* variables); export the bundle later with \`flowtape export otlp\``;
    return { onCommitted: () => {}, close: async () => [warning] };
  }
}

/** Whether an endpoint is named at all (well or badly): else the error is "no endpoint", not the environment's. */
function envNamesEndpoint(options: LiveOtlpOptions, env: Record<string, string | undefined>): boolean {
  return Boolean(options.endpoint || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

async function inThreadObserver(bundleDir: string, options: LiveOtlpOptions): Promise<TraceObserver> {
  // OpenTelemetry's code is loaded into the run's thread only on this path.
  const { createSpanStream } = await import('./otlp-stream.ts');
  const stream = await createSpanStream(bundleDir, options);
  // A resumed run: this writer commits only what comes after the checkpoint; the builder needs the run before it.
  const through = options.exportedThroughSeq;
  if (through) void stream.add(new NdjsonTail(join(bundleDir, BUNDLE_FILES.trace)).read().filter((event) => (event as { seq?: number }).seq! <= through));
  return {
    onCommitted: (events) => void stream.add(events),
    close: () => stream.close(),
  };
}

/** The worker's entry: the built .js as it is, the TypeScript source through tsx (a dependency of the package). */
function startWorker(data: LiveWorkerData): Worker {
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    const entry = new URL('./otlp-live-worker.ts', self).href;
    const tsx = import.meta.resolve('tsx/esm/api');
    const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
    return new Worker(boot, { eval: true, workerData: data });
  }
  return new Worker(fileURLToPath(new URL('./otlp-live-worker.js', self)), { workerData: data });
}

class WorkerObserver implements TraceObserver {
  private readonly worker: Worker;
  private timer: NodeJS.Timeout | undefined;
  private failure: string | undefined;
  private readonly replies: Promise<Exclude<LiveWorkerReply, { kind: 'ready' } | { kind: 'notice' }>>;
  private readonly ready: Promise<void>;
  private isUp = false;

  constructor(
    data: LiveWorkerData,
    private readonly batchDelayMs: number,
    private readonly flushTimeoutMs: number,
    /** The collector's URL and how to name it, to ask whether anyone listens there (an OTLP/HTTP target). */
    private readonly collector: { url: string; target: string } | undefined,
    private readonly onNotice: ((line: string) => void) | undefined,
  ) {
    this.worker = startWorker(data);
    // The worker never keeps the process alive: a run that ends without close() still exits.
    this.worker.unref();
    let isReady: () => void;
    this.ready = new Promise<void>((resolve) => (isReady = resolve)).then(() => {
      this.isUp = true;
    });
    this.replies = new Promise((resolve) => {
      this.worker.on('message', (reply: LiveWorkerReply) => {
        if (reply.kind === 'ready') isReady();
        else if (reply.kind === 'notice') this.onNotice?.(reply.line);
        else if (reply.kind === 'failed') this.failure ??= reply.message;
        else resolve(reply);
      });
      this.worker.on('error', (error) => {
        this.failure ??= error.message;
        resolve({ kind: 'failed', message: error.message });
      });
      this.worker.on('exit', () => resolve({ kind: 'failed', message: this.failure ?? 'the export worker stopped' }));
    });
    // A worker that fails to start is ready too, in the sense that the run need not wait for it (close says why).
    void this.replies.then(() => isReady());
  }

  /**
   * Waits (bounded) until the worker has loaded its modules and opened its exporter. Loading OpenTelemetry's
   * code (and, from the TypeScript sources, tsx's loader thread) takes a few hundred ms of CPU: done before the
   * run's first node, it is a one-off cost at the start rather than a burst competing with the run's nodes.
   */
  async started(timeoutMs: number, unreachable?: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    });
    await Promise.race([this.ready, deadline, ...(unreachable ? [unreachable] : [])]).finally(() => clearTimeout(timer));
  }

  onCommitted(): void {
    // One wake-up per batch delay, however many lines were committed: nearly free for the run.
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.worker.postMessage({ kind: 'read' } satisfies LiveWorkerMessage);
    }, this.batchDelayMs).unref();
  }

  async close(): Promise<string[]> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.worker.postMessage({ kind: 'close' } satisfies LiveWorkerMessage);
    // A worker still loading would first load, then find no one to send to: with no collector there, do not wait.
    const down = !this.isUp && this.collector ? await unreachableReason(this.collector.url) : undefined;
    const waitMs = down ? UNREACHABLE_FLUSH_MS : this.flushTimeoutMs + 3000;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), waitMs);
    });
    const reply = await Promise.race([this.replies, deadline]).finally(() => clearTimeout(timer));
    await this.worker.terminate().catch(() => {});
    if (reply === 'timeout' && down) return [`OpenTelemetry export to ${this.collector!.target}: spans not delivered (${down}); export the bundle later with \`flowtape export otlp\``];
    if (reply === 'timeout') return [`OpenTelemetry live export did not finish within ${waitMs} ms: spans may be missing; export the bundle later with \`flowtape export otlp\``];
    if (reply.kind === 'failed') return [`OpenTelemetry live export failed: ${this.failure ?? reply.message}; export the bundle later with \`flowtape export otlp\``];
    liveWorkerUsage.cpuMs = reply.cpuMs;
    return this.failure ? [...reply.warnings, `OpenTelemetry live export: ${this.failure}`] : reply.warnings;
  }
}

