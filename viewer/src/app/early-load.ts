// Starts reading the served bundle before the app's view exists. The entry module (main.ts) has requested the first
// files already (backend/prefetch.ts); this module, loaded next, starts folding the trace as it streams in while the app's
// code (React, the graph, the panels — most of the bytes) downloads and compiles. The app takes the load over
// (takeEarlyLoad) when it opens the same bundle, and the server's answer to /api/info (takeServerInfo).
import { HttpBackend, type ServerInfo } from '../backend/http.ts';
import { siteIndexUrl } from '../backend/static.ts';
import { fetchServerInfo, runToOpen, takePrefetchedInfo } from '../backend/prefetch.ts';
import { loadBundle, type LoadOptions, type LoadProgress, type Loaded } from '../model/loader.ts';
import { layoutFlowAhead } from '../model/graph-shape.ts';

/** A load already under way: the app listens to it instead of starting its own. */
export interface EarlyLoad {
  readonly backend: HttpBackend;
  readonly loaded: Promise<Loaded>;
  /** Forwards progress and partial models to `options` from now on; the latest of each is passed at once. */
  listen(options: LoadOptions): void;
}

let serverInfo: Promise<ServerInfo | undefined> | undefined;
let early: EarlyLoad | undefined;
let started = false;

export { runToOpen };

/**
 * A plain task: the app's own module loads and evaluates between slices (a prioritised continuation would starve
 * it). Posted through a MessageChannel, not setTimeout: nested timers are clamped to 4 ms and wait for the timer
 * queue, which left the main thread idle between slices (~140 ms over a 100k-event load, in a Chrome trace).
 */
const channel = typeof MessageChannel === 'undefined' ? undefined : new MessageChannel();
const waiting: Array<() => void> = [];
if (channel) channel.port1.onmessage = () => waiting.shift()?.();
const nextTask = () => new Promise<void>((resolve) => {
  if (!channel) return void setTimeout(resolve, 0);
  waiting.push(resolve);
  channel.port2.postMessage(null);
});

function startLoad(backend: HttpBackend): EarlyLoad {
  let progress: LoadProgress | undefined;
  // No partial models until the app listens: there is nothing to show them yet.
  const forward: LoadOptions = { onProgress: (p) => { progress = p; }, onFlow: layoutFlowAhead, yieldTo: nextTask };
  const loaded = loadBundle(backend, forward);
  loaded.catch(() => { /* reported by whoever takes the load over */ });
  return {
    backend,
    loaded,
    listen(options) {
      forward.onProgress = options.onProgress;
      forward.onPartial = options.onPartial;
      // Still plain tasks once the app shows the load: with the trace fetched by a worker a slice rarely waits for
      // bytes, and a prioritised continuation (scheduler.yield) then kept a key press unanswered for up to a second.
      forward.yieldTo = options.yieldTo ?? nextTask;
      if (progress) options.onProgress?.(progress);
    },
  };
}

/** Asks the server what it serves and, when that is one bundle, starts loading it. A static site is left to the app. */
export function startEarlyLoad(): void {
  if (started) return;
  started = true;
  if (siteIndexUrl()) return;
  serverInfo = takePrefetchedInfo() ?? fetchServerInfo();
  void serverInfo.then((info) => {
    const run = info && runToOpen(info);
    if (!info || run === undefined) return;
    performance.mark('flowtape:early-load');
    early = startLoad(new HttpBackend(run, run === '' ? info.name : run));
  });
}

/** The answer startEarlyLoad got from /api/info (asked once), or a fresh one. */
export function takeServerInfo(): Promise<ServerInfo | undefined> {
  const info = serverInfo ?? fetchServerInfo();
  serverInfo = undefined;
  return info;
}

/** The backend of the early load when it is of `run`, so the app opens the bundle being loaded. */
export function earlyBackend(run: string): HttpBackend | undefined {
  return early?.backend.run === run ? early.backend : undefined;
}

/** The early load of `backend`, once: a bundle opened again later is loaded afresh. */
export function takeEarlyLoad(backend: unknown): EarlyLoad | undefined {
  if (!early || early.backend !== backend) return undefined;
  const taken = early;
  early = undefined;
  return taken;
}
